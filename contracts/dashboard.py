"""The Dashboard's figures of one (country, cycle), counted from its recommendations: the one
rule the tracker uses to keep ``dashboard_summaries`` and the UI uses where nothing is
summarised yet (pure: no I/O)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from contracts.documents import disagreement_line

NOT_ASSESSED = "not_assessed"
# The fields of a recommendation the figures need (a projection: less to read).
RECOMMENDATION_FIELDS = ("country", "cycle", "position", "themes", "cncc_status", "cso_status",
                         "disagreement", "child_related")


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
