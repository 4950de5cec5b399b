"""Sends telemetry full of secrets through the OpenTelemetry Python SDK, for the leak test.

Configured only by the standard environment variables, like send_all.py:
OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL (grpc | http/protobuf; default
http/protobuf) and OTEL_SERVICE_NAME.

Secrets go into every place an application puts data: resource attributes (shared by traces,
metrics and logs), the span name, span attributes, event attributes, link attributes, an
exception's message and stack trace, log bodies (a string and a map with nested lists), log
attributes and metric data point attributes. Some sit under keys that are not allowed or are
blocked (any text must vanish); others sit in strings that stay (only text that looks like a
secret, such as an email, JWT, card number or token, must vanish).

Prints ONE JSON line on stdout: {"needles": [...], "exports": [[signal, result], ...],
"spans": n, "logs": n}. A needle is a string that must appear in no byte any exporter emits
and in none of weir's own log lines. Exits non-zero if an export failed.
"""

import json
import os
import sys

from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Link, SpanKind

PROTOCOL = os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
if PROTOCOL == "grpc":
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
elif PROTOCOL == "http/protobuf":
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
else:
    sys.exit(f"send_secrets.py: unsupported OTEL_EXPORTER_OTLP_PROTOCOL={PROTOCOL!r}")

NEEDLES = []


def plain(label):
    """A secret with no recognisable shape: only its key can give it away."""
    value = f"plainsecret{label}q7z"
    NEEDLES.append(value)
    return value


def email(label):
    value = f"leak.{label}@example.com"
    NEEDLES.append(value)
    return value


def jwt(label):
    payload = f"eyJzdWIiOiJ{label}In0"
    NEEDLES.append(payload)
    return f"eyJhbGciOiJIUzI1NiJ9.{payload}.c2lnbmF0dXJl{label}"


def shaped(value, needle=None):
    """A secret with a recognisable shape (card, key, token); `needle` is the part to vanish."""
    NEEDLES.append(needle or value)
    return value


RESULTS = []


def recording(cls, signal):
    class Recording(cls):
        def export(self, *args, **kwargs):
            result = super().export(*args, **kwargs)
            RESULTS.append((signal, getattr(result, "name", repr(result))))
            return result

    Recording.__name__ = cls.__name__
    return Recording


def fail_with(message):
    """Raises `message`; the stack trace's source lines name only variables, so the secrets
    reach it through the exception message alone."""
    raise ValueError(message)


def main():
    resource = Resource.create(
        {
            "service.instance.id": "node-1 " + shaped("AKIAZ7LEAKEXAMPLE1Q2"),
            "deployment.environment.name": "prod",
            "db.password": plain("respw"),
            "owner.email": email("resowner"),
            "team.contact": "ops " + email("rescontact"),
        }
    )
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(recording(OTLPSpanExporter, "traces")()))
    meter_provider = MeterProvider(
        resource=resource,
        metric_readers=[PeriodicExportingMetricReader(recording(OTLPMetricExporter, "metrics")())],
    )
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(recording(OTLPLogExporter, "logs")())
    )
    tracer = tracer_provider.get_tracer("weir.leak_test")
    meter = meter_provider.get_meter("weir.leak_test")
    logger = logger_provider.get_logger("weir.leak_test")

    with tracer.start_as_current_span("login") as first:
        pass
    link = Link(
        first.get_span_context(),
        {
            "session.cookie": plain("linkcookie"),
            "code.function": "refresh " + shaped("ghp_" + "L" * 30 + "leak01"),
        },
    )
    card = shaped("4539 1488 0343 6467")
    with tracer.start_as_current_span(
        f"charge {card}",
        kind=SpanKind.SERVER,
        links=[link],
        attributes={
            "http.route": "/pay",
            "url.path": "/pay?token=" + shaped("tok3nLEAKvalue9", "tok3nLEAKvalue9") + "&lang=en",
            "enduser.id": plain("enduser"),
            "app.customer.email": email("spanattr"),
            "http.request.header.authorization": "Bearer " + plain("bearer"),
            "exception.message": "jwt " + jwt("spanattr"),
        },
    ) as span:
        span.add_event(
            "login.failed",
            {
                "password": plain("eventpw"),
                "exception.message": "no user " + email("event"),
            },
        )
        message = f"card {shaped('5425 2334 3010 9903')} declined for {email('exception')}"
        try:
            fail_with(message)
        except ValueError as exc:
            span.record_exception(exc)

    requests = meter.create_counter("app.requests", unit="1")
    requests.add(1, {"http.route": "/pay", "customer.email": email("metric1")})
    requests.add(2, {"http.route": "/pay", "session.token": plain("metrictoken")})
    latency = meter.create_histogram("app.latency", unit="ms")
    latency.record(12.5, {"http.route": "/pay", "user.id": plain("metricuser")})

    logger.emit(
        body=f"login failed password={plain('logbodypw')} for {email('logbody')}",
        severity_number=SeverityNumber.WARN,
        attributes={
            "user.email": email("logattr"),
            "customer.ssn": plain("ssn"),
            "exception.message": "aws " + shaped("AKIAZ7LEAKEXAMPLE3Q4"),
        },
    )
    logger.emit(
        body={
            "message": "token refresh for " + email("bodymap"),
            "password": plain("bodymappw"),
            "request": {
                "api_key": plain("bodymapkey"),
                "headers": ["Bearer " + shaped("bEaReRLeAk0987654321"), "accept: json"],
            },
        },
        severity_number=SeverityNumber.ERROR,
    )

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
        print("send_secrets.py: " + "; ".join(failures), file=sys.stderr)
        return 1
    print(json.dumps({"needles": NEEDLES, "exports": RESULTS, "spans": 2, "logs": 2}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
