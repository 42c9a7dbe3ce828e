"""Stream the data rows of a file as :class:`Record` objects, one at a time.

CSV: the csv module row by row over a decoded text stream. XLSX: openpyxl in
``read_only`` mode (rows streamed from the zip). DOCX (OHCHR matrix): python-docx,
the table rows one by one (a DOCX matrix is small; python-docx loads the XML).
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from services.ingest.adapters.files import encoding
from services.ingest.domain import columns
from services.ingest.domain.columns import Layout
from services.ingest.domain.model import FileProblem, RowError
from services.ingest.domain.records import Cell, Record

# A single CSV field may hold a long recommendation, never megabytes.
csv.field_size_limit(min(sys.maxsize, 10 * 1024 * 1024))

Item = Record | RowError


def _header_problems(colmap: columns.ColumnMap, missing: list[str], headers: list[object]) -> Iterator[RowError]:
    if missing:
        names = ", ".join(repr(m) for m in missing)
        found = [str(h).replace("\ufeff", "").strip() for h in headers if h is not None and str(h).strip()]
        shown = ", ".join(repr(h[:40]) for h in found[:20]) + (", ..." if len(found) > 20 else "")
        plural = "s" if len(missing) > 1 else ""
        message = f"required column{plural} missing: {names} (the file's columns: {shown or 'none'})"
        raise FileProblem(message, missing[0])
    for _, name in colmap.ignored_unsafe:
        yield RowError(
            1,
            name,
            f"column {name!r} ignored: column names may not start with '$' or contain '.'",
            warning=True,
        )


def _record(row_no: int, cells: list[Any] | tuple[Any, ...], colmap: columns.ColumnMap) -> Record | None:
    for v in cells:
        if v is not None and (not isinstance(v, str) or v.strip()):
            break
    else:
        return None  # blank line
    index = colmap.index
    if len(cells) > colmap.last_index:
        values: dict[str, Cell] = dict(zip(index, colmap.take(cells), strict=True))
    else:
        values = {name: cells[i] if i < len(cells) else None for name, i in index.items()}
    return Record(row=row_no, values=values, header=colmap.header)


def csv_records(path: Path, layout: Layout, fields: frozenset[str] | None = None) -> Iterator[Item]:
    """The rows of a CSV file; with ``fields``, each record holds only those fields."""
    codec, errors = encoding.python_codec(encoding.detect_encoding(path))
    with path.open("r", encoding=codec, errors=errors, newline="") as handle:
        reader = csv.reader(handle)
        try:
            headers: list[object] = list(next(reader))
        except StopIteration:
            raise FileProblem("the file is empty") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise FileProblem(f"the first line is not CSV: {exc}") from None
        colmap, missing = columns.resolve(layout, headers)
        yield from _header_problems(colmap, missing, headers)
        if fields is not None:
            colmap = colmap.only(fields)
        # (_record, inlined: this loop runs for every row, twice or three times)
        index, header, last_index, take = colmap.index, colmap.header, colmap.last_index, colmap.take
        row_no = 1
        while True:
            row_no += 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield RowError(row_no, None, f"not valid CSV: {exc}")
                continue
            for v in cells:
                if v.strip():
                    break
            else:
                continue  # blank line
            if len(cells) > last_index:
                values: dict[str, Cell] = dict(zip(index, take(cells), strict=True))
            else:
                values = {name: cells[i] if i < len(cells) else None for name, i in index.items()}
            yield Record(row_no, values, header)


def _open_workbook(path: Path) -> Any:
    import openpyxl

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # zipfile, xml and openpyxl errors of all kinds
        raise FileProblem(f"not a readable XLSX workbook: {type(exc).__name__}: {exc}") from None


def _worksheet(workbook: Any, layout: Layout) -> Any:
    """The first sheet whose first row matches the layout (templates have an instructions sheet)."""
    for sheet in workbook.worksheets:
        for first in sheet.iter_rows(min_row=1, max_row=1, values_only=True):
            if columns.matches(layout, list(first)):
                return sheet
            break
    return workbook.worksheets[0] if workbook.worksheets else None


def xlsx_records(path: Path, layout: Layout, fields: frozenset[str] | None = None) -> Iterator[Item]:
    """The rows of the sheet; with ``fields``, each record holds only those fields."""
    workbook = _open_workbook(path)
    try:
        sheet = _worksheet(workbook, layout)
        if sheet is None:
            raise FileProblem("the workbook has no sheet")
        rows = sheet.iter_rows(values_only=True)
        try:
            headers = list(next(rows))
        except StopIteration:
            raise FileProblem("the sheet is empty") from None
        colmap, missing = columns.resolve(layout, headers)
        yield from _header_problems(colmap, missing, headers)
        if fields is not None:
            colmap = colmap.only(fields)
        for row_no, cells in enumerate(rows, start=2):
            record = _record(row_no, cells, colmap)
            if record is not None:
                yield record
    finally:
        workbook.close()


# --- OHCHR matrix --------------------------------------------------------------------

_TITLE = re.compile(
    r"UPR\s+of\s+(?P<country>.+?)\s*\(\s*(?P<cycle>\d{1,2})\s*(?:st|nd|rd|th)?\s+cycle"
    r"(?:\s*[-–—,]\s*(?P<session>\d{1,3})\s*(?:st|nd|rd|th)?\s+session)?",
    re.IGNORECASE,
)
_THEME_ROW = re.compile(r"^\s*Theme\s*:\s*(?P<theme>.+)$", re.IGNORECASE | re.DOTALL)
_SOURCE = re.compile(r"[;,]?\s*Source of position\s*:\s*(?P<source>.*)$", re.IGNORECASE | re.DOTALL)
_STATES = re.compile(r"\((?P<states>[^()]*(?:\([^()]*\)[^()]*)*)\)\s*[.;,]?\s*$")


def split_matrix_cell(cell: str) -> tuple[str, str, str | None]:
    """``"140.7 Ratify ... (Maldives); Source of Position: A/HRC/59/15/Add.1 - Para.3"``
    -> (``"140.7 Ratify ..."``, ``"Maldives"``, ``"A/HRC/59/15/Add.1 - Para.3"``)."""
    text = cell.strip()
    source: str | None = None
    match = _SOURCE.search(text)
    if match:
        source = re.sub(r"\s+", " ", match.group("source")).strip() or None
        text = text[: match.start()].rstrip()
    states = ""
    found = _STATES.search(text)
    if found:
        states = found.group("states").strip()
        text = text[: found.start()].rstrip()
    return text, states, source


def _report_symbol(source: str | None) -> str | None:
    if not source:
        return None
    symbol = re.split(r"\s+-\s+|\s+Para", source, maxsplit=1)[0].strip()
    symbol = re.sub(r"/Add\.\d+$", "", symbol)
    return symbol or None


def _themes_and_persons(cell: str) -> tuple[list[str], list[str]]:
    themes: list[str] = []
    persons: list[str] = []
    target = themes
    for line in cell.splitlines():
        item = re.sub(r"^(?:[-•*]\s*)+", "", line).strip()
        if not item:
            continue
        if re.match(r"^affected persons\s*:?$", item, re.I):
            target = persons
            continue
        target.append(item)
    return themes, persons


def docx_records(path: Path) -> Iterator[Item]:
    try:
        import docx

        document = docx.Document(str(path))
    except Exception as exc:
        raise FileProblem(f"not a readable DOCX document: {type(exc).__name__}: {exc}") from None
    country: str | None = None
    cycle: int | None = None
    session: int | None = None
    for paragraph in document.paragraphs[:40]:
        match = _TITLE.search(paragraph.text)
        if match:
            country = match.group("country").strip()
            cycle = int(match.group("cycle"))
            session = int(match.group("session")) if match.group("session") else None
            break
    header_map = {
        "text": "Recommendation",
        "position": "Position",
        "source_themes": "Full list of themes",
        "states": "Recommending state",
        "document_symbol": "Source of position",
        "country": "UPR of",
        "cycle": "cycle",
        "session": "session",
        "affected_persons": "Full list of themes",
    }
    found_table = False
    for table in document.tables:
        rows = list(table.rows)
        if not rows:
            continue
        headers = [c.text.strip().casefold() for c in rows[0].cells]
        if not headers or not headers[0].startswith("recommendation"):
            continue
        found_table = True
        pos_col = next((i for i, h in enumerate(headers) if h.startswith("position")), None)
        themes_col = next((i for i, h in enumerate(headers) if "theme" in h), None)
        if pos_col is None:
            raise FileProblem("required column missing: 'Position'", "Position")
        group_theme: str | None = None
        for row_no, row in enumerate(rows[1:], start=2):
            cells = [c.text for c in row.cells]
            first = cells[0].strip() if cells else ""
            theme_match = _THEME_ROW.match(first)
            # A "Theme:" row spans the table (merged cells repeat the same text).
            if theme_match and all(c.strip() in ("", first) for c in cells):
                group_theme = re.sub(r"\s+", " ", theme_match.group("theme")).strip()
                continue
            if not any(c.strip() for c in cells):
                continue
            text, states, source = split_matrix_cell(first)
            themes, persons = _themes_and_persons(cells[themes_col]) if themes_col is not None else ([], [])
            if group_theme and group_theme not in themes:
                themes.insert(0, group_theme)
            values: dict[str, Cell] = {
                "text": text,
                "states": states,
                "position": cells[pos_col] if pos_col < len(cells) else "",
                "source_themes": "\n".join(f"- {t}" for t in themes),
                "affected_persons": "\n".join(f"- {p}" for p in persons),
                "document_symbol": _report_symbol(source),
                "country": country,
                "cycle": cycle,
                "session": session,
            }
            yield Record(row=row_no, values=values, header=header_map)
    if not found_table:
        raise FileProblem("no recommendations table found (first header cell should be 'Recommendation')")
