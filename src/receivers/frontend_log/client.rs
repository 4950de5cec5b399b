//! Who is sending, and how often: the client IP of a frontend log request (the socket peer, or
//! behind trusted proxies the last untrusted `X-Forwarded-For` hop) and the per-IP limit.
//!
//! The limit is governor's GCRA keyed by client: a burst of `per_ip_per_minute`, then one
//! request every `60 s / per_ip_per_minute`. IPv6 clients are keyed by their /64 (one
//! subscriber's prefix), so cycling addresses within it gains nothing. Memory stays bounded:
//! keys whose bucket has refilled are forgotten at most a minute later, or within a second when
//! more than [`MAX_CLIENTS`] are held. The clock is injectable, so tests drive time. Nothing here
//! fails; a refusal is the time to wait.

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use ipnet::IpNet;
use parking_lot::Mutex;

/// Held clients past which idle ones are forgotten every second rather than every minute.
pub const MAX_CLIENTS: usize = 100_000;

/// How often idle clients are forgotten.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// From parsed networks.
    pub fn new(nets: Vec<IpNet>) -> Self {
        Self(nets)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client of a request from `peer` whose `X-Forwarded-For` values are `forwarded`
    /// (every header, in order): `peer` unless it is trusted; then, walking the hops from the
    /// last, the first that is not trusted. When every hop is trusted the first is the client;
    /// a hop that is not an address stops the walk at the hop after it (or at `peer`).
    pub fn client_ip<'a>(&self, peer: IpAddr, forwarded: impl Iterator<Item = &'a str>) -> IpAddr {
        if !self.trusts(peer) {
            return canonical(peer);
        }
        let hops: Vec<&str> = forwarded
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else { break };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        canonical(client)
    }
}

/// An `X-Forwarded-For` hop: an address, with a port (`1.2.3.4:5`, `[::1]:5`) or brackets.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Ok(sock) = hop.parse::<std::net::SocketAddr>() {
        return Some(sock.ip());
    }
    hop.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}

/// IPv4-mapped IPv6 addresses as IPv4, so one client has one form.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The limiter's key: an IPv4 address, or an IPv6 /64.
fn key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

type Keyed<C> =
    RateLimiter<IpAddr, HashMapStateStore<IpAddr>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// Requests per minute per client IP.
pub struct PerIpLimit<C: Clock = DefaultClock> {
    limiter: Keyed<C>,
    clock: C,
    last_sweep: Mutex<C::Instant>,
}

impl PerIpLimit<DefaultClock> {
    /// `per_minute` requests per client IP per minute, on the real clock.
    pub fn new(per_minute: NonZeroU32) -> Self {
        Self::with_clock(per_minute, DefaultClock::default())
    }
}

impl<C: Clock + Clone> PerIpLimit<C> {
    /// The same on `clock` (governor's `FakeRelativeClock` in tests).
    pub fn with_clock(per_minute: NonZeroU32, clock: C) -> Self {
        let quota = Quota::per_minute(per_minute);
        let now = clock.now();
        Self {
            limiter: RateLimiter::hashmap_with_clock(quota, clock.clone()),
            clock,
            last_sweep: Mutex::new(now),
        }
    }

    /// Takes one request of `ip`; `Err` holds how long it must wait.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let outcome = self.limiter.check_key(&key(ip));
        self.sweep();
        outcome.map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Clients currently held (for tests and bounds).
    pub fn clients(&self) -> usize {
        self.limiter.len()
    }

    /// Forgets clients whose bucket has refilled: once a minute, or once a second while too many
    /// are held.
    fn sweep(&self) {
        let now = self.clock.now();
        let mut last = self.last_sweep.lock();
        let since = now.duration_since(*last);
        // Over the bound, sweep at most once a second: a sweep walks every client.
        let crowded = self.limiter.len() > MAX_CLIENTS && since >= Duration::from_secs(1).into();
        if since >= SWEEP_EVERY.into() || crowded {
            *last = now;
            drop(last);
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).expect("non-zero")
    }

