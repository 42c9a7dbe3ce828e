"""The notifier's message bus: commands one by one (idempotent, signed, dispatched to their
handler), rejections recorded, deliveries out of attempts dead-lettered, the scheduler's
loop. The pieces both services share are in ``contracts/messaging.py``; the batch
consumers' logic is in ``inbox.py``; ``app.py`` only wires them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from faststream.kafka import KafkaBroker

from contracts.events import (
    MAX_MESSAGE_BYTES,
    Channel,
    EventEnvelope,
    NotificationRequestedV1,
    SubscriptionCancelledV1,
    SubscriptionRequestedV1,
    deterministic_event_id,
    make_event,
    parse_event,
)
from contracts.messaging import OnDeadLetter, Rejected, dead_letter_event
from contracts.observability import DEAD_LETTERED, EVENTS_CONSUMED
from contracts.signing import CommandKeys
from services.notifier import handlers
from services.notifier.repository import NotifierRepository

SERVICE = "notifier"
log = logging.getLogger("upr.notifier")


async def handle_command(envelope: EventEnvelope, body: bytes, deps: handlers.Deps, verifier: CommandKeys) -> None:
    """Validate -> manage the subscription -> record the outcome (the CLI and UI wait on it).
    Raises for a command that can never succeed (the dead-letter middleware takes it)."""
    repo = deps.repo
    message_id = str(envelope.event_id)
    if await repo.processed(message_id):
        EVENTS_CONSUMED.labels(SERVICE, envelope.type, "duplicate").inc()
        return
    check_size(body)
    verifier.verify(envelope)  # unsigned, forged or from a sender not allowed: dead-lettered
    _, payload = parse_event(envelope.model_dump(mode="json"))
    if isinstance(payload, SubscriptionRequestedV1):
        outcome = await handlers.subscription_requested(envelope, payload, deps)
    elif isinstance(payload, SubscriptionCancelledV1):
        outcome = await handlers.subscription_cancelled(envelope, payload, deps)
    else:
        raise Rejected(f"the notifier has no command {envelope.type!r}")
    await repo.mark_processed(message_id, type_=envelope.type, outcome=outcome)
    EVENTS_CONSUMED.labels(SERVICE, envelope.type, outcome).inc()


def record_rejection(repo: NotifierRepository) -> OnDeadLetter:
    """After a command is dead-lettered: record why, so `upr subscriptions add` and the UI show it."""

    async def record(body: bytes, reason: str) -> None:
        DEAD_LETTERED.labels(SERVICE).inc()
        envelope = envelope_or_none(body)
        if envelope is not None:
            await repo.mark_processed(str(envelope.event_id), type_=envelope.type, outcome="rejected", error=reason)

    return record


def dead_letter_delivery(
    broker: KafkaBroker, *, dead_letter_topic: str, notifications_topic: str
) -> Callable[[Mapping[str, Any], str], Awaitable[None]]:
    """A delivery out of attempts: its request goes to the dead-letter topic (`upr dlq replay`)."""

    async def dead_letter(delivery: Mapping[str, Any], reason: str) -> None:
        did = str(delivery["_id"])
        request = NotificationRequestedV1(
            delivery_id=did, subscription_id=str(delivery["subscription_id"]),
            channel=Channel(str(delivery["channel"])),
            trigger_event_id=str(delivery.get("trigger_event_id") or delivery.get("alert_key") or did),
            trigger_type=str(delivery.get("trigger_type") or delivery.get("kind", "")))
        event = make_event(request, source=SERVICE, event_id=deterministic_event_id(did, 0))
        log.error("dead-lettered delivery %s: %s", did, reason)
        await dead_letter_event(broker, event, consumer=SERVICE, dead_letter_topic=dead_letter_topic, reason=reason,
                                original_topic=notifications_topic, key=did)

    return dead_letter


async def scheduled_jobs_loop(deps: handlers.Deps, interval_s: float) -> None:
    """Runs for ever: digests, reminders and the other scheduled jobs, every ``interval_s``."""
    while True:
        try:
            await handlers.run_scheduled_jobs(deps.clock(), deps)
        except Exception:
            log.exception("scheduled jobs failed; next run in %.0f s", interval_s)
        await asyncio.sleep(interval_s)


def check_size(body: bytes) -> None:
    if len(body) > MAX_MESSAGE_BYTES:
        raise Rejected(f"message of {len(body)} bytes exceeds {MAX_MESSAGE_BYTES}")


def envelope_or_none(body: bytes) -> EventEnvelope | None:
    if len(body) > MAX_MESSAGE_BYTES:
        return None
    try:
        return EventEnvelope.model_validate_json(body)
    except ValueError:
        return None
