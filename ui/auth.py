"""Logins and roles: argon2 password hashes in the ``users`` collection, session state in Streamlit.

The functions at the top are plain Python (used by the CLI, ``make demo`` and tests);
the Streamlit part (login form, :func:`require_role`) imports Streamlit lazily. Every
page calls :func:`require_role` first: the check runs on the server for each script
run, so hiding a menu entry is never the only protection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from contracts.documents import USERS, UserDoc
from contracts.events import Actor, Role

LOGIN_ATTEMPTS = "login_attempts"  # the UI's own collection: failed logins per username
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,100}$")
MIN_PASSWORD = 8

# Demo logins created by `make demo` (`upr users demo`); documented in the README.
DEMO_USERS: tuple[tuple[str, Role, str, str | None], ...] = (
    ("viewer", Role.VIEWER, "viewer-demo", None),
    ("cso", Role.CSO_MEMBER, "cso-demo-pass", "Child Rights Coalition Cambodia"),
    ("reviewer", Role.REVIEWER, "reviewer-demo", "CNCC"),
    ("admin", Role.ADMIN, "admin-demo-pass", "UPR Tracker"),
)

_hasher = PasswordHasher()


class UserError(ValueError):
    """A user cannot be created or changed as asked; the message says why."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def ensure_user_indexes(db: Database[dict[str, Any]]) -> None:
    db[USERS].create_index("username", unique=True)


def add_user(
    db: Database[dict[str, Any]], username: str, role: Role | str, password: str, *,
    organisation: str | None = None, email: str | None = None, display_name: str = "",
) -> UserDoc:
    """Create a login; refuses a taken username, a weak password or an unknown role."""
    if not USERNAME.match(username):
        raise UserError("username: 2-100 letters, digits or _ . @ -")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password: at least {MIN_PASSWORD} characters")
    try:
        role = Role(role)
    except ValueError:
        raise UserError(f"role must be one of {', '.join(r.value for r in Role)}") from None
    user = UserDoc(
        username=username, role=role, password_hash=hash_password(password), organisation=organisation,
        email=email, display_name=display_name or username, created_at=datetime.now(UTC),
    )
    try:
        db[USERS].insert_one({"_id": username, **user.model_dump(mode="python"), "role": role.value})
    except DuplicateKeyError:
        raise UserError(f"user {username!r} exists already") from None
    return user


def get_user(db: Database[dict[str, Any]], username: str) -> UserDoc | None:
    doc = db[USERS].find_one({"_id": username})
    return UserDoc.model_validate(doc) if doc else None


def list_users(db: Database[dict[str, Any]]) -> list[UserDoc]:
    return [UserDoc.model_validate(doc) for doc in db[USERS].find().sort("username", 1)]


def update_user(db: Database[dict[str, Any]], username: str, *, role: Role | None = None,
                active: bool | None = None, password: str | None = None) -> None:
    fields: dict[str, Any] = {}
    if role is not None:
        fields["role"] = Role(role).value
    if active is not None:
        fields["active"] = active
    if password is not None:
        if len(password) < MIN_PASSWORD:
            raise UserError(f"password: at least {MIN_PASSWORD} characters")
        fields["password_hash"] = hash_password(password)
    if fields and db[USERS].update_one({"_id": username}, {"$set": fields}).matched_count == 0:
        raise UserError(f"no user {username!r}")


def ensure_demo_users(db: Database[dict[str, Any]]) -> list[str]:
    """Create the demo logins that are missing; returns the usernames created."""
    ensure_user_indexes(db)
    created = []
    for username, role, password, organisation in DEMO_USERS:
        if db[USERS].find_one({"_id": username}) is None:
            try:
                add_user(db, username, role, password, organisation=organisation,
                         display_name=f"Demo {role.value}")
                created.append(username)
            except UserError:
                pass  # created meanwhile by another process
    return created


# --- login with a per-username rate limit ----------------------------------------------


@dataclass(frozen=True)
class LoginResult:
    user: UserDoc | None
    locked_minutes: int = 0


def authenticate(
    db: Database[dict[str, Any]], username: str, password: str, *, max_failures: int = 5,
    window_s: int = 900, now: datetime | None = None,
) -> LoginResult:
    """Check a password. After ``max_failures`` failures within ``window_s`` the username is
    locked for the rest of the window, whether the password is right or not."""
    now = now or datetime.now(UTC)
    username = username.strip()
    attempts = db[LOGIN_ATTEMPTS].find_one({"_id": username})
    if attempts is not None:
        first = _aware(attempts["first_at"])
        if now - first > timedelta(seconds=window_s):
            db[LOGIN_ATTEMPTS].delete_one({"_id": username})
            attempts = None
        elif int(attempts.get("failures", 0)) >= max_failures:
            remaining = first + timedelta(seconds=window_s) - now
            return LoginResult(None, locked_minutes=max(1, int(remaining.total_seconds() // 60) + 1))
    doc = db[USERS].find_one({"_id": username}) if USERNAME.match(username) else None
    user = UserDoc.model_validate(doc) if doc else None
    if user is not None and user.active and verify_password(user.password_hash, password):
        db[LOGIN_ATTEMPTS].delete_one({"_id": username})
        return LoginResult(user)
    db[LOGIN_ATTEMPTS].update_one(
        {"_id": username}, {"$inc": {"failures": 1}, "$setOnInsert": {"first_at": now}}, upsert=True
    )
    return LoginResult(None)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --- Streamlit session -----------------------------------------------------------------

SESSION_KEY = "user"


@dataclass(frozen=True)
class SessionUser:
    username: str
    role: Role
    organisation: str | None
    display_name: str

    @property
    def actor(self) -> Actor:
        return Actor(username=self.username, role=self.role, organisation=self.organisation)


def current_user() -> SessionUser | None:
    """The logged-in user, re-read from the database so a disabled or re-roled user
    loses access at their next click."""
    import streamlit as st

    from ui.read_model import database

    stored = st.session_state.get(SESSION_KEY)
    if not stored:
        return None
    user = get_user(database(), str(stored))
    if user is None or not user.active:
        st.session_state.pop(SESSION_KEY, None)
        return None
    return SessionUser(user.username, user.role, user.organisation, user.display_name or user.username)


def language() -> str:
    import streamlit as st

    return str(st.session_state.get("language", "en"))


def require_role(*roles: Role) -> SessionUser:
    """Stop the page unless someone is logged in with one of ``roles`` (all roles if none given)."""
    import streamlit as st

    from ui.i18n import t

    user = current_user()
    if user is None:
        login_form()
        st.stop()
    assert user is not None
    if roles and user.role not in roles:
        st.error(t("not_allowed", language(), role=user.role.value))
        st.stop()
    return user


def login_form() -> None:
    import streamlit as st

    from ui.i18n import t
    from ui.read_model import database
    from ui.settings import get_settings

    lang = language()
    st.title(t("app_title", lang))
    st.write(t("login_intro", lang))
    with st.form("login"):
        username = st.text_input(t("username", lang), key="login_username")
        password = st.text_input(t("password", lang), type="password", key="login_password")
        submitted = st.form_submit_button(t("login", lang))
    if submitted:
        settings = get_settings()
        result = authenticate(database(), username, password, max_failures=settings.login_max_failures,
                              window_s=settings.login_window_s)
        if result.user is not None:
            st.session_state[SESSION_KEY] = result.user.username
            st.rerun()
        elif result.locked_minutes:
            st.error(t("login_locked", lang, minutes=result.locked_minutes))
        else:
            st.error(t("login_failed", lang))


def logout() -> None:
    import streamlit as st

    st.session_state.pop(SESSION_KEY, None)
