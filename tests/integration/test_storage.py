"""The MongoDB-wire server the project runs (embedded FerretDB with the project's patch, see
docs/storage.md) does what the services rely on: indexed lookups, MongoDB's equality
semantics on arrays, bulk writes of 1,000 operations, and acknowledged writes that survive
kill -9 of the server."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from pymongo import ASCENDING, MongoClient, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from contracts import documents as d
from services.tracker.adapters.mongo import INDEXES
from tests.integration.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
FERRETDB = Path(os.environ.get("UPR_STACK_DIR", ROOT / ".stack")) / "bin" / "ferretdb"


def uses_index(explain: dict[str, Any]) -> bool:
    """True when the server's plan reads an index, not the whole collection.

    FerretDB/SQLite reports SQLite's plan lines ("SEARCH t USING INDEX ..." vs "SCAN t");
    MongoDB reports stages (IDHACK / EXPRESS_IXSCAN / IXSCAN vs COLLSCAN)."""
    planner = explain.get("queryPlanner", {})
    lines = [str(line) for line in planner.get("Plan", [])]
    if lines:
        return not any(line.split("detail=")[-1].startswith("SCAN") for line in lines) and any(
            "USING INDEX" in line for line in lines)
    text = str(planner.get("winningPlan", {}))
    return "COLLSCAN" not in text and any(s in text for s in ("IDHACK", "IXSCAN", "EXPRESS"))


def _recommendation(i: int) -> dict[str, Any]:
    return {"_id": f"KHM-4-{i}", "cycle": 4 if i % 3 else 3, "position": "supported" if i % 2 else "noted",
            "themes": [f"T{i % 19 + 1:02d}", "T01"], "country": "KHM", "text": f"Recommendation {i}"}


async def _with_tracker_indexes(db: AsyncDatabase[dict[str, Any]], n: int) -> None:
    for keys, options in INDEXES[d.RECOMMENDATIONS]:
        await db[d.RECOMMENDATIONS].create_index(keys, **options)
    docs = [_recommendation(i) for i in range(n)]
    await db[d.RECOMMENDATIONS].insert_many(docs)


async def test_id_and_secondary_lookups_read_an_index(mongo_db: AsyncDatabase[dict[str, Any]]) -> None:
    await _with_tracker_indexes(mongo_db, 300)
    recs = mongo_db[d.RECOMMENDATIONS]
    by_id = await recs.find({"_id": "KHM-4-7"}).explain()
    by_ids = await recs.find({"_id": {"$in": ["KHM-4-7", "KHM-4-8"]}}).explain()
    by_cycle = await recs.find({"cycle": 4, "position": "supported"}).explain()
    by_theme = await recs.find({"themes": "T05"}).explain()
    assert uses_index(by_id), by_id
    assert uses_index(by_ids), by_ids
    assert uses_index(by_cycle), by_cycle
    assert uses_index(by_theme), by_theme
    # A filter on a field no index starts with is a scan, and the check says so.
    assert not uses_index(await recs.find({"text": "Recommendation 7"}).explain())


async def test_indexed_equality_keeps_mongodb_semantics_on_arrays(mongo_db: AsyncDatabase[dict[str, Any]]) -> None:
    await _with_tracker_indexes(mongo_db, 200)
    recs = mongo_db[d.RECOMMENDATIONS]
    # Documents where an indexed field holds an array (or another type) must still match
    # as MongoDB matches them: an element equal to the value.
    await recs.insert_many([
        {"_id": "odd-1", "cycle": [3, 4], "position": "supported", "themes": "T05"},
        {"_id": "odd-2", "cycle": 4.0, "position": ["noted", "supported"], "themes": []},
        {"_id": "odd-3", "cycle": "4", "position": "supported", "themes": ["T05"]},
    ])
    everything = [doc async for doc in recs.find({})]

    def expected(field: str, value: Any) -> set[str]:
        def match(v: Any) -> bool:  # MongoDB: equal, or an array holding an equal element
            return value in v if isinstance(v, list) else bool(v == value)
        return {doc["_id"] for doc in everything if field in doc and match(doc[field])}

    got_cycle = {doc["_id"] async for doc in recs.find({"cycle": 4, "position": "supported"})}
    assert got_cycle == expected("cycle", 4) & expected("position", "supported")
    assert {"odd-1", "odd-2"} <= got_cycle and "odd-3" not in got_cycle
    got_theme = {doc["_id"] async for doc in recs.find({"themes": "T05"})}
    assert got_theme == expected("themes", "T05")
    assert {"odd-1", "odd-3"} <= got_theme
    assert await recs.count_documents({"themes": {"$in": ["T05", "T06"]}}) == len(
        expected("themes", "T05") | expected("themes", "T06"))


async def test_a_bulk_write_of_1000_upserts_of_existing_documents_completes(
    mongo_db: AsyncDatabase[dict[str, Any]],
) -> None:
    await _with_tracker_indexes(mongo_db, 1000)
    recs = mongo_db[d.RECOMMENDATIONS]
    ops = [UpdateOne({"_id": f"KHM-4-{i}"}, {"$set": {"evidence_count": i}}, upsert=True) for i in range(1000)]
    result = await recs.bulk_write(ops, ordered=False)
    assert result.matched_count == 1000
    # ... and the server still answers others afterwards (it used to wedge at 100).
    assert (await recs.find_one({"_id": "KHM-4-999"}) or {}).get("evidence_count") == 999


@pytest.mark.skipif(not FERRETDB.exists(), reason="the embedded server is built by `make setup`")
def test_acknowledged_writes_survive_kill_9_of_the_server(tmp_path: Path) -> None:
    port = free_port()

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([str(FERRETDB), "-listen", f"127.0.0.1:{port}", "-dir", str(tmp_path)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client: MongoClient[dict[str, Any]] = MongoClient(f"mongodb://127.0.0.1:{port}",
                                                          serverSelectionTimeoutMS=20000)
        client.admin.command("ping")
        client.close()
        return proc

    server = start()
    try:
        client: MongoClient[dict[str, Any]] = MongoClient(f"mongodb://127.0.0.1:{port}")
        coll = client["durability"]["acknowledged"]
        coll.create_index([("batch", ASCENDING)])
        acknowledged = 0
        for i in range(300):  # one at a time: each acknowledged before the next
            coll.insert_one({"_id": f"one-{i}", "batch": "single"})
            acknowledged += 1
        coll.insert_many([{"_id": f"many-{i}", "batch": "bulk"} for i in range(700)])
        coll.bulk_write([UpdateOne({"_id": f"many-{i}"}, {"$set": {"updated": True}}) for i in range(700)])
        acknowledged += 700
        client.close()
        server.send_signal(signal.SIGKILL)  # no chance to flush anything
        server.wait(timeout=10)
        server = start()
        client = MongoClient(f"mongodb://127.0.0.1:{port}")
        coll = client["durability"]["acknowledged"]
        assert coll.count_documents({}) == acknowledged
        assert coll.count_documents({"updated": True}) == 700
        client.close()
    finally:
        server.kill()
        server.wait(timeout=10)
        time.sleep(0.1)


async def test_counting_a_whole_collection_is_exact_after_inserts_and_deletes(
    mongo_db: AsyncDatabase[dict[str, Any]],
) -> None:
    # The server counts an unfiltered collection from SQLite instead of reading documents
    # (the Recommendations page total): it must stay exact.
    recs = mongo_db[d.RECOMMENDATIONS]
    assert await recs.estimated_document_count() == 0
    await _with_tracker_indexes(mongo_db, 500)
    await recs.delete_many({"_id": {"$in": [f"KHM-4-{i}" for i in range(0, 500, 5)]}})
    await recs.insert_one({"_id": "large", "text": "x" * 200_000})  # spills to overflow pages
    assert await recs.estimated_document_count() == 401
    assert await recs.count_documents({}) == 401
