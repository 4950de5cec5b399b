//! At most one event per client address per interval, for log lines a misconfigured client
//! would otherwise repeat on every request. The map of clients seen is bounded: when it is full
//! of clients still inside their interval, the newcomers share one [`Throttle`] instead. Never
//! fails; a poisoned lock is taken over, since the map holds only timestamps.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::throttle::Throttle;

/// Clients remembered at once; past this, newcomers share one throttle.
const MAX_CLIENTS: usize = 1024;

/// Lets each client address through once per `interval`.
pub struct PerClient {
    interval: Duration,
    seen: Mutex<HashMap<IpAddr, Instant>>,
    overflow: Throttle,
}

impl PerClient {
    /// A limiter letting each client through once per `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            seen: Mutex::new(HashMap::new()),
            overflow: Throttle::new(interval),
        }
    }

    /// True when `client` has not been let through within the interval (and is now).
    pub fn allow(&self, client: IpAddr) -> bool {
        let now = Instant::now();
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(last) = seen.get(&client)
            && now.duration_since(*last) < self.interval
        {
            return false;
        }
        if seen.len() >= MAX_CLIENTS && !seen.contains_key(&client) {
            seen.retain(|_, last| now.duration_since(*last) < self.interval);
            if seen.len() >= MAX_CLIENTS {
                drop(seen);
                return self.overflow.allow().is_some();
            }
        }
        seen.insert(client, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u32) -> IpAddr {
        IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + last))
    }

    #[test]
    fn once_per_client_and_interval() {
        let p = PerClient::new(Duration::from_secs(3600));
        assert!(p.allow(ip(1)));
        assert!(!p.allow(ip(1)));
        assert!(p.allow(ip(2)), "another client has its own interval");
        assert!(!p.allow(ip(2)));
    }

    #[test]
    fn a_client_is_let_through_again_after_the_interval() {
        let p = PerClient::new(Duration::ZERO);
        assert!(p.allow(ip(1)));
        assert!(p.allow(ip(1)));
    }

    #[test]
    fn a_full_map_shares_one_throttle_among_newcomers() {
        let p = PerClient::new(Duration::from_secs(3600));
        for n in 0..MAX_CLIENTS as u32 {
            assert!(p.allow(ip(n)));
        }
        assert!(p.allow(ip(1 << 20)), "the first newcomer past the bound");
        assert!(!p.allow(ip(2 << 20)), "the next shares its interval");
        assert_eq!(p.seen.lock().expect("lock").len(), MAX_CLIENTS);
    }
}
