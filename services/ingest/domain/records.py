"""One source row (already split into fields) -> a recommendation or evidence, or errors."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from contracts.events import (
    MAX_TEXT_CHARS,
    EvidenceSourceType,
    EvidenceSubmittedV1,
    Position,
    RecommendationImportedV1,
    RecommendingState,
    SourceRef,
)
from services.ingest.domain import countries, identity, sanitise
from services.ingest.domain.encoding import MIXED_MARK
from services.ingest.domain.model import ParsedEvidence, ParsedRow, RowError

Cell = str | int | float | date | datetime | bool | None

_SUPPORTED = {
    "supported",
    "accepted",
    "a",
    "accept",
    "support",
    "s",
    "supported/accepted",
    "accepted/supported",
}
_NOTED = {"noted", "n", "rejected", "not accepted", "not supported", "note", "r", "noted/rejected"}
_EXCEL_EPOCH = date(1899, 12, 30)
_SESSION = re.compile(r"(\d{1,3})")


@dataclass(frozen=True)
class Context:
    """What the caller knows about the whole file."""

    format: str
    file_name: str
    import_id: str
    cycle: int | None = None
    country: str | None = None


@dataclass
class Record:
    """One data row: canonical field -> cell, and the column header of each field."""

    row: int
    values: dict[str, Cell]
    header: dict[str, str]
    # Extra problems found while reading the row (e.g. bytes invalid in the encoding).
    problems: list[RowError] = field(default_factory=list)


def normalise_position(value: str) -> Position | None:
    key = re.sub(r"\s+", " ", value.strip().casefold())
    if key in _SUPPORTED:
        return Position.SUPPORTED
    if key in _NOTED:
        return Position.NOTED
    return None


def excel_serial_to_date(serial: float) -> date:
    return _EXCEL_EPOCH + timedelta(days=int(serial))


def parse_date(value: Cell) -> date:
    """ISO dates, dd/mm/yyyy, Excel serial numbers (as numbers or digit strings)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise ValueError("not a date")
    if isinstance(value, int | float):
        if 1 <= value < 2958466:
            return excel_serial_to_date(value)
        raise ValueError(f"{value} is not an Excel date")
    text = str(value).strip()
    if re.fullmatch(r"\d{4,5}(\.\d+)?", text):
        return excel_serial_to_date(float(text))
    for fmt in (
        "%Y-%m-%d",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%d/%m/%Y",
        "%d.%m.%Y",
        "%d %B %Y",
        "%B %d, %Y",
    ):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date (use YYYY-MM-DD)")


def _as_int(value: Cell) -> int:
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    match = _SESSION.search(str(value))
    if not match or not re.fullmatch(
        r"\s*(?:UPR\s*|WG\s*)?\d{1,3}(?:st|nd|rd|th)?(?:\s*session)?\s*", str(value), re.I
    ):
        raise ValueError(f"{value!r} is not a whole number")
    return int(match.group(1))


def _as_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


class _Row:
    """Collects cleaned fields and errors for one record."""

    def __init__(self, record: Record) -> None:
        self.record = record
        self.errors: list[RowError] = list(record.problems)
        self.warnings: list[RowError] = []

    def column(self, name: str) -> str:
        return self.record.header.get(name, name)

    def error(self, name: str | None, message: str) -> None:
        self.errors.append(RowError(self.record.row, self.column(name) if name else None, message))

    def warn(self, name: str | None, message: str) -> None:
        self.warnings.append(RowError(self.record.row, self.column(name) if name else None, message, warning=True))

    def raw(self, name: str) -> Cell:
        return self.record.values.get(name)

    def text(self, name: str, *, html_allowed: bool = False) -> str:
        """A cleaned string field ("" when absent); formulas refused, HTML removed."""
        value = self.raw(name)
        if value is None:
            return ""
        text = sanitise.clean_cell(_as_text(value))
        if not text:
            return ""
        if sanitise.looks_like_formula(text):
            shown = text if len(text) <= 60 else text[:57] + "..."
            self.error(name, f"looks like a spreadsheet formula ({shown!r}); formulas are not imported")
            return ""
        if MIXED_MARK in text:
            self.error(
                name,
                "contains bytes that are not valid UTF-8 (file mixes encodings); fix and re-save as UTF-8",
            )
            return ""
        if not html_allowed and sanitise.has_html(text):
            stripped = sanitise.clean_cell(sanitise.strip_html(text))
            self.warn(name, "HTML tags removed")
            text = stripped
        return text

    def items(self, name: str) -> list[str]:
        text = self.text(name)
        return sanitise.split_multi(text) if text else []


