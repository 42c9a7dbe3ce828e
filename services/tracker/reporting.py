"""Service layer for the mid-term report: load from MongoDB, assemble, export.

Shared by `upr report` and the tracker's HTTP API (the UI's Report page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pymongo.database import Database

from contracts.taxonomy import load_taxonomy
from services.tracker.adapters.report_source import load_assessments, load_cycle, load_report_inputs
from services.tracker.domain.report import MidTermReport, assemble_report
from services.tracker.domain.report_labels import theme_labels_from_taxonomy

ReportFormat = Literal["docx", "md", "xlsx"]
MEDIA_TYPES: dict[str, str] = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "md": "text/markdown; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class NoRecommendations(LookupError):
    pass


@dataclass(frozen=True)
class RenderedReport:
    body: bytes
    media_type: str
    filename: str
    report: MidTermReport


ReportLanguage = Literal["en", "km", "bilingual"]


def build_report(
    db: Database[dict[str, Any]], *, country: str, cycle: int, as_of: date, language: ReportLanguage = "en",
    include_coalition_only: bool = False, all_recommendations: bool = False,
) -> MidTermReport:
    recs, evidence, drafts = load_report_inputs(db, country, cycle)
    if not recs:
        raise NoRecommendations(f"no recommendations of {country} cycle {cycle} in the database")
    return assemble_report(
        recs, evidence, drafts, country=country, cycle=cycle, as_of=as_of, language=language,
        theme_labels=theme_labels_from_taxonomy(load_taxonomy().themes),
        assessments=load_assessments(db, [r.recommendation_id for r in recs]),
        include_coalition_only=include_coalition_only, child_related_only=not all_recommendations,
        cycle_doc=load_cycle(db, country, cycle),
    )


def export(report: MidTermReport, fmt: ReportFormat) -> bytes:
    if fmt == "docx":
        from services.tracker.adapters.report_docx import export_docx

        return export_docx(report)
    if fmt == "md":
        from services.tracker.adapters.report_markdown import export_markdown

        return export_markdown(report).encode("utf-8")
    from services.tracker.adapters.report_xlsx import export_xlsx

    return export_xlsx(report)


def render_report(db: Database[dict[str, Any]], *, fmt: ReportFormat, **options: Any) -> RenderedReport:
    report = build_report(db, **options)
    name = f"upr-midterm-{options['country']}-cycle{options['cycle']}-{options['as_of'].isoformat()}.{fmt}"
    return RenderedReport(export(report, fmt), MEDIA_TYPES[fmt], name, report)
