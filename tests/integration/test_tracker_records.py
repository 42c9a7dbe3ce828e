"""Issue 5 on the real stack: tagging on import, corrections that survive re-tagging,
evidence with provenance, both assessments and their difference, the audit log, and a
replay of the topics that rebuilds the same state."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from contracts.events import (
    Actor,
    AssessmentSubmittedV1,
    Assessor,
    EvidenceReviewRequestedV1,
    EvidenceSourceType,
    EvidenceSubmittedV1,
    ImplementationStatus,
    Position,
    RecommendationImportedV1,
    RecommendingState,
    Role,
    SourceRef,
    ThemeCorrectionRequestedV1,
    Visibility,
)
from contracts.topics import Topics
from services.tracker.app import build_app
from services.tracker.settings import TrackerSettings
from tests.integration.helpers import envelopes, read_topic, send, signed_event, wait_for

pytestmark = pytest.mark.integration

CSO = Actor(username="sophea", role=Role.CSO_MEMBER, organisation="Child Rights Coalition Cambodia")
CNCC = Actor(username="vanna", role=Role.REVIEWER, organisation="CNCC")

CHILD_LAW = "Adopt the draft Child Protection Law and establish a child protection system with social workers"
BIRTH_REG = "Ensure free and universal birth registration for all children born in Cambodia"


def rec(rec_id: str, text: str, position: Position = Position.SUPPORTED) -> RecommendationImportedV1:
    return RecommendationImportedV1(
        recommendation_id=rec_id, country="KHM", cycle=4, session=46, document_symbol="A/HRC/57/9",
        paragraph=rec_id.split("-", 2)[2], text=text, position=position,
        recommending_states=[RecommendingState(code="FIN", name="Finland")],
        source=SourceRef(format="test", file_name="cycle4.csv", row=2), import_id="imp-t",
    )


def tracker_settings(bootstrap: str, uri: str, db: str, topics: Topics, group: str = "upr-tracker") -> TrackerSettings:
    return TrackerSettings(kafka_bootstrap=bootstrap, mongodb_uri=uri, mongodb_db=db, topic_prefix=topics.prefix,
                           examples_refresh_s=0, consumer_group=group)


async def processed(db: Any, event: Any) -> Any:
    async def done() -> Any:
        return await db.processed_messages.find_one({"_id": str(event.event_id), "outcome": {"$ne": "parked"}})
    return await wait_for(done, what=f"tracker processed {event.type}")


async def test_tracker_keeps_tags_evidence_assessments_and_history(
    kafka_bootstrap: str, mongodb_uri: str, topics: Topics, mongo_db: Any, producer: AIOKafkaProducer
) -> None:
    app = build_app(tracker_settings(kafka_bootstrap, mongodb_uri, mongo_db.name, topics))
    async with app:
        first = signed_event(rec("KHM-4-110.23", CHILD_LAW), source="ingest")
        await send(producer, topics.recommendations_imported, first)
        await processed(mongo_db, first)

        # Tagged on import, with explanations and the tagger version.
        doc = await mongo_db.recommendations.find_one({"_id": "KHM-4-110.23"})
        assert doc["child_related"] is True
        assert "T02" in doc["themes"]
        t02 = next(t for t in doc["theme_tags"] if t["id"] == "T02")
        assert t02["explanation"] and 0 < t02["confidence"] <= 1
        assert doc["tagger_version"]

        # A CSO member corrects the tags: adds T06, removes T02.
        fix = signed_event(ThemeCorrectionRequestedV1(recommendation_id="KHM-4-110.23", add=["T06"], remove=["T02"],
                                                    comment="about violence"), source="ui", actor=CSO)
        await send(producer, topics.tracker_commands, fix)
        await processed(mongo_db, fix)

        # Corrected text is re-imported and re-tagged: the people's correction survives.
        again = signed_event(rec("KHM-4-110.23", CHILD_LAW + " by 2026"), source="ingest")
        await send(producer, topics.recommendations_imported, again)
        assert (await processed(mongo_db, again))["outcome"] == "updated"
        doc = await mongo_db.recommendations.find_one({"_id": "KHM-4-110.23"})
        assert "T06" in doc["themes"] and "T02" not in doc["themes"]
        assert doc["version"] == 2

        # Evidence with provenance, by a CSO member: stored, waiting for review.
        evidence = signed_event(EvidenceSubmittedV1(
            evidence_id="ev-law-2025", recommendation_ids=["KHM-4-110.23"], source_type=EvidenceSourceType.LAW_DECREE,
            title="Draft Child Protection Law sent to the Council of Ministers", url="https://example.org/cpl",
            published_on=date(2025, 6, 1), quote="ច្បាប់ស្តីពីការការពារកុមារ was approved in principle",
            visibility=Visibility.PUBLIC), source="ui", actor=CSO)
        await send(producer, topics.tracker_commands, evidence)
        await processed(mongo_db, evidence)
        ev = await mongo_db.evidence.find_one({"_id": "ev-law-2025"})
        assert ev["submitted_by"]["username"] == "sophea"
        assert ev["organisation"] == "Child Rights Coalition Cambodia"
        assert ev["quote"].startswith("ច្បាប់ស្តីពីការការពារកុមារ")
        assert ev["review_state"] == "pending"

        # A CNCC reviewer approves it; the announcement says what it is about.
        review = signed_event(EvidenceReviewRequestedV1(evidence_id="ev-law-2025", decision="approved",
                                                      comment="checked"), source="ui", actor=CNCC)
        await send(producer, topics.tracker_commands, review)
        await processed(mongo_db, review)
        assert (await mongo_db.evidence.find_one({"_id": "ev-law-2025"}))["review_state"] == "approved"

        # Both assessments; they differ, and that is queryable.
        cso = signed_event(AssessmentSubmittedV1(
            assessment_id="as-cso-0001", recommendation_id="KHM-4-110.23", assessor=Assessor.CSO,
            status=ImplementationStatus.IN_PROGRESS, rationale="law still a draft", evidence_ids=["ev-law-2025"]),
            source="ui", actor=CSO)
        cncc = signed_event(AssessmentSubmittedV1(
            assessment_id="as-cncc-0001", recommendation_id="KHM-4-110.23", assessor=Assessor.CNCC,
            status=ImplementationStatus.PARTIALLY_IMPLEMENTED, evidence_ids=["ev-law-2025"]),
            source="ui", actor=CNCC)
        for command in (cso, cncc):
            await send(producer, topics.tracker_commands, command)
            await processed(mongo_db, command)
        doc = await mongo_db.recommendations.find_one({"_id": "KHM-4-110.23"})
        assert doc["cso_status"] == "in_progress"
        assert doc["cncc_status"] == "partially_implemented"
        assert await mongo_db.recommendations.count_documents({"disagreement": True}) == 1

        # Status changes were announced.
        records = await read_topic(kafka_bootstrap, topics.tracker_events, expected=10)
        reviewed = [e for e in envelopes(records) if e.type == "evidence.reviewed"]
        assert [(e.version, e.payload["recommendation_ids"], e.payload["title"]) for e in reviewed] == [
            (2, ["KHM-4-110.23"], "Draft Child Protection Law sent to the Council of Ministers")]
        changed = [e for e in envelopes(records) if e.type == "status.changed"]
        assert {e.payload["assessor"] for e in changed} == {"cso", "cncc"}
        assert changed[-1].payload["disagreement"] is True

        # The audit log says who did what, when.
        actions = {(a["action"], a["actor"]["username"]) async for a in mongo_db.audit_log.find({})}
        assert ("themes.corrected", "sophea") in actions
        assert ("evidence.added", "sophea") in actions
        assert ("assessment.cncc", "vanna") in actions
        assert ("recommendation.updated", "system") in actions


async def test_replaying_the_topics_rebuilds_the_same_state(
    kafka_bootstrap: str, mongodb_uri: str, topics: Topics, mongo_db: Any, producer: AIOKafkaProducer
) -> None:
    commands = [
        (topics.recommendations_imported, signed_event(rec("KHM-4-110.23", CHILD_LAW), source="ingest")),
        (topics.recommendations_imported, signed_event(rec("KHM-4-110.40", BIRTH_REG), source="ingest")),
        (topics.recommendations_imported,
         signed_event(rec("KHM-4-110.40", BIRTH_REG, Position.NOTED), source="ingest")),
        (topics.tracker_commands, signed_event(ThemeCorrectionRequestedV1(
            recommendation_id="KHM-4-110.40", add=["T19"]), source="ui", actor=CSO)),
        (topics.tracker_commands, signed_event(EvidenceSubmittedV1(
            evidence_id="ev-birth-01", recommendation_ids=["KHM-4-110.40", "KHM-4-110.23"],
            source_type=EvidenceSourceType.STATISTICS, title="Birth registration rate 2025"), source="ui", actor=CNCC)),
        (topics.tracker_commands, signed_event(AssessmentSubmittedV1(
            assessment_id="as-cncc-0002", recommendation_id="KHM-4-110.40", assessor=Assessor.CNCC,
            status=ImplementationStatus.IN_PROGRESS, evidence_ids=["ev-birth-01"]), source="ui", actor=CNCC)),
    ]
    async with build_app(tracker_settings(kafka_bootstrap, mongodb_uri, mongo_db.name, topics)):
        for topic, event in commands:
            await send(producer, topic, event, key=b"same-key-keeps-order")
        for _, event in commands:
            await processed(mongo_db, event)

    replay_db = f"test_replay_{uuid.uuid4().hex[:8]}"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_uri, tz_aware=True)
    try:
        # A new consumer group reads both topics from the start into an empty database.
        # (Named under the tracker's prefix: its Kafka principal may use only upr-tracker* groups.)
        replay = tracker_settings(kafka_bootstrap, mongodb_uri, replay_db, topics, group="upr-tracker-replay")
        async with build_app(replay):
            for _, event in commands:
                await processed(client[replay_db], event)
        for collection in ("recommendations", "recommendation_versions", "evidence", "assessments", "audit_log"):
            original = [d async for d in mongo_db[collection].find({}).sort("_id", 1)]
            rebuilt = [d async for d in client[replay_db][collection].find({}).sort("_id", 1)]
            assert original, collection
            assert rebuilt == original, f"{collection} differs after replay:\n{_diff(original, rebuilt)}"
    finally:
        await client.drop_database(replay_db)
        await client.close()


def _diff(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> str:
    out = []
    for x, y in zip(a, b, strict=False):
        for k in sorted(set(x) | set(y)):
            if x.get(k) != y.get(k):
                out.append(f"{x.get('_id')}.{k}: {x.get(k)!r} != {y.get(k)!r}")
    return "\n".join(out)


async def test_a_correction_improves_the_suggestion_for_a_similar_recommendation_at_once(
    kafka_bootstrap: str, mongodb_uri: str, topics: Topics, mongo_db: Any, producer: AIOKafkaProducer
) -> None:
    settings = tracker_settings(kafka_bootstrap, mongodb_uri, mongo_db.name, topics).model_copy(
        update={"examples_refresh_s": 3600.0})  # the cache would hide the correction for an hour
    text = "Guarantee access to education for children living in remote floating villages of Tonle Sap"
    async with build_app(settings):
        first = signed_event(rec("KHM-4-110.61", text), source="ingest")
        await send(producer, topics.recommendations_imported, first)
        await processed(mongo_db, first)
        before = await mongo_db.recommendations.find_one({"_id": "KHM-4-110.61"})
        assert "T19" not in before["themes"]

        fix = signed_event(ThemeCorrectionRequestedV1(recommendation_id="KHM-4-110.61", add=["T19"],
                                                    comment="children in remote, vulnerable communities"),
                         source="ui", actor=CSO)
        await send(producer, topics.tracker_commands, fix)
        await processed(mongo_db, fix)

        similar = signed_event(rec("KHM-4-110.62", text + " and Kampong Chhnang"), source="ingest")
        await send(producer, topics.recommendations_imported, similar)
        await processed(mongo_db, similar)
    doc = await mongo_db.recommendations.find_one({"_id": "KHM-4-110.62"})
    assert "T19" in doc["themes"], doc["theme_tags"]
    t19 = next(t for t in doc["theme_tags"] if t["id"] == "T19")
    assert "KHM-4-110.61" in t19["explanation"]
