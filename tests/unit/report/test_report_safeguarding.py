"""Issue 13 rows 6 and 11 in the report: held text never reaches it, people's text cannot inject Markdown."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

from docx import Document

from contracts.documents import AssessmentDoc, EvidenceDoc, RecommendationDoc, ReportDraftDoc
from contracts.events import Actor, Assessor, ImplementationStatus, Role
from services.tracker.adapters.report_docx import export_docx
from services.tracker.adapters.report_markdown import export_markdown
from services.tracker.domain.report import MidTermReport, assemble_report
from tests.unit.report.sample import AS_OF, BIRTH_REC, THEME_LABELS

CHILD = "A 12-year-old girl, Sokha Chan, from Trapeang village"
IMAGE = "![x](http://tracker/p.png)"
PHISH = "[click](http://phish)"
REVIEWER = Actor(username="vanna", role=Role.REVIEWER, organisation="CNCC")


def _report(recs: list[RecommendationDoc], evidence: list[EvidenceDoc], assessments: list[AssessmentDoc],
            drafts: list[ReportDraftDoc], *extra: AssessmentDoc) -> MidTermReport:
    return assemble_report(recs, evidence, drafts, country="KHM", cycle=1, as_of=AS_OF,
                           assessments=[*assessments, *extra], language="en", theme_labels=THEME_LABELS)


def _assessment(rationale: str, assessor: Assessor, **fields: object) -> AssessmentDoc:
    return AssessmentDoc.model_validate({
        "assessment_id": f"as-test-{assessor.value}", "recommendation_id": BIRTH_REC, "assessor": assessor,
        "status": ImplementationStatus.IN_PROGRESS, "rationale": rationale, "by": REVIEWER,
        "at": datetime(2025, 6, 1, tzinfo=UTC), **fields})


def _docx_text(report: MidTermReport) -> str:
    doc = Document(io.BytesIO(export_docx(report)))
    parts = [p.text for p in doc.paragraphs]
    parts += [cell.text for table in doc.tables for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def test_row6_held_rationale_is_absent_from_the_markdown_and_docx_report(recs, evidence, assessments, drafts) -> None:
    held = _assessment(CHILD, Assessor.CNCC, safeguarding_state="held")
    report = _report(recs, evidence, assessments, drafts, held)
    assert report.entry(BIRTH_REC).cncc.status == ImplementationStatus.IN_PROGRESS  # the status still counts
    assert "Sokha" not in export_markdown(report)
    assert "Sokha" not in _docx_text(report)
    released = _report(recs, evidence, assessments, drafts, _assessment("Registration offices opened.",
                                                                        Assessor.CNCC, safeguarding_state="released"))
    assert "Registration offices opened" in export_markdown(released)


def test_row6_held_report_draft_shows_a_placeholder_not_the_text(recs, evidence, assessments, drafts) -> None:
    held = ReportDraftDoc.model_validate({
        "country": "KHM", "cycle": 1, "section": "executive_summary", "language": "en", "version": 9,
        "text": CHILD, "author": REVIEWER, "at": datetime(2025, 5, 20, tzinfo=UTC), "safeguarding_state": "held"})
    report = _report(recs, evidence, assessments, [*drafts, held])
    md = export_markdown(report)
    assert "Sokha" not in md and "Sokha" not in _docx_text(report)
    assert "Held for safeguarding review" in md


def test_row11_markdown_report_shows_a_link_or_image_in_a_rationale_as_literal_text(
    recs, evidence, assessments, drafts
) -> None:
    report = _report(recs, evidence, assessments, drafts,
                     _assessment(f"See {IMAGE} and {PHISH} <img src=x onerror=alert(1)> **bold**", Assessor.CSO))
    md = export_markdown(report)
    line = next(x for x in md.splitlines() if "See " in x)
    assert "![x](" not in line and "](http" not in line and "**bold**" not in line
    assert re.search(r"(?<!\\)<img", line) is None  # every "<" escaped: no HTML tag
    assert r"\!\[x\]\(http\://tracker/p.png\)" in line and r"\[click\]\(http\://phish\)" in line
