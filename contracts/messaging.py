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
from typing import Any

from faststream import BaseMiddleware
from faststream.kafka import KafkaBroker
from pydantic import ValidationError

from contracts.events import ContractError, describe

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
            except (ContractError, Rejected, ValidationError, UnicodeDecodeError, ValueError) as exc:
                reason = describe(exc) if isinstance(exc, ValidationError) else str(exc)
                await _publish_dead_letter(self.context.get("broker"), msg, consumer, dead_letter_topic, reason)
                if on_dead_letter is not None:
                    await on_dead_letter(msg.body, reason)
                return None
            except Exception as exc:
                # Transient: back off (with jitter) so a down database is not hammered, then
                # let FastStream nack so the message comes back.
                log.warning("transient failure in %s, will retry: %r", consumer, exc)
                if on_transient is not None:
                    on_transient(exc)
                await asyncio.sleep(transient_backoff_s * (0.5 + random.random()))
                raise

    return DeadLetter


async def _publish_dead_letter(
    broker: KafkaBroker, msg: Any, consumer: str, topic: str, reason: str
) -> None:
    raw = getattr(msg, "raw_message", None)
    headers = {
        H_REASON: reason[:1000],
        H_CONSUMER: consumer,
        H_TOPIC: str(getattr(raw, "topic", "")),
        H_PARTITION: str(getattr(raw, "partition", "")),
        H_OFFSET: str(getattr(raw, "offset", "")),
        H_FAILED_AT: datetime.now(UTC).isoformat(),
    }
    log.error("dead-lettered message from %s: %s", headers[H_TOPIC], reason)
    key = getattr(raw, "key", None)
    await broker.publish(msg.body, topic=topic, key=key, headers=headers)
