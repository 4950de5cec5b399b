//! What a bundle becomes in Sentry: one item (an error event or a transaction) per exception
//! event of a span, per error log record and (with `transactions`) per local root span, each
//! with the DSN it goes to and the records it stands for.

use sentry_types::Uuid;
use sentry_types::protocol::v7::EnvelopeItem;
use weir_pipeline::otlp::trace::v1::Span;
use weir_pipeline::{Bundle, Signal};

use super::event::{self, Origin};
use super::limits::{ERROR, TRANSACTION};
use super::transaction;
use super::{Inner, Routes};

/// The span event name OpenTelemetry SDKs record exceptions under.
pub const EXCEPTION_EVENT: &str = "exception";

/// One envelope's content.
pub(crate) struct Item {
    /// Index of the DSN it goes to.
    pub target: usize,
    /// Its rate-limit category.
    pub category: &'static str,
    /// Records it stands for (1, or the spans of a transaction).
    pub records: u64,
    /// Its event id (stable across retries; shared by the copies of one exception).
    pub event_id: Uuid,
    /// The id of the record(s) it comes from: what a retry of the bundle skips once settled.
    pub record: Uuid,
    /// The event or transaction.
    pub payload: EnvelopeItem,
}

/// The items of a bundle, and the records that had no DSN to go to.
#[derive(Default)]
pub(crate) struct Plan {
    pub items: Vec<Item>,
    pub no_dsn: u64,
}

impl Plan {
    fn push(
        &mut self,
        target: Option<usize>,
        category: &'static str,
        records: u64,
        (event_id, record): (Uuid, Uuid),
        payload: EnvelopeItem,
    ) {
        match target {
            Some(target) => self.items.push(Item {
                target,
                category,
                records,
                event_id,
                record,
                payload,
            }),
            None => self.no_dsn += records,
        }
    }
}

/// The plan of `bundle`.
pub(crate) fn build(inner: &Inner, bundle: &Bundle) -> Plan {
    let mut plan = Plan::default();
    let tenant = bundle.tenant().as_str();
    for part in bundle.parts() {
        let ctx = &part.ctx;
        match part.signal() {
            Signal::Traces(resource_spans) => {
                for rs in resource_spans {
                    let resource = rs.resource.as_ref();
                    let origin = Origin::new(resource, &inner.shape);
                    let target = inner.routes.target(tenant, origin.service.as_deref());
                    let spans: Vec<&Span> =
                        rs.scope_spans.iter().flat_map(|ss| &ss.spans).collect();
                    for span in &spans {
                        for (index, ev) in span.events.iter().enumerate() {
                            if ev.name != EXCEPTION_EVENT {
                                continue;
                            }
                            let (e, record) = event::from_span_event(
                                ctx,
                                resource,
                                &origin,
                                &inner.shape,
                                span,
                                ev,
                                index,
                            );
                            let ids = (e.event_id, record);
                            plan.push(target, ERROR, 1, ids, EnvelopeItem::from(e));
                        }
                    }
                    if inner.transactions {
                        for t in transaction::build(ctx, resource, &origin, &inner.shape, &spans) {
                            let id = t.transaction.event_id;
                            let ids = (id, id);
                            plan.push(target, TRANSACTION, t.spans, ids, t.transaction.into());
                        }
                    }
                }
            }
            Signal::Logs(resource_logs) => {
                for rl in resource_logs {
                    let resource = rl.resource.as_ref();
                    let origin = Origin::new(resource, &inner.shape);
                    let target = inner.routes.target(tenant, origin.service.as_deref());
                    for sl in &rl.scope_logs {
                        let logger = sl.scope.as_ref().map_or("", |s| s.name.as_str());
                        for log in sl.log_records.iter().filter(|l| event::is_error_log(l)) {
                            let (e, record) =
                                event::from_log(ctx, resource, &origin, &inner.shape, logger, log);
                            let ids = (e.event_id, record);
                            plan.push(target, ERROR, 1, ids, EnvelopeItem::from(e));
                        }
                    }
                }
            }
            Signal::Metrics(_) => {}
        }
    }
    plan
}

impl Routes {
    /// The DSN of a record of `tenant` whose resource has `service`: the tenant's, else the
    /// service's, else the default.
    pub(crate) fn target(&self, tenant: &str, service: Option<&str>) -> Option<usize> {
        self.by_tenant
            .get(tenant)
            .or_else(|| service.and_then(|s| self.by_service.get(s)))
            .copied()
            .or(self.default)
    }
}
