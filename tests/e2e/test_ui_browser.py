"""The workspace in a real browser (Debian Chromium driven by Playwright) on the real stack.

The tracker runs as a subprocess (`faststream run`) and Streamlit as another, both on a fresh
database and a fresh topic prefix; recommendations arrive as recommendation.imported events,
like an import. A CSO member adds evidence and sees it, pending review, in the timeline; a
viewer has no way to add evidence. Screenshots of every page go to test-artifacts/screenshots/
(and to docs/screenshots/ when UPR_UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from pymongo.database import Database

from contracts.events import Position, RecommendationImportedV1, RecommendingState, SourceRef
from contracts.kafka_access import ensure_topics
from contracts.topics import Topics
from tests.e2e.conftest import (
    KAFKA,
    PASSWORDS,
    SHOTS,
    TIMEOUT_MS,
    Stack,
    log_in,
    open_detail,
    open_page,
    running_stack,
    settle,
    shoot,
    wait_for_session_cookie,
)
from tests.integration.helpers import signed_event
from tests.kafka_harness import admin_settings, kafka_options
from ui.sessions import session_id_from_cookie

pytestmark = pytest.mark.e2e


SEED = [
    ("KHM-4-110.23", "Adopt the draft Child Protection Law and ensure its effective implementation",
     "អនុម័តសេចក្តីព្រាងច្បាប់ស្តីពីកិច្ចការពារកុមារ និងធានាការអនុវត្តប្រកបដោយប្រសិទ្ធភាព", "Sweden",
     Position.SUPPORTED),
    ("KHM-4-110.41", "Strengthen measures to prevent online child sexual exploitation, including a national "
     "hotline and a code of conduct for internet service providers", None, "Australia", Position.SUPPORTED),
    ("KHM-4-110.57", "Ensure free birth registration for all children, including children of migrants",
     "ធានាការចុះសំបុត្រកំណើតដោយឥតគិតថ្លៃសម្រាប់កុមារទាំងអស់", "Mexico", Position.SUPPORTED),
    ("KHM-4-111.8", "Raise the minimum age of marriage to 18 for both girls and boys without exception",
     None, "Canada", Position.NOTED),
]


async def publish_imports(topics: Topics) -> None:
    await ensure_topics(admin_settings(KAFKA), topics)
    producer = AIOKafkaProducer(**kafka_options(KAFKA), acks="all")
    await producer.start()
    try:
        for row, (rec_id, text, text_km, state, position) in enumerate(SEED, start=1):
            payload = RecommendationImportedV1(
                recommendation_id=rec_id, country="KHM", cycle=4, session=46, document_symbol="A/HRC/57/9",
                paragraph=rec_id.split("-", 2)[2], text=text, text_km=text_km,
                recommending_states=[RecommendingState(code=state[:3].upper(), name=state)], position=position,
                source=SourceRef(format="test", file_name="e2e.csv", row=row), import_id="e2e-import",
            )
            await producer.send_and_wait(topics.recommendations_imported,
                                         signed_event(payload, source="ingest").to_bytes(), key=rec_id.encode())
    finally:
        await producer.stop()


def seed(db: Database[dict[str, Any]], topics: Topics) -> None:
    """The seeded recommendations, through the tracker, before the UI starts."""
    asyncio.run(publish_imports(topics))
    deadline = time.monotonic() + 60
    while db.recommendations.count_documents({}) < len(SEED):
        assert time.monotonic() < deadline, "the tracker did not store the seeded recommendations"
        time.sleep(0.3)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with running_stack(("tracker",), "e2e", seed=seed) as running:
        yield running


def test_anonymous_visitor_gets_the_login_form(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(stack.url)
    expect(page.get_by_role("button", name="Log in")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
    shoot(page, "01-login")
    page.close()


def test_cso_member_adds_evidence_and_sees_it_pending_review_in_the_timeline(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    page = log_in(browser, stack.url, "cso")
    open_detail(page, "KHM-4-110.57")
    page.get_by_role("tab", name="Evidence timeline").click()
    page.get_by_role("button", name="Add evidence").click()
    expect(page.get_by_role("heading", name="Add evidence")).to_be_visible()
    settle(page)
    expect(page.get_by_text("KHM-4-110.57").first).to_be_visible()  # preselected recommendation
    title = f"Free birth registration sub-decree {uuid.uuid4().hex[:4]}"
    page.get_by_label("Title (what happened)").fill(title)
    page.get_by_label("Link (http:// or https://)").fill("https://example.org/sub-decree")
    page.get_by_label("Verbatim quote from the source").fill(
        "Birth registration is free of charge for all children born in Cambodia.")
    shoot(page, "04-add-evidence")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("pending review by a CNCC reviewer")).to_be_visible(timeout=TIMEOUT_MS)
    stored = stack.db.evidence.find_one({"title": title})
    assert stored is not None and stored["review_state"] == "pending"
    assert stored["submitted_by"]["username"] == "cso"

    open_page(page, "Recommendation detail")
    page.get_by_role("tab", name="Evidence timeline").click()
    expect(page.get_by_text(title)).to_be_visible()
    expect(page.get_by_text("pending review").first).to_be_visible()
    shoot(page, "03-detail-evidence-timeline")
    # The item's own address (what alert emails link to) opens the timeline with it first, marked.
    page.goto(f"{stack.url}/detail?id=KHM-4-110.57&evidence={stored['evidence_id']}")
    linked = page.locator(f".st-key-evidence_{stored['evidence_id']}")
    expect(linked.get_by_text("The item this link points to")).to_be_visible()
    expect(linked.get_by_text(title)).to_be_visible()
    shoot(page, "15-evidence-link")
    page.close()


def test_viewer_cannot_add_evidence(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    page = log_in(browser, stack.url, "viewer")
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_role("link", name="Recommendations", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Add evidence")).to_have_count(0)
    expect(nav.get_by_role("link", name="Review inbox")).to_have_count(0)
    expect(nav.get_by_role("link", name="Admin")).to_have_count(0)
    open_detail(page, "KHM-4-110.57")
    page.get_by_role("tab", name="Evidence timeline").click()
    expect(page.get_by_role("button", name="Add evidence")).to_have_count(0)
    # The CSO member's evidence is pending: a viewer does not see it.
    expect(page.get_by_text("Free birth registration sub-decree")).to_have_count(0)
    # Typing the page's address does not help either: the page says the role cannot open it.
    page.goto(f"{stack.url}/add-evidence")
    expect(page.get_by_text("Your role (viewer) cannot open this page.")).to_be_visible()
    settle(page)
    expect(page.get_by_label("Title (what happened)")).to_have_count(0)
    page.screenshot(path=str(SHOTS / "viewer-direct-address.png"))
    page.close()


def test_every_page_renders_for_an_admin_with_khmer_text(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    page = log_in(browser, stack.url, "admin")
    shoot(page, "02-dashboard")
    open_page(page, "Recommendations")
    expect(page.get_by_text("4 recommendation(s) match")).to_be_visible()
    shoot(page, "05-recommendations")
    open_detail(page, "KHM-4-110.23")
    expect(page.get_by_text("អនុម័តសេចក្តីព្រាងច្បាប់", exact=False)).to_be_visible()
    shoot(page, "06-detail-khmer")
    for number, title in enumerate(["Assess", "Review inbox", "Subscriptions", "Import", "Mid-term report",
                                    "Admin"], start=7):
        open_page(page, title)
        expect(page.get_by_text("cannot open this page")).to_have_count(0)
        shoot(page, f"{number:02d}-{title.lower().replace(' ', '-')}")
    # The interface in Khmer.
    page.get_by_test_id("stSidebar").get_by_role("combobox").first.click()
    page.get_by_role("option", name="ខ្មែរ").click()
    settle(page)
    expect(page.get_by_role("heading", name="រដ្ឋបាល")).to_be_visible()
    open_page(page, "ផ្ទាំងសង្ខេប")
    shoot(page, "13-dashboard-khmer")
    page.close()


# --- sessions and addresses -----------------------------------------------------------------


def _logged_in_view(page: Any) -> Any:
    """What a logged-in user sees: the "Log out" button in the sidebar."""
    return page.get_by_test_id("stSidebar").get_by_role("button", name="Log out")


def test_login_survives_a_reload_and_a_second_tab_and_logout_in_one_tab_ends_the_other(
    stack: Stack, browser: Any
) -> None:
    from playwright.sync_api import expect

    page = log_in(browser, stack.url, "cso")
    cookie = wait_for_session_cookie(page)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"  # page scripts cannot read it
    assert "upr_session" not in page.evaluate("document.cookie")
    page.reload()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(_logged_in_view(page)).to_be_visible()
    expect(page.get_by_role("button", name="Log in")).to_have_count(0)

    second = page.context.new_page()
    second.set_default_timeout(TIMEOUT_MS)
    second.goto(f"{stack.url}/recommendations")
    expect(second.get_by_role("heading", name="Recommendations")).to_be_visible()
    expect(second.get_by_text("4 recommendation(s) match")).to_be_visible()

    page.bring_to_front()
    _logged_in_view(page).click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()

    # The second tab is logged out at its next action.
    second.bring_to_front()
    settle(second)
    second.get_by_label("Search text (English or Khmer)").fill("birth")
    second.get_by_label("Search text (English or Khmer)").press("Enter")
    expect(second.get_by_role("button", name="Log in")).to_be_visible()
    expect(second.get_by_text("recommendation(s) match")).to_have_count(0)
    page.context.close()


def test_a_tampered_or_expired_session_cookie_gives_the_login_form(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    page = log_in(browser, stack.url, "reviewer")
    cookie = wait_for_session_cookie(page)
    value = cookie["value"]
    tampered_value = value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB")
    other = browser.new_context(viewport={"width": 1400, "height": 1000})
    other.add_cookies([{**cookie, "value": tampered_value}])
    tampered = other.new_page()
    tampered.goto(f"{stack.url}/review")
    expect(tampered.get_by_role("button", name="Log in")).to_be_visible(timeout=TIMEOUT_MS)
    expect(tampered.get_by_role("heading", name="Review inbox")).to_have_count(0)
    other.close()

    # The same browser, its session idle for longer than the idle timeout: the login form again.
    page.reload()
    expect(_logged_in_view(page)).to_be_visible()
    session_id = session_id_from_cookie("e2e-session-secret", value, 3600)
    assert session_id is not None
    idle_since = datetime.now(UTC) - timedelta(days=30)
    stack.db.ui_sessions.update_one({"_id": session_id}, {"$set": {"last_seen_at": idle_since}})
    page.reload()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(_logged_in_view(page)).to_have_count(0)
    page.context.close()


def test_a_link_opened_logged_out_lands_on_its_page_after_the_login(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="en-GB")
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{stack.url}/detail?id=KHM-4-110.41")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    settle(page)
    expect(page.get_by_text("Page not found")).to_have_count(0)
    page.get_by_label("Username", exact=True).fill("viewer")
    page.get_by_label("Password", exact=True).fill(PASSWORDS["viewer"])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="KHM-4-110.41")).to_be_visible()
    expect(page.get_by_text("national hotline", exact=False).first).to_be_visible()
    assert page.url.endswith("/detail?id=KHM-4-110.41")
    # The browser stores the session cookie in a request of its own after the login; a new
    # address opened before that request returns would rightly show the login form again.
    wait_for_session_cookie(page)
    # The address alert emails use today (/?recommendation=<id>) lands on the detail page too.
    page.goto(f"{stack.url}/?recommendation=KHM-4-111.8")
    expect(page.get_by_role("heading", name="KHM-4-111.8")).to_be_visible()
    page.context.close()


def test_a_shared_filtered_list_opens_filtered_after_the_login(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="en-GB")
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{stack.url}/recommendations?rec_positions=Noted")
    page.get_by_label("Username", exact=True).fill("viewer")
    page.get_by_label("Password", exact=True).fill(PASSWORDS["viewer"])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("1 recommendation(s) match").first).to_be_visible()
    settle(page)
    assert "rec_positions=Noted" in page.url
    # Filtering changes the address, so what is on screen can be shared as it is.
    box = page.get_by_label("Recommending state")
    box.fill("Canada")
    box.press("Enter")
    expect(page.get_by_text("1 recommendation(s) match").first).to_be_visible()
    settle(page)
    assert "rec_state=Canada" in page.url and "rec_positions=Noted" in page.url
    page.context.close()


def test_a_viewer_opening_a_reviewer_only_link_is_told_their_role_cannot_open_it(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="en-GB")
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{stack.url}/review")
    page.get_by_label("Username", exact=True).fill("viewer")
    page.get_by_label("Password", exact=True).fill(PASSWORDS["viewer"])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Your role (viewer) cannot open this page.")).to_be_visible()
    settle(page)
    expect(page.get_by_text("Page not found")).to_have_count(0)
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    shoot(page, "14-role-cannot-open-page")
    page.context.close()


# --- screen sizes -----------------------------------------------------------------------------

SCREENS = {"laptop": (1366, 768), "phone": (390, 844)}


@pytest.mark.parametrize("screen", list(SCREENS))
def test_every_page_fits_a_laptop_and_a_phone_screen(stack: Stack, browser: Any, screen: str) -> None:
    """A CSO member adds evidence from the field on a phone: no page may need sideways scrolling
    (tables scroll inside themselves) or fail to render. Screenshots: docs/screenshots/<screen>/."""
    from playwright.sync_api import expect

    from ui.pages_registry import PAGES

    width, height = SCREENS[screen]
    page = browser.new_context(viewport={"width": width, "height": height}, locale="en-GB").new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(stack.url)
    page.get_by_label("Username", exact=True).fill("admin")
    page.get_by_label("Password", exact=True).fill(PASSWORDS["admin"])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    wait_for_session_cookie(page)
    too_wide = []
    for spec in PAGES:
        query = "?id=KHM-4-110.23" if spec.key == "detail" else ""
        page.goto(f"{stack.url}/{spec.url_path}{query}")
        expect(page.locator("h1").first).to_be_visible()  # rendered, not a blank page still connecting
        settle(page)
        shoot(page, f"{screen}/{spec.url_path}")
        assert page.get_by_role("button", name="Log in").count() == 0, f"{spec.key}: logged out"
        assert page.get_by_test_id("stException").count() == 0, f"{spec.key}: an error"
        assert page.get_by_text("Page not found").count() == 0, f"{spec.key}: not found"
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 1:
            too_wide.append((spec.key, overflow))
    assert too_wide == [], f"pages wider than a {width}px screen (page, extra px): {too_wide}"
    page.context.close()
