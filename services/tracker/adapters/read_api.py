"""The read API for partner systems and the public page: JSON over HTTP, ``/api/v1/...``.

FastAPI, mounted on the tracker's HTTP port, because a versioned JSON API with an OpenAPI
document is what it is made for (``/api/v1/openapi.json``, kept in docs/openapi/ by a test).
What a caller sees is decided in ``domain.publication``; this module only queries MongoDB
and pages. Lists are paged by an opaque cursor (the last id), sorted by id. Every route is
rate limited per client address (``limits``' moving window, in memory: per tracker process).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from contracts import documents as d
from contracts.events import ImplementationStatus, ReviewState, Visibility
from contracts.public_api import (
    ApiErrorV1,
    PageV1,
    PublicCycleV1,
    PublicEvidenceV1,
    PublicRecommendationDetailV1,
    PublicRecommendationV1,
    PublicStatusV1,
    PublicThemeV1,
)
from contracts.taxonomy import THEME_ID, load_taxonomy
from services.tracker.domain import publication as pub
from services.tracker.domain.report_labels import STATUS_LABELS
from services.tracker.settings import TrackerSettings

API_VERSION = "1"
MAX_PAGE = 100
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ApiErrorV1, "description": "not found, or not public"},
}
_PUBLIC_EVIDENCE = {"review_state": ReviewState.APPROVED.value, "visibility": Visibility.PUBLIC.value}


# Over the complexity limits; being split by the helper "reach" (issue 16: API keys), so left whole here.
def read_api(settings: TrackerSettings) -> FastAPI:  # noqa: C901, PLR0915
    app = FastAPI(
        title="UPR Tracker read API", version=API_VERSION, openapi_url="/openapi.json", docs_url="/docs",
        redoc_url=None,
        description="What Cambodia was recommended at its Universal Periodic Review, what it supported, "
        "the government's (CNCC) implementation status and the public evidence, for partner systems. "
        "Anonymous callers see published cycles only, and only approved evidence marked public.",
    )
    client: AsyncMongoClient[dict[str, Any]] | None = None
    limiter = MovingWindowRateLimiter(MemoryStorage())
    rate: RateLimitItem = parse(settings.api_rate_limit)

    def database() -> AsyncDatabase[dict[str, Any]]:
        nonlocal client
        if client is None:
            client = AsyncMongoClient(settings.mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=5000)
        return client[settings.mongodb_db]

    async def rate_limited(request: Request) -> None:
        who = request.client.host if request.client else "unknown"
        if not await limiter.hit(rate, "read-api", who):
            stats = await limiter.get_window_stats(rate, "read-api", who)
            wait = max(1, int(stats.reset_time - time.time()) + 1)
            raise HTTPException(429, f"too many requests: at most {rate} per client", {"Retry-After": str(wait)})

    limited = [Depends(rate_limited)]

    # Errors look like the tracker's other answers: {"error": "..."}.
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors())
        return JSONResponse({"error": problems}, status_code=400)

    async def published_cycles() -> list[int]:
        docs = await database()[d.CYCLES].find({"published": True}, {"cycle": 1}).to_list()
        return sorted({int(doc["cycle"]) for doc in docs if isinstance(doc.get("cycle"), int)})

    async def public_recommendation_doc(rec_id: str) -> dict[str, Any]:
        doc = await database()[d.RECOMMENDATIONS].find_one({"_id": rec_id})
        if doc is None:  # an old id, from before two sources were merged (an alias)
            alias = await database()[d.RECOMMENDATION_ALIASES].find_one({"_id": rec_id})
            if alias is not None:
                doc = await database()[d.RECOMMENDATIONS].find_one({"_id": alias["recommendation_id"]})
        if doc is None or not pub.recommendation_is_public(doc, await published_cycles()):
            raise HTTPException(404, f"no public recommendation {rec_id!r}")
        return doc

    @app.get("/recommendations", dependencies=limited)
    async def list_recommendations(
        cycle: Annotated[int | None, Query(ge=1, le=20)] = None,
        theme: Annotated[str | None, Query(pattern=THEME_ID, description="e.g. T05")] = None,
        status: Annotated[ImplementationStatus | None, Query(description="CNCC status")] = None,
        q: Annotated[str | None, Query(max_length=200, description="words in the English or Khmer text")] = None,
        cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    ) -> PageV1[PublicRecommendationV1]:
        """Recommendations of published cycles that Cambodia supported, sorted by id."""
        cycles = [c for c in await published_cycles() if cycle is None or c == cycle]
        if not cycles:
            return PageV1[PublicRecommendationV1](items=[])
        query: dict[str, Any] = {"cycle": {"$in": cycles}, "position": {"$in": list(pub.PUBLIC_POSITIONS)}}
        if theme:
            query["themes"] = theme
        if status is not None:
            query["cncc_status"] = status.value
        if q and q.strip():
            words = re.escape(q.strip())
            query["$or"] = [{"text": {"$regex": words, "$options": "i"}}, {"text_km": {"$regex": words}}]
        if cursor:
            query["_id"] = {"$gt": _cursor(cursor)}
        docs = await database()[d.RECOMMENDATIONS].find(query).sort("_id", 1).limit(limit + 1).to_list()
        page = docs[:limit]
        evidence = await database()[d.EVIDENCE].find(
            {"recommendation_ids": {"$in": [doc["_id"] for doc in page]}, **_PUBLIC_EVIDENCE}
        ).to_list() if page else []
        counts = pub.public_evidence_counts(evidence)
        return PageV1[PublicRecommendationV1](
            items=[pub.public_recommendation(doc, counts.get(str(doc["_id"]), 0)) for doc in page],
            next_cursor=pub.encode_cursor(str(page[-1]["_id"])) if len(docs) > limit else None,
        )

    @app.get("/recommendations/{recommendation_id}", dependencies=limited, responses=_NOT_FOUND)
    async def get_recommendation(
        recommendation_id: Annotated[str, Path(max_length=80)],
    ) -> PublicRecommendationDetailV1:
        """One recommendation with its public evidence."""
        doc = await public_recommendation_doc(recommendation_id)
        names = [doc["_id"], *(doc.get("aliases") or [])]  # evidence may name an old id
        evidence = await database()[d.EVIDENCE].find(
            {"recommendation_ids": {"$in": names}, **_PUBLIC_EVIDENCE}).to_list()
        return pub.public_recommendation_detail(doc, evidence)

    @app.get("/evidence", dependencies=limited)
    async def list_evidence(
        recommendation_id: Annotated[str | None, Query(max_length=80)] = None,
        cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    ) -> PageV1[PublicEvidenceV1]:
        """Public evidence about public recommendations, sorted by id."""
        query: dict[str, Any] = dict(_PUBLIC_EVIDENCE)
        if recommendation_id:
            doc = await public_recommendation_doc(recommendation_id)
            query["recommendation_ids"] = {"$in": [doc["_id"], *(doc.get("aliases") or [])]}
        if cursor:
            query["_id"] = {"$gt": _cursor(cursor)}
        cycles = await published_cycles()
        shown: list[PublicEvidenceV1] = []
        last: str | None = None
        async for item in database()[d.EVIDENCE].find(query).sort("_id", 1):
            if len(shown) == limit:
                return PageV1[PublicEvidenceV1](items=shown, next_cursor=pub.encode_cursor(last or ""))
            last = str(item["_id"])
            public = await _public_recommendations_of(item, cycles)
            if public and pub.evidence_is_public(item):
                shown.append(pub.public_evidence({**item, "recommendation_ids": public}))
        return PageV1[PublicEvidenceV1](items=shown)

    @app.get("/evidence/{evidence_id}", dependencies=limited, responses=_NOT_FOUND)
    async def get_evidence(evidence_id: Annotated[str, Path(max_length=80)]) -> PublicEvidenceV1:
        item = await database()[d.EVIDENCE].find_one({"_id": evidence_id, **_PUBLIC_EVIDENCE})
        public = await _public_recommendations_of(item, await published_cycles()) if item else []
        if item is None or not public or not pub.evidence_is_public(item):
            raise HTTPException(404, f"no public evidence {evidence_id!r}")
        return pub.public_evidence({**item, "recommendation_ids": public})

    async def _public_recommendations_of(item: Mapping[str, Any], cycles: list[int]) -> list[str]:
        ids = [str(i) for i in item.get("recommendation_ids") or []]
        recs = await database()[d.RECOMMENDATIONS].find(
            {"_id": {"$in": ids}}, {"cycle": 1, "position": 1}).to_list()
        return sorted(str(r["_id"]) for r in recs if pub.recommendation_is_public(r, cycles))

    @app.get("/themes", dependencies=limited)
    async def themes() -> list[PublicThemeV1]:
        """The child-rights themes (T01-T19) recommendations are tagged with."""
        return [PublicThemeV1(id=t.id, label_en=t.label_en, label_km=t.label_km, definition=t.definition)
                for t in load_taxonomy().themes]

    @app.get("/statuses", dependencies=limited)
    async def statuses() -> list[PublicStatusV1]:
        """The implementation statuses, in English and Khmer."""
        return [PublicStatusV1(id=s, label_en=STATUS_LABELS[s.value][0], label_km=STATUS_LABELS[s.value][1])
                for s in ImplementationStatus]

    @app.get("/cycles", dependencies=limited)
    async def cycles() -> list[PublicCycleV1]:
        """The UPR cycles reviewers have published."""
        docs = await database()[d.CYCLES].find({"published": True}).to_list()
        return sorted((PublicCycleV1(country=str(doc["country"]), cycle=int(doc["cycle"])) for doc in docs),
                      key=lambda c: (c.country, c.cycle))

    return app


def _cursor(cursor: str) -> str:
    try:
        return pub.decode_cursor(cursor)
    except pub.BadCursor as exc:
        raise HTTPException(400, str(exc)) from None
