//! The `headers` map every sending exporter has, and the tenant header (`tenant_header`, weir's
//! key) that goes beside it, both checked when the config is read.
//!
//! How it fails: a name that is not a header name or a value that cannot be a header value
//! fails the reading at its key (`headers.<name>`, `tenant_header`) with a [`HeaderError`]
//! whose message never shows a value (values are often credentials). Nothing here fails
//! afterwards; the one rule that depends on the exporter (gRPC refuses binary `-bin` metadata)
//! is [`grpc_problems`].

use std::collections::BTreeMap;
use std::fmt;

use http::{HeaderName, HeaderValue};
use serde::de::{DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, de};

/// The default of `tenant_header`: the header Loki, Mimir and Tempo read the tenant from.
pub(crate) const DEFAULT_TENANT_HEADER: &str = "X-Scope-OrgID";

/// Why a header was refused; never shows the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The name is not an HTTP header name.
    #[error("{0:?} is not a valid header name")]
    Name(String),
    /// The value holds bytes a header value cannot.
    #[error("the value is not a valid header value (control characters or line breaks)")]
    Value,
}

/// A header name as written, and as sent.
fn header_name(written: &str) -> Result<HeaderName, HeaderError> {
    HeaderName::from_bytes(written.as_bytes()).map_err(|_| HeaderError::Name(written.to_owned()))
}

/// Extra headers (HTTP) or metadata (gRPC) sent with every request, as configured by the user.
/// Every entry is a valid header; values are marked sensitive (kept out of HPACK tables).
///
/// `Debug` shows the names only: values often hold credentials.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers(BTreeMap<String, (HeaderName, HeaderValue)>);

impl Headers {
    /// Adds the header `name: value`, replacing one of the same name as written.
    pub fn insert(&mut self, name: &str, value: &str) -> Result<(), HeaderError> {
        let parsed = header_name(name)?;
        let mut value = HeaderValue::from_str(value).map_err(|_| HeaderError::Value)?;
        value.set_sensitive(true);
        self.0.insert(name.to_owned(), (parsed, value));
        Ok(())
    }

    /// True when a header named `name` (compared without regard to ASCII case) is configured.
    pub fn contains(&self, name: &str) -> bool {
        self.value_of(name).is_some()
    }

    /// The value of the header named `name` (any ASCII case), if configured.
    pub fn value_of(&self, name: &str) -> Option<&HeaderValue> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, (_, v))| v)
    }

    /// `(name as written, name, value)` in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &HeaderName, &HeaderValue)> {
        self.0.iter().map(|(k, (n, v))| (k.as_str(), n, v))
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "<redacted>")))
            .finish()
    }
}

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(HeadersVisitor)
    }
}

struct HeadersVisitor;

impl<'de> Visitor<'de> for HeadersVisitor {
    type Value = Headers;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of header names to values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Headers, A::Error> {
        let mut out = Headers::default();
        while let Some(name) = map.next_key::<String>()? {
            // Read through a seed so that an error is reported at `headers.<name>`.
            map.next_value_seed(Entry {
                name: &name,
                into: &mut out,
            })?;
        }
        Ok(out)
    }
}

/// The value of one `headers` entry, checked with its name.
struct Entry<'a> {
    name: &'a str,
    into: &'a mut Headers,
}

impl<'de> DeserializeSeed<'de> for Entry<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let value = String::deserialize(d)?;
        self.into
            .insert(self.name, &value)
            .map_err(de::Error::custom)
    }
}

/// `tenant_header`: the header each batch's tenant is sent in, or none (written as `""`).
#[derive(Clone, PartialEq, Eq)]
pub struct TenantHeader(Option<(String, HeaderName)>);

impl TenantHeader {
    /// No tenant header: the tenant is not sent.
    pub fn none() -> Self {
        Self(None)
    }

    /// The header `name`; empty text is [`TenantHeader::none`].
    pub fn named(name: &str) -> Result<Self, HeaderError> {
        if name.is_empty() {
            return Ok(Self::none());
        }
        Ok(Self(Some((name.to_owned(), header_name(name)?))))
    }

