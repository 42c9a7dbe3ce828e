"""The Dashboard's summaries: kept by the tracker from its own events, read by the UI in one query."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from pymongo import MongoClient

from contracts.events import (
    Actor,
    AssessmentSubmittedV1,
    Assessor,
    EvidenceSourceType,
    EvidenceSubmittedV1,
    ImplementationStatus,
    Position,
    RecommendationImportedV1,
    RecommendingState,
    Role,
    SourceRef,
    Visibility,
)
from contracts.topics import Topics
from services.tracker.settings import TrackerSettings
from tests.integration.helpers import send, signed_event, wait_for
from tests.integration.ui.conftest import recommendation_doc
from ui import read_model as rm

pytestmark = pytest.mark.integration

REVIEWER = Actor(username="sokha", role=Role.REVIEWER, organisation="CNCC")
CSO = Actor(username="dara", role=Role.CSO_MEMBER, organisation="Child Rights Coalition")


def imported(rec_id: str, cycle: int, position: Position = Position.SUPPORTED) -> RecommendationImportedV1:
    return RecommendationImportedV1(
        recommendation_id=rec_id, country="KHM", cycle=cycle, session=46, document_symbol="A/HRC/57/9",
        paragraph=rec_id.split("-", 2)[2], text="Adopt the Child Protection Law without delay",
        recommending_states=[RecommendingState(code="SWE", name="Sweden")], position=position,
        source=SourceRef(format="test", file_name="test.csv", row=1), import_id="imp-dash",
    )


@pytest.fixture
def tracker_config(kafka_bootstrap: str, mongodb_uri: str, topics: Topics, mongo_db: Any) -> TrackerSettings:
    """Recounts close together: the test waits for them."""
    return TrackerSettings(kafka_bootstrap=kafka_bootstrap, mongodb_uri=mongodb_uri, mongodb_db=mongo_db.name,
                           topic_prefix=topics.prefix, examples_refresh_s=0, dashboard_min_interval_s=0.2)


@pytest.fixture
def sync_db(mongodb_uri: str, mongo_db: Any) -> Any:
    client: MongoClient[dict[str, Any]] = MongoClient(mongodb_uri, tz_aware=True)
    yield client[mongo_db.name]
    client.close()


def _same(summary: rm.DashboardSummary, counted: rm.DashboardSummary) -> bool:
    return replace(summary, disagreements=sorted(summary.disagreements, key=str)) == \
        replace(counted, disagreements=sorted(counted.disagreements, key=str))


async def test_the_tracker_keeps_the_dashboard_figures_as_facts_are_stored(
    tracker_app: Any, producer: AIOKafkaProducer, topics: Topics, sync_db: Any
) -> None:
    for rec_id, cycle, position in (("KHM-4-110.23", 4, Position.SUPPORTED), ("KHM-4-110.24", 4, Position.NOTED),
                                    ("KHM-3-117.5", 3, Position.SUPPORTED)):
        await send(producer, topics.recommendations_imported, signed_event(imported(rec_id, cycle, position),
                                                                           source="ingest"), key=rec_id.encode())
    for assessor, actor, status in ((Assessor.CSO, CSO, ImplementationStatus.IN_PROGRESS),
                                    (Assessor.CNCC, REVIEWER, ImplementationStatus.FULLY_IMPLEMENTED)):
        await send(producer, topics.tracker_commands, signed_event(AssessmentSubmittedV1(
            assessment_id=f"as-{assessor.value}", recommendation_id="KHM-4-110.23", assessor=assessor,
            status=status), source="ui", actor=actor), key=b"KHM-4-110.23")
    await send(producer, topics.tracker_commands, signed_event(EvidenceSubmittedV1(
        evidence_id="ev-dash-1", recommendation_ids=["KHM-4-110.23"], source_type=EvidenceSourceType.LAW_DECREE,
        title="Law published", visibility=Visibility.PUBLIC), source="ui", actor=REVIEWER), key=b"KHM-4-110.23")

    async def summarised() -> rm.DashboardSummary | None:
        if rm.dashboard(sync_db, None, Role.VIEWER).total != 3:
            return None
        summary = rm.dashboard(sync_db, 4, Role.VIEWER)
        return summary if summary.disagreements and summary.evidence_total == 1 and summary.total == 2 else None

    summary = await wait_for(summarised, what="both cycles summarised, the disagreement and the evidence counted")
    assert summary.by_position == {"Supported": 1, "Noted": 1}
    assert summary.by_status == {"fully_implemented": 1, "not_assessed": 1}
    assert summary.disagreements == [{"recommendation_id": "KHM-4-110.23", "cso_status": "in_progress",
                                      "cncc_status": "fully_implemented"}]
    # Read from the tracker's summaries (one per cycle), and the same as counting every recommendation.
    kinds = sorted(doc["_id"] for doc in sync_db.dashboard_summaries.find({}, {"_id": 1}))
    assert kinds == ["KHM-3", "KHM-4", "evidence", "meta"]
    for cycle in (None, 3, 4):
        for role in (Role.VIEWER, Role.REVIEWER):
            assert _same(rm.dashboard(sync_db, cycle, role), rm.counted_dashboard(sync_db, cycle, role))


async def test_upr_dashboard_rebuild_summarises_data_stored_before_and_the_ui_then_reads_the_summaries(
    mongodb_uri: str, sync_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from contracts.settings import CommonSettings
    from upr.commands.dashboard import rebuild

    sync_db.recommendations.insert_many([
        recommendation_doc("KHM-4-110.23", "Adopt the law", cso_status="in_progress", cncc_status="not_started"),
        recommendation_doc("KHM-4-110.24", "Register births", position="Noted", themes=("T05",)),
        recommendation_doc("KHM-3-117.5", "End corporal punishment", cycle=3),
    ])
    counted = rm.counted_dashboard(sync_db, None, Role.REVIEWER)
    assert _same(rm.dashboard(sync_db, None, Role.REVIEWER), counted)  # not summarised yet: counted
    assert await rebuild(CommonSettings(mongodb_uri=mongodb_uri, mongodb_db=sync_db.name)) == 2
    assert _same(rm.dashboard(sync_db, None, Role.REVIEWER), counted)
    # From now on the page reads the summaries: a document written behind the tracker's back
    # is not in them until the next recount.
    sync_db.recommendations.insert_one(recommendation_doc("KHM-4-110.99", "Written directly"))
    assert rm.dashboard(sync_db, None, Role.REVIEWER).total == 3
    assert rm.counted_dashboard(sync_db, None, Role.REVIEWER).total == 4
    # The Recommendations page's total for such filters comes from them too (no document read).
    noted = rm.RecommendationFilter(cycles=(4,), positions=("Noted",))
    assert rm.count_recommendations(sync_db, rm.RecommendationFilter(cycles=(4,))) == 2
    assert rm.count_recommendations(sync_db, noted) == 1
    assert rm.count_recommendations(sync_db, rm.RecommendationFilter(disagreement_only=True)) == 1
    # ... and from the recommendations where the summaries cannot answer (two narrowing filters).
    both = rm.RecommendationFilter(positions=("Supported",), statuses=("not_started",))
    assert rm.count_recommendations(sync_db, both) == 1
