"""Sends telemetry full of secrets through the OpenTelemetry Python SDK, for the leak test.

Its resource is built in code (it carries secrets of its own); the exporters are configured
only by the standard environment variables: OTEL_EXPORTER_OTLP_ENDPOINT,
OTEL_EXPORTER_OTLP_PROTOCOL (grpc | http/protobuf; grpc when unset, as the distro's default),
OTEL_EXPORTER_OTLP_HEADERS and OTEL_SERVICE_NAME.

Secrets go into every place an application puts data: resource attributes (shared by traces,
metrics and logs), the span name, span attributes, event attributes, link attributes, an
exception's message and stack trace, log bodies (a string and a map with nested lists), log
attributes and metric data point attributes; and in the fields around them: the scope name and
version, a metric's description, span and link trace_state, a log's severity_text, and an
integer attribute holding a card number. Some sit under keys that are not allowed or are
blocked (any text must vanish); others sit in strings that stay (only text that looks like a
secret, such as an email, JWT, card number or token, must vanish).

Prints ONE JSON line on stdout: {"needles": [...], "exports": [[signal, result], ...],
"spans": n, "logs": n}. A needle is a string that must appear in no byte any exporter emits
and in none of weir's own log lines. Exits non-zero if an export failed.
"""

import json
import sys

from opentelemetry._logs import SeverityNumber
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, TraceFlags, TraceState

# send_all.py's explicit providers (exporters chosen by OTEL_EXPORTER_OTLP_PROTOCOL), the
# results it notes of every export, and the flush that checks them.
from send_all import RESULTS, flush, providers

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
    tracer_provider, meter_provider, logger_provider = providers(resource)
    scope = "weir.leak_test/" + email("scope")
    tracer = tracer_provider.get_tracer(scope, "1.0+" + jwt("scopeversion"))
    meter = meter_provider.get_meter(scope)
    logger = logger_provider.get_logger(scope)

    with tracer.start_as_current_span("login") as first:
        pass
    login = first.get_span_context()

    def with_state(member):
        return SpanContext(
            login.trace_id,
            login.span_id,
            is_remote=True,
            trace_flags=TraceFlags(TraceFlags.SAMPLED),
            trace_state=TraceState([("vendor", "ok"), member]),
        )

    parent = trace.set_span_in_context(NonRecordingSpan(with_state(("user", email("tracestate")))))
    link = Link(
        with_state(("jwt", jwt("linkstate"))),
        {
            "session.cookie": plain("linkcookie"),
            "code.function": "refresh " + shaped("ghp_" + "L" * 30 + "leak01"),
        },
    )
    card = shaped("4539 1488 0343 6467")
    with tracer.start_as_current_span(
        f"charge {card}",
        context=parent,
        kind=SpanKind.SERVER,
        links=[link],
        attributes={
            "http.route": "/pay",
            "url.path": "/pay?token=" + shaped("tok3nLEAKvalue9", "tok3nLEAKvalue9") + "&lang=en",
            "enduser.id": plain("enduser"),
            "app.customer.email": email("spanattr"),
            "http.request.header.authorization": "Bearer " + plain("bearer"),
            "exception.message": "jwt " + jwt("spanattr"),
            # A card number sent as an int under an allowed key.
            "http.response.status_code": int(shaped("4916338506082832")),
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

    requests = meter.create_counter(
        "app.requests", unit="1", description="requests of " + email("metricdesc")
    )
    requests.add(1, {"http.route": "/pay", "customer.email": email("metric1")})
    requests.add(2, {"http.route": "/pay", "session.token": plain("metrictoken")})
    latency = meter.create_histogram("app.latency", unit="ms")
    latency.record(12.5, {"http.route": "/pay", "user.id": plain("metricuser")})

    logger.emit(
        body=f"login failed password={plain('logbodypw')} for {email('logbody')}",
        severity_number=SeverityNumber.WARN,
        severity_text="WARN " + email("severity"),
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

    if not flush(tracer_provider, meter_provider, logger_provider):
        return 1
    print(json.dumps({"needles": NEEDLES, "exports": RESULTS, "spans": 2, "logs": 2}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
