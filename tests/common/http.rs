//! Plain HTTP to a running weir: OTLP/JSON posted to its OTLP/HTTP listener, and reads of its
//! admin listener (`/metrics`, `/health`, ...).

use super::{Weir, http_client};

impl Weir {
    /// POSTs `body` to `path` (`/v1/traces`, ...) on the OTLP/HTTP listener as
    /// `application/json`, with `headers` added; panics only when no answer came.
    pub async fn post_json(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut req = http_client()
            .post(format!("{}{path}", self.http_base()))
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.send()
            .await
            .unwrap_or_else(|e| panic!("POST {path} to weir: {e}"))
    }

    /// GETs `path` on the admin listener, with an `Accept` header when given.
    pub async fn admin_get(&self, path: &str, accept: Option<&str>) -> reqwest::Response {
        let mut req = http_client().get(format!("http://{}{path}", self.admin_addr));
        if let Some(accept) = accept {
            req = req.header("accept", accept);
        }
        req.send()
            .await
            .unwrap_or_else(|e| panic!("GET {path} from weir's admin listener: {e}"))
    }

    /// The text of the admin listener's `/metrics` (Prometheus text format).
    pub async fn admin_metrics(&self) -> String {
        let resp = self.admin_get("/metrics", None).await;
        assert_eq!(resp.status(), 200, "GET /metrics");
        resp.text().await.expect("/metrics body")
    }

    /// The value on the first `/metrics` line that starts with `series` (name and labels, as
    /// weir writes them); 0 when there is none yet.
    pub async fn metric(&self, series: &str) -> f64 {
        self.admin_metrics()
            .await
            .lines()
            .find(|l| l.starts_with(series))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }
}
