"""Read a file of recommendations (or evidence), streaming, never raising.

``parse_file`` yields one item per recommendation (or evidence) and per problem:

* :class:`ParsedRow` - a valid recommendation (several rows of the same recommendation,
  e.g. UPR Info's one row per recommending state, come out as ONE row with all states);
* :class:`ParsedEvidence` - a valid evidence row (bulk evidence template);
* :class:`RowError` - a rejected row, a repaired row (``warning=True``) or a whole-file
  problem (``row=None``, always the last item).

Merging needs to know every row of a recommendation before emitting it. Small files
(up to ``BUFFER_ROWS`` rows) are read once and kept. Bigger CSV files are read again,
two or three times, each pass streaming (a file over ``BUFFER_BYTES`` starts with them):

1. a cheap pass computes only the id each row would get (no position, states, lists
   or model) and notes the ids seen more than once;
2. only when some id repeats: the rows with such ids are built in full, into a small
   index (id -> first row, text fingerprint, states);
3. the rows are built in full and emitted, each recommendation at its first row with
   the states merged from the index (an id seen once has nothing to merge).

XLSX and DOCX files (slow to read: reading costs more than building) and a file that
pass 1 cannot read to the end are indexed from every row instead, in one pass (the
output must then stop where reading failed).
"""

from __future__ import annotations

import hashlib
import sys
import zipfile
import zlib
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from contracts.events import RecommendationImportedV1, RecommendingState
from services.ingest.adapters.files import archive, readers
from services.ingest.adapters.files.detect import detect_format
from services.ingest.domain import model
from services.ingest.domain.columns import LAYOUTS, Layout, mapped_layout
from services.ingest.domain.model import FileProblem, ParsedEvidence, ParsedRow, ParseItem, RowError
from services.ingest.domain.records import HEAD_FIELDS, Context, build_evidence, build_recommendation, candidate_id
from services.ingest.domain.sanitise import normalised_for_identity

BUFFER_ROWS = 5_000
# A file bigger than this (bytes) has more rows than the buffer holds (a UHRI row is ~400
# bytes): read with the passes at once, not built first into a buffer that is thrown away.
BUFFER_BYTES = 4 * 1024 * 1024
_CSV_FORMATS = frozenset({model.UPR_INFO_CSV, model.UPR_INFO_CLEAN_CSV, model.UHRI_CSV, model.MAPPED_CSV})
# A column mapping (field -> column header), as pairs: hashable, in the user's order.
ColumnMapping = tuple[tuple[str, str], ...]


def _records(
    path: Path, fmt: str, fields: frozenset[str] | None = None, layout: Layout | None = None
) -> Iterator[readers.Item]:
    """The records of a file; with ``fields``, each may hold only those fields (or more)."""
    if fmt == model.OHCHR_MATRIX_DOCX:
        return readers.docx_records(path)
    layout = layout or LAYOUTS[fmt]
    if fmt in (model.UHRI_XLSX, model.TEMPLATE_XLSX, model.EVIDENCE_TEMPLATE_XLSX, model.MAPPED_XLSX):
        return readers.xlsx_records(path, layout, fields)
    return readers.csv_records(path, layout, fields)


