"""Asks the tracker what an import would do (its ``POST /imports/preview``), for a dry run."""

from __future__ import annotations

from typing import Any

import httpx

from contracts.auth import bearer_header, issue_token
from contracts.events import Actor, RecommendationImportedV1
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
