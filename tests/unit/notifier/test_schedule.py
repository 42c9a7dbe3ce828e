"""Scheduled alerts with a fake clock: digests, deadline reminders, stale recommendations,
and the retry schedule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from services.notifier.domain.deliveries import (
    DeliveryStatus,
    backoff_delays,
    delivery_id,
    digest_id,
    should_send,
)
from services.notifier.domain.schedule import digest_period, is_stale, latest_digest_time, reminder_due


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_daily_digest_is_due_from_its_hour_and_named_by_day() -> None:
    assert latest_digest_time("daily", at("2026-11-23 06:59"), 7) == at("2026-11-22 07:00")
    assert latest_digest_time("daily", at("2026-11-23 07:00"), 7) == at("2026-11-23 07:00")
    assert digest_period("daily", at("2026-11-23 18:00"), 7) == "daily:2026-11-23"


def test_weekly_digest_is_due_on_monday() -> None:
    # 2026-11-23 is a Monday.
    assert latest_digest_time("weekly", at("2026-11-23 06:00"), 7) == at("2026-11-16 07:00")
    assert latest_digest_time("weekly", at("2026-11-23 08:00"), 7) == at("2026-11-23 07:00")
    assert latest_digest_time("weekly", at("2026-11-29 23:00"), 7) == at("2026-11-23 07:00")
    assert digest_period("weekly", at("2026-11-25 08:00"), 7) == "weekly:2026-11-23"


def test_running_every_day_sends_each_reminder_once_at_90_30_and_7_days() -> None:
    due = date(2027, 5, 1)
    sent = []
    today = due - timedelta(days=200)
    while today <= due + timedelta(days=5):
        days = reminder_due(due, today)
        if days is not None and days not in sent:  # the delivery id makes repeats no-ops
            sent.append(days)
            assert (due - today).days == days
        today += timedelta(days=1)
    assert sent == [90, 30, 7]


def test_a_deadline_learnt_late_sends_only_the_closest_reminder() -> None:
    due = date(2027, 5, 1)
    assert reminder_due(due, due - timedelta(days=20)) == 30
    assert reminder_due(due, due - timedelta(days=3)) == 7
    assert reminder_due(due, due + timedelta(days=1)) is None
    assert reminder_due(due, due - timedelta(days=91)) is None


def test_recommendation_is_stale_after_the_subscriptions_number_of_days() -> None:
    since = at("2026-01-01 00:00")
    assert not is_stale(since, since + timedelta(days=89, hours=23), 90)
    assert is_stale(since, since + timedelta(days=90), 90)
    assert not is_stale(None, since, 1)


def test_retry_waits_grow_exponentially_with_bounded_jitter_and_a_cap() -> None:
    assert backoff_delays(4, 1.0, 30.0, lambda: 0.0) == [0.5, 1.0, 2.0]
    assert backoff_delays(4, 1.0, 30.0, lambda: 1.0) == [1.0, 2.0, 4.0]
    assert backoff_delays(8, 1.0, 5.0, lambda: 1.0)[-1] == 5.0
    assert backoff_delays(1, 1.0, 5.0, lambda: 0.5) == []


def test_delivery_ids_are_stable_and_distinct_per_subscription_and_channel() -> None:
    a = delivery_id("evidence:ev-1", "sub-1", "email")
    assert a == delivery_id("evidence:ev-1", "sub-1", "email")
    assert len({a, delivery_id("evidence:ev-1", "sub-2", "email"), delivery_id("evidence:ev-1", "sub-1", "webhook"),
                digest_id("sub-1", "daily:2026-11-23")}) == 4


def test_only_undelivered_deliveries_are_sent_again() -> None:
    assert should_send(DeliveryStatus.QUEUED) and should_send(DeliveryStatus.FAILED)
    assert not should_send(DeliveryStatus.DELIVERED) and not should_send(DeliveryStatus.SKIPPED)
