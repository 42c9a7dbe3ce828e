"""Operators' view: processes die, servers restart, the database goes away. Nothing is lost
and nothing is stored twice. The tracker runs as a real process (`faststream run`) so it
can be killed with SIGKILL in the middle of a stream."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from contracts.events import (
    Position,
    RecommendationImportedV1,
    RecommendingState,
    SourceRef,
)
from contracts.topics import Topics
from tests.integration.helpers import ServiceProcess, envelopes, free_port, read_topic, signed_event, wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 2000


def recommendation(n: int) -> RecommendationImportedV1:
    return RecommendationImportedV1(
        recommendation_id=f"KHM-4-{100 + n // 100}.{n % 100 + 1}", country="KHM", cycle=4, session=46,
        paragraph=f"{100 + n // 100}.{n % 100 + 1}", text=f"Ensure that every child born in province {n} is registered",
        recommending_states=[RecommendingState(code="NOR", name="Norway")], position=Position.SUPPORTED,
        source=SourceRef(format="test", file_name="load.csv", row=n + 2), import_id="imp-fault",
    )


async def publish_all(producer: AIOKafkaProducer, topic: str, events: list[Any]) -> None:
    futures = [await producer.send(topic, e.to_bytes(), key=e.payload["recommendation_id"].encode(),
                                   headers=[("content-type", b"application/json")]) for e in events]
    await asyncio.gather(*futures)


@pytest.mark.timeout(900)
async def test_tracker_killed_mid_stream_loses_and_duplicates_nothing(
    tracker_process: ServiceProcess, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any,
    kafka_bootstrap: str,
) -> None:
    events = [signed_event(recommendation(n), source="ingest", correlation_id="imp-fault") for n in range(EVENTS)]
    tracker_process.start()
    await publish_all(producer, topics.recommendations_imported, events)

    async def some_stored() -> bool:  # counted from SQLite, not by reading receipts: cheap to poll often
        return await mongo_db.processed_messages.estimated_document_count() >= EVENTS // 4
    await wait_for(some_stored, timeout=180, what="a quarter of the stream stored", interval=0.02)
    tracker_process.kill9()
    killed_at = await mongo_db.processed_messages.estimated_document_count()
    assert killed_at < EVENTS, "the kill came too late to prove anything"
    tracker_process.start()

    async def all_stored() -> bool:
        return await mongo_db.processed_messages.estimated_document_count() == EVENTS
    await wait_for(all_stored, timeout=600, what="every event stored after the restart", interval=1)

    assert await mongo_db.recommendations.count_documents({}) == EVENTS
    assert await mongo_db.recommendation_versions.count_documents({}) == EVENTS
    stored_ids = {d["_id"] async for d in mongo_db.recommendations.find({}, {"_id": 1})}
    assert stored_ids == {e.payload["recommendation_id"] for e in events}
    assert await mongo_db.recommendations.count_documents({"version": {"$ne": 1}}) == 0
    # Announcements: some may be re-sent after the kill, but always with the same event id,
    # so each recommendation is announced as created exactly once to a deduplicating consumer.
    announced = [e for e in envelopes(await read_topic(kafka_bootstrap, topics.tracker_events, 2 * EVENTS,
                                                       timeout=60)) if e.type == "recommendation.updated"]
    distinct = {e.event_id: e for e in announced}
    assert sorted(e.payload["recommendation_id"] for e in distinct.values()) == sorted(stored_ids)


@pytest.mark.timeout(900)
async def test_tracker_recovers_by_itself_when_kafka_and_mongodb_restart_under_load(
    tracker_process: ServiceProcess, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any,
) -> None:
    if os.environ.get("UPR_FAULT_RESTART_SERVERS", "1") != "1":
        pytest.skip("server restarts disabled (UPR_FAULT_RESTART_SERVERS=0)")
    first = [signed_event(recommendation(n), source="ingest") for n in range(300)]
    second = [signed_event(recommendation(n), source="ingest") for n in range(300, 600)]
    tracker_process.start()
    await publish_all(producer, topics.recommendations_imported, first)

    async def some_stored() -> bool:
        return await mongo_db.processed_messages.count_documents({}) >= 50
    await wait_for(some_stored, timeout=120, what="the stream started", interval=2)

    # MongoDB goes away mid-stream: the tracker retries (no commit), nothing is skipped.
    restart = await asyncio.to_thread(subprocess.run, [str(ROOT / "scripts" / "stack.sh"), "restart-mongo"],
                                      capture_output=True, timeout=120)
    assert restart.returncode == 0, restart.stderr.decode()
    # Then Kafka restarts; the producer and the tracker reconnect by themselves.
    restart = await asyncio.to_thread(subprocess.run, [str(ROOT / "scripts" / "stack.sh"), "restart-kafka"],
                                      capture_output=True, timeout=180)
    assert restart.returncode == 0, restart.stderr.decode()
    await publish_all(producer, topics.recommendations_imported, second)

    async def all_stored() -> bool:
        try:
            return await mongo_db.recommendations.count_documents({}) == 600
        except Exception:
            return False
    await wait_for(all_stored, timeout=300, what="every recommendation stored after the restarts",
                   interval=3)
    assert await mongo_db.recommendation_versions.count_documents({}) == 600
    assert tracker_process.proc is not None and tracker_process.proc.poll() is None, "the tracker must not have died"


async def test_unreachable_mongodb_is_a_clear_error_and_the_message_waits(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path, producer: AIOKafkaProducer, mongodb_uri: str,
) -> None:
    """With the database unreachable the tracker says so, commits nothing, and stores the
    message once the database is back (here: once it is pointed at a reachable one)."""
    db_name = f"test_{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPR_")}
    env.update(UPR_KAFKA_BOOTSTRAP=kafka_bootstrap, UPR_MONGODB_URI=f"mongodb://127.0.0.1:{free_port()}",
               UPR_MONGODB_DB=db_name, UPR_TOPIC_PREFIX=topics.prefix, UPR_ENV="dev")
    broken = ServiceProcess("services.tracker.app:app", env, tmp_path / "broken.log")
    broken.start()
    try:
        assert broken.proc is not None
        proc = broken.proc

        def log() -> str:
            return (tmp_path / "broken.log").read_text(errors="replace")

        # Waited for, not slept on: a loaded machine may take longer than a fixed pause to start.
        async def said_so() -> bool:
            text = log()
            return proc.poll() is not None or "ServerSelectionTimeoutError" in text or "Connection refused" in text
        await wait_for(said_so, timeout=120, what="the tracker reporting the unreachable database")
        assert "Traceback" in log() or "refused" in log().lower()
    finally:
        broken.stop()
    event = signed_event(recommendation(1), source="ingest")
    await publish_all(producer, topics.recommendations_imported, [event])
    env["UPR_MONGODB_URI"] = mongodb_uri
    healthy = ServiceProcess("services.tracker.app:app", env, tmp_path / "healthy.log")
    healthy.start()
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_uri)
    try:
        async def stored() -> bool:
            return await client[db_name].recommendations.count_documents({}) == 1
        await wait_for(stored, timeout=60, what="the waiting message stored")
    finally:
        healthy.stop()
        await client.drop_database(db_name)
        await client.close()


@pytest.mark.timeout(900)
async def test_import_killed_mid_stream_and_run_again_stores_every_row_once(
    tracker_process: ServiceProcess, tracker_env: dict[str, str], mongo_db: Any, tmp_path: Path,
) -> None:
    """`upr import` (the ingest publisher) is killed with SIGKILL while it sends; the person runs
    the same import again: every recommendation is stored once, none twice."""
    import csv

    rows = 600
    path = tmp_path / "cycle4.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["To", "To-Rgrp", "To-Org", "Text", "From", "From-Rgrp", "From-Org", "Response", "Action",
                         "Issue", "Session"])
        for n in range(rows):
            writer.writerow(["Cambodia", "Asia", "ASEAN", f"Ensure that children in commune {n} attend school",
                             "Thailand", "Asia", "ASEAN", "Supported", "", "", "46"])
    tracker_process.start()
    upr = [sys.executable, "-m", "upr", "import", str(path), "--json", "--wait", "700"]
    upr_env = {**tracker_env, "UPR_TRACKER_URL": tracker_process.url}  # it asks the tracker for receipts
    first = subprocess.Popen(upr, cwd=ROOT, env=upr_env,  # noqa: ASYNC220 - returns at once
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    async def some_arrived() -> bool:
        return await mongo_db.processed_messages.count_documents({}) >= 50
    await wait_for(some_arrived, timeout=300, what="the first rows stored", interval=1)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)

    second = await asyncio.to_thread(subprocess.run, upr, cwd=ROOT, env=upr_env, capture_output=True,
                                     timeout=800)
    assert second.returncode == 0, second.stderr.decode()[-2000:]
    report = json.loads(second.stdout)
    assert (report["rows"], report["rejected"]) == (rows, 0), report
    assert report["imported"] + report["unchanged"] == rows, report
    assert await mongo_db.recommendations.count_documents({}) == rows
    assert await mongo_db.recommendation_versions.count_documents({}) == rows


@pytest.mark.timeout(900)
async def test_tracker_killed_between_its_bulk_writes_and_the_receipts_repairs_the_batch(
    tracker_process: ServiceProcess, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any,
    kafka_bootstrap: str,
) -> None:
    """The kill lands after a batch's recommendations were written in bulk but before their
    receipts: the redelivered batch must neither lose nor repeat a version, an audit entry or
    an announcement."""
    events = [signed_event(recommendation(n), source="ingest", correlation_id="imp-bulk") for n in range(EVENTS)]
    tracker_process.start()
    await publish_all(producer, topics.recommendations_imported, events)

    async def mid_batch() -> bool:  # stored recommendations ahead of their receipts
        stored = await mongo_db.recommendations.estimated_document_count()
        receipts = await mongo_db.processed_messages.estimated_document_count()
        return 0 < stored < EVENTS and stored > receipts
    await wait_for(mid_batch, timeout=300, what="a batch stored but not yet receipted", interval=0.02)
    tracker_process.kill9()
    assert await mongo_db.processed_messages.estimated_document_count() < EVENTS
    tracker_process.start()

    async def all_stored() -> bool:
        return await mongo_db.processed_messages.estimated_document_count() == EVENTS
    await wait_for(all_stored, timeout=600, what="every event stored after the restart", interval=2)

    assert await mongo_db.recommendations.estimated_document_count() == EVENTS
    assert await mongo_db.recommendation_versions.estimated_document_count() == EVENTS
    assert await mongo_db.audit_log.estimated_document_count() == EVENTS
    assert await mongo_db.recommendations.count_documents({"version": 1}) == EVENTS
    announced = [e for e in envelopes(await read_topic(kafka_bootstrap, topics.tracker_events, 2 * EVENTS,
                                                       timeout=60)) if e.type == "recommendation.updated"]
    distinct = {e.event_id: e for e in announced}
    assert sorted(e.payload["recommendation_id"] for e in distinct.values()) == sorted(
        e.payload["recommendation_id"] for e in events)
    assert all(e.payload["created"] and e.payload["version"] == 1 for e in distinct.values())


async def test_a_poison_record_in_a_batch_is_dead_lettered_alone(
    tracker_process: ServiceProcess, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any,
    kafka_bootstrap: str,
) -> None:
    """Good and bad records in one partition, published before the tracker starts so they
    arrive in one batch: the bad ones go to the dead-letter topic with a reason, every good
    one is stored, and the batch is committed (a restart does not bring the bad ones back)."""
    good = [signed_event(recommendation(n), source="ingest", correlation_id="imp-poison") for n in range(40)]
    unknown_version = good[0].model_dump(mode="json") | {"event_id": str(uuid.uuid4()), "version": 99}
    bad_payload = good[1].model_dump(mode="json") | {"event_id": str(uuid.uuid4())}
    bad_payload["payload"] = {**bad_payload["payload"], "cycle": "fourth"}
    key = b"KHM-poison"  # one key: one partition, so the records arrive together, in this order
    values = [e.to_bytes() for e in good[:20]] + [b"{not json", json.dumps(unknown_version).encode(),
                                                    json.dumps(bad_payload).encode()] + [
        e.to_bytes() for e in good[20:]]
    for value in values:
        await producer.send(topics.recommendations_imported, value, key=key,
                            headers=[("content-type", b"application/json")])
    await producer.flush()
    tracker_process.start()

    dead = await read_topic(kafka_bootstrap, topics.dead_letter("upr-tracker"), 3, timeout=120)
    reasons = {bytes(r.value): dict(r.headers).get("x-dlq-reason", b"").decode() for r in dead}
    assert len(dead) == 3
    assert set(reasons) == set(values[20:23])
    assert "99" in reasons[values[21]] and "cycle" in reasons[values[22]]

    async def all_good_stored() -> bool:
        return await mongo_db.recommendations.estimated_document_count() == 40
    await wait_for(all_good_stored, timeout=120, what="the good records stored")

    async def all_receipts() -> bool:  # written after the recommendations, in the same run
        return await mongo_db.processed_messages.count_documents({}) >= 42
    await wait_for(all_receipts, timeout=60, what="a receipt for every record")
    receipts = {d["_id"]: d["outcome"] async for d in mongo_db.processed_messages.find({})}
    assert receipts[unknown_version["event_id"]] == "rejected"
    assert receipts[bad_payload["event_id"]] == "rejected"
    assert sum(1 for e in good if receipts.get(str(e.event_id)) == "created") == 40

    tracker_process.stop()  # committed: nothing comes back after a restart
    tracker_process.start()
    await asyncio.sleep(8)
    assert len(await read_topic(kafka_bootstrap, topics.dead_letter("upr-tracker"), 4, timeout=5)) == 3
