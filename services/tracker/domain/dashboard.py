"""The Dashboard's figures, counted from stored documents (pure: no I/O).

The tracker recounts a (country, cycle) from its recommendations whenever a stored fact
touched it, and the UI reads the result instead of reading every recommendation. Counted,
never incremented: FerretDB loses concurrent ``$inc`` on one document, and a recount is
idempotent (a redelivered event recounts the same figures).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from contracts.dashboard import NOT_ASSESSED, RECOMMENDATION_FIELDS, summarise
from contracts.documents import evidence_held

__all__ = ["NOT_ASSESSED", "RECOMMENDATION_FIELDS", "count_evidence", "summarise"]
EVIDENCE_FIELDS = ("review_state", "visibility", "safeguarding_flags", "safeguarding_state")

Key = tuple[str, int]  # (country, cycle)


def summary_id(country: str, cycle: int) -> str:
    return f"{country}-{cycle}"


def count_evidence(items: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Evidence items per audience: all not rejected, approved and not held (coalition),
    approved, public and not held (everyone), and pending review."""
    counts = {"all": 0, "coalition": 0, "public": 0, "pending": 0}
    for item in items:
        state = item.get("review_state")
        if state == "rejected":
            continue
        counts["all"] += 1
        if state == "pending":
            counts["pending"] += 1
        elif state == "approved" and not evidence_held(item):
            counts["coalition"] += 1
            counts["public"] += item.get("visibility") == "public"
    return counts


def touched_ids(payload: dict[str, Any]) -> list[str]:
    """The recommendations an event of the tracker is about."""
    ids = [str(i) for i in payload.get("recommendation_ids") or []]
    if payload.get("recommendation_id"):
        ids.append(str(payload["recommendation_id"]))
    return ids


def pause_after(elapsed_s: float, *, min_interval_s: float, max_share: float, max_pause_s: float) -> float:
    """How long to wait after a recount that took ``elapsed_s`` before the next one, so that
    recounting takes at most ``max_share`` of the time (a bulk import touches the same cycles
    batch after batch: they are recounted every few seconds, not after every batch)."""
    return min(max_pause_s, max(min_interval_s, elapsed_s * (1 - max_share) / max_share))
