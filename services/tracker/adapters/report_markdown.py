"""The mid-term report as Markdown (GitHub-flavoured: pipe tables, "[3]" links to sources).

Every piece of people's text (recommendation texts, rationales, evidence, drafts, names of
organisations) goes through :func:`contracts.markdown.md_escape`: it renders as typed, so a
rationale cannot carry an image, a link, HTML or formatting into the report."""

from __future__ import annotations

import re
from collections.abc import Sequence

from contracts.markdown import md_escape as esc
from services.tracker.domain.report import (
    OTHER_CHAPTER_ID,
    STATS_COLUMNS,
    EditableText,
    MidTermReport,
    RecommendationEntry,
    StatusStatement,
)

# A source link is written only for a plain http(s) address; anything else is shown as text.
_PLAIN_URL = re.compile(r"^https?://[A-Za-z0-9._~:/?#\[\]@!$&'*+,;=%-]+$")


def _cell(value: object) -> str:
    return esc(value).replace("\r", " ").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def _cites(numbers: Sequence[int]) -> str:
    return "".join(f"[\\[{n}\\]](#source-{n})" for n in numbers)


def _editable(texts: Sequence[EditableText]) -> list[str]:
    lines: list[str] = []
    for text in texts:
        lines += [f"_{esc(text.text)}_" if text.is_placeholder else esc(text.text), ""]
    return lines


def _status(label: str, statement: StatusStatement, differ: bool) -> str:
    status = f"**{statement.status_label}** ⚠" if differ else statement.status_label
    line = f"- **{label}:** {status}"
    if statement.assessed_on:
        line += f" (assessed {statement.assessed_on.isoformat()})"
    if statement.citations:
        if statement.citations_from_recommendation:
            line += "; the assessment cites no evidence; evidence on this recommendation:"
        line += " " + _cites(statement.citations)
    else:
        line += "; no evidence submitted"
    if statement.rationale:
        line += f". _{esc(statement.rationale)}_"
    return line


def _entry(report: MidTermReport, entry: RecommendationEntry) -> list[str]:
    h = report.headings
    lines = [
        f"#### {esc(entry.label)}",
        "",
        f"**{h['paragraph']}:** {esc(entry.reference)} · {esc(entry.recommendation_id)}",
        "",
    ]
    lines += [f"> {esc(entry.text)}", ""]
    if entry.text_km:
        lines += [f"**{h['text_km']}:** {esc(entry.text_km)}", ""]
    lines.append(f"- **{h['recommending_states']}:** {esc(', '.join(entry.recommending_states)) or 'not recorded'}")
    lines.append(f"- **{h['position']}:** {entry.position_label}")
    if len(entry.themes) > 1:
        lines.append(f"- **{h['themes']}:** {', '.join(entry.themes)}")
    lines.append(_status(h["cncc_status"], entry.cncc, entry.statuses_differ))
    lines.append(_status(h["cso_status"], entry.cso, entry.statuses_differ))
    if entry.statuses_differ:
        lines.append(f"- **{h['statuses_differ']}:** CNCC and the CSO coalition assess this differently.")
    lines.append(f"- **{h['measures_taken']}:**" + ("" if entry.measures else " no evidence submitted."))
    for number in entry.measures:
        c = report.citation(number)
        details = ", ".join(
            p for p in (c.source_type_label, c.organisation, c.published_on and c.published_on.isoformat()) if p
        )
        quote = f": “{esc(c.quote)}”" if c.quote else ""
        lines.append(f"  - {esc(c.title)} ({esc(details)}){quote} {_cites([number])}")
    return [*lines, ""]


