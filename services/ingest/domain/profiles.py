"""Mapping profiles (issue 14, "unknown layouts"): a person maps the columns of a file no
known format has to the fields of a recommendation once, names the mapping, and the same
header is read with it from then on (Import page, or ``upr import --profile NAME``).

Pure rules, no I/O: the columns and sample values of a file, the header's signature (the
profile a header reuses automatically), and what a profile must hold.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.ingest.domain import archive, encoding
from services.ingest.domain.columns import MAPPABLE_FIELDS, header_key, mapped_layout
from services.ingest.domain.model import FileProblem

SAMPLE_ROWS = 3
_NAME = re.compile(r"^[^\x00-\x1f$]{1,80}$")


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


def header_signature(columns: list[str]) -> str:
    """The same header (case, spacing and order aside) gives the same signature."""
    keys = sorted({header_key(c) for c in columns if header_key(c)})
    return hashlib.sha256("\x1f".join(keys).encode("utf-8")).hexdigest()[:32]


class ProfileProblem(ValueError):
    """A profile that cannot be saved; the message says why, naming the field or column."""


def check_profile(name: str, mapping: dict[str, str], columns: list[str], country: str | None) -> str:
    """The profile's name, cleaned; raises :class:`ProfileProblem` for one that cannot be used."""
    name = name.strip()
    if not _NAME.match(name):
        raise ProfileProblem("name: 1 to 80 characters, no control characters, not starting with '$'")
    if country is not None and not re.fullmatch(r"[A-Z]{3}", country):
        raise ProfileProblem(f"country: {country!r} is not an ISO3 code such as KHM")
    mapping = {field: column for field, column in mapping.items() if column}
    try:
        mapped_layout(mapping, country_given=country is not None)
    except ValueError as exc:
        raise ProfileProblem(str(exc)) from None
    known = {header_key(c) for c in columns}
    absent = [column for column in mapping.values() if header_key(column) not in known]
    if absent:
        raise ProfileProblem(f"column(s) {', '.join(map(repr, absent))} not in the file's header")
    return name


__all__ = ["MAPPABLE_FIELDS", "FileColumns", "ProfileProblem", "check_profile", "file_columns", "header_signature"]
