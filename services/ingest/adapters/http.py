"""The ingest service's HTTP API: file uploads from the UI (a dry run first: the preview),
the columns of a file of unknown layout, mapping profiles, and template downloads."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymongo.errors import PyMongoError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from contracts.auth import forbidden_unless, principal
from contracts.events import Role
from services.ingest.adapters.files import detect_format
from services.ingest.adapters.files.columns import file_columns
from services.ingest.adapters.files.templates import write_evidence_template, write_recommendation_template
from services.ingest.adapters.profiles import MappingProfiles, public
from services.ingest.adapters.tracker import tracker_previewer
from services.ingest.domain import FORMATS, FileProblem
from services.ingest.domain.columns import MAPPABLE_FIELDS, MAPPED_REQUIRED
from services.ingest.domain.profiles import ProfileProblem, check_profile
from services.ingest.importer import run_import
from services.ingest.settings import IngestSettings

# The roles whose UI has the Import page (ui/pages_registry.py).
IMPORTERS = (Role.REVIEWER, Role.ADMIN)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class _TooLarge(Exception):
    pass


def http_api(settings: IngestSettings) -> Starlette:
    api = _IngestApi(settings)
    return Starlette(routes=[
        Route("/imports", api.upload, methods=["POST"]),
        Route("/imports/columns", api.columns, methods=["POST"]),
        Route("/profiles", api.list_profiles, methods=["GET"]),
        Route("/profiles/{name}", api.save_profile, methods=["PUT"]),
        Route("/templates/{kind}.xlsx", template, methods=["GET"]),
    ])


@dataclass
class _UploadParams:
    format: str | None
    cycle: int | None
    mapping: dict[str, str] | None


def _upload_params(params: Any) -> _UploadParams | JSONResponse:
    """The query of POST /imports, or the 400 answer naming the parameter that is wrong."""
    fmt = params.get("format") or None
    if fmt is not None and fmt not in FORMATS:
        return _error(400, "format", f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    try:
        cycle = int(params["cycle"]) if params.get("cycle") else None
    except ValueError:
        return _error(400, "cycle", "cycle must be a number")
    try:
        mapping = json.loads(params["mapping"]) if params.get("mapping") else None
    except ValueError:
        mapping = "bad"
    if mapping is not None and not (isinstance(mapping, dict) and all(isinstance(v, str) for v in mapping.values())):
        return _error(400, "mapping", 'mapping must be a JSON object {"field": "column"}')
    return _UploadParams(fmt, cycle, mapping or None)


def _profile_body(request_body: Any, name: str) -> tuple[str, dict[str, str], list[str], str | None]:
    """The profile a PUT /profiles/{name} body describes; ProfileProblem or ValueError/KeyError/TypeError."""
    mapping = {str(k): str(v) for k, v in dict(request_body["mapping"]).items() if v}
    header = [str(c) for c in request_body["columns"]]
    country = (str(request_body["country"]).strip().upper() or None) if request_body.get("country") else None
    return check_profile(name, mapping, header, country), mapping, header, country


class _IngestApi:
    """One method per route; the mapping profiles' store is opened on first use."""

    def __init__(self, settings: IngestSettings) -> None:
        self.settings = settings
        self._store: MappingProfiles | None = None

    def profiles(self) -> MappingProfiles:
        if self._store is None:
            self._store = MappingProfiles(self.settings.mongodb_uri, self.settings.mongodb_db)
        return self._store

    @asynccontextmanager
    async def received(self, request: Request) -> AsyncIterator[Path]:
        """The request body in a temporary file, within the size limit."""
        limit = self.settings.max_upload_bytes
        declared = int(request.headers.get("content-length") or 0)
        if declared > limit:
            raise _TooLarge(f"file of {declared} bytes exceeds the limit of {limit}")
        name = Path(request.headers.get("x-filename", "upload")).name or "upload"
        with tempfile.TemporaryDirectory(prefix="upr-import-") as tmp:
            path = Path(tmp) / name
            size = 0
            with path.open("wb") as out:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        raise _TooLarge(f"file exceeds the limit of {limit} bytes")
                    out.write(chunk)
            yield path

    async def _named_profile(self, name: str | None) -> dict[str, Any] | JSONResponse | None:
        if not name:
            return None
        try:
            profile = await asyncio.to_thread(self.profiles().get, name)
        except PyMongoError as exc:
            return _error(503, "profile", f"mapping profiles cannot be read now ({type(exc).__name__})")
        return profile if profile is not None else _error(404, "profile", f"no mapping profile named {name!r}")

    async def upload(self, request: Request) -> Response:
        """POST /imports?format=&cycle=&country=&dry_run=&profile=&mapping= with the file as the body.
        ``dry_run=1`` answers what an import would do (the tracker is asked), storing nothing."""
        params = request.query_params
        parsed = _upload_params(params)
        if isinstance(parsed, JSONResponse):
            return parsed
        # The importing user is the one the bearer token names (RequireToken checked it).
        refused = forbidden_unless(request, IMPORTERS, "import files")
        if refused is not None:
            return refused
        actor = principal(request).actor
        profile = await self._named_profile(params.get("profile"))
        if isinstance(profile, JSONResponse):
            return profile
        dry_run = params.get("dry_run") == "1"
        settings = self.settings
        try:
            async with self.received(request) as path:
                report = await asyncio.to_thread(
                    run_import, path, settings=settings, format=parsed.format, cycle=parsed.cycle,
                    country=params.get("country") or None, dry_run=dry_run, actor=actor,
                    timeout_s=settings.import_wait_s, mapping=parsed.mapping, profile=profile,
                    find_profile=None if (parsed.format or parsed.mapping or profile) else _finder(self.profiles),
                    preview=tracker_previewer(settings, settings.tracker_url, actor) if dry_run else None,
                )
        except _TooLarge as exc:
            return _error(413, None, str(exc))
        return JSONResponse(report.as_json(), status_code=422 if report.file_error else 200)

    async def columns(self, request: Request) -> Response:
        """POST /imports/columns with the file as the body: its format (if known), the saved
        profile its header reuses, and its columns with their first values (the mapping step)."""
        refused = forbidden_unless(request, IMPORTERS, "import files")
        if refused is not None:
            return refused
        try:
            async with self.received(request) as path:
                answer = await asyncio.to_thread(_columns_of, path, self.settings, self.profiles)
        except _TooLarge as exc:
            return _error(413, None, str(exc))
        except FileProblem as exc:
            return _error(422, exc.field, exc.message)
        return JSONResponse(answer)

    async def list_profiles(self, request: Request) -> Response:
        refused = forbidden_unless(request, IMPORTERS, "read mapping profiles")
        if refused is not None:
            return refused
        found = await asyncio.to_thread(self.profiles().all)
        return JSONResponse({"profiles": [public(p) for p in found]})

    async def save_profile(self, request: Request) -> Response:
        """PUT /profiles/{name} {"mapping": {field: column}, "columns": [header], "country": "KHM"|null}"""
        refused = forbidden_unless(request, IMPORTERS, "save mapping profiles")
        if refused is not None:
            return refused
        try:
            name, mapping, header, country = _profile_body(await request.json(), request.path_params["name"])
        except ProfileProblem as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"error": f'body: {{"mapping", "columns", "country"}} expected ({exc})'},
                                status_code=400)
        try:
            saved = await asyncio.to_thread(self.profiles().save, name, mapping, header, country,
                                            principal(request).actor)
        except PyMongoError as exc:
            return JSONResponse({"error": f"the profile could not be stored now ({type(exc).__name__})"},
                                status_code=503)
        return JSONResponse(public(saved))


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


def _finder(profiles: Any) -> Any:
    return lambda header: profiles().for_header(header)


def _columns_of(path: Path, settings: IngestSettings, profiles: Any) -> dict[str, Any]:
    limits = settings.archive_limits()
    try:
        fmt: str | None = detect_format(path, limits)
    except FileProblem:
        fmt = None
    found = file_columns(path, limits) if fmt != "ohchr_matrix_docx" else None
    profile = None
    if found is not None and fmt is None:
        try:
            profile = profiles().for_header(found.columns)
        except PyMongoError:  # no saved profile to offer: the mapping step still works
            profile = None
    return {"format": fmt, "profile": public(profile) if profile else None,
            "columns": found.as_json() if found is not None else [],
            "fields": MAPPABLE_FIELDS, "required": [*MAPPED_REQUIRED, "country"]}


def _error(status: int, field: str | None, message: str) -> JSONResponse:
    body = {"format": None, "rows": 0, "imported": 0, "updated": 0, "unchanged": 0, "rejected": 0,
            "errors": [{"row": None, "field": field, "message": message}]}
    return JSONResponse(json.loads(json.dumps(body)), status_code=status)
