"""One exception, recorded twice by the OpenTelemetry Python SDK, for tests/sentry_e2e.rs.

The SDK is set up the way `opentelemetry-instrument` sets it up, from the standard environment
variables only (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_SERVICE_NAME,
OTEL_TRACES_EXPORTER, OTEL_LOGS_EXPORTER, OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED, ...):
batching processors, and the SDK's logging handler on the root logger.

Inside a span `pay`, a PaymentDeclined is logged with `logging.exception` and raised on; the
span records it as it leaves. The two copies describe it differently (the span's
`exception.type` has the module path, the log's has not; the span's `exception.message` is the
exception as text, the log's its first argument). Prints ONE JSON line with the span's ids
(lower-case hex). Exits non-zero when the SDK could not flush.
"""

import json
import logging
import sys

from opentelemetry import _logs, trace
from opentelemetry.sdk._configuration import _OTelSDKConfigurator

log = logging.getLogger("shop.payments")


class PaymentDeclined(Exception):
    """The payment provider said no."""


def charge(order, amount):
    raise PaymentDeclined("insufficient funds", order, amount)


def pay(tracer, order, amount, seen):
    with tracer.start_as_current_span("pay") as span:
        seen.append(span.get_span_context())
        try:
            charge(order, amount)
        except PaymentDeclined:
            log.exception("payment failed for order %s", order)
            raise


def main():
    _OTelSDKConfigurator().configure()
    tracer = trace.get_tracer("shop.payments")
    seen = []
    try:
        pay(tracer, "A-2", 12, seen)
    except PaymentDeclined:
        pass  # what a web framework does with it: answer 402
    flushed = trace.get_tracer_provider().force_flush() and _logs.get_logger_provider().force_flush()
    ctx = seen[0]
    print(
        json.dumps(
            {
                "trace_id": format(ctx.trace_id, "032x"),
                "span_id": format(ctx.span_id, "016x"),
            }
        ),
        flush=True,
    )
    if not flushed:
        sys.exit("sentry_log_exception.py: the SDK did not flush its exports")


if __name__ == "__main__":
    main()
