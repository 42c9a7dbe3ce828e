"""The tracker's POST /receipts: how the ingest learns what became of an import's rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from contracts.auth import RequireToken, bearer_header, issue_token
from contracts.events import Actor, Role
from services.tracker.adapters.http import receipts_endpoint

SECRET = "unit-test-secret-unit-test-secret"


class Receipts:
    async def processed_many(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        stored = {"m1": {"_id": "m1", "outcome": "rejected", "error": "row 4: no text", "instance": "t-1",
                         "correlation_id": "imp-1"}}
        return {mid: stored[mid] for mid in ids if mid in stored}


def client() -> TestClient:
    app = Starlette(routes=[Route("/receipts", receipts_endpoint(lambda: Receipts()), methods=["POST"])])
    return TestClient(RequireToken(app, secret=SECRET))


def as_(role: Role) -> dict[str, str]:
    return bearer_header(issue_token(SECRET, Actor(username="u", role=role)))


def test_a_reviewer_gets_the_stored_receipts_only_and_only_what_an_importer_needs() -> None:
    answer = client().post("/receipts", json={"ids": ["m1", "m2"]}, headers=as_(Role.REVIEWER))
    assert answer.status_code == 200
    assert answer.json() == {"receipts": {"m1": {"outcome": "rejected", "error": "row 4: no text"}}}


def test_receipts_need_a_reviewer_and_a_list_of_ids() -> None:
    api = client()
    assert api.post("/receipts", json={"ids": ["m1"]}).status_code == 401
    assert api.post("/receipts", json={"ids": ["m1"]}, headers=as_(Role.VIEWER)).status_code == 403
    bad = api.post("/receipts", json={"ids": "m1"}, headers=as_(Role.ADMIN))
    assert bad.status_code == 400 and "ids" in bad.json()["error"]
    assert api.post("/receipts", json={"ids": ["m"] * 1001}, headers=as_(Role.ADMIN)).status_code == 413
