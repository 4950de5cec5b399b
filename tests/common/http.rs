//! Plain HTTP to a running weir: OTLP/JSON posted to its OTLP/HTTP listener, and reads of its
//! admin listener (`/metrics`, `/health`, ...).

use serde_json::{Value, json};

use super::{Weir, http_client};

/// An OTLP/JSON traces body: one resource per `(tenant, spans)` part, with `tenant.id` set to
/// the tenant when there is one, holding that many spans of one trace.
pub fn traces_body(parts: &[(Option<&str>, u64)]) -> Vec<u8> {
    let resource_spans: Vec<Value> = parts
        .iter()
        .map(|(tenant, n)| {
            let spans: Vec<Value> = (0..*n)
                .map(|i| {
                    json!({
                        "traceId": "5b8efff798038103d269b633813fc60c",
                        "spanId": format!("{:016x}", i + 1),
                        "name": "s", "startTimeUnixNano": "1", "endTimeUnixNano": "2"
                    })
                })
                .collect();
            let attributes: Vec<Value> = tenant
                .iter()
                .map(|t| json!({"key": "tenant.id", "value": {"stringValue": t}}))
                .collect();
            json!({ "resource": {"attributes": attributes}, "scopeSpans": [{"spans": spans}] })
        })
        .collect();
    serde_json::to_vec(&json!({ "resourceSpans": resource_spans })).expect("json")
}

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

    /// The admin listener's `/health` as JSON.
    pub async fn health(&self) -> serde_json::Value {
        self.admin_get("/health", None)
            .await
            .json()
            .await
            .expect("/health is JSON")
    }

    /// The status of `tenant_limit` processor `id`'s shared store in `/health`
    /// (`healthy`, `fallback`), or `absent`.
    pub async fn limit_store_status(&self, id: &str) -> String {
        self.health().await["checks"]["limits"]["stores"][id]["status"]
            .as_str()
            .unwrap_or("absent")
            .to_owned()
    }

    /// Failed round trips of `tenant_limit` processor `id` to its shared store, timeouts and
    /// errors together.
    pub async fn limit_store_failures(&self, id: &str) -> f64 {
        let mut sum = 0.0;
        for reason in ["timeout", "error"] {
            let series = format!(
                "weir_tenant_limit_store_failures_total{{processor=\"{id}\",reason=\"{reason}\"}}"
            );
            sum += self.metric(&series).await;
        }
        sum
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
