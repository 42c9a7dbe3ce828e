"""The Markdown report and the XLSX matrix."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from services.tracker.adapters.report_markdown import export_markdown
from services.tracker.adapters.report_xlsx import export_xlsx
from services.tracker.domain.report import assemble_report
from tests.unit.report.sample import AS_OF, BIRTH_KM, BIRTH_REC, SECRET_TITLES, THEME_LABELS


def test_markdown_has_every_section_citations_and_khmer(report):
    md = export_markdown(report)
    for key in ("executive_summary", "method", "statistics", "noted_revisited", "priorities", "sources",
                "annex_matrix", "annex_contributors"):  # fmt: skip
        assert f"## {report.headings[key]}\n" in md
    number = report.entry(BIRTH_REC).cncc.citations[0]
    assert f"[\\[{number}\\]](#source-{number})" in md
    assert f'<a id="source-{number}"></a>{number}. **Sub-decree on civil registration' in md
    assert BIRTH_KM in md
    for title in SECRET_TITLES.values():
        assert title not in md


def test_markdown_tables_escape_pipes(recs, evidence, drafts):
    piped = [r.model_copy(update={"text": "Ratify | and implement"}) if r.recommendation_id == BIRTH_REC else r
             for r in recs]  # fmt: skip
    md = export_markdown(assemble_report(piped, evidence, drafts, country="KHM", cycle=1, as_of=AS_OF,
        theme_labels=THEME_LABELS))
    assert "Ratify \\| and implement" in md


def _workbook(report):
    return load_workbook(io.BytesIO(export_xlsx(report)))


def test_xlsx_matrix_has_one_filtered_row_per_recommendation(report):
    sheet = _workbook(report)["Matrix"]
    assert sheet.max_row == len(report.matrix) + 1 == 34
    assert sheet.auto_filter.ref == f"A1:M{sheet.max_row}"
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["Recommendation ID", "Paragraph", "Document"]
    row = next(r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0] == BIRTH_REC)
    record = dict(zip(header, row, strict=True))
    assert record["Text (Khmer)"] == BIRTH_KM
    assert record["CNCC status"] == "Fully implemented" and record["CSO status"] == "Partially implemented"
    assert record["Statuses differ"] == "yes" and record["Evidence items"] == 2
    assert record["Themes"] == "T05; T19"


def test_xlsx_text_that_looks_like_a_formula_stays_text(recs, evidence, drafts):
    hostile = {"KHM-1-82.9": '=HYPERLINK("http://evil","click")', "KHM-1-82.12": "+1+1", "KHM-1-82.15": "@SUM(A1)"}
    changed = [r.model_copy(update={"text": hostile.get(r.recommendation_id, r.text)}) for r in recs]
    sheet = _workbook(assemble_report(changed, evidence, drafts, country="KHM", cycle=1, as_of=AS_OF,
        theme_labels=THEME_LABELS))["Matrix"]
    cells = {row[0].value: row[3] for row in sheet.iter_rows(min_row=2)}
    for rec_id, text in hostile.items():
        assert cells[rec_id].value == "'" + text
        assert cells[rec_id].data_type == "s"


def test_xlsx_statistics_sheet_matches_the_report(report):
    sheet = _workbook(report)["Statistics"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert rows[-1][1] == report.statistics.total.recommendations == 33
