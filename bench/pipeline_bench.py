"""Pipeline throughput against the physical limits measured in the same run.

- raw Kafka: aiokafka produces N envelopes to a topic and one consumer reads them back;
- raw MongoDB-wire: insert_many of N recommendation-shaped documents;
- pipeline: N recommendation.imported events through the real tracker (tag, store with
  history and audit, announce two events, record the receipt), measured until the last
  receipt is stored; once with one tracker, once with two sharing the consumer group.

Run: .venv/bin/python -m bench.pipeline_bench   (needs `make stack-up`)
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import AsyncMongoClient

from contracts.events import Position, RecommendationImportedV1, RecommendingState, SourceRef, make_event
from contracts.kafka_access import KafkaAdminSettings, client_options, ensure_topics
from contracts.settings import CommonSettings
from contracts.signing import sign
from contracts.topics import Topics

_COMMAND_KEY = CommonSettings().command_key  # the tracker verifies what it stores


def _event(n: int, import_id: str) -> Any:
    return sign(make_event(RecommendationImportedV1(
        recommendation_id=f"KHM-4-{100 + n // 1000}.{n % 1000 + 1}", country="KHM", cycle=4, session=46,
        paragraph=f"{100 + n // 1000}.{n % 1000 + 1}", position=Position.SUPPORTED,
        text=f"Strengthen the juvenile justice system and protect children in conflict with the law ({n})",
        recommending_states=[RecommendingState(code="SWE", name="Sweden")],
        source=SourceRef(format="bench", file_name="bench.csv", row=n + 2), import_id=import_id,
    ), source="ingest", correlation_id=import_id), _COMMAND_KEY)


async def raw_kafka_rate(settings: KafkaAdminSettings, topic: str, events: list[Any]) -> float:
    producer = AIOKafkaProducer(**client_options(settings), acks="all", linger_ms=10)
    consumer = AIOKafkaConsumer(topic, **client_options(settings), auto_offset_reset="earliest",
                                group_id=f"bench-{uuid.uuid4().hex[:6]}", enable_auto_commit=False)
    await producer.start()
    await consumer.start()
    try:
        started = time.perf_counter()
        futures = [await producer.send(topic, e.to_bytes(), key=e.payload["recommendation_id"].encode())
                   for e in events]
        await asyncio.gather(*futures)
        seen = 0
        while seen < len(events):
            for records in (await consumer.getmany(timeout_ms=500, max_records=1000)).values():
                seen += len(records)
        await consumer.commit()
        return len(events) / (time.perf_counter() - started)
    finally:
        await consumer.stop()
        await producer.stop()


async def raw_insert_rate(uri: str, db_name: str, events: list[Any]) -> float:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    collection = client[db_name]["raw_insert"]
    docs = [{"_id": e.payload["recommendation_id"], **e.payload} for e in events]
    started = time.perf_counter()
    for i in range(0, len(docs), 1000):
        await collection.insert_many(docs[i:i + 1000], ordered=False)
    rate = len(docs) / (time.perf_counter() - started)
    await client.close()
    return rate


async def preload(uri: str, db_name: str, count: int) -> None:
    """Fill the tracker's collections as ``count`` earlier imports would have: one recommendation,
    one version, one audit entry and one receipt each, with the tracker's indexes and read models."""
    from services.tracker.adapters.dashboard_store import DashboardStore
    from services.tracker.adapters.mongo import MongoTrackerRepository
    from services.tracker.adapters.public_store import PublicProjectionStore

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    repo = MongoTrackerRepository(client[db_name])
    await repo.ensure_indexes()
    db = client[db_name]
    for start in range(0, count, 1000):
        # 1,000 a country (codes QAA, QAB...) as in a large real database: UPR Info holds a few
        # hundred recommendations per country and cycle, never 100,000 in one.
        country = f"Q{chr(65 + start // 1000 // 26 % 26)}{chr(65 + start // 1000 % 26)}"
        ids = [f"{country}-3-{100 + n // 1000}.{n % 1000 + 1}" for n in range(start, min(count, start + 1000))]
        event = _event(start, "preload")
        recs = [{**event.payload, "_id": rid, "recommendation_id": rid, "country": country, "cycle": 3, "version": 1,
                 "themes": ["T07"], "child_related": True, "evidence_count": 0, "content_hash": rid} for rid in ids]
        await db["recommendations"].insert_many(recs, ordered=False)
        await db["recommendation_versions"].insert_many(
            [{"_id": f"{rid}@1", "recommendation_id": rid, "version": 1, "source_event_id": f"pre-{rid}",
              "snapshot": {"text": event.payload["text"]}, "changes": []} for rid in ids], ordered=False)
        await db["audit_log"].insert_many(
            [{"_id": f"pre-{rid}:0", "subject_id": rid, "action": "recommendation.created"} for rid in ids],
            ordered=False)
        await db["processed_messages"].insert_many(
            [{"_id": f"pre-{rid}", "correlation_id": "preload", "outcome": "created"} for rid in ids],
            ordered=False)
    # A deployment holding them has its read models built: projected once here, not by the
    # measured tracker (a one-off rebuild of 100,000 would be timed as the pipeline).
    await DashboardStore(db).rebuild()
    await PublicProjectionStore(db).rebuild()
    await client.close()


