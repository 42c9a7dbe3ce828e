"""The tracker's inbox: how a batch of consumed records becomes stored facts and events.

A batch (up to ``batch_max_records`` records, possibly from several partitions) is handled
in the order it was read:

- a record that can never succeed (not an envelope, unsigned or wrongly signed, unknown
  type or version, invalid payload, a command the sender may not give) goes to the dead-letter topic alone, with a
  "rejected" receipt, and the rest of the batch goes on;
- consecutive ``recommendation.imported`` records are applied together
  (:func:`handlers.recommendations_imported`: one read and one bulk write per collection),
  then their events are published with one flush, then their receipts are written in bulk;
- commands (evidence, assessments, corrections...) are rare: applied one by one, in order.

Only when the whole batch is stored does the subscriber commit its offsets. Anything else
(database or broker away) escapes: the batch is delivered again, and deterministic ids,
receipts and unique keys make the second pass add nothing twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from contracts.events import (
    Contract,
    EventEnvelope,
    RecommendationImportedV1,
    describe,
    deterministic_event_id,
    make_event,
    parse_event,
)
from contracts.messaging import PERMANENT_ERRORS, Rejected
from contracts.observability import EVENTS_CONSUMED, HANDLE_SECONDS
from contracts.signing import CommandKeys
from services.tracker import handlers
from services.tracker.domain.recommendations import id_mismatch

SERVICE = "tracker"
log = logging.getLogger("upr.tracker.inbox")

# (event, partition key) -> an awaitable that completes when the broker has it.
Publish = Callable[[EventEnvelope, bytes | None], Awaitable[Awaitable[Any]]]
# (record, reason, envelope if it could be read) -> dead-letter it.
DeadLetter = Callable[[Any, str, EventEnvelope | None], Awaitable[None]]


@dataclass(frozen=True)
class Received:
    record: Any  # the consumed Kafka record: topic, partition, offset, key, value
    envelope: EventEnvelope
    payload: Contract


class TrackerInbox:
    def __init__(
        self, deps: handlers.Deps, publish: Publish, dead_letter: DeadLetter, *, command_keys: CommandKeys,
        on_correction: Callable[[], None] = lambda: None,
    ) -> None:
        self.command_keys = command_keys
        self.deps = deps
        self.publish = publish
        self.dead_letter = dead_letter
        self.on_correction = on_correction

    async def handle_batch(self, records: Sequence[Any]) -> None:
        received: list[Received] = []
        for record in records:
            item = await self._read(record)
            if item is not None:
                received.append(item)
        start = 0
        while start < len(received):
            end = start
            while end < len(received) and isinstance(received[end].payload, RecommendationImportedV1):
                end += 1
            if end > start:
                await self._imports(received[start:end])
                start = end
            else:
                await self.handle_one(received[start])
                start += 1

    async def _read(self, record: Any) -> Received | None:
        try:
            envelope, payload = parse_event(record.value or b"")  # size, JSON, envelope, payload: once
            # Before anything else: the actor and role inside are believed only when signed, by a
            # component that may send this command (contracts/signing.py).
            self.command_keys.verify(envelope)
            if envelope.type not in handlers.HANDLERS:
                raise Rejected(f"the tracker does not handle {envelope.type!r}")
            if isinstance(payload, RecommendationImportedV1) and (mismatch := id_mismatch(payload)):
                raise Rejected(mismatch)
            return Received(record, envelope, payload)
        except PERMANENT_ERRORS as exc:
            reason = describe(exc) if isinstance(exc, ValidationError) else str(exc)
            await self.dead_letter(record, reason, _envelope_or_none(record.value))
            return None

    async def _imports(self, run: Sequence[Received]) -> None:
        started = time.perf_counter()
        imported = [handlers.Imported(item.envelope, item.payload) for item in run
                    if isinstance(item.payload, RecommendationImportedV1)]
        outcomes = await handlers.recommendations_imported(imported, self.deps)
        pending: list[Awaitable[Any]] = []
        receipts: list[dict[str, Any]] = []
        created: list[str] = []
        for item, outcome in zip(run, outcomes, strict=True):
            if outcome is None:
                EVENTS_CONSUMED.labels(SERVICE, item.envelope.type, "duplicate").inc()
                continue
            pending.extend([await self.publish(event, key) for event, key in _events(item.envelope, outcome)])
            receipts.append({**_receipt(item.envelope, outcome.outcome), **outcome.detail})
            EVENTS_CONSUMED.labels(SERVICE, item.envelope.type, outcome.outcome).inc()
            created.extend(outcome.released)  # created, upgraded to a new id, or a new alias
        for sent in pending:  # one flush for the whole run
            await sent
        await self.deps.repo.mark_processed_many(receipts)
        HANDLE_SECONDS.labels(SERVICE).observe(time.perf_counter() - started)
        if created:
            await self._release_parked(created)

    async def handle_one(self, item: Received) -> None:
        """One command: validate -> handle -> publish what it stored -> remember it was processed."""
        envelope, repo = item.envelope, self.deps.repo
        message_id = str(envelope.event_id)
        seen = await repo.processed(message_id)
        if seen is not None and seen.get("outcome") != "parked":
            EVENTS_CONSUMED.labels(SERVICE, envelope.type, "duplicate").inc()
            return
        started = time.perf_counter()
        try:
            outcome = await handlers.HANDLERS[envelope.type](envelope, item.payload, self.deps)
        except handlers.WaitingFor as waiting:
            await repo.park(envelope.model_dump(mode="json"), waiting.recommendation_ids)
            await repo.mark_processed(message_id, consumer=SERVICE, type_=envelope.type,
                                      correlation_id=envelope.correlation_id, outcome="parked", error=str(waiting))
            EVENTS_CONSUMED.labels(SERVICE, envelope.type, "parked").inc()
            return
        except PERMANENT_ERRORS as exc:
            reason = describe(exc) if isinstance(exc, ValidationError) else str(exc)
            await self.dead_letter(item.record, reason, envelope)
            return
        # In order: events about one recommendation keep their order in the partition.
        for event, key in _events(envelope, outcome):
            await (await self.publish(event, key))
        await repo.mark_processed(message_id, consumer=SERVICE, type_=envelope.type,
                                  correlation_id=envelope.correlation_id, outcome=outcome.outcome)
        HANDLE_SECONDS.labels(SERVICE).observe(time.perf_counter() - started)
        EVENTS_CONSUMED.labels(SERVICE, envelope.type, outcome.outcome).inc()
        if isinstance(item.payload, RecommendationImportedV1) and outcome.outcome == "created":
            await self._release_parked([item.payload.recommendation_id])
        elif envelope.type == "themes.correction_requested":  # v1, or v2 with the comment sealed
            self.on_correction()  # a correction is a new confirmed example: use it from the next message

    async def _release_parked(self, recommendation_ids: Sequence[str]) -> None:
        """Apply, in the order they happened, the messages that waited for these recommendations."""
        for parked in await self.deps.repo.parked_for_any(recommendation_ids):
            envelope = EventEnvelope.model_validate(parked["envelope"])
            _, payload = parse_event(envelope.model_dump(mode="json"))
            await self.handle_one(Received(_ParkedRecord(envelope.to_bytes()), envelope, payload))
            if (await self.deps.repo.processed(parked["_id"]) or {}).get("outcome") != "parked":
                await self.deps.repo.unpark(parked["_id"])


@dataclass(frozen=True)
class _ParkedRecord:
    """A parked message stands for its record when it is finally applied (or dead-lettered)."""

    value: bytes
    topic: str = "parked"
    partition: str = ""
    offset: str = ""
    key: bytes | None = None


def _envelope_or_none(value: bytes | None) -> EventEnvelope | None:
    """The envelope of a rejected record, when it has one: its sender then sees the rejection."""
    try:
        return EventEnvelope.model_validate_json(value or b"")
    except ValueError:
        return None


def _events(envelope: EventEnvelope, outcome: handlers.Outcome) -> list[tuple[EventEnvelope, bytes | None]]:
    """The outcome's events, with ids derived from the cause: a redelivery republishes the same ids."""
    return [(make_event(payload, source=SERVICE, event_type=event_type, correlation_id=envelope.correlation_id,
                        actor=envelope.actor, event_id=deterministic_event_id(envelope.event_id, index)),
             partition_key(payload))
            for index, (event_type, payload) in enumerate(outcome.events)]


def _receipt(envelope: EventEnvelope, outcome: str) -> dict[str, Any]:
    return {"message_id": str(envelope.event_id), "consumer": SERVICE, "type": envelope.type,
            "correlation_id": envelope.correlation_id, "outcome": outcome}


def partition_key(payload: Any) -> bytes | None:
    """Events about one recommendation (or evidence item, subscription) share a partition."""
    for name in ("recommendation_id", "evidence_id", "subscription_id"):
        value = getattr(payload, name, None)
        if value:
            return str(value).encode()
    return None
