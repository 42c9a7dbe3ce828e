"""Ambiguous import rows and a reviewer's word on them (issue 14): pure rules, no I/O.

An imported row the matcher cannot place for sure (:mod:`domain.matching`: one candidate
between GREY and SAME, several candidates, or its paragraph held by others) is stored
nowhere. It becomes a *match review*: the row as it came (so the decision needs no second
import), its candidates and their scores. A reviewer then says

- ``same``: it is that stored recommendation: merged into it by the usual rules
  (:mod:`domain.merging`), its id in the file kept as an alias, so importing the file again
  finds it by id;
- ``separate``: a recommendation of its own, stored under its id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts.events import RecommendationImportedV1, RecommendationImportedV2
from services.tracker.domain.matching import Match


def review_id(payload: RecommendationImportedV1) -> str:
    """One entry per row of a source: importing the same file again refreshes it."""
    return f"{payload.source.format}:{payload.recommendation_id}"


def review_entry(payload: RecommendationImportedV1, match: Match, message_id: str, at: datetime) -> dict[str, Any]:
    """The document a reviewer decides on (``match_reviews``), pending again if it comes back."""
    return {
        "_id": review_id(payload), "review_id": review_id(payload), "state": "pending",
        "country": payload.country, "cycle": payload.cycle, "row": payload.source.row,
        "file_name": payload.source.file_name, "format": payload.source.format,
        "recommendation_id": payload.recommendation_id, "text": payload.text,
        "recommending_states": [s.name for s in payload.recommending_states],
        "candidates": [c.as_dict() for c in match.candidates[:5]],
        "payload": payload.model_dump(mode="json"), "message_id": message_id, "at": at,
        "decided_by": None, "decided_at": None, "merged_into": None,
    }


def imported_row(review: dict[str, Any]) -> RecommendationImportedV1:
    """The row as it was imported (v2 when it carried OHCHR's annotation id)."""
    data = dict(review["payload"])
    model = RecommendationImportedV2 if data.get("annotation_id") else RecommendationImportedV1
    if model is RecommendationImportedV1:
        data.pop("annotation_id", None)
    return model.model_validate(data)


def with_alias(aliases: list[str], alias: str, rec_id: str) -> list[str]:
    """A reviewer confirmed the row is ``rec_id``: its id in the file leads there from now on
    (even a paragraph id of a grouped row, which the matcher alone never makes an alias)."""
    if alias == rec_id or alias in aliases:
        return list(aliases)
    return [*aliases, alias]
