//! The frontend log intake: `POST /api/frontend-log` on the OTLP/HTTP listener, for the errors
//! and logs of web pages, which hold no OpenTelemetry SDK for logs and no token.
//!
//! A body ([`event`]) is JSON sent as `application/json` or as `text/plain;charset=UTF-8` (what
//! `fetch(url, { method: 'POST', body: JSON.stringify(…) })` sends, which needs no preflight).
//! Each becomes one OTLP log record that goes down the receiver's logs pipelines like any other,
//! so redaction, enrichment, limits and the exporters (Sentry's included) apply.
//!
//! In order, a request is refused with: 403 when it has an `Origin` that `cors.allowed_origins`
//! does not allow (all, when `cors` is off); 404 when the receiver feeds no logs pipeline; 503
//! with `Retry-After: 1` while the process is past its memory limit ([`crate::memory`], counted
//! in `weir_receiver_refused_requests_total{reason="memory_limited"}`); 401/403/400 when its tenant cannot be found ([`FrontendLog::tenant`]); 429 with `Retry-After`
//! past `per_ip_per_minute` for its client IP ([`client`]); 415 for another content type or a
//! `Content-Encoding`; 413 past `max_bytes`; 400 naming the problem for a malformed body; then
//! whatever the pipeline answers (429/503 with `Retry-After`). Success is 202 with
//! `{"request_id": …}`; errors are `{"error": …, "request_id": …}`; both carry `X-Request-Id`.
//! Refusals after the tenant is known count one record in
//! `weir_receiver_refused_records_total{signal="logs",reason}` (`rate_limited`, `unsupported`,
//! `too_large`, `invalid`).

pub mod client;
pub mod config;
pub mod event;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, Extension, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use weir_pipeline::metrics::catalogue;
use weir_pipeline::{RequestId, Signal, SignalKind, TenantId};

use super::cors::{self, Origins};
use super::identity::Resolved;
use super::{ReceiverShared, context, ingest, status};
use crate::listen::tls::PeerSubject;
use client::{PerIpLimit, TrustedProxies};
use event::{FrontendEvent, Received};

pub use config::FrontendLogConfig;

/// The intake of one receiver, ready to serve.
pub struct FrontendLog {
    shared: ReceiverShared,
    /// The configured path.
    pub path: String,
    max_bytes: usize,
    limit: PerIpLimit,
    proxies: TrustedProxies,
    tenant: Option<TenantId>,
    service_name: String,
    origins: Arc<Origins>,
}

impl FrontendLog {
    /// Builds from a config that passed [`FrontendLogConfig::problems`]; `origins` are the
    /// receiver's CORS origins (none when `cors` is off).
    pub fn new(cfg: &FrontendLogConfig, shared: ReceiverShared, origins: Arc<Origins>) -> Self {
        Self {
            shared,
            path: cfg.path.clone(),
            max_bytes: usize::try_from(cfg.max_bytes).unwrap_or(usize::MAX),
            limit: PerIpLimit::new(cfg.per_ip_per_minute),
            proxies: TrustedProxies::new(cfg.trusted_proxies.iter().map(|p| p.0).collect()),
            tenant: cfg.tenant.clone(),
            service_name: cfg.service_name.clone(),
            origins,
        }
    }

    /// The request's tenant: `frontend_log.tenant` when set, else the receiver's sources
    /// without tokens.
    fn tenant(
        &self,
        headers: &HeaderMap,
        peer: Option<&str>,
    ) -> Result<Resolved, weir_pipeline::Refusal> {
        if let Some(t) = &self.tenant {
            return Ok(Resolved {
                tenant: Some(t.clone()),
                authenticated: None,
            });
        }
        self.shared
            .identity
            .resolve_without_token(|k| headers.get(k).map(HeaderValue::as_bytes), peer)
    }

    fn count_refused(&self, tenant: &TenantId, reason: &str) {
        let tenant_label = self.shared.metrics.tenant_label(tenant);
        self.shared
            .metrics
            .counter(
                catalogue::RECEIVER_REFUSED_RECORDS,
                &[
                    SignalKind::Logs.as_str(),
                    &self.shared.id,
                    &tenant_label,
                    reason,
                ],
            )
            .add(1);
    }
}

