"""Publish a command, then wait for its receipt: the one client the UI, the CLI and the ingest use.

A command is signed for its producer (contracts/signing.py) with people's text sealed for the
tracker (contracts/sealed_text.py), and keyed so that commands about one thing stay in order
(:func:`partition_key`). The consumer (tracker or notifier) records one receipt per message id
with its outcome; :func:`wait_for_receipts` asks for them through a :data:`ReceiptLookup`, which
each caller picks: the UI reads the consumers' documented receipts, the ingest asks the
tracker's HTTP API (services read only their own collections).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer

from contracts.events import Actor, Contract, EventEnvelope, RecommendationImportedV1, make_event
from contracts.kafka_access import client_options
from contracts.sealed_text import seal, text_public_key
from contracts.settings import CommonSettings, require_trust_secrets
from contracts.signing import command_signer

# A receipt as its consumer stored it: at least ``outcome`` (and ``error`` when refused).
Receipt = Mapping[str, Any]
# Message ids -> the receipts stored so far (ids with none yet are left out).
ReceiptLookup = Callable[[Sequence[str]], Awaitable[Mapping[str, Receipt]]]

RECEIPT_CHUNK = 1000  # message ids asked for per lookup
PARKED = "parked"  # the tracker holds the command until its recommendation arrives
HEADERS = [("content-type", b"application/json")]


def partition_key(payload: Contract) -> str | None:
    """The Kafka key of a command: the one thing it is about, so its commands stay in order.

    An imported recommendation is keyed by its country and cycle, the scope in which the
    tracker matches rows of different sources (ids differ between sources when a row has no
    paragraph): one consumer takes a cycle's rows in the order they were sent, so with several
    trackers two sources' rows of one recommendation are never both created, each unaware of
    the other."""
    if isinstance(payload, RecommendationImportedV1):
        return f"{payload.country}-{payload.cycle}"
    for name in ("recommendation_id", "evidence_id", "subscription_id"):
        value = getattr(payload, name, None)
        if value:
            return str(value)
    ids = getattr(payload, "recommendation_ids", None)
    return str(ids[0]) if ids else None


class CommandSigner:
    """Makes the envelope of a command: sealed text, signed by this producer."""

    def __init__(self, settings: CommonSettings, source: str) -> None:
        # Production refuses placeholder keys: whoever holds the key may act as anyone.
        require_trust_secrets(settings, tokens=False)
        self.source = source
        self._signer = command_signer(settings)
        self._text_key = text_public_key(settings)

    def envelope(self, payload: Contract, actor: Actor | None, *, correlation_id: str | None = None) -> EventEnvelope:
        sealed = seal(payload, self._text_key)
        return self._signer.sign(make_event(sealed, source=self.source, actor=actor, correlation_id=correlation_id))


def command_producer(settings: CommonSettings, client_id: str, **options: Any) -> AIOKafkaProducer:
    """An idempotent producer that waits for every replica (a command is never lost)."""
    return AIOKafkaProducer(**client_options(settings), acks="all", enable_idempotence=True,
                            client_id=client_id, **options)


async def send_command(producer: AIOKafkaProducer, topic: str, envelope: EventEnvelope, key: str | None) -> None:
    await producer.send_and_wait(topic, envelope.to_bytes(), key=key.encode() if key else None, headers=HEADERS)


@dataclass(frozen=True)
class CommandResult:
    """What happened to a command: ``outcome`` is None when no answer came in time."""

    event_id: str
    outcome: str | None
    error: str | None = None
    receipt: Receipt | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is not None and self.outcome != "rejected"

    @property
    def waiting(self) -> bool:
        return self.outcome is None


async def wait_for_receipts(
    lookup: ReceiptLookup, message_ids: Sequence[str], *, timeout_s: float,
    on_receipt: Callable[[str, Receipt], None] | None = None, final: Callable[[Receipt], bool] | None = None,
    poll_s: Callable[[int], float] | float = 0.2,
) -> list[str]:
    """Wait until every message has a final receipt or time runs out; returns the ids still pending.

    Ids are asked for in publishing order, in chunks, and a poll stops at the first chunk with
    none stored yet: the later ones are mostly not stored either, and asking costs the consumer
    time. Mostly: the records of one import are spread over partitions consumed at their own
    pace, so the last poll asks for every chunk (what is reported pending is pending).
    """
    is_final = final or (lambda _receipt: True)
    pending = list(message_ids)
    deadline = time.monotonic() + timeout_s
    while pending:
        pending, asked_all = await _poll(lookup, pending, is_final, on_receipt)
        if not pending:
            break
        if time.monotonic() >= deadline:
            if not asked_all:
                pending, _ = await _poll(lookup, pending, is_final, on_receipt, stop_early=False)
            break
        await asyncio.sleep(poll_s(len(pending)) if callable(poll_s) else poll_s)
    return pending


async def _poll(
    lookup: ReceiptLookup, pending: list[str], is_final: Callable[[Receipt], bool],
    on_receipt: Callable[[str, Receipt], None] | None, *, stop_early: bool = True,
) -> tuple[list[str], bool]:
    """The ids still without a final receipt, and whether every chunk was asked for."""
    still: list[str] = []
    for start in range(0, len(pending), RECEIPT_CHUNK):
        chunk = pending[start:start + RECEIPT_CHUNK]
        found = await lookup(chunk)
        for mid in chunk:
            receipt = found.get(mid)
            if receipt is None or not is_final(receipt):
                still.append(mid)
            elif on_receipt is not None:
                on_receipt(mid, receipt)
        if not found and stop_early and start + RECEIPT_CHUNK < len(pending):
            still.extend(pending[start + RECEIPT_CHUNK:])
            return still, False
    return still, True


async def wait_for_receipt(lookup: ReceiptLookup, event_id: str, *, timeout_s: float,
                           poll_s: float = 0.2) -> CommandResult:
    """The outcome of one command (any receipt, a parked one too, is its answer)."""
    answers: dict[str, Receipt] = {}
    await wait_for_receipts(lookup, [event_id], timeout_s=timeout_s, poll_s=poll_s,
                            on_receipt=answers.__setitem__)
    receipt = answers.get(event_id)
    if receipt is None:
        return CommandResult(event_id, None)
    return CommandResult(event_id, receipt.get("outcome"), receipt.get("error"), receipt)


class CommandClient:
    """One producer: publish commands and wait for their receipts (``async with``)."""

    def __init__(self, settings: CommonSettings, *, source: str, receipts: ReceiptLookup,
                 client_id: str | None = None, **producer_options: Any) -> None:
        self.signer = CommandSigner(settings, source)
        self.receipts = receipts
        self._producer = command_producer(settings, client_id or f"upr-{source}", **producer_options)

    async def __aenter__(self) -> CommandClient:
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    @property
    def producer(self) -> AIOKafkaProducer:
        return self._producer

    async def publish(self, topic: str, payload: Contract, actor: Actor | None, *, key: str | None = None,
                      correlation_id: str | None = None) -> str:
        """Publish one command; returns its message id (the receipt's id)."""
        envelope = self.signer.envelope(payload, actor, correlation_id=correlation_id)
        await send_command(self._producer, topic, envelope, key or partition_key(payload))
        return str(envelope.event_id)

    async def send(self, topic: str, payload: Contract, actor: Actor | None, *, timeout_s: float,
                   key: str | None = None, wait: bool = True) -> CommandResult:
        """Publish one command and wait for its receipt (``outcome`` None: no answer in time)."""
        event_id = await self.publish(topic, payload, actor, key=key)
        if not wait:
            return CommandResult(event_id, None)
        return await wait_for_receipt(self.receipts, event_id, timeout_s=timeout_s)
