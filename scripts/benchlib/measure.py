"""One measurement: a target started fresh, warmed up, loaded for a fixed time, sampled, stopped.

Sequence: start the target on free ports and wait until both OTLP ports accept connections; run
`weir loadgen` for the warm-up (not measured) and wait until the sink stops receiving; reset the
sink's counts and read the target's CPU time; run loadgen for the measured duration; read CPU
time again (CPU %), wait until what the target still holds has reached the sink, read CPU time,
peak RSS and the counts; stop the target. A failed step gives a result with `error` set, so
one broken cell does not end the run.
"""

import json
import os
import subprocess
import time

from . import procs
from .procs import BenchError


def measure(target, scenario, bins, sink, workdir, duration_s, warmup_s):
    """The figures of one target under one scenario (a dict; `error` set when a step failed)."""
    grpc_port, http_port = procs.free_port(), procs.free_port()
    tag = f"{target.name}-{scenario.signal}-{scenario.protocol}" + \
        ("-steady" if scenario.steady else "") + f"-{scenario.compression}"
    argv, env = target.command(bins, grpc_port, http_port, sink.grpc, scenario.compression,
                               workdir)
    proc = procs.Proc(target.name, argv, os.path.join(workdir, f"{tag}.log"), env=env,
                      cwd=workdir)
    try:
        return _run(target, scenario, bins, sink, proc, (grpc_port, http_port), workdir, tag,
                    duration_s, warmup_s)
    except (BenchError, OSError, ValueError) as err:
        return {"error": f"{err}\n{proc.tail()}".strip()}
    finally:
        code = proc.stop()
        if code not in (0, -15, 143):
            procs.log(f"{target.name} exited with {code} (log: {proc.log_path})")


def _run(target, scenario, bins, sink, proc, ports, workdir, tag, duration_s, warmup_s):
    grpc_port, http_port = ports
    procs.wait_until(f"{target.name} listening on {grpc_port} and {http_port}",
                     lambda: procs.port_open(grpc_port) and procs.port_open(http_port), 60, proc)
    signal_name = scenario.signal
    if warmup_s > 0:
        _loadgen(scenario.loadgen_argv(bins["weir"], grpc_port, http_port, warmup_s, None),
                 os.path.join(workdir, f"{tag}.warmup.txt"), warmup_s)
        sink.wait_settled(signal_name)
    sink.reset()
    cpu0, t0 = procs.cpu_ticks(proc.pid), time.monotonic()
    summary_path = os.path.join(workdir, f"{tag}.summary.json")
    _loadgen(scenario.loadgen_argv(bins["weir"], grpc_port, http_port, duration_s, summary_path),
             os.path.join(workdir, f"{tag}.loadgen.txt"), duration_s)
    cpu_run, t_run = procs.cpu_ticks(proc.pid), time.monotonic()
    counts = sink.wait_settled(signal_name)
    cpu_all = procs.cpu_ticks(proc.pid)
    rss_kib = procs.peak_rss_kib(proc.pid)
    if proc.poll() is not None:
        raise BenchError(f"{target.name} exited with {proc.returncode} during the run")
    with open(summary_path) as f:
        summary = json.load(f)
    delivered = procs.records_of(counts, signal_name)
    elapsed = summary.get("elapsed_s") or (t_run - t0)
    cpu_s = (cpu_all - cpu0) / procs.CLK_TCK
    return {
        "delivered": delivered,
        "records_per_s": delivered / elapsed if elapsed else 0.0,
        "cpu_us_per_record": cpu_s * 1e6 / delivered if delivered else None,
        "cpu_percent": (cpu_run - cpu0) / procs.CLK_TCK / (t_run - t0) * 100,
        "peak_rss_mib": rss_kib / 1024,
        "p99_ms": summary.get("latency_ms", {}).get("p99"),
        "refused": summary.get("requests_failed", 0),
        "errors": summary.get("errors", {}),
        "records_rejected": summary.get("records_rejected", 0),
        "lost": summary.get("records_acked", 0) - delivered,
        "leaked_values": counts.get("leaked_values", 0),
        "records_without_resource": counts.get("records_without_resource", 0),
        "client_records_per_s": summary.get("rate_records_per_s"),
    }


def _loadgen(argv, out_path, duration_s):
    """Runs loadgen to its end (its own duration, with a generous deadline); raises when it
    could not run."""
    with open(out_path, "wb") as out:
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=subprocess.STDOUT, timeout=duration_s + 60)
        except subprocess.TimeoutExpired as err:
            raise BenchError(f"loadgen did not finish within {duration_s + 60}s") from err
    if done.returncode != 0:
        with open(out_path, "rb") as f:
            text = f.read().decode("utf-8", "replace")[-800:]
        raise BenchError(f"loadgen exited with {done.returncode}: {text}")
