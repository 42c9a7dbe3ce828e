"""Storage candidates side by side, in one run: the embedded MongoDB-wire server as upstream
builds it (as the project ran it before: synchronous=FULL), and with the project's patch
(infra/ferretdb/ferretdb-v1.24.2.patch), with SQLite's synchronous=FULL and NORMAL.

For each: find_one by _id, an upsert of an existing document and a find on a compound
secondary index, at growing collection sizes; one bulk_write of 1,000 mixed upserts.
A flat row means an indexed lookup; a row growing with the size means a scan.

    .venv/bin/python -m bench.storage_bench [--sizes 1000,10000,100000]

Each candidate runs on its own port and state directory under .stack/bench-storage/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from pymongo import ASCENDING, MongoClient, UpdateOne
from pymongo.errors import PyMongoError

ROOT = Path(__file__).resolve().parents[1]
STACK = Path(os.environ.get("UPR_STACK_DIR", ROOT / ".stack"))
PATCHED = STACK / "bin" / "ferretdb"
STOCK = STACK / "bin" / "ferretdb-stock"
SAMPLES = 50


def _doc(i: int) -> dict[str, Any]:
    return {"_id": f"KHM-4-{i}", "cycle": i % 4 + 1, "country": "KHM", "paragraph": f"{100 + i // 1000}.{i % 1000}",
            "themes": ["T01", f"T{i % 19 + 1:02d}"], "position": "supported",
            "text": "Strengthen the juvenile justice system and protect children in conflict with the law " * 4}


def _ms(fn: Any, n: int = SAMPLES) -> float:
    started = time.perf_counter()
    for i in range(n):
        fn(i)
    return round((time.perf_counter() - started) / n * 1000, 2)


def measure(binary: Path, synchronous: str, sizes: list[int], port: int, stop_scans_at: int) -> dict[str, Any]:
    state = STACK / "bench-storage" / f"{binary.name}-{synchronous}"
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    # Both binaries are built from infra/ferretdb/main.go, which takes -synchronous.
    proc = subprocess.Popen([str(binary), "-listen", f"127.0.0.1:{port}", "-dir", str(state),
                             "-synchronous", synchronous],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows: dict[str, Any] = {}
    try:
        client: MongoClient[dict[str, Any]] = MongoClient(f"mongodb://127.0.0.1:{port}", socketTimeoutMS=60000,
                                                          serverSelectionTimeoutMS=20000)
        coll = client["bench"]["recommendations"]
        coll.create_index([("cycle", ASCENDING), ("paragraph", ASCENDING)])
        have = 0
        for size in sizes:
            if have >= stop_scans_at:  # the scanning candidate would take minutes per row
                break
            for start in range(have, size, 1000):
                coll.insert_many([_doc(i) for i in range(start, min(size, start + 1000))], ordered=False)
            have = size
            step = max(1, size // SAMPLES)
            rows[str(size)] = {
                "find_one_id_ms": _ms(lambda i, s=step: coll.find_one({"_id": f"KHM-4-{i * s}"})),
                "upsert_existing_ms": _ms(lambda i, s=step: coll.update_one(
                    {"_id": f"KHM-4-{i * s}"}, {"$set": {"seen": i}}, upsert=True)),
                "find_secondary_ms": _ms(lambda i, s=step: list(coll.find(
                    {"cycle": (i * s) % 4 + 1, "paragraph": f"{100 + (i * s) // 1000}.{(i * s) % 1000}"}))),
            }
        ops = [UpdateOne({"_id": f"KHM-4-{i}" if i % 2 else f"new-{i}"}, {"$set": {"bulk": i}}, upsert=True)
               for i in range(1000)]
        started = time.perf_counter()
        try:
            coll.bulk_write(ops, ordered=False)
            rows["bulk_1000_mixed_upserts_s"] = round(time.perf_counter() - started, 2)
        except PyMongoError as exc:
            waited = time.perf_counter() - started
            rows["bulk_1000_mixed_upserts_s"] = f"failed after {waited:.0f} s: {type(exc).__name__}"
        client.close()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        shutil.rmtree(state, ignore_errors=True)
    return rows


def run(sizes: list[int] | None = None) -> dict[str, Any]:
    sizes = sizes or [1000, 10000, 100000]
    if not STOCK.exists():
        subprocess.run([str(ROOT / "infra" / "ferretdb" / "build.sh"), str(STOCK), "--stock"], check=True)
    from tests.integration.helpers import free_port

    candidates = {
        "ferretdb_upstream_sync_full": (STOCK, "full", 10000),
        "ferretdb_patched_sync_full": (PATCHED, "full", max(sizes)),
        "ferretdb_patched_sync_normal": (PATCHED, "normal", max(sizes)),
    }
    table = {name: measure(binary, sync, sizes, free_port(), stop)
             for name, (binary, sync, stop) in candidates.items()}
    chosen = table["ferretdb_patched_sync_normal"]
    small, large = chosen[str(sizes[0])], chosen[str(sizes[-1])]
    return {
        "storage": table,
        "storage_find_one_id_ms_small": small["find_one_id_ms"],
        "storage_find_one_id_ms_large": large["find_one_id_ms"],
        "storage_find_one_id_growth": round(large["find_one_id_ms"] / max(small["find_one_id_ms"], 0.01), 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    args = parser.parse_args()
    print(json.dumps(run([int(s) for s in args.sizes.split(",")]), indent=2))
