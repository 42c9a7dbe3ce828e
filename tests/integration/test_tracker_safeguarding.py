"""Issue 13 row 6 on the real stack: every command that carries people's text goes through the
safeguarding check; held text never reaches the stored documents, the audit log or the events,
and a reviewer's release, redaction and erasure take effect."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from contracts.events import (
    Actor,
    AssessmentSubmittedV1,
    Assessor,
    EvidenceReviewRequestedV1,
    EvidenceSourceType,
    EvidenceSubmittedV1,
    ImplementationStatus,
    ReportDraftSavedV1,
    Role,
    SafeguardingReviewRequestedV1,
    ThemeCorrectionRequestedV1,
)
from contracts.topics import Topics
from services.tracker.app import build_app
from services.tracker.domain.safeguarding import ERASED_TEXT, HELD_TEXT
from tests.integration.helpers import read_topic, send, signed_event
from tests.integration.test_tracker_records import CHILD_LAW, processed, rec, tracker_settings

pytestmark = pytest.mark.integration

CSO = Actor(username="sophea", role=Role.CSO_MEMBER, organisation="Child Rights Coalition Cambodia")
CNCC = Actor(username="vanna", role=Role.REVIEWER, organisation="CNCC")
REC = "KHM-4-110.23"
KHMER = "សុខា អាយុ ១២ ឆ្នាំ នៅភូមិត្រពាំងវែង"


async def test_row6_rationales_comments_and_drafts_are_held_until_a_reviewer_decides(
    kafka_bootstrap: str, mongodb_uri: str, topics: Topics, mongo_db: Any, producer: AIOKafkaProducer
) -> None:
    app = build_app(tracker_settings(kafka_bootstrap, mongodb_uri, mongo_db.name, topics))
    async with app:
        async def run(payload: Any, actor: Actor, key: bytes = REC.encode()) -> Any:
            event = signed_event(payload, source="ui", actor=actor)
            await send(producer, topics.tracker_commands, event, key=key)
            return await processed(mongo_db, event)

        await run_import(producer, topics, mongo_db)
        await run(AssessmentSubmittedV1(assessment_id="as-sg-00001", recommendation_id=REC, assessor=Assessor.CSO,
                                        status=ImplementationStatus.IN_PROGRESS, rationale=KHMER), CSO)
        await run(ThemeCorrectionRequestedV1(recommendation_id=REC, add=["T06"],
                                             comment="born 3 May 2012, see the case file"), CSO)
        await run(EvidenceSubmittedV1(evidence_id="ev-sg-00001", recommendation_ids=[REC],
                                      source_type=EvidenceSourceType.COURT_CASE, title="Girl aged 12 named Sokha",
                                      quote="Court ruling on the case"), CSO)
        review = await run(EvidenceReviewRequestedV1(evidence_id="ev-sg-00001", decision="rejected",
                                                     comment="sokha chan, 12 must not be named"), CNCC)
        assert review["outcome"] == "updated"
        await run(ReportDraftSavedV1(country="KHM", cycle=4, section="executive_summary",
                                     text="We met a 12-year-old girl, Sokha Chan, in Kandal."), CNCC, b"KHM-4")

        stored = {
            "recommendation": await mongo_db.recommendations.find_one({"_id": REC}),
            "assessment": await mongo_db.assessments.find_one({"_id": "as-sg-00001"}),
            "evidence": await mongo_db.evidence.find_one({"_id": "ev-sg-00001"}),
            "draft": await mongo_db.report_drafts.find_one({"section": "executive_summary"}),
            "audit": [doc async for doc in mongo_db.audit_log.find()],
        }
        flat = str(stored)
        for secret in ("សុខា", "3 May 2012", "Sokha", "sokha"):
            assert secret not in flat, flat[flat.find(secret) - 300:flat.find(secret) + 40]
        assert stored["assessment"]["rationale"] == HELD_TEXT
        assert stored["recommendation"]["cso_assessment"]["rationale"] == HELD_TEXT
        assert stored["recommendation"]["last_correction"]["comment"] == HELD_TEXT
        assert stored["evidence"]["title"] == HELD_TEXT and stored["evidence"]["review_comment"] == HELD_TEXT
        assert stored["draft"]["text"] == HELD_TEXT
        holds = {doc["kind"]: doc async for doc in mongo_db.safeguarding_holds.find()}
        assert sorted(holds) == ["assessment", "correction_comment", "evidence", "report_draft", "review_comment"]
        assert holds["assessment"]["original"]["rationale"] == KHMER  # Khmer kept intact where it is kept

        # Nothing the tracker announced carries the held text (alerts and webhooks are built from these).
        events = await read_topic(kafka_bootstrap, topics.tracker_events, expected=7)
        announced = " ".join(r.value.decode("utf-8") for r in events)
        assert len(events) >= 7 and HELD_TEXT in announced
        assert not any(s in announced for s in ("Sokha", "sokha", "សុខា", "3 May"))

        # A reviewer releases the correction comment, redacts the rationale, erases the evidence title.
        await run(SafeguardingReviewRequestedV1(hold_id=holds["correction_comment"]["_id"], decision="release"),
                  CNCC)
        await run(SafeguardingReviewRequestedV1(hold_id="assessment:as-sg-00001", decision="redact",
                                                redacted={"rationale": "A child was helped in Kandal."}), CNCC)
        refused = await run(SafeguardingReviewRequestedV1(hold_id="evidence:ev-sg-00001", decision="redact",
                                                          redacted={"title": "Girl aged 12 named Dara"}), CNCC)
        assert refused["outcome"] == "rejected" and "may still identify a child" in refused["error"]
        await run(SafeguardingReviewRequestedV1(hold_id="evidence:ev-sg-00001", decision="erase"), CNCC)
        not_allowed = await run(SafeguardingReviewRequestedV1(hold_id="report_draft:x", decision="release"), CSO)
        assert not_allowed["outcome"] == "rejected"

        rec_doc = await mongo_db.recommendations.find_one({"_id": REC})
        assert rec_doc["last_correction"]["comment"] == "born 3 May 2012, see the case file"
        assert rec_doc["cso_assessment"]["rationale"] == "A child was helped in Kandal."
        assert (await mongo_db.assessments.find_one({"_id": "as-sg-00001"}))["safeguarding_state"] == "redacted"
        assessment_hold = await mongo_db.safeguarding_holds.find_one({"_id": "assessment:as-sg-00001"})
        assert assessment_hold["original"]["rationale"] == KHMER  # only here, for reviewers and admins
        evidence_hold = await mongo_db.safeguarding_holds.find_one({"_id": "evidence:ev-sg-00001"})
        assert evidence_hold["original"] == {"title": ERASED_TEXT} and evidence_hold["state"] == "erased"
        assert (await mongo_db.evidence.find_one({"_id": "ev-sg-00001"}))["title"] == ERASED_TEXT


async def run_import(producer: AIOKafkaProducer, topics: Topics, mongo_db: Any) -> None:
    event = signed_event(rec(REC, CHILD_LAW), source="ingest")
    await send(producer, topics.recommendations_imported, event)
    await processed(mongo_db, event)
