"""The ingest service's HTTP API: file uploads from the UI and template downloads."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from contracts.auth import forbidden_unless, principal
from contracts.events import Role
from services.ingest.adapters.files.templates import write_evidence_template, write_recommendation_template
from services.ingest.domain import FORMATS
from services.ingest.importer import run_import
from services.ingest.settings import IngestSettings

# The roles whose UI has the Import page (ui/pages_registry.py).
IMPORTERS = (Role.REVIEWER, Role.ADMIN)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def http_api(settings: IngestSettings) -> Starlette:
    async def upload(request: Request) -> Response:
        """POST /imports?format=&cycle=&country=&dry_run= with the file as the body."""
        params = request.query_params
        fmt = params.get("format") or None
        if fmt is not None and fmt not in FORMATS:
            return _error(400, "format", f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
        try:
            cycle = int(params["cycle"]) if params.get("cycle") else None
        except ValueError:
            return _error(400, "cycle", "cycle must be a number")
        # The importing user is the one the bearer token names (RequireToken checked it).
        refused = forbidden_unless(request, IMPORTERS, "import files")
        if refused is not None:
            return refused
        actor = principal(request).actor
        declared = int(request.headers.get("content-length") or 0)
        if declared > settings.max_upload_bytes:
            return _error(413, None, f"file of {declared} bytes exceeds the limit of {settings.max_upload_bytes}")
        name = Path(request.headers.get("x-filename", "upload")).name or "upload"
        with tempfile.TemporaryDirectory(prefix="upr-import-") as tmp:
            path = Path(tmp) / name
            size = 0
            with path.open("wb") as out:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > settings.max_upload_bytes:
                        return _error(413, None, f"file exceeds the limit of {settings.max_upload_bytes} bytes")
                    out.write(chunk)
            report = await asyncio.to_thread(
                run_import, path, settings=settings, format=fmt, cycle=cycle,
                country=params.get("country") or None, dry_run=params.get("dry_run") == "1", actor=actor,
                timeout_s=settings.import_wait_s,
            )
        return JSONResponse(report.as_json(), status_code=422 if report.file_error else 200)

    async def template(request: Request) -> Response:
        kind = request.path_params["kind"]
        writers = {"recommendations": write_recommendation_template, "evidence": write_evidence_template}
        if kind not in writers:
            return _error(404, None, "templates: recommendations.xlsx or evidence.xlsx")
        with tempfile.TemporaryDirectory() as tmp:
            path = writers[kind](Path(tmp) / f"{kind}.xlsx")
            body = path.read_bytes()
        return Response(body, media_type=XLSX,
                        headers={"content-disposition": f'attachment; filename="upr-{kind}-template.xlsx"'})

    return Starlette(routes=[
        Route("/imports", upload, methods=["POST"]),
        Route("/templates/{kind}.xlsx", template, methods=["GET"]),
    ])


def _error(status: int, field: str | None, message: str) -> JSONResponse:
    body = {"format": None, "rows": 0, "imported": 0, "updated": 0, "unchanged": 0, "rejected": 0,
            "errors": [{"row": None, "field": field, "message": message}]}
    return JSONResponse(json.loads(json.dumps(body)), status_code=status)
