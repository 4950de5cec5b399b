//! The request context of an incoming export request: request id, tenant, `traceparent`.
//!
//! The request id is always found (taken or generated) so that even a refused request can be
//! echoed its id. Identity problems are [`Refusal`]s from [`super::identity`] (400, 401 or 403),
//! never a panic.

use weir_pipeline::{Refusal, RequestContext, RequestId, TenantId, TraceParent};

use super::ReceiverShared;
use super::identity::Resolved;

/// Header (and gRPC metadata key) carrying the request id, in both directions.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The request id of a request whose headers `get` reads.
pub fn request_id<'a>(get: impl Fn(&str) -> Option<&'a [u8]>) -> RequestId {
    RequestId::from_client(get(REQUEST_ID_HEADER))
}

/// The full context of a request: `request_id` from [`request_id`], the tenant as the
/// receiver's identity sources say (`peer` is the verified client certificate's subject, when
/// TLS has one), and a valid `traceparent` when present.
pub fn request_context<'a>(
    shared: &ReceiverShared,
    transport: &'static str,
    request_id: RequestId,
    get: impl Fn(&str) -> Option<&'a [u8]> + Copy,
    peer: Option<&str>,
) -> Result<(RequestContext, Resolved), Refusal> {
    let resolved = shared.identity.resolve(get, peer)?;
    let tenant = resolved
        .tenant
        .clone()
        .unwrap_or_else(TenantId::default_tenant);
    let mut ctx = RequestContext::new(tenant, request_id, shared.id.clone(), transport);
    ctx.self_telemetry = get(crate::telemetry::SELF_TELEMETRY_HEADER).is_some();
    ctx.traceparent = get("traceparent")
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(TraceParent::parse);
    Ok((ctx, resolved))
}
