"""What the public sees (read API, public page): one set of rules, tested here."""

from __future__ import annotations

from typing import Any

import pytest

from services.tracker.domain import publication as pub


def rec(rec_id: str = "KHM-4-110.23", *, cycle: int = 4, position: str = "Supported") -> dict[str, Any]:
    return {"_id": rec_id, "recommendation_id": rec_id, "country": "KHM", "cycle": cycle, "position": position,
            "text": "Adopt the Child Protection Law", "text_km": "អនុម័តច្បាប់", "themes": ["T02"],
            "recommending_states": [{"code": "SWE", "name": "Sweden"}], "cncc_status": "in_progress",
            "cso_status": "not_started", "cncc_assessment": {"rationale": "internal view"}}


def evidence(ev_id: str, *, state: str = "approved", visibility: str = "public", flags: tuple[str, ...] = (),
             recs: tuple[str, ...] = ("KHM-4-110.23",)) -> dict[str, Any]:
    return {"_id": ev_id, "evidence_id": ev_id, "recommendation_ids": list(recs), "source_type": "law_decree",
            "title": f"Evidence {ev_id}", "url": "https://example.org/law", "quote": "Article 5",
            "review_state": state, "visibility": visibility, "safeguarding_flags": list(flags),
            "review_comment": "reviewer note", "published_on": None}


@pytest.mark.parametrize(("item", "public"), [
    (evidence("e1"), True),
    (evidence("e2", state="pending"), False),
    (evidence("e3", state="rejected"), False),
    (evidence("e4", visibility="coalition"), False),
    (evidence("e5", flags=("name_with_age",)), False),
    ({**evidence("e6", flags=("name_with_age",)), "safeguarding_state": "held"}, False),
    ({**evidence("e7", flags=("name_with_age",)), "safeguarding_state": "released"}, True),
    ({**evidence("e8", flags=("name_with_age",)), "safeguarding_state": "redacted"}, True),
])
def test_only_approved_public_unflagged_evidence_is_public(item: dict[str, Any], public: bool) -> None:
    assert pub.evidence_is_public(item) is public


def test_only_supported_recommendations_of_published_cycles_are_public() -> None:
    assert pub.recommendation_is_public(rec(), [4])
    assert not pub.recommendation_is_public(rec(), [3])
    assert not pub.recommendation_is_public(rec(position="Noted"), [4])


def test_the_detail_shows_public_evidence_only_and_no_internal_fields() -> None:
    items = [evidence("e1"), evidence("e2", state="pending"), evidence("e4", visibility="coalition"),
             evidence("e5", flags=("phone_number",))]
    detail = pub.public_recommendation_detail(rec(), items)
    assert [e.evidence_id for e in detail.evidence] == ["e1"]
    assert detail.evidence_count == 1
    dumped = detail.model_dump_json()
    assert "reviewer note" not in dumped and "internal view" not in dumped and "cso_status" not in dumped
    assert detail.recommending_states == ["Sweden"] and detail.text_km == "អនុម័តច្បាប់"


def test_evidence_counts_count_public_items_per_recommendation() -> None:
    items = [evidence("e1", recs=("a", "b")), evidence("e2", recs=("a",)), evidence("e3", recs=("a",), state="pending")]
    assert pub.public_evidence_counts(items) == {"a": 2, "b": 1}


def test_a_cursor_round_trips_and_a_forged_one_is_refused() -> None:
    assert pub.decode_cursor(pub.encode_cursor("KHM-4-110.23")) == "KHM-4-110.23"
    with pytest.raises(pub.BadCursor):
        pub.decode_cursor("%%%")


def test_the_public_rows_are_the_supported_recommendations_with_their_public_evidence_counted() -> None:
    recs = [rec("KHM-4-110.24"), rec("KHM-4-110.23"), rec("KHM-4-110.25", position="Noted"),
            {**rec("KHM-4-110.26"), "aliases": ["KHM-4-x0c13"]}]
    items = [evidence("e1"), evidence("e2", state="pending"), evidence("e3", state="rejected"),
             evidence("e4", visibility="coalition"), evidence("e5", flags=("name_with_age",)),
             evidence("e6", recs=("KHM-4-110.23", "KHM-4-110.24")), evidence("e7", recs=("KHM-4-x0c13",)),
             evidence("e8", recs=("KHM-4-110.25",))]
    rows = pub.public_rows(recs, items)
    assert [(r.recommendation_id, r.evidence_count) for r in rows] == [
        ("KHM-4-110.23", 2), ("KHM-4-110.24", 1), ("KHM-4-110.26", 1)]  # sorted; Noted left out
    assert "internal view" not in str([r.model_dump() for r in rows])


def test_the_public_list_filters_by_theme_status_and_words_in_english_or_khmer() -> None:
    row = pub.public_recommendation(rec(), 0)
    assert pub.matches(row) and pub.matches(row, theme="T02", status="in_progress", q="  child PROTECTION ")
    assert pub.matches(row, q="ច្បាប់")
    assert not pub.matches(row, theme="T05")
    assert not pub.matches(row, status="fully_implemented")
    assert not pub.matches(row, q="birth")
    assert not pub.matches(pub.public_recommendation({**rec(), "cncc_status": None}, 0), status="in_progress")


def test_a_page_after_a_cursor_neither_repeats_nor_skips_when_rows_are_added() -> None:
    rows = [pub.public_recommendation(rec(f"KHM-4-110.{n}"), 0) for n in (1, 2, 3, 5)]
    first, cursor = pub.page_after(rows, None, 2)
    assert [r.recommendation_id for r in first] == ["KHM-4-110.1", "KHM-4-110.2"] and cursor is not None
    added = sorted([*rows, pub.public_recommendation(rec("KHM-4-110.0"), 0),
                    pub.public_recommendation(rec("KHM-4-110.4"), 0)], key=lambda r: r.recommendation_id)
    second, cursor = pub.page_after(added, pub.decode_cursor(cursor), 2)
    assert [r.recommendation_id for r in second] == ["KHM-4-110.3", "KHM-4-110.4"] and cursor is not None
    last, cursor = pub.page_after(added, pub.decode_cursor(cursor), 2)
    assert [r.recommendation_id for r in last] == ["KHM-4-110.5"] and cursor is None
    assert pub.page_after([], None, 10) == ([], None)
