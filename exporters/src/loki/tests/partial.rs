//! Loki's 400 for part of a push: the exporter succeeds, rejecting what Loki says it refused,
//! by reason, in records; a 400 that does not say how many stays a permanent error.
//!
//! The bodies are Loki 3.x's, byte for byte (paths in grafana/loki):
//! - validation messages: `pkg/validation/validate.go` (`GreaterThanMaxSampleAgeErrorMsg`,
//!   `TooFarInFutureErrorMsg`, `LineTooLongErrorMsg`, `DisallowedStructuredMetadataErrorMsg`,
//!   `LabelValueTooLongErrorMsg`, `MaxLabelNamesPerSeriesErrorMsg`, `InvalidLabelsErrorMsg`,
//!   `MissingLabelsErrorMsg`), filled in by `pkg/distributor/validator.go` (timestamps as
//!   RFC 3339; entry messages name the parsed labels, label messages the selector as sent);
//! - grouping: `pkg/util/errors.go` `GroupedErrors.Error()`: one error alone as it is, else
//!   `N errors like: <message>` per distinct message joined by `"; "`; the distributor answers
//!   it as a 400's text body (`pkg/distributor/distributor.go`, `http.go`), ended here with a
//!   newline as Go's `http.Error` writes one (the exporter trims it);
//! - an ingester's report of entries it ignored: `pkg/ingester/stream.go`
//!   (`entry with timestamp %s ignored, reason: '%s',\n` per entry, then `user '%s', total
//!   ignored: %d out of %d for stream: %s`), with `chunkenc.ErrTooFarBehind`'s message.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use weir_pipeline::{ExportError, Sent};

use super::fake::FakeLoki;
use super::*;

const API: &str = r#"{level="info", service_name="api"}"#;
const WEB: &str = r#"{level="info", service_name="web"}"#;

/// Tenant `t`: four records of `api` and two of `web`, six in all.
fn six() -> Arc<Bundle> {
    let records = |n: usize| {
        (0..n)
            .map(|i| log(&format!("line {i}"), 1, 9, &[]))
            .collect()
    };
    bundle(vec![logs_batch(
        "t",
        vec![
            resource_logs(&[("service.name", "api")], records(4)),
            resource_logs(&[("service.name", "web")], records(2)),
        ],
    )])
}

fn too_old(stream: &str, second: u32) -> String {
    format!(
        "entry for stream '{stream}' has timestamp too old: 2020-01-01T00:00:0{second}Z, oldest \
         acceptable timestamp is: 2025-06-01T00:00:00Z"
    )
}

fn too_long(stream: &str) -> String {
    format!(
        "Max entry size '16' bytes exceeded for stream '{stream}' while adding an entry with \
         length '40' bytes"
    )
}

/// Exports [`six`] to a fake Loki answering 400 with `body`.
async fn answered(body: String) -> (Result<Sent, ExportError>, LokiStats, Vec<fake::Pushed>) {
    let fake =
        FakeLoki::answering(move |_| (StatusCode::BAD_REQUEST, body.clone()).into_response()).await;
    let exp = exporter(&config(&fake));
    let result = exp.export(six()).await;
    (result, exp.stats(), fake.pushes())
}