def export_markdown(report: MidTermReport) -> str:
    """The whole report as one Markdown document (UTF-8 text; Khmer kept as is)."""
    h = report.headings
    stats = report.statistics
    out = [f"# {report.title}", "", f"_{report.subtitle}_", ""]
    out += [f"## {h['executive_summary']}", "", f"### {h['key_figures']}", ""]
    out += [f"- {figure}" for figure in report.executive_summary.figures] + [""]
    out += _editable(report.executive_summary.texts)
    out += [f"## {h['method']}", ""]
    for paragraph in report.method:
        out += [paragraph, ""]
    out += [f"## {h['statistics']}", "", f"### {h['statistics_by_theme']}", ""]
    out += _table(
        [h[key] for key in STATS_COLUMNS],
        [[r.label, *r.counts()] for r in (*stats.by_theme, stats.total)],
    )
    out += [f"### {h['position_and_status']}", ""]
    out += _table(
        [h["position"], h["recommendations"], h["with_evidence"], h["cncc_assessed"], h["cso_assessed"],
         h["statuses_differ"]],
        [[r.label, r.recommendations, r.with_evidence, r.cncc_assessed, r.cso_assessed, r.statuses_differ]
         for r in stats.by_position],
    )  # fmt: skip
    out += _table([h["status"], h["cncc_status"], h["cso_status"]], [[r.label, r.cncc, r.cso] for r in stats.by_status])
    out += [f"## {h['chapters']}", ""]
    for chapter in report.chapters:
        out += [f"### {chapter.heading}", ""]
        for entry in chapter.entries:
            out += _entry(report, entry)
        if chapter.cross_references:
            out += [f"#### {h['also_in_theme']}", ""]
            out += [
                f"- **{esc(e.label)}** (see {e.chapter_id}; CNCC: {e.cncc.status_label}; CSO: {e.cso.status_label})"
                for e in chapter.cross_references
            ] + [""]
        if chapter.chapter_id != OTHER_CHAPTER_ID:
            out += [
                f"#### {h['gaps']}",
                "",
                *_editable(chapter.gaps),
                f"#### {h['asks']}",
                "",
                *_editable(chapter.asks),
            ]
    out += [f"## {h['noted_revisited']}", ""]
    if not report.noted_revisited:
        out += ["No recommendation covered by this report was noted; all were supported.", ""]
    for e in report.noted_revisited:
        out.append(
            f"- **{esc(e.reference)}:** {esc(e.text)} (full entry under {e.chapter_id}). "
            f"CNCC: {e.cncc.status_label} {_cites(e.cncc.citations) or '(no evidence submitted)'}; "
            f"CSO: {e.cso.status_label} {_cites(e.cso.citations) or '(no evidence submitted)'}"
        )
    out += ["", f"## {h['priorities']}", "", *_editable(report.priorities)]
    out += [f"## {h['sources']}", ""]
    for c in report.citations:
        parts = [esc(p) for p in (c.organisation, c.source_type_label) if p]
        parts.append(c.published_on.isoformat() if c.published_on else "undated")
        if c.document_reference:
            parts.append(esc(c.document_reference))
        line = f'<a id="source-{c.number}"></a>{c.number}. **{esc(c.title)}**. {", ".join(parts)}.'
        if c.url:
            line += f" <{c.url}>" if _PLAIN_URL.match(c.url) else f" {esc(c.url)}"
        if c.quote:
            line += f" “{esc(c.quote)}”"
        out += [line, ""]
    out += [f"## {h['annex_matrix']}", ""]
    out += _table(
        [h["paragraph"], h["recommendation"], h["recommending_states"], h["position"], h["themes"],
         h["cncc_status"], h["cso_status"], h["statuses_differ"], h["evidence_items"]],
        [[r.paragraph or r.recommendation_id, r.text, ", ".join(r.recommending_states), r.position,
          ", ".join(r.themes), r.cncc_status_label, r.cso_status_label, "yes" if r.disagreement else "",
          r.evidence_count] for r in report.matrix],
    )  # fmt: skip
    out += [f"## {h['annex_contributors']}", ""]
    out += _table(
        [h["organisation"], h["evidence_items"], h["assessments"], h["report_sections"]],
        [[c.organisation, c.evidence_items, c.assessments, c.report_sections] for c in report.contributors],
    )
    out.append("Organisations are listed; individuals are not named.")
    return "\n".join(out).rstrip() + "\n"
