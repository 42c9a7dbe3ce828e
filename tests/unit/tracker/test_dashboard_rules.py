"""The Dashboard's figures as the tracker counts them (pure rules, no database)."""

from __future__ import annotations

from typing import Any

from contracts.documents import CycleSummaryDoc
from services.tracker.domain.dashboard import count_evidence, pause_after, summarise


def rec(rec_id: str, *, cycle: int = 4, position: str = "Supported", themes: tuple[str, ...] = (),
        cso: str | None = None, cncc: str | None = None, child: bool = True) -> dict[str, Any]:
    return {"_id": rec_id, "country": "KHM", "cycle": cycle, "position": position, "themes": list(themes),
            "cso_status": cso, "cncc_status": cncc, "disagreement": bool(cso and cncc and cso != cncc),
            "child_related": child}


def test_a_cycle_summary_counts_positions_statuses_themes_and_disagreements() -> None:
    summary = summarise("KHM", 4, [
        rec("KHM-4-110.23", themes=("T02", "T05"), cso="in_progress", cncc="fully_implemented"),
        rec("KHM-4-110.24", themes=("T05",), cncc="in_progress", cso="in_progress"),
        rec("KHM-4-110.25", position="Noted", child=False),
    ])
    assert summary["total"] == 3 and summary["child_related"] == 2
    assert summary["by_position"] == {"Noted": 1, "Supported": 2}
    assert summary["by_status"] == {"fully_implemented": 1, "in_progress": 1, "not_assessed": 1}
    assert summary["by_theme_status"] == {"T02": {"fully_implemented": 1},
                                          "T05": {"fully_implemented": 1, "in_progress": 1}}
    rows = CycleSummaryDoc.model_validate({**summary, "computed_at": "2026-12-01T00:00:00Z"}).disagreement_rows()
    assert rows == [{"recommendation_id": "KHM-4-110.23", "cso_status": "in_progress",
                     "cncc_status": "fully_implemented"}]


def test_evidence_is_counted_per_audience_leaving_out_rejected_and_held_items() -> None:
    counts = count_evidence([
        {"review_state": "approved", "visibility": "public"},
        {"review_state": "approved", "visibility": "coalition"},
        {"review_state": "approved", "visibility": "public", "safeguarding_state": "held"},
        {"review_state": "approved", "visibility": "public", "safeguarding_flags": ["name"]},  # held before states
        {"review_state": "pending", "visibility": "public"},
        {"review_state": "rejected", "visibility": "public"},
    ])
    assert counts == {"all": 5, "coalition": 2, "public": 1, "pending": 1}


def test_recounts_take_at_most_their_share_of_the_time_while_events_keep_coming() -> None:
    # A quick recount waits the minimum interval; a 2 s recount at a 20% share waits 8 s.
    assert pause_after(0.01, min_interval_s=1.0, max_share=0.2, max_pause_s=120) == 1.0
    assert pause_after(2.0, min_interval_s=1.0, max_share=0.2, max_pause_s=120) == 8.0
    assert pause_after(100.0, min_interval_s=1.0, max_share=0.2, max_pause_s=120) == 120
