"""The read API for partner systems and the public page: JSON over HTTP, ``/api/v1/...``.

FastAPI, mounted on the tracker's HTTP port, because a versioned JSON API with an OpenAPI
document is what it is made for (``/api/v1/openapi.json``, kept in docs/openapi/ by a test).
What a caller sees is decided in ``domain.publication``; this module only queries MongoDB
and pages. Lists are paged by an opaque cursor (the last id), sorted by id. Anonymous callers'
list is read from the published projection (adapters/public_store.py: a few documents by _id,
kept in memory until the tracker recounts them), so a page of 100 costs milliseconds at 10,000
recommendations on the embedded FerretDB, where a filtered, sorted query decoded them all.
Every route is rate limited per API key, or per client address for anonymous callers (``limits``' moving
window, in memory: per tracker process).

Anonymous callers get the public projection. A partner system sends an API key
(``Authorization: Bearer upr_...`` or ``X-API-Key: upr_...``, made on the Admin page) and
reads as the key's role reads; an unknown, malformed or revoked key is refused (401), never
served as anonymous, so a partner notices at once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from contracts import documents as d
from contracts.api_keys import COLLECTION as API_KEYS
from contracts.api_keys import BadApiKey, parse_api_key, secret_matches
from contracts.events import ImplementationStatus, Role
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
from services.tracker.adapters.public_store import PublicProjectionStore
from services.tracker.domain import publication as pub
from services.tracker.domain.report_labels import STATUS_LABELS
from services.tracker.settings import TrackerSettings

API_VERSION = "1"
MAX_PAGE = 100
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ApiErrorV1, "description": "not found, or not visible to the caller"},
}
_REFUSED: dict[int | str, dict[str, Any]] = {
    401: {"model": ApiErrorV1, "description": "an unknown, malformed or revoked API key"},
}
# Writing "last used" on every request would double the work of a busy partner: once a minute.
LAST_USED_EVERY = timedelta(minutes=1)
_REALM = {"WWW-Authenticate": 'Bearer realm="upr-read-api"'}

_bearer = HTTPBearer(auto_error=False, scheme_name="api_key_bearer",
                     description="An API key from the Admin page: `Authorization: Bearer upr_...`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="api_key_header",
                       description="The same API key in an `X-API-Key` header")


class _Store:
    """The read API's MongoDB queries and rate limiter (one per app)."""

    def __init__(self, settings: TrackerSettings) -> None:
        self.settings = settings
        self.client: AsyncMongoClient[dict[str, Any]] | None = None
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.rate: RateLimitItem = parse(settings.api_rate_limit)
        # Projection rows by (country, cycle) key, with the stamp of the recount they came from.
        self._rows: dict[str, tuple[tuple[datetime, int], list[PublicRecommendationV1]]] = {}

    def db(self) -> AsyncDatabase[dict[str, Any]]:
        if self.client is None:
            self.client = AsyncMongoClient(self.settings.mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=5000)
        return self.client[self.settings.mongodb_db]

    async def published(self) -> list[tuple[str, int]]:
        """The (country, cycle) of every published cycle: read on every request, so that
        unpublishing a cycle hides it at once."""
        docs = await self.db()[d.CYCLES].find({"published": True}, {"country": 1, "cycle": 1}).to_list()
        return sorted({(str(doc.get("country")), int(doc["cycle"])) for doc in docs
                       if isinstance(doc.get("cycle"), int)})

    async def published_cycles(self) -> list[int]:
        return sorted({cycle for _, cycle in await self.published()})

    async def public_rows(self, cycle: int | None) -> list[PublicRecommendationV1]:
        """What anonymous callers may list (of one cycle, or all published), sorted by id: the
        projection's rows, read again only when the tracker has recounted them; computed from
        the recommendations where there is no projection yet (or it is being rewritten)."""
        keys = [key for key in await self.published() if cycle is None or key[1] == cycle]
        projection = PublicProjectionStore(self.db())
        stamps = await projection.stamps([pub.projection_id(*key) for key in keys])
        rows: list[PublicRecommendationV1] = []
        for country, year in keys:
            key = pub.projection_id(country, year)
            stamp, cached = stamps.get(key), self._rows.get(key)
            if stamp is not None and cached is not None and cached[0] == stamp:
                rows += cached[1]
                continue
            stored = await projection.rows(key, stamp) if stamp is not None else None
            if stored is not None and stamp is not None:
                self._rows[key] = (stamp, stored)
            rows += stored if stored is not None else await projection.rows_of(country, year)
        return sorted(rows, key=lambda row: row.recommendation_id) if len(keys) > 1 else rows

    async def recommendation_doc(self, rec_id: str, reader: pub.Reader) -> dict[str, Any]:
        recs = self.db()[d.RECOMMENDATIONS]
        doc = await recs.find_one({"_id": rec_id})
        if doc is None:  # an old id, from before two sources were merged (an alias)
            alias = await self.db()[d.RECOMMENDATION_ALIASES].find_one({"_id": rec_id})
            if alias is not None:
                doc = await recs.find_one({"_id": alias["recommendation_id"]})
        if doc is None or not pub.recommendation_is_public(doc, await self.published_cycles(), reader):
            raise HTTPException(404, f"no public recommendation {rec_id!r}")
        return doc

    async def visible_recommendations_of(self, item: Mapping[str, Any], cycles: list[int],
                                         reader: pub.Reader) -> list[str]:
        ids = [str(i) for i in item.get("recommendation_ids") or []]
        recs = await self.db()[d.RECOMMENDATIONS].find(
            {"_id": {"$in": ids}}, {"cycle": 1, "position": 1}).to_list()
        return sorted(str(r["_id"]) for r in recs if pub.recommendation_is_public(r, cycles, reader))

    async def key_holder(self, key: str) -> tuple[str, Role]:
        """(key id, role) of a valid key; 401 otherwise."""
        try:
            key_id, secret = parse_api_key(key)
        except BadApiKey as exc:
            raise HTTPException(401, str(exc), _REALM) from None
        doc = await self.db()[API_KEYS].find_one({"_id": key_id})
        if doc is None or not secret_matches(secret, str(doc.get("secret_hash", ""))):
            raise HTTPException(401, "unknown API key", _REALM)
        if doc.get("revoked_at") is not None:
            raise HTTPException(401, f"API key {key_id} ({doc.get('name')}) was revoked", _REALM)
        now = datetime.now(UTC)
        last = doc.get("last_used_at")
        if last is None or now - last >= LAST_USED_EVERY:
            await self.db()[API_KEYS].update_one({"_id": key_id}, {"$set": {"last_used_at": now}})
        return key_id, Role(doc["role"])

    async def within_rate(self, who: str) -> None:
        if not await self.limiter.hit(self.rate, "read-api", who):
            stats = await self.limiter.get_window_stats(self.rate, "read-api", who)
            wait = max(1, int(stats.reset_time - time.time()) + 1)
            raise HTTPException(429, f"too many requests: at most {self.rate} per client", {"Retry-After": str(wait)})


