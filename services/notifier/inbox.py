"""The notifier's inbox: how a batch of consumed records becomes logged and requested alerts.

Two batch consumers (FastStream ``batch=True``), each record read on its own so one that can
never succeed (not JSON, invalid envelope, unknown type or version, invalid payload, too
big) goes to the dead-letter topic alone while the rest of the batch goes on:

- **tracker events** (:meth:`NotifierInbox.tracker_events`): the batch is matched at once
  (:func:`handlers.tracker_events`: one read of the projection, one bulk write per
  projection collection, one bulk insert of deliveries); the new deliveries go straight to
  this process's dispatcher, which sends them in the background. They are not requested on
  the work queue too: the log already says who sends them, and a notifier that dies leaves
  them to the retry loop of another (measured: publishing and reading back one
  ``notification.requested`` per alert was the largest Python cost per alert). Should
  the batch still hold a record
  that fails for good while being handled, it is handled again one record at a time so that
  record alone is dead-lettered.
- **notification requests** (:meth:`NotifierInbox.requests`): handed to the dispatcher,
  which sends what nobody holds (a digest, a replayed dead letter, a delivery whose
  reservation ran out) and leaves the rest.

Only when the handler returns does the subscriber commit its offsets; anything else (the
database or the broker away) escapes to ``batch_failure_middleware`` and the batch comes
again, which deterministic delivery ids and the delivery log make harmless.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pydantic import ValidationError

from contracts.events import (
    MAX_MESSAGE_BYTES,
    EventEnvelope,
    NotificationRequestedV1,
    describe,
    parse_event,
)
from contracts.messaging import PERMANENT_ERRORS, Rejected
from contracts.observability import EVENTS_CONSUMED, HANDLE_SECONDS
from services.notifier import handlers
from services.notifier.dispatcher import Dispatcher

SERVICE = "notifier"
log = logging.getLogger("upr.notifier.inbox")

# (record, reason) -> the record goes to the dead-letter topic, unchanged, with the reason.
DeadLetter = Callable[[Any, str], Awaitable[None]]

# Outcome events published on the notifications topic before they had a topic of their own.
_OLD_OUTCOMES = frozenset({"notification.delivered", "notification.failed"})
# The header `upr dlq replay` puts on what it republishes: only such a request sends a
# failed delivery again (an announcement arriving late must not).
REPLAYED_HEADER = "x-dlq-replayed-at"


class NotifierInbox:
    def __init__(self, deps: handlers.Deps, dispatcher: Dispatcher, dead_letter: DeadLetter) -> None:
        self.deps = deps
        self.dispatcher = dispatcher
        self.dead_letter = dead_letter

    async def tracker_events(self, records: Sequence[Any]) -> None:
        events: list[tuple[Any, handlers.TrackerEvent]] = []
        for record in records:
            try:
                body = _body(record)
                envelope, payload = parse_event(body)
                events.append((record, handlers.TrackerEvent(envelope, payload, body)))
            except PERMANENT_ERRORS as exc:
                await self.dead_letter(record, _reason(exc))
        if not events:
            return
        try:
            await self._match([event for _, event in events])
        except PERMANENT_ERRORS:
            for record, event in events:  # find the record that fails for good: it alone is dead-lettered
                try:
                    await self._match([event])
                except PERMANENT_ERRORS as exc:
                    await self.dead_letter(record, _reason(exc))

    async def _match(self, events: Sequence[handlers.TrackerEvent]) -> None:
        started = time.perf_counter()
        outcomes, fresh = await handlers.tracker_events(events, self.deps)
        await handlers.hand_over(self.deps, fresh)
        HANDLE_SECONDS.labels(SERVICE).observe(time.perf_counter() - started)
        for event, outcome in zip(events, outcomes, strict=True):
            EVENTS_CONSUMED.labels(SERVICE, event.envelope.type, outcome).inc()

    async def requests(self, records: Sequence[Any]) -> None:
        wanted: dict[str, Any] = {}
        replayed: set[str] = set()
        for record in records:
            try:
                body = _body(record)
                envelope = EventEnvelope.model_validate_json(body)
                if envelope.type in _OLD_OUTCOMES:
                    continue
                _, payload = parse_event(body)
                if not isinstance(payload, NotificationRequestedV1):
                    raise Rejected(f"the notifier's work queue does not take {envelope.type!r}")
                wanted.setdefault(payload.delivery_id, record)
                if any(name == REPLAYED_HEADER for name, _ in (getattr(record, "headers", None) or ())):
                    replayed.add(payload.delivery_id)
            except PERMANENT_ERRORS as exc:
                await self.dead_letter(record, _reason(exc))
        if not wanted:
            return
        for did in await self.dispatcher.take_requests(list(wanted), replayed):
            await self.dead_letter(wanted[did], f"delivery {did} is not in the delivery log")


def _body(record: Any) -> bytes:
    body: bytes = record.value or b""
    if len(body) > MAX_MESSAGE_BYTES:
        raise Rejected(f"message of {len(body)} bytes exceeds {MAX_MESSAGE_BYTES}")
    return body


def _reason(exc: BaseException) -> str:
    return describe(exc) if isinstance(exc, ValidationError) else str(exc)
