"""The real 1st-cycle sample (A/HRC/13/4) as tracker documents, plus generated evidence,
assessments and report drafts whose every special case a test can name."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path

from contracts.documents import AssessmentDoc, EvidenceDoc, RecommendationDoc, ReportDraftDoc
from contracts.events import (
    Actor,
    Assessor,
    EvidenceSourceType,
    ImplementationStatus,
    Position,
    RecommendingState,
    ReviewState,
    Role,
    Visibility,
)
from contracts.taxonomy import load_taxonomy
from services.tracker.domain.report_labels import theme_labels_from_taxonomy

DATA = Path("/work/shared/data")
AS_OF = date(2025, 6, 30)
# The themes' names as the tracker passes them to the report (from taxonomy.yaml).
THEME_LABELS = theme_labels_from_taxonomy(load_taxonomy().themes)
T0 = datetime(2024, 1, 1, tzinfo=UTC)

BIRTH_REC = "KHM-1-82.84"  # "Ensure registration at birth of all children ..." tagged T05;T19
BIRTH_KM = "ធានាការចុះបញ្ជីកំណើតរបស់កុមារទាំងអស់ រួមទាំងកុមារមិនមែនជាពលរដ្ឋខ្មែរដែលកើតនៅកម្ពុជា"
GAPS_T05_KM = "កុមារជនជាតិដើមភាគតិចនៅតែខ្វះសំបុត្រកំណើត"
COALITION = "Child Rights Coalition Cambodia"
CSO_MEMBER = Actor(username="sokha.chan", role=Role.CSO_MEMBER, organisation=COALITION)
LONE_MEMBER = Actor(username="dara.individual", role=Role.CSO_MEMBER, organisation=None)
REVIEWER = Actor(username="vanna.reviewer", role=Role.REVIEWER, organisation="CNCC")

SECRET_TITLES = {
    "pending": "PENDING item awaiting review",
    "rejected": "REJECTED item the reviewer refused",
    "held": "HELD item naming a child",
    "coalition": "COALITION-ONLY internal note",
    "future": "FUTURE item published after the cut-off",
}


def _state(name: str) -> RecommendingState:
    return RecommendingState(code=name[:3].upper(), name=name)


def sample_recommendations() -> list[RecommendationDoc]:
    """Every row of the cleaned cycle-1 CSV, tagged with the careful labels."""
    with (DATA / "labels_khm_cycle1_2009.csv").open(encoding="utf-8") as handle:
        labels = {row["recommendation_id"]: row for row in csv.DictReader(handle)}
    recs = []
    with (DATA / "upr_info_khm_cycle1_2009.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            label = labels[row["recommendation_id"]]
            recs.append(
                RecommendationDoc(
                    recommendation_id=row["recommendation_id"],
                    country="KHM",
                    cycle=int(row["cycle"]),
                    session=int(row["session"]),
                    document_symbol=row["document_symbol"],
                    paragraph=row["paragraph"],
                    text=row["text"],
                    text_km=BIRTH_KM if row["recommendation_id"] == BIRTH_REC else None,
                    recommending_states=[_state(row["recommending_state"])],
                    position=Position.SUPPORTED if row["response"] == "Accepted" else Position.NOTED,
                    child_related=label["child_related"] == "1",
                    themes=[t for t in label["themes"].split(";") if t],
                    created_at=T0,
                    updated_at=T0,
                )
            )
    return recs


def _evidence(evidence_id: str, rec_ids: list[str], title: str, **extra: object) -> EvidenceDoc:
    fields: dict[str, object] = {
        "evidence_id": evidence_id,
        "recommendation_ids": rec_ids,
        "source_type": EvidenceSourceType.POLICY_PLAN,
        "title": title,
        "published_on": date(2022, 3, 1),
        "quote": f"Quote of {title}.",
        "organisation": "Royal Government of Cambodia",
        "submitted_by": CSO_MEMBER,
        "submitted_at": datetime(2024, 5, 1, tzinfo=UTC),
        "visibility": Visibility.PUBLIC,
        "review_state": ReviewState.APPROVED,
        "reviewed_by": REVIEWER,
    }
    fields.update(extra)
    return EvidenceDoc.model_validate(fields)


def sample_evidence(recs: list[RecommendationDoc]) -> list[EvidenceDoc]:
    """One approved public item per child-related recommendation (every other one),
    a known birth-registration item, and one of each kind the report must not show."""
    items = [
        _evidence(
            "ev-birth-subdecree",
            [BIRTH_REC],
            "Sub-decree on civil registration, statistics and identification",
            source_type=EvidenceSourceType.LAW_DECREE,
            published_on=date(2019, 5, 10),
            quote="Every child born in Cambodia shall be registered free of charge within 30 days.",
            organisation="Ministry of Interior",
            url="https://example.org/subdecree-civil-registration",
        ),
        _evidence(
            "ev-birth-km",
            [BIRTH_REC],
            "របាយការណ៍ស្តីពីការចុះបញ្ជីកំណើត",
            language="km",
            published_on=date(2023, 8, 1),
            quote="អត្រាចុះបញ្ជីកំណើតកើនឡើង",
            organisation="UNICEF Cambodia",
            submitted_by=LONE_MEMBER,
        ),
        _evidence(
            "ev-formula",
            ["KHM-1-82.9"],
            '=HYPERLINK("http://evil","x")',
            source_type=EvidenceSourceType.MEDIA,
        ),
        _evidence("ev-pending", [BIRTH_REC], SECRET_TITLES["pending"], review_state=ReviewState.PENDING),
        _evidence("ev-rejected", [BIRTH_REC], SECRET_TITLES["rejected"], review_state=ReviewState.REJECTED),
        _evidence("ev-held", [BIRTH_REC], SECRET_TITLES["held"], safeguarding_flags=["child_name"]),
        _evidence("ev-coalition", [BIRTH_REC], SECRET_TITLES["coalition"], visibility=Visibility.COALITION),
        _evidence("ev-future", [BIRTH_REC], SECRET_TITLES["future"], published_on=date(2025, 7, 1)),
    ]
    child = [r for r in recs if r.child_related]
    source_types = list(EvidenceSourceType)
    for i, rec in enumerate(child):
        if i % 2 == 0 and rec.recommendation_id != BIRTH_REC:
            items.append(
                _evidence(
                    f"ev-gen-{i:03d}",
                    [rec.recommendation_id],
                    f"Measure on {rec.paragraph}",
                    source_type=source_types[i % len(source_types)],
                    published_on=date(2020 + i % 5, 1 + i % 12, 1 + i % 28),
                    organisation=["Ministry of Education", "Ministry of Social Affairs", "UNICEF"][i % 3],
                    submitted_by=[CSO_MEMBER, REVIEWER][i % 2 // 1] if i % 4 else CSO_MEMBER,
                )
            )
    return items


def sample_assessments(recs: list[RecommendationDoc]) -> list[AssessmentDoc]:
    statuses = list(ImplementationStatus)
    out: list[AssessmentDoc] = [
        AssessmentDoc(
            assessment_id="as-birth-cncc",
            recommendation_id=BIRTH_REC,
            assessor=Assessor.CNCC,
            status=ImplementationStatus.FULLY_IMPLEMENTED,
            rationale="Free registration in force.",
            evidence_ids=["ev-birth-subdecree", "ev-pending"],
            by=REVIEWER,
            at=datetime(2025, 3, 1, tzinfo=UTC),
        ),
        AssessmentDoc(
            assessment_id="as-birth-cso",
            recommendation_id=BIRTH_REC,
            assessor=Assessor.CSO,
            status=ImplementationStatus.PARTIALLY_IMPLEMENTED,
            rationale="Indigenous and stateless children still miss out.",
            evidence_ids=["ev-birth-km"],
            by=CSO_MEMBER,
            at=datetime(2025, 4, 1, tzinfo=UTC),
        ),
        # Made after the cut-off: must not count.
        AssessmentDoc(
            assessment_id="as-birth-cso-late",
            recommendation_id=BIRTH_REC,
            assessor=Assessor.CSO,
            status=ImplementationStatus.NOT_STARTED,
            by=CSO_MEMBER,
            at=datetime(2025, 9, 1, tzinfo=UTC),
        ),
    ]
    child = [r for r in recs if r.child_related and r.recommendation_id != BIRTH_REC]
    for i, rec in enumerate(child):
        if i % 3 != 2:
            out.append(
                AssessmentDoc(
                    assessment_id=f"as-cncc-{i:03d}",
                    recommendation_id=rec.recommendation_id,
                    assessor=Assessor.CNCC,
                    status=statuses[i % 4],
                    by=REVIEWER,
                    evidence_ids=[f"ev-gen-{i:03d}"],
                    at=datetime(2025, 1, 15, tzinfo=UTC),
                )
            )
        if i % 2 == 0:
            out.append(
                AssessmentDoc(
                    assessment_id=f"as-cso-{i:03d}",
                    recommendation_id=rec.recommendation_id,
                    assessor=Assessor.CSO,
                    status=statuses[(i // 2) % 4],
                    by=CSO_MEMBER,
                    at=datetime(2025, 2, 15, tzinfo=UTC),
                )
            )
    return out


def sample_drafts() -> list[ReportDraftDoc]:
    def draft(section: str, version: int, text: str, language: str = "en") -> ReportDraftDoc:
        return ReportDraftDoc.model_validate(
            {
                "country": "KHM",
                "cycle": 1,
                "section": section,
                "language": language,
                "version": version,
                "text": text,
                "author": REVIEWER,
                "at": datetime(2025, 5, version, tzinfo=UTC),
            }
        )

    return [
        draft("executive_summary", 1, "OLD SUMMARY that was replaced."),
        draft("executive_summary", 2, "Cambodia has made progress on birth registration and education."),
        draft("gaps:T05", 1, "Indigenous children still lack birth certificates."),
        draft("gaps:T05", 1, GAPS_T05_KM, language="km"),
        draft("asks:T05", 1, "Make late birth registration free everywhere."),
        draft("priorities", 1, "Adopt the Child Protection Law."),
    ]
