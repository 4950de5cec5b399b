//! A middleware that counts every HTTP request an axum router answers, by route and status
//! (`weir_http_requests_total`), and times it (`weir_http_request_duration_seconds`).
//!
//! The route label is the matched route pattern (`/v1/traces`), or `unmatched`, so a client
//! cannot create series by requesting arbitrary paths. It never fails a request.

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use tokio::time::Instant;
use weir_pipeline::Metrics;
use weir_pipeline::metrics::catalogue;

/// Wraps `router` so that every request it answers is counted and timed in `metrics`.
pub fn track<S: Clone + Send + Sync + 'static>(router: Router<S>, metrics: Metrics) -> Router<S> {
    router.layer(middleware::from_fn_with_state(metrics, count))
}

async fn count(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics
        .counter(catalogue::HTTP_REQUESTS, &[&route, &status])
        .add(1);
    metrics
        .histogram(catalogue::HTTP_REQUEST_DURATION, &[&route])
        .observe(started.elapsed().as_secs_f64());
    response
}
