"""How every consumer treats a message: the one place for dead-lettering and retries.

- A message that can never succeed (not JSON, invalid envelope, unknown type or
  version, a payload failing validation, a :class:`Rejected` raised by a handler) is
  published unchanged to the consumer's dead-letter topic with the reason in headers,
  then committed: the service keeps going.
- Any other error (MongoDB or Kafka unavailable ...) is transient: the middleware waits
  a little and re-raises, the subscriber's ``NACK_ON_ERROR`` policy seeks back, and the
  message is delivered again. Offsets are committed only after the handler returned.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Literal

from faststream import BaseMiddleware
from faststream.kafka import KafkaBroker
from pydantic import ValidationError

from contracts.events import ContractError, EventEnvelope, describe
from contracts.observability import DEAD_LETTERED

log = logging.getLogger("upr.messaging")

# Headers on a dead-lettered message, read back by `upr dlq`.
H_REASON = "x-dlq-reason"
H_CONSUMER = "x-dlq-consumer"
H_TOPIC = "x-original-topic"
H_PARTITION = "x-original-partition"
H_OFFSET = "x-original-offset"
H_FAILED_AT = "x-dlq-failed-at"


class Rejected(Exception):
    """Raised by a handler for a message that is valid but can never be applied
    (unknown recommendation, role not allowed ...). It goes to the dead-letter topic."""


OnDeadLetter = Callable[[bytes, str], Awaitable[None]]


def dead_letter_middleware(
    *,
    consumer: str,
    dead_letter_topic: str,
    on_dead_letter: OnDeadLetter | None = None,
    transient_backoff_s: float = 1.0,
    on_transient: Callable[[BaseException], None] | None = None,
) -> type[BaseMiddleware]:
    """A FastStream middleware class bound to one consumer's dead-letter topic."""

    class DeadLetter(BaseMiddleware):
        async def consume_scope(self, call_next: Any, msg: Any) -> Any:
            try:
                return await call_next(msg)
            except PERMANENT_ERRORS as exc:
                reason = describe(exc) if isinstance(exc, ValidationError) else str(exc)
                await _publish_dead_letter(self.context.get("broker"), msg, consumer, dead_letter_topic, reason)
                if on_dead_letter is not None:
                    await on_dead_letter(msg.body, reason)
                return None
            except Exception as exc:
                # Transient: let FastStream nack so the message comes back.
                await _back_off(consumer, "will retry", exc, on_transient, transient_backoff_s)
                raise

    return DeadLetter


async def _back_off(
    consumer: str, what_next: str, exc: BaseException,
    on_transient: Callable[[BaseException], None] | None, backoff_s: float,
) -> None:
    """Log and count a transient failure, then wait (with jitter) so a down database is not hammered."""
    log.warning("transient failure in %s, %s: %r", consumer, what_next, exc)
    if on_transient is not None:
        on_transient(exc)
    await asyncio.sleep(backoff_s * (0.5 + random.random()))


def dead_letter_headers(
    reason: str, consumer: str, *, topic: str = "", partition: object = "", offset: object = "",
) -> dict[str, str]:
    """The headers of a dead-lettered message, read back by `upr dlq` (one place builds them)."""
    return {
        H_REASON: reason[:1000],
        H_CONSUMER: consumer,
        H_TOPIC: str(topic),
        H_PARTITION: str(partition),
        H_OFFSET: str(offset),
        H_FAILED_AT: datetime.now(UTC).isoformat(),
    }


async def _publish_dead_letter(
    broker: KafkaBroker, msg: Any, consumer: str, topic: str, reason: str
) -> None:
    raw = getattr(msg, "raw_message", None)
    await dead_letter_record(broker, raw, consumer, topic, reason, body=msg.body)


async def dead_letter_record(
    broker: KafkaBroker, record: Any, consumer: str, topic: str, reason: str, *, body: bytes | None = None,
) -> None:
    """Publish one consumed record, unchanged, to a dead-letter topic with the reason."""
    headers = dead_letter_headers(
        reason, consumer, topic=getattr(record, "topic", ""), partition=getattr(record, "partition", ""),
        offset=getattr(record, "offset", ""),
    )
    log.error("dead-lettered message from %s: %s", headers[H_TOPIC], reason)
    value = body if body is not None else getattr(record, "value", b"") or b""
    await broker.publish(value, topic=topic, key=getattr(record, "key", None), headers=headers)


def batch_failure_middleware(
    *, consumer: str, transient_backoff_s: float = 1.0,
    on_transient: Callable[[BaseException], None] | None = None,
) -> type[BaseMiddleware]:
    """For batch subscribers, which dead-letter bad records themselves one by one: whatever
    escapes a batch is transient. Back off, then let NACK_ON_ERROR rewind every partition of
    the batch so it is delivered again (idempotent consumers turn that into no duplicate)."""

    class BatchFailure(BaseMiddleware):
        async def consume_scope(self, call_next: Any, msg: Any) -> Any:
            try:
                return await call_next(msg)
            except Exception as exc:
                await _back_off(consumer, "the batch will be redelivered", exc, on_transient, transient_backoff_s)
                raise

    return BatchFailure


# Exceptions that mean "this message can never succeed": dead-letter it, go on.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    ContractError, Rejected, ValidationError, UnicodeDecodeError, ValueError,
)


def producer_compression() -> Literal["lz4"] | None:
    """lz4 when aiokafka's codec (cramjam, a dependency) is installed, else none."""
    from aiokafka.codec import has_lz4

    return "lz4" if has_lz4() else None


# --- pieces of the services' message buses (the same for the tracker and the notifier) ----


async def raw_bodies(message: Any) -> Any:
    """A batch subscriber's decoder: hand the batch over undecoded, so each record is read on
    its own and one bad record is dead-lettered alone instead of failing the whole batch."""
    return message.body


def batch_records(message: Any) -> tuple[Any, ...]:
    """The Kafka records of a batch message (aiokafka gives one record alone, not in a tuple)."""
    raw = message.raw_message
    return raw if isinstance(raw, tuple) else (raw,)


DeadLetter = Callable[[Any, str], Awaitable[None]]


def dead_letterer(broker: KafkaBroker, consumer: str, dead_letter_topic: str) -> DeadLetter:
    """Dead-letter one consumed record (counted in the service's metrics)."""

    async def dead_letter(record: Any, reason: str) -> None:
        DEAD_LETTERED.labels(consumer).inc()
        await dead_letter_record(broker, record, consumer, dead_letter_topic, reason)

    return dead_letter


async def dead_letter_event(
    broker: KafkaBroker, event: EventEnvelope, *, consumer: str, dead_letter_topic: str, reason: str,
    original_topic: str, key: str,
) -> None:
    """Dead-letter a message the service holds rather than one it just consumed (a command
    parked too long, a delivery out of attempts), so `upr dlq replay` can send it again."""
    await broker.publish(event.to_bytes(), topic=dead_letter_topic, key=key.encode(),
                         headers=dead_letter_headers(reason, consumer, topic=original_topic))
    DEAD_LETTERED.labels(consumer).inc()
