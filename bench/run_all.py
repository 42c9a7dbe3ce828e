"""`make bench`: run every benchmark in bench/ and write bench/results.md and results.json.

Each figure stands next to the baseline measured in the same run on the same machine
(raw Kafka, raw insert_many, raw parsing), so the ratios mean something even though
absolute numbers vary between machines.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import resource
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BENCHES = ("storage_bench", "pipeline_bench", "import_bench", "webhook_bench", "report_bench", "ui_bench")

GOALS = {
    "pipeline_vs_raw_kafka": ("≥ 0.50", lambda v: v >= 0.5),
    "webhook_p99_ms": ("< 1000", lambda v: v < 1000),
}


def machine() -> dict[str, Any]:
    with open("/proc/meminfo") as f:
        mem_kb = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    return {"cores": os.cpu_count(), "memory_gb": round(mem_kb / 1024 / 1024, 1), "python": platform.python_version(),
            "platform": platform.platform()}


def main() -> int:
    import sys

    if "--render" in sys.argv:  # rewrite results.md from results.json (no new measurements)
        (HERE / "results.md").write_text(render(json.loads((HERE / "results.json").read_text())))
        return 0
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    durations: dict[str, float] = {}
    for name in BENCHES:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        try:
            figures = importlib.import_module(f"bench.{name}").run()
            results.update(figures)
            print(json.dumps(figures, indent=2), flush=True)
        except Exception as exc:  # one broken bench must not hide the others' figures
            errors[name] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        durations[name] = round(time.perf_counter() - started, 1)
    # The import figure is parse + validate + build events; storing is bounded by the pipeline rate.
    if "import_parse_rows_per_s" in results:
        results["import_rows_per_s"] = results["import_parse_rows_per_s"]
    results["peak_rss_mb"] = max(float(results.get("peak_rss_mb", 0.0)),
                                 resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    results["machine"] = machine()
    results["errors"] = errors
    results["durations_s"] = durations
    (HERE / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    (HERE / "results.md").write_text(render(results))
    print((HERE / "results.md").read_text())
    return 1 if errors else 0


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 10 else f"{value:,.0f}"
    return str(value) if value is not None else "–"


def render(r: dict[str, Any]) -> str:
    def ratio(a: str, b: str) -> str:
        return f"{r[a] / r[b]:.3g}" if r.get(a) and r.get(b) else "–"

    rows = [
        ("Pipeline throughput (events/s, 1 tracker)", "pipeline_events_per_s", "raw aiokafka produce+consume",
         "raw_kafka_events_per_s"),
        ("Pipeline throughput (events/s, 2 trackers)", "pipeline_two_trackers_events_per_s",
         "raw aiokafka produce+consume", "raw_kafka_events_per_s"),
        ("Pipeline throughput (events/s, 1 tracker)", "pipeline_events_per_s", "raw insert_many (rows/s)",
         "raw_insert_rows_per_s"),
        ("Import parse+validate (rows/s, 267k-row UHRI CSV)", "import_rows_per_s", "raw csv parse (rows/s)",
         "raw_parse_rows_per_s"),
        ("Evidence → webhook p50 (ms, 50 events/s)", "webhook_p50_ms", "", ""),
        ("Evidence → webhook p99 (ms, 50 events/s)", "webhook_p99_ms", "", ""),
        ("Mid-term report, 1,000 recs + 5,000 evidence (s)", "report_1000_s", "", ""),
        ("UI first render, Recommendations page, 10k recs (s)", "ui_first_render_10k_s", "", ""),
        ("Peak RSS (MB)", "peak_rss_mb", "", ""),
    ]
    m = r["machine"]
    lines = [
        "# Benchmark results", "",
        f"Machine: {m['cores']} cores, {m['memory_gb']} GB, Python {m['python']}. "
        "Kafka and the MongoDB-wire server (FerretDB/SQLite) on loopback, started by `scripts/stack.sh`.", "",
        "| measure | value | baseline (same run) | baseline value | ratio |",
        "|---|---|---|---|---|",
    ]
    for label, key, base_label, base_key in rows:
        lines.append(f"| {label} | {_fmt(r.get(key))} | {base_label} | {_fmt(r.get(base_key)) if base_key else ''} "
                     f"| {ratio(key, base_key) if base_key else ''} |")
    lines += ["", "Goals:", ""]
    for key, (goal, ok) in GOALS.items():
        value = r.get(key)
        verdict = "n/a" if value is None else ("met" if ok(value) else "NOT met")
        lines.append(f"- `{key}` {goal}: {_fmt(value)} ({verdict})")
    if r.get("errors"):
        lines += ["", "Benchmarks that failed:", ""] + [f"- {k}: {v}" for k, v in r["errors"].items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
