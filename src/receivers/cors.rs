//! CORS on the OTLP/HTTP receiver: `protocols.http.cors`, with the OpenTelemetry Collector's
//! keys and meaning, so a web page on another origin can send spans and frontend logs.
//!
//! ```yaml
//! protocols:
//!   http:
//!     cors:
//!       allowed_origins: [https://app.example.com, "https://*.example.com"]
//!       allowed_headers: [X-Scope-OrgID]   # beyond the safelisted ones
//!       max_age: 7200                      # seconds a browser may cache a preflight
//! ```
//! As in the Collector: CORS is on only when `allowed_origins` lists something; an origin may
//! hold one `*` standing for any run of characters (`"*"` alone allows every origin); matching
//! ignores case; `Accept`, `Accept-Language`, `Content-Language`, `Content-Type` and `Origin`
//! are always allowed request headers, and `X-Requested-With` too when `allowed_headers` is
//! empty (`["*"]` allows any); answers allow credentials and the methods GET, POST and HEAD.
//! The headers themselves are written by tower-http's `CorsLayer`, given weir's matcher as
//! its origin predicate. weir also exposes `X-Request-Id` and `Retry-After` to the page.
//!
//! Unlike the Collector, weir does not serve an origin it does not allow: a preflight or a
//! request whose `Origin` is not allowed is answered 403 (a browser would refuse the answer
//! anyway), logged, and counted in `weir_http_cors_refused_total{receiver}`. Requests without
//! an `Origin` (SDKs on servers) are untouched. Config problems are `(key, message)` pairs from
//! [`CorsConfig::problems`]; nothing here fails at run time.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, Method, StatusCode, header};
use serde::Deserialize;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};
use weir_pipeline::Metrics;
use weir_pipeline::metrics::catalogue;

use super::context;

/// `protocols.http.cors`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CorsConfig {
    /// Origins (`scheme://host[:port]`) whose pages may send to the receiver. One `*` in an
    /// origin stands for any run of characters (`https://*.example.com`); `"*"` alone allows
    /// every origin. Empty: CORS is off, as in the Collector.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Request headers a page may send beyond `Accept`, `Accept-Language`, `Content-Language`,
    /// `Content-Type` and `Origin`, which are always allowed (`X-Requested-With` too while this
    /// is empty). `["*"]` allows any header.
    #[serde(default)]
    pub allowed_headers: Vec<String>,
    /// Seconds a browser may cache a preflight answer (`Access-Control-Max-Age`); 0 sends no
    /// header, and browsers then ask again after 5 seconds.
    #[serde(default)]
    pub max_age: u64,
}

/// Request headers allowed whatever `allowed_headers` says.
const ALWAYS_ALLOWED: [&str; 5] = [
    "accept",
    "accept-language",
    "content-language",
    "content-type",
    "origin",
];

impl CorsConfig {
    /// True when CORS is on: at least one origin is allowed.
    pub fn is_enabled(&self) -> bool {
        !self.allowed_origins.is_empty()
    }

    /// `(key, message)` for each invalid setting, keys relative to the `http` protocol.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (i, origin) in self.allowed_origins.iter().enumerate() {
            if let Err(message) = check_origin(origin) {
                out.push((format!("cors.allowed_origins[{i}]"), message));
            }
        }
        for (i, name) in self.allowed_headers.iter().enumerate() {
            if name != "*" && HeaderName::from_bytes(name.as_bytes()).is_err() {
                out.push((
                    format!("cors.allowed_headers[{i}]"),
                    format!("{name:?} is not a header name"),
                ));
            }
        }
        out
    }
}

fn check_origin(origin: &str) -> Result<(), String> {
    if origin == "*" {
        return Ok(());
    }
    let Some((scheme, rest)) = origin.split_once("://") else {
        return Err(format!(
            "{origin:?} is not an origin: write scheme://host[:port], e.g. https://app.example.com"
        ));
    };
    if scheme.is_empty() || rest.is_empty() {
        return Err(format!("{origin:?} needs a scheme and a host"));
    }
    if origin.matches('*').count() > 1 {
        return Err(format!(
            "{origin:?} has more than one *; an origin may hold one"
        ));
    }
    if rest.contains('/') {
        let bare = origin.trim_end_matches('/');
        return Err(format!(
            "{origin:?} has a path; an origin is scheme://host[:port] only (write {bare:?})"
        ));
    }
    if origin
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == ',')
    {
        return Err(format!(
            "{origin:?} holds a space, comma or control character"
        ));
    }
    Ok(())
}

/// The allowed origins, ready to match an `Origin` header.
#[derive(Debug, Default)]
pub struct Origins {
    any: bool,
    exact: Vec<String>,
    /// `(prefix, suffix)` around each origin's `*`.
    wildcard: Vec<(String, String)>,
}

impl Origins {
    /// The matcher for `allowed_origins` (lower-cased, as matching ignores case).
    pub fn new(allowed: &[String]) -> Self {
        let mut out = Self::default();
        for origin in allowed {
            let origin = origin.to_ascii_lowercase();
            if origin == "*" {
                out.any = true;
            } else if let Some((prefix, suffix)) = origin.split_once('*') {
                out.wildcard.push((prefix.to_owned(), suffix.to_owned()));
            } else {
                out.exact.push(origin);
            }
        }
        out
    }

