"""Calls to the services' HTTP APIs (ingest imports and templates, tracker reports)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from contracts.events import Actor


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
    return {"X-UPR-User": actor.model_dump_json()}


def upload_import(base_url: str, data: bytes, file_name: str, actor: Actor, *, format: str | None = None,
                  cycle: int | None = None, country: str | None = None, timeout: float = 300.0) -> HttpResult:
    params = {k: v for k, v in {"format": format, "cycle": cycle, "country": country}.items() if v}
    headers = {"X-Filename": file_name.encode("ascii", "replace").decode(), "Content-Type": "application/octet-stream",
               **actor_header(actor)}
    return _call("POST", f"{base_url.rstrip('/')}/imports", timeout=timeout, params=params, content=data,
                 headers=headers)


def template(base_url: str, name: str) -> HttpResult:
    return _call("GET", f"{base_url.rstrip('/')}/templates/{name}", timeout=10.0)


def report(base_url: str, country: str, cycle: int, *, format: str, as_of: str, language: str,
           actor: Actor) -> HttpResult:
    return _call("GET", f"{base_url.rstrip('/')}/reports/{country}/{cycle}", timeout=120.0,
                 params={"format": format, "as_of": as_of, "language": language}, headers=actor_header(actor))
