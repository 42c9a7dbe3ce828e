"""The tracker's small HTTP API next to its Kafka consumers: report exports for the UI, import
previews and receipts for the ingest, and the read API (``/api/v1``, ``adapters/read_api.py``).

Reads go to MongoDB with the sync client in a worker thread: report assembly is
CPU-bound and sync, and must not block the event loop that consumes Kafka.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, cast

from pymongo import MongoClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from contracts.auth import COALITION_ROLES, forbidden_unless
from contracts.events import ContractError, Role, payload_model
from services.tracker.adapters.mongo import MongoTrackerRepository
from services.tracker.adapters.read_api import read_api
from services.tracker.adapters.recent_receipts import RecentReceipts
from services.tracker.import_preview import MAX_ROWS, preview_imports
from services.tracker.reporting import (
    MEDIA_TYPES,
    NoRecommendations,
    ReportFormat,
    ReportLanguage,
    render_report,
)
from services.tracker.settings import TrackerSettings


def http_api(settings: TrackerSettings, recent_receipts: RecentReceipts | None = None) -> Starlette:
    client: MongoClient[dict[str, Any]] | None = None

    def database() -> Any:
        nonlocal client
        if client is None:
            client = MongoClient(settings.mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=5000)
        return client[settings.mongodb_db]

    # Connected on first use (the app is built before its event loop runs).
    repository = functools.cache(lambda: MongoTrackerRepository.connect(settings.mongodb_uri, settings.mongodb_db,
                                                                         recent_receipts=recent_receipts))

    async def preview(request: Request) -> Response:
        """POST /imports/preview {"rows": [recommendation.imported payloads, v1 or v2]}:
        what importing them would do (nothing stored). For the ingest's dry run."""
        refused = forbidden_unless(request, (Role.REVIEWER, Role.ADMIN), "preview imports")
        if refused is not None:
            return refused
        try:
            body = await request.json()
            rows = [_imported(item) for item in body["rows"]]
        except (ValueError, KeyError, TypeError, ContractError) as exc:
            return JSONResponse({"error": f"rows: {exc}"}, status_code=400)
        if len(rows) > MAX_ROWS:
            return JSONResponse({"error": f"at most {MAX_ROWS} rows per request"}, status_code=413)
        return JSONResponse({"outcomes": await preview_imports(repository(), rows)})

    async def report(request: Request) -> Response:
        """GET /reports/{country}/{cycle}?format=docx|md|xlsx&as_of=YYYY-MM-DD&language=en|km|bilingual"""
        q = request.query_params
        fmt = q.get("format", "docx")
        if fmt not in ("docx", "md", "xlsx"):
            return JSONResponse({"error": f"format must be one of {sorted(MEDIA_TYPES)}"}, status_code=400)
        language = q.get("language", "en")
        if language not in ("en", "km", "bilingual"):
            return JSONResponse({"error": "language must be en, km or bilingual"}, status_code=400)
        coalition = q.get("coalition") == "1"
        if coalition:  # coalition-only evidence: never to a viewer (or a service token)
            refused = forbidden_unless(request, COALITION_ROLES, "read coalition-only evidence")
            if refused is not None:
                return refused
        fmt = cast(ReportFormat, fmt)
        language = cast(ReportLanguage, language)
        try:
            cycle = int(request.path_params["cycle"])
            as_of = date.fromisoformat(q["as_of"]) if q.get("as_of") else date.today()
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        try:
            rendered = await asyncio.to_thread(
                render_report, database(), fmt=fmt, country=request.path_params["country"].upper(), cycle=cycle,
                as_of=as_of, language=language, include_coalition_only=coalition,
                all_recommendations=q.get("all") == "1",
            )
        except NoRecommendations as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        return Response(rendered.body, media_type=rendered.media_type,
                        headers={"content-disposition": f'attachment; filename="{rendered.filename}"'})

    return Starlette(routes=[
        Route("/reports/{country}/{cycle:int}", report, methods=["GET"]),
        Route("/imports/preview", preview, methods=["POST"]),
        Route("/receipts", receipts_endpoint(repository), methods=["POST"]),
        Mount("/api/v1", app=read_api(settings)),  # the versioned read API for partners and the public page
    ])


MAX_RECEIPTS = 1000  # ids per request (the waiting client asks in chunks of this many)
# What a waiting importer needs of a receipt (contracts/documents.py ProcessedMessage).
RECEIPT_FIELDS = ("outcome", "error", "ambiguous", "conflicts", "recommendation_id")


def receipts_endpoint(repository: Callable[[], MongoTrackerRepository]) -> Callable[[Request], Awaitable[Response]]:
    async def receipts(request: Request) -> Response:
        """POST /receipts {"ids": [message ids]}: the receipts stored for these messages, by id
        (ids with none yet are left out). The ingest waits on an import through this: it reads
        no collection of the tracker's."""
        refused = forbidden_unless(request, (Role.REVIEWER, Role.ADMIN), "read import receipts")
        if refused is not None:
            return refused
        try:
            ids = (await request.json())["ids"]
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise TypeError("a list of message ids")
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"error": f"ids: {exc}"}, status_code=400)
        if len(ids) > MAX_RECEIPTS:
            return JSONResponse({"error": f"at most {MAX_RECEIPTS} ids per request"}, status_code=413)
        found = await repository().processed_many(ids)
        return JSONResponse({"receipts": {mid: {k: doc.get(k) for k in RECEIPT_FIELDS if k in doc}
                                          for mid, doc in found.items()}})

    return receipts


def _imported(item: Any) -> Any:
    """A row as the ingest would publish it: v2 when it carries OHCHR's annotation id."""
    if not isinstance(item, dict):
        raise ValueError("each row is a recommendation.imported payload")
    try:
        return payload_model("recommendation.imported", 2 if item.get("annotation_id") else 1).model_validate(item)
    except ValueError as exc:
        raise ContractError(str(exc)[:500]) from None
