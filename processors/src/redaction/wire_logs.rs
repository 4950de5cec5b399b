//! Log records on the wire view, for `wire.rs`: a record's body, event name, severity text and
//! attributes, redacted as `records.rs` redacts the decoded record. Nothing here fails.

use weir_pipeline::wire::field::{LOG_ATTRIBUTES as LOG_ATTRS, LOG_BODY as BODY};
use weir_pipeline::wire::{Edits, LogView, Nest};

use super::wire::record_edits;
use super::wire_attrs::{Kind, Walk};

/// Log record `k` of the scope at `spath`: its body and strings first, its attributes and
/// summary last (the counts do not depend on the order).
pub(super) fn log(
    w: &mut Walk<'_>,
    view: &LogView,
    k: usize,
    spath: &[Nest; 2],
    edits: &mut Edits,
    cursor: &mut usize,
) {
    let lr = &view.records[k];
    let path = [spath[0].clone(), spath[1].clone(), lr.field.clone()];
    let Some(earlier) = record_edits(edits, &path, cursor) else {
        return;
    };
    w.begin_record();
    if let Some(body) = &lr.body_field {
        w.value(&path, body, &lr.body, BODY, "body", earlier);
    }
    w.string(&path, &lr.event_name, Kind::Text("event_name"), earlier);
    w.string(
        &path,
        &lr.severity_text,
        Kind::Text("severity_text"),
        earlier,
    );
    let attrs = &view.parts.attrs[lr.attrs.clone()];
    w.list(&path, attrs, LOG_ATTRS, true, earlier);
}
