"""Read what the mid-term report needs from MongoDB (sync pymongo, for the CLI and the UI).

Filtering by visibility, review state and cut-off date is the report's business
(:func:`services.tracker.domain.report.assemble_report`), not the loader's: the loader
returns every document of the cycle.
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from contracts.documents import (
    ASSESSMENTS,
    CYCLES,
    EVIDENCE,
    RECOMMENDATIONS,
    REPORT_DRAFTS,
    AssessmentDoc,
    CycleDoc,
    EvidenceDoc,
    RecommendationDoc,
    ReportDraftDoc,
)

BATCH = 500  # ids per $in query


def _batches(ids: list[str]) -> list[list[str]]:
    return [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)]


def load_report_inputs(
    db: Database[dict[str, Any]], country: str, cycle: int
) -> tuple[list[RecommendationDoc], list[EvidenceDoc], list[ReportDraftDoc]]:
    """The cycle's recommendations, the evidence attached to any of them, and every saved
    version of the report's editable sections."""
    recs = [
        RecommendationDoc.model_validate(doc) for doc in db[RECOMMENDATIONS].find({"country": country, "cycle": cycle})
    ]
    # Evidence attached under an id a recommendation had before an id upgrade is its evidence.
    current = {alias: r.recommendation_id for r in recs for alias in r.aliases}
    current.update({r.recommendation_id: r.recommendation_id for r in recs})
    seen: dict[str, EvidenceDoc] = {}
    for batch in _batches(sorted(current)):
        for doc in db[EVIDENCE].find({"recommendation_ids": {"$in": batch}}):
            item = EvidenceDoc.model_validate(doc)
            ids = list(dict.fromkeys(current.get(i, i) for i in item.recommendation_ids))
            seen[item.evidence_id] = item.model_copy(update={"recommendation_ids": ids})
    drafts = [
        ReportDraftDoc.model_validate(doc) for doc in db[REPORT_DRAFTS].find({"country": country, "cycle": cycle})
    ]
    return recs, sorted(seen.values(), key=lambda e: e.evidence_id), drafts


def load_assessments(db: Database[dict[str, Any]], recommendation_ids: list[str]) -> list[AssessmentDoc]:
    """Every assessment ever made on these recommendations (the report picks the latest
    per assessor made by its cut-off date)."""
    current = {i: i for i in recommendation_ids}
    for batch in _batches(recommendation_ids):  # assessments given under an old id (an alias) count too
        for doc in db[RECOMMENDATIONS].find({"_id": {"$in": batch}},
                                            {"aliases": 1}):
            current.update({alias: str(doc["_id"]) for alias in doc.get("aliases") or []})
    out: list[AssessmentDoc] = []
    for batch in _batches(sorted(current)):
        for d in db[ASSESSMENTS].find({"recommendation_id": {"$in": batch}}):
            item = AssessmentDoc.model_validate(d)
            out.append(item.model_copy(update={"recommendation_id": current[item.recommendation_id]}))
    return out


def load_cycle(db: Database[dict[str, Any]], country: str, cycle: int) -> CycleDoc | None:
    doc = db[CYCLES].find_one({"country": country, "cycle": cycle})
    return CycleDoc.model_validate(doc) if doc else None
