from __future__ import annotations

import io

import pytest
from docx import Document
from docx.document import Document as DocxDocument

from contracts.documents import AssessmentDoc, EvidenceDoc, RecommendationDoc, ReportDraftDoc
from services.tracker.adapters.report_docx import export_docx
from services.tracker.domain.report import MidTermReport, assemble_report
from tests.unit.report.sample import (
    AS_OF,
    THEME_LABELS,
    sample_assessments,
    sample_drafts,
    sample_evidence,
    sample_recommendations,
)


@pytest.fixture(scope="session")
def recs() -> list[RecommendationDoc]:
    return sample_recommendations()


@pytest.fixture(scope="session")
def evidence(recs: list[RecommendationDoc]) -> list[EvidenceDoc]:
    return sample_evidence(recs)


@pytest.fixture(scope="session")
def assessments(recs: list[RecommendationDoc]) -> list[AssessmentDoc]:
    return sample_assessments(recs)


@pytest.fixture(scope="session")
def drafts() -> list[ReportDraftDoc]:
    return sample_drafts()


@pytest.fixture(scope="session")
def report(recs, evidence, drafts, assessments) -> MidTermReport:
    return assemble_report(
        recs, evidence, drafts, country="KHM", cycle=1, as_of=AS_OF, assessments=assessments, language="bilingual",
            theme_labels=THEME_LABELS
    )


@pytest.fixture(scope="session")
def docx_bytes(report: MidTermReport) -> bytes:
    return export_docx(report)


@pytest.fixture(scope="session")
def docx(docx_bytes: bytes) -> DocxDocument:
    return Document(io.BytesIO(docx_bytes))
