"""What scripts/bench measures: the collectors (targets) and the load (scenarios).

A target turns its ports, the sink's address and the export compression into a command line and
environment; a scenario turns the target's ports into a `weir loadgen` command line. Nothing here
starts anything or fails.
"""

import itertools
import os
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
# Numbers the disk queue's directories, one per start.
_STARTS = itertools.count()
CONFIG_DIR = os.path.join(os.path.dirname(HERE), "bench.d")

# The default load shape (the original measurement): 10 attributes per record (one of them a
# planted secret), 512 records per request, 16 requests in flight over 4 connections, as fast as
# possible, no compression from the client. The steady row: 10k records/s, 100 per request.
ATTRIBUTES = 10
SENSITIVE = 1
RECORDS_PER_REQUEST = 512
CONCURRENCY = 16
CONNECTIONS = 4
STEADY_RATE = 10_000
STEADY_RECORDS_PER_REQUEST = 100


@dataclass(frozen=True)
class Target:
    """One collector set-up."""

    name: str
    family: str  # weir | rotel | otelcol: the binary it runs
    label: str  # what the tables call it
    config: str = ""  # file in scripts/bench.d/, for weir and the Collector
    disk_queue: bool = False  # its config keeps the queue in BENCH_STORAGE_DIR

    def config_path(self):
        return os.path.join(CONFIG_DIR, self.config) if self.config else ""

    def command(self, bins, grpc_port, http_port, sink_grpc, compression, workdir):
        """(argv, extra environment) that start this target."""
        env = {
            "BENCH_GRPC_ENDPOINT": f"127.0.0.1:{grpc_port}",
            "BENCH_HTTP_ENDPOINT": f"127.0.0.1:{http_port}",
            "BENCH_SINK_GRPC": sink_grpc,
            "BENCH_COMPRESSION": compression,
        }
        if self.family == "weir":
            if self.disk_queue:
                # A disk queue starts empty each time: a fresh directory per start (weir
                # creates it).
                env["BENCH_STORAGE_DIR"] = os.path.join(
                    workdir, f"{self.name}-storage-{next(_STARTS)}")
            return [bins["weir"], "run", "--config", self.config_path()], env
        if self.family == "otelcol":
            return [bins["otelcol"], "--config", self.config_path()], env
        return rotel_argv(bins["rotel"], grpc_port, http_port, sink_grpc, compression,
                          workdir), {}


def rotel_argv(rotel, grpc_port, http_port, sink_grpc, compression, workdir):
    """rotel-agent in the foreground: OTLP in on both ports, OTLP/gRPC out to the sink, its
    default batching (8192 records or 200 ms, as the Collector's batch processor)."""
    return [
        rotel, "start",
        "--otlp-grpc-endpoint", f"127.0.0.1:{grpc_port}",
        "--otlp-http-endpoint", f"127.0.0.1:{http_port}",
        "--exporter", "otlp",
        "--otlp-exporter-endpoint", f"http://{sink_grpc}",
        "--otlp-exporter-protocol", "grpc",
        "--otlp-exporter-compression", compression,
        "--pid-file", os.path.join(workdir, "rotel.pid"),
        "--log-file", os.path.join(workdir, "rotel-agent.log"),
    ]


TARGETS = [
    Target("weir", "weir", "weir: tenant_limit, enrich, redaction", "weir-full.yaml"),
    Target("weir-bare", "weir", "weir: no processors", "weir-bare.yaml"),
    Target("weir-disk-fsync", "weir", "weir: no processors, disk queue, fsync per batch",
           "weir-disk-fsync.yaml", disk_queue=True),
    Target("weir-disk-interval", "weir", "weir: no processors, disk queue, fsync every 200ms",
           "weir-disk-interval.yaml", disk_queue=True),
    Target("rotel", "rotel", "Rotel: no processors"),
    Target("otelcol-redaction", "otelcol", "Collector: batch, redaction", "otelcol-redaction.yaml"),
    Target("otelcol", "otelcol", "Collector: batch", "otelcol-batch.yaml"),
]

# `--only` names: a family selects all its targets, a target name selects that one.
# `weir-disk` puts the disk queue beside the memory queue (not in the default run).
FAMILIES = {"weir": ["weir", "weir-bare"], "rotel": ["rotel"],
            "weir-disk": ["weir-bare", "weir-disk-fsync", "weir-disk-interval"],
            "otelcol": ["otelcol-redaction", "otelcol"]}


def select_targets(only):
    """The targets `--only a,b` names (families or target names), in TARGETS order; raises
    ValueError on an unknown name."""
    wanted = set()
    for name in only:
        if name in FAMILIES:
            wanted.update(FAMILIES[name])
        elif any(t.name == name for t in TARGETS):
            wanted.add(name)
        else:
            known = sorted(set(FAMILIES) | {t.name for t in TARGETS})
            raise ValueError(f"unknown target {name!r} (known: {', '.join(known)})")
    return [t for t in TARGETS if t.name in wanted]


@dataclass(frozen=True)
class Scenario:
    """One cell of the tables: a load sent to each target in turn."""

    compression: str  # what the collectors export with: none | gzip
    signal: str  # traces | logs | metrics
    protocol: str  # grpc | http (OTLP/HTTP with protobuf)
    steady: bool = False  # the fixed-rate row instead of "as fast as possible"

    def title(self):
        load = (f"steady {STEADY_RATE // 1000}k/s, {STEADY_RECORDS_PER_REQUEST} per request"
                if self.steady else "saturation")
        proto = "gRPC" if self.protocol == "grpc" else "HTTP"
        return f"{self.signal} over {proto}, {load}"

    def loadgen_argv(self, weir, grpc_port, http_port, duration_s, summary_json):
        """`weir loadgen` against a target listening on these ports."""
        if self.protocol == "grpc":
            endpoint, proto = f"http://127.0.0.1:{grpc_port}", "grpc"
        else:
            endpoint, proto = f"http://127.0.0.1:{http_port}", "http/protobuf"
        per_request = STEADY_RECORDS_PER_REQUEST if self.steady else RECORDS_PER_REQUEST
        rate = STEADY_RATE if self.steady else 0
        argv = [
            weir, "loadgen", "--endpoint", endpoint, "--protocol", proto,
            "--compression", "none", "--signal", self.signal,
            "--records-per-request", str(per_request), "--attributes", str(ATTRIBUTES),
            "--sensitive", str(SENSITIVE), "--concurrency", str(CONCURRENCY),
            # OTLP/HTTP carries one request at a time per connection: as many connections as
            # requests in flight, so both protocols have CONCURRENCY in flight.
            "--connections", str(CONNECTIONS if self.protocol == "grpc" else CONCURRENCY),
            "--rate", str(rate),
            "--duration", f"{duration_s:g}s",
        ]
        if summary_json:
            argv += ["--summary-json", summary_json]
        return argv


def scenarios(signals, protocols, gzip, steady):
    """The matrix: every signal over every protocol at saturation with `compression: none`; the
    steady row (traces over gRPC) when asked; and, when asked, traces over each protocol at
    saturation exported with gzip."""
    out = [Scenario("none", s, p) for s in signals for p in protocols]
    if steady:
        out.append(Scenario("none", "traces", "grpc", steady=True))
    if gzip:
        out += [Scenario("gzip", "traces", p) for p in protocols]
    return out