async def pipeline_rate(settings: KafkaAdminSettings, db_name: str, events: list[Any], instances: int = 1,
                        already_stored: int = 0) -> float:
    from services.tracker.app import build_app
    from services.tracker.settings import TrackerSettings

    if already_stored:
        await preload(settings.mongodb_uri, db_name, already_stored)

    tracker_settings = TrackerSettings(kafka_bootstrap=settings.kafka_bootstrap, mongodb_uri=settings.mongodb_uri,
                                       mongodb_db=db_name, log_level="WARNING",
                                       consumer_group=f"upr-tracker-bench-{uuid.uuid4().hex[:6]}")
    topics = Topics(prefix=f"bench{uuid.uuid4().hex[:6]}.")  # a fresh stream for each measurement
    await ensure_topics(settings, topics)
    tracker_settings = tracker_settings.model_copy(update={"topic_prefix": topics.prefix})
    apps = [build_app(tracker_settings) for _ in range(instances)]
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_uri)
    receipts = client[db_name]["processed_messages"]
    for app in apps:
        await app.start()
    try:
        await asyncio.sleep(3)  # let the group settle before timing
        already = await receipts.estimated_document_count()
        producer = AIOKafkaProducer(**client_options(settings), acks="all", linger_ms=10)
        await producer.start()
        started = time.perf_counter()
        futures = [await producer.send(topics.recommendations_imported, e.to_bytes(),
                                       key=e.payload["recommendation_id"].encode(),
                                       headers=[("content-type", b"application/json")]) for e in events]
        await asyncio.gather(*futures)
        await producer.stop()
        stored_at = await wait_for_receipts(receipts, [str(e.event_id) for e in events], already=already)
        return len(events) / (stored_at - started)
    finally:
        for app in apps:
            await app.stop()
        await client.close()


