"""Sends one trace, a few metrics and one log record through the OpenTelemetry Python SDK.

Run as an application is: `opentelemetry-instrument python send_all.py`, so the distro's
auto-configuration builds the tracer, meter and logger providers and their OTLP exporters from
the standard environment variables alone: OTEL_EXPORTER_OTLP_ENDPOINT,
OTEL_EXPORTER_OTLP_PROTOCOL (grpc | http/protobuf; the distro's default, grpc, when unset),
OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES. The script only
takes the global providers.

Prints ONE JSON line on stdout describing what it created (ids in lower-case hex), so the test
can look for exactly that in weir's output. Exits non-zero if any export failed or a signal was
never exported.

send_secrets.py, which needs a resource built in code, imports `providers()` (explicit
providers, the exporters picked by OTEL_EXPORTER_OTLP_PROTOCOL as the distro would), `flush()`
and `RESULTS` from here.
"""

import json
import os
import sys
import time

from opentelemetry import _logs, metrics, trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc import _log_exporter as grpc_logs
from opentelemetry.exporter.otlp.proto.grpc import metric_exporter as grpc_metrics
from opentelemetry.exporter.otlp.proto.grpc import trace_exporter as grpc_traces
from opentelemetry.exporter.otlp.proto.http import _log_exporter as http_logs
from opentelemetry.exporter.otlp.proto.http import metric_exporter as http_metrics
from opentelemetry.exporter.otlp.proto.http import trace_exporter as http_traces
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

SCOPE = "weir.sdk_test"
SCOPE_VERSION = "1.2.3"

# The script that runs, for messages: this one, or send_secrets.py importing it.
SCRIPT = os.path.basename(sys.argv[0])

# The OTLP exporter classes, by protocol: (traces, metrics, logs).
EXPORTERS = {
    "grpc": (
        grpc_traces.OTLPSpanExporter,
        grpc_metrics.OTLPMetricExporter,
        grpc_logs.OTLPLogExporter,
    ),
    "http/protobuf": (
        http_traces.OTLPSpanExporter,
        http_metrics.OTLPMetricExporter,
        http_logs.OTLPLogExporter,
    ),
}

# (signal, result name) of every export call. force_flush() returns True even when the export
# failed, so the exporters' own results are the only honest signal of success.
RESULTS = []


def record_exports():
    """Notes the result of every export of every OTLP exporter class, whoever built it (the
    auto-configuration, before this script runs, or `providers()`)."""
    for classes in EXPORTERS.values():
        for signal, cls in zip(("traces", "metrics", "logs"), classes):
            original = cls.export

            def export(self, *args, _original=original, _signal=signal, **kwargs):
                result = _original(self, *args, **kwargs)
                RESULTS.append((_signal, getattr(result, "name", repr(result))))
                return result

            cls.export = export


record_exports()


def protocol():
    """The protocol the exporters use: OTEL_EXPORTER_OTLP_PROTOCOL as the distro left it (it
    sets grpc when unset); grpc when nothing set it at all, as the distro would."""
    return os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")


def providers(resource):
    """Tracer, meter and logger providers for `resource`, each exporting over OTLP with the
    endpoint and protocol details from the environment only."""
    classes = EXPORTERS.get(protocol())
    if classes is None:
        sys.exit(f"{SCRIPT}: unsupported OTEL_EXPORTER_OTLP_PROTOCOL={protocol()!r}")
    spans, metric_exporter, logs = classes
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(spans()))
    meter_provider = MeterProvider(
        resource=resource,
        metric_readers=[PeriodicExportingMetricReader(metric_exporter())],
    )
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(logs()))
    return tracer_provider, meter_provider, logger_provider


def configured_providers():
    """The global providers the auto-configuration set; exits saying how to run the script when
    it did not run."""
    found = (trace.get_tracer_provider(), metrics.get_meter_provider(), _logs.get_logger_provider())
    if not (
        isinstance(found[0], TracerProvider)
        and isinstance(found[1], MeterProvider)
        and isinstance(found[2], LoggerProvider)
    ):
        sys.exit(f"{SCRIPT}: no SDK providers: run it as `opentelemetry-instrument python {SCRIPT}`")
    return found


