"""Records two errors through the OpenTelemetry Python SDK, for tests/sentry_e2e.rs.

Configured only by the standard environment variables (OTEL_EXPORTER_OTLP_ENDPOINT,
OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES), sending OTLP/HTTP protobuf:
  1. a span `checkout` on which a ValueError (raised from a KeyError) is recorded with
     span.record_exception;
  2. inside a span `refund`, an ERROR log record through Python's logging with the
     ZeroDivisionError being handled (logger.exception), via the SDK's LoggingHandler.
Prints ONE JSON line with the ids (lower-case hex) and the source lines of the frames that
raised, so the test can find them in Sentry. Exits non-zero when an export failed.
"""

import json
import logging
import sys

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

RESULTS = []


def recording(cls, signal):
    """The SDK's exporter class, noting the result of every export."""

    class Recording(cls):
        def export(self, *args, **kwargs):
            result = super().export(*args, **kwargs)
            RESULTS.append((signal, getattr(result, "name", repr(result))))
            return result

    return Recording


def parse_quantity(order):
    return int(order["quantity"])


def checkout(order):
    try:
        return parse_quantity(order)
    except KeyError as e:
        raise ValueError("order has no quantity") from e


def refund_share(amount, parts):
    return amount / parts


def main():
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(recording(OTLPSpanExporter, "traces")()))
    trace.set_tracer_provider(tracer_provider)
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(recording(OTLPLogExporter, "logs")()))
    logger = logging.getLogger("shop.refunds")
    logger.propagate = False
    logger.addHandler(LoggingHandler(level=logging.INFO, logger_provider=logger_provider))

    tracer = trace.get_tracer("weir.sentry_test")
    with tracer.start_as_current_span("checkout", record_exception=False, set_status_on_exception=False) as span:
        try:
            checkout({"sku": "A-1"})
        except ValueError as e:
            span.record_exception(e)
        span_ctx = span.get_span_context()
    with tracer.start_as_current_span("refund") as span:
        try:
            refund_share(10, 0)
        except ZeroDivisionError:
            logger.exception("refund failed for order A-1")
        log_ctx = span.get_span_context()

    tracer_provider.shutdown()
    logger_provider.shutdown()
    print(
        json.dumps(
            {
                "span_trace_id": format(span_ctx.trace_id, "032x"),
                "span_id": format(span_ctx.span_id, "016x"),
                "log_trace_id": format(log_ctx.trace_id, "032x"),
                "log_span_id": format(log_ctx.span_id, "016x"),
                "results": RESULTS,
            }
        ),
        flush=True,
    )
    if sorted(set(RESULTS)) != [("logs", "SUCCESS"), ("traces", "SUCCESS")]:
        sys.exit(f"sentry_errors.py: exports failed: {RESULTS}")


if __name__ == "__main__":
    main()
