"""The UI's pure logic: who sees what, filters, exports, escaping. No database needed."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

from openpyxl import load_workbook

from contracts.documents import EvidenceDoc, RecommendationDoc
from contracts.events import Actor, Role
from ui import exports
from ui.components import md_escape
from ui.i18n import STRINGS, t
from ui.pages_registry import PAGES, pages_for
from ui.read_model import NOT_ASSESSED, RecommendationFilter, can_see_evidence, recommendation_query

NOW = datetime(2026, 1, 5, tzinfo=UTC)


def _evidence(by: str, *, state: str = "approved", visibility: str = "coalition") -> EvidenceDoc:
    return EvidenceDoc(evidence_id="ev-000001", recommendation_ids=["KHM-4-1"], source_type="law_decree",
                       title="t", submitted_by=Actor(username=by, role=Role.CSO_MEMBER), submitted_at=NOW,
                       visibility=visibility, review_state=state)


def _actor(name: str, role: Role) -> Actor:
    return Actor(username=name, role=role)


def test_viewer_sees_only_approved_public_evidence() -> None:
    viewer = _actor("v", Role.VIEWER)
    assert can_see_evidence(_evidence("dara", visibility="public"), viewer)
    assert not can_see_evidence(_evidence("dara", visibility="coalition"), viewer)
    assert not can_see_evidence(_evidence("dara", state="pending", visibility="public"), viewer)


def test_coalition_member_sees_coalition_evidence_but_not_others_pending_items() -> None:
    member = _actor("sokha", Role.CSO_MEMBER)
    assert can_see_evidence(_evidence("dara"), member)
    assert not can_see_evidence(_evidence("dara", state="pending"), member)
    assert not can_see_evidence(_evidence("dara", state="rejected"), member)


def test_submitter_sees_own_pending_evidence_and_reviewers_see_everything() -> None:
    assert can_see_evidence(_evidence("dara", state="pending"), _actor("dara", Role.CSO_MEMBER))
    for role in (Role.REVIEWER, Role.ADMIN):
        assert can_see_evidence(_evidence("dara", state="pending"), _actor("x", role))


def test_khmer_search_is_a_literal_case_insensitive_match_on_both_texts() -> None:
    query = recommendation_query(RecommendationFilter(search="កុមារ (a+b)"))
    alternatives = query["$or"]
    assert {"text", "text_km", "_id"} == {next(iter(a)) for a in alternatives}
    pattern = alternatives[0]["text"]
    assert pattern["$options"] == "i"
    assert re.search(pattern["$regex"], "ច្បាប់ស្តីពីកុមារ (a+b) ...")  # regex characters matched literally
    assert not re.search(pattern["$regex"], "កុមារ aab")


def test_filters_combine_and_not_assessed_matches_missing_status() -> None:
    query = recommendation_query(RecommendationFilter(cycles=(4,), themes=("T08",), statuses=(NOT_ASSESSED,),
                                                      recommending_state="Sweden", disagreement_only=True))
    clauses = query["$and"]
    assert {"cycle": {"$in": [4]}} in clauses
    assert {"themes": {"$in": ["T08"]}} in clauses
    assert {"cncc_status": {"$in": [None]}} in clauses
    assert {"recommending_states.name": {"$regex": "Sweden", "$options": "i"}} in clauses
    assert {"disagreement": True} in clauses
    assert recommendation_query(RecommendationFilter()) == {}


def _rec(text: str, text_km: str | None = None) -> RecommendationDoc:
    return RecommendationDoc(recommendation_id="KHM-4-1", country="KHM", cycle=4, text=text, text_km=text_km,
                             position="Supported", created_at=NOW, updated_at=NOW)


def test_exported_cells_that_look_like_formulas_are_neutralised() -> None:
    recs = [_rec('=HYPERLINK("http://evil","x")'), _rec("+1 call"), _rec("-2"), _rec("@SUM(A1)"), _rec("safe")]
    rows = list(csv.reader(io.StringIO(exports.to_csv(recs).decode("utf-8-sig"))))
    texts = [r[exports.COLUMNS.index("text")] for r in rows[1:]]
    assert texts == ["'=HYPERLINK(\"http://evil\",\"x\")", "'+1 call", "'-2", "'@SUM(A1)", "safe"]
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(recs))).active
    assert sheet.cell(row=2, column=exports.COLUMNS.index("text") + 1).value.startswith("'=")
    assert sheet.cell(row=2, column=1).data_type != "f"


def test_khmer_text_survives_csv_and_xlsx_export() -> None:
    recs = [_rec("Adopt the law", "អនុម័តច្បាប់")]
    assert "អនុម័តច្បាប់" in exports.to_csv(recs).decode("utf-8-sig")
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(recs))).active
    assert sheet.cell(row=2, column=exports.COLUMNS.index("text_km") + 1).value == "អនុម័តច្បាប់"


def test_user_text_cannot_inject_markdown_links_or_html() -> None:
    escaped = md_escape("<script>x</script> [click](http://evil) **bold** កុមារ")
    assert "<script>" not in escaped and "](" not in escaped and "**" not in escaped
    assert "កុមារ" in escaped


def test_viewer_menu_lacks_contributor_reviewer_and_admin_pages() -> None:
    keys = {p.key for p in pages_for(Role.VIEWER)}
    assert {"dashboard", "recommendations", "detail", "subscriptions"} == keys
    assert "add_evidence" in {p.key for p in pages_for(Role.CSO_MEMBER)}
    assert "review_inbox" not in {p.key for p in pages_for(Role.CSO_MEMBER)}
    assert {p.key for p in pages_for(Role.ADMIN)} == {p.key for p in PAGES}


def test_every_menu_entry_has_english_and_khmer_titles() -> None:
    for spec in PAGES:
        assert STRINGS[spec.key]["en"] and STRINGS[spec.key]["km"]
    assert t("login", "km") == "ចូលប្រើ"
    assert t("not_allowed", "fr", role="viewer") == "Your role (viewer) cannot open this page."


