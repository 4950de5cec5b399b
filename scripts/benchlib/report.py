"""BENCHMARKS.md from the rounds' figures: medians per cell, the tables, the targets met or
missed, and the machine, versions, commands and configs that produced them. Pure text; nothing
here fails on missing figures (a cell with no successful round shows its error)."""

import os
import statistics

from . import targets as T

# Per-run figures shown as the median of the rounds.
MEDIAN = ["records_per_s", "cpu_us_per_record", "cpu_percent", "peak_rss_mib", "p99_ms"]
# Counts shown as the worst round: any refusal, loss or leak in one round is worth seeing.
WORST = ["refused", "lost", "leaked_values", "records_without_resource"]

RSS_TARGET_MIB = 100
# CPU per span and throughput of the headline pipeline against Rotel's, traces at saturation.
CPU_SHARE_OF_ROTEL = 1 / 3
THROUGHPUT_TIMES_ROTEL = 2
# The steady row (traces over gRPC at 10k/s): CPU % of one core, peak RSS, client p99.
STEADY_CPU_PERCENT = 3
STEADY_RSS_MIB = 20
STEADY_P99_MS = 2


def summarize(runs):
    """Medians and worst counts over a cell's rounds; `errors` lists failed rounds."""
    good = [r for r in runs if "error" not in r]
    out = {"rounds": len(good), "failed": [r["error"] for r in runs if "error" in r]}
    for key in MEDIAN:
        values = [r[key] for r in good if r.get(key) is not None]
        out[key] = statistics.median(values) if values else None
    for key in WORST:
        values = [r[key] for r in good]
        out[key] = max(values) if values else None
    codes = {}
    for r in good:
        for code, n in (r.get("errors") or {}).items():
            codes[code] = codes.get(code, 0) + n
    out["error_codes"] = codes
    return out


