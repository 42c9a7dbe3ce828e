"""The read API (/api/v1) on the tracker, against the real MongoDB-wire server (and Kafka for the
reviewers' "publish this cycle" command)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from contracts.api_keys import new_api_key
from contracts.events import Actor, ApiKeyIssuedV1, ApiKeyRevokedV1, CyclePublicationSetV1, Role
from contracts.topics import Topics
from services.tracker.adapters.http import http_api
from services.tracker.app import build_app
from services.tracker.settings import TrackerSettings
from tests.integration.helpers import send, signed_event, wait_for

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def rec(rec_id: str, *, cycle: int = 4, position: str = "Supported", text: str = "Protect children") -> dict[str, Any]:
    return {"_id": rec_id, "recommendation_id": rec_id, "country": "KHM", "cycle": cycle, "position": position,
            "text": text, "text_km": "ការពារកុមារ", "themes": ["T02"], "cncc_status": "in_progress",
            "recommending_states": [{"code": "SWE", "name": "Sweden"}], "created_at": NOW, "updated_at": NOW}


def evidence(ev_id: str, rec_id: str, *, state: str = "approved", visibility: str = "public",
             flags: list[str] | None = None) -> dict[str, Any]:
    return {"_id": ev_id, "evidence_id": ev_id, "recommendation_ids": [rec_id], "source_type": "law_decree",
            "title": f"title {ev_id}", "url": "https://example.org", "quote": "", "review_state": state,
            "visibility": visibility, "safeguarding_flags": flags or [], "review_comment": "reviewer note"}


def settings(mongodb_uri: str, db: Any, **extra: Any) -> TrackerSettings:
    return TrackerSettings(mongodb_uri=mongodb_uri, mongodb_db=db.name, **extra)


@pytest.fixture
async def api(mongodb_uri: str, mongo_db: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=http_api(settings(mongodb_uri, mongo_db)))
    async with httpx.AsyncClient(transport=transport, base_url="http://tracker") as client:
        yield client


async def seed(db: Any) -> None:
    await db.recommendations.insert_many([
        rec("KHM-4-110.23"), rec("KHM-4-110.24", position="Noted"), rec("KHM-3-117.5", cycle=3),
    ])
    await db.evidence.insert_many([
        evidence("ev-public", "KHM-4-110.23"),
        evidence("ev-pending", "KHM-4-110.23", state="pending"),
        evidence("ev-rejected", "KHM-4-110.23", state="rejected"),
        evidence("ev-coalition", "KHM-4-110.23", visibility="coalition"),
        evidence("ev-held", "KHM-4-110.23", flags=["name_with_age"]),
        evidence("ev-unpublished-cycle", "KHM-3-117.5"),
    ])
    await db.cycles.insert_one({"_id": "KHM-4", "country": "KHM", "cycle": 4, "published": True})


async def test_anonymous_callers_see_published_supported_recommendations_and_public_evidence_only(
    api: httpx.AsyncClient, mongo_db: Any
) -> None:
    await seed(mongo_db)
    listed = (await api.get("/api/v1/recommendations")).json()
    assert [r["recommendation_id"] for r in listed["items"]] == ["KHM-4-110.23"]  # not Noted, not cycle 3
    assert listed["items"][0]["evidence_count"] == 1 and listed["next_cursor"] is None
    detail = (await api.get("/api/v1/recommendations/KHM-4-110.23")).json()
    assert [e["evidence_id"] for e in detail["evidence"]] == ["ev-public"]
    assert "reviewer note" not in str(detail)
    evidence_page = (await api.get("/api/v1/evidence")).json()
    assert [e["evidence_id"] for e in evidence_page["items"]] == ["ev-public"]
    for hidden in ("/api/v1/recommendations/KHM-3-117.5", "/api/v1/recommendations/KHM-4-110.24",
                   "/api/v1/evidence/ev-held", "/api/v1/evidence/ev-coalition", "/api/v1/evidence/ev-pending",
                   "/api/v1/evidence/ev-unpublished-cycle"):
        answer = await api.get(hidden)
        assert answer.status_code == 404, hidden
        assert "error" in answer.json()
    assert (await api.get("/api/v1/cycles")).json() == [{"country": "KHM", "cycle": 4}]
    themes = (await api.get("/api/v1/themes")).json()
    assert len(themes) == 19 and themes[0]["id"] == "T01" and themes[0]["label_km"]


async def test_filters_and_cursor_pages_give_every_recommendation_once(api: httpx.AsyncClient, mongo_db: Any) -> None:
    await mongo_db.recommendations.insert_many(
        [rec(f"KHM-4-110.{n}", text=f"Recommendation {n} on birth registration") for n in range(1, 8)]
        + [rec("KHM-4-120.1", text="Something else")])
    await mongo_db.cycles.insert_one({"_id": "KHM-4", "country": "KHM", "cycle": 4, "published": True})
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3, "q": "BIRTH registration", **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/api/v1/recommendations", params=params)).json()
        seen += [r["recommendation_id"] for r in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(f"KHM-4-110.{n}" for n in range(1, 8)) and pages == 3
    assert (await api.get("/api/v1/recommendations", params={"q": "ការពារ"})).json()["items"]
    assert (await api.get("/api/v1/recommendations", params={"status": "fully_implemented"})).json()["items"] == []
    bad = await api.get("/api/v1/recommendations", params={"cursor": "%%%"})
    assert bad.status_code == 400
    assert (await api.get("/api/v1/recommendations", params={"limit": 1000})).status_code == 400


async def test_a_client_over_the_rate_limit_is_told_to_wait(mongodb_uri: str, mongo_db: Any) -> None:
    transport = httpx.ASGITransport(app=http_api(settings(mongodb_uri, mongo_db, api_rate_limit="3/minute")))
    async with httpx.AsyncClient(transport=transport, base_url="http://tracker") as client:
        answers = [await client.get("/api/v1/themes") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert int(answers[-1].headers["retry-after"]) >= 1


async def test_reviewers_publish_a_cycle_and_a_cso_member_cannot(
    kafka_bootstrap: str, mongodb_uri: str, topics: Topics, mongo_db: Any, producer: AIOKafkaProducer,
    api: httpx.AsyncClient,
) -> None:
    await mongo_db.recommendations.insert_one(rec("KHM-4-110.23"))
    tracker = build_app(TrackerSettings(kafka_bootstrap=kafka_bootstrap, mongodb_uri=mongodb_uri,
                                        mongodb_db=mongo_db.name, topic_prefix=topics.prefix))
    member = Actor(username="sokha", role=Role.CSO_MEMBER)
    reviewer = Actor(username="dara", role=Role.REVIEWER)
    async with tracker:
        refused = signed_event(CyclePublicationSetV1(country="KHM", cycle=4, published=True),
                             source="ui", actor=member)
        await send(producer, topics.tracker_commands, refused)

        async def rejected() -> bool:
            return await mongo_db.processed_messages.count_documents({"outcome": "rejected"}) == 1
        await wait_for(rejected)
        assert (await api.get("/api/v1/recommendations")).json()["items"] == []

        await send(producer, topics.tracker_commands, signed_event(
            CyclePublicationSetV1(country="KHM", cycle=4, published=True), source="ui", actor=reviewer))

        async def published() -> bool:
            return bool((await api.get("/api/v1/recommendations")).json()["items"])
        await wait_for(published)
        audit = await mongo_db.audit_log.find_one({"action": "cycle.publication_set"})
        assert audit["actor"]["username"] == "dara" and audit["after"] == {"published": True}


async def test_an_old_id_from_before_a_merge_of_sources_opens_the_recommendation(
    api: httpx.AsyncClient, mongo_db: Any
) -> None:
    await seed(mongo_db)
    await mongo_db.recommendations.update_one({"_id": "KHM-4-110.23"}, {"$set": {"aliases": ["KHM-4-x0c13d35a59"]}})
    await mongo_db.recommendation_aliases.insert_one({"_id": "KHM-4-x0c13d35a59", "recommendation_id": "KHM-4-110.23"})
    await mongo_db.evidence.insert_one(evidence("ev-under-old-id", "KHM-4-x0c13d35a59"))
    detail = (await api.get("/api/v1/recommendations/KHM-4-x0c13d35a59")).json()
    assert detail["recommendation_id"] == "KHM-4-110.23"
    assert sorted(e["evidence_id"] for e in detail["evidence"]) == ["ev-public", "ev-under-old-id"]


async def test_api_keys_read_as_their_role_and_a_revoked_key_is_refused(
    kafka_bootstrap: str, mongodb_uri: str, topics: Topics, mongo_db: Any, producer: AIOKafkaProducer,
    api: httpx.AsyncClient,
) -> None:
    await seed(mongo_db)
    admin = Actor(username="vanna", role=Role.ADMIN)
    viewer_key, coalition_key, sneaky_key = new_api_key(), new_api_key(), new_api_key()
    tracker = build_app(TrackerSettings(kafka_bootstrap=kafka_bootstrap, mongodb_uri=mongodb_uri,
                                        mongodb_db=mongo_db.name, topic_prefix=topics.prefix))
    async with tracker:
        for key, role, by in ((viewer_key, Role.VIEWER, admin), (coalition_key, Role.CSO_MEMBER, admin),
                              (sneaky_key, Role.ADMIN, Actor(username="sokha", role=Role.CSO_MEMBER))):
            await send(producer, topics.tracker_commands, signed_event(
                ApiKeyIssuedV1(key_id=key.key_id, name=f"partner {role}", role=role, secret_hash=key.secret_hash),
                source="ui", actor=by))

        async def handled() -> bool:
            return await mongo_db.processed_messages.count_documents({"type": "api_key.issued"}) == 3
        await wait_for(handled)

        def as_key(key: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {key}"}

        async def view(headers: dict[str, str]) -> tuple[list[str], list[str], list[str]]:
            listed = (await api.get("/api/v1/recommendations", headers=headers)).json()["items"]
            detail = (await api.get("/api/v1/recommendations/KHM-4-110.23", headers=headers)).json()
            evidence = (await api.get("/api/v1/evidence", headers=headers)).json()["items"]
            return ([r["recommendation_id"] for r in listed], sorted(e["evidence_id"] for e in detail["evidence"]),
                    sorted(e["evidence_id"] for e in evidence))

        anonymous = await view({})
        assert anonymous == (["KHM-4-110.23"], ["ev-public"], ["ev-public"])
        # A key reads as its role reads in the UI: every recommendation (noted, unpublished cycles)...
        assert await view(as_key(viewer_key.key)) == (
            ["KHM-3-117.5", "KHM-4-110.23", "KHM-4-110.24"], ["ev-public"], ["ev-public", "ev-unpublished-cycle"])
        # ...and a coalition role sees coalition-only evidence too; never pending, rejected or held items.
        assert await view({"X-API-Key": coalition_key.key}) == (
            ["KHM-3-117.5", "KHM-4-110.23", "KHM-4-110.24"], ["ev-coalition", "ev-public"],
            ["ev-coalition", "ev-public", "ev-unpublished-cycle"])
        coalition_item = (await api.get("/api/v1/evidence/ev-coalition", headers=as_key(coalition_key.key))).json()
        assert coalition_item["visibility"] == "coalition"
        assert (await api.get("/api/v1/evidence/ev-coalition", headers=as_key(viewer_key.key))).status_code == 404
        # Only an admin makes keys: the cso_member's was refused, and a key nobody made is refused.
        assert (await api.get("/api/v1/themes", headers=as_key(sneaky_key.key))).status_code == 401
        assert (await api.get("/api/v1/themes", headers=as_key("upr_not-a-key"))).status_code == 401
        stored = await mongo_db.api_keys.find_one({"_id": coalition_key.key_id})
        assert stored["created_by"]["username"] == "vanna" and stored["last_used_at"] is not None
        assert coalition_key.key.split("_")[-1] not in str(stored)  # the secret is not stored

        await send(producer, topics.tracker_commands, signed_event(
            ApiKeyRevokedV1(key_id=coalition_key.key_id), source="ui", actor=admin))

        async def revoked() -> bool:
            return (await api.get("/api/v1/themes", headers=as_key(coalition_key.key))).status_code == 401
        await wait_for(revoked)
        refused = await api.get("/api/v1/recommendations", headers={"X-API-Key": coalition_key.key})
        assert refused.status_code == 401 and "revoked" in refused.json()["error"]
        assert (await api.get("/api/v1/themes", headers=as_key(viewer_key.key))).status_code == 200
        actions = [e["action"] async for e in mongo_db.audit_log.find({"subject_type": "api_key"})]
        assert sorted(actions) == ["api_key.issued", "api_key.issued", "api_key.revoked"]
