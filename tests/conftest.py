"""Shared fixtures. Integration tests talk to the real Kafka broker and MongoDB-wire
server started by `scripts/stack.sh up` (make test does it)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from contracts.kafka_access import ensure_topics
from contracts.topics import Topics
from tests.kafka_harness import admin_settings

# Tests run the services the way `make up` does: in dev mode (placeholder secrets allowed).
os.environ.setdefault("UPR_ENV", "dev")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
FIXTURES = ROOT / "tests" / "fixtures"
ARTIFACTS = ROOT / "test-artifacts"

KAFKA_BOOTSTRAP = os.environ.get("UPR_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
MONGODB_URI = os.environ.get("UPR_MONGODB_URI", "mongodb://127.0.0.1:27017")


def _port_open(hostport: str) -> bool:
    host, port = hostport.rsplit(":", 1)
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, int(port))) == 0


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    if not _port_open(KAFKA_BOOTSTRAP):
        pytest.fail(f"Kafka is not running on {KAFKA_BOOTSTRAP}: run `make stack-up`")
    return KAFKA_BOOTSTRAP


@pytest.fixture(scope="session")
def mongodb_uri() -> str:
    if not _port_open(MONGODB_URI.removeprefix("mongodb://").split("/")[0]):
        pytest.fail(f"MongoDB-wire server is not running at {MONGODB_URI}: run `make stack-up`")
    return MONGODB_URI


@pytest.fixture
async def mongo_db(mongodb_uri: str) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    """A fresh, uniquely named database, dropped afterwards."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_uri, tz_aware=True)
    name = f"test_{uuid.uuid4().hex[:10]}"
    try:
        yield client[name]
    finally:
        await client.drop_database(name)
        await client.close()


@pytest.fixture
async def topics(kafka_bootstrap: str) -> Topics:
    """Topics under a unique prefix, created on the real broker with every component's ACLs."""
    prefixed = Topics(prefix=f"t{uuid.uuid4().hex[:8]}.")
    await ensure_topics(admin_settings(kafka_bootstrap), prefixed)
    return prefixed


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"sample data folder {SHARED_DATA} is not beside the repository")
    return SHARED_DATA
