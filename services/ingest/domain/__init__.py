"""Ingest domain: turning files of UPR recommendations into contract events (no Kafka, no Mongo)."""

from services.ingest.domain.detect import detect_format
from services.ingest.domain.model import (
    DEFAULT_MAX_FILE_BYTES,
    FORMATS,
    FileProblem,
    ParsedEvidence,
    ParsedRow,
    ParseItem,
    RowError,
)
from services.ingest.domain.parse import iter_rows, parse_file

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "FORMATS",
    "FileProblem",
    "ParseItem",
    "ParsedEvidence",
    "ParsedRow",
    "RowError",
    "detect_format",
    "iter_rows",
    "parse_file",
]
