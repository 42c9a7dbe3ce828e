"""Fixtures of the integration tests (the stack-level ones live in tests/conftest.py)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller

from contracts.topics import Topics
from services.notifier.app import build_app
from services.notifier.receiver import WebhookReceiver
from services.notifier.settings import NotifierSettings
from services.tracker.app import build_app as build_tracker
from services.tracker.settings import TrackerSettings
from tests.integration.helpers import ServiceProcess, free_port, process_log, serving_http
from tests.integration.notifier_helpers import SECRET, MailCatcher
from tests.kafka_harness import kafka_options


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    """A plain aiokafka producer, as another service or a partner would publish."""
    p = AIOKafkaProducer(**kafka_options(kafka_bootstrap), acks="all", linger_ms=10)
    await p.start()
    yield p
    await p.stop()


@pytest.fixture
def stack_env(kafka_bootstrap: str, mongodb_uri: str, topics: Topics, mongo_db: Any) -> dict[str, str]:
    """The environment `upr` (or a service process) runs with against this test's topics and database."""
    return {"UPR_KAFKA_BOOTSTRAP": kafka_bootstrap, "UPR_MONGODB_URI": mongodb_uri, "UPR_MONGODB_DB": mongo_db.name,
            "UPR_TOPIC_PREFIX": topics.prefix}


# --- the tracker in this process, with its HTTP API ---------------------------------------


@dataclass
class RunningTracker:
    app: Any
    url: str  # its HTTP API: receipts and previews for `upr import`, reports, the read API
    env: dict[str, str]  # for `upr` against this tracker


@pytest.fixture
def tracker_config(kafka_bootstrap: str, mongodb_uri: str, topics: Topics, mongo_db: Any) -> TrackerSettings:
    """Override in a module for other settings (e.g. the Dashboard's recount interval)."""
    return TrackerSettings(kafka_bootstrap=kafka_bootstrap, mongodb_uri=mongodb_uri, mongodb_db=mongo_db.name,
                           topic_prefix=topics.prefix, examples_refresh_s=0)


@pytest.fixture
async def tracker_app(tracker_config: TrackerSettings, stack_env: dict[str, str]) -> AsyncIterator[RunningTracker]:
    """The tracker consuming this test's topics, its HTTP API on a free port."""
    async with build_tracker(tracker_config) as app, serving_http(app) as url:
        yield RunningTracker(app, url, {**stack_env, "UPR_TRACKER_URL": url})


# --- the notifier, a real SMTP server on loopback and a webhook receiver -----------------


@pytest.fixture
def smtp_server() -> Iterator[tuple[MailCatcher, int]]:
    catcher = MailCatcher()
    port = free_port()
    controller = Controller(catcher, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield catcher, port
    finally:
        controller.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver() as r:
        yield r


@pytest.fixture
def notifier_settings(
    kafka_bootstrap: str, mongodb_uri: str, topics: Topics, mongo_db: Any, smtp_server: tuple[MailCatcher, int]
) -> NotifierSettings:
    return NotifierSettings(
        kafka_bootstrap=kafka_bootstrap, mongodb_uri=mongodb_uri, mongodb_db=mongo_db.name,
        topic_prefix=topics.prefix, smtp_host="127.0.0.1", smtp_port=smtp_server[1],
        notifier_secret=SECRET, public_ui_url="https://upr.example.org",
        public_notifier_url="https://alerts.upr.example.org",
        webhook_allowlist=["127.0.0.1"], webhook_timeout_s=1.0, delivery_attempts=3, retry_base_s=0.05,
        retry_cap_s=0.2, scheduler_enabled=False, subscriptions_refresh_s=0,
    )


@pytest.fixture
async def notifier(notifier_settings: NotifierSettings) -> AsyncIterator[Any]:
    app = build_app(notifier_settings)
    async with app:
        yield app


# --- the tracker as a real process (killed with SIGKILL by the fault tests) -------------


@pytest.fixture
def tracker_env(kafka_bootstrap: str, mongodb_uri: str, topics: Topics, mongo_db: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPR_")}
    # Dev mode, as `make up` runs it: the tracker logs in to Kafka with its dev password.
    env.update(UPR_KAFKA_BOOTSTRAP=kafka_bootstrap, UPR_MONGODB_URI=mongodb_uri, UPR_MONGODB_DB=mongo_db.name,
               UPR_TOPIC_PREFIX=topics.prefix, UPR_LOG_LEVEL="WARNING",
               UPR_ENV="dev")  # placeholder token secret and command key, as the test process has
    return env


@pytest.fixture
def tracker_process(tracker_env: dict[str, str], request: pytest.FixtureRequest) -> Iterator[ServiceProcess]:
    process = ServiceProcess("services.tracker.app:app", tracker_env, process_log(request))
    yield process
    process.stop()
