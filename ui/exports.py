"""CSV and XLSX exports of a list of recommendations, safe to open in a spreadsheet.

A cell that starts with ``= + - @`` (or a tab/carriage return) would be run as a formula
by Excel or LibreOffice; such cells get a leading apostrophe (OWASP's advice).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from contracts.documents import RecommendationDoc
from contracts.events import Role

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

COLUMNS = [
    "recommendation_id", "cycle", "session", "document_symbol", "paragraph", "text", "text_km",
    "recommending_states", "position", "themes", "cncc_status", "cso_status", "disagreement", "evidence_count",
]


def neutralise(value: Any) -> Any:
    """The value as a spreadsheet shows it, never as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def rows(recommendations: Iterable[RecommendationDoc], role: Role = Role.VIEWER) -> list[list[Any]]:
    """Spreadsheet rows; ``evidence_count`` counts only the evidence ``role`` may see."""
    from ui.read_model import evidence_count

    out = []
    for r in recommendations:
        record = {
            "recommendation_id": r.recommendation_id, "cycle": r.cycle, "session": r.session,
            "document_symbol": r.document_symbol, "paragraph": r.paragraph, "text": r.text,
            "text_km": r.text_km or "", "recommending_states": "; ".join(s.name for s in r.recommending_states),
            "position": r.position.value, "themes": ", ".join(r.themes),
            "cncc_status": r.cncc_status.value if r.cncc_status else "",
            "cso_status": r.cso_status.value if r.cso_status else "",
            "disagreement": "yes" if r.disagreement else "", "evidence_count": evidence_count(r, role),
        }
        out.append([neutralise(record[c]) for c in COLUMNS])
    return out


def to_csv(recommendations: Sequence[RecommendationDoc], role: Role = Role.VIEWER) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerows(rows(recommendations, role))
    # UTF-8 with BOM so Excel shows Khmer correctly.
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(recommendations: Sequence[RecommendationDoc], role: Role = Role.VIEWER) -> bytes:
    # Imported here: openpyxl costs ~0.3 s, paid on the first export, not on the first
    # visit of every page that offers one.
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("recommendations")
    sheet.append(COLUMNS)
    for row in rows(recommendations, role):
        sheet.append(["" if v is None else v for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
