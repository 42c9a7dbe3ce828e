"""The tracker against the real Kafka broker and MongoDB-wire server."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from contracts.events import (
    Actor,
    EventEnvelope,
    Position,
    RecommendationImportedV1,
    RecommendingState,
    Role,
    SourceRef,
)
from contracts.topics import Topics
from services.ingest.adapters.publisher import KafkaImportPublisher
from services.ingest.settings import IngestSettings
from services.tracker.app import build_app
from services.tracker.settings import TrackerSettings
from tests.integration.helpers import read_topic, send, signed_event, wait_for

pytestmark = pytest.mark.integration


def imported(rec_id: str = "KHM-4-110.23", text: str = "Adopt the Child Protection Law without delay",
             position: Position = Position.SUPPORTED) -> RecommendationImportedV1:
    return RecommendationImportedV1(
        recommendation_id=rec_id, country="KHM", cycle=4, session=46, document_symbol="A/HRC/57/9",
        paragraph=rec_id.split("-", 2)[2], text=text,
        recommending_states=[RecommendingState(code="SWE", name="Sweden")], position=position,
        source=SourceRef(format="test", file_name="test.csv", row=1), import_id="imp-1",
    )



async def test_same_imported_event_delivered_twice_leaves_one_document(
    tracker_app: Any, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any
) -> None:
    event = signed_event(imported(), source="ingest")
    await send(producer, topics.recommendations_imported, event)
    await send(producer, topics.recommendations_imported, event)

    async def both_seen() -> bool:
        return await mongo_db.processed_messages.count_documents({}) == 1 and \
            await mongo_db.recommendations.count_documents({}) == 1
    await wait_for(both_seen)
    await asyncio.sleep(1.0)  # the duplicate has had time to arrive
    assert await mongo_db.recommendations.count_documents({"_id": "KHM-4-110.23"}) == 1
    assert await mongo_db.recommendation_versions.count_documents({}) == 1
    doc = await mongo_db.recommendations.find_one({"_id": "KHM-4-110.23"})
    assert doc["text"] == "Adopt the Child Protection Law without delay"
    assert doc["version"] == 1


async def test_changed_position_on_reimport_becomes_new_version_with_history(
    tracker_app: Any, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any, kafka_bootstrap: str
) -> None:
    await send(producer, topics.recommendations_imported, signed_event(imported(), source="ingest"))
    await send(producer, topics.recommendations_imported,
               signed_event(imported(position=Position.NOTED), source="ingest"))

    async def two_versions() -> bool:
        return await mongo_db.recommendation_versions.count_documents({}) == 2
    await wait_for(two_versions)
    doc = await mongo_db.recommendations.find_one({"_id": "KHM-4-110.23"})
    assert doc["position"] == "Noted" and doc["version"] == 2
    history = await mongo_db.recommendation_versions.find_one({"version": 2})
    assert history["changes"] == [{"field": "position", "before": "Supported", "after": "Noted"}]
    events = await read_topic(kafka_bootstrap, topics.tracker_events, expected=4)
    types = [EventEnvelope.model_validate_json(r.value).type for r in events]
    assert types.count("recommendation.updated") == 2


async def test_unknown_event_version_goes_to_dead_letter_topic_and_service_keeps_going(
    tracker_app: Any, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any, kafka_bootstrap: str
) -> None:
    good = signed_event(imported(), source="ingest")
    future = good.model_copy(update={"version": 99, "event_id": uuid.uuid4()})
    await send(producer, topics.recommendations_imported, future)
    await send(producer, topics.recommendations_imported, b"\xff\xfe not json")
    await send(producer, topics.recommendations_imported, good)

    async def stored() -> bool:
        return await mongo_db.recommendations.count_documents({}) == 1
    await wait_for(stored)
    dead = await read_topic(kafka_bootstrap, topics.dead_letter("upr-tracker"), expected=2)
    reasons = sorted(dict(r.headers)["x-dlq-reason"].decode() for r in dead)
    assert len(dead) == 2
    assert any("version 99" in r for r in reasons)
    rejected = await mongo_db.processed_messages.find_one({"_id": str(future.event_id)})
    assert rejected["outcome"] == "rejected"


async def test_a_row_whose_id_names_another_cycle_is_dead_lettered_and_the_rest_stored(
    tracker_app: Any, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any, kafka_bootstrap: str
) -> None:
    # The read models find a recommendation's cycle in its id: a row saying otherwise is refused.
    wrong = signed_event(imported().model_copy(update={"cycle": 3}), source="ingest")
    await send(producer, topics.recommendations_imported, wrong)
    await send(producer, topics.recommendations_imported, signed_event(imported("KHM-4-110.24"), source="ingest"))

    async def stored() -> bool:
        return await mongo_db.recommendations.count_documents({}) == 1
    await wait_for(stored)
    dead = await read_topic(kafka_bootstrap, topics.dead_letter("upr-tracker"), expected=1)
    assert [dict(r.headers)["x-dlq-reason"].decode() for r in dead] == [
        "recommendation_id 'KHM-4-110.23' does not begin with its country and cycle (KHM-3-)"]
    assert await mongo_db.recommendations.find_one({"_id": "KHM-4-110.23"}) is None
    assert (await mongo_db.processed_messages.find_one({"_id": str(wrong.event_id)}))["outcome"] == "rejected"


async def test_cso_member_cannot_give_the_cncc_status(
    tracker_app: Any, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any
) -> None:
    from contracts.events import AssessmentSubmittedV1, Assessor, ImplementationStatus
    await send(producer, topics.recommendations_imported, signed_event(imported(), source="ingest"))
    cso = Actor(username="dara", role=Role.CSO_MEMBER, organisation="Child Rights Coalition")
    command = signed_event(AssessmentSubmittedV1(
        assessment_id="as-000001", recommendation_id="KHM-4-110.23", assessor=Assessor.CNCC,
        status=ImplementationStatus.FULLY_IMPLEMENTED), source="ui", actor=cso)
    await send(producer, topics.tracker_commands, command)

    async def answered() -> Any:
        return await mongo_db.processed_messages.find_one({"_id": str(command.event_id)})
    result = await wait_for(answered)
    assert result["outcome"] == "rejected" and "may not" in result["error"]
    doc = await mongo_db.recommendations.find_one({"_id": "KHM-4-110.23"})
    assert doc.get("cncc_status") is None


def evidence_for(rec_id: str, evidence_id: str) -> Any:
    from contracts.events import EvidenceSourceType, EvidenceSubmittedV1
    reviewer = Actor(username="vanna", role=Role.REVIEWER, organisation="CNCC")
    return signed_event(EvidenceSubmittedV1(evidence_id=evidence_id, recommendation_ids=[rec_id],
                                          source_type=EvidenceSourceType.STATISTICS, title="Birth registration 2025"),
                      source="ui", actor=reviewer)


async def test_evidence_sent_before_its_recommendation_is_applied_once_it_is_imported(
    tracker_app: Any, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any
) -> None:
    early = evidence_for("KHM-4-110.23", "ev-early-01")
    await send(producer, topics.tracker_commands, early)

    async def parked() -> Any:
        return await mongo_db.processed_messages.find_one({"_id": str(early.event_id), "outcome": "parked"})
    receipt = await wait_for(parked)
    assert "waiting for recommendation(s) KHM-4-110.23" in receipt["error"]
    assert await mongo_db.evidence.count_documents({}) == 0

    await send(producer, topics.recommendations_imported, signed_event(imported(), source="ingest"))

    async def applied() -> Any:
        return await mongo_db.evidence.find_one({"_id": "ev-early-01"})
    await wait_for(applied)
    doc = await mongo_db.recommendations.find_one({"_id": "KHM-4-110.23"})
    assert doc["evidence_count"] == 1

    async def unparked() -> bool:
        # The parked copy is removed after the evidence is stored: wait for it, do not race it.
        return await mongo_db.parked_messages.count_documents({}) == 0
    await wait_for(unparked, what="the parked command removed")


async def test_evidence_for_a_recommendation_that_never_comes_is_dead_lettered_with_the_reason(
    kafka_bootstrap: str, mongodb_uri: str, topics: Topics, mongo_db: Any, producer: AIOKafkaProducer
) -> None:
    settings = TrackerSettings(kafka_bootstrap=kafka_bootstrap, mongodb_uri=mongodb_uri, mongodb_db=mongo_db.name,
                               topic_prefix=topics.prefix, park_timeout_s=1.0)
    async with build_app(settings):
        orphan = evidence_for("KHM-9-1.1", "ev-orphan-1")
        await send(producer, topics.tracker_commands, orphan)

        async def rejected() -> Any:
            return await mongo_db.processed_messages.find_one({"_id": str(orphan.event_id), "outcome": "rejected"})
        receipt = await wait_for(rejected, timeout=40)
    assert receipt["error"] == "unknown recommendation(s) KHM-9-1.1"
    dead = await read_topic(kafka_bootstrap, topics.dead_letter("upr-tracker"), expected=1)
    assert [dict(r.headers)["x-dlq-reason"].decode() for r in dead] == ["unknown recommendation(s) KHM-9-1.1"]
    assert await mongo_db.evidence.count_documents({}) == 0


async def test_two_trackers_in_one_group_share_the_partitions_and_store_each_recommendation_once(
    kafka_bootstrap: str, mongodb_uri: str, topics: Topics, mongo_db: Any, producer: AIOKafkaProducer
) -> None:
    def settings(name: str) -> TrackerSettings:
        return TrackerSettings(kafka_bootstrap=kafka_bootstrap, mongodb_uri=mongodb_uri, mongodb_db=mongo_db.name,
                               topic_prefix=topics.prefix, instance_id=name)
    first, second = build_app(settings("tracker-a")), build_app(settings("tracker-b"))
    async with first, second:
        await asyncio.sleep(3)  # both members joined: partitions are split between them
        events = [signed_event(imported(f"KHM-4-120.{n}", f"Protect children from trafficking ({n})"), source="ingest")
                  for n in range(1, 121)]
        for event in events:
            await producer.send(topics.recommendations_imported, event.to_bytes(),
                                key=event.payload["recommendation_id"].encode(),
                                headers=[("content-type", b"application/json")])
        await producer.flush()

        async def all_stored() -> bool:
            return await mongo_db.processed_messages.count_documents({}) == len(events)
        await wait_for(all_stored, timeout=120, interval=1.0)
    by_instance: dict[str, int] = {}
    async for receipt in mongo_db.processed_messages.find({}, {"instance": 1}):
        by_instance[receipt["instance"]] = by_instance.get(receipt["instance"], 0) + 1
    assert set(by_instance) == {"tracker-a", "tracker-b"}, by_instance
    assert sum(by_instance.values()) == 120
    assert await mongo_db.recommendations.count_documents({}) == 120


async def test_two_sources_imported_at_once_through_two_trackers_store_each_recommendation_once(
    kafka_bootstrap: str, mongodb_uri: str, topics: Topics, mongo_db: Any
) -> None:
    """Rows without a paragraph get a different id from each source; the ingest keys imported
    rows by (country, cycle), so one tracker meets both sources' rows of a cycle in order and
    the second matches the first, however many trackers share the work."""
    rng = random.Random(12)
    words = sorted({rng.choice("bcdfghjklmnprstvz") + rng.choice("aeiou") + rng.choice("bcdfghklmnprst")
                    + rng.choice("aeiou") + rng.choice("nrst") for _ in range(400)})
    texts = [" ".join(rng.sample(words, 10)).capitalize() for _ in range(40)]

    def row(source: str, n: int) -> RecommendationImportedV1:
        return RecommendationImportedV1(
            recommendation_id=f"KHM-2-x{source}{n:08d}", country="KHM", cycle=2, session=18, text=texts[n],
            recommending_states=[RecommendingState(code="SWE", name="Sweden")], position=Position.SUPPORTED,
            source=SourceRef(format=f"{source}_sheet", file_name=f"{source}.csv", row=n + 2), import_id=f"imp-{source}")

    def settings(name: str) -> TrackerSettings:
        return TrackerSettings(kafka_bootstrap=kafka_bootstrap, mongodb_uri=mongodb_uri, mongodb_db=mongo_db.name,
                               topic_prefix=topics.prefix, instance_id=name, batch_max_records=8)

    async with build_app(settings("tracker-a")), build_app(settings("tracker-b")):
        await asyncio.sleep(3)  # both members joined: partitions are split between them
        interleaved = [(n + 2, row(source, n)) for n in range(40) for source in ("a", "b")]
        ingest = IngestSettings(kafka_bootstrap=kafka_bootstrap, topic_prefix=topics.prefix, env="dev")
        async with KafkaImportPublisher(ingest) as publisher:
            await publisher.publish(interleaved, import_id="imp-both", actor=None)

        async def all_processed() -> bool:
            return await mongo_db.processed_messages.count_documents({}) == 80
        await wait_for(all_processed, timeout=120, interval=1.0)
    outcomes: dict[str, int] = {}
    async for receipt in mongo_db.processed_messages.find({}, {"outcome": 1}):
        outcomes[receipt["outcome"]] = outcomes.get(receipt["outcome"], 0) + 1
    assert outcomes.get("created") == 40, outcomes
    assert await mongo_db.recommendations.count_documents({}) == 40
