"""Fixtures of the integration tests (the stack-level ones live in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer

from tests.kafka_harness import kafka_options


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    """A plain aiokafka producer, as another service or a partner would publish."""
    p = AIOKafkaProducer(**kafka_options(kafka_bootstrap), acks="all", linger_ms=10)
    await p.start()
    yield p
    await p.stop()
