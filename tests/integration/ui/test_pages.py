"""Streamlit AppTests of every page on a real MongoDB-wire database: role checks and page logic."""

from __future__ import annotations

import time
from typing import Any

import pytest
from pymongo.database import Database

from tests.integration.ui.conftest import KHMER_TEXT, app, evidence_doc, page, shows_login_form
from ui.auth import DEMO_USERS

pytestmark = pytest.mark.integration

PASSWORDS = {name: password for name, _, password, _ in DEMO_USERS}
NOT_ALLOWED = "cannot open this page"


def _errors(at: Any) -> str:
    return " ".join(e.value for e in at.error)


def _text(at: Any) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [t.value for t in at.title]
    parts += [w.value for w in at.warning] + [i.value for i in at.info] + [s.value for s in at.success]
    return " ".join(str(p) for p in parts)


def _login(at: Any, username: str, password: str) -> Any:
    at.text_input(key="login_username").set_value(username)
    at.text_input(key="login_password").set_value(password)
    return at.button[0].click().run()


# --- login ------------------------------------------------------------------------------


def test_anonymous_visitor_sees_the_login_form_and_nothing_else(ui_db: Database[dict[str, Any]]) -> None:
    at = app()
    assert not at.exception
    assert [t.value for t in at.title] == ["UPR Tracker"]
    assert at.text_input(key="login_password").proto.type == at.text_input(key="login_password").proto.PASSWORD
    assert not at.dataframe and not at.metric


@pytest.mark.parametrize("name", ["dashboard", "recommendations", "detail", "add_evidence", "admin"])
def test_opening_a_page_directly_without_login_shows_the_login_form(
    ui_db: Database[dict[str, Any]], name: str
) -> None:
    at = page(name, None)
    assert not at.exception
    assert shows_login_form(at)
    assert not at.dataframe and not at.metric


def test_demo_cso_member_logs_in_and_lands_on_the_dashboard(ui_db: Database[dict[str, Any]]) -> None:
    at = _login(app(), "cso", PASSWORDS["cso"])
    assert not at.exception
    assert "session_id" in at.session_state
    assert ui_db.ui_sessions.find_one({"_id": at.session_state["session_id"]})["username"] == "cso"
    assert "Dashboard" in [t.value for t in at.title]
    assert any("cso" in c.value for c in at.sidebar.caption)


