"""What the public may see: the one place that decides it (read API, public page).

Anonymous readers see only recommendations Cambodia supported, of cycles reviewers have
published, each with the CNCC status, and evidence that is approved, marked public by its
author and not held by a safeguarding check. Never pending, rejected, held or
coalition-only evidence, never reviewer notes or assessment rationales, never the CSO
status (the coalition has no way yet to publish its own). Pure: documents in, models out.

A partner system with an API key reads as the key's role reads in the UI: every
recommendation (noted ones and unpublished cycles too), and coalition-only evidence when the
role belongs to the coalition (cso_member, reviewer, admin). Still only approved evidence,
never held items, never reviewer notes: the API serves facts, not the review queue.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contracts.auth import COALITION_ROLES
from contracts.documents import evidence_held
from contracts.events import Position, ReviewState, Role, Visibility
from contracts.public_api import PublicEvidenceV1, PublicRecommendationDetailV1, PublicRecommendationV1

PUBLIC_POSITIONS = (Position.SUPPORTED.value,)


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class Reader:
    """Who reads: anonymous (the public projection) or a key holder in a role."""

    role: Role | None = None

    @property
    def anonymous(self) -> bool:
        return self.role is None

    @property
    def visibilities(self) -> tuple[str, ...]:
        if self.role in COALITION_ROLES:
            return (Visibility.PUBLIC.value, Visibility.COALITION.value)
        return (Visibility.PUBLIC.value,)


PUBLIC = Reader()


def evidence_query(reader: Reader = PUBLIC) -> dict[str, Any]:
    """The MongoDB filter of the evidence ``reader`` may see (holds are checked per item)."""
    return {"review_state": ReviewState.APPROVED.value, "visibility": {"$in": list(reader.visibilities)}}


def evidence_is_public(evidence: Mapping[str, Any], reader: Reader = PUBLIC) -> bool:
    return (
        evidence.get("review_state") == ReviewState.APPROVED.value
        and evidence.get("visibility") in reader.visibilities
        and not evidence_held(evidence)
    )


def recommendation_is_public(recommendation: Mapping[str, Any], published_cycles: Iterable[int],
                             reader: Reader = PUBLIC) -> bool:
    if not reader.anonymous:
        return True
    return recommendation.get("position") in PUBLIC_POSITIONS and recommendation.get("cycle") in set(published_cycles)


def public_evidence(evidence: Mapping[str, Any]) -> PublicEvidenceV1:
    return PublicEvidenceV1(
        evidence_id=str(evidence.get("evidence_id") or evidence["_id"]),
        recommendation_ids=list(evidence.get("recommendation_ids") or []),
        source_type=evidence["source_type"], title=evidence.get("title", ""),
        published_on=evidence.get("published_on"), url=evidence.get("url"), quote=evidence.get("quote", ""),
        language=evidence.get("language", "en"), visibility=evidence.get("visibility", Visibility.PUBLIC.value),
    )


def public_recommendation(recommendation: Mapping[str, Any], evidence_count: int) -> PublicRecommendationV1:
    return PublicRecommendationV1(**_fields(recommendation), evidence_count=evidence_count)


def public_recommendation_detail(
    recommendation: Mapping[str, Any], evidence: Iterable[Mapping[str, Any]], reader: Reader = PUBLIC
) -> PublicRecommendationDetailV1:
    shown = sorted((public_evidence(e) for e in evidence if evidence_is_public(e, reader)),
                   key=lambda e: (e.published_on is None, e.published_on, e.evidence_id))
    return PublicRecommendationDetailV1(**_fields(recommendation), evidence_count=len(shown), evidence=shown)


def public_evidence_counts(evidence: Iterable[Mapping[str, Any]], reader: Reader = PUBLIC) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in evidence:
        if evidence_is_public(item, reader):
            for rec_id in item.get("recommendation_ids") or []:
                counts[rec_id] = counts.get(rec_id, 0) + 1
    return counts


def _fields(rec: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "recommendation_id": str(rec.get("recommendation_id") or rec["_id"]),
        "country": rec["country"], "cycle": rec["cycle"], "session": rec.get("session"),
        "document_symbol": rec.get("document_symbol"), "paragraph": rec.get("paragraph"),
        "text": rec.get("text", ""), "text_km": rec.get("text_km"),
        "recommending_states": [str(s.get("name")) for s in rec.get("recommending_states") or []
                                if isinstance(s, Mapping) and s.get("name")],
        "position": rec["position"], "themes": list(rec.get("themes") or []),
        "cncc_status": rec.get("cncc_status"),
    }


# The published projection: per (country, cycle), the rows the public list shows, kept by the
# tracker from its events (services/tracker/projections.py) so that the public page reads a
# few documents by _id instead of filtering and sorting every recommendation per page. Whether
# the cycle is published is not in it: that is checked on every read, so unpublishing is at once.


def projection_id(country: str, cycle: int) -> str:
    """The projection's key of a (country, cycle): the ``_id`` of its cycle document too."""
    return f"{country}-{cycle}"


def public_rows(recommendations: Iterable[Mapping[str, Any]],
                evidence: Iterable[Mapping[str, Any]]) -> list[PublicRecommendationV1]:
    """What anonymous callers may list of these recommendations (one cycle's), sorted by id:
    the supported ones, each with its count of public evidence. Evidence attached under an old
    id (an alias, from before two sources were merged) counts for the recommendation it now is."""
    shown = [r for r in recommendations if r.get("position") in PUBLIC_POSITIONS]
    names = {str(alias): str(r["_id"]) for r in shown for alias in [r["_id"], *(r.get("aliases") or [])]}
    counts: dict[str, int] = {}
    for item in evidence:
        if evidence_is_public(item, PUBLIC):
            for rec_id in {names[n] for n in item.get("recommendation_ids") or [] if n in names}:
                counts[rec_id] = counts.get(rec_id, 0) + 1
    rows = [public_recommendation(r, counts.get(str(r["_id"]), 0)) for r in shown]
    return sorted(rows, key=lambda row: row.recommendation_id)


def matches(row: PublicRecommendationV1, *, theme: str | None = None, status: str | None = None,
            q: str | None = None) -> bool:
    """The list's filters on one row: a theme, a CNCC status, and words in the English text (any
    case) or the Khmer text, as the MongoDB query of keyed callers does."""
    if theme and theme not in row.themes:
        return False
    if status and (row.cncc_status is None or row.cncc_status.value != status):
        return False
    words = (q or "").strip()
    return not words or words.lower() in row.text.lower() or words in (row.text_km or "")


def page_after(rows: Sequence[PublicRecommendationV1], after: str | None,
               limit: int) -> tuple[list[PublicRecommendationV1], str | None]:
    """One page of rows sorted by id: those after the id ``after`` (the cursor), and the cursor
    of the next page (None: the last page). A row added meanwhile never shifts a page."""
    rest = [row for row in rows if after is None or row.recommendation_id > after]
    page = rest[:limit]
    return page, encode_cursor(page[-1].recommendation_id) if len(rest) > limit else None


# Cursors are opaque to callers: the last id of the page, so a page never repeats or skips
# a recommendation when others are added meanwhile (unlike an offset).


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        last_id = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadCursor("cursor is not one this API gave") from None
    if not last_id:
        raise BadCursor("cursor is not one this API gave")
    return last_id
