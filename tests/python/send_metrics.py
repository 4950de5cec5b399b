"""Sends application metrics through the OpenTelemetry Python SDK, in rounds, the way a typical
instrumented web service would: a request counter with a `status` attribute, an up-down
counter, a latency histogram and two gauges.

Configured only by the standard environment variables, like an application:
OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL (grpc | http/protobuf; http/protobuf
when unset), OTEL_EXPORTER_OTLP_HEADERS (e.g. the tenant: X-Scope-OrgID=team-a),
OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES. Temporality is cumulative (forced, as Prometheus
expects) unless OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE is set, which the SDK then
honours.

Round 1 runs at start; each further round runs when a line arrives on stdin (EOF ends the
script). Every round records its measurements inside a sampled span (so the SDK attaches
exemplars), force-flushes, and prints ONE JSON line on stdout: the round, the span's trace and
span ids (lower-case hex), and the totals sent so far. Exits non-zero when an export failed.
"""

import json
import os
import sys

from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    MeterProvider,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics import _Gauge as Gauge  # the SDK's Gauge class, not yet public
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

SCOPE = "weir.send_metrics"
SCOPE_VERSION = "1.0.0"
BUCKETS = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5]

# Per round: (requests with status 500, requests with status 200, latencies in seconds,
# queue depth change, memory bytes, cpu utilization). The 500:200 ratio of the first round
# equals that of each later increase, so Prometheus' rate() extrapolates both series alike.
ROUNDS = [
    (1, 9, [0.03, 0.2, 0.7], 5, 1024, 0.25),
    (5, 45, [0.3, 3.0], -2, 2048, 0.5),
    (10, 90, [0.07], 1, 4096, 0.75),
]

PROTOCOL = os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
if PROTOCOL == "grpc":
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
elif PROTOCOL == "http/protobuf":
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
else:
    sys.exit(f"send_metrics.py: unsupported OTEL_EXPORTER_OTLP_PROTOCOL={PROTOCOL!r}")

# Results of every export call: force_flush() returns True even when an export failed.
RESULTS = []


class RecordingExporter(OTLPMetricExporter):
    def export(self, *args, **kwargs):
        result = super().export(*args, **kwargs)
        RESULTS.append(getattr(result, "name", repr(result)))
        return result


def exporter():
    if os.environ.get("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"):
        return RecordingExporter()
    cumulative = {
        kind: AggregationTemporality.CUMULATIVE
        for kind in (
            Counter,
            UpDownCounter,
            Histogram,
            Gauge,
            ObservableCounter,
            ObservableUpDownCounter,
            ObservableGauge,
        )
    }
    return RecordingExporter(preferred_temporality=cumulative)


def main():
    resource = Resource.create()
    reader = PeriodicExportingMetricReader(exporter(), export_interval_millis=3_600_000)
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    tracer_provider = TracerProvider(resource=resource)
    meter = meter_provider.get_meter(SCOPE, SCOPE_VERSION)
    tracer = tracer_provider.get_tracer(SCOPE, SCOPE_VERSION)

    requests = meter.create_counter(
        "http.requests", unit="{request}", description="HTTP requests served, by status."
    )
    latency = meter.create_histogram(
        "http.server.duration",
        unit="s",
        description="HTTP request latency.",
        explicit_bucket_boundaries_advisory=BUCKETS,
    )
    depth = meter.create_up_down_counter(
        "queue.depth", unit="{job}", description="Jobs waiting in the queue."
    )
    memory = meter.create_gauge("memory.usage", unit="By", description="Resident memory.")
    cpu = meter.create_gauge("cpu.utilization", unit="1", description="CPU busy fraction.")

    totals = {"500": 0, "200": 0, "latencies": [], "depth": 0}
    for number, (errors, oks, latencies, depth_change, memory_bytes, cpu_used) in enumerate(
        ROUNDS, start=1
    ):
        if number > 1 and not sys.stdin.readline():
            break
        with tracer.start_as_current_span(f"round-{number}") as span:
            requests.add(errors, {"status": "500", "method": "GET"})
            requests.add(oks, {"status": "200", "method": "GET"})
            for value in latencies:
                latency.record(value, {"method": "GET"})
            depth.add(depth_change)
            memory.set(memory_bytes)
            cpu.set(cpu_used)
        totals["500"] += errors
        totals["200"] += oks
        totals["latencies"] += latencies
        totals["depth"] += depth_change
        if not meter_provider.force_flush() or any(r != "SUCCESS" for r in RESULTS):
            print(f"send_metrics.py: round {number}: exports {RESULTS}", file=sys.stderr)
            return 1
        ctx = span.get_span_context()
        report = {
            "round": number,
            "trace_id": format(ctx.trace_id, "032x"),
            "span_id": format(ctx.span_id, "016x"),
            "totals": totals,
            "memory": memory_bytes,
            "cpu": cpu_used,
            "exports": len(RESULTS),
        }
        print(json.dumps(report), flush=True)
    meter_provider.shutdown()
    tracer_provider.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