def test_wrong_password_is_refused_and_repeated_failures_make_the_username_back_off(
    ui_db: Database[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPR_LOGIN_BACKOFF_S", "600")  # a backoff longer than the test, whatever the machine
    at = app()
    for _ in range(5):
        at = _login(at, "reviewer", "wrong-password")
        assert "Wrong username or password" in _errors(at)
    at = _login(at, "reviewer", PASSWORDS["reviewer"])  # right password, but too soon
    assert "Too many failed attempts" in _errors(at)
    assert "session_id" not in at.session_state
    stored = ui_db.users.find_one({"_id": "reviewer"})
    assert stored is not None and PASSWORDS["reviewer"] not in stored["password_hash"]
    assert stored["password_hash"].startswith("$argon2")


def test_disabled_user_loses_access_at_the_next_click(ui_db: Database[dict[str, Any]]) -> None:
    from ui.auth import add_user, update_user

    add_user(ui_db, "leaving", "cso_member", "long-enough-pw")
    update_user(ui_db, "leaving", active=False)
    at = page("recommendations", "leaving")
    assert shows_login_form(at)
    assert not at.dataframe


# --- server-side role checks --------------------------------------------------------------


@pytest.mark.parametrize(("name", "user"), [
    ("add_evidence", "viewer"), ("assess", "viewer"), ("review_inbox", "viewer"), ("review_inbox", "cso"),
    ("report", "viewer"), ("report", "cso"), ("import_file", "cso"), ("admin", "viewer"), ("admin", "cso"),
    ("admin", "reviewer"),
])
def test_page_refuses_a_role_that_may_not_open_it(ui_db: Database[dict[str, Any]], name: str, user: str) -> None:
    at = page(name, user)
    assert not at.exception
    assert NOT_ALLOWED in _errors(at)
    assert not at.button and not at.text_area and not at.dataframe


@pytest.mark.parametrize(("name", "user"), [
    ("dashboard", "viewer"), ("recommendations", "viewer"), ("detail", "viewer"), ("subscriptions", "viewer"),
    ("add_evidence", "cso"), ("assess", "cso"), ("review_inbox", "reviewer"), ("import_file", "reviewer"),
    ("report", "reviewer"), ("admin", "admin"),
])
def test_page_opens_for_a_role_that_may_use_it(ui_db: Database[dict[str, Any]], name: str, user: str) -> None:
    at = page(name, user)
    assert not at.exception, at.exception
    assert NOT_ALLOWED not in _errors(at)
    assert at.title


def test_a_page_the_role_may_not_open_says_so_instead_of_page_not_found(ui_db: Database[dict[str, Any]]) -> None:
    # Every page is registered (so its address never gives "Page not found"); the page refuses the role.
    for hidden in ("add_evidence", "review_inbox", "report", "admin"):
        at = app("viewer").switch_page(f"../pages/{hidden}.py").run()
        assert not at.exception
        assert "Your role (viewer) cannot open this page." in _errors(at)
        assert not at.text_area and not at.dataframe
    cso = app("cso").switch_page("../pages/add_evidence.py").run()
    assert [t.value for t in cso.title] == ["Add evidence"]


# --- page logic ---------------------------------------------------------------------------


def test_dashboard_counts_recommendations_and_disagreements(ui_db: Database[dict[str, Any]]) -> None:
    at = page("dashboard", "viewer")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Recommendations"] == "3"
    assert metrics["CSO and CNCC disagree"] == "1"
    assert "KHM-4-110.23" in at.dataframe[0].value["recommendation"].tolist()


def test_recommendations_search_in_khmer_finds_the_khmer_text(ui_db: Database[dict[str, Any]]) -> None:
    at = page("recommendations", "viewer")
    assert len(at.dataframe[0].value) == 3
    at.text_input(key="rec_search").set_value("កុមារ").run()
    table = at.dataframe[0].value
    assert table["id"].tolist() == ["KHM-4-110.23"]


def test_recommendations_filter_by_cycle_position_and_state(ui_db: Database[dict[str, Any]]) -> None:
    at = page("recommendations", "viewer")
    at.multiselect(key="rec_positions").set_value(["Noted"]).run()
    assert at.dataframe[0].value["id"].tolist() == ["KHM-3-117.5"]
    at.multiselect(key="rec_positions").set_value([]).run()
    at.text_input(key="rec_state").set_value("fran").run()
    assert at.dataframe[0].value["id"].tolist() == ["KHM-4-110.24"]
    at.text_input(key="rec_state").set_value("").run()
    at.text_input(key="rec_search").set_value("no such words").run()
    assert "No recommendations match" in _text(at)


def test_detail_shows_english_and_khmer_text_themes_and_both_assessments(ui_db: Database[dict[str, Any]]) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.integration.ui.conftest import UI, logged_in

    at = logged_in(AppTest.from_file(str(UI / "pages" / "detail.py"), default_timeout=30), "viewer")
    at.session_state["selected_recommendation"] = "KHM-4-110.23"
    at.run()
    text = _text(at)
    assert "Adopt the Child Protection Law without delay" in text
    assert KHMER_TEXT in text
    assert "confidence 80%" in text
    assert "CSO and CNCC disagree" in text
    assert "Save themes" not in [b.label for b in at.button]  # viewers cannot correct tags


def _detail(user: str, rec_id: str) -> Any:
    from streamlit.testing.v1 import AppTest

    from tests.integration.ui.conftest import UI, logged_in

    at = logged_in(AppTest.from_file(str(UI / "pages" / "detail.py"), default_timeout=30), user)
    at.session_state["selected_recommendation"] = rec_id
    return at.run()


def test_pending_evidence_shows_to_its_submitter_with_a_badge_but_not_to_viewers(
    ui_db: Database[dict[str, Any]]
) -> None:
    ui_db.evidence.insert_many([
        evidence_doc("ev-pending01", "KHM-4-110.24", by="cso", role="cso_member", review_state="pending",
                     title="Birth registration campaign in 5 provinces"),
        evidence_doc("ev-public001", "KHM-4-110.24", by="reviewer", role="reviewer", visibility="public",
                     title="Civil registration sub-decree"),
    ])
    own = _text(_detail("cso", "KHM-4-110.24"))
    assert "Birth registration campaign in 5 provinces" in own and "pending review" in own
    viewer = _text(_detail("viewer", "KHM-4-110.24"))
    assert "Civil registration sub" in viewer
    assert "Birth registration campaign" not in viewer
    reviewer = _text(_detail("reviewer", "KHM-4-110.24"))
    assert "Birth registration campaign" in reviewer


def test_review_inbox_lists_pending_evidence_with_safeguarding_flags(ui_db: Database[dict[str, Any]]) -> None:
    ui_db.evidence.insert_one(evidence_doc("ev-held0001", "KHM-4-110.23", by="cso", role="cso_member",
                                           review_state="pending", title="Case of a girl named Dara, 12",
                                           flags=("name_with_age",)))
    at = page("review_inbox", "reviewer")
    assert "Case of a girl named Dara, 12" in _text(at).replace("\\", "")
    assert "Safeguarding" in _errors(at)
    assert any(b.label == "Approve" for b in at.button)


def test_add_evidence_form_explains_safeguarding_and_refuses_an_empty_form(ui_db: Database[dict[str, Any]]) -> None:
    at = page("add_evidence", "cso")
    assert "never include a child's name" in _text(at)
    at.button[0].click().run()  # submit with nothing filled in
    assert "Please check the form" in _errors(at)


def test_admin_adds_a_user_who_can_then_log_in(ui_db: Database[dict[str, Any]]) -> None:
    at = page("admin", "admin")
    assert "admin" in at.dataframe[0].value["username"].tolist()
    at.text_input(key="new_username").set_value("sophea")
    at.selectbox(key="new_role").set_value("reviewer")
    at.text_input(key="new_password").set_value("sophea-secret")
    next(b for b in at.button if b.label == "Add user").click().run()
    assert not at.exception
    user = ui_db.users.find_one({"_id": "sophea"})
    assert user is not None and user["role"] == "reviewer"
    assert "sophea" in " ".join(c.value for c in _login(app(), "sophea", "sophea-secret").sidebar.caption)


def test_import_page_says_clearly_when_the_import_service_is_down(
    ui_db: Database[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPR_INGEST_URL", "http://127.0.0.1:9")  # nothing listens there
    at = page("import_file", "reviewer")
    assert "Largest file: 20 MB" in _text(at)
    next(b for b in at.button if b.label.startswith("Get the recommendations")).click().run()
    assert "Could not get the template" in _errors(at)


# --- sessions and addresses -----------------------------------------------------------------


def _policy(**overrides: Any) -> Any:
    from ui.sessions import SessionPolicy

    return SessionPolicy(**{"secret": "test-secret", "idle_s": 3600, "max_age_s": 86400, **overrides})


def test_session_cookie_is_refused_when_tampered_with_signed_by_another_key_or_too_old() -> None:
    from unittest import mock

    from ui.sessions import session_id_from_cookie, sign_session_id

    cookie = sign_session_id("test-secret", "abc123")
    assert session_id_from_cookie("test-secret", cookie, 60) == "abc123"
    tampered = cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]
    assert session_id_from_cookie("test-secret", tampered, 60) is None
    assert session_id_from_cookie("another-secret", cookie, 60) is None

    with mock.patch("itsdangerous.timed.time.time", return_value=time.time() - 3601):  # signed an hour ago
        old = sign_session_id("test-secret", "abc123")
    assert session_id_from_cookie("test-secret", old, 3600) is None
    assert session_id_from_cookie("test-secret", old, 7200) == "abc123"


def test_session_ends_when_idle_too_long_after_its_lifetime_and_when_revoked(ui_db: Database[dict[str, Any]]) -> None:
    from datetime import UTC, datetime, timedelta

    from ui.sessions import redeem_handoff, revoke_session, session_user, start_session

    now = datetime.now(UTC)
    policy = _policy()
    sid, handoff = start_session(ui_db, "cso", policy, now=now)
    assert redeem_handoff(ui_db, handoff, policy, now=now) == sid
    assert redeem_handoff(ui_db, handoff, policy, now=now) is None  # a handoff token works once
    assert session_user(ui_db, sid, policy, now=now + timedelta(minutes=59)) == "cso"  # and restarts the idle clock
    assert session_user(ui_db, sid, policy, now=now + timedelta(minutes=118)) == "cso"
    assert session_user(ui_db, sid, policy, now=now + timedelta(minutes=180)) is None  # idle for over an hour
    sid2, _ = start_session(ui_db, "cso", policy, now=now)
    assert session_user(ui_db, sid2, policy, now=now + timedelta(hours=24, seconds=1)) is None  # absolute lifetime
    sid3, _ = start_session(ui_db, "cso", policy)
    revoke_session(ui_db, sid3)
    assert session_user(ui_db, sid3, policy) is None


def test_new_password_or_role_ends_the_users_sessions_and_the_open_tab_shows_the_login_form(
    ui_db: Database[dict[str, Any]]
) -> None:
    from ui.auth import add_user, update_user

    add_user(ui_db, "dara", "cso_member", "dara-password")
    at = _login(app(), "dara", "dara-password")
    assert any("dara" in c.value for c in at.sidebar.caption)
    update_user(ui_db, "dara", password="a-new-password")
    at.run()
    assert shows_login_form(at)  # logged out at the next click
    at = _login(at, "dara", "a-new-password")
    assert any("dara" in c.value for c in at.sidebar.caption)
    update_user(ui_db, "dara", role="viewer")
    at.run()
    assert shows_login_form(at)


def test_login_hands_the_browser_a_one_time_token_for_the_httponly_cookie(ui_db: Database[dict[str, Any]]) -> None:
    at = _login(app(), "viewer", PASSWORDS["viewer"])
    scripts = [h.proto.body for h in at.get("html")]
    assert any('fetch("/session/start"' in body for body in scripts), scripts
    session_id = at.session_state["session_id"]
    at.sidebar.button(key="logout").click().run()
    assert shows_login_form(at)
    assert any('fetch("/session/end"' in h.proto.body for h in at.get("html"))
    stored = ui_db.ui_sessions.find_one({"_id": session_id})
    assert stored is not None and stored["revoked_at"] is not None  # other tabs are logged out too


def test_admin_signs_a_user_out_everywhere(ui_db: Database[dict[str, Any]]) -> None:
    reviewer = app("reviewer")
    assert any("reviewer" in c.value for c in reviewer.sidebar.caption)
    admin = page("admin", "admin")
    admin.selectbox(key="sign_out_who").set_value("reviewer")
    next(b for b in admin.button if b.label == "Sign out everywhere").click().run()
    assert any("session(s) ended" in s.value for s in admin.success)
    reviewer.run()
    assert shows_login_form(reviewer)


def test_detail_opens_from_its_address_and_offers_a_searchable_picker(ui_db: Database[dict[str, Any]]) -> None:
    at = page("detail", "viewer", id="KHM-4-110.24")
    assert [s.value for s in at.subheader][:1] == ["KHM-4-110.24"]
    picker = at.selectbox(key="detail_pick")
    assert picker.value == "KHM-4-110.24"
    # Each choice shows the id and the first words of the text, so typing either finds it.
    assert "KHM-4-110.24 · Strengthen birth registration for all children" in picker.options
    assert len(picker.options) == 3
    picker.set_value("KHM-4-110.23").run()
    assert at.query_params["id"] in ("KHM-4-110.23", ["KHM-4-110.23"])  # the address follows the choice
    assert "Adopt the Child Protection Law without delay" in _text(at)
    unknown = page("detail", "viewer", id="KHM-9-1.1")
    assert "No recommendation “KHM-9-1.1”" in _text(unknown)


def test_old_email_link_shape_opens_the_detail_page(ui_db: Database[dict[str, Any]]) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.integration.ui.conftest import WORKSPACE, logged_in

    at = logged_in(AppTest.from_file(str(WORKSPACE), default_timeout=30), "viewer")
    at.query_params["recommendation"] = "KHM-4-110.23"
    at.run()
    assert not at.exception
    assert "KHM-4-110.23" in [s.value for s in at.subheader]


def test_report_opens_on_the_latest_cycle_that_has_recommendations(ui_db: Database[dict[str, Any]]) -> None:
    assert page("report", "reviewer").selectbox(key="report_cycle").value == 4  # cycles 3 and 4 have data
    ui_db.recommendations.update_many({"cycle": 4}, {"$set": {"cycle": 2}})
    try:
        assert page("report", "reviewer").selectbox(key="report_cycle").value == 3
    finally:
        ui_db.recommendations.update_many({"cycle": 2}, {"$set": {"cycle": 4}})


def test_a_filtered_recommendations_link_opens_with_its_filters(ui_db: Database[dict[str, Any]]) -> None:
    # The address a colleague shares: ?rec_positions=Noted (what the page writes as you filter).
    at = page("recommendations", "viewer", rec_positions="Noted")
    assert at.multiselect(key="rec_positions").value == ["Noted"]
    assert at.dataframe[0].value["id"].tolist() == ["KHM-3-117.5"]
    at = page("recommendations", "viewer", rec_state="fran", rec_cycles="4")
    assert at.dataframe[0].value["id"].tolist() == ["KHM-4-110.24"]


def test_report_says_whether_the_cycle_is_on_the_public_page(ui_db: Database[dict[str, Any]]) -> None:
    assert page("report", "reviewer").button(key="publish_cycle").label == "Publish cycle 4"
    ui_db.cycles.insert_one({"_id": "KHM-4", "country": "KHM", "cycle": 4, "published": True})
    at = page("report", "reviewer")
    assert at.button(key="publish_cycle").label == "Withdraw cycle 4 from the public page"
    assert "Cycle 4 is **published**" in _text(at)


def test_detail_opened_by_an_old_id_shows_the_merged_recommendation_its_conflict_and_evidence(
    ui_db: Database[dict[str, Any]]
) -> None:
    from tests.integration.ui.conftest import recommendation_doc

    old_id = "KHM-1-x0c13d35a59"  # UPR Info's CSV had no paragraph number: a text-hash id
    doc = recommendation_doc("KHM-1-82.32h", "Deepen its actions against trafficking of minors", cycle=1,
                             state="Spain")
    doc.update(aliases=[old_id], conflicts={"position": {"upr_info_csv": "Supported", "uhri_xlsx": "Noted"}})
    ui_db.recommendations.insert_one(doc)
    ui_db.recommendation_aliases.insert_one({"_id": old_id, "recommendation_id": "KHM-1-82.32h"})
    ui_db.evidence.insert_one(evidence_doc("ev-old-id01", old_id, by="reviewer", role="reviewer",
                                           title="OCSE action plan launched"))
    at = _detail("cso", old_id)
    text = _text(at)
    assert "Deepen its actions against trafficking of minors" in text
    assert at.query_params["id"] == "KHM-1-82.32h"  # the address now carries the current id
    assert "Sources disagree" in text and "says Noted" in text
    assert "OCSE action plan launched" in text


def test_admin_lists_read_api_keys_without_their_secret_hash(ui_db: Database[dict[str, Any]]) -> None:
    from datetime import UTC, datetime

    ui_db.api_keys.insert_one({
        "_id": "0123456789ab", "key_id": "0123456789ab", "name": "UNICEF dashboard", "role": "cso_member",
        "secret_hash": "sha256:" + "f" * 64, "created_by": {"username": "admin", "role": "admin"},
        "created_at": datetime(2026, 11, 30, tzinfo=UTC), "last_used_at": None, "revoked_at": None,
    })
    at = page("admin", "admin")
    assert not at.exception
    keys = next(df.value for df in at.dataframe if "last used" in df.value.columns)
    assert keys["name"].tolist() == ["UNICEF dashboard"] and keys["last used"].tolist() == ["never"]
    assert "f" * 64 not in keys.to_string()
    next(b for b in at.button if b.label == "Make key").click().run()  # without a name
    assert "Give the key a name" in _errors(at)
    ui_db.api_keys.delete_many({})


def test_subscriptions_page_says_when_telegram_is_off_and_names_the_bot_when_on(
    ui_db: Database[dict[str, Any]],
) -> None:
    from datetime import UTC, datetime

    ui_db.notifier_telegram_bot.delete_many({})
    at = page("subscriptions", "cso")
    at.radio(key="sub_channel").set_value("telegram").run()
    assert not at.exception
    assert "Telegram alerts are off" in _text(at)
    ui_db.notifier_telegram_bot.insert_one({"_id": "bot", "username": "upr_alerts_bot", "seen_at": datetime.now(UTC)})
    at = page("subscriptions", "cso")
    at.radio(key="sub_channel").set_value("telegram").run()
    assert "Telegram alerts are off" not in _text(at) and "@upr_alerts_bot" in _text(at)
    ui_db.notifier_telegram_bot.delete_many({})


def test_a_command_to_the_notifier_is_answered_by_the_notifiers_receipt(ui_db: Database[dict[str, Any]]) -> None:
    """The Subscriptions page waits for the notifier's answer, not the tracker's (the tracker
    never sees a subscription command, so the page used to say "not confirmed yet")."""
    from ui import read_model

    ui_db.notifier_processed.insert_one({"_id": "m-sub", "outcome": "rejected", "error": "admins only"})
    ui_db.processed_messages.insert_one({"_id": "m-ev", "outcome": "created"})
    assert read_model.receipts(ui_db, ["m-sub", "m-ev"], "notifier") == {
        "m-sub": {"_id": "m-sub", "outcome": "rejected", "error": "admins only"}}
    assert list(read_model.receipts(ui_db, ["m-sub", "m-ev"], "tracker")) == ["m-ev"]
