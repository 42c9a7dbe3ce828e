"""Fixtures of the integration tests (the stack-level ones live in tests/conftest.py)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller

from contracts.topics import Topics
from services.notifier.app import build_app
from services.notifier.receiver import WebhookReceiver
from services.notifier.settings import NotifierSettings
from tests.integration.helpers import ServiceProcess, free_port, process_log
from tests.integration.notifier_helpers import SECRET, MailCatcher
from tests.kafka_harness import kafka_options


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    """A plain aiokafka producer, as another service or a partner would publish."""
    p = AIOKafkaProducer(**kafka_options(kafka_bootstrap), acks="all", linger_ms=10)
    await p.start()
    yield p
    await p.stop()


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
