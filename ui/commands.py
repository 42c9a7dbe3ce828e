"""Everything the UI changes goes through here: command envelopes published to Kafka.

The tracker (or notifier) applies a command and records the outcome in
``processed_messages`` under the envelope's ``event_id``; :func:`send` waits for it so
the page can say "saved" or show why it was refused. One producer per process, on a
background event-loop thread, is shared by all sessions (``st.cache_resource``).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import streamlit as st
from aiokafka import AIOKafkaProducer

from contracts.documents import ProcessedMessage
from contracts.events import Actor, Contract, EventEnvelope, make_event
from contracts.kafka_access import client_options
from contracts.markdown import md_escape
from contracts.sealed_text import seal, text_public_key
from contracts.settings import require_trust_secrets
from contracts.signing import command_signer

SOURCE = "ui"


class CommandBus:
    """An aiokafka producer living on its own event loop thread."""

    def __init__(self, kafka_options: dict[str, Any]) -> None:
        self._kafka_options = kafka_options
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="upr-ui-kafka", daemon=True)
        self._thread.start()
        self._producer: AIOKafkaProducer | None = None
        self._lock = threading.Lock()

    def _run(self, coro: Any, timeout: float) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout)

    async def _start(self) -> AIOKafkaProducer:
        producer = AIOKafkaProducer(**self._kafka_options, acks="all",
                                    enable_idempotence=True, client_id="upr-ui", request_timeout_ms=10_000)
        await producer.start()
        return producer

    def publish(self, topic: str, envelope: EventEnvelope, key: str | None, timeout: float = 15.0) -> None:
        with self._lock:
            if self._producer is None:
                self._producer = self._run(self._start(), timeout)
        producer = self._producer
        assert producer is not None
        self._run(producer.send_and_wait(
            topic, envelope.to_bytes(), key=key.encode() if key else None,
            headers=[("content-type", b"application/json")],
        ), timeout)

    def close(self) -> None:
        if self._producer is not None:
            self._run(self._producer.stop(), 10)
        self._loop.call_soon_threadsafe(self._loop.stop)


@st.cache_resource(show_spinner=False)
def command_bus(bootstrap: str, username: str) -> CommandBus:
    """One per broker and principal (the cache key); logs in as the UI's principal."""
    from ui.settings import get_settings

    return CommandBus(client_options(get_settings()))


@dataclass(frozen=True)
class CommandResult:
    """What happened to a command: ``outcome`` is None when no answer came in time."""

    event_id: str
    outcome: str | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is not None and self.outcome != "rejected"

    @property
    def waiting(self) -> bool:
        return self.outcome is None


def wait_for_outcome(
    lookup: Callable[[str], ProcessedMessage | None], event_id: str, timeout: float, poll_s: float = 0.2
) -> CommandResult:
    deadline = time.monotonic() + timeout
    while True:
        found = lookup(event_id)
        if found is not None:
            return CommandResult(event_id, found.outcome, found.error)
        if time.monotonic() >= deadline:
            return CommandResult(event_id, None)
        time.sleep(poll_s)


def send(payload: Contract, actor: Actor, *, to: str = "tracker", key: str | None = None,
         wait: bool = True) -> CommandResult:
    """Publish ``payload`` as a command from ``actor`` and (by default) wait for its outcome."""
    from ui import read_model
    from ui.settings import get_settings

    settings = get_settings()
    topic = settings.topics.notifier_commands if to == "notifier" else settings.topics.tracker_commands
    # Signed for the logged-in user: the consumers believe the actor and role only with a signature.
    require_trust_secrets(settings, tokens=False)
    # People's text is sealed for the tracker: erasing it later erases the Kafka copies too.
    sealed = seal(payload, text_public_key(settings))
    envelope = command_signer(settings).sign(make_event(sealed, source=SOURCE, actor=actor))
    key = key or _key(payload)
    bus = command_bus(settings.kafka_bootstrap, settings.kafka_username)
    bus.publish(topic, envelope, key, timeout=settings.command_timeout_s)
    event_id = str(envelope.event_id)
    if not wait:
        return CommandResult(event_id, None)
    db = read_model.database()
    return wait_for_outcome(lambda mid: read_model.processed_outcome(db, mid), event_id,
                            settings.command_timeout_s)


def _key(payload: Contract) -> str | None:
    for name in ("recommendation_id", "evidence_id", "subscription_id"):
        value = getattr(payload, name, None)
        if value:
            return str(value)
    ids = getattr(payload, "recommendation_ids", None)
    return str(ids[0]) if ids else None


def show_result(result: CommandResult, success: str) -> None:
    """Tell the user what happened, in plain words."""
    if result.ok:
        st.success(success)
    elif result.waiting:
        st.info("Sent. The tracker has not confirmed it yet; refresh in a moment to see it.")
    else:
        st.error(f"Refused: {md_escape(result.error or 'no reason given')}")
