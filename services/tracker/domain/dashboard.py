"""The Dashboard's figures, counted from stored documents (pure: no I/O).

The tracker recounts a (country, cycle) from its recommendations whenever a stored fact
touched it, and the UI reads the result instead of reading every recommendation. Counted,
never incremented: FerretDB loses concurrent ``$inc`` on one document, and a recount is
idempotent (a redelivered event recounts the same figures).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from contracts.documents import disagreement_line

NOT_ASSESSED = "not_assessed"
# The fields of a recommendation the figures need (a projection: less to read).
RECOMMENDATION_FIELDS = ("country", "cycle", "position", "themes", "cncc_status", "cso_status",
                         "disagreement", "child_related")
EVIDENCE_FIELDS = ("review_state", "visibility", "safeguarding_flags", "safeguarding_state")

Key = tuple[str, int]  # (country, cycle)


def summary_id(country: str, cycle: int) -> str:
    return f"{country}-{cycle}"


def summarise(country: str, cycle: int, recommendations: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Counts per position, CNCC and CSO status, theme x CNCC status, and the disagreements."""
    total = child = 0
    positions: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    cso: Counter[str] = Counter()
    theme_status: dict[str, Counter[str]] = defaultdict(Counter)
    disagreements: list[str] = []
    for doc in recommendations:
        total += 1
        child += bool(doc.get("child_related"))
        positions[str(doc.get("position"))] += 1
        status = doc.get("cncc_status") or NOT_ASSESSED
        statuses[status] += 1
        cso[doc.get("cso_status") or NOT_ASSESSED] += 1
        for theme in doc.get("themes") or []:
            theme_status[theme][status] += 1
        if doc.get("disagreement"):
            disagreements.append(disagreement_line(str(doc["_id"]), doc.get("cso_status"), doc.get("cncc_status")))
    return {
        "country": country, "cycle": cycle, "total": total, "child_related": child,
        "by_position": dict(sorted(positions.items())), "by_status": dict(sorted(statuses.items())),
        "by_cso_status": dict(sorted(cso.items())),
        "by_theme_status": {k: dict(sorted(v.items())) for k, v in sorted(theme_status.items())},
        "disagreements": sorted(disagreements),
    }


def summarise_all(recommendations: Iterable[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    """One summary per (country, cycle) present, from one pass over every recommendation."""
    groups: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    for doc in recommendations:
        groups[(str(doc.get("country")), int(doc.get("cycle") or 0))].append(doc)
    return {key: summarise(key[0], key[1], docs) for key, docs in sorted(groups.items())}


def held(evidence: dict[str, Any]) -> bool:
    # The rule of EvidenceDoc.held, on a raw document.
    state = evidence.get("safeguarding_state")
    return state == "held" or (state is None and bool(evidence.get("safeguarding_flags")))


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
        elif state == "approved" and not held(item):
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
