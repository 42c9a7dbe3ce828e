"""Everything the UI changes goes through here: command envelopes published to Kafka.

The tracker (or notifier) applies a command and records its receipt under the envelope's
``event_id``; :func:`send` waits for it (contracts/command_client.py, the one client the UI,
the CLI and the ingest share) so the page can say "saved" or show why it was refused. One
producer per process, on a background event-loop thread, is shared by all sessions
(``st.cache_resource``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from typing import Any

import streamlit as st
from aiokafka import AIOKafkaProducer

from contracts.command_client import (
    CommandResult,
    CommandSigner,
    Receipt,
    command_producer,
    partition_key,
    send_command,
    wait_for_receipt,
)
from contracts.events import Actor, Contract, EventEnvelope
from contracts.markdown import md_escape
from contracts.settings import CommonSettings

SOURCE = "ui"
__all__ = ["CommandResult", "send", "show_result"]


class CommandBus:
    """An aiokafka producer living on its own event loop thread."""

    def __init__(self, settings: CommonSettings) -> None:
        self._settings = settings
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="upr-ui-kafka", daemon=True)
        self._thread.start()
        self._producer: AIOKafkaProducer | None = None
        self._lock = threading.Lock()

    def run(self, coro: Any, timeout: float) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout)

    async def _start(self) -> AIOKafkaProducer:
        producer = command_producer(self._settings, "upr-ui", request_timeout_ms=10_000)
        await producer.start()
        return producer

    def publish(self, topic: str, envelope: EventEnvelope, key: str | None, timeout: float = 15.0) -> None:
        with self._lock:
            if self._producer is None:
                self._producer = self.run(self._start(), timeout)
        producer = self._producer
        assert producer is not None
        self.run(send_command(producer, topic, envelope, key), timeout)

    def close(self) -> None:
        if self._producer is not None:
            self.run(self._producer.stop(), 10)
        self._loop.call_soon_threadsafe(self._loop.stop)


@st.cache_resource(show_spinner=False)
def command_bus(bootstrap: str, username: str) -> CommandBus:
    """One per broker and principal (the cache key); logs in as the UI's principal."""
    from ui.settings import get_settings

    return CommandBus(get_settings())


def send(payload: Contract, actor: Actor, *, to: str = "tracker", key: str | None = None,
         wait: bool = True) -> CommandResult:
    """Publish ``payload`` as a command from ``actor`` and (by default) wait for its outcome."""
    from ui import read_model
    from ui.settings import get_settings

    settings = get_settings()
    topic = settings.topics.notifier_commands if to == "notifier" else settings.topics.tracker_commands
    # Signed for the logged-in user: the consumers believe the actor and role only with a signature.
    envelope = CommandSigner(settings, SOURCE).envelope(payload, actor)
    bus = command_bus(settings.kafka_bootstrap, settings.kafka_username)
    bus.publish(topic, envelope, key or partition_key(payload), timeout=settings.command_timeout_s)
    event_id = str(envelope.event_id)
    if not wait:
        return CommandResult(event_id, None)
    db = read_model.database()

    async def lookup(ids: Sequence[str]) -> Mapping[str, Receipt]:
        # The receipts of whoever consumes the command (the notifier keeps its own).
        return await asyncio.to_thread(read_model.receipts, db, ids, to)

    timeout = settings.command_timeout_s
    result: CommandResult = bus.run(wait_for_receipt(lookup, event_id, timeout_s=timeout), timeout + 5)
    return result


def show_result(result: CommandResult, success: str) -> None:
    """Tell the user what happened, in plain words."""
    if result.ok:
        st.success(success)
    elif result.waiting:
        st.info("Sent. The tracker has not confirmed it yet; refresh in a moment to see it.")
    else:
        st.error(f"Refused: {md_escape(result.error or 'no reason given')}")
