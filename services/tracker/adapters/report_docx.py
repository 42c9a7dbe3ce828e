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

import functools
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.text import WD_BREAK
from docx.oxml.ns import qn
from docx.oxml.parser import oxml_parser
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


@functools.cache
def _clark(tag: str) -> str:
    return str(qn(tag))


def OxmlElement(tag: str) -> Any:
    """A new WordprocessingML element of python-docx's class for ``tag`` (e.g. "w:p"),
    made directly rather than by parsing XML text as python-docx's OxmlElement does."""
    return oxml_parser.makeelement(_clark(tag))


def _run(
    paragraph: Paragraph,
    text: str,
    *,
    bold: bool = False,
    italic: bool = False,
    size_pt: float | None = None,
    highlight: bool = False,
    colour: str | None = None,
) -> None:
    """Append a run of text with direct formatting (much faster than Paragraph.add_run)."""
    run = OxmlElement("w:r")
    if bold or italic or size_pt or highlight or colour:
        rpr = OxmlElement("w:rPr")
        if bold:
            rpr.append(OxmlElement("w:b"))
        if italic:
            rpr.append(OxmlElement("w:i"))
        if colour:
            element = OxmlElement("w:color")
            element.set(qn("w:val"), colour)
            rpr.append(element)
        if size_pt:
            for tag in ("w:sz", "w:szCs"):
                element = OxmlElement(tag)
                element.set(qn("w:val"), str(round(size_pt * 2)))
                rpr.append(element)
        if highlight:
            element = OxmlElement("w:highlight")
            element.set(qn("w:val"), "yellow")
            rpr.append(element)
        run.append(rpr)
    text_element = OxmlElement("w:t")
    text_element.set(qn("xml:space"), "preserve")
    text_element.text = text
    run.append(text_element)
    paragraph._p.append(run)


class _Body:
    """Appends to a python-docx Document in constant time per paragraph.

    python-docx looks a style up by name through every style, and finds the body's final
    section properties by scanning all body children, on each ``add_paragraph``: quadratic
    for a report of thousands of paragraphs. This keeps the style ids and the section
    element at hand and inserts paragraphs directly before it.
    """

    def __init__(self, document: DocxDocument) -> None:
        self.document = document
        self.styles = document.styles
        self._style_ids: dict[str, str] = {}
        self._sect_pr = document.element.body.sectPr

    def _style_id(self, name: str) -> str:
        if name not in self._style_ids:
            self._style_ids[name] = self.styles[name].style_id
        return self._style_ids[name]

    def add_paragraph(self, text: str = "", style: str | None = None) -> Paragraph:
        p = OxmlElement("w:p")
        if style is not None:
            p_pr = OxmlElement("w:pPr")
            p_style = OxmlElement("w:pStyle")
            p_style.set(qn("w:val"), self._style_id(style))
            p_pr.append(p_style)
            p.append(p_pr)
        if self._sect_pr is not None:
            self._sect_pr.addprevious(p)
        else:
            self.document.element.body.append(p)
        paragraph = Paragraph(p, self.document._body)
        if text:
            _run(paragraph, text)
        return paragraph

    def add_heading(self, text: str, level: int) -> Paragraph:
        return self.add_paragraph(text, "Title" if level == 0 else f"Heading {level}")

    def add_table(self, rows: int, cols: int) -> Table:
        table: Table = self.document.add_table(rows=rows, cols=cols)
        return table

    def add_picture(self, image: io.BytesIO, width: Inches) -> None:
        self.add_paragraph().add_run().add_picture(image, width=width)

    def add_page_break(self) -> None:
        self.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    def add_section(self) -> None:
        section = self.document.add_section(WD_SECTION.NEW_PAGE)
        section.orientation = WD_ORIENT.LANDSCAPE
        width, height = section.page_width, section.page_height
        if width is not None and height is not None and width < height:
            section.page_width, section.page_height = height, width
        self._sect_pr = self.document.element.body.sectPr


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


