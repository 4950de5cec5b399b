//! The scrape endpoint: `GET /metrics`, with the format negotiated from `Accept` and gzip from
//! `Accept-Encoding`.
//!
//! OpenMetrics is served when `enable_open_metrics` is on and the scraper ranks
//! `application/openmetrics-text` at least as high as `text/plain` (Prometheus does); otherwise
//! text 0.0.4. UTF-8 names are written quoted only when the chosen media type carries
//! `escaping=allow-utf-8`. Any other path is 404. The page is rendered under the exporter's
//! lock (exports wait meanwhile) and compressed after it is released; expired series are
//! removed by the exporter's background task, not here. Nothing here fails: a
//! compression error (which cannot happen on a `Vec`) serves the page uncompressed.

use std::io::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::State as AxumState;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, HeaderValue, header};

use super::Shared;
use super::render::{Format, Options, render};

/// What the scraper asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Negotiated {
    pub format: Format,
    pub utf8: bool,
}

impl Negotiated {
    fn content_type(self) -> &'static str {
        match self.format {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Picks the format from an `Accept` header value.
pub(crate) fn negotiate(accept: &str, open_metrics: bool) -> Negotiated {
    let mut best_text: Option<(f32, bool)> = None;
    let mut best_om: Option<(f32, bool)> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let mut q = 1.0f32;
        let mut utf8 = false;
        for param in parts {
            let (k, v) = param.split_once('=').unwrap_or((param, ""));
            match k.trim() {
                "q" => q = v.trim().parse().unwrap_or(0.0),
                "escaping" => utf8 = v.trim() == "allow-utf-8",
                _ => {}
            }
        }
        let slot = match media.as_str() {
            "application/openmetrics-text" => &mut best_om,
            "text/plain" | "*/*" | "text/*" => &mut best_text,
            _ => continue,
        };
        if q > 0.0 && slot.is_none_or(|(best, _)| q > best) {
            *slot = Some((q, utf8));
        }
    }
    match (open_metrics, best_om, best_text) {
        (true, Some((om, utf8)), text) if text.is_none_or(|(t, _)| om >= t) => Negotiated {
            format: Format::OpenMetrics,
            utf8,
        },
        (_, _, text) => Negotiated {
            format: Format::Text,
            utf8: text.is_some_and(|(_, u)| u),
        },
    }
}

impl Shared {
    /// The page in the negotiated format, rendered under the lock.
    pub(crate) fn page(&self, negotiated: Negotiated) -> String {
        let mut page = String::with_capacity(self.last_page_len());
        {
            let state = self.state.lock();
            let opts = Options {
                format: negotiated.format,
                utf8: negotiated.utf8,
                timestamps: self.send_timestamps,
            };
            render(&state, opts, &mut page);
        }
        self.note_page_len(page.len());
        page
    }
}

/// The router serving `/metrics`.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(shared)
}

async fn scrape(AxumState(shared): AxumState<Arc<Shared>>, headers: HeaderMap) -> Response {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .unwrap_or("")
    };
    let negotiated = negotiate(text(header::ACCEPT), shared.open_metrics);
    let gzip = text(header::ACCEPT_ENCODING)
        .split(',')
        .any(|e| e.split(';').next().is_some_and(|e| e.trim() == "gzip"));
    let page = shared.page(negotiated);
    let content_type = HeaderValue::from_static(negotiated.content_type());
    if gzip {
        let mut enc = flate2::write::GzEncoder::new(
            Vec::with_capacity(page.len() / 4),
            flate2::Compression::fast(),
        );
        if enc.write_all(page.as_bytes()).is_ok()
            && let Ok(body) = enc.finish()
        {
            return (
                [
                    (header::CONTENT_TYPE, content_type),
                    (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
                ],
                body,
            )
                .into_response();
        }
    }
    ([(header::CONTENT_TYPE, content_type)], page).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_gets_openmetrics_when_enabled() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                          version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(negotiate(prometheus, true).format, Format::OpenMetrics);
        assert_eq!(negotiate(prometheus, false).format, Format::Text);
        assert_eq!(negotiate("", true).format, Format::Text);
        assert_eq!(negotiate("*/*", true).format, Format::Text);
        let text_first = "text/plain;version=0.0.4,application/openmetrics-text;q=0.5";
        assert_eq!(negotiate(text_first, true).format, Format::Text);
    }

    #[test]
    fn utf8_names_only_when_asked() {
        let utf8 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8";
        assert_eq!(
            negotiate(utf8, true),
            Negotiated {
                format: Format::OpenMetrics,
                utf8: true
            }
        );
        assert!(
            !negotiate(utf8, false).utf8,
            "text/plain was not offered with it"
        );
        assert!(negotiate("text/plain;version=1.0.0;escaping=allow-utf-8", false).utf8);
    }
}
