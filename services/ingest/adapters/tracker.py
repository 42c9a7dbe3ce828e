"""The ingest's questions to the tracker's HTTP API: what an import would do (``POST
/imports/preview``, for a dry run) and what it did (``POST /receipts``, while an import waits)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from contracts.auth import bearer_header, issue_token, service_token
from contracts.command_client import Receipt, ReceiptLookup
from contracts.events import Actor, RecommendationImportedV1, Role
from contracts.settings import CommonSettings

CHUNK = 2000  # rows per request (the tracker takes up to 5,000)


def tracker_previewer(settings: CommonSettings, tracker_url: str, actor: Actor, timeout_s: float = 120.0) -> Any:
    """A previewer for ``run_import``: the rows go to the tracker in parts, in the name of
    ``actor`` (the reviewer who uploaded the file, already authenticated by the ingest)."""

    def preview(rows: list[RecommendationImportedV1]) -> list[dict[str, Any]]:
        headers = bearer_header(issue_token(settings.auth_secret, actor, ttl_s=settings.auth_token_ttl_s))
        answers: list[dict[str, Any]] = []
        with httpx.Client(timeout=timeout_s) as client:
            for start in range(0, len(rows), CHUNK):
                body = {"rows": [r.model_dump(mode="json") for r in rows[start:start + CHUNK]]}
                response = client.post(f"{tracker_url.rstrip('/')}/imports/preview", json=body, headers=headers)
                if response.status_code >= 400:
                    raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")
                answers.extend(response.json()["outcomes"])
        return answers

    return preview


class TrackerUnavailable(RuntimeError):
    """The tracker's HTTP API refused or failed a question."""


def tracker_receipts(settings: CommonSettings, tracker_url: str, actor: Actor | None,
                     timeout_s: float = 30.0) -> ReceiptLookup:
    """How the ingest learns what the tracker did with its messages: the tracker's
    ``POST /receipts``, in the name of ``actor`` (the uploader; the ingest itself for `upr import`)."""

    def token() -> str:  # fresh for each request: a long import outlives one token
        if actor is None:
            return service_token(settings.auth_secret, "ingest", role=Role.REVIEWER, ttl_s=settings.auth_token_ttl_s)
        return issue_token(settings.auth_secret, actor, ttl_s=settings.auth_token_ttl_s)

    async def receipts(message_ids: Sequence[str]) -> Mapping[str, Receipt]:
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            response = await client.post(f"{tracker_url.rstrip('/')}/receipts", json={"ids": list(message_ids)},
                                         headers=bearer_header(token()))
        if response.status_code >= 400:
            raise TrackerUnavailable(f"HTTP {response.status_code} from {tracker_url}: {response.text[:300]}")
        found: dict[str, Receipt] = response.json()["receipts"]
        return found

    return receipts
