"""Issue 14 on the real stack (Kafka + FerretDB): an ambiguous import row waits for a reviewer
in ``match_reviews``; the signed ``import.match_decided`` command confirms it (merged, its id an
alias, audited) or splits it (a recommendation of its own), once however often it is delivered;
the preview reads the same state and stores nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from contracts.events import (
    Actor,
    ImportMatchDecidedV1,
    Position,
    RecommendationImportedV1,
    RecommendingState,
    Role,
    SourceRef,
)
from contracts.topics import Topics
from services.tracker.adapters.mongo import MongoTrackerRepository
from services.tracker.import_preview import preview_imports
from tests.integration.helpers import send, signed_event, wait_for

pytestmark = pytest.mark.integration

REVIEWER = Actor(username="vanna", role=Role.REVIEWER, organisation="CNCC")
SPAIN = "Deepen its actions in fighting against child prostitution and trafficking of minors"
NORWAY = "Approve the request for a visit by the Special Rapporteur on the sale of children"



def imported(rec_id: str, text: str, state: str, fmt: str, import_id: str, row: int) -> RecommendationImportedV1:
    return RecommendationImportedV1(
        recommendation_id=rec_id, country="KHM", cycle=1, session=6, text=text,
        recommending_states=[RecommendingState(code=state[:3].upper(), name=state)], position=Position.SUPPORTED,
        source=SourceRef(format=fmt, file_name=f"{fmt}.csv", row=row), import_id=import_id)


async def receipt(db: Any, event_id: Any, outcome: str | None = None) -> dict[str, Any]:
    async def found() -> Any:
        doc = await db.processed_messages.find_one({"_id": str(event_id)})
        return doc if doc is not None and (outcome is None or doc["outcome"] == outcome) else None
    result: dict[str, Any] = await wait_for(found, what=f"receipt of {event_id}")
    return result


async def test_a_reviewer_confirms_one_ambiguous_row_and_splits_another_once_each(
    tracker_app: Any, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any,
) -> None:
    stored = [imported("KHM-1-x0c13d35a59", SPAIN, "Spain", "upr_info_csv", "imp-raw", 2),
              imported("KHM-1-x0000000b01", NORWAY, "Norway", "upr_info_csv", "imp-raw", 3)]
    first = [signed_event(payload, source="ingest") for payload in stored]
    for event in first:
        await send(producer, topics.recommendations_imported, event, key=event.payload["recommendation_id"].encode())
    # The second source comes after the first is stored, as when a reviewer uploads it: sent at
    # once, on other partitions, a tracker batch may meet the coalition's rows first.
    for event in first:
        await receipt(mongo_db, event.event_id)
    # A coalition's sheet, in its own words: each only maybe one of the stored two.
    cso = [imported("KHM-1-x1111111111", f"{SPAIN} and of women and girls", "Spain", "cso_sheet", "imp-cso", 5),
           imported("KHM-1-x2222222222", f"{NORWAY} and of child prostitution", "Norway", "cso_sheet", "imp-cso", 6)]
    events = [signed_event(p, source="ingest") for p in cso]
    for event in events:
        await send(producer, topics.recommendations_imported, event, key=event.payload["recommendation_id"].encode())
    for event in events:
        assert (await receipt(mongo_db, event.event_id))["outcome"] == "ambiguous"
    reviews = {d["_id"]: d async for d in mongo_db.match_reviews.find({"state": "pending"})}
    assert set(reviews) == {"cso_sheet:KHM-1-x1111111111", "cso_sheet:KHM-1-x2222222222"}
    assert reviews["cso_sheet:KHM-1-x1111111111"]["candidates"][0]["recommendation_id"] == "KHM-1-x0c13d35a59"

    # The preview reads the same state: the same rows would be ambiguous; it stores nothing.
    preview = await preview_imports(MongoTrackerRepository(mongo_db), [
        cso[0].model_copy(update={"import_id": "imp-cso-2"})])
    assert [p["outcome"] for p in preview] == ["ambiguous"]
    assert await mongo_db.recommendations.count_documents({}) == 2

    same = signed_event(ImportMatchDecidedV1(review_id="cso_sheet:KHM-1-x1111111111", decision="same",
                                             recommendation_id="KHM-1-x0c13d35a59"),
                        source="ui", actor=REVIEWER, event_id=uuid.uuid4())
    await send(producer, topics.tracker_commands, same, key=b"KHM-1-x0c13d35a59")
    assert (await receipt(mongo_db, same.event_id))["outcome"] == "updated"
    merged = await mongo_db.recommendations.find_one({"_id": "KHM-1-x0c13d35a59"})
    assert merged["aliases"] == ["KHM-1-x1111111111"] and merged["version"] == 2 and merged["text"] == SPAIN
    assert set(merged["sources"]) == {"upr_info_csv", "cso_sheet"}
    assert (await mongo_db.recommendation_aliases.find_one({"_id": "KHM-1-x1111111111"}))["recommendation_id"] \
        == "KHM-1-x0c13d35a59"
    audit = await mongo_db.audit_log.find_one({"_id": f"{same.event_id}:0"})
    assert audit["action"] == "recommendation.match_confirmed" and audit["actor"]["username"] == "vanna"

    # Delivered again: skipped. Decided again by another command: refused, the first word stands.
    await send(producer, topics.tracker_commands, same, key=b"KHM-1-x0c13d35a59")
    other = signed_event(ImportMatchDecidedV1(review_id="cso_sheet:KHM-1-x1111111111", decision="separate"),
                         source="ui", actor=REVIEWER)
    await send(producer, topics.tracker_commands, other, key=b"KHM-1-x1111111111")
    refused = await receipt(mongo_db, other.event_id)
    assert refused["outcome"] == "rejected" and "already decided" in refused["error"]
    assert await mongo_db.recommendation_versions.count_documents({"recommendation_id": "KHM-1-x0c13d35a59"}) == 2

    split = signed_event(ImportMatchDecidedV1(review_id="cso_sheet:KHM-1-x2222222222", decision="separate"),
                         source="ui", actor=REVIEWER)
    await send(producer, topics.tracker_commands, split, key=b"KHM-1-x2222222222")
    assert (await receipt(mongo_db, split.event_id))["outcome"] == "created"
    assert {d["_id"] async for d in mongo_db.recommendations.find({}, {"_id": 1})} == {
        "KHM-1-x0c13d35a59", "KHM-1-x0000000b01", "KHM-1-x2222222222"}
    assert not [d async for d in mongo_db.match_reviews.find({"state": "pending"})]

    # The coalition's sheet imported again: every row placed by its id or alias, nothing ambiguous.
    again = [signed_event(p.model_copy(update={"import_id": "imp-cso-3"}), source="ingest") for p in cso]
    for event in again:
        await send(producer, topics.recommendations_imported, event, key=event.payload["recommendation_id"].encode())
    assert [(await receipt(mongo_db, e.event_id))["outcome"] for e in again] == ["unchanged", "unchanged"]
