"""What the public may see: the one place that decides it (read API, public page).

Anonymous readers see only recommendations Cambodia supported, of cycles reviewers have
published, each with the CNCC status, and evidence that is approved, marked public by its
author and not held by a safeguarding check. Never pending, rejected, held or
coalition-only evidence, never reviewer notes or assessment rationales, never the CSO
status (the coalition has no way yet to publish its own). Pure: documents in, models out.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from typing import Any

from contracts.documents import HELD
from contracts.events import Position, ReviewState, Visibility
from contracts.public_api import PublicEvidenceV1, PublicRecommendationDetailV1, PublicRecommendationV1

PUBLIC_POSITIONS = (Position.SUPPORTED.value,)


class BadCursor(ValueError):
    pass


def evidence_is_public(evidence: Mapping[str, Any]) -> bool:
    return (
        evidence.get("review_state") == ReviewState.APPROVED.value
        and evidence.get("visibility") == Visibility.PUBLIC.value
        and not _held(evidence)
    )


def _held(document: Mapping[str, Any]) -> bool:
    # As contracts.documents.EvidenceDoc.held: stored before holds had a state, flagged means held.
    state = document.get("safeguarding_state")
    return state == HELD or (state is None and bool(document.get("safeguarding_flags")))


def recommendation_is_public(recommendation: Mapping[str, Any], published_cycles: Iterable[int]) -> bool:
    return recommendation.get("position") in PUBLIC_POSITIONS and recommendation.get("cycle") in set(published_cycles)


def public_evidence(evidence: Mapping[str, Any]) -> PublicEvidenceV1:
    return PublicEvidenceV1(
        evidence_id=str(evidence.get("evidence_id") or evidence["_id"]),
        recommendation_ids=list(evidence.get("recommendation_ids") or []),
        source_type=evidence["source_type"], title=evidence.get("title", ""),
        published_on=evidence.get("published_on"), url=evidence.get("url"), quote=evidence.get("quote", ""),
        language=evidence.get("language", "en"),
    )


def public_recommendation(recommendation: Mapping[str, Any], evidence_count: int) -> PublicRecommendationV1:
    return PublicRecommendationV1(**_fields(recommendation), evidence_count=evidence_count)


def public_recommendation_detail(
    recommendation: Mapping[str, Any], evidence: Iterable[Mapping[str, Any]]
) -> PublicRecommendationDetailV1:
    shown = sorted((public_evidence(e) for e in evidence if evidence_is_public(e)),
                   key=lambda e: (e.published_on is None, e.published_on, e.evidence_id))
    return PublicRecommendationDetailV1(**_fields(recommendation), evidence_count=len(shown), evidence=shown)


def public_evidence_counts(evidence: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in evidence:
        if evidence_is_public(item):
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