    #[test]
    fn a_burst_then_one_every_share_of_the_minute() {
        let clock = FakeRelativeClock::default();
        let limit = PerIpLimit::with_clock(nz(3), clock.clone());
        for _ in 0..3 {
            assert_eq!(limit.check(ip("192.0.2.1")), Ok(()));
        }
        let wait = limit.check(ip("192.0.2.1")).expect_err("4th in the minute");
        assert!(
            wait > Duration::from_secs(19) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        // Another client has its own budget.
        assert_eq!(limit.check(ip("192.0.2.2")), Ok(()));
        clock.advance(Duration::from_secs(20));
        assert_eq!(limit.check(ip("192.0.2.1")), Ok(()));
        assert!(limit.check(ip("192.0.2.1")).is_err());
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        let limit = PerIpLimit::with_clock(nz(1), FakeRelativeClock::default());
        assert_eq!(limit.check(ip("2001:db8:1:2::1")), Ok(()));
        assert!(limit.check(ip("2001:db8:1:2:ffff::9")).is_err());
        assert_eq!(limit.check(ip("2001:db8:1:3::1")), Ok(()));
        // An IPv4-mapped address is its IPv4 client.
        assert_eq!(limit.check(ip("192.0.2.7")), Ok(()));
        assert!(limit.check(ip("::ffff:192.0.2.7")).is_err());
    }

    #[test]
    fn idle_clients_are_forgotten_within_a_minute() {
        let clock = FakeRelativeClock::default();
        let limit = PerIpLimit::with_clock(nz(30), clock.clone());
        for i in 0..50u8 {
            assert_eq!(limit.check(IpAddr::from([198, 51, 100, i])), Ok(()));
        }
        assert_eq!(limit.clients(), 50);
        clock.advance(Duration::from_secs(61));
        assert_eq!(limit.check(ip("203.0.113.1")), Ok(()));
        assert_eq!(limit.clients(), 1, "only the client just seen is held");
    }

    #[test]
    fn the_peer_is_the_client_unless_it_is_a_trusted_proxy() {
        let none = TrustedProxies::default();
        let xff = ["203.0.113.9"];
        assert_eq!(
            none.client_ip(ip("10.0.0.5"), xff.into_iter()),
            ip("10.0.0.5")
        );
        let trusted = TrustedProxies::new(vec!["10.0.0.0/8".parse().expect("cidr")]);
        assert_eq!(
            trusted.client_ip(ip("192.0.2.4"), xff.into_iter()),
            ip("192.0.2.4"),
            "an untrusted peer's header is ignored"
        );
        assert_eq!(
            trusted.client_ip(ip("10.0.0.5"), xff.into_iter()),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn the_last_untrusted_hop_is_the_client() {
        let trusted = TrustedProxies::new(vec![
            "10.0.0.0/8".parse().expect("cidr"),
            "192.168.0.0/16".parse().expect("cidr"),
        ]);
        let peer = ip("10.1.1.1");
        // The client may forge the first hops; only what trusted proxies appended counts.
        let hops = ["1.1.1.1, 203.0.113.9", "192.168.1.1:4711"];
        assert_eq!(trusted.client_ip(peer, hops.into_iter()), ip("203.0.113.9"));
        let all_trusted = ["10.2.2.2, 192.168.1.1"];
        assert_eq!(
            trusted.client_ip(peer, all_trusted.into_iter()),
            ip("10.2.2.2")
        );
        let garbage = ["203.0.113.9, unknown, 10.3.3.3"];
        assert_eq!(trusted.client_ip(peer, garbage.into_iter()), ip("10.3.3.3"));
        assert_eq!(trusted.client_ip(peer, std::iter::empty()), peer);
        assert_eq!(
            trusted.client_ip(peer, ["[2001:db8::1]:443"].into_iter()),
            ip("2001:db8::1")
        );
    }
}