    /// The name as written (`""` for none).
    pub fn as_str(&self) -> &str {
        self.0.as_ref().map_or("", |(written, _)| written)
    }

    /// True when no tenant header is sent.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The header the tenant is sent in: this one, unless it is empty or `headers` sets that
    /// header explicitly (the configured value wins). Lower-case, as gRPC metadata requires.
    pub(crate) fn for_sending(&self, headers: &Headers) -> Option<HeaderName> {
        let (written, name) = self.0.as_ref()?;
        (!headers.contains(written)).then(|| name.clone())
    }
}

impl Default for TenantHeader {
    fn default() -> Self {
        Self(Some((
            DEFAULT_TENANT_HEADER.to_owned(),
            HeaderName::from_static("x-scope-orgid"),
        )))
    }
}

impl fmt::Debug for TenantHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for TenantHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for TenantHeader {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl<'de> Deserialize<'de> for TenantHeader {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::named(&String::deserialize(d)?).map_err(de::Error::custom)
    }
}

/// `(key, message)` for each name gRPC metadata cannot carry: binary (`-bin`) names in
/// `headers` and as `tenant_header`.
pub(crate) fn grpc_problems(
    headers: &Headers,
    tenant_header: &TenantHeader,
) -> Vec<(String, String)> {
    let binary = |name: &str| name.to_ascii_lowercase().ends_with("-bin");
    let message = || "binary (-bin) metadata is not supported by weir".to_owned();
    let mut out: Vec<(String, String)> = headers
        .iter()
        .filter(|(written, ..)| binary(written))
        .map(|(written, ..)| (format!("headers.{written}"), message()))
        .collect();
    if binary(tenant_header.as_str()) {
        out.push(("tenant_header".into(), message()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_header_yields_to_a_configured_header() {
        let mut h = Headers::default();
        let tenant = TenantHeader::default();
        assert_eq!(
            tenant.for_sending(&h).map(|n| n.to_string()),
            Some("x-scope-orgid".into())
        );
        assert!(TenantHeader::none().for_sending(&h).is_none());
        h.insert("x-scope-orgID", "fixed").expect("valid");
        assert!(tenant.for_sending(&h).is_none());
    }

    #[test]
    fn bad_headers_fail_the_reading_at_their_key_and_never_show_values() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct C {
            headers: Headers,
            #[serde(default)]
            tenant_header: TenantHeader,
        }
        let read = |yaml: &str| {
            serde_path_to_error::deserialize::<_, C>(serde_yaml_ng::Deserializer::from_str(yaml))
        };
        let err = read("headers: { Authorization: \"Bearer s3cret\\n\" }").expect_err("value");
        assert_eq!(err.path().to_string(), "headers.Authorization");
        assert!(!err.to_string().contains("s3cret"), "{err}");
        let err = read("headers: { bad name: x }").expect_err("name");
        assert_eq!(err.path().to_string(), "headers.bad name");
        assert!(
            err.inner()
                .to_string()
                .contains("\"bad name\" is not a valid header name")
        );
        let err = read("headers: {}\ntenant_header: 'a b'").expect_err("tenant header");
        assert_eq!(err.path().to_string(), "tenant_header");
        let ok = read("headers: { Authorization: s3cret }\ntenant_header: ''").expect("reads");
        assert!(ok.tenant_header.is_empty());
        assert!(
            ok.headers
                .value_of("authorization")
                .is_some_and(HeaderValue::is_sensitive)
        );
        assert!(!format!("{:?}", ok.headers).contains("s3cret"));
    }

    #[test]
    fn grpc_refuses_binary_metadata() {
        let mut h = Headers::default();
        h.insert("trace-bin", "x").expect("valid");
        h.insert("x-a", "b").expect("valid");
        let tenant = TenantHeader::named("t-bin").expect("valid");
        let keys: Vec<String> = grpc_problems(&h, &tenant)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["headers.trace-bin", "tenant_header"]);
    }
}