def _add_toc(document: _Body, title: str, entries: Sequence[tuple[int, str]]) -> None:
    """A TOC field. Its shown (cached) result lists the headings without page numbers until
    the field is updated: Word asks on opening (``updateFields``), LibreOffice on Tools >
    Update > Indexes."""
    paragraph = document.add_paragraph()
    _run(paragraph, title, bold=True, size_pt=14)
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
        (1, h[key]) for key in ("noted_revisited", "priorities", "sources", "annex_matrix", "annex_contributors")
    ]
    return entries  # fmt: skip


HYPERLINK_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"


def _external_rel(paragraph: Paragraph, url: str) -> str:
    """The relationship id of a web address, one per distinct URL. python-docx's relate_to
    compares against every existing relationship (quadratic for thousands of sources)."""
    part = paragraph.part
    cache: dict[str, str] = part.__dict__.setdefault("_upr_url_rels", {})
    if url not in cache:
        rel_id = f"rIdUprUrl{len(cache) + 1}"
        part.rels.add_relationship(HYPERLINK_REL, url, rel_id, is_external=True)
        cache[url] = rel_id
    return cache[url]


def _link(paragraph: Paragraph, text: str, *, anchor: str | None = None, url: str | None = None) -> None:
    """A clickable run: to a bookmark in the document (``anchor``) or to a web address."""
    hyperlink = OxmlElement("w:hyperlink")
    if anchor is not None:
        hyperlink.set(qn("w:anchor"), anchor)
    elif url is not None:
        hyperlink.set(qn("r:id"), _external_rel(paragraph, url))
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
    document: _Body,
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
        _run(cell.paragraphs[0], value, bold=True, size_pt=font_pt)
    # Mark the header row to repeat on each page.
    tr_pr = table.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    tr_pr.append(repeat)
    # Body rows built directly (python-docx's add_row and cell.width are slow on big tables).
    tbl = table._tbl
    twips = [str(int(w.twips)) for w in column_widths] if column_widths else None
    for values in rows:
        tr = OxmlElement("w:tr")
        for i, value in enumerate(values):
            tc = OxmlElement("w:tc")
            if twips:
                tc_pr = OxmlElement("w:tcPr")
                tc_w = OxmlElement("w:tcW")
                tc_w.set(qn("w:w"), twips[i])
                tc_w.set(qn("w:type"), "dxa")
                tc_pr.append(tc_w)
                tc.append(tc_pr)
            p = OxmlElement("w:p")
            tc.append(p)
            _run(Paragraph(p, table), value, size_pt=font_pt)
            tr.append(tc)
        tbl.append(tr)
    return table


def _editable(document: _Body, texts: Sequence[EditableText]) -> None:
    for text in texts:
        for block in text.text.split("\n\n"):
            paragraph = document.add_paragraph()
            _run(paragraph, block.strip(), italic=text.is_placeholder)


def _label(paragraph: Paragraph, label: str) -> None:
    _run(paragraph, f"{label}: ", bold=True)


def _status(document: _Body, label: str, statement: StatusStatement, differ: bool) -> None:
    paragraph = document.add_paragraph()
    _label(paragraph, label)
    _run(paragraph, statement.status_label, bold=differ, highlight=differ)
    if statement.assessed_on is not None:
        _run(paragraph, f" (assessed {statement.assessed_on.isoformat()})")
    if statement.citations:
        if statement.citations_from_recommendation:
            _run(paragraph, "; the assessment cites no evidence; evidence on this recommendation: ")
        else:
            _run(paragraph, " ")
        _cite(paragraph, statement.citations)
    else:
        _run(paragraph, "; no evidence submitted")
    if statement.rationale:
        _run(paragraph, f". {statement.rationale}", italic=True)