def _store(request: Request) -> _Store:
    store: _Store = request.app.state.store
    return store


async def caller(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> pub.Reader:
    """Who is asking (anonymous, or the holder of an API key), within the rate limit."""
    store = _store(request)
    if bearer is None and request.headers.get("authorization"):
        raise HTTPException(401, "the Authorization header must be 'Bearer <API key>'", _REALM)
    key = bearer.credentials if bearer is not None else header
    if not key:
        await store.within_rate(request.client.host if request.client else "unknown")
        return pub.PUBLIC
    key_id, role = await store.key_holder(key)
    await store.within_rate(f"key:{key_id}")
    return pub.Reader(role)


Caller = Annotated[pub.Reader, Depends(caller)]
router = APIRouter(responses=_REFUSED)


@router.get("/recommendations")
async def list_recommendations(
    request: Request,
    reader: Caller,
    cycle: Annotated[int | None, Query(ge=1, le=20)] = None,
    theme: Annotated[str | None, Query(pattern=THEME_ID, description="e.g. T05")] = None,
    status: Annotated[ImplementationStatus | None, Query(description="CNCC status")] = None,
    q: Annotated[str | None, Query(max_length=200, description="words in the English or Khmer text")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> PageV1[PublicRecommendationV1]:
    """Recommendations sorted by id: for anonymous callers, those of published cycles that
    Cambodia supported; for an API key, all of them."""
    store = _store(request)
    after = _cursor(cursor) if cursor else None
    if reader.anonymous:
        rows = [row for row in await store.public_rows(cycle)
                if pub.matches(row, theme=theme, status=status.value if status else None, q=q)]
        items, next_cursor = pub.page_after(rows, after, limit)
        return PageV1[PublicRecommendationV1](items=items, next_cursor=next_cursor)
    query: dict[str, Any] = {} if cycle is None else {"cycle": cycle}  # a key holder lists every one
    if theme:
        query["themes"] = theme
    if status is not None:
        query["cncc_status"] = status.value
    if q and q.strip():
        words = re.escape(q.strip())
        query["$or"] = [{"text": {"$regex": words, "$options": "i"}}, {"text_km": {"$regex": words}}]
    if after:
        query["_id"] = {"$gt": after}
    docs = await store.db()[d.RECOMMENDATIONS].find(query).sort("_id", 1).limit(limit + 1).to_list()
    page = docs[:limit]
    evidence = await store.db()[d.EVIDENCE].find(
        {"recommendation_ids": {"$in": [doc["_id"] for doc in page]}, **pub.evidence_query(reader)}
    ).to_list() if page else []
    counts = pub.public_evidence_counts(evidence, reader)
    return PageV1[PublicRecommendationV1](
        items=[pub.public_recommendation(doc, counts.get(str(doc["_id"]), 0)) for doc in page],
        next_cursor=pub.encode_cursor(str(page[-1]["_id"])) if len(docs) > limit else None,
    )


@router.get("/recommendations/{recommendation_id}", responses=_NOT_FOUND)
async def get_recommendation(
    request: Request, reader: Caller, recommendation_id: Annotated[str, Path(max_length=80)],
) -> PublicRecommendationDetailV1:
    """One recommendation with the evidence the caller may see."""
    store = _store(request)
    doc = await store.recommendation_doc(recommendation_id, reader)
    names = [doc["_id"], *(doc.get("aliases") or [])]  # evidence may name an old id
    evidence = await store.db()[d.EVIDENCE].find(
        {"recommendation_ids": {"$in": names}, **pub.evidence_query(reader)}).to_list()
    return pub.public_recommendation_detail(doc, evidence, reader)


@router.get("/evidence")
async def list_evidence(
    request: Request,
    reader: Caller,
    recommendation_id: Annotated[str | None, Query(max_length=80)] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> PageV1[PublicEvidenceV1]:
    """Evidence the caller may see about recommendations it may see, sorted by id."""
    store = _store(request)
    query: dict[str, Any] = pub.evidence_query(reader)
    if recommendation_id:
        doc = await store.recommendation_doc(recommendation_id, reader)
        query["recommendation_ids"] = {"$in": [doc["_id"], *(doc.get("aliases") or [])]}
    if cursor:
        query["_id"] = {"$gt": _cursor(cursor)}
    cycles = await store.published_cycles()
    shown: list[PublicEvidenceV1] = []
    last: str | None = None
    async for item in store.db()[d.EVIDENCE].find(query).sort("_id", 1):
        if len(shown) == limit:
            return PageV1[PublicEvidenceV1](items=shown, next_cursor=pub.encode_cursor(last or ""))
        last = str(item["_id"])
        visible = await store.visible_recommendations_of(item, cycles, reader)
        if visible and pub.evidence_is_public(item, reader):
            shown.append(pub.public_evidence({**item, "recommendation_ids": visible}))
    return PageV1[PublicEvidenceV1](items=shown)


@router.get("/evidence/{evidence_id}", responses=_NOT_FOUND)
async def get_evidence(
    request: Request, reader: Caller, evidence_id: Annotated[str, Path(max_length=80)],
) -> PublicEvidenceV1:
    store = _store(request)
    item = await store.db()[d.EVIDENCE].find_one({"_id": evidence_id, **pub.evidence_query(reader)})
    visible = await store.visible_recommendations_of(item, await store.published_cycles(), reader) if item else []
    if item is None or not visible or not pub.evidence_is_public(item, reader):
        raise HTTPException(404, f"no public evidence {evidence_id!r}")
    return pub.public_evidence({**item, "recommendation_ids": visible})


@router.get("/themes", dependencies=[Depends(caller)])
async def themes() -> list[PublicThemeV1]:
    """The child-rights themes (T01-T19) recommendations are tagged with."""
    return [PublicThemeV1(id=t.id, label_en=t.label_en, label_km=t.label_km, definition=t.definition)
            for t in load_taxonomy().themes]


@router.get("/statuses", dependencies=[Depends(caller)])
async def statuses() -> list[PublicStatusV1]:
    """The implementation statuses, in English and Khmer."""
    return [PublicStatusV1(id=s, label_en=STATUS_LABELS[s.value][0], label_km=STATUS_LABELS[s.value][1])
            for s in ImplementationStatus]


@router.get("/cycles", dependencies=[Depends(caller)])
async def cycles(request: Request) -> list[PublicCycleV1]:
    """The UPR cycles reviewers have published."""
    docs = await _store(request).db()[d.CYCLES].find({"published": True}).to_list()
    return sorted((PublicCycleV1(country=str(doc["country"]), cycle=int(doc["cycle"])) for doc in docs),
                  key=lambda c: (c.country, c.cycle))


def read_api(settings: TrackerSettings) -> FastAPI:
    app = FastAPI(
        title="UPR Tracker read API", version=API_VERSION, openapi_url="/openapi.json", docs_url="/docs",
        redoc_url=None,
        description="What Cambodia was recommended at its Universal Periodic Review, what it supported, "
        "the government's (CNCC) implementation status and the evidence, for partner systems. "
        "Anonymous callers see published cycles only, and only approved evidence marked public. "
        "An API key (made by an admin, bound to a role) sees what that role sees: every recommendation, "
        "and coalition-only evidence for the roles cso_member, reviewer and admin; never held, pending "
        "or rejected evidence.",
    )
    app.state.store = _Store(settings)
    app.include_router(router)

    # Errors look like the tracker's other answers: {"error": "..."}.
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors())
        return JSONResponse({"error": problems}, status_code=400)

    return app


def _cursor(cursor: str) -> str:
    try:
        return pub.decode_cursor(cursor)
    except pub.BadCursor as exc:
        raise HTTPException(400, str(exc)) from None