def _validation_errors(row: _Row, exc: ValidationError, fields: dict[str, str]) -> None:
    for err in exc.errors():
        loc = str(err["loc"][0]) if err["loc"] else None
        canonical = fields.get(loc or "", loc)
        row.error(canonical, str(err["msg"]))


def build_recommendation(record: Record, ctx: Context) -> ParsedRow | list[RowError]:
    row = _Row(record)
    text = row.text("text")
    text_km = row.text("text_km") or None
    paragraph = row.text("paragraph") or None
    if paragraph is not None:
        paragraph = paragraph.rstrip(".")
        if not identity.PARAGRAPH.match(paragraph):
            row.error("paragraph", f"{paragraph!r} is not a paragraph number like 110.23")
    # UHRI and the OHCHR matrix put the paragraph number at the start of the text.
    prefix, rest = identity.split_paragraph_prefix(text)
    if prefix is not None and (paragraph is None or paragraph == prefix):
        paragraph, text = prefix, rest.strip()
    if not text and not any(e.field == row.column("text") for e in row.errors):
        row.error("text", "recommendation text is empty")
    elif len(text) > MAX_TEXT_CHARS:
        row.error("text", f"text is {len(text)} characters; at most {MAX_TEXT_CHARS} are accepted")

    given_id = row.text("recommendation_id") or None
    country: str | None = ctx.country
    if country is None:
        name = row.text("country")
        if name:
            names = sanitise.split_multi(name)
            if len(names) > 1:
                row.error("country", f"several countries concerned ({', '.join(names)}); expected one")
            else:
                country = countries.iso3(names[0]) if names else None
                if country is None:
                    row.error("country", f"{name!r} is not a country name or ISO code")
        elif given_id and identity.ID_PATTERN.match(given_id):
            country = given_id[:3]
        elif not row.errors:
            row.error("country", "no country under review: add the column or give --country")

    session: int | None = None
    if row.raw("session") not in (None, ""):
        try:
            session = _as_int(row.raw("session"))
            if not 1 <= session <= 200:
                raise ValueError(f"{session} is not a UPR session number")
        except ValueError as exc:
            row.error("session", str(exc))

    cycle: int | None = ctx.cycle
    if cycle is None and row.raw("cycle") not in (None, ""):
        try:
            cycle = _as_int(row.raw("cycle"))
        except ValueError as exc:
            row.error("cycle", str(exc))
    if cycle is None and session is not None:
        cycle = identity.cycle_for_session(session)
    if cycle is None and not any(e.field in (row.column("cycle"), row.column("session")) for e in row.errors):
        row.error("cycle", "cycle unknown: the file gives no cycle or session; give --cycle")

    position_text = row.text("position")
    position = normalise_position(position_text) if position_text else None
    if position is None and not any(e.field == row.column("position") for e in row.errors):
        shown = position_text or "(empty)"
        row.error("position", f"position {shown!r} is neither Supported nor Noted")

    states: list[RecommendingState] = []
    for name in countries.split_states(row.text("states")):
        code = countries.iso3(name)
        if code is None:
            row.warn("states", f"recommending state {name!r} not recognised; kept by name")
            states.append(RecommendingState(code=(name[:10].strip() or "??").ljust(2, "?"), name=name[:200]))
        elif all(s.code != code for s in states):
            states.append(RecommendingState(code=code, name=countries.display_name(code)))

    publication_date: date | None = None
    raw_date = row.raw("publication_date")
    if raw_date not in (None, ""):
        try:
            publication_date = parse_date(raw_date)
        except ValueError as exc:
            row.error("publication_date", str(exc))

    action_category: int | None = None
    if row.raw("action_category") not in (None, ""):
        try:
            action_category = _as_int(row.raw("action_category"))
            if not 1 <= action_category <= 5:
                raise ValueError(f"action category {action_category} is not between 1 and 5")
        except ValueError as exc:
            row.error("action_category", str(exc))

    if given_id is not None and not identity.ID_PATTERN.match(given_id):
        row.error("recommendation_id", f"{given_id!r} is not an id like KHM-4-110.23")

    if row.errors or country is None or cycle is None or position is None:
        return row.errors or [RowError(record.row, None, "row could not be read")]

    rec_id = given_id or identity.recommendation_id(country, cycle, paragraph, text)
    if not identity.ID_PATTERN.match(rec_id):
        row.error("paragraph", f"cannot make a recommendation id from paragraph {paragraph!r}")
        return row.errors
    symbol = row.text("document_symbol") or None
    try:
        recommendation = RecommendationImportedV1(
            recommendation_id=rec_id,
            country=country,
            cycle=cycle,
            session=session,
            document_symbol=symbol[:100] if symbol else None,
            paragraph=paragraph,
            text=text,
            text_km=text_km,
            recommending_states=states,
            position=position,
            source_themes=row.items("source_themes"),
            affected_persons=row.items("affected_persons"),
            sdgs=row.items("sdgs"),
            action_category=action_category,
            publication_date=publication_date,
            source=SourceRef(format=ctx.format, file_name=ctx.file_name[-300:], row=record.row),
            import_id=ctx.import_id,
        )
    except ValidationError as exc:
        _validation_errors(row, exc, {"recommending_states": "states"})
        return row.errors
    if row.errors:  # raised by the list fields (formulas inside themes, ...)
        return row.errors
    return ParsedRow(row=record.row, recommendation=recommendation, warnings=tuple(row.warnings))


