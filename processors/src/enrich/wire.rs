//! The `enrich` processor on the wire view of a traces request: the request id goes on spans
//! as appended `KeyValue`s (or, beside an application's id, as a replaced one), read from the
//! view without decoding; a resource that gets attributes (`attributes`, `add_host_name`,
//! `request_id.level: resource`) is decoded alone, edited by the struct code and written back
//! whole. The result decodes to what the struct path gives.
//!
//! Falls back (returns `None`) when the request already carries edits: enrich reads only the
//! view, so it runs on the wire as the first processor that edits (as in `tenant_limit →
//! enrich → redaction`). Nothing here fails.

use prost::Message;
use weir_pipeline::correlation::WEIR_REQUEST_ID_KEY;
use weir_pipeline::otlp::common::v1::KeyValue;
use weir_pipeline::otlp::resource::v1::Resource;
use weir_pipeline::wire::field::{RESOURCE, SPAN_ATTRIBUTES as SPAN_ATTRS};
use weir_pipeline::wire::{Attr, Edits, Nest, TraceView, Value, len_field};
use weir_pipeline::{Outcome, RequestContext};

use super::config::Level;
use super::request_id::Stamp;
use super::{Enrich, per_record, stamp_resource};

impl Enrich {
    /// Enriches the traces request `view`, adding its changes to `edits`. `None` when `edits`
    /// is not empty (see the module's header): decode the batch and call
    /// [`weir_pipeline::Processor::process`].
    pub fn traces_wire(
        &self,
        ctx: &RequestContext,
        view: &TraceView,
        edits: &mut Edits,
    ) -> Option<Outcome> {
        if !edits.is_empty() {
            return None;
        }
        let stamp = self.stamp(ctx.request_id.as_str());
        let each = per_record(stamp.as_ref()).map(Encoded::new);
        let whole_resource =
            !self.resource.is_empty() || matches!(stamp, Some((_, Level::Resource)));
        for r in &view.resources {
            let rpath = [r.field.clone()];
            let inherited = if whole_resource {
                let mut res = match &r.resource {
                    Some(n) => Some(Resource::decode(view.at(&n.value)).ok()?),
                    None => None,
                };
                let before = res.clone();
                self.resource.apply(&mut res);
                let inherited = stamp_resource(stamp.as_ref(), &mut res);
                if res != before
                    && let Some(res) = res
                {
                    let bytes = len_field(RESOURCE, &res.encode_to_vec());
                    match &r.resource {
                        Some(n) => edits.replace(&rpath, n.whole(), bytes),
                        None => edits.append(&rpath, bytes),
                    }
                }
                inherited
            } else {
                each.as_ref().is_some_and(|e| {
                    r.resource.is_some()
                        && view.parts.attrs[r.attrs.clone()].iter().any(|a| {
                            view.at(&a.key) == e.stamp.key().as_bytes() && !e.ours(view, a)
                        })
                })
            };
            let Some(each) = &each else { continue };
            for sc in &view.scopes[r.scopes.clone()] {
                for sp in &view.records[sc.records.clone()] {
                    let path = [r.field.clone(), sc.field.clone(), sp.field.clone()];
                    each.apply(
                        view,
                        &view.parts.attrs[sp.attrs.clone()],
                        &path,
                        inherited,
                        edits,
                    );
                }
            }
        }
        Some(Outcome::pass())
    }
}

/// A batch's stamp with its two attributes encoded once.
struct Encoded<'s, 'a> {
    stamp: &'s Stamp<'a>,
    own: Vec<u8>,
    beside: Vec<u8>,
}

impl<'s, 'a> Encoded<'s, 'a> {
    fn new(stamp: &'s Stamp<'a>) -> Self {
        Self {
            stamp,
            own: len_field(SPAN_ATTRS, &stamp.own().encode_to_vec()),
            beside: len_field(SPAN_ATTRS, &stamp.beside().encode_to_vec()),
        }
    }

    /// True when attribute `a` holds this request's id.
    fn ours(&self, view: &TraceView, a: &Attr) -> bool {
        matches!(&a.value, Value::Str(r) if view.at(r) == self.stamp.id().as_bytes())
    }

    /// [`Stamp::apply`] on the span at `path` whose attributes are `attrs`.
    fn apply(
        &self,
        view: &TraceView,
        attrs: &[Attr],
        path: &[Nest],
        inherited: bool,
        edits: &mut Edits,
    ) {
        let mut own = None;
        let mut beside = None;
        for a in attrs {
            // Bytes compared: no UTF-8 check needed.
            let key = view.at(&a.key);
            if key == self.stamp.key().as_bytes() {
                own.get_or_insert(a);
            } else if key == WEIR_REQUEST_ID_KEY.as_bytes() {
                beside.get_or_insert(a);
            }
        }
        match own {
            None if !inherited => edits.append(path, self.own.clone()),
            Some(a) if self.ours(view, a) => {}
            _ => match beside {
                Some(a) if self.ours(view, a) => {}
                Some(a) => {
                    let Ok(mut kv) = KeyValue::decode(view.at(&a.field.value)) else {
                        return;
                    };
                    kv.value.clone_from(&self.stamp.beside().value);
                    edits.replace(
                        path,
                        a.field.whole(),
                        len_field(SPAN_ATTRS, &kv.encode_to_vec()),
                    );
                }
                None => edits.append(path, self.beside.clone()),
            },
        }
    }
}