def flush(tracer_provider, meter_provider, logger_provider):
    """Flushes and shuts down the providers; False (after saying why on stderr) when an export
    failed or a signal was never exported."""
    flushed = {
        "traces": tracer_provider.force_flush(),
        "metrics": meter_provider.force_flush(),
        "logs": logger_provider.force_flush(),
    }
    tracer_provider.shutdown()
    meter_provider.shutdown()
    logger_provider.shutdown()

    failures = [f"force_flush({s}) returned {ok}" for s, ok in flushed.items() if not ok]
    failures += [f"{s} export: {r}" for s, r in RESULTS if r != "SUCCESS"]
    exported = {s for s, _ in RESULTS}
    failures += [f"{s}: never exported" for s in ("traces", "metrics", "logs") if s not in exported]
    if failures:
        print(f"{SCRIPT}: " + "; ".join(failures), file=sys.stderr)
        return False
    return True


def main():
    # The auto-configuration built them with Resource.create(), which reads OTEL_SERVICE_NAME
    # and OTEL_RESOURCE_ATTRIBUTES and adds the telemetry.sdk.* attributes.
    tracer_provider, meter_provider, logger_provider = configured_providers()

    tracer = tracer_provider.get_tracer(SCOPE, SCOPE_VERSION)
    meter = meter_provider.get_meter(SCOPE, SCOPE_VERSION)
    logger = logger_provider.get_logger(SCOPE, SCOPE_VERSION)

    span_attributes = {
        "app.str": "hello",
        "app.int": 42,
        "app.float": 3.5,
        "app.bool": True,
        "app.list": ["a", "b"],
    }
    log_attributes = {"log.str": "value", "log.int": 7}
    log_body = "payment declined"

    with tracer.start_as_current_span(
        "checkout", kind=SpanKind.SERVER, attributes=span_attributes
    ) as parent:
        parent.add_event("cache.miss", {"cache.key": "user:7"})
        with tracer.start_as_current_span("charge-card", kind=SpanKind.CLIENT) as child:
            child.set_attribute("payment.provider", "acme")
            # Emitted while `child` is current: the SDK stamps its trace and span ids.
            log_time = time.time_ns()
            logger.emit(
                timestamp=log_time,
                body=log_body,
                severity_number=SeverityNumber.WARN,
                severity_text="WARN",
                attributes=log_attributes,
            )
            child.set_status(Status(StatusCode.ERROR, "card declined"))

    requests = meter.create_counter("app.requests", unit="1", description="requests served")
    requests.add(3, {"http.route": "/cart"})
    requests.add(4, {"http.route": "/cart"})
    latency = meter.create_histogram("app.latency", unit="ms", description="request latency")
    latency_values = [1.5, 2.5, 10.0]
    for value in latency_values:
        latency.record(value)
    depth = meter.create_up_down_counter("app.queue.depth", unit="1", description="queued jobs")
    depth.add(5)
    depth.add(-2)

    if not flush(tracer_provider, meter_provider, logger_provider):
        return 1

    parent_ctx = parent.get_span_context()
    child_ctx = child.get_span_context()
    report = {
        "protocol": protocol(),
        "scope": {"name": SCOPE, "version": SCOPE_VERSION},
        "trace_id": format(parent_ctx.trace_id, "032x"),
        "parent": {
            "span_id": format(parent_ctx.span_id, "016x"),
            "name": parent.name,
            "attributes": span_attributes,
            "start_time_unix_nano": parent.start_time,
            "end_time_unix_nano": parent.end_time,
            "event": {
                "name": "cache.miss",
                "time_unix_nano": parent.events[0].timestamp,
                "attributes": {"cache.key": "user:7"},
            },
        },
        "child": {
            "span_id": format(child_ctx.span_id, "016x"),
            "name": child.name,
            "attributes": {"payment.provider": "acme"},
            "start_time_unix_nano": child.start_time,
            "end_time_unix_nano": child.end_time,
            "status": {"code": "ERROR", "message": "card declined"},
        },
        "metrics": {
            "counter": {"name": "app.requests", "value": 7, "attributes": {"http.route": "/cart"}},
            "histogram": {"name": "app.latency", "values": latency_values},
            "up_down_counter": {"name": "app.queue.depth", "value": 3},
        },
        "log": {
            "body": log_body,
            "time_unix_nano": log_time,
            "severity_number": int(SeverityNumber.WARN.value),
            "severity_text": "WARN",
            "attributes": log_attributes,
            "span_id": format(child_ctx.span_id, "016x"),
        },
        "exports": RESULTS,
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
