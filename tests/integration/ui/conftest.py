"""Fixtures for the UI's AppTests: a fresh MongoDB database (the running FerretDB) with the
demo logins and a few recommendations in the shape the tracker stores them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.database import Database
from streamlit.testing.v1 import AppTest

from ui.auth import ensure_demo_users

ROOT = Path(__file__).resolve().parents[3]
UI = ROOT / "ui"
MONGODB_URI = os.environ.get("UPR_MONGODB_URI", "mongodb://127.0.0.1:27017")

KHMER_TEXT = "អនុម័តច្បាប់ស្តីពីកិច្ចការពារកុមារ"


def recommendation_doc(rec_id: str, text: str, *, cycle: int = 4, position: str = "Supported",
                       text_km: str | None = None, themes: tuple[str, ...] = ("T02",),
                       cso_status: str | None = None, cncc_status: str | None = None,
                       state: str = "Sweden") -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "_id": rec_id, "recommendation_id": rec_id, "country": "KHM", "cycle": cycle, "session": 46,
        "document_symbol": "A/HRC/57/9", "paragraph": rec_id.split("-", 2)[2], "text": text, "text_km": text_km,
        "recommending_states": [{"code": state[:3].upper(), "name": state}], "position": position,
        "version": 1, "child_related": True, "themes": list(themes),
        "theme_tags": [{"id": t, "confidence": 0.8, "explanation": "keyword 'child protection'",
                        "source": "tagger"} for t in themes],
        "cso_status": cso_status, "cncc_status": cncc_status,
        "disagreement": bool(cso_status and cncc_status and cso_status != cncc_status),
        "evidence_count": 0, "created_at": now, "updated_at": now,
    }


def evidence_doc(evidence_id: str, rec_id: str, *, by: str, role: str, review_state: str = "approved",
                 visibility: str = "coalition", title: str = "Sub-decree on child protection adopted",
                 flags: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "_id": evidence_id, "evidence_id": evidence_id, "recommendation_ids": [rec_id], "source_type": "law_decree",
        "title": title, "url": "https://example.org/law", "quote": "The Royal Government adopted ...",
        "organisation": "CRC", "submitted_by": {"username": by, "role": role, "organisation": "CRC"},
        "submitted_at": datetime.now(UTC), "visibility": visibility, "language": "en",
        "review_state": review_state, "safeguarding_flags": list(flags),
    }


@pytest.fixture(scope="module")
def ui_db() -> Iterator[Database[dict[str, Any]]]:
    """A fresh database named in UPR_MONGODB_DB (read by the app on every run), seeded and dropped.
    One per test module: creating a database on FerretDB takes a few seconds."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield from _seeded_db(monkeypatch)


def _seeded_db(monkeypatch: pytest.MonkeyPatch) -> Iterator[Database[dict[str, Any]]]:
    name = f"test_ui_{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("UPR_MONGODB_DB", name)
    monkeypatch.setenv("UPR_MONGODB_URI", MONGODB_URI)
    monkeypatch.setenv("UPR_COMMAND_TIMEOUT_S", "3")
    client: MongoClient[dict[str, Any]] = MongoClient(MONGODB_URI, tz_aware=True, serverSelectionTimeoutMS=3000)
    db = client[name]
    ensure_demo_users(db)
    db.recommendations.insert_many([
        recommendation_doc("KHM-4-110.23", "Adopt the Child Protection Law without delay", text_km=KHMER_TEXT,
                           cso_status="in_progress", cncc_status="fully_implemented"),
        recommendation_doc("KHM-4-110.24", "Strengthen birth registration for all children", themes=("T05",),
                           state="France"),
        recommendation_doc("KHM-3-117.5", "=HYPERLINK(\"http://evil\") end corporal punishment", cycle=3,
                           position="Noted", themes=("T06",)),
    ])
    try:
        yield db
    finally:
        client.drop_database(name)
        client.close()


WORKSPACE = UI / "entry" / "workspace.py"


def start_session(username: str) -> str:
    """A live login session for ``username`` in the test database (what a login creates)."""
    from ui.sessions import SessionPolicy, start_session
    from ui.settings import get_settings

    settings = get_settings()
    client: MongoClient[dict[str, Any]] = MongoClient(settings.mongodb_uri, tz_aware=True)
    try:
        session_id, _ = start_session(client[settings.mongodb_db], username, SessionPolicy.from_settings(settings))
    finally:
        client.close()
    return session_id


def logged_in(at: AppTest, user: str | None) -> AppTest:
    if user is not None:
        at.session_state["session_id"] = start_session(user)
    return at


def page(name: str, user: str | None, **query: str) -> AppTest:
    """An AppTest of one page file, run as ``user`` (None: anonymous)."""
    at = AppTest.from_file(str(UI / "pages" / f"{name}.py"), default_timeout=30)
    at.query_params.update(query)
    return logged_in(at, user).run()


def app(user: str | None = None) -> AppTest:
    """An AppTest of the whole workspace (navigation, sidebar), run as ``user``."""
    return logged_in(AppTest.from_file(str(WORKSPACE), default_timeout=30), user).run()


def shows_login_form(at: AppTest) -> bool:
    """What a logged-out visitor sees: the username and password fields (AppTest's lookup by
    key raises when a widget is absent, so it cannot be asserted on directly)."""
    return {"login_username", "login_password"} <= {widget.key for widget in at.text_input}
