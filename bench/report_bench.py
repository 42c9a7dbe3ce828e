"""Bench: the mid-term report for 1,000 recommendations and 5,000 evidence items.

`python bench/report_bench.py` prints the figures; `run()` returns them:
report_1000_s (assembly + DOCX export, seconds), assembly_s, docx_s, docx_mb,
report_peak_rss_mb (peak resident memory of this process, MB).
Data is generated, deterministic (seeded), with a realistic mix: 19 themes, about half
the recommendations assessed by each assessor, evidence in every review state.
"""

from __future__ import annotations

import random
import resource
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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

N_RECOMMENDATIONS = 1_000
N_EVIDENCE = 5_000
AS_OF = date(2026, 6, 30)
T0 = datetime(2024, 10, 1, tzinfo=UTC)
STATES = ["Brazil", "France", "Japan", "Norway", "Thailand", "Uruguay", "Viet Nam", "Germany", "Chile", "Kenya"]
ORGS = ["Child Rights Coalition Cambodia", "Youth Network", "Disability Action Council", None]


def generate(seed: int = 7) -> tuple[
    list[RecommendationDoc], list[EvidenceDoc], list[ReportDraftDoc], list[AssessmentDoc]
]:  # fmt: skip
    rng = random.Random(seed)
    recs: list[RecommendationDoc] = []
    for i in range(N_RECOMMENDATIONS):
        themes = sorted(rng.sample([f"T{n:02d}" for n in range(1, 20)], k=rng.choice([1, 1, 2, 3])))
        recs.append(
            RecommendationDoc(
                recommendation_id=f"KHM-4-{100 + i // 100}.{i % 100 + 1}",
                country="KHM",
                cycle=4,
                session=46,
                document_symbol="A/HRC/57/X",
                paragraph=f"{100 + i // 100}.{i % 100 + 1}",
                text=f"Recommendation {i}: strengthen measures to protect children " + "and ensure follow-up " * 8,
                text_km="ពង្រឹងវិធានការការពារកុមារ" if i % 10 == 0 else None,
                recommending_states=[RecommendingState(code=s[:3].upper(), name=s) for s in rng.sample(STATES, 2)],
                position=Position.SUPPORTED if rng.random() < 0.85 else Position.NOTED,
                child_related=rng.random() < 0.9,
                themes=themes if rng.random() < 0.95 else [],
                created_at=T0,
                updated_at=T0,
            )
        )
    members = [Actor(username=f"user{k}", role=Role.CSO_MEMBER, organisation=ORGS[k % len(ORGS)]) for k in range(12)]
    reviewer = Actor(username="reviewer", role=Role.REVIEWER, organisation="CNCC")
    evidence: list[EvidenceDoc] = []
    for j in range(N_EVIDENCE):
        targets = [recs[rng.randrange(N_RECOMMENDATIONS)].recommendation_id for _ in range(rng.choice([1, 1, 2]))]
        roll = rng.random()
        evidence.append(
            EvidenceDoc(
                evidence_id=f"ev-{j:05d}",
                recommendation_ids=sorted(set(targets)),
                source_type=rng.choice(list(EvidenceSourceType)),
                title=f"Evidence item {j}: measure reported by a ministry",
                url=f"https://example.org/evidence/{j}" if j % 3 == 0 else None,
                published_on=date(2024, 11, 1) + timedelta(days=rng.randrange(700)),
                quote="A verbatim sentence from the source describing what was done. " * 2,
                organisation=rng.choice(["Ministry of Interior", "Ministry of Education", "UNICEF", "Media"]),
                submitted_by=rng.choice(members),
                submitted_at=T0 + timedelta(days=rng.randrange(600)),
                visibility=Visibility.PUBLIC if roll < 0.8 else Visibility.COALITION,
                review_state=ReviewState.APPROVED if roll < 0.9 else ReviewState.PENDING,
                safeguarding_flags=["child_name"] if j % 97 == 0 else [],
            )
        )
    statuses = list(ImplementationStatus)
    assessments: list[AssessmentDoc] = []
    for i, rec in enumerate(recs):
        for assessor, by in ((Assessor.CNCC, reviewer), (Assessor.CSO, members[i % len(members)])):
            if rng.random() < 0.55:
                assessments.append(
                    AssessmentDoc(
                        assessment_id=f"as-{assessor.value}-{i}",
                        recommendation_id=rec.recommendation_id,
                        assessor=assessor,
                        status=rng.choice(statuses),
                        evidence_ids=[f"ev-{rng.randrange(N_EVIDENCE):05d}"],
                        by=by,
                        at=T0 + timedelta(days=rng.randrange(700)),
                    )
                )
    drafts = [
        ReportDraftDoc(country="KHM", cycle=4, section=section, version=1, text="Text written by reviewers.",
                       author=reviewer, at=T0)
        for section in ["executive_summary", "priorities", *(f"gaps:T{n:02d}" for n in range(1, 20))]
    ]  # fmt: skip
    return recs, evidence, drafts, assessments


def _peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run() -> dict[str, float]:
    from contracts.taxonomy import load_taxonomy
    from services.tracker.adapters.report_docx import export_docx
    from services.tracker.domain.report import assemble_report
    from services.tracker.domain.report_labels import theme_labels_from_taxonomy

    recs, evidence, drafts, assessments = generate()
    start = time.perf_counter()
    report = assemble_report(
        recs, evidence, drafts, country="KHM", cycle=4, as_of=AS_OF, assessments=assessments, language="bilingual",
        theme_labels=theme_labels_from_taxonomy(load_taxonomy().themes),
    )
    assembled = time.perf_counter()
    document = export_docx(report)
    done = time.perf_counter()
    return {
        "report_1000_s": round(done - start, 3),
        "assembly_s": round(assembled - start, 3),
        "docx_s": round(done - assembled, 3),
        "docx_mb": round(len(document) / 1e6, 2),
        "citations": float(len(report.citations)),
        "report_peak_rss_mb": round(_peak_rss_mb(), 1),
    }


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:22} {value}")
