"""Logins and roles: argon2 password hashes in the ``users`` collection; login sessions in
MongoDB (``ui/sessions.py``) carried by a signed HttpOnly cookie, so a reload, a new tab or a
followed link keeps the user logged in.

The functions at the top are plain Python (used by the CLI, ``make demo`` and tests);
the Streamlit part (login form, :func:`require_role`) imports Streamlit lazily. Every
page calls :func:`require_role` first: the check runs on the server for each script
run, so hiding a menu entry is never the only protection.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from contracts.documents import USERS, UserDoc
from contracts.events import Actor, Role
from contracts.markdown import md_escape

LOGIN_ATTEMPTS = "login_attempts"  # the UI's own collection: failed logins per username and per client
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
    # A new password, a new role or a disabled account ends every session the user has open.
    if password is not None or role is not None or active is False:
        from ui.sessions import revoke_user_sessions

        reason = "password changed" if password is not None else "role changed" if role is not None else "disabled"
        revoke_user_sessions(db, username, reason)


def ensure_demo_users(db: Database[dict[str, Any]]) -> list[str]:
    """Create the demo logins that are missing; returns the usernames created. Their passwords
    are public (README), so this refuses outside dev mode (``UPR_ENV=dev``), whoever calls it."""
    from contracts.settings import CommonSettings

    if not CommonSettings().dev_mode:
        raise UserError("demo logins have public passwords: refused outside dev mode (set UPR_ENV=dev)")
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


# --- single sign-on (OIDC): an identity maps to a local user by email, once ---------------

OIDC_LOGINS = "ui_oidc_logins"  # the UI's own collection: identities already turned into a session


def user_by_email(db: Database[dict[str, Any]], email: str) -> UserDoc | None:
    """The one local user with this email address (any case); None when none or several have it."""
    if not email or "@" not in email:
        return None
    found = list(db[USERS].find({"email": {"$regex": f"^{re.escape(email.strip())}$", "$options": "i"}}).limit(2))
    return UserDoc.model_validate(found[0]) if len(found) == 1 else None


@dataclass(frozen=True)
class IdentityResult:
    user: UserDoc | None
    refused: str = ""  # why not: "unknown" (no such local user: shown), "stale" or "used" (silently ignored)


def redeem_identity(db: Database[dict[str, Any]], identity: dict[str, Any], *, max_age_s: int,
                    now: datetime | None = None) -> IdentityResult:
    """The local user an identity from the provider (``st.user``: ID-token claims) stands for.

    The role is the local user's: the provider only says who it is. Each identity (issuer,
    subject, issue time) opens one session and only within ``max_age_s`` of being issued: the
    provider's identity cookie outlives a logout or an admin's "sign out everywhere", and must
    not log the browser in again. Unverified addresses and unknown or disabled users get nothing."""
    now = now or datetime.now(UTC)
    issued = identity.get("iat")
    if not isinstance(issued, int | float) or not 0 <= now.timestamp() - issued <= max_age_s:
        return IdentityResult(None, "stale")
    key = hashlib.sha256(f"{identity.get('iss')}|{identity.get('sub')}|{issued}".encode()).hexdigest()
    try:
        db[OIDC_LOGINS].insert_one({"_id": key, "email": identity.get("email"), "at": now})
    except DuplicateKeyError:
        return IdentityResult(None, "used")
    db[OIDC_LOGINS].delete_many({"at": {"$lt": now - timedelta(days=1)}})
    user = user_by_email(db, str(identity.get("email") or "")) if identity.get("email_verified") is not False else None
    if user is None or not user.active:
        return IdentityResult(None, "unknown")
    return IdentityResult(user)


# --- login: the same work for every username, backoff per client and per username ----------


@dataclass(frozen=True)
class LoginResult:
    user: UserDoc | None
    retry_after_s: int = 0  # > 0: refused without checking the password; try again after this


@dataclass(frozen=True)
class LoginLimits:
    """Failures allowed before backing off, the first wait (doubling with each further failure),
    the longest wait for one username (an attacker can only delay its real owner this long) and
    for one client, and how long failures are remembered."""

    max_failures: int = 5
    backoff_s: int = 2
    user_max_wait_s: int = 60
    client_max_wait_s: int = 900
    window_s: int = 900


_dummy_hash: str | None = None


def _dummy_password_hash() -> str:
    """A hash of a random password: verified for unknown usernames so they cost what known ones do."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password(secrets.token_urlsafe(16))
    return _dummy_hash


