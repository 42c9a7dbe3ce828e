"""Calls to the services' HTTP APIs (ingest imports and templates, tracker reports)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from contracts.auth import bearer_header, issue_token, service_token
from contracts.events import Actor
from contracts.settings import require_trust_secrets
from ui.settings import UISettings, get_settings


@dataclass(frozen=True)
class HttpResult:
    ok: bool
    status: int | None
    content: bytes = b""
    error: str = ""
    content_type: str = ""

    def json(self) -> Any:
        return json.loads(self.content)


def _call(method: str, url: str, *, timeout: float, **kwargs: Any) -> HttpResult:
    try:
        response = httpx.request(method, url, timeout=timeout, **kwargs)
    except httpx.HTTPError as exc:
        return HttpResult(False, None, error=f"the service at {url.split('?')[0]} did not answer ({exc})")
    if response.status_code >= 400:
        detail = response.text[:500]
        try:
            body = response.json()
            detail = str(body.get("detail") or body.get("error") or body) if isinstance(body, dict) else detail
        except ValueError:
            pass
        return HttpResult(False, response.status_code, response.content,
                          error=f"HTTP {response.status_code}: {detail}",
                          content_type=response.headers.get("content-type", ""))
    return HttpResult(True, response.status_code, response.content,
                      content_type=response.headers.get("content-type", ""))


def actor_header(actor: Actor) -> dict[str, str]:
    """A short-lived bearer token for the logged-in user: the services trust nothing else."""
    settings = _settings()
    return bearer_header(issue_token(settings.auth_secret, actor, ttl_s=settings.auth_token_ttl_s))


def _service_header() -> dict[str, str]:
    """For what the UI fetches on its own account (blank templates): a service token."""
    settings = _settings()
    return bearer_header(service_token(settings.auth_secret, "ui", ttl_s=settings.auth_token_ttl_s))


def _settings() -> UISettings:
    settings = get_settings()
    require_trust_secrets(settings, commands=False)
    return settings


def _file_headers(file_name: str, actor: Actor) -> dict[str, str]:
    return {"X-Filename": file_name.encode("ascii", "replace").decode(), "Content-Type": "application/octet-stream",
            **actor_header(actor)}


def upload_import(base_url: str, data: bytes, file_name: str, actor: Actor, *, format: str | None = None,
                  cycle: int | None = None, country: str | None = None, dry_run: bool = False,
                  profile: str | None = None, timeout: float = 300.0) -> HttpResult:
    """Import a file; ``dry_run``: only say what the import would do (the preview)."""
    params = {k: v for k, v in {"format": format, "cycle": cycle, "country": country, "profile": profile,
                                "dry_run": "1" if dry_run else None}.items() if v}
    return _call("POST", f"{base_url.rstrip('/')}/imports", timeout=timeout, params=params, content=data,
                 headers=_file_headers(file_name, actor))


def import_columns(base_url: str, data: bytes, file_name: str, actor: Actor) -> HttpResult:
    """The file's format if known, the saved profile of its header, its columns with first values."""
    return _call("POST", f"{base_url.rstrip('/')}/imports/columns", timeout=60.0, content=data,
                 headers=_file_headers(file_name, actor))


def save_profile(base_url: str, name: str, mapping: dict[str, str], columns: list[str], country: str | None,
                 actor: Actor) -> HttpResult:
    """Save a mapping profile through the ingest service (which owns them)."""
    from urllib.parse import quote

    return _call("PUT", f"{base_url.rstrip('/')}/profiles/{quote(name, safe='')}", timeout=15.0,
                 json={"mapping": mapping, "columns": columns, "country": country}, headers=actor_header(actor))


def template(base_url: str, name: str) -> HttpResult:
    return _call("GET", f"{base_url.rstrip('/')}/templates/{name}", timeout=10.0, headers=_service_header())


def report(base_url: str, country: str, cycle: int, *, format: str, as_of: str, language: str,
           actor: Actor) -> HttpResult:
    return _call("GET", f"{base_url.rstrip('/')}/reports/{country}/{cycle}", timeout=120.0,
                 params={"format": format, "as_of": as_of, "language": language}, headers=actor_header(actor))
