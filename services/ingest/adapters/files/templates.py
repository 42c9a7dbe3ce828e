"""The project's own XLSX templates: recommendations and bulk evidence.

Each has a data sheet (header row, one example row, drop-down lists for the columns
with fixed values) and an "Instructions" sheet. The importers read them back
(formats ``template_xlsx`` and ``evidence_template_xlsx``); delete the example row
before filling in your own.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation

from contracts.events import EvidenceSourceType, Position, Visibility
from services.ingest.domain.columns import EVIDENCE_TEMPLATE, TEMPLATE, Layout

RECOMMENDATION_EXAMPLE: dict[str, object] = {
    "recommendation_id": "",
    "country": "KHM",
    "cycle": 1,
    "session": 6,
    "document_symbol": "A/HRC/13/4",
    "paragraph": "82.9",
    "text": "Reinforce relevant institutional capacity to maximize the implementation of its five-year plan "
    "2006-2012 for the elimination of the worst forms of child labour",
    "text_km": "",
    "recommending_states": "United States",
    "position": "Supported",
    "source_themes": "",
    "affected_persons": "children",
    "sdgs": "8.7",
    "action_category": "",
    "publication_date": "2010-01-04",
}

EVIDENCE_EXAMPLE: dict[str, object] = {
    "evidence_id": "",
    "recommendation_ids": "KHM-4-110.23",
    "source_type": "training",
    "title": "Law-enforcement officers trained on online child sexual exploitation",
    "url": "https://example.org/report",
    "document_reference": "",
    "published_on": "2024-06-30",
    "quote": "299 law-enforcement officers were trained",
    "organisation": "",
    "visibility": "coalition",
    "language": "en",
}

_HELP: dict[str, str] = {
    "recommendation_id": "optional; made from country-cycle-paragraph when empty",
    "country": "ISO3 code or name of the state under review, e.g. KHM",
    "cycle": "UPR cycle 1-4; may be empty when session is given",
    "session": "Working Group session number, e.g. 46",
    "paragraph": "paragraph number as text, e.g. 110.23 (82.10 is not 82.1)",
    "text": "the recommendation, required",
    "text_km": "Khmer text, optional",
    "recommending_states": "one or more states, separated by ';' or new lines",
    "position": "Supported or Noted",
    "source_themes": "optional, ';' separated",
    "sdgs": "optional SDG targets, ';' separated",
    "action_category": "optional 1-5, only if you assessed it yourselves",
    "publication_date": "YYYY-MM-DD",
    "recommendation_ids": "one or more ids, e.g. KHM-4-110.23; separated by ',' or ';'",
    "source_type": "one of the drop-down values",
    "title": "required",
    "url": "http(s) link, optional",
    "published_on": "YYYY-MM-DD",
    "quote": "verbatim quote from the source; never a child's identifying details",
    "visibility": "coalition or public",
    "language": "en or km",
}


def _write(
    path: Path,
    sheet_title: str,
    layout: Layout,
    example: dict[str, object],
    lists: dict[str, list[str]],
) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = sheet_title
    headers = [names[0] for names in layout.columns.values()]
    sheet.append(headers)
    sheet.append([example.get(h, "") for h in headers])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for i, header in enumerate(headers, start=1):
        letter = sheet.cell(row=1, column=i).column_letter
        sheet.column_dimensions[letter].width = 60 if header in ("text", "text_km", "quote", "title") else 18
        if header in ("paragraph", "recommendation_id", "recommendation_ids"):
            for row in range(2, 2001):
                sheet.cell(row=row, column=i).number_format = "@"
        if header in lists:
            validation = DataValidation(
                type="list",
                formula1='"' + ",".join(lists[header]) + '"',
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=f"Invalid {header}",
                error=f"Choose one of: {', '.join(lists[header])}",
            )
            validation.add(f"{letter}2:{letter}5000")
            sheet.add_data_validation(validation)
    sheet.freeze_panes = "A2"
    notes = workbook.create_sheet("Instructions")
    notes.append(["column", "what to write"])
    for header in headers:
        notes.append([header, _HELP.get(header, "")])
    notes.append([])
    notes.append(["", "Row 2 is an example: replace or delete it. Formulas are not imported."])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def write_recommendation_template(path: Path) -> Path:
    return _write(
        path,
        "Recommendations",
        TEMPLATE,
        RECOMMENDATION_EXAMPLE,
        {"position": [p.value for p in Position]},
    )


def write_evidence_template(path: Path) -> Path:
    return _write(
        path,
        "Evidence",
        EVIDENCE_TEMPLATE,
        EVIDENCE_EXAMPLE,
        {
            "source_type": [t.value for t in EvidenceSourceType],
            "visibility": [v.value for v in Visibility],
            "language": ["en", "km"],
        },
    )
