"""Import throughput: our parser (detect, decode, validate, merge) vs raw csv/openpyxl
reading of the same file, in the same run, plus peak memory.

    .venv/bin/python bench/import_bench.py [--rows 267000] [--xlsx-rows 20000]

``run()`` returns import_parse_rows_per_s, raw_parse_rows_per_s, peak_rss_mb (and the
XLSX figures) for `make bench`.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import resource
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.make_uhri_file import OUT, write_csv, write_xlsx
from services.ingest.adapters.files import parse_file
from services.ingest.domain import ParsedRow, RowError


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class PeakRss:
    """Samples RSS in a thread: the peak during one measured block (ru_maxrss never goes down)."""

    def __enter__(self) -> PeakRss:
        self.peak = _rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss_mb())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())


def raw_csv(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def raw_xlsx(path: Path) -> int:
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        return sum(1 for _ in workbook.worksheets[0].iter_rows(values_only=True)) - 1
    finally:
        workbook.close()


def ours(path: Path) -> tuple[int, int]:
    good = bad = 0
    # The generated 267k-row file is ~105 MB: above the default 60 MB per-file limit, so the
    # bench raises the (configurable) limit.
    for item in parse_file(path, import_id="bench", max_bytes=1024 * 1024 * 1024):
        if isinstance(item, ParsedRow):
            good += 1 + len(item.merged_rows)
        elif isinstance(item, RowError) and not item.warning:
            bad += 1
    return good, bad


def _timed(function, path: Path):  # type: ignore[no-untyped-def]
    gc.collect()
    start = time.perf_counter()
    result = function(path)
    return result, time.perf_counter() - start


def run(rows: int = 267_000, xlsx_rows: int = 20_000) -> dict[str, float]:
    csv_path = OUT / f"uhri_{rows}.csv"
    xlsx_path = OUT / f"uhri_{xlsx_rows}.xlsx"
    if not csv_path.exists():
        write_csv(csv_path, rows)
    if not xlsx_path.exists():
        write_xlsx(xlsx_path, xlsx_rows)
    baseline = _rss_mb()
    raw_rows, raw_s = _timed(raw_csv, csv_path)
    with PeakRss() as peak:
        (good, bad), our_s = _timed(ours, csv_path)
    assert bad == 0 and good == raw_rows, (good, bad, raw_rows)
    raw_x_rows, raw_x_s = _timed(raw_xlsx, xlsx_path)
    (good_x, bad_x), our_x_s = _timed(ours, xlsx_path)
    assert bad_x == 0 and good_x == raw_x_rows, (good_x, bad_x, raw_x_rows)
    return {
        "import_parse_rows_per_s": round(good / our_s, 1),
        "raw_parse_rows_per_s": round(raw_rows / raw_s, 1),
        "import_vs_raw_ratio": round((good / our_s) / (raw_rows / raw_s), 4),
        "peak_rss_mb": round(peak.peak, 1),
        "peak_rss_growth_mb": round(peak.peak - baseline, 1),
        "file_mb": round(csv_path.stat().st_size / 1024 / 1024, 1),
        "rows": float(good),
        "xlsx_import_rows_per_s": round(good_x / our_x_s, 1),
        "xlsx_raw_rows_per_s": round(raw_x_rows / raw_x_s, 1),
        "xlsx_rows": float(good_x),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=267_000)
    parser.add_argument("--xlsx-rows", type=int, default=20_000)
    args = parser.parse_args()
    figures = run(args.rows, args.xlsx_rows)
    print(json.dumps(figures, indent=2))
    print(
        f"ours {figures['import_parse_rows_per_s']:,.0f} rows/s vs raw csv {figures['raw_parse_rows_per_s']:,.0f}"
        f" rows/s: ratio {figures['import_vs_raw_ratio']:.3f}; peak RSS {figures['peak_rss_mb']:.0f} MB"
        f" (+{figures['peak_rss_growth_mb']:.0f} MB) on a {figures['file_mb']:.0f} MB file",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
