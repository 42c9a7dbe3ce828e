"""Issue 13 in the workspace (AppTest on a real MongoDB-wire database): held text, escaping,
crafted addresses, honest visibility wording, role-aware counts, login limits and logout."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from pymongo.database import Database

from contracts.events import (
    Actor,
    AssessmentSubmittedV1,
    Assessor,
    EvidenceReviewRequestedV1,
    EvidenceSourceType,
    EvidenceSubmittedV1,
    ImplementationStatus,
    Role,
    SafeguardingReviewRequestedV1,
    Visibility,
    make_event,
)
from services.tracker import handlers
from services.tracker.adapters.mongo import MongoTrackerRepository
from tests.integration.ui.conftest import MONGODB_URI, app, page, shows_login_form
from ui import auth
from ui.auth import DEMO_USERS, LoginLimits, authenticate

pytestmark = pytest.mark.integration

PASSWORDS = {name: password for name, _, password, _ in DEMO_USERS}
CSO = Actor(username="cso", role=Role.CSO_MEMBER, organisation="CRC")
REVIEWER = Actor(username="reviewer", role=Role.REVIEWER, organisation="CNCC")
CHILD = "A 12-year-old girl, Sokha Chan, from Trapeang village was helped"


def _text(at: Any) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [t.value for t in at.title]
    parts += [w.value for w in at.warning] + [i.value for i in at.info] + [s.value for s in at.success]
    parts += [e.value for e in at.error] + [t.value for t in at.get("text")]
    return " ".join(str(p) for p in parts)


def _apply(db: Database[dict[str, Any]], actor: Actor, *payloads: Any) -> None:
    """Run tracker commands through the tracker's own handlers on the test database."""
    async def run() -> None:
        repo = MongoTrackerRepository.connect(MONGODB_URI, db.name)

        async def no_examples() -> list[dict[str, Any]]:
            return []

        deps = handlers.Deps(repo, None, no_examples)
        try:
            for payload in payloads:
                envelope = make_event(payload, source="test", actor=actor)
                await handlers.HANDLERS[envelope.type](envelope, payload, deps)
        finally:
            await repo.close()
    asyncio.run(run())


def _detail(user: str, rec_id: str) -> Any:
    from streamlit.testing.v1 import AppTest

    from tests.integration.ui.conftest import UI, logged_in

    at = logged_in(AppTest.from_file(str(UI / "pages" / "detail.py"), default_timeout=30), user)
    at.session_state["selected_recommendation"] = rec_id
    return at.run()


# --- row 6: held text --------------------------------------------------------------------


def test_row6_held_rationale_is_absent_from_the_viewers_page_and_shown_to_the_reviewer(
    ui_db: Database[dict[str, Any]]
) -> None:
    _apply(ui_db, CSO, AssessmentSubmittedV1(
        assessment_id="as-held-0001", recommendation_id="KHM-4-110.24", assessor=Assessor.CSO,
        status=ImplementationStatus.IN_PROGRESS, rationale=CHILD))
    viewer = _text(_detail("viewer", "KHM-4-110.24"))
    assert "Sokha" not in viewer and "In progress" in viewer
    assert "Sokha" not in str(ui_db.assessments.find_one({"_id": "as-held-0001"}))
    assert "Sokha" not in str(list(ui_db.audit_log.find({"subject_id": "KHM-4-110.24"})))
    inbox = page("review_inbox", "reviewer")
    assert "Sokha Chan" in _text(inbox)  # the reviewer reads it as written, to decide
    assert not page("review_inbox", "cso").get("text")  # nobody else can

    # Redacted in place: the page shows the reviewer's words; the original stays only in the hold entry.
    _apply(ui_db, REVIEWER, SafeguardingReviewRequestedV1(
        hold_id="assessment:as-held-0001", decision="redact", redacted={"rationale": "A girl was helped."}))
    assert "A girl was helped." in _text(_detail("viewer", "KHM-4-110.24"))
    assert "Sokha" in str(ui_db.safeguarding_holds.find_one({"_id": "assessment:as-held-0001"})["original"])
    _apply(ui_db, REVIEWER, SafeguardingReviewRequestedV1(hold_id="assessment:as-held-0001", decision="erase"))
    assert "Sokha" not in str(list(ui_db.safeguarding_holds.find()))
    assert "A girl was helped." in _text(_detail("viewer", "KHM-4-110.24"))


