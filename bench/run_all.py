"""`make bench`: run every benchmark in bench/ and write bench/results.md and results.json.

Each figure stands next to the baseline measured in the same run on the same machine
(raw Kafka, raw insert_many, raw parsing), so the ratios mean something even though
absolute numbers vary between machines.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BENCHES = ("storage_bench", "tagger_bench", "pipeline_bench", "import_bench", "webhook_bench", "report_bench",
           "ui_bench", "public_bench")

def _min_limit(r: dict[str, Any]) -> float:
    return min(float(r.get("raw_kafka_events_per_s", 0)), float(r.get("raw_insert_rows_per_s", 0)))


# key -> (goal as written in issue 12, check on the whole result set). Every figure comes from one run.
GOALS: dict[str, tuple[str, Any]] = {
    "pipeline_events_per_s": ("≥ 0.25 × min(raw Kafka, raw insert)",
                              lambda v, r: v >= 0.25 * _min_limit(r)),
    "pipeline_events_per_s_at_100k": ("no more than 20% slower than on empty collections",
                                      lambda v, r: v >= 0.8 * float(r.get("pipeline_events_per_s", 0))),
    "import_end_to_end_rows_per_s": ("≥ 0.2 × raw insert", lambda v, r: v >= 0.2 * float(r["raw_insert_rows_per_s"])),
    "import_parse_rows_per_s": ("≥ 0.1 × raw csv", lambda v, r: v >= 0.1 * float(r["raw_parse_rows_per_s"])),
    "webhook_p99_ms": ("< 1000 at 50 events/s", lambda v, r: v < 1000),
    "notifier_alerts_per_s": ("≥ 200 with p99 < 1 s", lambda v, r: v >= 200),
    "tagger_recs_per_s": ("≥ 5,000 per core", lambda v, r: v >= 5000),
    "ui_first_render_10k_s": ("< 1 s", lambda v, r: v < 1),
    "ui_first_render_complete_10k_s": ("< 2 s", lambda v, r: v < 2),
    "report_1000_s": ("< 10 s", lambda v, r: v < 10),
    "peak_rss_mb": ("< 500 MB", lambda v, r: v < 500),
}


def machine() -> dict[str, Any]:
    with open("/proc/meminfo") as f:
        mem_kb = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    return {"cores": os.cpu_count(), "memory_gb": round(mem_kb / 1024 / 1024, 1), "python": platform.python_version(),
            "platform": platform.platform()}


def main() -> int:
    if "--render" in sys.argv:  # rewrite results.md from results.json (no new measurements)
        (HERE / "results.md").write_text(render(json.loads((HERE / "results.json").read_text())))
        return 0
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    durations: dict[str, float] = {}
    peaks: dict[str, float] = {}
    for name in BENCHES:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        try:
            figures, peaks[name] = _run_apart(name)
            results.update(figures)
            print(json.dumps(figures, indent=2), flush=True)
        except Exception as exc:  # one broken bench must not hide the others' figures
            errors[name] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        durations[name] = round(time.perf_counter() - started, 1)
    # The import figure is parse + validate + build events; storing is bounded by the pipeline rate.
    if "import_parse_rows_per_s" in results:
        results["import_rows_per_s"] = results["import_parse_rows_per_s"]
    # Each bench ran in a process of its own (the services it starts live in it, `upr import` in
    # a child of it): the largest of them, not this harness grown by all of them one after the other.
    results["peak_rss_mb_by_bench"] = {name: round(mb, 1) for name, mb in peaks.items()}
    results["peak_rss_mb"] = round(max([float(results.get("peak_rss_mb", 0.0)), *peaks.values()]), 1)
    results["machine"] = machine()
    results["errors"] = errors
    results["durations_s"] = durations
    (HERE / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    (HERE / "results.md").write_text(render(results))
    print((HERE / "results.md").read_text())
    return 1 if errors else 0


def _run_apart(name: str) -> tuple[dict[str, Any], float]:
    """``bench.<name>.run()`` in a child process: its figures, and the peak RSS (MB) of that
    process or of any process it waited for (``upr import``)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        code = ("import json, resource, sys, importlib; figures = importlib.import_module(sys.argv[1]).run(); "
                "peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
                "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024; "
                "open(sys.argv[2], 'w').write(json.dumps([figures, peak]))")
        subprocess.run([sys.executable, "-c", code, f"bench.{name}", out.name], check=True, cwd=HERE.parent)
        figures, peak = json.loads(Path(out.name).read_text())
    return figures, float(peak)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 10 else f"{value:,.0f}"
    return str(value) if value is not None else "–"