    /// True when a page of `origin` (an `Origin` header's bytes) may send.
    pub fn allows(&self, origin: &[u8]) -> bool {
        let Ok(origin) = std::str::from_utf8(origin) else {
            return false;
        };
        if self.any {
            return true;
        }
        let origin = origin.to_ascii_lowercase();
        self.exact.contains(&origin)
            || self.wildcard.iter().any(|(prefix, suffix)| {
                origin.len() >= prefix.len() + suffix.len()
                    && origin.starts_with(prefix.as_str())
                    && origin.ends_with(suffix.as_str())
            })
    }
}

/// What the refusal middleware needs.
#[derive(Clone)]
struct Guard {
    origins: Arc<Origins>,
    receiver: Arc<str>,
    metrics: Metrics,
}

/// Wraps `router` with CORS per `cfg` (which must be enabled): tower-http's layer answers
/// preflights and adds the headers; in front of it, requests from origins not allowed are
/// refused and counted.
pub fn apply<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    cfg: &CorsConfig,
    origins: Arc<Origins>,
    receiver: Arc<str>,
    metrics: Metrics,
) -> Router<S> {
    let matcher = Arc::clone(&origins);
    let headers = if cfg.allowed_headers.iter().any(|h| h == "*") {
        AllowHeaders::mirror_request()
    } else {
        let listed = cfg
            .allowed_headers
            .iter()
            .filter_map(|h| HeaderName::from_bytes(h.as_bytes()).ok());
        let default = cfg
            .allowed_headers
            .is_empty()
            .then(|| HeaderName::from_static("x-requested-with"));
        let always = ALWAYS_ALLOWED.into_iter().map(HeaderName::from_static);
        AllowHeaders::list(always.chain(default).chain(listed))
    };
    let mut layer = CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, _| {
            matcher.allows(origin.as_bytes())
        }))
        .allow_methods([Method::GET, Method::POST, Method::HEAD])
        .allow_headers(headers)
        .allow_credentials(true)
        .expose_headers([
            HeaderName::from_static(context::REQUEST_ID_HEADER),
            header::RETRY_AFTER,
        ]);
    if cfg.max_age > 0 {
        layer = layer.max_age(Duration::from_secs(cfg.max_age));
    }
    let guard = Guard {
        origins,
        receiver,
        metrics,
    };
    router.layer(layer).layer(middleware::from_fn_with_state(
        guard,
        refuse_unknown_origins,
    ))
}

async fn refuse_unknown_origins(State(g): State<Guard>, request: Request, next: Next) -> Response {
    match request.headers().get(header::ORIGIN) {
        Some(origin) if !g.origins.allows(origin.as_bytes()) => {
            let request_id =
                context::request_id(|k| request.headers().get(k).map(HeaderValue::as_bytes));
            refused(&g.metrics, &g.receiver, origin, &request_id)
        }
        _ => next.run(request).await,
    }
}

/// Counts, logs and answers (403) a request from an origin that may not send.
pub fn refused(
    metrics: &Metrics,
    receiver: &str,
    origin: &HeaderValue,
    request_id: &weir_pipeline::RequestId,
) -> Response {
    metrics
        .counter(catalogue::HTTP_CORS_REFUSED, &[receiver])
        .add(1);
    let shown = String::from_utf8_lossy(origin.as_bytes());
    tracing::warn!(
        request_id = %request_id,
        receiver,
        origin = %shown.chars().take(200).collect::<String>(),
        "request refused: origin not in cors.allowed_origins"
    );
    let mut resp = (
        StatusCode::FORBIDDEN,
        "origin not allowed: add it to protocols.http.cors.allowed_origins",
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(request_id.as_str()) {
        resp.headers_mut().insert(context::REQUEST_ID_HEADER, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(list: &[&str]) -> Origins {
        Origins::new(&list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn exact_origins_match_ignoring_case_and_nothing_else() {
        let o = origins(&["https://App.example.com"]);
        assert!(o.allows(b"https://app.example.com"));
        assert!(o.allows(b"HTTPS://APP.EXAMPLE.COM"));
        assert!(!o.allows(b"https://app.example.com:8443"));
        assert!(!o.allows(b"http://app.example.com"));
        assert!(!o.allows(b"null"));
    }

    #[test]
    fn a_wildcard_stands_for_any_run_of_characters() {
        let o = origins(&["https://*.example.com", "http://localhost:*"]);
        assert!(o.allows(b"https://a.example.com"));
        assert!(o.allows(b"https://a.b.example.com"));
        assert!(o.allows(b"http://localhost:3000"));
        assert!(!o.allows(b"https://example.com"));
        assert!(!o.allows(b"https://a.example.com.evil.net"));
        assert!(origins(&["*"]).allows(b"https://anything.test"));
        assert!(!origins(&[]).allows(b"https://anything.test"));
    }

    #[test]
    fn bad_origins_and_headers_are_named_with_their_index() {
        let cfg = CorsConfig {
            allowed_origins: vec![
                "https://ok.example.com".into(),
                "https://app.example.com/".into(),
                "app.example.com".into(),
                "https://*.*.example.com".into(),
            ],
            allowed_headers: vec!["X-Ok".into(), "bad header".into()],
            max_age: 0,
        };
        let p = cfg.problems();
        let keys: Vec<&str> = p.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "cors.allowed_origins[1]",
                "cors.allowed_origins[2]",
                "cors.allowed_origins[3]",
                "cors.allowed_headers[1]"
            ]
        );
        assert!(
            p[0].1.contains("write \"https://app.example.com\""),
            "{p:?}"
        );
        assert!(p[2].1.contains("more than one *"), "{p:?}");
    }
}
