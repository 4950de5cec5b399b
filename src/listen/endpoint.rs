//! Where a listener binds. An endpoint with a host (`0.0.0.0:4317`, `[::1]:4318`,
//! `otel.internal:4317`) binds as written. One with no host (`:4317`, or a bare port `4317`)
//! binds localhost, as the OpenTelemetry Collector's listeners do since v0.104: the port is
//! then reachable from this machine only. localhost, written or implied, means `127.0.0.1`:
//! the address Go's listener picks for `localhost`, so the Collector and weir bind the same
//! address whatever order the resolver gives `::1` and `127.0.0.1` in.
//!
//! Never fails: anything else is returned unchanged, and binding it reports what is wrong.

use std::borrow::Cow;

/// The host a host-less endpoint binds.
pub const LOCALHOST: &str = "127.0.0.1";

/// The address to bind for `endpoint`: `127.0.0.1:<port>` when it names a port and no host or
/// `localhost`, otherwise `endpoint` itself.
pub fn bind_address(endpoint: &str) -> Cow<'_, str> {
    let trimmed = endpoint.trim();
    let port = trimmed
        .strip_prefix("localhost:")
        .or_else(|| trimmed.strip_prefix(':'))
        .unwrap_or(trimmed);
    if !port.is_empty() && port.parse::<u16>().is_ok() {
        Cow::Owned(format!("{LOCALHOST}:{port}"))
    } else {
        Cow::Borrowed(endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_host_binds_localhost() {
        assert_eq!(bind_address(":4317"), "127.0.0.1:4317");
        assert_eq!(bind_address("4318"), "127.0.0.1:4318");
        assert_eq!(bind_address(":0"), "127.0.0.1:0");
        assert_eq!(bind_address("localhost:4318"), "127.0.0.1:4318");
    }

    #[test]
    fn a_host_is_kept() {
        for endpoint in [
            "0.0.0.0:4317",
            "127.0.0.1:4317",
            "[::]:4317",
            "[::1]:4317",
            "otel.internal:4317",
        ] {
            assert_eq!(bind_address(endpoint), endpoint);
        }
    }

    #[test]
    fn what_is_not_a_port_is_left_for_bind_to_refuse() {
        for endpoint in [":", "", ":99999", ":http", "4317:", "localhost:"] {
            assert_eq!(bind_address(endpoint), endpoint);
        }
    }
}