def render(r: dict[str, Any]) -> str:
    rows = [  # (label, key, baseline label, baseline key)
        ("Pipeline: recommendation events -> stored receipts (events/s, 1 tracker)", "pipeline_events_per_s",
         "raw aiokafka produce+consume", "raw_kafka_events_per_s"),
        ("... the same, against raw insert_many (rows/s)", "pipeline_events_per_s", "raw insert_many",
         "raw_insert_rows_per_s"),
        ("... with 100,000 recommendations already stored", "pipeline_events_per_s_at_100k",
         "pipeline on empty collections", "pipeline_events_per_s"),
        ("... two trackers in one consumer group", "pipeline_two_trackers_events_per_s",
         "one tracker", "pipeline_events_per_s"),
        ("`upr import --wait`, 267k-row UHRI CSV, until stored (rows/s)", "import_end_to_end_rows_per_s",
         "raw insert_many", "raw_insert_rows_per_s"),
        ("Import parse+validate, 267k-row UHRI CSV (rows/s)", "import_parse_rows_per_s", "raw csv parse",
         "raw_parse_rows_per_s"),
        ("Tagger (recommendations/s, one core)", "tagger_recs_per_s", "", ""),
        ("Evidence -> webhook p50 (ms, 50 events/s)", "webhook_p50_ms", "", ""),
        ("Evidence -> webhook p99 (ms, 50 events/s)", "webhook_p99_ms", "", ""),
        ("Notifier: highest alert rate with p99 < 1 s (alerts/s)", "notifier_alerts_per_s", "", ""),
        ("UI: Recommendations page, 10k recs, first rows (s)", "ui_first_render_10k_s", "", ""),
        ("UI: ... complete, with the total (s)", "ui_first_render_complete_10k_s", "", ""),
        ("UI: Dashboard, 10k recs, login to drawn (s)", "ui_dashboard_10k_s", "", ""),
        ("Public page, 10k recs, overview of the latest cycle drawn (s)", "public_page_10k_s", "", ""),
        ("Public page, 10k recs, the overview opened again (s)", "public_page_again_10k_s", "", ""),
        ("Public page, 10k recs, one recommendation's page (s)", "public_recommendation_10k_s", "", ""),
        ("Public page, 10k recs, projection of every cycle rebuilt, one cycle at a time (s)",
         "public_projection_rebuild_10k_s", "", ""),
        ("Mid-term report, 1,000 recs + 5,000 evidence (s)", "report_1000_s", "", ""),
        ("Storage: find_one by _id at the smallest / largest size (ms)", "storage_find_one_id_ms_large",
         "smallest size", "storage_find_one_id_ms_small"),
        ("Peak RSS (MB)", "peak_rss_mb", "", ""),
    ]

    def ratio(a: str, b: str) -> str:
        return f"{r[a] / r[b]:.3g}" if r.get(a) and r.get(b) else "–"

    m = r["machine"]
    lines = [
        "# Benchmark results", "",
        f"Machine: {m['cores']} cores, {m['memory_gb']} GB, Python {m['python']}. "
        "Kafka and the MongoDB-wire server (embedded FerretDB/SQLite, patched) on loopback, started by "
        "`scripts/stack.sh`. Every figure and its baseline come from the same run (`make bench`).", "",
        "| measure | value | baseline (same run) | baseline value | ratio |",
        "|---|---|---|---|---|",
    ]
    for label, key, base_label, base_key in rows:
        lines.append(f"| {label} | {_fmt(r.get(key))} | {base_label} | {_fmt(r.get(base_key)) if base_key else ''} "
                     f"| {ratio(key, base_key) if base_key else ''} |")
    lines += ["", "| goal (issue 12) | value | verdict |", "|---|---|---|"]
    for key, (goal, ok) in GOALS.items():
        value = r.get(key)
        try:
            verdict = "n/a" if value is None else ("met" if ok(float(value), r) else "**not met**")
        except (KeyError, TypeError, ZeroDivisionError):
            verdict = "n/a"
        lines.append(f"| `{key}` {goal} | {_fmt(value)} | {verdict} |")
    by_bench = r.get("peak_rss_mb_by_bench")
    if isinstance(by_bench, dict) and by_bench:
        lines += ["", "Peak RSS by bench process (MB; each bench runs in its own process with the services it "
                  "starts): " + ", ".join(f"{name} {mb:,.0f}" for name, mb in by_bench.items())]
    storage = r.get("storage")
    if isinstance(storage, dict):
        lines += ["", "Storage candidates (bench/storage_bench.py), ms per operation by collection size:", "",
                  "| candidate | size | find_one _id | upsert existing | find on compound index |",
                  "|---|---|---|---|---|"]
        for name, sizes in storage.items():
            for size, row in sizes.items():
                if isinstance(row, dict):
                    lines.append(f"| {name} | {size} | {row['find_one_id_ms']} | {row['upsert_existing_ms']} "
                                 f"| {row['find_secondary_ms']} |")
            lines.append(f"| {name} | bulk_write of 1,000 mixed upserts | {sizes.get('bulk_1000_mixed_upserts_s')} s"
                         " | | |")
    if r.get("errors"):
        lines += ["", "Benchmarks that failed:", ""] + [f"- {k}: {v}" for k, v in r["errors"].items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
