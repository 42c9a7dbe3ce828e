"""The public progress page in Chromium on the real stack: the tracker (its read API) and the public
page started by scripts/services.sh, on Kafka and the MongoDB-wire server. A recommendation with
one public and one coalition-only evidence item shows only the public one; held, pending and
rejected items never appear; nowhere on the page is there a login form; evidence a reviewer
withdraws leaves the page without a rebuild."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from pymongo import MongoClient
from pymongo.database import Database

from contracts.events import Actor, EventEnvelope, EvidenceReviewRequestedV1, Role
from contracts.topics import Topics
from tests.e2e.conftest import TIMEOUT_MS, free_port, settle, shoot
from tests.integration.helpers import produced_by, send
from tests.integration.test_read_api import evidence, rec
from tests.kafka_harness import kafka_options

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
MONGODB_URI = os.environ.get("UPR_MONGODB_URI", "mongodb://127.0.0.1:27017")
HIDDEN = ("title ev-coalition", "title ev-held", "title ev-pending", "title ev-rejected", "reviewer note")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Database[dict[str, Any]], Topics]]:
    name = f"test_e2e_public_{uuid.uuid4().hex[:8]}"
    client: MongoClient[dict[str, Any]] = MongoClient(MONGODB_URI, tz_aware=True)
    db = client[name]
    db.recommendations.insert_many([rec("KHM-4-110.23", text="Adopt the Child Protection Law"),
                                    rec("KHM-3-117.5", cycle=3, text="A recommendation of an unpublished cycle")])
    db.evidence.insert_many([
        evidence("ev-public", "KHM-4-110.23"), evidence("ev-coalition", "KHM-4-110.23", visibility="coalition"),
        evidence("ev-held", "KHM-4-110.23", flags=["name_with_age"]),
        evidence("ev-pending", "KHM-4-110.23", state="pending"),
        evidence("ev-rejected", "KHM-4-110.23", state="rejected"),
    ])
    db.cycles.insert_one({"_id": "KHM-4", "country": "KHM", "cycle": 4, "published": True})
    ports = {"tracker": free_port(), "public": free_port()}
    topics = Topics(f"e2e{uuid.uuid4().hex[:8]}.")
    env = {**os.environ, "UPR_RUN_DIR": str(tmp_path_factory.mktemp("upr-public")), "UPR_MONGODB_DB": name,
           "UPR_TOPIC_PREFIX": topics.prefix, "UPR_TRACKER_PORT": str(ports["tracker"]),
           "UPR_PUBLIC_PORT": str(ports["public"]), "UPR_TRACKER_URL": f"http://127.0.0.1:{ports['tracker']}"}
    services = [str(ROOT / "scripts" / "services.sh")]
    try:
        up = subprocess.run([*services, "up", "tracker", "public"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=600)
        assert up.returncode == 0, f"services did not start:\n{up.stdout}\n{up.stderr}"
        yield f"http://127.0.0.1:{ports['public']}", db, topics
    finally:
        subprocess.run([*services, "down", "tracker", "public"], cwd=ROOT, env=env, capture_output=True, timeout=120)
        client.drop_database(name)
        client.close()


def test_the_public_page_shows_public_evidence_only_and_has_no_login_form(
    site: tuple[str, Database[dict[str, Any]], Topics], browser: Any,
) -> None:
    from playwright.sync_api import expect

    url, _, topics = site
    page = browser.new_context(viewport={"width": 1200, "height": 1000}, locale="en-GB").new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{url}/recommendation?id=KHM-4-110.23")
    expect(page.get_by_text("title ev-public")).to_be_visible()
    settle(page)
    shown = page.inner_text("body")
    assert "Adopt the Child Protection Law" in shown
    assert [h for h in HIDDEN if h in shown] == []
    assert page.locator("input[type=password]").count() == 0

    page.goto(url)  # the overview: the published, supported recommendation only; no login there either
    expect(page.get_by_role("heading", name="1 recommendation(s)")).to_be_visible()
    shoot(page, "public-page")
    assert page.locator("input[type=password]").count() == 0
    page.goto(f"{url}/recommendation?id=KHM-3-117.5")  # an unpublished cycle's address shows nothing of it
    settle(page)
    assert "A recommendation of an unpublished cycle" not in page.inner_text("body")

    # A reviewer withdraws the public item (rejects it after approving it): the tracker applies
    # the command, and the page drops the item at its next read of the API.
    reviewer = Actor(username="reviewer", role=Role.REVIEWER, organisation="CNCC")
    withdraw = produced_by("ui", EvidenceReviewRequestedV1(evidence_id="ev-public", decision="rejected"),
                           actor=reviewer)
    # In a thread of its own: Playwright's sync API already runs an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _publish(topics.tracker_commands, withdraw)).result(timeout=60)
    deadline = time.monotonic() + 120
    while True:
        page.goto(f"{url}/recommendation?id=KHM-4-110.23")
        expect(page.get_by_text("Adopt the Child Protection Law").first).to_be_visible()
        settle(page)
        if "title ev-public" not in page.inner_text("body"):
            break
        assert time.monotonic() < deadline, "withdrawn evidence still on the public page after 120 s"
        page.wait_for_timeout(2_000)
    page.context.close()


async def _publish(topic: str, event: EventEnvelope) -> None:
    producer = AIOKafkaProducer(**kafka_options(), acks="all")
    await producer.start()
    try:
        await send(producer, topic, event, key=b"ev-public")
    finally:
        await producer.stop()
