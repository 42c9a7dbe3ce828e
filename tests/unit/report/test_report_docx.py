"""The DOCX a reviewer downloads: sections, citations, tables, charts, Khmer."""

from __future__ import annotations

import io
import zipfile

from docx.oxml.ns import qn

from services.tracker.adapters.report_docx import KHMER_FONT, TOC_INSTRUCTION, source_anchor
from tests.unit.report.sample import BIRTH_KM, BIRTH_REC, GAPS_T05_KM, LONE_MEMBER, SECRET_TITLES


def _headings(docx, level: int) -> list[str]:
    return [p.text for p in docx.paragraphs if p.style.name == f"Heading {level}"]


def _document_xml(docx_bytes: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(docx_bytes)) as archive:
        return archive.read("word/document.xml").decode("utf-8")


def test_every_section_of_the_template_is_a_real_heading(docx, report):
    level1 = _headings(docx, 1)
    for key in ("executive_summary", "method", "statistics", "chapters", "noted_revisited", "priorities",
                "sources", "annex_matrix", "annex_contributors"):  # fmt: skip
        assert report.headings[key] in level1
    level2 = _headings(docx, 2)
    assert report.headings["statistics_by_theme"] in level2
    assert report.headings["position_and_status"] in level2
    assert [c.heading for c in report.chapters] == [h for h in level2 if h.startswith(("T", "Other"))]


def test_table_of_contents_is_a_field_word_and_libreoffice_update(docx_bytes):
    xml = _document_xml(docx_bytes)
    assert "<w:fldSimple" in xml and TOC_INSTRUCTION.replace('"', "&quot;") in xml
    with zipfile.ZipFile(io.BytesIO(docx_bytes)) as archive:
        assert 'w:updateFields w:val="true"' in archive.read("word/settings.xml").decode()


def test_known_recommendation_cites_its_evidence_under_the_right_theme(docx, report):
    entry = report.entry(BIRTH_REC)
    paragraphs = docx.paragraphs
    t05 = next(i for i, p in enumerate(paragraphs) if p.style.name == "Heading 2" and p.text.startswith("T05"))
    end = next(i for i, p in enumerate(paragraphs) if i > t05 and p.style.name in ("Heading 1", "Heading 2"))
    chapter = paragraphs[t05:end]
    assert any(p.style.name == "Heading 3" and p.text.startswith("82.84") for p in chapter)
    text = "\n".join(p.text for p in chapter)
    number = entry.cncc.citations[0]
    assert f"Fully implemented (assessed 2025-03-01) [{number}]" in text
    assert "Sub-decree on civil registration" in text
    # "[n]" links to the bookmark on entry n of the Sources list.
    anchors = [h.get(qn("w:anchor")) for p in chapter for h in p._p.findall(qn("w:hyperlink"))]
    assert source_anchor(number) in anchors
    sources = next(i for i, p in enumerate(paragraphs) if p.text == report.headings["sources"])
    entry_paragraph = next(p for p in paragraphs[sources:] if p.text.startswith(f"[{number}] "))
    assert "Sub-decree on civil registration" in entry_paragraph.text
    assert "Ministry of Interior" in entry_paragraph.text and "2019-05-10" in entry_paragraph.text
    assert "Law or decree" in entry_paragraph.text
    names = [b.get(qn("w:name")) for b in entry_paragraph._p.findall(qn("w:bookmarkStart"))]
    assert names == [source_anchor(number)]


def test_differing_statuses_are_highlighted(docx):
    paragraphs = docx.paragraphs
    start = next(i for i, p in enumerate(paragraphs) if p.text.startswith("82.84"))
    status_runs = [r for p in paragraphs[start : start + 10] for r in p.runs if r.text == "Fully implemented"]
    assert status_runs and status_runs[0].font.highlight_color is not None
    assert any("Statuses differ" in p.text for p in paragraphs[start : start + 10])


def test_statistics_table_numbers_equal_the_counts(docx, report):
    table = docx.tables[0]
    rows = [[c.text for c in row.cells] for row in table.rows]
    assert rows[0][0] == report.headings["theme"]
    by_label = {row[0]: row[1:] for row in rows[1:]}
    for stats in (*report.statistics.by_theme, report.statistics.total):
        assert by_label[stats.label] == [str(n) for n in stats.counts()]
    assert by_label[report.statistics.total.label][0] == "33"


def test_matrix_annex_has_one_row_per_recommendation(docx, report):
    matrix = next(t for t in docx.tables if len(t.rows) == len(report.matrix) + 1 and len(t.columns) == 9)
    assert {r.cells[0].text for r in list(matrix.rows)[1:]} >= {"82.84", "82.9"}


def test_charts_are_embedded_as_images(docx):
    assert len(docx.inline_shapes) == 2


def test_khmer_text_survives_in_the_document_xml(docx_bytes):
    xml = _document_xml(docx_bytes)
    assert BIRTH_KM in xml
    assert GAPS_T05_KM in xml
    assert "សេចក្តីសង្ខេបប្រតិបត្តិ" in xml  # bilingual heading


def test_styles_name_a_khmer_capable_complex_script_font(docx):
    for name in ("Normal", "Heading 1", "Heading 3", "Title"):
        fonts = docx.styles[name].element.rPr.find(qn("w:rFonts"))
        assert fonts.get(qn("w:cs")) == KHMER_FONT


def test_withheld_evidence_and_individuals_never_appear_in_the_file(docx_bytes):
    with zipfile.ZipFile(io.BytesIO(docx_bytes)) as archive:
        everything = "".join(archive.read(n).decode("utf-8", "ignore") for n in archive.namelist())
    for title in SECRET_TITLES.values():
        assert title not in everything
    for username in ("sokha.chan", "vanna.reviewer", LONE_MEMBER.username):
        assert username not in everything


def test_annex_b_lists_organisations_only(docx, report):
    table = docx.tables[-1]
    assert table.rows[0].cells[0].text == report.headings["organisation"]
    assert [r.cells[0].text for r in list(table.rows)[1:]] == ["Child Rights Coalition Cambodia", "CNCC"]
