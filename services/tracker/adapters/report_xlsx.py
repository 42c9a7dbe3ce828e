"""The matrix of recommendations as an XLSX workbook (openpyxl).

Sheet "Matrix": one row per recommendation, autofilter on, header frozen. Sheet
"Statistics": the by-theme table. Text that a spreadsheet would run as a formula
(starting with = + - @, tab or carriage return) is written as text behind an apostrophe.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from services.tracker.domain.report import STATS_COLUMNS, MidTermReport
from services.tracker.domain.report_labels import LABELS

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

MATRIX_COLUMNS: list[tuple[str, int]] = [
    ("Recommendation ID", 16),
    ("Paragraph", 10),
    ("Document", 14),
    ("Text", 70),
    ("Text (Khmer)", 40),
    ("Recommending states", 24),
    ("Position", 11),
    ("Themes", 14),
    ("Theme names", 30),
    ("CSO status", 20),
    ("CNCC status", 20),
    ("Statuses differ", 9),
    ("Evidence items", 9),
]


def safe_cell_text(value: object) -> object:
    """Leave numbers and booleans alone; make text that looks like a formula inert."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _write_rows(sheet: Worksheet, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([safe_cell_text(v) for v in row])
    # openpyxl reads any str starting with "=" as a formula: force plain strings.
    for sheet_row in sheet.iter_rows(min_row=2):
        for cell in sheet_row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions


def export_xlsx(report: MidTermReport) -> bytes:
    workbook = Workbook()
    matrix = workbook.active
    assert matrix is not None
    matrix.title = "Matrix"
    _write_rows(
        matrix,
        [name for name, _ in MATRIX_COLUMNS],
        [
            [r.recommendation_id, r.paragraph or "", r.document_symbol or "", r.text, r.text_km or "",
             "; ".join(r.recommending_states), r.position, "; ".join(r.themes), "; ".join(r.theme_labels),
             r.cso_status_label, r.cncc_status_label, "yes" if r.disagreement else "no", r.evidence_count]
            for r in report.matrix
        ],
    )  # fmt: skip
    for index, (_, width) in enumerate(MATRIX_COLUMNS, start=1):
        matrix.column_dimensions[get_column_letter(index)].width = width
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in matrix.iter_rows(min_row=2, min_col=4, max_col=5):
        for cell in row:
            cell.alignment = wrap

    stats = workbook.create_sheet("Statistics")
    _write_rows(
        stats,
        [LABELS[key][0] for key in STATS_COLUMNS],
        [[r.label, *r.counts()] for r in (*report.statistics.by_theme, report.statistics.total)],
    )
    stats.column_dimensions["A"].width = 40
    workbook.properties.title = f"{report.title}: matrix"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
