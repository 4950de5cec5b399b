"""scripts/bench's parts: processes and /proc (procs), what is measured and how (targets,
measure), preparing the binaries (setup), and BENCHMARKS.md (report). Standard library only."""
