"""What one imported recommendation costs the storage: the documents the tracker writes for it
(size per collection) and what inserting them costs the server per document, with the
collection's indexes and with none, next to the raw payload the pipeline bench inserts.

    .venv/bin/python -m bench.document_costs [--events 2000] [--reps 3]   (needs `make stack-up`)

The server's CPU is read from /proc for the embedded FerretDB of ``UPR_STACK_DIR`` (wall time
only elsewhere); each figure is the median of ``reps`` interleaved runs: the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import bson
from pymongo import AsyncMongoClient

from bench.pipeline_bench import _event
from contracts import documents as d
from contracts.events import parse_event
from contracts.settings import CommonSettings
from services.tracker import handlers
from services.tracker.adapters.mongo import INDEXES, MongoTrackerRepository
from services.tracker.adapters.tagger import load_tagger
from services.tracker.inbox import _receipt

COLLECTIONS = (d.RECOMMENDATIONS, d.RECOMMENDATION_VERSIONS, d.AUDIT_LOG, d.PROCESSED_MESSAGES)


def _server_cpu_s() -> float | None:
    pid_file = Path(os.environ.get("UPR_STACK_DIR", ".stack")) / "run" / "ferretdb.pid"
    try:
        fields = Path(f"/proc/{pid_file.read_text().strip()}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _stored(db: Any, n: int) -> dict[str, list[dict[str, Any]]]:
    """The documents ``n`` new recommendation.imported events leave, through the real handler."""
    repo = MongoTrackerRepository(db, "bench")
    await repo.ensure_indexes()

    async def no_examples() -> Sequence[dict[str, Any]]:
        return []

    deps = handlers.Deps(repo=repo, tagger=load_tagger(), examples=no_examples)
    for start in range(0, n, 500):
        events = [parse_event(_event(i, "costs").to_bytes()) for i in range(start, min(n, start + 500))]
        batch = [handlers.Imported(envelope, payload) for envelope, payload in events]  # type: ignore[arg-type]
        outcomes = await handlers.recommendations_imported(batch, deps)
        await repo.mark_processed_many([{**_receipt(item.envelope, o.outcome), **o.detail}
                                        for item, o in zip(batch, outcomes, strict=True) if o is not None])
    return {c: [doc async for doc in db[c].find({})] for c in COLLECTIONS}


async def _insert_cost(db: Any, docs: list[dict[str, Any]], indexes: list[Any]) -> tuple[float | None, float]:
    """(server CPU ms, wall ms) per document of insert_many into a new collection with ``indexes``."""
    collection = db[f"cost_{uuid.uuid4().hex[:8]}"]
    await db.create_collection(collection.name)
    for keys, options in indexes:
        await collection.create_index(keys, **options)
    cpu, started = _server_cpu_s(), time.perf_counter()
    for start in range(0, len(docs), 500):
        await collection.insert_many(docs[start:start + 500], ordered=False)
    wall = (time.perf_counter() - started) / len(docs) * 1000
    after = _server_cpu_s()
    await collection.drop()
    return (None if cpu is None or after is None else (after - cpu) / len(docs) * 1000), wall


async def _run(n: int, reps: int) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(CommonSettings().mongodb_uri, tz_aware=True)
    db = client[f"bench_costs_{uuid.uuid4().hex[:6]}"]
    try:
        stored = await _stored(db, n)
        raw = [{"_id": e.payload["recommendation_id"], **e.payload} for e in (_event(i, "raw") for i in range(n))]
        cases = [(f"{c} ({len(INDEXES.get(c, []))} indexes)", stored[c], INDEXES.get(c, [])) for c in COLLECTIONS]
        cases += [(f"{d.RECOMMENDATIONS} (no index)", stored[d.RECOMMENDATIONS], []),
                  ("raw payload (pipeline bench's raw insert)", raw, [])]
        runs: dict[str, list[tuple[float | None, float]]] = {name: [] for name, _, _ in cases}
        for _ in range(reps):
            for name, docs, indexes in cases:
                runs[name].append(await _insert_cost(db, docs, indexes))
        print(f"{'per document':48s} {'BSON bytes':>10s} {'server CPU ms':>14s} {'wall ms':>8s}")
        for name, docs, _ in cases:
            size = sum(len(bson.encode(doc)) for doc in docs) / len(docs)
            cpus = sorted(c for c, _ in runs[name] if c is not None)
            walls = sorted(w for _, w in runs[name])
            cpu = f"{cpus[len(cpus) // 2]:.3f}" if cpus else "-"
            print(f"{name:48s} {size:10.0f} {cpu:>14s} {walls[len(walls) // 2]:8.3f}")
    finally:
        await client.drop_database(db.name)
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(_run(args.events, args.reps))


if __name__ == "__main__":
    main()
