"""Server-side login sessions in MongoDB and the signed cookie that carries their id.

Plain Python (no Streamlit), used by the Streamlit script (``ui/auth.py``) and by the two
HTTP routes that set and clear the cookie (``ui/app.py``).

- A session is a document in ``ui_sessions``: a random id (``secrets.token_urlsafe``), the
  username, ``created_at``, ``last_seen_at``, the absolute ``expires_at`` and, once revoked,
  ``revoked_at`` and why. It is valid while not revoked, before ``expires_at`` and less than
  the idle timeout after ``last_seen_at``.
- The browser holds the id in an HttpOnly, SameSite=Lax cookie whose value is signed and
  timestamped with itsdangerous; a tampered or too old cookie is ignored.
- A Streamlit script cannot set cookies (it talks to the browser over a websocket), so after
  a login it hands the browser a one-time *handoff* token (signed, 60 s, single use), which
  the page POSTs to ``/session/start``; that HTTP response sets the cookie.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from pymongo import ReturnDocument
from pymongo.database import Database

SESSIONS = "ui_sessions"
COOKIE_NAME = "upr_session"
START_PATH = "/session/start"
END_PATH = "/session/end"
HANDOFF_MAX_AGE_S = 60
# last_seen_at is written at most this often per session (a rerun per click would be a write per click).
TOUCH_EVERY_S = 60

log = logging.getLogger(__name__)
_process_secret = secrets.token_urlsafe(32)
_warned = False


@dataclass(frozen=True)
class SessionPolicy:
    secret: str
    idle_s: int
    max_age_s: int

    @classmethod
    def from_settings(cls, settings: Any) -> SessionPolicy:
        return cls(secret=signing_secret(settings.ui_session_secret), idle_s=settings.ui_session_idle_s,
                   max_age_s=settings.ui_session_max_age_s)


def signing_secret(configured: str) -> str:
    """The configured secret, or one made up for this process (sessions then end when the UI
    restarts), with a warning once."""
    global _warned
    if configured:
        return configured
    if not _warned:
        log.warning("UPR_UI_SESSION_SECRET is not set: login cookies are signed with a per-process key "
                    "and everyone logs in again after the UI restarts")
        _warned = True
    return _process_secret


def _cookie_serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="upr-ui-session-cookie")


def _handoff_serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="upr-ui-session-handoff")


def sign_session_id(secret: str, session_id: str) -> str:
    return _cookie_serializer(secret).dumps(session_id)


def session_id_from_cookie(secret: str, value: str | None, max_age_s: int) -> str | None:
    """The session id in a cookie value, or None when it is missing, tampered with or too old."""
    if not value:
        return None
    try:
        session_id = _cookie_serializer(secret).loads(value, max_age=max_age_s)
    except BadSignature:  # includes SignatureExpired
        return None
    return session_id if isinstance(session_id, str) else None


def ensure_session_indexes(db: Database[dict[str, Any]]) -> None:
    db[SESSIONS].create_index("username")


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def start_session(db: Database[dict[str, Any]], username: str, policy: SessionPolicy, *,
                  now: datetime | None = None) -> tuple[str, str]:
    """A new session for ``username``; returns (session id, one-time handoff token for the cookie)."""
    now = now or datetime.now(UTC)
    session_id = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(16)
    db[SESSIONS].insert_one({
        "_id": session_id, "username": username, "created_at": now, "last_seen_at": now,
        "expires_at": now + timedelta(seconds=policy.max_age_s), "revoked_at": None, "handoff": nonce,
    })
    # Old sessions of anyone are purged here, not by a TTL index (FerretDB does not expire documents).
    db[SESSIONS].delete_many({"expires_at": {"$lt": now - timedelta(days=1)}})
    return session_id, _handoff_serializer(policy.secret).dumps([session_id, nonce])


def redeem_handoff(db: Database[dict[str, Any]], token: str, policy: SessionPolicy, *,
                   now: datetime | None = None) -> str | None:
    """The session id a handoff token stands for, once: the token is spent on first use."""
    try:
        session_id, nonce = _handoff_serializer(policy.secret).loads(token, max_age=HANDOFF_MAX_AGE_S)
    except (BadSignature, ValueError, TypeError):
        return None
    doc = db[SESSIONS].find_one_and_update({"_id": str(session_id), "handoff": str(nonce)},
                                           {"$set": {"handoff": None}}, return_document=ReturnDocument.AFTER)
    if doc is None or not _is_valid(doc, policy, now or datetime.now(UTC)):
        return None
    return str(doc["_id"])


def _is_valid(doc: dict[str, Any], policy: SessionPolicy, now: datetime) -> bool:
    if doc.get("revoked_at") is not None:
        return False
    if now >= _aware(doc["expires_at"]):
        return False
    return now - _aware(doc["last_seen_at"]) < timedelta(seconds=policy.idle_s)


def session_user(db: Database[dict[str, Any]], session_id: str, policy: SessionPolicy, *,
                 now: datetime | None = None) -> str | None:
    """The username of a live session (and its idle clock restarted), or None."""
    now = now or datetime.now(UTC)
    doc = db[SESSIONS].find_one({"_id": session_id})
    if doc is None or not _is_valid(doc, policy, now):
        return None
    if now - _aware(doc["last_seen_at"]) >= timedelta(seconds=min(TOUCH_EVERY_S, policy.idle_s / 10)):
        db[SESSIONS].update_one({"_id": session_id}, {"$set": {"last_seen_at": now}})
    return str(doc["username"])


def revoke_session(db: Database[dict[str, Any]], session_id: str, reason: str = "logout") -> None:
    db[SESSIONS].update_one({"_id": session_id, "revoked_at": None},
                            {"$set": {"revoked_at": datetime.now(UTC), "revoked_reason": reason}})


def revoke_user_sessions(db: Database[dict[str, Any]], username: str, reason: str) -> int:
    """End every live session of ``username`` (password or role changed, admin's "sign out everywhere")."""
    result = db[SESSIONS].update_many({"username": username, "revoked_at": None},
                                      {"$set": {"revoked_at": datetime.now(UTC), "revoked_reason": reason}})
    return result.modified_count


def revoke_all_sessions(db: Database[dict[str, Any]], reason: str, *, except_session: str | None = None) -> int:
    query: dict[str, Any] = {"revoked_at": None}
    if except_session:
        query["_id"] = {"$ne": except_session}
    result = db[SESSIONS].update_many(query, {"$set": {"revoked_at": datetime.now(UTC), "revoked_reason": reason}})
    return result.modified_count


def live_session_counts(db: Database[dict[str, Any]], policy: SessionPolicy, *,
                        now: datetime | None = None) -> dict[str, int]:
    """Live sessions per username (for the Admin page)."""
    now = now or datetime.now(UTC)
    counts: dict[str, int] = {}
    for doc in db[SESSIONS].find({"revoked_at": None}):
        if _is_valid(doc, policy, now):
            counts[doc["username"]] = counts.get(doc["username"], 0) + 1
    return counts
