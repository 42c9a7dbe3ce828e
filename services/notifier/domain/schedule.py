"""When scheduled alerts are due: digests, deadline reminders, stale recommendations. Pure;
the clock is an argument."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

DEFAULT_REMINDER_DAYS = (90, 30, 7)


def latest_digest_time(frequency: str, now: datetime, hour: int, weekday: int = 0) -> datetime:
    """The most recent moment a digest of this frequency was due (daily at ``hour`` UTC;
    weekly on ``weekday`` (0 = Monday) at ``hour``)."""
    now = now.astimezone(UTC)
    due = datetime.combine(now.date(), time(hour, tzinfo=UTC))
    if frequency == "weekly":
        due -= timedelta(days=(now.weekday() - weekday) % 7)
    if due > now:
        due -= timedelta(days=7 if frequency == "weekly" else 1)
    return due


def digest_period(frequency: str, now: datetime, hour: int, weekday: int = 0) -> str:
    """A name for the digest now due, e.g. ``daily:2026-11-23``: one digest per name."""
    due = latest_digest_time(frequency, now, hour, weekday)
    return f"{frequency}:{due.date().isoformat()}"


def reminder_due(due_on: date, today: date, days_before: Sequence[int] = DEFAULT_REMINDER_DAYS) -> int | None:
    """Which reminder (90, 30 or 7 days before) is due today, if any.

    The closest threshold already reached is the one due; thresholds passed while the
    notifier was down (or before the deadline was known) are not sent late in a burst."""
    days_left = (due_on - today).days
    if days_left < 0:
        return None
    reached = [d for d in days_before if days_left <= d]
    return min(reached) if reached else None


def stale_since(last_evidence_at: datetime | None, first_seen_at: datetime | None) -> datetime | None:
    """Since when a recommendation has had no new evidence."""
    return last_evidence_at or first_seen_at


def is_stale(since: datetime | None, now: datetime, after_days: int) -> bool:
    return since is not None and now - since >= timedelta(days=after_days)
