"""Ingest domain: turning rows of UPR recommendations into contract events (no files, no Kafka,
no Mongo). Reading files is in ``services.ingest.adapters.files``."""

from services.ingest.domain.model import (
    DEFAULT_MAX_FILE_BYTES,
    FORMATS,
    FileProblem,
    ParsedEvidence,
    ParsedRow,
    ParseItem,
    RowError,
)

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "FORMATS",
    "FileProblem",
    "ParseItem",
    "ParsedEvidence",
    "ParsedRow",
    "RowError",
]
