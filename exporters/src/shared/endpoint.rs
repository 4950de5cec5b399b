//! Endpoints as the exporters' configs read them: parsed once, when the config is read, so an
//! exporter's constructor takes a URL it cannot find wrong.
//!
//! - [`HttpUrl`]: an `http://` or `https://` URL with a host (`otlphttp`, `loki`,
//!   `prometheusremotewrite`).
//! - [`GrpcEndpoint`]: `host:port`, `http://host:port` or `https://host:port`, no path (`otlp`);
//!   whether a bare `host:port` uses TLS is decided with `tls.insecure`
//!   ([`GrpcEndpoint::target`]).
//!
//! How it fails: a value that breaks the rules fails the reading with an [`EndpointError`]
//! whose message quotes the value; the config loader reports it at the key, with file and line.
//! An empty value reads as "not set" ([`optional`]), so that each exporter's validation says
//! what belongs there.

use std::fmt;
use std::str::FromStr;

use http::Uri;
use reqwest::Url;
use serde::{Deserialize, Deserializer, de};

/// Why an endpoint was refused; the message quotes the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// Not a URL at all.
    #[error("{text:?} is not a URL: {reason}")]
    NotUrl {
        /// The value as written.
        text: String,
        /// What the URL parser said.
        reason: String,
    },
    /// A URL whose scheme is not `http` or `https`.
    #[error("{0:?}: use an http:// or https:// URL")]
    Scheme(String),
    /// A URL without a host.
    #[error("{0:?} has no host")]
    NoHost(String),
    /// A gRPC endpoint with a scheme other than `http` or `https`.
    #[error("unsupported scheme {0:?}; use host:port, http://host:port or https://host:port")]
    GrpcScheme(String),
    /// A gRPC endpoint with a path.
    #[error("{0:?} has a path; a gRPC endpoint is host:port (the method names the signal)")]
    GrpcPath(String),
    /// A gRPC endpoint that is not `host:port`.
    #[error("{text:?} is not host:port{reason}")]
    NotHostPort {
        /// The value as written.
        text: String,
        /// What the URI parser said, as `: …`, or nothing.
        reason: String,
    },
}

/// An `http://` or `https://` URL with a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl(Url);

impl HttpUrl {
    /// The parsed URL.
    pub fn url(&self) -> &Url {
        &self.0
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl FromStr for HttpUrl {
    type Err = EndpointError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parsed = Url::parse(text).map_err(|e| EndpointError::NotUrl {
            text: text.to_owned(),
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(EndpointError::Scheme(text.to_owned()));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(EndpointError::NoHost(text.to_owned()));
        }
        Ok(Self(parsed))
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for HttpUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(de::Error::custom)
    }
}

/// Where an `otlp` (gRPC) exporter connects: the URIs for plaintext and for TLS, and the
/// scheme the value named, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcEndpoint {
    text: String,
    /// `Some(true)` for `https://`, `Some(false)` for `http://`, `None` for `host:port`.
    scheme_tls: Option<bool>,
    plain: Uri,
    secure: Uri,
}

/// Where and how to connect, from a [`GrpcEndpoint`] and `tls.insecure`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcTarget {
    /// `http://host:port` or `https://host:port`.
    pub uri: Uri,
    /// True for TLS.
    pub tls: bool,
}

impl GrpcEndpoint {
    /// The target: TLS for `https://`, plaintext for `http://`, and for `host:port` TLS unless
    /// `insecure`.
    pub fn target(&self, insecure: bool) -> GrpcTarget {
        let tls = self.scheme_tls.unwrap_or(!insecure);
        let uri = if tls { &self.secure } else { &self.plain };
        GrpcTarget {
            uri: uri.clone(),
            tls,
        }
    }

    /// The value as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when the value names its scheme (`http://` or `https://`).
    pub fn has_scheme(&self) -> bool {
        self.scheme_tls.is_some()
    }
}

impl FromStr for GrpcEndpoint {
    type Err = EndpointError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let ep = text.trim();
        let (scheme_tls, rest) = if let Some(rest) = ep.strip_prefix("https://") {
            (Some(true), rest)
        } else if let Some(rest) = ep.strip_prefix("http://") {
            (Some(false), rest)
        } else if let Some((scheme, _)) = ep.split_once("://") {
            return Err(EndpointError::GrpcScheme(scheme.to_owned()));
        } else {
            (None, ep)
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') {
            return Err(EndpointError::GrpcPath(ep.to_owned()));
        }
        let not_host_port = |reason: String| EndpointError::NotHostPort {
            text: ep.to_owned(),
            reason,
        };
        let uri = |scheme: &str| {
            format!("{scheme}://{rest}")
                .parse::<Uri>()
                .map_err(|e| not_host_port(format!(": {e}")))
        };
        let (plain, secure) = (uri("http")?, uri("https")?);
        let host_ok = plain.host().is_some_and(|h| !h.is_empty());
        if !host_ok || (scheme_tls.is_none() && plain.port().is_none()) {
            return Err(not_host_port(String::new()));
        }
        Ok(Self {
            text: ep.to_owned(),
            scheme_tls,
            plain,
            secure,
        })
    }
}

impl<'de> Deserialize<'de> for GrpcEndpoint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(de::Error::custom)
    }
}

/// Reads an optional endpoint (serde's `deserialize_with`): empty or blank text is "not set",
/// anything else must parse.
pub fn optional<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: fmt::Display,
{
    let text = Option::<String>::deserialize(d)?;
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(_) => text
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_need_http_or_https_and_a_host() {
        assert!(
            "https://otlp.example.com:4318/otlp"
                .parse::<HttpUrl>()
                .is_ok()
        );
        for bad in ["not a url", "http://", "mailto:a@b", "ftp://x/y"] {
            let msg = bad.parse::<HttpUrl>().expect_err(bad).to_string();
            assert!(msg.contains(&format!("{bad:?}")), "{msg}");
        }
    }

    #[test]
    fn grpc_endpoints_pick_tls_from_scheme_or_insecure() {
        let target = |text: &str, insecure: bool| {
            let ep: GrpcEndpoint = text.parse().expect(text);
            let t = ep.target(insecure);
            (t.uri.to_string(), t.tls)
        };
        assert_eq!(
            target("tempo:4317", false),
            ("https://tempo:4317/".into(), true)
        );
        assert_eq!(
            target("tempo:4317", true),
            ("http://tempo:4317/".into(), false)
        );
        assert_eq!(target("http://t:1/", false), ("http://t:1/".into(), false));
        assert_eq!(target("https://t", true), ("https://t/".into(), true));
        for (bad, says) in [
            ("tempo", "not host:port"),
            ("grpc://t:1", "unsupported scheme"),
            ("http://t:1/v1/traces", "has a path"),
            ("http://:1", "not host:port"),
        ] {
            let msg = bad.parse::<GrpcEndpoint>().expect_err(bad).to_string();
            assert!(msg.contains(says), "{bad}: {msg}");
        }
    }

    #[test]
    fn blank_optional_endpoints_are_not_set() {
        #[derive(Deserialize)]
        struct C {
            #[serde(default, deserialize_with = "optional")]
            e: Option<HttpUrl>,
        }
        let read = |y: &str| serde_yaml_ng::from_str::<C>(y).map(|c| c.e);
        assert_eq!(read("e: ''").expect("blank"), None);
        assert_eq!(read("{}").expect("absent"), None);
        assert!(read("e: http://x").expect("set").is_some());
        let err = read("e: ftp://x").expect_err("bad").to_string();
        assert!(err.contains("use an http:// or https:// URL"), "{err}");
    }
}
