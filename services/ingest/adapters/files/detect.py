"""Which format a file is in, from its content (the extension is only a hint)."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from services.ingest.adapters.files import archive, encoding
from services.ingest.domain import columns, model
from services.ingest.domain.model import FileProblem

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CSV_LAYOUTS = (
    (model.UPR_INFO_CLEAN_CSV, columns.UPR_INFO_CLEAN),
    (model.UPR_INFO_CSV, columns.UPR_INFO),
    (model.UHRI_CSV, columns.UHRI),
)
_XLSX_LAYOUTS = (
    (model.EVIDENCE_TEMPLATE_XLSX, columns.EVIDENCE_TEMPLATE),
    (model.TEMPLATE_XLSX, columns.TEMPLATE),
    (model.UHRI_XLSX, columns.UHRI),
)
KNOWN = "UPR Info CSV, UHRI CSV/XLSX, OHCHR matrix DOCX, or the UPR Tracker templates"


def _best(candidates: tuple[tuple[str, columns.Layout], ...], header: list[object]) -> str | None:
    scored = [(columns.signature_share(layout, header), fmt) for fmt, layout in candidates]
    share, fmt = max(scored, key=lambda pair: pair[0])
    return fmt if share >= 0.5 else None


def _xlsx_format(path: Path) -> str:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:
        raise FileProblem(f"not a readable XLSX workbook: {type(exc).__name__}: {exc}") from None
    try:
        for sheet in workbook.worksheets:
            for first in sheet.iter_rows(min_row=1, max_row=1, values_only=True):
                best = _best(_XLSX_LAYOUTS, list(first))
                if best is not None:
                    return best
    finally:
        workbook.close()
    raise FileProblem(f"the workbook's header row is not one of: {KNOWN}")


def _csv_format(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(64 * 1024)
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileProblem("binary content: not a CSV, XLSX or DOCX file")
    codec, errors = encoding.python_codec(encoding.detect_encoding(path))
    try:
        text = head.decode(codec, errors="replace" if errors == "replace" else "strict")
    except UnicodeDecodeError:
        text = head.decode(codec, errors="replace")
    try:
        header = next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error as exc:
        raise FileProblem(f"not CSV: {exc}") from None
    best = _best(_CSV_LAYOUTS, list(header))
    if best is not None:
        return best
    shown = ", ".join(h.strip()[:30] for h in header[:8])
    raise FileProblem(f"unrecognised file: header [{shown}] is not one of: {KNOWN}")


def detect_format(path: Path, limits: archive.ArchiveLimits = archive.DEFAULT_LIMITS) -> str:
    """The format name of ``path`` (one of :data:`model.FORMATS`); raises :class:`FileProblem`.
    An XLSX/DOCX file is checked (:func:`archive.check_archive`) before it is opened."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(8)
    except OSError as exc:
        raise FileProblem(f"cannot read the file: {exc.strerror or exc}") from None
    if not magic:
        raise FileProblem("the file is empty")
    if magic.startswith(_OLE):
        raise FileProblem("old binary Excel (.xls) or Word (.doc) file: save it as .xlsx or .docx")
    if magic.startswith(_ZIP):
        archive.check_archive(path, limits)
        try:
            with zipfile.ZipFile(path) as zipped:
                names = set(zipped.namelist())
        except (zipfile.BadZipFile, OSError) as exc:
            raise FileProblem(f"damaged ZIP (XLSX/DOCX) file: {exc}") from None
        if "word/document.xml" in names:
            return model.OHCHR_MATRIX_DOCX
        if "xl/workbook.xml" in names:
            return _xlsx_format(path)
        raise FileProblem(f"a ZIP file that is neither XLSX nor DOCX; expected {KNOWN}")
    return _csv_format(path)