async def import_end_to_end(settings: KafkaAdminSettings, db_name: str, rows: int) -> dict[str, float]:
    """`upr import --json` (it waits for the tracker's receipts) of the generated UHRI file,
    against one tracker, from the start of the command until every row is stored."""
    import os
    import sys
    from pathlib import Path

    from bench.make_uhri_file import OUT, write_csv
    from services.tracker.app import build_app
    from services.tracker.settings import TrackerSettings
    from tests.integration.helpers import serving_http

    path = OUT / f"uhri_{rows}.csv"
    if not path.exists():
        write_csv(path, rows)
    topics = Topics(prefix=f"bench{uuid.uuid4().hex[:6]}.")
    await ensure_topics(settings, topics)
    tracker = build_app(TrackerSettings(
        kafka_bootstrap=settings.kafka_bootstrap, mongodb_uri=settings.mongodb_uri, mongodb_db=db_name,
        log_level="WARNING", consumer_group=f"upr-tracker-bench-{uuid.uuid4().hex[:6]}", topic_prefix=topics.prefix))
    await tracker.start()
    try:
        async with serving_http(tracker) as tracker_url:  # `upr import` asks it for the receipts
            env = {**os.environ, "UPR_TOPIC_PREFIX": topics.prefix, "UPR_MONGODB_DB": db_name,
                   "UPR_KAFKA_BOOTSTRAP": settings.kafka_bootstrap, "UPR_MONGODB_URI": settings.mongodb_uri,
                   "UPR_TRACKER_URL": tracker_url,
                   "UPR_MAX_UPLOAD_BYTES": str(1024 ** 3)}  # the full export is ~105 MB
            upr = Path(sys.executable).with_name("upr")
            started = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(
                str(upr), "import", str(path), "--json", env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
            out, _ = await proc.communicate()
            elapsed = time.perf_counter() - started
    finally:
        await tracker.stop()
    report = json.loads(out.decode().strip().splitlines()[-1])
    stored = int(report.get("imported", 0)) + int(report.get("updated", 0)) + int(report.get("unchanged", 0))
    return {"import_end_to_end_rows_per_s": round(stored / elapsed, 1), "import_end_to_end_rows": float(stored),
            "import_end_to_end_pending": float(report.get("pending", 0))}


async def wait_for_receipts(receipts: Any, event_ids: list[str], poll_s: float = 0.05, already: int = 0) -> float:
    """Until every event has its receipt; returns when the last one was stored (``perf_counter``,
    to within ``poll_s``). While fewer receipts than that are stored (``already``: how many were
    there before), only the collection's count is asked for (no document is read, 1-3 ms); then
    the ids are checked, by _id (indexed), outside the time: reading 3,000 receipts back took
    the embedded server ~0.5 ms each, and counting that made a 6 s run look 13% slower. Were
    some missing after all, the time is when they are found."""
    while await receipts.estimated_document_count() < already + len(event_ids):  # noqa: ASYNC110 (a database)
        await asyncio.sleep(poll_s)
    stored_at = time.perf_counter()
    pending = set(event_ids)
    while pending:
        ids = sorted(pending)
        for start in range(0, len(ids), 1000):
            async for doc in receipts.find({"_id": {"$in": ids[start:start + 1000]}}, {"_id": 1}):
                pending.discard(doc["_id"])
        if pending:
            await asyncio.sleep(poll_s)
            stored_at = time.perf_counter()
    return stored_at


async def _bench(n_raw: int, n_pipeline: int, n_preload: int, n_import: int) -> dict[str, float]:
    settings = KafkaAdminSettings()  # admin: creates the bench topics and publishes as any producer would
    results: dict[str, float] = {}
    topics = Topics(prefix=f"bench{uuid.uuid4().hex[:6]}.")
    await ensure_topics(settings, topics)
    db_name = f"bench_{uuid.uuid4().hex[:6]}"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_uri)
    try:
        raw_events = [_event(n, "raw") for n in range(n_raw)]
        results["raw_kafka_events_per_s"] = await raw_kafka_rate(settings, topics.tracker_events,
                                                                 raw_events)
        results["raw_insert_rows_per_s"] = await raw_insert_rate(settings.mongodb_uri, db_name, raw_events)
        one = [_event(n, "one") for n in range(n_pipeline)]
        results["pipeline_events_per_s"] = await pipeline_rate(settings, db_name + "_1", one)
        two = [_event(n, "two") for n in range(n_pipeline, 2 * n_pipeline)]
        results["pipeline_two_trackers_events_per_s"] = await pipeline_rate(settings, db_name + "_2", two,
                                                                            instances=2)
        big = [_event(n, "big") for n in range(n_pipeline)]
        results["pipeline_events_per_s_at_100k"] = await pipeline_rate(settings, db_name + "_3", big,
                                                                       already_stored=n_preload)
        if n_import:
            results.update(await import_end_to_end(settings, db_name + "_4", n_import))
    finally:
        for name in (db_name, db_name + "_1", db_name + "_2", db_name + "_3", db_name + "_4"):
            await client.drop_database(name)
        await client.close()
    limit = min(results["raw_kafka_events_per_s"], results["raw_insert_rows_per_s"])
    results["pipeline_vs_raw_kafka"] = results["pipeline_events_per_s"] / results["raw_kafka_events_per_s"]
    results["pipeline_vs_limit"] = results["pipeline_events_per_s"] / limit
    results["pipeline_at_100k_vs_empty"] = results["pipeline_events_per_s_at_100k"] / results["pipeline_events_per_s"]
    return results


def run(n_raw: int = 5000, n_pipeline: int = 3000, n_preload: int = 100_000,
        n_import: int | None = None) -> dict[str, float]:
    """``n_import`` rows of the generated UHRI file go through `upr import` (267,000 by default,
    the size of OHCHR's full export; UPR_BENCH_IMPORT_ROWS overrides it, 0 skips it)."""
    import os

    if n_import is None:
        n_import = int(os.environ.get("UPR_BENCH_IMPORT_ROWS", "267000"))
    return asyncio.run(_bench(n_raw, n_pipeline, n_preload, n_import))


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