def _entry(document: _Body, report: MidTermReport, entry: RecommendationEntry) -> None:
    h = report.headings
    document.add_heading(entry.label, level=3)
    ref = document.add_paragraph()
    _label(ref, h["paragraph"])
    _run(ref, f"{entry.reference} · {entry.recommendation_id}")
    text = document.add_paragraph(style="Quote")
    _run(text, entry.text)
    if entry.text_km:
        khmer = document.add_paragraph()
        _label(khmer, h["text_km"])
        _run(khmer, entry.text_km)
    states = document.add_paragraph()
    _label(states, h["recommending_states"])
    _run(states, ", ".join(entry.recommending_states) or "not recorded")
    position = document.add_paragraph()
    _label(position, h["position"])
    _run(position, entry.position_label)
    if len(entry.themes) > 1:
        _run(position, " · ")
        _label(position, h["themes"])
        _run(position, ", ".join(entry.themes))
    _status(document, h["cncc_status"], entry.cncc, entry.statuses_differ)
    _status(document, h["cso_status"], entry.cso, entry.statuses_differ)
    if entry.statuses_differ:
        warning = document.add_paragraph()
        text_differ = f"{h['statuses_differ']}: CNCC and the CSO coalition assess this differently."
        _run(warning, text_differ, bold=True, colour="C00000")
    measures = document.add_paragraph()
    _label(measures, h["measures_taken"])
    if not entry.measures:
        _run(measures, "no evidence submitted.")
    for number in entry.measures:
        citation = report.citation(number)
        bullet = document.add_paragraph(style="List Bullet")
        _run(bullet, citation.title)
        details = [citation.source_type_label]
        if citation.organisation:
            details.append(citation.organisation)
        if citation.published_on:
            details.append(citation.published_on.isoformat())
        _run(bullet, f" ({', '.join(details)})")
        if citation.quote:
            _run(bullet, f": “{citation.quote}”", italic=True)
        _run(bullet, " ")
        _cite(bullet, [number])


def _source(document: _Body, citation: Citation) -> None:
    paragraph = document.add_paragraph()
    _bookmark(paragraph, source_anchor(citation.number), 1000 + citation.number)
    _run(paragraph, f"[{citation.number}] ", bold=True)
    _run(paragraph, citation.title, bold=True)
    parts = [p for p in (citation.organisation, citation.source_type_label) if p]
    parts.append(citation.published_on.isoformat() if citation.published_on else "undated")
    if citation.document_reference:
        parts.append(citation.document_reference)
    _run(paragraph, ". " + ", ".join(parts) + ".")
    if citation.url:
        _run(paragraph, " ")
        _link(paragraph, citation.url, url=citation.url)
    if citation.quote:
        _run(paragraph, f" “{citation.quote}”", italic=True)


# --- the document ----------------------------------------------------------------------


def _title_page(document: _Body, report: MidTermReport) -> None:
    document.add_heading(report.title, level=0)
    document.add_paragraph(report.subtitle, style="Subtitle")
    _add_toc(document, report.headings["contents"], toc_entries(report))
    document.add_page_break()


def _executive_summary(document: _Body, report: MidTermReport) -> None:
    h = report.headings
    document.add_heading(h["executive_summary"], level=1)
    document.add_heading(h["key_figures"], level=2)
    for figure in report.executive_summary.figures:
        document.add_paragraph(figure, style="List Bullet")
    _editable(document, report.executive_summary.texts)


def _method(document: _Body, report: MidTermReport) -> None:
    document.add_heading(report.headings["method"], level=1)
    for paragraph in report.method:
        document.add_paragraph(paragraph)


def _chart(document: _Body, charts: Mapping[str, bytes], key: str, caption: str) -> None:
    if key in charts:
        document.add_paragraph()
        document.add_picture(io.BytesIO(charts[key]), width=Inches(6.2))
        document.add_paragraph(caption, style="Caption")