/// `POST <path>`: one frontend event.
pub async fn handle(
    State(intake): State<Arc<FrontendLog>>,
    peer_addr: Option<Extension<ConnectInfo<SocketAddr>>>,
    subject: Option<Extension<PeerSubject>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let request_id = context::request_id(|k| headers.get(k).map(HeaderValue::as_bytes));
    if let Some(origin) = headers.get(header::ORIGIN)
        && !intake.origins.allows(origin.as_bytes())
    {
        return cors::refused(
            &intake.shared.metrics,
            &intake.shared.id,
            origin,
            &request_id,
        );
    }
    let fail = |code: StatusCode, message: &str, retry: Option<Duration>| {
        tracing::warn!(
            request_id = %request_id,
            receiver = %intake.shared.id,
            status = code.as_u16(),
            reason = message,
            "frontend log refused"
        );
        answer(code, &request_id, Some(message), retry)
    };
    if !intake.shared.router.load().accepts(SignalKind::Logs) {
        let message = format!("receiver {} has no logs pipeline", intake.shared.id);
        return fail(StatusCode::NOT_FOUND, &message, None);
    }
    if intake.shared.memory.refusing() {
        // Logged when refusal starts and ends (`crate::memory`), not per request.
        let shared = &intake.shared;
        crate::memory::count_refused(&shared.metrics, SignalKind::Logs.as_str(), &shared.id);
        let message = shared.memory.message();
        let retry = Some(crate::memory::RETRY_AFTER);
        return answer(
            StatusCode::SERVICE_UNAVAILABLE,
            &request_id,
            Some(&message),
            retry,
        );
    }
    let subject = subject.as_ref().map(|Extension(p)| &*p.0);
    let resolved = match intake.tenant(&headers, subject) {
        Ok(r) => r,
        Err(r) => return fail(status::http_status(r.kind), &r.message, None),
    };
    let tenant = resolved
        .tenant
        .clone()
        .unwrap_or_else(TenantId::default_tenant);

    let peer = peer_addr.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |Extension(c)| c.0.ip());
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    let client_ip = intake.proxies.client_ip(peer, forwarded);
    if let Err(wait) = intake.limit.check(client_ip) {
        intake.count_refused(&tenant, "rate_limited");
        let message = "too many frontend logs from this client; retry after Retry-After seconds";
        return fail(StatusCode::TOO_MANY_REQUESTS, message, Some(wait));
    }
    if let Err(message) = check_content(&headers) {
        intake.count_refused(&tenant, "unsupported");
        return fail(StatusCode::UNSUPPORTED_MEDIA_TYPE, &message, None);
    }
    let raw = match axum::body::to_bytes(body, intake.max_bytes).await {
        Ok(raw) => raw,
        Err(_) => {
            intake.count_refused(&tenant, "too_large");
            let message = format!(
                "body over frontend_log.max_bytes ({} bytes)",
                intake.max_bytes
            );
            return fail(StatusCode::PAYLOAD_TOO_LARGE, &message, None);
        }
    };
    let event = match FrontendEvent::parse(&raw) {
        Ok(e) => e,
        Err(e) => {
            intake.count_refused(&tenant, "invalid");
            return fail(StatusCode::BAD_REQUEST, &e.to_string(), None);
        }
    };
    let get = |k: &str| headers.get(k).map(HeaderValue::as_bytes);
    let mut ctx = weir_pipeline::RequestContext::new(
        tenant,
        request_id.clone(),
        intake.shared.id.clone(),
        "http",
    );
    ctx.body_bytes = raw.len();
    ctx.traceparent = get("traceparent")
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(weir_pipeline::TraceParent::parse);
    let received = Received {
        request_id: request_id.as_str(),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
        service_name: &intake.service_name,
    };
    let logs = event.into_resource_logs(&received);
    match ingest::ingest(&intake.shared, ctx, &resolved, Signal::Logs(vec![logs])).await {
        Ok(_) => answer(StatusCode::ACCEPTED, &request_id, None, None),
        Err(err) => {
            let code = status::http_status(err.reason.kind);
            let retry = err
                .reason
                .kind
                .is_retryable()
                .then(|| err.retry_after.unwrap_or(Duration::from_secs(1)));
            answer(code, &request_id, Some(&err.reason.message), retry)
        }
    }
}

/// `Ok` for a JSON or UTF-8 text body without a content encoding; else what to send instead.
fn check_content(headers: &HeaderMap) -> Result<(), String> {
    const WANT: &str = "send application/json or text/plain;charset=UTF-8";
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    if let Some(e) = encoding.filter(|e| e != "identity") {
        return Err(format!(
            "Content-Encoding {e:?} is not accepted here; {WANT} as is"
        ));
    }
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(format!("no Content-Type; {WANT}"));
    };
    let mut parts = content_type.split(';').map(str::trim);
    let media = parts.next().unwrap_or_default().to_ascii_lowercase();
    if media != "application/json" && media != "text/plain" {
        return Err(format!("Content-Type {media:?} is not accepted; {WANT}"));
    }
    for param in parts {
        if let Some((name, value)) = param.split_once('=')
            && name.trim().eq_ignore_ascii_case("charset")
            && !value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        {
            return Err(format!(
                "charset {:?} is not accepted; {WANT}",
                value.trim()
            ));
        }
    }
    Ok(())
}

/// A JSON answer with `X-Request-Id` and, when given, `Retry-After` in whole seconds.
fn answer(
    code: StatusCode,
    request_id: &RequestId,
    error: Option<&str>,
    retry: Option<Duration>,
) -> Response {
    let body = match error {
        Some(e) => serde_json::json!({ "error": e, "request_id": request_id.as_str() }),
        None => serde_json::json!({ "request_id": request_id.as_str() }),
    };
    let mut resp = (code, Json(body)).into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(request_id.as_str()) {
        h.insert(context::REQUEST_ID_HEADER, v);
    }
    if let Some(after) = retry {
        h.insert(
            header::RETRY_AFTER,
            HeaderValue::from(status::retry_after_secs(Some(after))),
        );
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn json_and_utf8_text_are_accepted_and_nothing_else() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "text/plain;charset=UTF-8",
            "text/plain",
        ] {
            let h: HeaderMap = [(header::CONTENT_TYPE, HeaderValue::from_static(ok))]
                .into_iter()
                .collect();
            assert_eq!(check_content(&h), Ok(()), "{ok}");
        }
        for (bad, words) in [
            (
                headers(&[("content-type", "application/x-www-form-urlencoded")]),
                "is not accepted",
            ),
            (
                headers(&[("content-type", "text/plain;charset=ISO-8859-1")]),
                "charset",
            ),
            (headers(&[]), "no Content-Type"),
            (
                headers(&[
                    ("content-type", "application/json"),
                    ("content-encoding", "gzip"),
                ]),
                "Content-Encoding \"gzip\"",
            ),
        ] {
            let e = check_content(&bad).expect_err("refused");
            assert!(e.contains(words), "{e}");
        }
    }
}
