"""Issue 13 row 2 (transport): the local stack's Kafka lets in only logged-in clients, and each
component's principal only onto its own topics (contracts/kafka_access.py)."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError

from contracts.kafka_access import client_options
from contracts.topics import Topics
from services.tracker.settings import TrackerSettings
from ui.settings import UISettings

pytestmark = pytest.mark.integration


async def produce(topic: str, **options: Any) -> None:
    producer = AIOKafkaProducer(acks="all", request_timeout_ms=10_000, **options)
    try:
        await producer.start()
        await producer.send_and_wait(topic, b'{"forged": true}', key=b"KHM-4-110.23")
    finally:
        await producer.stop()


async def test_a_client_without_credentials_cannot_produce_to_tracker_commands(
    kafka_bootstrap: str, topics: Topics
) -> None:
    # The broker speaks only SASL: a client that does not log in is dropped before any request.
    with pytest.raises(KafkaConnectionError):
        await produce(topics.tracker_commands, bootstrap_servers=kafka_bootstrap)


async def test_a_wrong_password_is_refused(kafka_bootstrap: str, topics: Topics) -> None:
    forged = TrackerSettings(kafka_bootstrap=kafka_bootstrap, kafka_password="guessed-password")
    with pytest.raises(KafkaConnectionError):
        await produce(topics.tracker_events, **client_options(forged))


async def test_each_principal_may_produce_only_to_its_own_topics(kafka_bootstrap: str, topics: Topics) -> None:
    ui = UISettings(kafka_bootstrap=kafka_bootstrap)
    tracker = TrackerSettings(kafka_bootstrap=kafka_bootstrap)
    # The UI sends commands ...
    await produce(topics.tracker_commands, **client_options(ui))
    # ... but cannot pose as the notifier (delivery outcomes) or the tracker (stored facts).
    for topic in (topics.notifications, topics.tracker_events):
        with pytest.raises(TopicAuthorizationFailedError):
            await produce(topic, **client_options(ui))
    # The tracker publishes its events; it cannot inject commands.
    await produce(topics.tracker_events, **client_options(tracker))
    with pytest.raises(TopicAuthorizationFailedError):
        await produce(topics.tracker_commands, **client_options(tracker))
