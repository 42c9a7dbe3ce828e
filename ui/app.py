"""UPR Tracker's workspace: `streamlit run ui/app.py` (or `uvicorn ui.app:app`).

This file is the web server (Streamlit's ASGI ``st.App``); the workspace itself is the
Streamlit script ``ui/entry/workspace.py``. The server adds two small HTTP routes, because only an
HTTP response can set an HttpOnly cookie (a Streamlit script talks over a websocket):

- ``POST /session/start`` takes the one-time handoff token a fresh login gets and answers
  with the signed session cookie (HttpOnly, SameSite=Lax, Secure over HTTPS);
- ``POST /session/end`` clears that cookie and ends its session.

Both accept only same-origin requests (``Origin`` must match ``Host``), so another site
cannot log a browser in or out.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import streamlit as st
from pymongo import MongoClient
from pymongo.database import Database
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from contracts.settings import require_trust_secrets
from ui import sessions
from ui.settings import UISettings, get_settings

WORKSPACE = Path(__file__).resolve().parent / "entry" / "workspace.py"


@lru_cache(maxsize=4)
def _client(uri: str) -> MongoClient[dict[str, Any]]:
    return MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=5000, appname="upr-ui-session")


def _database(settings: UISettings) -> Database[dict[str, Any]]:
    return _client(settings.mongodb_uri)[settings.mongodb_db]


def same_origin(request: Request) -> bool:
    """True for a request the page itself made (fetch from the same scheme://host:port)."""
    if request.headers.get("sec-fetch-site", "same-origin") != "same-origin":
        return False
    origin = request.headers.get("origin")
    return bool(origin) and urlsplit(origin).netloc == request.headers.get("host")


def _secure(request: Request, settings: UISettings) -> bool:
    return settings.ui_cookie_secure if settings.ui_cookie_secure is not None else request.url.scheme == "https"


async def start_session(request: Request) -> Response:
    if not same_origin(request):
        return Response("cross-site request refused", status_code=403)
    token = (await request.body()).decode("ascii", "replace").strip()
    settings = get_settings()
    policy = sessions.SessionPolicy.from_settings(settings)
    session_id = await run_in_threadpool(sessions.redeem_handoff, _database(settings), token, policy)
    if session_id is None:
        return Response("no such login", status_code=400)
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.set_cookie(sessions.COOKIE_NAME, sessions.sign_session_id(policy.secret, session_id),
                        max_age=policy.max_age_s, path="/", httponly=True, samesite="lax",
                        secure=_secure(request, settings))
    return response


async def end_session(request: Request) -> Response:
    if not same_origin(request):
        return Response("cross-site request refused", status_code=403)
    settings = get_settings()
    policy = sessions.SessionPolicy.from_settings(settings)
    session_id = sessions.session_id_from_cookie(policy.secret, request.cookies.get(sessions.COOKIE_NAME),
                                                 policy.max_age_s)
    if session_id:
        await run_in_threadpool(sessions.revoke_session, _database(settings), session_id, "logout")
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.delete_cookie(sessions.COOKIE_NAME, path="/", httponly=True, samesite="lax",
                           secure=_secure(request, settings))
    return response


# Production refuses to start with the placeholder token secret or command key (README "Who is trusted").
require_trust_secrets(get_settings())

app = st.App(
    str(WORKSPACE),
    routes=[Route(sessions.START_PATH, start_session, methods=["POST"]),
            Route(sessions.END_PATH, end_session, methods=["POST"])],
)