def _prepare(
    path: Path, *, format: str | None, cycle: int | None, country: str | None, import_id: str, max_bytes: int,
    limits: archive.ArchiveLimits = archive.DEFAULT_LIMITS, mapping: ColumnMapping | None = None,
) -> tuple[str, Context, Layout | None]:
    """The format and context of a file; raises FileProblem (and OSError...) for a file it refuses."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise FileProblem(f"cannot read the file: {exc.strerror or exc}") from None
    if size > max_bytes:
        raise FileProblem(
            f"file is {size / 1024 / 1024:.1f} MB; the limit is {max_bytes / 1024 / 1024:.0f} MB "
            "(split it, or raise the limit)"
        )
    layout: Layout | None = None
    if mapping:
        try:
            layout = mapped_layout(dict(mapping), country_given=country is not None)
        except ValueError as exc:
            raise FileProblem(str(exc)) from None
        zipped = archive.is_zip(path)
        if zipped:
            archive.check_archive(path, limits)
        fmt = model.MAPPED_XLSX if zipped else model.MAPPED_CSV
    elif format is None:
        fmt = detect_format(path, limits)  # (checks an XLSX/DOCX archive first)
    else:
        fmt = format
        if archive.is_zip(path):
            archive.check_archive(path, limits)
    if fmt not in model.FORMATS and layout is None:
        raise FileProblem(f"unknown format {fmt!r}; one of: {', '.join(model.FORMATS)}")
    ctx = Context(
        format=fmt,
        file_name=path.name,
        import_id=import_id,
        cycle=cycle,
        country=country.upper() if country else None,
    )
    return fmt, ctx, layout


def iter_rows(
    path: Path,
    *,
    format: str | None = None,
    cycle: int | None = None,
    country: str | None = None,
    import_id: str,
    max_bytes: int = model.DEFAULT_MAX_FILE_BYTES,
    archive_limits: archive.ArchiveLimits = archive.DEFAULT_LIMITS,
    mapping: ColumnMapping | None = None,
) -> Generator[ParseItem, None, None]:
    """One item per source row, no merging and no duplicate check. Never raises."""
    path = Path(path)
    try:
        fmt, ctx, layout = _prepare(path, format=format, cycle=cycle, country=country, import_id=import_id,
                                    max_bytes=max_bytes, limits=archive_limits, mapping=mapping)
        build = build_evidence if fmt == model.EVIDENCE_TEMPLATE_XLSX else build_recommendation
        for item in _records(path, fmt, layout=layout):
            if isinstance(item, RowError):
                yield item
                continue
            built = build(item, ctx)
            if isinstance(built, list):
                yield from built
            else:
                yield built
    except FileProblem as exc:
        yield RowError(None, exc.field, exc.message)
    except (UnicodeDecodeError, UnicodeError) as exc:
        yield RowError(None, None, f"the file's text encoding could not be read: {exc}")
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        yield RowError(None, None, f"the file could not be read: {type(exc).__name__}: {exc}")
    except SyntaxError as exc:  # XML parse errors (ElementTree's and lxml's) while reading the rows
        yield RowError(None, None, f"the file holds malformed XML: {type(exc).__name__}: {exc}")
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # a part damaged inside the zip
        yield RowError(None, None, f"damaged ZIP (XLSX/DOCX) file: {type(exc).__name__}: {exc}")


def _fingerprint(text: str) -> int:
    digest = hashlib.blake2b(normalised_for_identity(text).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class _Seen:
    """Pass-1 memory per recommendation id, kept small (a 267k-row file has 267k of these):
    state codes and themes as interned strings; full states only for merged rows."""

    __slots__ = ("codes", "extra_states", "extra_themes", "first_row", "merged_rows", "position", "text", "themes")

    def __init__(self, rec: RecommendationImportedV1, row: int) -> None:
        self.first_row = row
        self.text = _fingerprint(rec.text)
        self.position = rec.position.value
        self.codes: tuple[str, ...] = tuple(sys.intern(s.code) for s in rec.recommending_states)
        self.themes: tuple[str, ...] = tuple(sys.intern(t) for t in rec.source_themes)
        self.extra_states: list[RecommendingState] | None = None
        self.extra_themes: list[str] | None = None
        self.merged_rows: list[int] | None = None

    def merge(self, rec: RecommendationImportedV1, row: int) -> bool:
        """Add the states/themes of another row of the same recommendation; False if none is new."""
        new = [s for s in rec.recommending_states if s.code not in self.codes]
        new_themes = [t for t in rec.source_themes if t not in self.themes]
        if not new and not new_themes:
            return False
        self.codes += tuple(s.code for s in new)
        self.themes += tuple(new_themes)
        self.extra_states = [*(self.extra_states or []), *new]
        self.extra_themes = [*(self.extra_themes or []), *new_themes]
        self.merged_rows = [*(self.merged_rows or []), row]
        return True


@dataclass
class _Index:
    """What pass 1 learns: per id its first row and merged states; the rows to reject."""

    recommendations: dict[str, _Seen] = field(default_factory=dict)
    evidence: dict[str, int] = field(default_factory=dict)
    rejected: dict[int, RowError] = field(default_factory=dict)

    def add(self, item: ParseItem) -> None:
        if isinstance(item, ParsedEvidence):
            first = self.evidence.setdefault(item.evidence.evidence_id, item.row)
            if first != item.row:
                self.rejected[item.row] = RowError(
                    item.row,
                    "evidence_id",
                    f"duplicate of row {first} (evidence {item.evidence.evidence_id})",
                )
            return
        if not isinstance(item, ParsedRow):
            return
        rec = item.recommendation
        seen = self.recommendations.get(rec.recommendation_id)
        if seen is None:
            self.recommendations[rec.recommendation_id] = _Seen(rec, item.row)
            return
        where = f"row {seen.first_row}"
        rid = rec.recommendation_id
        if _fingerprint(rec.text) != seen.text:
            self.rejected[item.row] = RowError(
                item.row, "text", f"recommendation {rid} already read from {where} with a different text"
            )
        elif rec.position.value != seen.position:
            self.rejected[item.row] = RowError(
                item.row,
                "position",
                f"recommendation {rid} is {rec.position.value} here but {seen.position} in {where}",
            )
        elif not seen.merge(rec, item.row):
            # One row per recommending state (UPR Info) or per theme (OHCHR matrix) merges;
            # a row that adds nothing is a duplicate.
            self.rejected[item.row] = RowError(
                item.row, None, f"duplicate row: same recommendation {rid}, text and states as {where}"
            )


def merge_rows(items: Iterable[ParseItem], index: _Index) -> Iterator[ParseItem]:
    """Second pass: emit each recommendation once, at its first row, with merged states.

    An id the index does not hold was seen once (see :func:`_repeated_ids_index`): its
    row is emitted as it is."""
    recommendations = index.recommendations
    rejected = index.rejected
    for item in items:
        if isinstance(item, RowError):
            yield item
        elif item.row in rejected:
            yield rejected[item.row]
        elif isinstance(item, ParsedEvidence):
            yield item
        else:
            rec = item.recommendation
            seen = recommendations.get(rec.recommendation_id)
            if seen is None:
                yield item
                continue
            if seen.first_row != item.row:
                continue  # its states were merged into the first row
            if seen.merged_rows:
                merged = rec.model_copy(
                    update={
                        "recommending_states": [*rec.recommending_states, *(seen.extra_states or [])],
                        "source_themes": [*rec.source_themes, *(seen.extra_themes or [])],
                    }
                )
                yield ParsedRow(item.row, merged, item.warnings, tuple(seen.merged_rows))
            else:
                yield item


def _repeated_ids_index(
    path: Path, *, format: str | None, cycle: int | None, country: str | None, import_id: str, max_bytes: int,
    archive_limits: archive.ArchiveLimits = archive.DEFAULT_LIMITS, mapping: ColumnMapping | None = None,
) -> _Index | None:
    """Passes 1 and 2 for a file of recommendations: the index of the ids seen more than
    once (the only rows that can be merged or rejected as duplicates).

    ``None`` when this does not apply (XLSX, DOCX) or the file cannot be read to its end:
    the caller then indexes every row, the output having to stop where reading stops.
    The candidate ids come from the same code as the full build (``candidate_id``), so
    every valid row's id is among them."""
    try:
        fmt, ctx, layout = _prepare(path, format=format, cycle=cycle, country=country, import_id=import_id,
                                    max_bytes=max_bytes, limits=archive_limits, mapping=mapping)
        if fmt not in _CSV_FORMATS:
            return None  # reading XLSX/DOCX costs more than building: read them twice, not three times
        seen: set[str] = set()
        repeated: set[str] = set()
        last = -1  # position (among the records) of the last row whose id repeats
        for position, record in enumerate(_records(path, fmt, HEAD_FIELDS, layout)):
            if isinstance(record, RowError):
                if record.row is None:
                    return None
                continue
            rid = candidate_id(record, ctx)
            if rid is None:
                continue
            if rid in seen:
                repeated.add(rid)
                last = position
            else:
                seen.add(rid)
        del seen
        index = _Index()
        if not repeated:
            return index
        for position, record in enumerate(_records(path, fmt, layout=layout)):
            if position > last:
                break
            if isinstance(record, RowError) or candidate_id(record, ctx) not in repeated:
                continue
            built = build_recommendation(record, ctx)
            if isinstance(built, ParsedRow):
                index.add(built)
        return index
    except Exception:  # any failure: index every row instead (same output)
        return None


