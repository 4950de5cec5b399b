"""Processes, ports, /proc and the sink's HTTP API for scripts/bench.

Everything that waits polls a condition with a deadline and raises BenchError when the deadline
passes or the process it waits for exits first; nothing here kills a process it did not start.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """A step of the benchmark failed; the message says which and why."""


def log(msg):
    """One progress line on stderr, flushed at once."""
    print(f"bench: {msg}", flush=True, file=sys.stderr)


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    """Whether something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def wait_until(what, check, deadline_s, proc=None, poll_s=0.05):
    """Polls `check()` until it returns a true value (returned); raises when `proc` exits or
    `deadline_s` passes."""
    deadline = time.monotonic() + deadline_s
    while True:
        got = check()
        if got:
            return got
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"{what}: the process exited with {proc.returncode} first")
        if time.monotonic() > deadline:
            raise BenchError(f"{what}: not within {deadline_s}s")
        time.sleep(poll_s)


class Proc:
    """A process started by scripts/bench, in its own session, output to a log file."""

    def __init__(self, name, argv, log_path, env=None, cwd=None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "wb")
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.popen = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            env=full_env, cwd=cwd, start_new_session=True)
        self.pid = self.popen.pid

    def poll(self):
        return self.popen.poll()

    @property
    def returncode(self):
        return self.popen.returncode

    def tail(self, lines=15):
        """The last lines it printed, for error messages."""
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace_s=15):
        """SIGTERM, then SIGKILL after `grace_s`; returns the exit code."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(grace_s)
            except subprocess.TimeoutExpired:
                log(f"{self.name} (pid {self.pid}) ignored SIGTERM for {grace_s}s: SIGKILL")
                self.popen.kill()
                self.popen.wait()
        self._log.close()
        return self.popen.returncode


def cpu_ticks(pid):
    """utime + stime of the whole process (every thread), in clock ticks, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    # Fields after the command name (which may hold spaces) start at field 3.
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def peak_rss_kib(pid):
    """VmHWM (the resident set's high-water mark since start; it cannot be reset), in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise BenchError(f"no VmHWM in /proc/{pid}/status")


def http_json(url, method="GET", timeout=5):
    """The JSON answer of a plain-HTTP request on loopback."""
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        body = resp.read()
    return json.loads(body) if body.strip() else {}


class Sink:
    """`weir sink` on free loopback ports: its /counts, /reset, and waiting for deliveries to
    stop."""

    def __init__(self, weir_bin, workdir):
        ready = os.path.join(workdir, "sink.ready")
        self.argv = [weir_bin, "sink", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0",
                     "--ready-file", ready]
        self.proc = Proc("sink", self.argv, os.path.join(workdir, "sink.log"))

        def bound():
            try:
                with open(ready) as f:
                    text = f.read()
            except OSError:
                return None
            return parse_sink_addresses(text)

        self.grpc, self.http = wait_until("sink ready", bound, 30, self.proc)

    def counts(self):
        return http_json(f"http://{self.http}/counts")

    def reset(self):
        http_json(f"http://{self.http}/reset", method="POST")

    def wait_settled(self, signal_name, quiet_s=0.6, deadline_s=20):
        """Polls /counts until the signal's record count has not moved for `quiet_s` (what the
        target still held has arrived); returns the last counts. Raises past the deadline."""
        deadline = time.monotonic() + deadline_s
        last = self.counts()
        last_change = time.monotonic()
        while True:
            time.sleep(0.1)
            now = self.counts()
            if records_of(now, signal_name) != records_of(last, signal_name):
                last, last_change = now, time.monotonic()
            elif time.monotonic() - last_change >= quiet_s:
                return now
            if time.monotonic() > deadline:
                raise BenchError(f"sink still receiving {signal_name} after {deadline_s}s")

    def stop(self):
        self.proc.stop()


def parse_sink_addresses(text):
    """(grpc, http) from the sink's ready file or banner: `grpc=ADDR http=ADDR`, or else the
    first two host:port pairs in order."""
    named = dict(re.findall(r"(grpc|http)\s*[=:]\s*\"?([0-9.]+:\d+)", text))
    if "grpc" in named and "http" in named:
        return named["grpc"], named["http"]
    pairs = re.findall(r"\d+\.\d+\.\d+\.\d+:\d+", text)
    return (pairs[0], pairs[1]) if len(pairs) >= 2 else None


def records_of(counts, signal_name):
    """Records of one signal over every tenant in a /counts answer."""
    return sum(counts.get("records", {}).get(signal_name, {}).values())
