//! The logs wire path against the struct path, as `prop_wire.rs` does for traces: for
//! generated logs requests (bodies of every kind, nested maps among them, event names, severity
//! texts) and the same configurations, `logs_wire` on the view, its edits applied and decoded,
//! gives exactly what `process` gives, with the same counters and outcome, alone and twice in a
//! row; a request nothing changes leaves with no edit, byte-identical.

use std::sync::LazyLock;

use bytes::Bytes;
use proptest::prelude::*;
use prost::Message;
use weir_pipeline::otlp::collector::logs::v1::ExportLogsServiceRequest;
use weir_pipeline::otlp::common::v1::InstrumentationScope;
use weir_pipeline::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use weir_pipeline::otlp::resource::v1::Resource;
use weir_pipeline::wire::{Edits, LogView};
use weir_pipeline::{Batch, Metrics, Processor, Signal};

use super::Redaction;
use super::prop_wire::{
    CONFIGS, attrs, built, counts, ctx, delta, redaction, schema_url, short, value,
};

/// One set of processors per configuration (one per path), for this file's tests only.
static BUILT: LazyLock<Vec<[(Redaction, Metrics); 2]>> = LazyLock::new(built);

fn record() -> impl Strategy<Value = LogRecord> {
    (value(), short(), short(), attrs()).prop_map(
        |(body, event_name, severity_text, attributes)| LogRecord {
            body,
            event_name,
            severity_text,
            severity_number: 9,
            attributes,
            ..Default::default()
        },
    )
}

fn request() -> impl Strategy<Value = ExportLogsServiceRequest> {
    let scope = (
        prop::option::of((short(), attrs())),
        prop::collection::vec(record(), 0..4),
        schema_url(),
    )
        .prop_map(|(scope, log_records, schema_url)| ScopeLogs {
            scope: scope.map(|(name, attributes)| InstrumentationScope {
                name,
                attributes,
                ..Default::default()
            }),
            log_records,
            schema_url,
        });
    let resource = (
        prop::option::of(attrs()),
        prop::collection::vec(scope, 0..3),
    )
        .prop_map(|(attributes, scope_logs)| ResourceLogs {
            resource: attributes.map(|attributes| Resource {
                attributes,
                ..Default::default()
            }),
            scope_logs,
            schema_url: String::new(),
        });
    prop::collection::vec(resource, 0..3)
        .prop_map(|resource_logs| ExportLogsServiceRequest { resource_logs })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_logs_view_path_decodes_to_what_the_struct_path_gives(
        req in request(),
        c in 0..CONFIGS.len(),
        twice in any::<bool>(),
    ) {
        let [(on_structs, m1), (on_view, m2)] = &BUILT[c];
        let before = (counts(m1), counts(m2));
        let ctx = ctx();
        let mut batch = Batch::new(ctx.clone(), Signal::Logs(req.resource_logs.clone()));
        let view = LogView::parse(Bytes::from(req.encode_to_vec())).expect("prost's own");
        let mut edits = Edits::new();
        prop_assert_eq!(
            on_structs.process(&mut batch),
            on_view.logs_wire(&ctx, &view, &mut edits).expect("runs on the view")
        );
        prop_assert_eq!(delta(&before.0, m1), delta(&before.1, m2));
        if twice {
            // A second redaction reads what the first wrote.
            let (again, _) = redaction("{summary: debug}");
            let (again_view, _) = redaction("{summary: debug}");
            again.process(&mut batch);
            again_view.logs_wire(&ctx, &view, &mut edits).expect("runs on the view");
        }
        let (_, Signal::Logs(resource_logs)) = batch.into_parts() else {
            unreachable!("logs stay logs")
        };
        let want = ExportLogsServiceRequest { resource_logs };
        let empty = edits.is_empty();
        let out = edits.apply(&view.bytes);
        prop_assert_eq!(&ExportLogsServiceRequest::decode(out.as_slice()).expect("decodes"), &want);
        if want == req {
            prop_assert!(empty, "nothing changed, yet edits were made");
            prop_assert_eq!(out, req.encode_to_vec());
        }
    }
}
