//! Who may see the ops page: an operator presenting `service.admin.ops.token`, as
//! `Authorization: Bearer <token>` or as the password of HTTP Basic auth (any user name, so a
//! browser asks for it); without a token configured, anyone who can reach a loopback admin
//! endpoint, and nobody on any other address.
//!
//! Fails with [`Denied`]: 401 with a Basic challenge for missing or wrong credentials (counted
//! in `weir_auth_failures_total{reason="ops_missing_token"|"ops_invalid_token"}`), 403 when no
//! token is configured and the admin endpoint is not loopback (a configuration matter, not
//! counted). Only SHA-256 digests are compared, in constant time, so neither the comparison's
//! duration nor the token's length tells a caller anything.

use std::net::SocketAddr;

use http::{HeaderMap, header};
use sha2::{Digest, Sha256};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The realm of the Basic challenge: what a browser shows in its sign-in prompt.
pub const REALM: &str = "weir ops";

/// Why a request may not see the page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// No `Authorization` header.
    #[error(
        "credentials needed: send `Authorization: Bearer <token>`, or sign in with any user \
         name and the ops token (service.admin.ops.token) as the password"
    )]
    Missing,
    /// An `Authorization` header that is unreadable or holds another token.
    #[error("wrong credentials: the token does not match service.admin.ops.token")]
    Invalid,
    /// No token configured, and the admin endpoint is not loopback.
    #[error(
        "the ops page is served without a token only on a loopback admin endpoint, and this \
         one listens on {0}: set service.admin.ops.token (e.g. token: \"${{env:WEIR_OPS_TOKEN}}\") \
         to serve it here"
    )]
    NoToken(SocketAddr),
}

impl Denied {
    /// The `weir_auth_failures_total` reason, for failures of credentials.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Denied::Missing => Some("ops_missing_token"),
            Denied::Invalid => Some("ops_invalid_token"),
            Denied::NoToken(_) => None,
        }
    }
}

/// The access rule of one admin listener.
#[derive(Clone)]
pub enum Gate {
    /// A token is configured: only its SHA-256 is kept here.
    Token([u8; 32]),
    /// No token, loopback endpoint: open to whoever can connect.
    Loopback,
    /// No token, other endpoint: closed.
    Closed(SocketAddr),
}

impl Gate {
    /// The rule for a listener bound at `bound` with `token` configured (empty is none).
    pub fn new(token: Option<&str>, bound: SocketAddr) -> Self {
        match token.filter(|t| !t.is_empty()) {
            Some(t) => Gate::Token(digest(t.as_bytes())),
            None if bound.ip().to_canonical().is_loopback() => Gate::Loopback,
            None => Gate::Closed(bound),
        }
    }

    /// Whether the request with `headers` may see the page.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), Denied> {
        let expected = match self {
            Gate::Loopback => return Ok(()),
            Gate::Closed(at) => return Err(Denied::NoToken(*at)),
            Gate::Token(d) => d,
        };
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Err(Denied::Missing);
        };
        let presented = value
            .to_str()
            .ok()
            .and_then(presented_token)
            .ok_or(Denied::Invalid)?;
        if same(&digest(presented.as_bytes()), expected) {
            Ok(())
        } else {
            Err(Denied::Invalid)
        }
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Every byte compared, whatever the first difference.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// The token in an `Authorization` value: `Bearer <token>`, or `Basic <base64(user:token)>`.
fn presented_token(value: &str) -> Option<String> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return (!rest.is_empty()).then(|| rest.to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let pair = String::from_utf8(STANDARD.decode(rest).ok()?).ok()?;
        let (_, password) = pair.split_once(':')?;
        return (!password.is_empty()).then(|| password.to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const TOKEN: &str = "0123456789abcdef-ops";

    fn with_auth(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(value).expect("header"),
        );
        h
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("address")
    }

    #[test]
    fn a_token_is_taken_as_bearer_or_as_basic_password() {
        let gate = Gate::new(Some(TOKEN), addr("0.0.0.0:8888"));
        assert_eq!(gate.check(&with_auth(&format!("Bearer {TOKEN}"))), Ok(()));
        assert_eq!(gate.check(&with_auth(&format!("bearer  {TOKEN} "))), Ok(()));
        let basic = STANDARD.encode(format!("anyone:{TOKEN}").as_bytes());
        assert_eq!(gate.check(&with_auth(&format!("Basic {basic}"))), Ok(()));
        // A token on loopback is still required.
        let local = Gate::new(Some(TOKEN), addr("127.0.0.1:8888"));
        assert_eq!(local.check(&HeaderMap::new()), Err(Denied::Missing));
    }

    #[test]
    fn anything_else_is_refused_with_its_reason() {
        let gate = Gate::new(Some(TOKEN), addr("10.0.0.1:8888"));
        assert_eq!(gate.check(&HeaderMap::new()), Err(Denied::Missing));
        let wrong = [
            format!("Bearer {TOKEN}x"),
            "Bearer ".to_owned(),
            format!("Token {TOKEN}"),
            format!("Basic {}", STANDARD.encode(TOKEN.as_bytes())), // no user:
            format!("Basic {}", STANDARD.encode(format!("{TOKEN}:").as_bytes())), // token as user
            "Basic !!!".to_owned(),
        ];
        for w in wrong {
            assert_eq!(gate.check(&with_auth(&w)), Err(Denied::Invalid), "{w}");
        }
        assert_eq!(Denied::Missing.reason(), Some("ops_missing_token"));
        assert_eq!(Denied::Invalid.reason(), Some("ops_invalid_token"));
    }

    #[test]
    fn without_a_token_only_loopback_is_open() {
        for open in [
            "127.0.0.1:8888",
            "127.1.2.3:1",
            "[::1]:8888",
            "[::ffff:127.0.0.1]:1",
        ] {
            assert_eq!(
                Gate::new(None, addr(open)).check(&HeaderMap::new()),
                Ok(()),
                "{open}"
            );
        }
        for closed in ["0.0.0.0:8888", "[::]:8888", "10.1.2.3:8888"] {
            let gate = Gate::new(Some(""), addr(closed));
            let denied = gate.check(&with_auth(&format!("Bearer {TOKEN}")));
            assert_eq!(denied, Err(Denied::NoToken(addr(closed))), "{closed}");
            let message = denied.err().map(|d| d.to_string()).unwrap_or_default();
            assert!(message.contains("service.admin.ops.token"), "{message}");
        }
    }
}
