"""The whole system, as its users meet it: `make up`, then a real browser.

`make up` starts ingest, tracker, notifier, the UI and the public page (scripts/services.sh) on free ports, a fresh
database, a fresh topic prefix and a run directory of their own, beside any demo a developer runs.
A partner subscribes (through `upr subscriptions add`) to new evidence on trafficking (T18) by email
(a real SMTP server, aiosmtpd, on loopback) and by webhook (a loopback receiver that verifies
X-UPR-Signature). Then, in Chromium:

1. a CNCC reviewer imports the real 1st-cycle Cambodia file (138 rows) on the Import page and finds
   the recommendations tagged with child-rights themes;
2. a CSO coalition member adds evidence with its provenance to a trafficking recommendation and
   gives the coalition's assessment;
3. the reviewer approves the evidence in the Review inbox and gives the official CNCC status;
4. the partner gets exactly one email and exactly one verified webhook about that evidence; the
   email's link, opened in a fresh browser, asks for a login and then lands on that evidence;
5. the reviewer downloads the mid-term report (DOCX), and the evidence is cited under the chapter of
   the recommendation's first theme.

Screenshots of every step go to test-artifacts/e2e/; the services' logs stay in the run directory
(printed on failure).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import re
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.database import Database

from services.notifier.receiver import ReceivedWebhook, WebhookReceiver
from services.tracker.domain.report_labels import heading
from tests.e2e.conftest import PASSWORDS, TIMEOUT_MS, free_port, log_in, open_detail, open_page, settle
from ui.auth import ensure_demo_users

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv" / "bin"
CAMBODIA_CYCLE_1 = ROOT.parent / "shared" / "data" / "upr_info_khm_cycle1_2009.csv"
SHOTS = ROOT / "test-artifacts" / "e2e"
KAFKA = os.environ.get("UPR_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
MONGODB_URI = os.environ.get("UPR_MONGODB_URI", "mongodb://127.0.0.1:27017")
THEME = "T18"  # trafficking and sale of children
PARTNER_EMAIL = "alerts@partner.example.org"
SLOW_MS = 180_000  # an import of 138 rows, or a report, on FerretDB on two cores


# --- the partner's side: a mailbox and a webhook endpoint on loopback -------------------------


@dataclass
class Mailbox:
    """A real SMTP server (aiosmtpd) that keeps every message it accepts."""

    port: int = field(default_factory=free_port)
    messages: list[EmailMessage] = field(default_factory=list)  # alerts
    confirmations: list[EmailMessage] = field(default_factory=list)  # double opt-in emails

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        message["X-Test-Rcpt-To"] = ",".join(envelope.rcpt_tos)
        (self.confirmations if message["X-UPR-Kind"] == "confirmation" else self.messages).append(message)
        return "250 OK"


class WebhookEndpoint:
    """The notifier's reference receiver (verifies X-UPR-Signature) on its own event loop thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="webhook-endpoint", daemon=True)
        self.thread.start()
        self.receiver = asyncio.run_coroutine_threadsafe(WebhookReceiver().start(), self.loop).result(10)

    @property
    def url(self) -> str:
        return self.receiver.url

    def use_secret(self, secret: str) -> None:
        self.receiver.secret = secret

    @property
    def received(self) -> list[ReceivedWebhook]:
        return list(self.receiver.received)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.receiver.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


# --- the system, started by `make up` ---------------------------------------------------------


