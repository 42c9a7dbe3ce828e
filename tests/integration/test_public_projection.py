"""The published projection: kept by the tracker from its own events, equal to what the visibility
rules give from the recommendations and the evidence, and what the read API lists to anonymous
callers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from contracts.events import (
    Actor,
    EvidenceReviewRequestedV1,
    EvidenceSourceType,
    EvidenceSubmittedV1,
    Position,
    Role,
    Visibility,
)
from contracts.public_api import PublicRecommendationV1
from contracts.topics import Topics
from services.tracker.adapters.http import http_api
from services.tracker.adapters.public_store import PublicProjectionStore
from services.tracker.app import build_app
from services.tracker.settings import TrackerSettings
from tests.integration.helpers import send, signed_event, wait_for
from tests.integration.test_dashboard_summaries import imported

pytestmark = pytest.mark.integration

REVIEWER = Actor(username="sokha", role=Role.REVIEWER, organisation="CNCC")
CSO = Actor(username="dara", role=Role.CSO_MEMBER, organisation="Child Rights Coalition")


@pytest.fixture
async def tracker(kafka_bootstrap: str, mongodb_uri: str, topics: Topics, mongo_db: Any) -> AsyncIterator[None]:
    settings = TrackerSettings(kafka_bootstrap=kafka_bootstrap, mongodb_uri=mongodb_uri, mongodb_db=mongo_db.name,
                               topic_prefix=topics.prefix, examples_refresh_s=0)
    async with build_app(settings):
        yield


@pytest.fixture
async def api(mongodb_uri: str, mongo_db: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=http_api(TrackerSettings(mongodb_uri=mongodb_uri, mongodb_db=mongo_db.name)))
    async with httpx.AsyncClient(transport=transport, base_url="http://tracker") as client:
        yield client


async def _projected(store: PublicProjectionStore) -> list[PublicRecommendationV1] | None:
    stamp = (await store.stamps(["KHM-4"])).get("KHM-4")
    return None if stamp is None else await store.rows("KHM-4", stamp)


async def _equal_to_the_rules(store: PublicProjectionStore) -> bool:
    # Polled: one command's events can come in more than one batch, and a reader that meets a
    # recount half-written (parts of the newer one, the older stamp) gets None until it ends.
    return await _projected(store) == await store.rows_of("KHM", 4)


async def test_the_projection_follows_evidence_decisions_and_equals_the_rules(
    tracker: None, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any, api: httpx.AsyncClient,
) -> None:
    store = PublicProjectionStore(mongo_db)
    for rec_id, position in (("KHM-4-110.23", Position.SUPPORTED), ("KHM-4-110.24", Position.NOTED),
                             ("KHM-4-110.25", Position.SUPPORTED)):
        await send(producer, topics.recommendations_imported,
                   signed_event(imported(rec_id, 4, position), source="ingest"), key=rec_id.encode())
    for ev_id, visibility in (("ev-public", Visibility.PUBLIC), ("ev-coalition", Visibility.COALITION)):
        await send(producer, topics.tracker_commands, signed_event(EvidenceSubmittedV1(
            evidence_id=ev_id, recommendation_ids=["KHM-4-110.23"], source_type=EvidenceSourceType.LAW_DECREE,
            title=f"title {ev_id}", visibility=visibility), source="ui", actor=CSO), key=b"KHM-4-110.23")

    async def counts() -> dict[str, int] | None:
        rows = await _projected(store)
        return None if rows is None else {r.recommendation_id: r.evidence_count for r in rows}

    async def counted(expected: dict[str, int]) -> bool:
        return await counts() == expected and await mongo_db.evidence.count_documents({}) == 2

    # Imported, evidence pending: the supported recommendations, nothing counted.
    await wait_for(lambda: counted({"KHM-4-110.23": 0, "KHM-4-110.25": 0}), what="the cycle projected")
    # Nothing is listed before reviewers publish the cycle, projection or not.
    assert (await api.get("/api/v1/recommendations")).json()["items"] == []
    await mongo_db.cycles.insert_one({"_id": "KHM-4", "country": "KHM", "cycle": 4, "published": True})

    for ev_id in ("ev-public", "ev-coalition"):
        await send(producer, topics.tracker_commands, signed_event(
            EvidenceReviewRequestedV1(evidence_id=ev_id, decision="approved"), source="ui", actor=REVIEWER),
            key=b"KHM-4-110.23")
    await wait_for(lambda: counted({"KHM-4-110.23": 1, "KHM-4-110.25": 0}), what="the public item counted")
    await wait_for(lambda: _equal_to_the_rules(store), what="the projection equal to the rules")
    listed = (await api.get("/api/v1/recommendations", params={"cycle": 4})).json()
    assert [(r["recommendation_id"], r["evidence_count"]) for r in listed["items"]] == [
        ("KHM-4-110.23", 1), ("KHM-4-110.25", 0)]
    assert "title ev-" not in str(await mongo_db.public_projection.find().to_list())  # rows only, no evidence

    # A reviewer withdraws the public item: it is no longer counted, in the projection or the list.
    await send(producer, topics.tracker_commands, signed_event(
        EvidenceReviewRequestedV1(evidence_id="ev-public", decision="rejected"), source="ui", actor=REVIEWER),
        key=b"KHM-4-110.23")
    await wait_for(lambda: counted({"KHM-4-110.23": 0, "KHM-4-110.25": 0}), what="the withdrawn item uncounted")
    await wait_for(lambda: _equal_to_the_rules(store), what="the projection equal to the rules")
    listed = (await api.get("/api/v1/recommendations", params={"cycle": 4})).json()
    assert [r["evidence_count"] for r in listed["items"]] == [0, 0]

    # Unpublishing hides the cycle at once: the projection is not asked whether it is published.
    await mongo_db.cycles.update_one({"_id": "KHM-4"}, {"$set": {"published": False}})
    assert (await api.get("/api/v1/recommendations")).json()["items"] == []


async def test_the_read_api_lists_from_the_projection_once_built_and_from_the_rules_before(
    api: httpx.AsyncClient, mongo_db: Any,
) -> None:
    from tests.integration.test_read_api import seed

    await seed(mongo_db)
    store = PublicProjectionStore(mongo_db)
    before = (await api.get("/api/v1/recommendations")).json()  # no projection yet: from the rules
    assert [(r["recommendation_id"], r["evidence_count"]) for r in before["items"]] == [("KHM-4-110.23", 1)]
    assert await store.rebuild() == 2  # KHM-3 and KHM-4 (published or not)
    assert (await api.get("/api/v1/recommendations")).json() == before
    # Written behind the tracker's back: not listed until the tracker recounts the cycle.
    await mongo_db.recommendations.insert_one({**(await mongo_db.recommendations.find_one({"_id": "KHM-4-110.23"})),
                                               "_id": "KHM-4-110.99", "recommendation_id": "KHM-4-110.99"})
    assert len((await api.get("/api/v1/recommendations")).json()["items"]) == 1
    await store.recount("KHM", 4)
    listed = (await api.get("/api/v1/recommendations", params={"limit": 1})).json()
    assert [r["recommendation_id"] for r in listed["items"]] == ["KHM-4-110.23"] and listed["next_cursor"]
    rest = (await api.get("/api/v1/recommendations", params={"cursor": listed["next_cursor"]})).json()
    assert [r["recommendation_id"] for r in rest["items"]] == ["KHM-4-110.99"] and rest["next_cursor"] is None