def _last_failure(doc: dict[str, Any], now: datetime) -> datetime:
    # Counters written before backoff existed have only "first_at".
    return _aware(doc.get("last_at") or doc.get("first_at") or now)


def _wait_s(doc: dict[str, Any] | None, limits: LoginLimits, cap_s: int, now: datetime) -> int:
    if doc is None or int(doc.get("failures", 0)) < limits.max_failures:
        return 0
    wait = min(cap_s, limits.backoff_s * 2 ** (int(doc["failures"]) - limits.max_failures))
    remaining = _last_failure(doc, now) + timedelta(seconds=wait) - now
    return max(0, int(-(-remaining.total_seconds() // 1)))


def authenticate(
    db: Database[dict[str, Any]], username: str, password: str, *, client: str | None = None,
    limits: LoginLimits | None = None, now: datetime | None = None,
) -> LoginResult:
    """Check a password. Failures are counted per username and per client (``client``: the
    browser's address, when known) in MongoDB, so the limits hold across UI processes; past
    ``max_failures`` the next try must wait, twice as long after each further failure. The real
    user is never locked out for long: the username's wait is capped at ``user_max_wait_s``, and
    a login from another client is not slowed by this client's failures. Unknown, disabled and
    known usernames take the same path, an argon2 verification included (no timing tells them apart)."""
    limits = limits or LoginLimits()
    now = now or datetime.now(UTC)
    username = username.strip()
    keys = {f"user:{username}": limits.user_max_wait_s}
    if client:
        keys[f"client:{client}"] = limits.client_max_wait_s
    docs = {doc["_id"]: doc for doc in db[LOGIN_ATTEMPTS].find({"_id": {"$in": list(keys)}})}
    for key, attempt in list(docs.items()):
        if now - _last_failure(attempt, now) > timedelta(seconds=limits.window_s):
            del docs[key]  # forgotten; the counter starts again below
            db[LOGIN_ATTEMPTS].delete_one({"_id": key})
    wait = max(_wait_s(docs.get(key), limits, cap, now) for key, cap in keys.items())
    if wait:
        return LoginResult(None, retry_after_s=wait)
    found = db[USERS].find_one({"_id": username}) if USERNAME.match(username) else None
    user = UserDoc.model_validate(found) if found else None
    # Always one argon2 verification: against the user's hash, or a dummy one.
    ok = verify_password(user.password_hash if user is not None else _dummy_password_hash(), password)
    if user is not None and user.active and ok:
        db[LOGIN_ATTEMPTS].delete_many({"_id": {"$in": list(keys)}})
        return LoginResult(user)
    for key in keys:
        db[LOGIN_ATTEMPTS].update_one({"_id": key}, {"$inc": {"failures": 1}, "$set": {"last_at": now}},
                                      upsert=True)
    return LoginResult(None)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --- Streamlit session -----------------------------------------------------------------

SESSION_KEY = "session_id"  # st.session_state: the id of this tab's server-side session
REJECTED_COOKIE = "_rejected_session_cookie"  # a cookie already found dead, not looked up again
COOKIE_ACTION = "_session_cookie_action"  # ("start", handoff token) or ("end", "") for the page to send
IDENTITY_CHECKED = "_oidc_identity_checked"  # this tab looked at the provider's identity already
IDENTITY_REFUSED = "_oidc_identity_refused"  # the email of an identity with no local user (for the login form)
RETURN_TO = "_return_to"  # after a single sign-on: the address the login form was shown at
# The provider sends the browser back to "/": the address the login form was shown at waits in this
# (plain, short-lived) cookie, so the user still lands where the link pointed.
RETURN_COOKIE = "upr_return_to"


@dataclass(frozen=True)
class SessionUser:
    username: str
    role: Role
    organisation: str | None
    display_name: str

    @property
    def actor(self) -> Actor:
        return Actor(username=self.username, role=self.role, organisation=self.organisation)


def _policy() -> Any:
    from ui.sessions import SessionPolicy
    from ui.settings import get_settings

    return SessionPolicy.from_settings(get_settings())


def current_user() -> SessionUser | None:
    """The logged-in user: this tab's session, or the one in the browser's session cookie.

    The session and the user are re-read from the database on every script run, so a logout
    in another tab, an admin's "sign out everywhere", a new password or role, or a disabled
    account takes effect at the user's next click."""
    import streamlit as st

    from ui import sessions
    from ui.read_model import database

    policy = _policy()
    session_id = st.session_state.get(SESSION_KEY)
    if not session_id:
        cookie = st.context.cookies.get(sessions.COOKIE_NAME)
        if cookie and cookie != st.session_state.get(REJECTED_COOKIE):
            session_id = sessions.session_id_from_cookie(policy.secret, cookie, policy.max_age_s)
            if session_id is None:
                st.session_state[REJECTED_COOKIE] = cookie
        if session_id is None:
            session_id = _session_from_identity(policy)
        if session_id is None:
            return None
    db = database()
    username = sessions.session_user(db, str(session_id), policy)
    user = get_user(db, username) if username else None
    if user is None or not user.active:
        st.session_state.pop(SESSION_KEY, None)
        cookie = st.context.cookies.get(sessions.COOKIE_NAME)
        if cookie:
            st.session_state[REJECTED_COOKIE] = cookie
        return None
    st.session_state[SESSION_KEY] = session_id
    return SessionUser(user.username, user.role, user.organisation, user.display_name or user.username)


def _oidc_identity() -> dict[str, Any] | None:
    """The identity Streamlit's OIDC login holds for this browser (``st.user``), when single
    sign-on is configured and the identity comes from the configured provider."""
    import streamlit as st

    from ui.settings import get_settings

    provider = get_settings().ui_oidc_provider
    if not provider:
        return None
    try:
        identity = st.user.to_dict()
    except Exception:  # no [auth] secrets: nobody signed in through a provider
        return None
    if not identity.get("is_logged_in") or identity.get("provider", provider) != provider:
        return None
    return identity


def _session_from_identity(policy: Any) -> str | None:
    """A new session for the local user a fresh single sign-on identity maps to (once per tab)."""
    import streamlit as st

    from ui.read_model import database
    from ui.settings import get_settings

    if st.session_state.get(IDENTITY_CHECKED):
        return None
    identity = _oidc_identity()
    if identity is None:
        return None
    st.session_state[IDENTITY_CHECKED] = True
    db = database()
    result = redeem_identity(db, identity, max_age_s=get_settings().ui_oidc_max_age_s)
    if result.user is None:
        if result.refused == "unknown":
            st.session_state[IDENTITY_REFUSED] = str(identity.get("email") or "")
        return None
    from ui.sessions import start_session

    session_id, handoff = start_session(db, result.user.username, policy)
    st.session_state[SESSION_KEY] = session_id
    st.session_state[COOKIE_ACTION] = ("start", handoff)
    return_to = st.context.cookies.get(RETURN_COOKIE)
    if return_to:
        st.session_state[RETURN_TO] = return_to
    return session_id


def return_address(value: str) -> tuple[str, dict[str, str]] | None:
    """(page key, query) of an address of this app's own pages (from the return cookie); None for
    anything else, so the cookie can never send the user off the app."""
    from urllib.parse import parse_qsl, unquote, urlsplit

    from ui.pages_registry import PAGES

    parts = urlsplit(unquote(value))
    if parts.scheme or parts.netloc:
        return None
    spec = next((p for p in PAGES if p.url_path == parts.path.strip("/")), None)
    return (spec.key, dict(parse_qsl(parts.query))) if spec is not None else None


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
        st.caption(t("not_allowed_hint", language(), roles=", ".join(r.value for r in roles)))
        st.stop()
    return user


def login_form() -> None:
    """The login form; after a login the same page (path and query) runs again, logged in."""
    import streamlit as st

    from ui.i18n import t
    from ui.read_model import database
    from ui.settings import get_settings

    lang = language()
    settings = get_settings()
    st.title(t("app_title", lang))
    st.write(t("login_intro", lang))
    refused = st.session_state.get(IDENTITY_REFUSED)
    if refused:
        st.error(f"No UPR Tracker account has the address {md_escape(refused)}. Ask an administrator to "
                 "add it to your account, or log in with your password.")
    password_side = st.container()
    if settings.ui_oidc_provider:
        password_side, provider_side = st.columns(2)
        with provider_side:
            _single_sign_on_button(settings.ui_oidc_provider, settings.ui_oidc_label or settings.ui_oidc_provider)
    with password_side, st.form("login"):
        username = st.text_input(t("username", lang), key="login_username")
        password = st.text_input(t("password", lang), type="password", key="login_password")
        submitted = st.form_submit_button(t("login", lang))
    if submitted:
        db = database()
        limits = LoginLimits(max_failures=settings.login_max_failures, backoff_s=settings.login_backoff_s,
                             user_max_wait_s=settings.login_user_max_wait_s,
                             client_max_wait_s=settings.login_window_s, window_s=settings.login_window_s)
        result = authenticate(db, username, password, client=_client_address(settings.login_client_header),
                              limits=limits)
        if result.user is not None:
            from ui.sessions import start_session

            session_id, handoff = start_session(db, result.user.username, _policy())
            st.session_state[SESSION_KEY] = session_id
            st.session_state[COOKIE_ACTION] = ("start", handoff)
            st.rerun()
        elif result.retry_after_s:
            st.error(t("login_locked", lang, seconds=result.retry_after_s))
        else:
            st.error(t("login_failed", lang))


def _single_sign_on_button(provider: str, label: str) -> None:
    import streamlit as st

    # Remember this address (path and query) for after the provider's round trip, which ends at "/".
    st.html("<script>document.cookie = " + json.dumps(RETURN_COOKIE + "=")
            + " + encodeURIComponent(window.location.pathname + window.location.search)"
            " + '; path=/; max-age=900; SameSite=Lax';</script>", unsafe_allow_javascript=True, width="content")
    st.write("Your organisation's account:")
    if st.button(f"Sign in with {label}", key="oidc_login", type="primary"):
        try:
            st.login(provider)
        except Exception as error:  # secrets.toml without [auth] / [auth.<provider>], or Authlib missing
            st.error(f"Single sign-on is not set up correctly: {md_escape(str(error))[:300]}")


def _client_address(header: str = "") -> str | None:
    """The browser's address (None when unknown, e.g. in tests: the per-client limit is then
    skipped rather than shared by every unknown client). Behind a reverse proxy every request
    comes from the proxy, so ``header`` (UPR_LOGIN_CLIENT_HEADER, e.g. X-Forwarded-For, set only
    when a trusted proxy writes it) names where the proxy puts the browser's address."""
    import streamlit as st

    try:
        if header:
            forwarded = st.context.headers.get(header) or ""
            return forwarded.split(",")[0].strip() or None
        return st.context.ip_address or None
    except Exception:  # no request context
        return None


def logout() -> None:
    """End this session on the server (every tab using it is logged out at its next click),
    forget everything this tab held (form values, report previews, selections: the next person
    at this browser starts clean; only the interface language stays) and have the page clear
    the cookie."""
    import streamlit as st

    from ui.read_model import database
    from ui.sessions import revoke_session

    session_id = st.session_state.get(SESSION_KEY)
    if session_id:
        revoke_session(database(), str(session_id), "logout")
    language_choice = st.session_state.get("language")
    st.session_state.clear()
    if language_choice:
        st.session_state["language"] = language_choice
    st.session_state[COOKIE_ACTION] = ("end", "")


def send_cookie_action() -> None:
    """Have the browser call /session/start or /session/end (an HTTP response is the only way to
    set or clear an HttpOnly cookie). Runs once, after a login or a logout."""
    import streamlit as st

    from ui.sessions import END_PATH, START_PATH

    action = st.session_state.pop(COOKIE_ACTION, None)
    if not action:
        return
    kind, token = action
    path = START_PATH if kind == "start" else END_PATH
    forget = f"document.cookie = {json.dumps(RETURN_COOKIE + '=; path=/; max-age=0')};" if kind == "start" else ""
    # The token is URL-safe base64 (no quotes or angle brackets); json.dumps quotes it for JS.
    st.html(f"<script>{forget}fetch({json.dumps(path)}, {{method: 'POST', credentials: 'same-origin', "
            f"headers: {{'Content-Type': 'text/plain'}}, body: {json.dumps(token)}}});</script>",
            unsafe_allow_javascript=True, width="content")
