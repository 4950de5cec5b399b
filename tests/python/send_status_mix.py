"""Counts 100 HTTP requests through the OpenTelemetry Python SDK, 20 of them with status 500, as
a counter `http.requests` and a histogram `http.server.request.duration`, both with a `status`
attribute. The SDK starts each attribute set's cumulative series when its first measurement
arrives, so the `status=500` and `status=200` points of one export carry different start times.

Configured only by the standard environment variables, like an application:
OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL (grpc | http/protobuf; http/protobuf
when unset), OTEL_METRIC_EXPORT_INTERVAL, OTEL_SERVICE_NAME, and the SDK's other OTEL_* variables
(temporality preference, default histogram aggregation) as the SDK reads them.

Prints ONE JSON line on stdout: what was recorded, each export call's result, and the start
time the SDK gave each (metric, status) point. Exits 1 when an export failed.
"""

import json
import os
import sys

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

SCOPE = "weir.send_status_mix"
BUCKETS = [0.1, 0.5, 1.0]
# (status, latency in seconds): every fifth request fails, and slowly.
REQUESTS = [("500", 0.8) if i % 5 == 0 else ("200", 0.05) for i in range(100)]

PROTOCOL = os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
if PROTOCOL == "grpc":
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
elif PROTOCOL == "http/protobuf":
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
else:
    sys.exit(f"send_status_mix.py: unsupported OTEL_EXPORTER_OTLP_PROTOCOL={PROTOCOL!r}")

RESULTS = []
# "metric status" -> the start times of the points exported for it.
START_TIMES = {}


class RecordingExporter(OTLPMetricExporter):
    """The SDK's OTLP exporter, noting each call's result and each point's start time."""

    def export(self, metrics_data, *args, **kwargs):
        for rm in metrics_data.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    for point in metric.data.data_points:
                        key = f"{metric.name} {point.attributes.get('status')}"
                        START_TIMES.setdefault(key, []).append(point.start_time_unix_nano)
        result = super().export(metrics_data, *args, **kwargs)
        RESULTS.append(getattr(result, "name", repr(result)))
        return result


def main():
    # The reader takes its interval from OTEL_METRIC_EXPORT_INTERVAL, the exporter its
    # endpoint, protocol and temporality from the OTEL_EXPORTER_OTLP_* variables.
    reader = PeriodicExportingMetricReader(RecordingExporter())
    provider = MeterProvider(resource=Resource.create(), metric_readers=[reader])
    meter = provider.get_meter(SCOPE, "1.0.0")
    requests = meter.create_counter(
        "http.requests", unit="{request}", description="HTTP requests served, by status."
    )
    duration = meter.create_histogram(
        "http.server.request.duration",
        unit="s",
        description="HTTP request latency.",
        explicit_bucket_boundaries_advisory=BUCKETS,
    )
    for status, seconds in REQUESTS:
        requests.add(1, {"status": status})
        duration.record(seconds, {"status": status})
    flushed = provider.force_flush()
    provider.shutdown()
    failed = not flushed or not RESULTS or any(r != "SUCCESS" for r in RESULTS)
    if failed:
        print(f"send_status_mix.py: exports {RESULTS}", file=sys.stderr)
    report = {
        "requests": {s: sum(1 for r, _ in REQUESTS if r == s) for s in ("500", "200")},
        "latency_sum": sum(seconds for _, seconds in REQUESTS),
        "buckets": BUCKETS,
        "exports": RESULTS,
        "start_times": START_TIMES,
    }
    print(json.dumps(report), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
