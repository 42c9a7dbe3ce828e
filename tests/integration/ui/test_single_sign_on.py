"""Optional single sign-on through Streamlit's OIDC login (issue 15): the identity a provider vouches
for (``st.user``, seeded by AppTest: there is no identity provider here) maps to a local user by
email and gets that user's role; unknown identities get no access; each identity opens one session."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.database import Database
from streamlit.testing.v1 import AppTest

from tests.integration.ui.conftest import WORKSPACE
from ui.auth import add_user, redeem_identity, return_address

pytestmark = pytest.mark.integration

PROVIDER = "idp"


@pytest.fixture(autouse=True)
def single_sign_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPR_UI_OIDC_PROVIDER", PROVIDER)
    monkeypatch.setenv("UPR_UI_OIDC_LABEL", "Example ID")


@pytest.fixture(scope="module")
def members(ui_db: Database[dict[str, Any]]) -> Database[dict[str, Any]]:
    add_user(ui_db, "sokha", "reviewer", "sokha-password", email="Sokha@cncc.example.org")
    add_user(ui_db, "vanna", "cso_member", "vanna-password", email="vanna@ngo.example.org")
    return ui_db


def identity(email: str, *, sub: str | None = None, issued: float | None = None, **claims: Any) -> dict[str, Any]:
    return {"is_logged_in": True, "provider": PROVIDER, "iss": "https://id.example.org", "sub": sub or email,
            "email": email, "email_verified": True, "iat": int(issued if issued is not None else time.time()),
            **claims}


def workspace(user: dict[str, Any] | None) -> AppTest:
    at = AppTest.from_file(str(WORKSPACE), default_timeout=30)
    if user is not None:
        at.user = user
    return at.run()


def _signed_in_as(at: AppTest) -> str:
    return " ".join(c.value for c in at.sidebar.caption)


def test_the_login_form_offers_the_provider_beside_the_password_form_only_when_configured(
    members: Database[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    at = workspace(None)
    assert at.text_input(key="login_password") is not None
    assert at.button(key="oidc_login").label == "Sign in with Example ID"
    # No [auth] section in secrets.toml here: the button says so instead of failing.
    at.button(key="oidc_login").click().run()
    assert not at.exception
    assert "Single sign-on is not set up correctly" in " ".join(e.value for e in at.error)
    monkeypatch.setenv("UPR_UI_OIDC_PROVIDER", "")
    plain = workspace(None)
    assert "oidc_login" not in [b.key for b in plain.button]
    assert plain.text_input(key="login_password") is not None


def test_an_identity_with_a_local_users_email_signs_in_with_that_users_role(
    members: Database[dict[str, Any]]
) -> None:
    at = workspace(identity("sokha@CNCC.example.org"))  # addresses compare in any case
    assert not at.exception
    assert "sokha (reviewer)" in _signed_in_as(at)
    stored = members.ui_sessions.find_one({"_id": at.session_state["session_id"]})
    assert stored is not None and stored["username"] == "sokha"
    assert any('fetch("/session/start"' in h.proto.body for h in at.get("html"))  # the browser gets its cookie


def test_an_identity_without_a_local_user_gets_no_access(members: Database[dict[str, Any]]) -> None:
    at = workspace(identity("stranger@example.org"))
    shown = " ".join(e.value for e in at.error).replace("\\", "")  # the Markdown source escapes "@"
    assert "No UPR Tracker account has the address stranger@example.org" in shown
    assert at.text_input(key="login_password") is not None
    assert "session_id" not in at.session_state
    unverified = workspace(identity("vanna@ngo.example.org", email_verified=False))
    assert "session_id" not in unverified.session_state
    other_provider = workspace(identity("vanna@ngo.example.org", sub="vanna-2", provider="elsewhere"))
    assert "session_id" not in other_provider.session_state


def test_an_identity_opens_one_session_once_so_a_logout_or_revocation_holds(
    members: Database[dict[str, Any]]
) -> None:
    now = datetime.now(UTC)
    claims = identity("vanna@ngo.example.org", sub="vanna-once", issued=now.timestamp())
    first = redeem_identity(members, claims, max_age_s=600, now=now)
    assert first.user is not None and first.user.username == "vanna" and first.user.role.value == "cso_member"
    # The provider's cookie outlives our logout: the same identity does not log the browser in again.
    assert redeem_identity(members, claims, max_age_s=600, now=now).refused == "used"
    old = identity("vanna@ngo.example.org", sub="vanna-old", issued=(now - timedelta(hours=1)).timestamp())
    assert redeem_identity(members, old, max_age_s=600, now=now).refused == "stale"
    at = workspace(claims)
    assert "session_id" not in at.session_state and at.text_input(key="login_password") is not None


def test_after_single_sign_on_only_the_apps_own_addresses_are_returned_to() -> None:
    assert return_address("%2Fdetail%3Fid%3DKHM-4-110.23%26evidence%3Dev-1") == (
        "detail", {"id": "KHM-4-110.23", "evidence": "ev-1"})
    assert return_address("/report?cycle=3&section=T05") == ("report", {"cycle": "3", "section": "T05"})
    assert return_address("https://evil.example.org/detail?id=x") is None
    assert return_address("//evil.example.org/detail") is None
    assert return_address("/no-such-page") is None
