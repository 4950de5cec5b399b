//! The request context of an incoming export request: request id, tenant, `traceparent`.
//!
//! The request id is always found (taken or generated) so that even a refused request can be
//! echoed its id. A tenant header that breaks the tenant id rules is a [`Refusal`] of kind
//! `Invalid` (HTTP 400, gRPC INVALID_ARGUMENT), never a panic.

use weir_pipeline::{Refusal, RefusalKind, RequestContext, RequestId, TenantId, TraceParent};

use super::ReceiverShared;

/// Header (and gRPC metadata key) carrying the request id, in both directions.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The request id of a request whose headers `get` reads.
pub fn request_id<'a>(get: impl Fn(&str) -> Option<&'a [u8]>) -> RequestId {
    RequestId::from_client(get(REQUEST_ID_HEADER))
}

/// The full context of a request: `request_id` from [`request_id`], the tenant from the
/// configured header or the default, and a valid `traceparent` when present.
pub fn request_context<'a>(
    shared: &ReceiverShared,
    transport: &'static str,
    request_id: RequestId,
    get: impl Fn(&str) -> Option<&'a [u8]>,
) -> Result<RequestContext, Refusal> {
    let tenant_header = &*shared.tenant_header;
    let tenant = match get(tenant_header) {
        None => shared.default_tenant.clone(),
        Some(raw) => {
            let text = std::str::from_utf8(raw).map_err(|_| {
                Refusal::new(
                    RefusalKind::Invalid,
                    format!("header {tenant_header} is not valid UTF-8"),
                )
            })?;
            TenantId::new(text).map_err(|e| {
                Refusal::new(RefusalKind::Invalid, format!("header {tenant_header}: {e}"))
            })?
        }
    };
    let mut ctx = RequestContext::new(tenant, request_id, shared.id.clone(), transport);
    ctx.self_telemetry = get(crate::telemetry::SELF_TELEMETRY_HEADER).is_some();
    ctx.traceparent = get("traceparent")
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(TraceParent::parse);
    Ok(ctx)
}
