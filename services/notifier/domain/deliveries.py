"""Deliveries: their identity, their life cycle and the retry schedule. Pure.

A delivery is one alert to one subscription over one channel. Its id is derived from
what is announced, so a redelivered event, a restarted notifier or a replayed
dead letter always lands on the same delivery, which is sent at most once it has
been recorded as delivered.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from enum import StrEnum

from contracts.events import Channel

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://upr-tracker/notifier/deliveries")


class DeliveryStatus(StrEnum):
    QUEUED = "queued"  # to be sent, being sent, or waiting for its next attempt (``holder`` says which)
    QUEUED_FOR_DIGEST = "queued_for_digest"  # waiting for the subscription's next digest
    DELIVERED = "delivered"
    FAILED = "failed"  # every attempt failed; dead-lettered, `upr dlq replay` tries again
    SKIPPED = "skipped"  # the subscription was cancelled before the alert went out


class Holder(StrEnum):
    """Who may send a queued delivery until its ``next_attempt_at`` (after that: any notifier's
    retry loop, which first claims it with a fresh token, a compare-and-set in the log)."""

    REQUEST = "request"  # whoever consumes its notification.requested (a digest; no write needed to take it)
    RETRY = "retry"  # nobody: it waits for its next attempt, then the retry loop claims it
    # any other value: the token of the notifier sending it (the one that logged it, or claimed it)


def delivery_id(alert_key: str, subscription_id: str, channel: Channel | str) -> str:
    """The same (alert, subscription, channel) always gives the same id."""
    channel_name = channel.value if isinstance(channel, Channel) else channel
    return str(uuid.uuid5(_NAMESPACE, f"{alert_key}|{subscription_id}|{channel_name}"))


def digest_id(subscription_id: str, period: str) -> str:
    return delivery_id(f"digest:{period}", subscription_id, Channel.EMAIL)


def should_send(status: str | None) -> bool:
    """Only a delivery not yet delivered (nor skipped) is attempted again."""
    return status not in (DeliveryStatus.DELIVERED, DeliveryStatus.SKIPPED)


def retry_delay(failed_attempts: int, base_s: float, cap_s: float, random: Callable[[], float]) -> float:
    """The wait after the ``failed_attempts``-th failed try (1, 2 ...): exponential (base,
    2*base, 4*base ... capped), with "equal jitter": half the step is fixed, half random, so
    many failing endpoints do not retry in lock-step yet each wait stays within [step/2, step]."""
    step: float = min(cap_s, base_s * (2 ** max(failed_attempts - 1, 0)))
    return step / 2 + random() * step / 2


def backoff_delays(
    attempts: int, base_s: float, cap_s: float, random: Callable[[], float]
) -> list[float]:
    """Every wait between ``attempts`` tries (see :func:`retry_delay`)."""
    return [retry_delay(n + 1, base_s, cap_s, random) for n in range(max(attempts - 1, 0))]


def is_final_failure(round_attempts: int, max_attempts: int, permanent: bool) -> bool:
    """After this failed attempt (the ``round_attempts``-th of its round), give up?"""
    return permanent or round_attempts >= max_attempts


def is_success(status_code: int) -> bool:
    return 200 <= status_code < 300