def fmt(value, digits=1):
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def cell_table(scenario, chosen, results):
    head = ("| target | records/s | CPU µs/record | CPU % of a core | peak RSS MiB | p99 ms "
            "| refused | lost | leaked | no resource |\n"
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
    rows = []
    notes = []
    for target in chosen:
        s = summarize(results.get((scenario, target.name), []))
        if s["rounds"] == 0:
            rows.append(f"| {target.label} | failed | | | | | | | | |")
        else:
            refused = fmt(s["refused"])
            if s["error_codes"]:
                refused += " (" + ", ".join(f"{k}: {v}" for k, v in
                                           sorted(s["error_codes"].items())) + ")"
            rows.append(
                f"| {target.label} | {fmt(s['records_per_s'], 0)} "
                f"| {fmt(s['cpu_us_per_record'], 2)} | {fmt(s['cpu_percent'])} "
                f"| {fmt(s['peak_rss_mib'])} | {fmt(s['p99_ms'])} | {refused} "
                f"| {fmt(s['lost'])} | {fmt(s['leaked_values'])} "
                f"| {fmt(s['records_without_resource'])} |")
        for err in s["failed"]:
            notes.append(f"- {target.label}: a round failed: `{err.splitlines()[0][:300]}`")
    return head + "\n".join(rows) + "\n" + ("\n" + "\n".join(notes) + "\n" if notes else "")


def target_checks(chosen, scenarios, results):
    """The targets, each met or missed (and by how much), from weir's headline pipeline."""
    names = {t.name for t in chosen}
    if "weir" not in names:
        return "weir's headline pipeline was not measured in this run.\n"
    sat = [s for s in scenarios if s.compression == "none" and not s.steady]
    weir = {s: summarize(results.get((s, "weir"), [])) for s in scenarios}
    lines = []

    refusals = {s: weir[s]["refused"] for s in sat if weir[s]["rounds"]}
    bad = {s: n for s, n in refusals.items() if n}
    lines.append("- **No refusals while the sink keeps up** (the sink answers every export at "
                 "once): " + ("met: no refused request in any round of any saturation cell."
                              if refusals and not bad else
                              "missed: " + "; ".join(f"{s.title()}: {n} refused requests"
                                                     for s, n in bad.items())
                              if bad else "not measured."))

    rss = {s: weir[s]["peak_rss_mib"] for s in sat if weir[s]["peak_rss_mib"] is not None}
    if rss:
        worst = max(rss, key=rss.get)
        verdict = ("met" if rss[worst] <= RSS_TARGET_MIB else
                   f"missed by {rss[worst] - RSS_TARGET_MIB:.1f} MiB")
        lines.append(f"- **Peak RSS at saturation ≤ {RSS_TARGET_MIB} MiB with weir's defaults**:"
                     f" {verdict}: at most {rss[worst]:.1f} MiB ({worst.title()}).")

    cpu, speed = [], []
    for s in sat:
        if s.signal != "traces" or "rotel" not in names:
            continue
        mine, theirs = weir[s], summarize(results.get((s, "rotel"), []))
        if None in (mine["cpu_us_per_record"], theirs["cpu_us_per_record"]):
            continue
        want = theirs["cpu_us_per_record"] * CPU_SHARE_OF_ROTEL
        got = mine["cpu_us_per_record"]
        verdict = "met" if got <= want else f"missed by {got - want:.2f} µs ({got / want:.1f}×)"
        cpu.append(f"{s.title()}: weir {got:.2f} µs, Rotel "
                   f"{theirs['cpu_us_per_record']:.2f} µs, target {want:.2f} µs: {verdict}")
        ratio = mine["records_per_s"] / theirs["records_per_s"]
        verdict = "met" if ratio >= THROUGHPUT_TIMES_ROTEL else "missed"
        speed.append(f"{s.title()}: weir {fmt(mine['records_per_s'], 0)}/s, Rotel "
                     f"{fmt(theirs['records_per_s'], 0)}/s, {ratio:.2f}×: {verdict}")
    lines.append("- **CPU per span with weir's full pipeline ≤ 1/3 of Rotel's in the same run**: "
                 + ("; ".join(cpu) if cpu else "not measured (needs traces and Rotel)."))
    lines.append(f"- **Throughput at saturation ≥ {THROUGHPUT_TIMES_ROTEL}× Rotel's** (loadgen "
                 "and the sink share the two cores with the target, so this is bounded by "
                 "them as much as by the target): "
                 + ("; ".join(speed) if speed else "not measured (needs traces and Rotel)."))

    steady = [s for s in scenarios if s.steady and weir[s]["rounds"]]
    for s in steady:
        w = weir[s]
        checks = [("CPU", w["cpu_percent"], STEADY_CPU_PERCENT, "% of a core"),
                  ("peak RSS", w["peak_rss_mib"], STEADY_RSS_MIB, " MiB"),
                  ("p99", w["p99_ms"], STEADY_P99_MS, " ms")]
        text = "; ".join(
            f"{name} {got:.1f}{unit} (target ≤ {want}{unit}: "
            + ("met" if got <= want else f"missed, {got / want:.1f}×") + ")"
            for name, got, want, unit in checks if got is not None)
        lines.append(f"- **{s.title()}**: {text}.")

    measured = [s for s in scenarios if weir[s]["rounds"]]
    if measured:
        worst = {k: max(weir[s][k] for s in measured)
                 for k in ("lost", "records_without_resource", "leaked_values")}
        ok = all(v == 0 for v in worst.values())
        lines.append("- **Nothing lost, every resource kept, zero leaked values**: "
                     + ("met" if ok else "missed") + f": worst round of any cell: "
                     f"{worst['lost']} lost, {worst['records_without_resource']} records "
                     f"without resource, {worst['leaked_values']} leaked values.")
    return "\n".join(lines) + "\n"


def document(ctx, chosen, scenarios, results):
    """The whole of BENCHMARKS.md."""
    m, v = ctx["machine"], ctx["versions"]
    parts = [
        "# Benchmarks\n",
        "Written by `scripts/bench`; do not edit by hand, run it again. weir and its peers on "
        "the same machine, one at a time, alternating within each round: each target is "
        "started fresh for each cell, warmed up, loaded, sampled and stopped.\n",
        f"Run: `{ctx['command']}` — {ctx['rounds']} round(s), {ctx['duration']:g} s measured "
        f"after a {ctx['warmup']:g} s warm-up per cell, started {ctx['started']}, took "
        f"{ctx['took_min']:.0f} min. Load average (1/5/15 min) before: {ctx['load_before']}, "
        f"after: {ctx['load_after']}.\n",
        "## Machine\n",
        f"- CPU: {m['cpu']}, {m['cores']} cores\n- Memory: {m['memory']}\n"
        f"- Kernel: {m['kernel']} ({m['os']})\n"
        "- Everything runs on these cores at once: the target, `weir loadgen` and `weir sink`; "
        "other work on the machine disturbs the figures (see the load averages above).\n",
        "## Versions\n",
        f"- weir: {v['weir']} ({v['rustc']}, `cargo build --release`)\n"
        f"- Rotel: {v['rotel']}\n- OpenTelemetry Collector: {v['otelcol']} ({v['go']})\n",
        "## Targets\n",
        target_checks(chosen, scenarios, results),
        "## How to read the tables\n",
        "- **records/s**: records the sink received during the measured run (counted by "
        "`weir sink`, after the target's last batch arrived) over loadgen's elapsed time.\n"
        "- **CPU µs/record**: the target's utime+stime (`/proc/<pid>/stat`, every thread) from "
        "the end of the warm-up until its last record reached the sink, over records delivered."
        "\n- **CPU %**: the same CPU time during the loaded seconds only, as a percentage of one "
        "core.\n- **peak RSS**: `VmHWM` from `/proc/<pid>/status` at the end. It cannot be "
        "reset, so it covers the warm-up too.\n- **p99 ms**: loadgen's client latency.\n"
        "- **refused**: requests loadgen saw fail (in brackets by gRPC code or HTTP status, "
        "summed over the rounds); **lost**: records acknowledged to loadgen minus records the sink received; "
        "**leaked**: attribute values or bodies that reached the sink still holding a secret "
        "loadgen planted (1 of the 10 attributes per record); **no resource**: records whose "
        "resource lost `service.name`.\n- records/s, CPU, RSS and p99 are medians of the "
        "rounds; refused, lost, leaked and no resource are the worst round.\n"
        "- The HTTP cells have 16 requests in flight over 16 connections (OTLP/HTTP carries "
        "one request at a time per connection); the gRPC cells 16 over 4.\n"
        "- Rotel and the Collector without redaction mask nothing, so they leak every planted "
        "secret: they are there for the cost of the engine, as is weir with no processors.\n",
    ]
    # The hand-written analysis (a profile, what changed and why), kept beside the configs.
    notes = os.path.join(os.path.dirname(__file__), "..", "bench.d", "profile.md")
    if os.path.exists(notes):
        with open(notes, encoding="utf-8") as f:
            parts.append(f.read())
    for compression, heading in (("none", "Export `compression: none`"),
                                 ("gzip", "Export with gzip")):
        cells = [s for s in scenarios if s.compression == compression]
        if not cells:
            continue
        parts.append(f"## {heading}\n")
        if compression == "gzip":
            parts.append(ctx["gzip_note"] + "\n")
        for s in cells:
            parts.append(f"### {s.title()}\n")
            parts.append(cell_table(s, chosen, results))
    parts.append(commands_section(ctx, chosen, scenarios))
    return "\n".join(parts)


def commands_section(ctx, chosen, scenarios):
    out = ["## Exact commands\n",
           "The sink, once for the whole run (its counts reset after each warm-up):\n",
           f"```\n{' '.join(ctx['sink_argv'])}\n```\n",
           "Each target (ports chosen free per cell; `BENCH_*` variables set for the configs):\n",
           "```"]
    for target in chosen:
        out.append(f"# {target.label}\n{ctx['target_commands'][target.name]}")
    out.append("```\n")
    out.append("loadgen, per cell (the warm-up is the same command without `--summary-json`; "
               "the HTTP cells send to the HTTP port):\n")
    out.append("```")
    for s in scenarios:
        out.append(f"# {s.title()}, export {s.compression}\n{ctx['loadgen_commands'][s]}")
    out.append("```\n")
    out.append("## Configs\n")
    for name, text in ctx["configs"]:
        out.append(f"`scripts/bench.d/{name}`:\n\n```yaml\n{text.rstrip()}\n```\n")
    return "\n".join(out)
