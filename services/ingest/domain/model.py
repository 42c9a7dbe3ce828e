"""What the importers produce: one result per source row, good or bad.

Row numbers are the ones a person sees in a spreadsheet: the header is row 1 and the
first data row is row 2 (for DOCX matrices: the table row, header row 1). ``row=None``
means the problem concerns the whole file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from contracts.events import EvidenceSubmittedV1, RecommendationImportedV1

# Formats the importers understand (the values of ``--format``).
UPR_INFO_CSV = "upr_info_csv"
UPR_INFO_CLEAN_CSV = "upr_info_clean_csv"
UHRI_CSV = "uhri_csv"
UHRI_XLSX = "uhri_xlsx"
OHCHR_MATRIX_DOCX = "ohchr_matrix_docx"
TEMPLATE_XLSX = "template_xlsx"
EVIDENCE_TEMPLATE_XLSX = "evidence_template_xlsx"

FORMATS: tuple[str, ...] = (
    UPR_INFO_CSV,
    UPR_INFO_CLEAN_CSV,
    UHRI_CSV,
    UHRI_XLSX,
    OHCHR_MATRIX_DOCX,
    TEMPLATE_XLSX,
    EVIDENCE_TEMPLATE_XLSX,
)

# A file of any other layout, read with a column mapping (``upr import --map FIELD=COLUMN``):
# not values of ``--format`` (the mapping says where each field is).
MAPPED_CSV = "mapped_csv"
MAPPED_XLSX = "mapped_xlsx"

# Files larger than this are refused as a whole (bytes); override per call.
DEFAULT_MAX_FILE_BYTES = 60 * 1024 * 1024

WARNING_PREFIX = "warning: "
# What a byte that is not UTF-8 becomes when a mixed file is read (adapters/files/encoding.py).
MIXED_MARK = "\ufffd"


@dataclass(frozen=True)
class RowError:
    """A problem with one row (``row``), one column (``field``), or the whole file (``row=None``).

    ``warning=True`` marks a problem that was repaired (e.g. HTML removed): the row is
    still imported.
    """

    row: int | None
    field: str | None
    message: str
    warning: bool = False

    def as_dict(self) -> dict[str, object]:
        message = f"{WARNING_PREFIX}{self.message}" if self.warning else self.message
        return {"row": self.row, "field": self.field, "message": message}


@dataclass(frozen=True)
class ParsedRow:
    """One valid recommendation read from row ``row`` (the first row, when merged)."""

    row: int
    recommendation: RecommendationImportedV1
    warnings: tuple[RowError, ...] = ()
    # Rows whose recommending states were merged into this one (besides ``row``).
    merged_rows: tuple[int, ...] = field(default=())


@dataclass(frozen=True)
class ParsedEvidence:
    """One valid evidence submission read from the bulk evidence template."""

    row: int
    evidence: EvidenceSubmittedV1
    warnings: tuple[RowError, ...] = ()


ParseItem = ParsedRow | ParsedEvidence | RowError


class FileProblem(Exception):
    """Raised inside the readers for a whole-file problem; turned into a ``RowError(row=None)``."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
