"""Preparing a run: weir built in release mode, the Collector built by scripts/peers, Rotel
installed from PyPI into a venv, and what the report says about the machine and the versions.

Each step prints what it does; a step that fails raises BenchError with the command's output.
"""

import glob
import os
import platform
import subprocess
import sys

from .procs import BenchError, log

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROTEL_REQUIREMENT = "rotel==0.0.1a15"
VENV = os.path.join(ROOT, ".venv-bench")


def run(argv, what, env=None, cwd=ROOT):
    """Runs a step to its end, its output shown; raises when it fails."""
    log(f"{what}: {' '.join(argv)}")
    full_env = dict(os.environ)
    full_env.update(env or {})
    done = subprocess.run(argv, cwd=cwd, env=full_env, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise BenchError(f"{what} failed with exit code {done.returncode}")


def output(argv, cwd=ROOT):
    """A command's stdout, stripped; "" when it cannot run."""
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def build_weir():
    """`cargo build --release` (CARGO_INCREMENTAL=0, as every build here); the binary's path."""
    run(["cargo", "build", "--release", "--bin", "weir"], "building weir",
        env={"CARGO_INCREMENTAL": "0"})
    return os.path.join(ROOT, "target", "release", "weir")


def go_env():
    """PATH with the machine's Go (/usr/local/go/bin), as .ci/run sets it."""
    return {"PATH": os.environ.get("PATH", "") + ":/usr/local/go/bin"}


def otelcol_path():
    """Where scripts/peers puts (or has put) the Collector."""
    listing = output(["scripts/peers", "--list", "otelcol"])
    for line in listing.splitlines():
        if ": cached: " in line or ": not built: " in line:
            return line.rsplit(": ", 1)[1]
    raise BenchError(f"scripts/peers --list otelcol said: {listing!r}")


def build_otelcol():
    """The Collector from tests/peers/otelcol (a no-op when cached); the binary's path."""
    run(["scripts/peers", "otelcol"], "building the Collector", env=go_env())
    return otelcol_path()


def install_rotel():
    """Rotel from PyPI into .venv-bench (pip runs only when the version differs); the path of
    the `rotel-agent` binary the wheel ships."""
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        run([sys.executable, "-m", "venv", VENV], "creating the venv for Rotel")
    want = ROTEL_REQUIREMENT.split("==")[1]
    if rotel_version(python) != want:
        run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
             ROTEL_REQUIREMENT], "installing Rotel")
    found = glob.glob(os.path.join(VENV, "lib", "python*", "site-packages", "rotel",
                                   "rotel-agent"))
    if not found:
        raise BenchError(f"no rotel-agent binary in the {ROTEL_REQUIREMENT} wheel under {VENV}")
    log(f"Rotel {want}: {found[0]}")
    return found[0]


def rotel_version(python):
    code = "import importlib.metadata as m; print(m.version('rotel'))"
    return output([python, "-c", code]) if os.path.exists(python) else ""


def machine():
    """Facts about the machine for the report."""
    model, cores = "", str(os.cpu_count())
    for line in output(["lscpu"]).splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Model name":
            model = value.strip()
    mem_kib = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    return {
        "cpu": model or platform.processor(),
        "cores": cores,
        "kernel": platform.release(),
        "memory": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "os": output(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
    }


def loadavg():
    """The 1, 5 and 15 minute load averages, as the kernel gives them."""
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def versions(bins):
    """weir's commit and version, Rotel's package and binary versions, the Collector's."""
    commit = output(["git", "rev-parse", "HEAD"])
    dirty = output(["git", "status", "--porcelain", "--untracked-files=no"])
    return {
        "weir": f"{output([bins['weir'], '--version'])}, commit {commit[:12]}"
                + (" with uncommitted changes" if dirty else ""),
        "rotel": f"{ROTEL_REQUIREMENT} from PyPI (its rotel-agent says: "
                 f"{output([bins['rotel'], '--version']) if bins.get('rotel') else 'not run'})",
        "otelcol": (f"{output([bins['otelcol'], '--version'])} (scripts/peers: every module at "
                    "v0.161.0 / v1.67.0; tests/peers/otelcol/go.mod)"
                    if bins.get("otelcol") else "not run"),
        "rustc": output(["rustc", "--version"]),
        "go": output(["/usr/local/go/bin/go", "version"]) or output(["go", "version"]),
    }