def parse_file(
    path: Path,
    *,
    format: str | None = None,
    cycle: int | None = None,
    country: str | None = None,
    import_id: str,
    max_bytes: int = model.DEFAULT_MAX_FILE_BYTES,
    buffer_rows: int = BUFFER_ROWS,
    archive_limits: archive.ArchiveLimits = archive.DEFAULT_LIMITS,
    mapping: ColumnMapping | None = None,
    buffer_bytes: int = BUFFER_BYTES,
) -> Iterator[ParseItem]:
    """Recommendations (merged), evidence and errors of one file, streaming. Never raises."""
    path = Path(path)

    def rows() -> Generator[ParseItem, None, None]:
        return iter_rows(path, format=format, cycle=cycle, country=country, import_id=import_id, max_bytes=max_bytes,
                         archive_limits=archive_limits, mapping=mapping)

    def repeated_ids() -> _Index | None:
        return _repeated_ids_index(
            path, format=format, cycle=cycle, country=country, import_id=import_id, max_bytes=max_bytes,
            archive_limits=archive_limits, mapping=mapping,
        )

    try:
        before = path.stat()
    except OSError:
        yield from rows()
        return
    repeated = repeated_ids() if before.st_size > buffer_bytes else None
    if repeated is not None:
        index = repeated
    else:
        index = _Index()
        buffer: list[ParseItem] = []
        first_pass = rows()
        for item in first_pass:
            index.add(item)
            buffer.append(item)
            if len(buffer) > buffer_rows:
                break
        else:
            yield from merge_rows(buffer, index)
            return
        del buffer
        # (a big file got None above: not a CSV file, or not readable to its end)
        repeated = repeated_ids() if before.st_size <= buffer_bytes else None
        if repeated is not None:
            first_pass.close()
            index = repeated
        else:
            for item in first_pass:
                index.add(item)
    after = path.stat()
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        yield RowError(None, None, "the file changed while it was being read; import it again")
        return
    if not index.recommendations and not index.rejected and not index.evidence:
        yield from rows()  # no id seen twice: nothing to merge or reject
    else:
        yield from merge_rows(rows(), index)