def _statistics(document: _Body, report: MidTermReport, charts: Mapping[str, bytes]) -> None:
    h, stats = report.headings, report.statistics
    document.add_heading(h["statistics"], level=1)
    document.add_heading(h["statistics_by_theme"], level=2)
    theme_header = [h[key] for key in STATS_COLUMNS]
    theme_rows = [[r.label, *(str(n) for n in r.counts())] for r in (*stats.by_theme, stats.total)]
    _table(document, theme_header, theme_rows, widths=[1.9] + [0.58] * 8, font_pt=8)
    _chart(document, charts, "by_theme", h["chart_by_theme"])
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
    _chart(document, charts, "status", h["chart_status"])


def _chapters(document: _Body, report: MidTermReport) -> None:
    h = report.headings
    document.add_heading(h["chapters"], level=1)
    for chapter in report.chapters:
        document.add_heading(chapter.heading, level=2)
        for entry in chapter.entries:
            _entry(document, report, entry)
        if chapter.cross_references:
            document.add_heading(h["also_in_theme"], level=3)
            for entry in chapter.cross_references:
                item = document.add_paragraph(style="List Bullet")
                _run(item, f"{entry.label}: ", bold=True)
                _run(item, f"{entry.text[:MATRIX_TEXT_CHARS]}{'…' if len(entry.text) > MATRIX_TEXT_CHARS else ''}")
                _run(item, f" (see {entry.chapter_id}; CNCC: {entry.cncc.status_label}; CSO: {entry.cso.status_label})")
        if chapter.chapter_id != "other":
            document.add_heading(h["gaps"], level=3)
            _editable(document, chapter.gaps)
            document.add_heading(h["asks"], level=3)
            _editable(document, chapter.asks)


def _cite_or_none(paragraph: Paragraph, numbers: list[int]) -> None:
    if numbers:
        _cite(paragraph, numbers)
    else:
        _run(paragraph, "(no evidence submitted)")


def _noted_revisited(document: _Body, report: MidTermReport) -> None:
    document.add_heading(report.headings["noted_revisited"], level=1)
    if not report.noted_revisited:
        document.add_paragraph("No recommendation covered by this report was noted; all were supported.")
    for entry in report.noted_revisited:
        item = document.add_paragraph(style="List Bullet")
        _run(item, f"{entry.reference}: ", bold=True)
        _run(item, entry.text)
        _run(item, f" (full entry under {entry.chapter_id}). CNCC: {entry.cncc.status_label}")
        _run(item, " ")
        _cite_or_none(item, entry.cncc.citations)
        _run(item, f"; CSO: {entry.cso.status_label} ")
        _cite_or_none(item, entry.cso.citations)


def _priorities(document: _Body, report: MidTermReport) -> None:
    document.add_heading(report.headings["priorities"], level=1)
    _editable(document, report.priorities)


def _sources(document: _Body, report: MidTermReport) -> None:
    document.add_heading(report.headings["sources"], level=1)
    if not report.citations:
        document.add_paragraph("No evidence is cited in this report.")
    for citation in report.citations:
        _source(document, citation)


def _annex_matrix(document: _Body, report: MidTermReport) -> None:
    h = report.headings
    document.add_section()
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


def _annex_contributors(document: _Body, report: MidTermReport) -> None:
    h = report.headings
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


def build_docx(
    report: MidTermReport, *, charts: Mapping[str, bytes] | None = None, include_charts: bool = True
) -> DocxDocument:
    """The report as a python-docx Document (not yet saved), one function per section."""
    if charts is None:
        charts = render_charts(report) if include_charts else {}
    docx = Document()
    _configure_styles(docx)
    _ask_to_update_fields(docx)
    properties = docx.core_properties
    properties.title = report.title
    properties.subject = report.subtitle
    properties.comments = FONT_NOTE
    properties.author = "UPR Tracker"
    document = _Body(docx)
    _title_page(document, report)
    _executive_summary(document, report)
    _method(document, report)
    _statistics(document, report, charts)
    _chapters(document, report)
    _noted_revisited(document, report)
    _priorities(document, report)
    _sources(document, report)
    _annex_matrix(document, report)
    _annex_contributors(document, report)
    return docx


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
