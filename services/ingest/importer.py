"""Service layer of the ingest service: one import, from a file to an import report.

Used by `upr import` and by the service's HTTP endpoint behind the UI's Import page.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.events import Actor, RecommendationImportedV1
from services.ingest.adapters.files import detect_format, parse_file
from services.ingest.adapters.files.archive import DEFAULT_LIMITS, ArchiveLimits, is_zip
from services.ingest.adapters.files.columns import file_columns
from services.ingest.domain import ParsedEvidence, ParsedRow, ParseItem, RowError
from services.ingest.domain.model import DEFAULT_MAX_FILE_BYTES, MAPPED_CSV, MAPPED_XLSX, WARNING_PREFIX
from services.ingest.settings import IngestSettings


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
    # The mapping profile the file was read with (named, or found for its header).
    profile: str | None = None
    # A dry run the tracker answered: imported/updated/unchanged/ambiguous are what an
    # import would do now (otherwise a dry run only reads the file).
    preview: bool = False
    # The first rows as they would be stored (a preview), for a person to check the mapping.
    sample: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in ("format", "rows", "imported", "updated", "unchanged", "rejected",
                                              "errors", "ambiguous", "conflicts")}
        if self.pending:
            data["pending"] = self.pending
        if self.mapping:
            data["mapping"] = dict(self.mapping)
        if self.profile:
            data["profile"] = self.profile
        if self.preview:
            data["preview"] = True
            data["sample"] = list(self.sample)
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


# A saved mapping profile for a file's columns, or None (adapters/profiles.py).
ProfileFinder = Callable[[list[str]], dict[str, Any] | None]
# Rows -> what the tracker would do with each (adapters/tracker.py): a receipt-shaped dict per row.
Previewer = Callable[[list[RecommendationImportedV1]], list[dict[str, Any]]]


def run_import(
    path: Path, *, settings: IngestSettings, format: str | None = None, cycle: int | None = None,
    country: str | None = None, dry_run: bool = False, actor: Actor | None = None,
    timeout_s: float | None = None, progress: Callable[[int], None] | None = None,
    mapping: dict[str, str] | None = None, profile: dict[str, Any] | None = None,
    find_profile: ProfileFinder | None = None, preview: Previewer | None = None,
) -> ImportReport:
    """Read ``path`` (its format detected unless ``format`` is given, or read through the
    column ``mapping`` field -> column header, or a saved ``profile``; an undetected file
    through the profile ``find_profile`` gives for its header) and import it, or only check
    it (``dry_run``; with ``preview``, also what the tracker would do with each row)."""
    import_id = f"imp-{uuid.uuid4().hex[:12]}"
    # The XLSX/DOCX limits (UPR_MAX_ARCHIVE_*) of IngestSettings; the defaults otherwise.
    limits_of = getattr(settings, "archive_limits", None)
    limits: ArchiveLimits = limits_of() if callable(limits_of) else DEFAULT_LIMITS
    if profile is None and not mapping and format is None and find_profile is not None:
        profile = _profile_for(path, limits, find_profile)
    if profile is not None:
        mapping = dict(profile.get("mapping") or {})
        country = country or profile.get("country") or None
    fmt = format
    if mapping:
        fmt = MAPPED_XLSX if is_zip(path) else MAPPED_CSV
    elif fmt is None:
        try:
            fmt = detect_format(path, limits)
        except Exception:  # parse_file reports the problem as a file error
            fmt = None
    report = ImportReport(format=fmt, import_id=import_id, mapping=dict(mapping) if mapping else None,
                          profile=str(profile["_id"]) if profile is not None else None)
    tally = _Tally(report)
    # The same size limit as uploads (UPR_MAX_UPLOAD_BYTES): an operator can raise it for a big export.
    max_bytes = int(getattr(settings, "max_upload_bytes", DEFAULT_MAX_FILE_BYTES))
    items = tally.watch(parse_file(path, format=format, cycle=cycle, country=country, import_id=import_id,
                                   max_bytes=max_bytes, archive_limits=limits,
                                   mapping=tuple(mapping.items()) if mapping else None))
    if dry_run:
        rows: list[RecommendationImportedV1] = []
        for item in items:
            if preview is not None and isinstance(item, ParsedRow):
                rows.append(item.recommendation)
                if len(report.sample) < SAMPLE_ROWS:
                    report.sample.append(_as_stored(item))
            if progress is not None:
                progress(1)
        tally.close()
        report.imported = tally.valid
        if preview is not None and rows and not report.file_error:
            _preview(report, rows, preview)
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


SAMPLE_ROWS = 5


def _as_stored(item: ParsedRow) -> dict[str, Any]:
    rec = item.recommendation
    return {"row": item.row, "recommendation_id": rec.recommendation_id, "country": rec.country,
            "cycle": rec.cycle, "session": rec.session, "paragraph": rec.paragraph,
            "recommending_states": ", ".join(s.name for s in rec.recommending_states),
            "position": rec.position.value, "text": rec.text[:300]}


def _profile_for(path: Path, limits: ArchiveLimits, find_profile: ProfileFinder) -> dict[str, Any] | None:
    """The saved profile of an undetected file's header (none for a file of a known format)."""
    try:
        detect_format(path, limits)
    except Exception:  # not a known format: maybe a header someone mapped before
        try:
            return find_profile(file_columns(path, limits).columns)
        except Exception:  # unreadable, or no database: parse_file reports the file's problem
            return None
    return None


def _preview(report: ImportReport, rows: list[RecommendationImportedV1], preview: Previewer) -> None:
    """Counts of what an import would do now, from the tracker's state; a plain dry run
    (rows read) with a warning when the tracker cannot say."""
    from services.ingest.adapters.publisher import ImportOutcome, count_receipt

    try:
        answers = preview(rows)
    except Exception as exc:
        report.errors.append({"row": None, "field": None, "message": f"{WARNING_PREFIX}the tracker could not "
                              f"preview the import ({type(exc).__name__}: {exc}); counts are of rows read"})
        return
    outcome = ImportOutcome()
    for answer in answers:
        count_receipt(outcome, answer.get("row"), answer)
    report.imported, report.updated, report.unchanged = outcome.imported, outcome.updated, outcome.unchanged
    report.ambiguous, report.conflicts, report.preview = outcome.ambiguous, outcome.conflicts, True
