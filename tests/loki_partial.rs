//! Loki's partial refusals end to end: weir's `loki` exporter pushes to a fake Loki that
//! answers as Loki's distributor does when some entries of a push are invalid — it stores the
//! others and answers 400 with one message per refused entry, grouped `N errors like: …`
//! (Loki 3.x, `pkg/util/errors.go` `GroupedErrors`, messages from `pkg/validation/validate.go`).
//! weir's `/metrics` must count the refused records by Loki's reason, the rest as sent, and
//! the loss ledger must balance.

mod common;

use std::collections::BTreeMap;

use serde_json::json;

use common::capture::Capture;
use common::ledger;
use common::loki::Push;
use common::{OTLP_RECEIVER, Weir};

/// Loki's selector of a label set, as its `labels.Labels` prints it.
fn selector(labels: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", pairs.join(", "))
}

/// What Loki 3.x answers to `push` when entries whose line starts with `ancient` are older than
/// `reject_old_samples_max_age` and entries whose line starts with `huge` are longer than
/// `max_line_size`: 204 when none is, else 400 with its grouped validation errors.
fn loki_answer(push: &Push) -> (u16, String) {
    let mut errors: Vec<String> = Vec::new();
    for (labels, entry) in push.entries() {
        let stream = selector(labels);
        let secs = entry.nanos / 1_000_000_000;
        if entry.line.starts_with("ancient") {
            errors.push(format!(
                "entry for stream '{stream}' has timestamp too old: 1970-01-01T00:00:0{secs}Z, \
                 oldest acceptable timestamp is: 2025-06-01T00:00:00Z"
            ));
        } else if entry.line.starts_with("huge") {
            errors.push(format!(
                "Max entry size '16' bytes exceeded for stream '{stream}' while adding an entry \
                 with length '{}' bytes",
                entry.line.len()
            ));
        }
    }
    match errors.len() {
        0 => (204, String::new()),
        // One error is written as it is; several as `N errors like: <message>` per distinct
        // message, joined by "; "; ended with a newline, as Go's `http.Error` writes it.
        1 => (400, format!("{}\n", errors[0])),
        _ => {
            let groups: Vec<String> = errors
                .iter()
                .map(|e| {
                    format!(
                        "{} errors like: {e}",
                        errors.iter().filter(|o| *o == e).count()
                    )
                })
                .fold(Vec::new(), |mut seen, g| {
                    if !seen.contains(&g) {
                        seen.push(g);
                    }
                    seen
                });
            (400, format!("{}\n", groups.join("; ")))
        }
    }
}

fn log(body: &str, secs: u64) -> serde_json::Value {
    json!({
        "timeUnixNano": (secs * 1_000_000_000).to_string(),
        "severityNumber": 9,
        "severityText": "INFO",
        "body": { "stringValue": body }
    })
}

#[tokio::test]
async fn a_partly_refused_push_counts_what_loki_refused_by_reason_and_the_rest_as_sent() {
    let fake = Capture::answering_with_body(|request| loki_answer(&Push::decode(request)));
    let weir = Weir::start(&format!(
        "{OTLP_RECEIVER}\
exporters:
  loki:
    endpoint: http://{addr}/loki/api/v1/push
    retry_on_failure: {{ initial_interval: 50ms }}
service:
  admin: {{ endpoint: 127.0.0.1:0 }}
  pipelines:
    logs: {{ receivers: [otlp], exporters: [loki] }}
",
        addr = fake.addr,
    ));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let body = json!({ "resourceLogs": [{
        "resource": { "attributes": [
            { "key": "service.name", "value": { "stringValue": "api" } }
        ]},
        "scopeLogs": [{ "logRecords": [
            log("fresh", now),
            log("ancient one", 1),
            log("ancient two", 2),
            log("ancient three", 3),
            log("huge line, longer than Loki's max_line_size", now),
        ]}]
    }]});
    let answer = weir.post_json("/v1/logs", body.to_string(), &[]).await;
    assert_eq!(answer.status(), 200, "weir took the records");

    let accounts = ledger::assert_balanced(&weir, &[("logs", "loki")]).await;
    let account = &accounts[0];
    assert_eq!(account.accepted, 5);
    let dropped: Vec<(&str, u64)> = account
        .dropped
        .iter()
        .map(|(r, n)| (r.as_str(), *n))
        .collect();
    assert_eq!(
        dropped,
        [("loki_line_too_long", 1), ("loki_too_old", 3)],
        "what Loki said it refused, by its reason"
    );
    assert_eq!(account.delivered, 1, "the rest was stored");

    let pushes = fake.requests_to("/loki/api/v1/push");
    assert_eq!(pushes.len(), 1, "a partial refusal is never sent again");
    assert_eq!(pushes[0].status, 400);
    let lines: Vec<String> = Push::decode(&pushes[0])
        .entries()
        .map(|(_, e)| e.line.clone())
        .collect();
    assert_eq!(lines.len(), 5, "one push with every record: {lines:?}");
}