def test_row6_held_evidence_url_and_organisation_are_placeholders_until_approved(
    ui_db: Database[dict[str, Any]]
) -> None:
    _apply(ui_db, CSO, EvidenceSubmittedV1(
        evidence_id="ev-held-url-1", recommendation_ids=["KHM-4-110.23"], source_type=EvidenceSourceType.MEDIA,
        title="Press article on a rescue", url="https://facebook.com/sokha-chan-12", organisation="CRC",
        visibility=Visibility.PUBLIC))
    stored = ui_db.evidence.find_one({"_id": "ev-held-url-1"})
    assert stored["url"] is None and stored["safeguarding_state"] == "held" and stored["review_state"] == "pending"
    _apply(ui_db, REVIEWER, EvidenceReviewRequestedV1(evidence_id="ev-held-url-1", decision="approved"))
    stored = ui_db.evidence.find_one({"_id": "ev-held-url-1"})
    assert stored["url"] == "https://facebook.com/sokha-chan-12" and stored["safeguarding_state"] == "released"


# --- rows 11 and 12: escaping -------------------------------------------------------------


def test_row11_a_rationale_with_an_image_or_a_link_renders_as_literal_text(ui_db: Database[dict[str, Any]]) -> None:
    _apply(ui_db, REVIEWER, AssessmentSubmittedV1(
        assessment_id="as-md-00001", recommendation_id="KHM-4-110.24", assessor=Assessor.CNCC,
        status=ImplementationStatus.IN_PROGRESS, rationale="See ![x](http://tracker/p.png) or [click](http://phish)"))
    at = _detail("viewer", "KHM-4-110.24")
    shown = [m.value for m in at.markdown if "click" in m.value]
    assert shown == [r"See \!\[x\]\(http\://tracker/p.png\) or \[click\]\(http\://phish\)"]


@pytest.mark.parametrize("name", ["detail", "assess"])
def test_row12_a_crafted_id_in_the_address_is_not_echoed_as_a_markdown_link(
    ui_db: Database[dict[str, Any]], name: str
) -> None:
    at = page(name, "admin", id="[Log in again](http://phish.example/login)")
    if name == "assess":  # the assess page takes the id from its box
        at.text_input(key="assess_id").set_value("[Log in again](http://phish.example/login)").run()
    messages = [w.value for w in at.warning] + [i.value for i in at.info]
    echoed = [m for m in messages if "phish" in m]
    assert echoed, messages
    assert all("](http" not in m and r"\[Log in again\]" in m for m in echoed)


# --- row 7: who reads what ------------------------------------------------------------------


def test_row7_add_evidence_says_that_cncc_reviewers_read_coalition_evidence(ui_db: Database[dict[str, Any]]) -> None:
    at = page("add_evidence", "cso")
    assert "Coalition members only" not in str(at.radio(key="ev_visibility").options)
    text = _text(at)
    assert "CNCC reviewers and admins read and review every item, coalition-only or public" in text


# --- row 15: counts -------------------------------------------------------------------------


