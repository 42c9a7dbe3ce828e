"""Issue 14: the Review inbox lists imported rows waiting for a reviewer (ambiguous matches),
each with its candidates' texts and the two decisions (AppTest on the MongoDB-wire server)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo.database import Database

from tests.integration.ui.conftest import page

pytestmark = pytest.mark.integration


def test_review_inbox_lists_an_ambiguous_import_row_with_its_candidates(
    ui_db: Database[dict[str, Any]],
) -> None:
    ui_db.match_reviews.insert_one({
        "_id": "cso_sheet:KHM-4-x1111111111", "review_id": "cso_sheet:KHM-4-x1111111111", "state": "pending",
        "country": "KHM", "cycle": 4, "row": 7, "file_name": "coalition sheet.csv", "format": "cso_sheet",
        "recommendation_id": "KHM-4-x1111111111", "text": "Adopt the Child Protection Law, and quickly",
        "recommending_states": ["Sweden"], "candidates": [{"recommendation_id": "KHM-4-110.23", "score": 86.4}],
        "payload": {}, "at": datetime.now(UTC),
    })
    at = page("review_inbox", "reviewer")
    assert not at.exception
    assert "Imported rows to confirm (1)" in [s.value for s in at.subheader]
    shown = " ".join(str(t.value) for t in at.text)
    assert "Adopt the Child Protection Law, and quickly" in shown
    assert "Adopt the Child Protection Law without delay" in shown  # the candidate, to compare
    labels = [b.label for b in at.button]
    assert "Same" in labels and "Keep separate" in labels
    assert "similarity 86.4" in " ".join(c.value for c in at.caption)


def test_detail_shows_the_ohchr_annotation_id_when_a_source_gave_it(
    ui_db: Database[dict[str, Any]],
) -> None:
    from tests.integration.ui.conftest import recommendation_doc

    ui_db.recommendations.insert_one({**recommendation_doc("KHM-4-110.99", "Protect children online"),
                                      "annotation_id": "1000042"})
    at = page("detail", "viewer", id="KHM-4-110.99")
    assert not at.exception
    assert "OHCHR annotation 1000042" in " ".join(c.value for c in at.caption)
