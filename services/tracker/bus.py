"""The tracker's message bus around its inbox (``inbox.py``): what happens to a message that
fails for good, and to commands parked too long. The pieces both services share are in
``contracts/messaging.py``; ``app.py`` only wires them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from faststream.kafka import KafkaBroker

from contracts.events import EventEnvelope
from contracts.messaging import dead_letter_event, dead_letterer
from services.tracker.adapters.mongo import MongoTrackerRepository
from services.tracker.inbox import SERVICE

log = logging.getLogger("upr.tracker")

RecordDeadLetter = Callable[[Any, str, EventEnvelope | None], Awaitable[None]]


def dead_letter_and_record(
    broker: KafkaBroker, repo: MongoTrackerRepository, dead_letter_topic: str
) -> RecordDeadLetter:
    """Dead-letter a record; when its envelope could be read, record the rejection too, so
    `upr import` and the UI see why their message failed."""
    dead_letter = dead_letterer(broker, SERVICE, dead_letter_topic)

    async def dead_letter_and_mark(record: Any, reason: str, envelope: EventEnvelope | None) -> None:
        await dead_letter(record, reason)
        if envelope is not None:
            await repo.mark_processed(str(envelope.event_id), consumer=SERVICE, type_=envelope.type,
                                      correlation_id=envelope.correlation_id, outcome="rejected", error=reason)

    return dead_letter_and_mark


async def expire_parked(
    broker: KafkaBroker, repo: MongoTrackerRepository, *, dead_letter_topic: str, commands_topic: str,
    park_timeout_s: float,
) -> None:
    """Runs for ever: commands still waiting after the timeout refer to recommendations that
    do not exist; they are dead-lettered and their rejection recorded."""
    while True:
        await asyncio.sleep(min(30.0, park_timeout_s))
        try:
            cutoff = datetime.now(UTC) - timedelta(seconds=park_timeout_s)
            for parked in await repo.parked_before(cutoff):
                envelope = EventEnvelope.model_validate(parked["envelope"])
                reason = f"unknown recommendation(s) {', '.join(parked['waiting_for'])}"
                await dead_letter_event(broker, envelope, consumer=SERVICE, dead_letter_topic=dead_letter_topic,
                                        reason=reason, original_topic=commands_topic, key=str(envelope.event_id))
                await repo.mark_processed(str(envelope.event_id), consumer=SERVICE, type_=envelope.type,
                                          correlation_id=envelope.correlation_id, outcome="rejected", error=reason)
                await repo.unpark(parked["_id"])
        except Exception as exc:  # database or broker away: try again next round
            log.warning("could not expire parked messages: %r", exc)