async fn partly(body: String) -> (Vec<(&'static str, u64)>, LokiStats) {
    let (result, stats, pushes) = answered(body.clone()).await;
    assert_eq!(pushes.len(), 1);
    let selectors: Vec<_> = pushes[0]
        .streams
        .iter()
        .map(|s| (s.labels["service_name"].clone(), s.entries.len()))
        .collect();
    assert_eq!(
        selectors,
        [("api".to_owned(), 4), ("web".to_owned(), 2)],
        "the push these bodies describe"
    );
    match result {
        Ok(sent) => (sent.rejected, stats),
        Err(e) => panic!("{body:?} should be a partial success, got {e}"),
    }
}

#[tokio::test]
async fn several_kinds_at_once_are_counted_by_reason() {
    let body = format!(
        "1 errors like: {}; 1 errors like: {}; 1 errors like: {}; 1 errors like: entry for \
         stream '{API}' has timestamp too new: 2099-01-01T00:00:00Z\n",
        too_old(API, 1),
        too_old(API, 2),
        too_long(WEB),
    );
    let (rejected, stats) = partly(body).await;
    assert_eq!(
        rejected,
        [
            ("loki_too_old", 2),
            ("loki_line_too_long", 1),
            ("loki_too_new", 1)
        ]
    );
    assert_eq!(
        (
            stats.refused["too_old"],
            stats.refused["line_too_long"],
            stats.refused["too_new"]
        ),
        (1, 1, 1),
        "one answer, naming each reason once"
    );
    assert_eq!(stats.refused.values().sum::<u64>(), 3);
}

#[tokio::test]
async fn one_error_alone_has_no_count_and_is_one_record() {
    let (rejected, stats) = partly(format!("{}\n", too_old(API, 1))).await;
    assert_eq!(rejected, [("loki_too_old", 1)]);
    assert_eq!(stats.refused["too_old"], 1);
}

#[tokio::test]
async fn one_message_repeated_counts_each_time() {
    let body = format!(
        "2 errors like: stream '{API}' includes structured metadata, but this feature is \
         disallowed. Please see `limits_config.allow_structured_metadata` or contact your Loki \
         administrator to enable it.\n"
    );
    let (rejected, _) = partly(body).await;
    assert_eq!(rejected, [("loki_structured_metadata", 2)]);
}

#[tokio::test]
async fn a_refused_stream_counts_all_its_records() {
    let body = format!(
        "1 errors like: stream '{WEB}' has label value too long: 'web'; 1 errors like: {}\n",
        too_long(API)
    );
    let (rejected, _) = partly(body).await;
    assert_eq!(
        rejected,
        [("loki_bad_labels", 2), ("loki_line_too_long", 1)],
        "web's two records, one of api's"
    );
    // `; ` inside a message does not split it; every stream refused is the whole push.
    let body = format!(
        "1 errors like: entry for stream '{API}' has 1 label names; limit 0; 1 errors like: \
         entry for stream '{WEB}' has 1 label names; limit 0\n"
    );
    let (rejected, _) = partly(body).await;
    assert_eq!(rejected, [("loki_bad_labels", 6)]);
}

#[tokio::test]
async fn an_ingester_s_ignored_entries_are_counted() {
    let entry = |s: u32| {
        format!(
            "entry with timestamp 2025-06-01 10:00:0{s} +0000 UTC ignored, reason: 'entry too \
             far behind, entry timestamp is: 2025-06-01T10:00:0{s}Z, oldest acceptable \
             timestamp is: 2025-06-01T11:00:00Z',\n"
        )
    };
    let body = format!(
        "{}{}user 't', total ignored: 2 out of 4 for stream: {API}\n",
        entry(0),
        entry(1)
    );
    let (rejected, stats) = partly(body).await;
    assert_eq!(rejected, [("loki_out_of_order", 2)]);
    assert_eq!(stats.refused["out_of_order"], 1);
}

#[tokio::test]
async fn counts_past_the_push_are_capped_at_its_records() {
    let (rejected, _) = partly(format!("9 errors like: {}\n", too_old(API, 1))).await;
    assert_eq!(rejected, [("loki_too_old", 6)]);
}

#[tokio::test]
async fn a_400_that_does_not_say_how_many_is_permanent_for_the_whole_push() {
    for (body, reason) in [
        ("snappy: corrupt input\n".to_owned(), "other"),
        (String::new(), "other"),
        (
            "error at least one label pair is required per stream\n".to_owned(),
            "bad_labels",
        ),
        // A stream this push did not have.
        (
            "Error parsing labels '{service_name=\"nope\"' with error: 1:24: parse error: \
             unexpected end of input\n"
                .to_owned(),
            "bad_labels",
        ),
        // Too long to read whole: the counts past the cut are unknown.
        (
            format!(
                "{}\n",
                (0..8000)
                    .map(|i| format!("1 errors like: {}{i}", too_old(API, 1)))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            "too_old",
        ),
        // One message it does not know spoils the count of the rest.
        (
            format!(
                "1 errors like: {}; 1 errors like: a message of a later Loki\n",
                too_old(API, 1)
            ),
            "too_old",
        ),
    ] {
        let (result, stats, _) = answered(body.clone()).await;
        match result {
            Err(ExportError::Permanent(e)) => {
                let text = e.to_string();
                let want = format!("HTTP 400 Bad Request ({reason})");
                assert!(text.contains(&want), "{body:?}: {text}");
            }
            other => panic!("{body:?}: expected permanent, got {other:?}"),
        }
        assert_eq!(stats.refused[reason], 1, "{body:?}");
        assert_eq!(stats.refused.values().sum::<u64>(), 1, "{body:?}");
    }
}
