//! The `headers` map every sending exporter has, and the tenant header (`tenant_header`, weir's
//! key) that goes beside it.
//!
//! Nothing here fails at run time: invalid names and values are reported by
//! `header_problems` while the config is validated, with messages that never show a value
//! (values are often credentials).

use std::collections::BTreeMap;
use std::fmt;

use http::{HeaderName, HeaderValue};
use serde::Deserialize;

/// The default of `tenant_header`: the header Loki, Mimir and Tempo read the tenant from.
pub(crate) const DEFAULT_TENANT_HEADER: &str = "X-Scope-OrgID";

/// Extra headers (HTTP) or metadata (gRPC) sent with every request, as configured by the user.
///
/// Values often hold credentials, so `Debug` shows the names only.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Headers(
    /// Header name (as written) to value.
    pub BTreeMap<String, String>,
);

impl Headers {
    /// True when a header named `name` (compared without regard to ASCII case) is configured.
    pub fn contains(&self, name: &str) -> bool {
        self.0.keys().any(|k| k.eq_ignore_ascii_case(name))
    }

    /// `(name, value)` pairs in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "<redacted>")))
            .finish()
    }
}

/// `(key, message)` for each invalid entry of `headers` and for an invalid `tenant_header`.
/// With `grpc`, binary (`-bin`) metadata names are refused too. Messages never include a
/// header's value: it may be a credential.
pub(crate) fn header_problems(
    headers: &Headers,
    tenant_header: &str,
    grpc: bool,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, value) in headers.iter() {
        let key = format!("headers.{name}");
        if let Some(msg) = name_problem(name, grpc) {
            out.push((key, msg));
        } else if HeaderValue::from_str(value).is_err() {
            out.push((
                key,
                "the value is not a valid header value (control characters or line breaks)".into(),
            ));
        }
    }
    if !tenant_header.is_empty()
        && let Some(msg) = name_problem(tenant_header, grpc)
    {
        out.push(("tenant_header".into(), msg));
    }
    out
}

fn name_problem(name: &str, grpc: bool) -> Option<String> {
    if HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Some(format!("{name:?} is not a valid header name"));
    }
    if grpc && name.to_ascii_lowercase().ends_with("-bin") {
        return Some("binary (-bin) metadata is not supported by weir".into());
    }
    None
}

/// The header the tenant is sent in: `tenant_header`, unless it is empty or `headers` sets that
/// header explicitly (the configured value wins). Lower-cased, as gRPC metadata requires.
pub(crate) fn tenant_header_name(headers: &Headers, tenant_header: &str) -> Option<HeaderName> {
    if tenant_header.is_empty() || headers.contains(tenant_header) {
        return None;
    }
    HeaderName::from_bytes(tenant_header.as_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_header_yields_to_a_configured_header() {
        let mut h = Headers::default();
        assert_eq!(
            tenant_header_name(&h, "X-Scope-OrgID").map(|n| n.to_string()),
            Some("x-scope-orgid".into())
        );
        assert!(tenant_header_name(&h, "").is_none());
        h.0.insert("x-scope-orgID".into(), "fixed".into());
        assert!(tenant_header_name(&h, "X-Scope-OrgID").is_none());
    }

    #[test]
    fn header_problems_never_show_values() {
        let mut h = Headers::default();
        h.0.insert("Authorization".into(), "Bearer s3cret\n".into());
        h.0.insert("bad name".into(), "x".into());
        h.0.insert("trace-bin".into(), "x".into());
        let grpc = header_problems(&h, "X-Scope-OrgID", true);
        assert_eq!(grpc.len(), 3, "{grpc:?}");
        assert!(grpc.iter().all(|(_, m)| !m.contains("s3cret")));
        assert_eq!(header_problems(&h, "", false).len(), 2);
        assert!(!format!("{h:?}").contains("s3cret"));
    }
}
