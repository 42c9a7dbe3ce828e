"""The mid-term report as a Word document (python-docx).

Real Heading 1-3 styles, a table-of-contents field that Word and LibreOffice update,
tables, chart images, and endnote-style citations: "[3]" in the text links to entry 3
of the "Sources" list, where title, date, type of source, organisation, reference, URL
and the verbatim quote are given.

Khmer: every style names a complex-script font, "Khmer OS" (``w:cs``), and the Khmer
language for complex scripts, so Khmer runs render in Word and LibreOffice. Where Khmer OS
is not installed the application substitutes a Khmer-capable font if it has one
(Windows: "Khmer UI"/"DaunPenh"; Linux: "Noto Sans Khmer"); the document's comments
property says so.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.text import WD_COLOR_INDEX
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Pt, RGBColor
from docx.table import Table
from docx.text.paragraph import Paragraph

from services.tracker.adapters.report_charts import render_charts
from services.tracker.domain.report import (
    STATS_COLUMNS,
    Citation,
    EditableText,
    MidTermReport,
    RecommendationEntry,
    StatusStatement,
)

KHMER_FONT = "Khmer OS"
FONT_NOTE = (
    f"Khmer text uses the complex-script font '{KHMER_FONT}'. If it is not installed, install Khmer OS "
    "or Noto Sans Khmer; Word and LibreOffice then substitute a Khmer-capable font."
)
TOC_INSTRUCTION = 'TOC \\o "1-3" \\h \\z \\u'
MATRIX_TEXT_CHARS = 160
LINK_COLOUR = RGBColor(0x1F, 0x4E, 0x9A)


# --- low-level helpers -----------------------------------------------------------------


def _set_complex_script_font(style_element: object) -> None:
    """Name Khmer OS as the complex-script font and Khmer as the complex-script language."""
    rpr = style_element.get_or_add_rPr()  # type: ignore[attr-defined]
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    fonts.set(qn("w:cs"), KHMER_FONT)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:bidi"), "km-KH")


def _configure_styles(document: DocxDocument) -> None:
    styles = document.styles
    normal = styles["Normal"]
    normal.font.size = Pt(10.5)
    for style in styles:
        element = style.element
        if element.get(qn("w:type")) in ("paragraph", "character", "table"):
            _set_complex_script_font(element)
    # Document defaults too, for runs outside any named style.
    rpr_default = document.styles.element.find(qn("w:docDefaults"))
    if rpr_default is not None:
        rpr = rpr_default.find(qn("w:rPrDefault"))
        if rpr is not None and rpr.find(qn("w:rPr")) is not None:
            inner = rpr.find(qn("w:rPr"))
            fonts = inner.find(qn("w:rFonts"))
            if fonts is None:
                fonts = OxmlElement("w:rFonts")
                inner.insert(0, fonts)
            fonts.set(qn("w:cs"), KHMER_FONT)


def _ask_to_update_fields(document: DocxDocument) -> None:
    settings = document.settings.element
    update = settings.find(qn("w:updateFields"))
    if update is None:
        update = OxmlElement("w:updateFields")
        settings.append(update)
    update.set(qn("w:val"), "true")


def _add_toc(document: DocxDocument, title: str, entries: Sequence[tuple[int, str]]) -> None:
    """A TOC field. Its shown (cached) result lists the headings without page numbers until
    the field is updated: Word asks on opening (``updateFields``), LibreOffice on Tools >
    Update > Indexes."""
    paragraph = document.add_paragraph()
    run = paragraph.add_run(title)
    run.bold = True
    run.font.size = Pt(14)
    field_paragraph = document.add_paragraph()
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), TOC_INSTRUCTION)
    for i, (level, text) in enumerate(entries):
        inner = OxmlElement("w:r")
        if i:
            inner.append(OxmlElement("w:br"))
        element = OxmlElement("w:t")
        element.set(qn("xml:space"), "preserve")
        element.text = "    " * (level - 1) + text
        inner.append(element)
        field.append(inner)
    field_paragraph._p.append(field)


def toc_entries(report: MidTermReport) -> list[tuple[int, str]]:
    """The level-1 and level-2 headings of the report, in order."""
    h = report.headings
    entries = [
        (1, h["executive_summary"]),
        (1, h["method"]),
        (1, h["statistics"]),
        (2, h["statistics_by_theme"]),
        (2, h["position_and_status"]),
        (1, h["chapters"]),
    ]
    entries += [(2, chapter.heading) for chapter in report.chapters]
    entries += [
        (1, h[key])
        for key in ("noted_revisited", "priorities", "sources", "annex_matrix", "annex_contributors")
    ]
    return entries  # fmt: skip


def _link(paragraph: Paragraph, text: str, *, anchor: str | None = None, url: str | None = None) -> None:
    """A clickable run: to a bookmark in the document (``anchor``) or to a web address."""
    hyperlink = OxmlElement("w:hyperlink")
    if anchor is not None:
        hyperlink.set(qn("w:anchor"), anchor)
    elif url is not None:
        rel_id = paragraph.part.relate_to(
            url,
            "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink",
            is_external=True,
        )
        hyperlink.set(qn("r:id"), rel_id)
    run = OxmlElement("w:r")
    rpr = OxmlElement("w:rPr")
    colour = OxmlElement("w:color")
    colour.set(qn("w:val"), str(LINK_COLOUR))
    rpr.append(colour)
    if url is not None:
        underline = OxmlElement("w:u")
        underline.set(qn("w:val"), "single")
        rpr.append(underline)
    run.append(rpr)
    text_element = OxmlElement("w:t")
    text_element.text = text
    text_element.set(qn("xml:space"), "preserve")
    run.append(text_element)
    hyperlink.append(run)
    paragraph._p.append(hyperlink)


def _bookmark(paragraph: Paragraph, name: str, bookmark_id: int) -> None:
    start = OxmlElement("w:bookmarkStart")
    start.set(qn("w:id"), str(bookmark_id))
    start.set(qn("w:name"), name)
    end = OxmlElement("w:bookmarkEnd")
    end.set(qn("w:id"), str(bookmark_id))
    paragraph._p.insert(0, start)
    paragraph._p.append(end)


def source_anchor(number: int) -> str:
    return f"source_{number}"


def _cite(paragraph: Paragraph, numbers: Sequence[int]) -> None:
    for number in numbers:
        _link(paragraph, f"[{number}]", anchor=source_anchor(number))


def _table(
    document: DocxDocument,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    widths: Sequence[float] | None = None,
    font_pt: float = 9,
) -> Table:
    """A grid table; ``widths`` in inches per column (Word reads the cells', LibreOffice the grid's)."""
    table: Table = document.add_table(rows=1, cols=len(header))
    table.style = document.styles["Table Grid"]
    table.autofit = False
    column_widths = [Inches(w) for w in widths] if widths else None
    if column_widths:
        for column, width in zip(table.columns, column_widths, strict=True):
            column.width = width
    for cell, value in zip(table.rows[0].cells, header, strict=True):
        cell.text = ""
        run = cell.paragraphs[0].add_run(value)
        run.bold = True
        run.font.size = Pt(font_pt)
    # Mark the header row to repeat on each page.
    tr_pr = table.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    tr_pr.append(repeat)
    for values in rows:
        cells = table.add_row().cells  # type: ignore[no-untyped-call]
        for i, (cell, value) in enumerate(zip(cells, values, strict=True)):
            run = cell.paragraphs[0].add_run(value)
            run.font.size = Pt(font_pt)
            if column_widths:
                cell.width = column_widths[i]
    return table


def _editable(document: DocxDocument, texts: Sequence[EditableText]) -> None:
    for text in texts:
        for block in text.text.split("\n\n"):
            paragraph = document.add_paragraph()
            run = paragraph.add_run(block.strip())
            run.italic = text.is_placeholder


def _label(paragraph: Paragraph, label: str) -> None:
    paragraph.add_run(f"{label}: ").bold = True


def _status(document: DocxDocument, label: str, statement: StatusStatement, differ: bool) -> None:
    paragraph = document.add_paragraph()
    _label(paragraph, label)
    status_run = paragraph.add_run(statement.status_label)
    if differ:
        status_run.bold = True
        status_run.font.highlight_color = WD_COLOR_INDEX.YELLOW
    if statement.assessed_on is not None:
        paragraph.add_run(f" (assessed {statement.assessed_on.isoformat()})")
    if statement.citations:
        if statement.citations_from_recommendation:
            paragraph.add_run("; the assessment cites no evidence; evidence on this recommendation: ")
        else:
            paragraph.add_run(" ")
        _cite(paragraph, statement.citations)
    else:
        paragraph.add_run("; no evidence submitted")
    if statement.rationale:
        paragraph.add_run(f". {statement.rationale}").italic = True


def _entry(document: DocxDocument, report: MidTermReport, entry: RecommendationEntry) -> None:
    h = report.headings
    document.add_heading(entry.label, level=3)
    ref = document.add_paragraph()
    _label(ref, h["paragraph"])
    ref.add_run(f"{entry.reference} · {entry.recommendation_id}")
    text = document.add_paragraph(style="Quote") if "Quote" in document.styles else document.add_paragraph()
    text.add_run(entry.text)
    if entry.text_km:
        khmer = document.add_paragraph()
        _label(khmer, h["text_km"])
        khmer.add_run(entry.text_km)
    states = document.add_paragraph()
    _label(states, h["recommending_states"])
    states.add_run(", ".join(entry.recommending_states) or "not recorded")
    position = document.add_paragraph()
    _label(position, h["position"])
    position.add_run(entry.position_label)
    if len(entry.themes) > 1:
        position.add_run(" · ")
        _label(position, h["themes"])
        position.add_run(", ".join(entry.themes))
    _status(document, h["cncc_status"], entry.cncc, entry.statuses_differ)
    _status(document, h["cso_status"], entry.cso, entry.statuses_differ)
    if entry.statuses_differ:
        warning = document.add_paragraph()
        run = warning.add_run(f"{h['statuses_differ']}: CNCC and the CSO coalition assess this differently.")
        run.bold = True
        run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)
    measures = document.add_paragraph()
    _label(measures, h["measures_taken"])
    if not entry.measures:
        measures.add_run("no evidence submitted.")
    for number in entry.measures:
        citation = report.citation(number)
        bullet = document.add_paragraph(style="List Bullet")
        bullet.add_run(citation.title)
        details = [citation.source_type_label]
        if citation.organisation:
            details.append(citation.organisation)
        if citation.published_on:
            details.append(citation.published_on.isoformat())
        bullet.add_run(f" ({', '.join(details)})")
        if citation.quote:
            bullet.add_run(f": “{citation.quote}”").italic = True
        bullet.add_run(" ")
        _cite(bullet, [number])


def _source(document: DocxDocument, citation: Citation) -> None:
    paragraph = document.add_paragraph()
    _bookmark(paragraph, source_anchor(citation.number), 1000 + citation.number)
    paragraph.add_run(f"[{citation.number}] ").bold = True
    paragraph.add_run(citation.title).bold = True
    parts = [p for p in (citation.organisation, citation.source_type_label) if p]
    parts.append(citation.published_on.isoformat() if citation.published_on else "undated")
    if citation.document_reference:
        parts.append(citation.document_reference)
    paragraph.add_run(". " + ", ".join(parts) + ".")
    if citation.url:
        paragraph.add_run(" ")
        _link(paragraph, citation.url, url=citation.url)
    if citation.quote:
        paragraph.add_run(f" “{citation.quote}”").italic = True


def _landscape_section(document: DocxDocument) -> None:
    section = document.add_section(WD_SECTION.NEW_PAGE)
    section.orientation = WD_ORIENT.LANDSCAPE
    width, height = section.page_width, section.page_height
    if width is not None and height is not None and width < height:
        section.page_width, section.page_height = height, width


# --- the document ----------------------------------------------------------------------


def build_docx(
    report: MidTermReport, *, charts: Mapping[str, bytes] | None = None, include_charts: bool = True
) -> DocxDocument:
    """The report as a python-docx Document (not yet saved)."""
    if charts is None:
        charts = render_charts(report) if include_charts else {}
    h = report.headings
    document = Document()
    _configure_styles(document)
    _ask_to_update_fields(document)
    properties = document.core_properties
    properties.title = report.title
    properties.subject = report.subtitle
    properties.comments = FONT_NOTE
    properties.author = "UPR Tracker"

    document.add_heading(report.title, level=0)
    document.add_paragraph(report.subtitle, style="Subtitle")
    _add_toc(document, h["contents"], toc_entries(report))
    document.add_page_break()  # type: ignore[no-untyped-call]

    document.add_heading(h["executive_summary"], level=1)
    document.add_heading(h["key_figures"], level=2)
    for figure in report.executive_summary.figures:
        document.add_paragraph(figure, style="List Bullet")
    _editable(document, report.executive_summary.texts)

    document.add_heading(h["method"], level=1)
    for paragraph in report.method:
        document.add_paragraph(paragraph)

    stats = report.statistics
    document.add_heading(h["statistics"], level=1)
    document.add_heading(h["statistics_by_theme"], level=2)
    theme_header = [h[key] for key in STATS_COLUMNS]
    theme_rows = [[r.label, *(str(n) for n in r.counts())] for r in (*stats.by_theme, stats.total)]
    _table(document, theme_header, theme_rows, widths=[1.9] + [0.58] * 8, font_pt=8)
    if "by_theme" in charts:
        document.add_paragraph()
        document.add_picture(io.BytesIO(charts["by_theme"]), width=Inches(6.2))
        document.add_paragraph(h["chart_by_theme"], style="Caption")
    document.add_heading(h["position_and_status"], level=2)
    _table(
        document,
        [h["position"], h["recommendations"], h["with_evidence"], h["cncc_assessed"], h["cso_assessed"],
         h["statuses_differ"]],
        [[r.label, str(r.recommendations), str(r.with_evidence), str(r.cncc_assessed), str(r.cso_assessed),
          str(r.statuses_differ)] for r in stats.by_position],
        widths=[1.4] + [0.95] * 5,
    )  # fmt: skip
    document.add_paragraph()
    _table(
        document,
        [h["status"], h["cncc_status"], h["cso_status"]],
        [[r.label, str(r.cncc), str(r.cso)] for r in stats.by_status],
        widths=[2.6, 1.6, 1.6],
    )
    if "status" in charts:
        document.add_paragraph()
        document.add_picture(io.BytesIO(charts["status"]), width=Inches(6.2))
        document.add_paragraph(h["chart_status"], style="Caption")

    document.add_heading(h["chapters"], level=1)
    for chapter in report.chapters:
        document.add_heading(chapter.heading, level=2)
        for entry in chapter.entries:
            _entry(document, report, entry)
        if chapter.cross_references:
            document.add_heading(h["also_in_theme"], level=3)
            for entry in chapter.cross_references:
                item = document.add_paragraph(style="List Bullet")
                item.add_run(f"{entry.label}: ").bold = True
                item.add_run(
                    f"{entry.text[:MATRIX_TEXT_CHARS]}{'…' if len(entry.text) > MATRIX_TEXT_CHARS else ''}"
                )
                item.add_run(
                    f" (see {entry.chapter_id}; CNCC: {entry.cncc.status_label}; "
                    f"CSO: {entry.cso.status_label})"
                )
        if chapter.chapter_id != "other":
            document.add_heading(h["gaps"], level=3)
            _editable(document, chapter.gaps)
            document.add_heading(h["asks"], level=3)
            _editable(document, chapter.asks)

    document.add_heading(h["noted_revisited"], level=1)
    if not report.noted_revisited:
        document.add_paragraph("No recommendation covered by this report was noted; all were supported.")
    for entry in report.noted_revisited:
        item = document.add_paragraph(style="List Bullet")
        item.add_run(f"{entry.reference}: ").bold = True
        item.add_run(entry.text)
        item.add_run(f" (full entry under {entry.chapter_id}). CNCC: {entry.cncc.status_label}")
        item.add_run(" ")
        if entry.cncc.citations:
            _cite(item, entry.cncc.citations)
        else:
            item.add_run("(no evidence submitted)")
        item.add_run(f"; CSO: {entry.cso.status_label} ")
        if entry.cso.citations:
            _cite(item, entry.cso.citations)
        else:
            item.add_run("(no evidence submitted)")

    document.add_heading(h["priorities"], level=1)
    _editable(document, report.priorities)

    document.add_heading(h["sources"], level=1)
    if not report.citations:
        document.add_paragraph("No evidence is cited in this report.")
    for citation in report.citations:
        _source(document, citation)

    _landscape_section(document)
    document.add_heading(h["annex_matrix"], level=1)
    _table(
        document,
        [h["paragraph"], h["recommendation"], h["recommending_states"], h["position"], h["themes"],
         h["cncc_status"], h["cso_status"], h["statuses_differ"], h["evidence_items"]],
        [[row.paragraph or row.recommendation_id,
          row.text[:MATRIX_TEXT_CHARS] + ("…" if len(row.text) > MATRIX_TEXT_CHARS else ""),
          ", ".join(row.recommending_states), row.position, ", ".join(row.themes),
          row.cncc_status_label, row.cso_status_label, "yes" if row.disagreement else "",
          str(row.evidence_count)] for row in report.matrix],
        widths=[0.65, 3.2, 1.0, 0.7, 0.8, 0.95, 0.95, 0.55, 0.6],
        font_pt=7.5,
    )  # fmt: skip

    document.add_heading(h["annex_contributors"], level=1)
    if report.contributors:
        _table(
            document,
            [h["organisation"], h["evidence_items"], h["assessments"], h["report_sections"]],
            [[c.organisation, str(c.evidence_items), str(c.assessments), str(c.report_sections)]
             for c in report.contributors],
            widths=[3.0, 1.2, 1.2, 1.6],
        )  # fmt: skip
    document.add_paragraph(
        "Organisations are listed; individuals are not named. "
        f"{report.individual_contributors} contributor(s) without an organisation took part."
        if report.individual_contributors
        else "Organisations are listed; individuals are not named."
    )
    return document


def export_docx(
    report: MidTermReport, *, charts: Mapping[str, bytes] | None = None, include_charts: bool = True
) -> bytes:
    """The report as DOCX bytes (for a download button or an HTTP response)."""
    buffer = io.BytesIO()
    build_docx(report, charts=charts, include_charts=include_charts).save(buffer)
    return buffer.getvalue()


def write_docx(report: MidTermReport, path: Path, **options: bool) -> Path:
    path.write_bytes(export_docx(report, include_charts=options.get("include_charts", True)))
    return path