@dataclass
class System:
    url: str
    env: dict[str, str]
    db: Database[dict[str, Any]]
    mailbox: Mailbox
    webhook: WebhookEndpoint
    run_dir: Path

    def upr(self, *args: str) -> dict[str, Any]:
        """Run the `upr` command line with the system's environment; its --json answer."""
        done = subprocess.run([str(VENV / "upr"), *args, "--json"], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, f"upr {' '.join(args)} failed: {done.stdout}{done.stderr}"
        return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]

    def logs(self) -> str:
        parts = []
        for log in sorted((self.run_dir / "logs").glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()[-40:]
            parts.append(f"--- {log.name} (last {len(lines)} lines)\n" + "\n".join(lines))
        return "\n".join(parts)


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    from aiosmtpd.controller import Controller

    run_dir = tmp_path_factory.mktemp("upr-run")
    name = f"test_e2e_sys_{uuid.uuid4().hex[:8]}"
    ports = {service: free_port() for service in ("tracker", "ingest", "notifier", "ui", "public")}
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    smtp.start()
    webhook = WebhookEndpoint()
    env = {
        **os.environ,
        "UPR_RUN_DIR": str(run_dir),
        "UPR_MONGODB_URI": MONGODB_URI,
        "UPR_MONGODB_DB": name,
        "UPR_KAFKA_BOOTSTRAP": KAFKA,
        "UPR_TOPIC_PREFIX": f"e2e{uuid.uuid4().hex[:8]}.",
        **{f"UPR_{service.upper()}_PORT": str(port) for service, port in ports.items()},
        **{f"UPR_{service.upper()}_URL": f"http://127.0.0.1:{ports[service]}"
           for service in ("tracker", "ingest", "notifier")},
        "UPR_PUBLIC_UI_URL": f"http://127.0.0.1:{ports['ui']}",
        "UPR_PUBLIC_NOTIFIER_URL": f"http://127.0.0.1:{ports['notifier']}",
        "UPR_SMTP_HOST": "127.0.0.1",
        "UPR_SMTP_PORT": str(mailbox.port),
        "UPR_WEBHOOK_ALLOWLIST": "127.0.0.1",
        "UPR_SCHEDULER_ENABLED": "false",
        "UPR_RETRY_BASE_S": "0.2",
        "PYTHONUNBUFFERED": "1",
    }
    client: MongoClient[dict[str, Any]] = MongoClient(MONGODB_URI, tz_aware=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    system = System(f"http://127.0.0.1:{ports['ui']}", env, client[name], mailbox, webhook, run_dir)
    try:
        started = time.monotonic()
        up = subprocess.run(["make", "--no-print-directory", "up"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=600)
        assert up.returncode == 0, f"make up failed:\n{up.stdout}\n{up.stderr}\n{system.logs()}"
        print(f"make up: {time.monotonic() - started:.1f} s")
        ensure_demo_users(system.db)
        yield system
    finally:
        subprocess.run([str(ROOT / "scripts" / "services.sh"), "down"], cwd=ROOT, env=env, capture_output=True,
                       timeout=120)
        webhook.close()
        smtp.stop()
        client.drop_database(name)
        client.close()


# --- helpers ----------------------------------------------------------------------------------


def shoot(page: Any, name: str) -> None:
    settle(page)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def choose(page: Any, widget: str, label: str, option: str, exact: bool = False) -> None:
    """Pick ``option`` in the Streamlit select box or multiselect labelled ``label``."""
    box = page.get_by_test_id(widget).filter(has=page.get_by_text(label, exact=True))
    box.get_by_role("combobox").click()
    page.keyboard.type(option)  # the list is virtualised: filter it first
    page.get_by_role("option", name=option, exact=exact).first.click()
    page.keyboard.press("Escape")
    settle(page)


def wait_until(what: str, check: Callable[[], bool], timeout: float, every: float = 1.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        time.sleep(every)


def docx_paragraphs_with_headings(path: Path) -> list[tuple[str, str, str, str, str]]:
    """(heading 1, heading 2, heading 3, style, text) for every paragraph of the document."""
    from docx import Document

    levels = {"Heading 1": 1, "Heading 2": 2, "Heading 3": 3}
    current = ["", "", ""]
    rows = []
    for paragraph in Document(str(path)).paragraphs:
        style = paragraph.style.name if paragraph.style is not None else ""
        level = levels.get(style)
        if level is not None:
            current[level - 1] = paragraph.text
            for deeper in range(level, 3):
                current[deeper] = ""
        rows.append((current[0], current[1], current[2], style, paragraph.text))
    return rows


# --- the test ---------------------------------------------------------------------------------


@pytest.mark.timeout(900)
def test_imported_recommendation_gets_evidence_alerts_and_a_cited_report_entry(system: System, browser: Any) -> None:
    from playwright.sync_api import expect

    db = system.db
    t0 = time.monotonic()

    # A partner subscribes to new evidence on trafficking, by email and by webhook.
    by_email = system.upr("subscriptions", "add", "--channel", "email", "--email", PARTNER_EMAIL,
                          "--kind", "new_evidence", "--theme", THEME)
    assert by_email["outcome"] != "rejected", by_email
    # Nothing goes to the address until it confirms (double opt-in): the partner follows the link.
    wait_until("the confirmation email", lambda: bool(system.mailbox.confirmations), timeout=60, every=0.2)
    confirmation = system.mailbox.confirmations[0].get_body(preferencelist=("plain",))
    assert confirmation is not None
    link = re.search(r"http://\S+/confirm\?token=\S+", confirmation.get_content())
    assert link is not None
    with urllib.request.urlopen(link.group(0), timeout=10) as answer:
        assert answer.status == 200
    by_webhook = system.upr("subscriptions", "add", "--channel", "webhook", "--url", system.webhook.url,
                            "--kind", "new_evidence", "--theme", THEME)
    assert by_webhook["outcome"] != "rejected", by_webhook
    system.webhook.use_secret(by_webhook["subscription"]["secret"])

    # 1. A CNCC reviewer imports the real 1st-cycle file through the Import page.
    reviewer = log_in(browser, system.url, "reviewer", accept_downloads=True)
    open_page(reviewer, "Import")
    with reviewer.expect_file_chooser() as chooser:
        reviewer.get_by_test_id("stFileUploaderDropzone").get_by_test_id("stBaseButton-secondary").click()
    chooser.value.set_files(str(CAMBODIA_CYCLE_1))
    expect(reviewer.get_by_role("button", name=f"Remove {CAMBODIA_CYCLE_1.name}")).to_be_visible()
    shoot(reviewer, "01-import-file-chosen")
    # First the preview (nothing stored), then the explicit Import.
    reviewer.get_by_role("button", name="Preview", exact=True).click()
    expect(reviewer.get_by_role("heading", name="Preview: nothing is stored yet")).to_be_visible(timeout=SLOW_MS)
    settle(reviewer)
    metrics = {m.get_by_test_id("stMetricLabel").inner_text().strip(): m.get_by_test_id("stMetricValue").inner_text()
               for m in reviewer.get_by_test_id("stMetric").all()}
    assert (metrics["Rows read"], metrics["Would create"], metrics["Rejected"]) == ("138", "138", "0"), metrics
    reviewer.get_by_role("button", name="Import", exact=True).click()
    expect(reviewer.get_by_role("heading", name="Import report")).to_be_visible(timeout=SLOW_MS)
    expect(reviewer.get_by_test_id("stMetricLabel").get_by_text("Rows")).to_be_visible()  # drawn after the heading
    settle(reviewer)
    metrics = {m.get_by_test_id("stMetricLabel").inner_text().strip(): m.get_by_test_id("stMetricValue").inner_text()
               for m in reviewer.get_by_test_id("stMetric").all()}
    assert metrics["Rows read"] == "138", metrics
    assert metrics["Rejected"] == "0", metrics
    expect(reviewer.get_by_text("Every row was read without error.")).to_be_visible()
    shoot(reviewer, "02-import-report")
    print(f"import done: {time.monotonic() - t0:.1f} s")

    # The recommendations were tagged: pick a trafficking one, as a coalition member would.
    wait_until("138 recommendations of cycle 1 stored", lambda: db.recommendations.count_documents({"cycle": 1}) >= 138,
               timeout=120)
    tagged = sorted(db.recommendations.find({"cycle": 1, "themes": THEME}), key=lambda r: r["recommendation_id"])
    assert tagged, f"no cycle-1 recommendation was tagged {THEME}"
    target = tagged[0]
    rec_id = target["recommendation_id"]
    chapter = sorted(target["themes"])[0]  # the report shows a recommendation in full under its first theme
    print(f"{len(tagged)} recommendations tagged {THEME}; using {rec_id} {sorted(target['themes'])}")

    open_page(reviewer, "Recommendations")
    choose(reviewer, "stMultiSelect", "Themes", THEME)
    expect(reviewer.get_by_text(f"{len(tagged)} recommendation(s) match")).to_be_visible()
    shoot(reviewer, "03-recommendations-by-theme")
    open_detail(reviewer, rec_id)
    expect(reviewer.get_by_text(f"{THEME} ", exact=False).first).to_be_visible()
    shoot(reviewer, "04-detail-themes")

    # 2. A CSO member adds evidence with its provenance, then the coalition's assessment.
    cso = log_in(browser, system.url, "cso")
    open_detail(cso, rec_id)
    cso.get_by_role("tab", name="Evidence timeline").click()
    cso.get_by_role("button", name="Add evidence").click()
    expect(cso.get_by_role("heading", name="Add evidence")).to_be_visible()
    settle(cso)
    expect(cso.get_by_test_id("stMultiSelect").get_by_text(rec_id)).to_be_visible()  # preselected
    title = f"Anti-trafficking law enforcement training {uuid.uuid4().hex[:6]}"
    choose(cso, "stSelectbox", "Kind of source", "Training")
    cso.get_by_label("Title (what happened)").fill(title)
    cso.get_by_label("Link (http:// or https://)").fill("https://example.org/training-report-2011")
    cso.get_by_label("Document reference (e.g. law number, page)").fill("Training report 2011, p. 4")
    for part, value in (("year", "2011"), ("month", "03"), ("day", "15")):
        segment = cso.get_by_role("spinbutton", name=f"{part}, Date of the source")
        segment.click()
        segment.press_sequentially(value)
    cso.get_by_label("Verbatim quote from the source").fill(
        "299 law-enforcement officers were trained to identify and refer child victims of trafficking.")
    cso.get_by_text("Everyone (public)").click()
    shoot(cso, "05-add-evidence")
    cso.get_by_test_id("stForm").get_by_role("button", name="Submit").click()
    expect(cso.get_by_text("pending review by a CNCC reviewer")).to_be_visible()
    shoot(cso, "06-evidence-pending")
    evidence = db.evidence.find_one({"title": title})
    assert evidence is not None, "the evidence was not stored"
    assert evidence["review_state"] == "pending"
    assert evidence["recommendation_ids"] == [rec_id]
    assert evidence["published_on"] is not None and str(evidence["published_on"]).startswith("2011-03-15")
    assert evidence["visibility"] == "public" and evidence["source_type"] == "training"
    evidence_id = evidence["evidence_id"]

    open_page(cso, "Assess")
    box = cso.get_by_label("Recommendation id")
    box.fill(rec_id)
    box.press("Enter")
    settle(cso)
    choose(cso, "stSelectbox", "Status", "In progress")
    cso.get_by_label("Rationale").fill("Training has started; no prosecutions reported yet.")
    shoot(cso, "07-cso-assessment")
    cso.get_by_test_id("stForm").get_by_role("button", name="Submit").click()
    expect(cso.get_by_text("Assessment saved.")).to_be_visible()
    cso.close()
    # No alert yet: the evidence is pending review.
    assert not system.mailbox.messages and not system.webhook.received

    # 3. The reviewer approves the evidence and gives the CNCC status, citing it.
    open_page(reviewer, "Review inbox")
    expect(reviewer.get_by_text(title)).to_be_visible()
    shoot(reviewer, "08-review-inbox")
    reviewer.locator(f".st-key-approve_{evidence_id}").get_by_role("button", name="Approve").click()
    expect(reviewer.get_by_text(title)).to_have_count(0)
    settle(reviewer)
    assert db.evidence.find_one({"title": title})["review_state"] == "approved"  # type: ignore[index]
    approved_at = time.monotonic()

    open_page(reviewer, "Assess")
    box = reviewer.get_by_label("Recommendation id")
    box.fill(rec_id)
    box.press("Enter")
    settle(reviewer)
    choose(reviewer, "stSelectbox", "Status", "Partially implemented")
    reviewer.get_by_label("Rationale").fill("Training delivered nationwide; victim referral still uneven.")
    choose(reviewer, "stMultiSelect", "Evidence cited", title)
    shoot(reviewer, "09-cncc-status")
    reviewer.get_by_test_id("stForm").get_by_role("button", name="Submit").click()
    expect(reviewer.get_by_text("Assessment saved.")).to_be_visible()
    stored = db.recommendations.find_one({"recommendation_id": rec_id})
    assert stored is not None
    assert stored["cncc_status"] == "partially_implemented" and stored["cso_status"] == "in_progress"

    # 4. The partner gets one email and one verified webhook about the evidence, and no more.
    wait_until("the email and the webhook", lambda: bool(system.mailbox.messages and system.webhook.received),
               timeout=60, every=0.2)
    print(f"alerts arrived {time.monotonic() - approved_at:.1f} s after the approval")
    time.sleep(5)  # a duplicate would arrive within this
    assert len(system.mailbox.messages) == 1, [m["Subject"] for m in system.mailbox.messages]
    mail = system.mailbox.messages[0]
    assert mail["X-Test-Rcpt-To"] == PARTNER_EMAIL
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None and title in body.get_content()
    hooks = system.webhook.received
    assert len(hooks) == 1, [(h.delivery_id, h.event_type) for h in hooks]
    hook = hooks[0]
    assert hook.signature_ok and 200 <= hook.answered < 300
    assert hook.alert_kind == "new_evidence"
    # The body is the tracker's evidence.reviewed event (EvidenceReviewedV1: id and decision only).
    event = json.loads(hook.body)
    assert hook.event_type == event["type"] == "evidence.reviewed"
    assert event["payload"]["evidence_id"] == evidence_id and event["payload"]["decision"] == "approved"
    # Both link to the evidence item's stable address; followed in a fresh browser (no session),
    # it asks for a login and then lands on the recommendation with that evidence first.
    link = re.search(r"http://\S+/detail\?\S+", body.get_content())
    assert link is not None and f"evidence={evidence_id}" in link.group(0), body.get_content()
    assert event["links"]["evidence"] == {evidence_id: link.group(0)}
    fresh = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-GB").new_page()
    fresh.set_default_timeout(TIMEOUT_MS)
    fresh.goto(link.group(0))
    fresh.get_by_label("Username", exact=True).fill("viewer")
    fresh.get_by_label("Password", exact=True).fill(PASSWORDS["viewer"])
    fresh.get_by_role("button", name="Log in").click()
    expect(fresh.get_by_role("heading", name=rec_id)).to_be_visible()
    linked = fresh.locator(f".st-key-evidence_{evidence_id}")
    expect(linked.get_by_text("The item this link points to")).to_be_visible()
    expect(linked.get_by_text(title)).to_be_visible()
    shoot(fresh, "11-alert-link-lands-on-the-evidence")
    fresh.context.close()

    # 5. The reviewer downloads the mid-term report; the evidence is cited under the right chapter.
    open_page(reviewer, "Mid-term report")
    choose(reviewer, "stSelectbox", "Cycle", "1", exact=True)
    reviewer.get_by_role("tab", name="Export").click()
    reviewer.get_by_role("button", name="Build Word (DOCX)").click()
    save = reviewer.get_by_role("button", name="Save Word (DOCX)")
    expect(save).to_be_visible(timeout=SLOW_MS)
    shoot(reviewer, "10-report-export")
    with reviewer.expect_download(timeout=SLOW_MS) as download:
        save.click()
    report = SHOTS / "midterm-report-cycle1.docx"
    download.value.save_as(str(report))
    reviewer.close()

    rows = docx_paragraphs_with_headings(report)
    cited = [r for r in rows if r[3] == "List Bullet" and r[4].startswith(title)]
    assert cited, "the evidence is not listed under any recommendation's measures"
    h1, h2, h3, _, text = cited[0]
    assert h1 == heading("chapters", "en")
    assert h2.startswith(f"{chapter} "), f"cited under {h2!r}, expected chapter {chapter}"
    assert h3.startswith(rec_id.split("-", 2)[-1]), f"cited under {h3!r}, expected the entry of {rec_id}"
    assert "Training" in text and "2011-03-15" in text
    sources = [r[4] for r in rows if r[0] == heading("sources", "en") and title in r[4]]
    assert len(sources) == 1, "the evidence is missing from the list of sources"
    number = sources[0].split("]", 1)[0] + "]"  # "[1]"
    entry = [r[4] for r in rows if (r[1], r[2]) == (h2, h3)]
    assert any(p.startswith("CNCC status: Partially implemented") and number in p for p in entry), entry
    assert any(p.startswith("CSO status: In progress") for p in entry), entry
    print(f"whole flow: {time.monotonic() - t0:.1f} s")