def test_row15_counts_shown_to_a_role_count_only_what_that_role_may_see(ui_db: Database[dict[str, Any]]) -> None:
    rec = "KHM-3-117.5"
    public_before = int({m.label: m.value for m in page("dashboard", "viewer").metric}["Evidence (public)"])
    _apply(ui_db, CSO, EvidenceSubmittedV1(  # pending
        evidence_id="ev-count-pend", recommendation_ids=[rec], source_type=EvidenceSourceType.MEDIA,
        title="Awaiting review", visibility=Visibility.PUBLIC))
    _apply(ui_db, CSO, EvidenceSubmittedV1(  # held
        evidence_id="ev-count-held", recommendation_ids=[rec], source_type=EvidenceSourceType.MEDIA,
        title=CHILD, visibility=Visibility.PUBLIC))
    _apply(ui_db, REVIEWER, EvidenceSubmittedV1(  # approved, coalition only
        evidence_id="ev-count-coal", recommendation_ids=[rec], source_type=EvidenceSourceType.LAW_DECREE,
        title="Sub-decree adopted", visibility=Visibility.COALITION))
    _apply(ui_db, REVIEWER, EvidenceSubmittedV1(  # approved, public
        evidence_id="ev-count-publ", recommendation_ids=[rec], source_type=EvidenceSourceType.LAW_DECREE,
        title="Law published", visibility=Visibility.PUBLIC))

    def shown(user: str) -> int:
        at = page("recommendations", user)
        table = at.dataframe[0].value
        return int(table.loc[table["id"] == rec, "evidence"].iloc[0])

    assert shown("viewer") == 1
    assert shown("cso") == 2
    assert shown("reviewer") == 4
    import streamlit as st

    st.cache_data.clear()  # the dashboard caches its figures for 30 s
    metrics = {m.label: m.value for m in page("dashboard", "viewer").metric}
    assert int(metrics["Evidence (public)"]) == public_before + 1


# --- row 13: login ----------------------------------------------------------------------------


def test_row13_unknown_and_known_usernames_take_the_same_path_with_one_password_check(
    ui_db: Database[dict[str, Any]]
) -> None:
    calls: list[str] = []
    real = auth.verify_password

    def spy(password_hash: str, password: str) -> bool:
        calls.append(password_hash)
        return real(password_hash, password)

    with mock.patch.object(auth, "verify_password", spy):
        assert authenticate(ui_db, "nobody-here", "whatever-pw").user is None
        assert authenticate(ui_db, "bad name!", "whatever-pw").user is None
        assert authenticate(ui_db, "viewer", "wrong-password").user is None
    dummy = auth._dummy_password_hash()
    viewer_hash = ui_db.users.find_one({"_id": "viewer"})["password_hash"]
    assert calls == [dummy, dummy, viewer_hash]  # one argon2 verification each, known or not


def test_row13_five_wrong_tries_from_one_client_do_not_lock_the_real_user_out(
    ui_db: Database[dict[str, Any]]
) -> None:
    limits = LoginLimits(max_failures=5, backoff_s=2, user_max_wait_s=60, client_max_wait_s=900, window_s=900)
    t0 = datetime.now(UTC)
    for i in range(5):
        assert authenticate(ui_db, "admin", f"guess-{i}", client="10.0.0.66", limits=limits, now=t0).user is None
    # Right after, both the attacker's client and the username back off (seconds, not a lockout) ...
    attacker = authenticate(ui_db, "admin", PASSWORDS["admin"], client="10.0.0.66", limits=limits, now=t0)
    assert attacker.user is None and attacker.retry_after_s == 2
    # ... and once the short backoff is over, the real admin logs in from their own client.
    real = authenticate(ui_db, "admin", PASSWORDS["admin"], client="10.0.0.7", limits=limits,
                        now=t0 + timedelta(seconds=3))
    assert real.user is not None and real.user.username == "admin"
    # Each further failure doubles the attacker's wait; their client stays slowed for others' names too.
    for i, wait in enumerate((2, 4, 8)):
        at = t0 + timedelta(seconds=100 * (i + 1))
        assert authenticate(ui_db, f"user{i}", "guess", client="10.0.0.66", limits=limits, now=at).user is None
        refused = authenticate(ui_db, "viewer", PASSWORDS["viewer"], client="10.0.0.66", limits=limits, now=at)
        assert refused.retry_after_s == wait * 2


def test_row13_logout_clears_the_whole_session_state(ui_db: Database[dict[str, Any]]) -> None:
    at = app("reviewer")
    at.session_state["report_md"] = "# a report preview"
    at.session_state["evidence_preset"] = ["KHM-4-110.23"]
    at.session_state["language"] = "km"
    at.run()
    at.sidebar.button(key="logout").click().run()
    assert shows_login_form(at)
    for key in ("report_md", "evidence_preset", "session_id"):
        assert key not in at.session_state, key
    assert at.session_state["language"] == "km"  # the interface language is not the user's data
