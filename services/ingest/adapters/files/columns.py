"""The columns of a file and their first values, for mapping an unknown layout (issue 14):
file I/O, so kept out of ``services.ingest.domain.profiles``."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.ingest.adapters.files import archive, encoding
from services.ingest.domain.model import FileProblem

SAMPLE_ROWS = 3


@dataclass(frozen=True)
class FileColumns:
    """The header of a file and the first values under each column, as a person sees them."""

    columns: list[str]
    samples: list[list[str]]  # per column, its first values

    def as_json(self) -> list[dict[str, Any]]:
        return [{"name": name, "samples": values} for name, values in zip(self.columns, self.samples, strict=True)]


def _shown(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace("\ufeff", "").strip()[:120]


def file_columns(path: Path, limits: archive.ArchiveLimits = archive.DEFAULT_LIMITS,
                 rows: int = SAMPLE_ROWS) -> FileColumns:
    """The first sheet (XLSX) or the CSV's header with up to ``rows`` values per column."""
    table: list[list[Any]] = []
    if archive.is_zip(path):
        import openpyxl

        archive.check_archive(path, limits)
        try:
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:
            raise FileProblem(f"not a readable XLSX workbook: {type(exc).__name__}: {exc}") from None
        try:
            for sheet in workbook.worksheets:  # the first sheet with a header of two columns or more
                table = [list(r) for r in sheet.iter_rows(min_row=1, max_row=rows + 1, values_only=True)]
                if table and sum(1 for c in table[0] if _shown(c)) >= 2:
                    break
        finally:
            workbook.close()
    else:
        codec, errors = encoding.python_codec(encoding.detect_encoding(path))
        with path.open("r", encoding=codec, errors=errors, newline="") as handle:
            try:
                for line in csv.reader(handle):
                    if any(cell.strip() for cell in line):
                        table.append(line)
                    if len(table) > rows:
                        break
            except (csv.Error, UnicodeDecodeError) as exc:
                raise FileProblem(f"not CSV: {exc}") from None
    if not table:
        raise FileProblem("the file is empty")
    header = [_shown(c) for c in table[0]]
    keep = [i for i, name in enumerate(header) if name]
    if len(keep) < 2:
        raise FileProblem("the first row is not a header of named columns")
    samples = [[_shown(r[i]) if i < len(r) else "" for r in table[1:]] for i in keep]
    return FileColumns([header[i] for i in keep], samples)
