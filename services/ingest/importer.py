"""Service layer of the ingest service: one import, from a file to an import report.

Used by `upr import` and by the service's HTTP endpoint behind the UI's Import page.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.events import Actor
from contracts.settings import CommonSettings
from services.ingest.adapters.files import detect_format, parse_file
from services.ingest.adapters.files.archive import DEFAULT_LIMITS, ArchiveLimits, is_zip
from services.ingest.domain import ParsedEvidence, ParsedRow, ParseItem, RowError
from services.ingest.domain.model import DEFAULT_MAX_FILE_BYTES, MAPPED_CSV, MAPPED_XLSX


@dataclass
class ImportReport:
    """What `upr import --json` prints and the Import page shows."""

    format: str | None
    rows: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    pending: int = 0
    import_id: str = ""
    file_error: bool = False
    # field -> column, when the file was read with a column mapping (--map)
    mapping: dict[str, str] | None = None
    # Rows matching a stored recommendation only maybe (or several): listed, never merged.
    ambiguous: list[dict[str, Any]] = field(default_factory=list)
    # Recommendations on which this file and an earlier source disagree (e.g. the position).
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in ("format", "rows", "imported", "updated", "unchanged", "rejected",
                                              "errors", "ambiguous", "conflicts")}
        if self.pending:
            data["pending"] = self.pending
        if self.mapping:
            data["mapping"] = dict(self.mapping)
        return data


class _Tally:
    """Counts rows and errors while the parsed items stream past."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        self.rows: set[int] = set()
        self.bad_rows: set[int] = set()
        self.valid = 0

    def watch(self, items: Iterator[ParseItem]) -> Iterator[ParsedRow | ParsedEvidence]:
        for item in items:
            if isinstance(item, RowError):
                self.report.errors.append(item.as_dict())
                if item.row is None and not item.warning:
                    self.report.file_error = True
                if item.row is not None and not item.warning:  # warnings (e.g. on the header) count no row
                    self.rows.add(item.row)
                    self.bad_rows.add(item.row)
                continue
            self.rows.add(item.row)
            if isinstance(item, ParsedRow):
                self.rows.update(item.merged_rows)
            self.report.errors.extend(w.as_dict() for w in item.warnings)
            self.valid += 1
            yield item

    def close(self) -> None:
        self.report.rows = len(self.rows)
        self.report.rejected += len(self.bad_rows)


def run_import(
    path: Path, *, settings: CommonSettings, format: str | None = None, cycle: int | None = None,
    country: str | None = None, dry_run: bool = False, actor: Actor | None = None,
    timeout_s: float | None = None, progress: Callable[[int], None] | None = None,
    mapping: dict[str, str] | None = None,
) -> ImportReport:
    """Read ``path`` (its format detected unless ``format`` is given, or read through the
    column ``mapping`` field -> column header) and import it, or only check it (``dry_run``)."""
    import_id = f"imp-{uuid.uuid4().hex[:12]}"
    # The XLSX/DOCX limits (UPR_MAX_ARCHIVE_*) of IngestSettings; the defaults otherwise.
    limits_of = getattr(settings, "archive_limits", None)
    limits: ArchiveLimits = limits_of() if callable(limits_of) else DEFAULT_LIMITS
    fmt = format
    if mapping:
        fmt = MAPPED_XLSX if is_zip(path) else MAPPED_CSV
    elif fmt is None:
        try:
            fmt = detect_format(path, limits)
        except Exception:  # parse_file reports the problem as a file error
            fmt = None
    report = ImportReport(format=fmt, import_id=import_id, mapping=dict(mapping) if mapping else None)
    tally = _Tally(report)
    # The same size limit as uploads (UPR_MAX_UPLOAD_BYTES): an operator can raise it for a big export.
    max_bytes = int(getattr(settings, "max_upload_bytes", DEFAULT_MAX_FILE_BYTES))
    items = tally.watch(parse_file(path, format=format, cycle=cycle, country=country, import_id=import_id,
                                   max_bytes=max_bytes, archive_limits=limits,
                                   mapping=tuple(mapping.items()) if mapping else None))
    if dry_run:
        for _ in items:
            if progress is not None:
                progress(1)
        tally.close()
        report.imported = tally.valid
        return report
    from services.ingest.adapters.publisher import publish_and_wait

    # Whole-file problems (unreadable, missing column) come before any row, so nothing is sent.
    outcome = publish_and_wait(items, settings, import_id, actor=actor, timeout_s=timeout_s, progress=progress)
    tally.close()
    report.imported, report.updated, report.unchanged = outcome.imported, outcome.updated, outcome.unchanged
    report.rejected += outcome.rejected
    report.pending = outcome.pending
    report.errors.extend(outcome.errors)
    report.ambiguous, report.conflicts = outcome.ambiguous, outcome.conflicts
    return report