def evidence_id_for(values: list[str]) -> str:
    digest = hashlib.sha256("\x1f".join(values).encode("utf-8")).hexdigest()[:16]
    return f"ev-{digest}"


def build_evidence(record: Record, ctx: Context) -> ParsedEvidence | list[RowError]:
    row = _Row(record)
    ids = [i.strip() for i in re.split(r"[\s,;]+", row.text("recommendation_ids")) if i.strip()]
    bad = [i for i in ids if not identity.ID_PATTERN.match(i)]
    if not ids and not row.errors:
        row.error("recommendation_ids", "no recommendation id (e.g. KHM-4-110.23)")
    elif bad:
        row.error("recommendation_ids", f"not recommendation ids: {', '.join(bad[:5])}")
    source_type_text = row.text("source_type").casefold().replace(" ", "_").replace("/", "_")
    try:
        source_type = EvidenceSourceType(source_type_text)
    except ValueError:
        allowed = ", ".join(t.value for t in EvidenceSourceType)
        row.error("source_type", f"{source_type_text or '(empty)'!r} is not one of: {allowed}")
        source_type = EvidenceSourceType.UN_DOCUMENT
    title = row.text("title")
    if not title and not any(e.field == row.column("title") for e in row.errors):
        row.error("title", "title is empty")
    published_on: date | None = None
    if row.raw("published_on") not in (None, ""):
        try:
            published_on = parse_date(row.raw("published_on"))
        except ValueError as exc:
            row.error("published_on", str(exc))
    fields: dict[str, Any] = {
        "recommendation_ids": ids,
        "source_type": source_type,
        "title": title,
        "url": row.text("url") or None,
        "document_reference": row.text("document_reference") or None,
        "published_on": published_on,
        "quote": row.text("quote"),
        "organisation": row.text("organisation") or None,
        "visibility": row.text("visibility").casefold() or "coalition",
        "language": row.text("language").casefold() or "en",
    }
    given = row.text("evidence_id")
    fields["evidence_id"] = given or evidence_id_for(
        [",".join(ids), source_type.value, title, str(fields["url"]), fields["quote"]]
    )
    if row.errors:
        return row.errors
    try:
        evidence = EvidenceSubmittedV1(**fields)
    except ValidationError as exc:
        _validation_errors(row, exc, {})
        return row.errors
    return ParsedEvidence(row=record.row, evidence=evidence, warnings=tuple(row.warnings))
