"""Reading files of recommendations or evidence (CSV, XLSX, DOCX) and writing the XLSX
templates: the file I/O of the ingest, kept out of ``services.ingest.domain``."""

from services.ingest.adapters.files.detect import detect_format
from services.ingest.adapters.files.parse import iter_rows, parse_file

__all__ = ["detect_format", "iter_rows", "parse_file"]
