"""One source row (already split into fields) -> a recommendation or evidence, or errors."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from contracts.events import (
    MAX_TEXT_CHARS,
    EvidenceSourceType,
    EvidenceSubmittedV1,
    Position,
    RecommendingState,
)
from services.ingest.domain import construct, countries, identity, sanitise
from services.ingest.domain.model import MIXED_MARK, ParsedEvidence, ParsedRow, RowError

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
# A session (cycle, category) number in the usual spellings: "18", "18.0", "18th session",
# "Session 18", "UPR 18", "WG 18", "UPR session no. 18", "18th UPR session", "2nd cycle".
_WORDS = r"(?:upr|wg|working\s+group|session|cycle)"
_WHOLE_NUMBER = re.compile(
    rf"\s*(?:{_WORDS}\s*)*(?:no\.?\s*|n[o°º]\s*|#\s*)?"
    rf"(?P<number>\d{{1,3}})(?:\.0+)?(?:\s*(?:st|nd|rd|th))?(?:\s*{_WORDS})*\s*",
    re.I,
)
_EXCEL_SERIAL = re.compile(r"\d{4,5}(\.\d+)?")
_SPACES = re.compile(r"\s+")
_ID_SEPARATORS = re.compile(r"[\s,;]+")
_LONE_BULLETS = frozenset({"-", "•", "*"})

# Cells that repeat across the rows of a file (countries, states, themes, positions,
# sessions, dates, document symbols) are cleaned once per distinct value: bounded
# caches, so memory stays flat however big the file. Only plain values are cached
# (``typed``: 1, 1.0 and True are different cells).
_CACHE_SIZE = 16_384
_CACHEABLE = frozenset({str, int, float, bool, date, datetime})


@dataclass(frozen=True)
class Context:
    """What the caller knows about the whole file."""

    format: str
    file_name: str
    import_id: str
    cycle: int | None = None
    country: str | None = None


@dataclass(slots=True)  # (one per row read, two or three times per row)
class Record:
    """One data row: canonical field -> cell, and the column header of each field."""

    row: int
    values: dict[str, Cell]
    header: dict[str, str]
    # Extra problems found while reading the row (e.g. bytes invalid in the encoding).
    problems: list[RowError] = field(default_factory=list)


def normalise_position(value: str) -> Position | None:
    key = _SPACES.sub(" ", value.strip().casefold())
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
    if _EXCEL_SERIAL.fullmatch(text):
        return excel_serial_to_date(float(text))
    try:  # 2014-06-27, 2014-06-27T10:00:00, with a time zone too
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    text = _SPACES.sub(" ", text)
    for fmt in (
        "%Y-%m-%d",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%d/%m/%Y",
        "%d.%m.%Y",
        "%d %B %Y",
        "%d %b %Y",
        "%B %d, %Y",
        "%b %d, %Y",
        "%d-%b-%Y",
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
    match = _WHOLE_NUMBER.fullmatch(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a whole number")
    return int(match.group("number"))


def _as_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


# What cleaning one cell gives: (text, problem, problem_is_warning); problem is None
# when the cell is fine. The row number and column name are added by _Row.
CellText = tuple[str, str | None, bool]
_FINE: CellText = ("", None, False)
_NO_ITEMS: tuple[tuple[str, ...], str | None, bool] = ((), None, False)


def _formula_problem(text: str) -> str | None:
    if text[:1] in sanitise.FORMULA_START and sanitise.looks_like_formula(text):
        shown = text if len(text) <= 60 else text[:57] + "..."
        return f"looks like a spreadsheet formula ({shown!r}); formulas are not imported"
    return None


def clean_text_cell(value: Cell, *, html_allowed: bool = False, single: bool = False) -> CellText:
    """A cleaned string ("" when absent): HTML removed (with a warning), then formulas
    refused. ``single``: a single-valued field, read without its UHRI bullets and line
    breaks (:func:`sanitise.single_value`)."""
    if value is None:
        return _FINE
    if type(value) is str and sanitise.is_plain(value):
        return value, None, False  # (nothing to clean, nothing refused: the checks below keep it)
    text = sanitise.clean_cell(value if type(value) is str else _as_text(value))
    if not text:
        return _FINE
    if MIXED_MARK in text:
        return (
            "",
            "contains bytes that are not valid UTF-8 (file mixes encodings); fix and re-save as UTF-8",
            False,
        )
    warning: str | None = None
    # Tags first, formulas after: "<b></b>=HYPERLINK(...)" is a formula once stripped.
    if not html_allowed and "<" in text and sanitise.has_html(text):
        text, warning = sanitise.clean_cell(sanitise.strip_html(text)), "HTML tags removed"
    if single:
        text, problem = sanitise.single_value(text)
        if problem is not None:
            return "", problem, False
    # (clean_cell strips: the first character tells whether it may be a formula)
    problem = _formula_problem(text)
    if problem is not None:
        return "", problem, False
    return text, warning, warning is not None


def clean_single_cell(value: Cell) -> CellText:
    """:func:`clean_text_cell` for a single-valued field (country, position, session ...)."""
    return clean_text_cell(value, single=True)


# Per-value functions for the cells that repeat, each with a bounded cache; call the
# cached one for str cells (nearly all of them) and the plain one for the others.


def _items_of(value: Cell) -> tuple[tuple[str, ...], str | None, bool]:
    text, problem, warning = clean_text_cell(value)
    items = tuple(sanitise.split_multi(text)) if text else ()
    for item in items:  # "- Children\n- =HYPERLINK(...)": each item is a cell of its own
        formula = _formula_problem(item)
        if formula is not None:
            return (), formula, False
    return items, problem, warning


def _position_of(value: Cell) -> tuple[CellText, Position | None]:
    cell = clean_single_cell(value)
    return cell, (normalise_position(cell[0]) if cell[0] else None)


def _states_of(value: Cell) -> tuple[CellText, tuple[RecommendingState, ...], tuple[str, ...]]:
    """The cleaned cell, its recommending states, and the warnings (names not recognised).
    RecommendingState is frozen: the same instances are shared by the rows."""
    cell = clean_text_cell(value)
    states: list[RecommendingState] = []
    warnings: list[str] = []
    for name in countries.split_states(cell[0]):
        formula = _formula_problem(name)
        if formula is not None:
            return ("", formula, False), (), ()
        code = countries.iso3(name)
        if code is None:
            warnings.append(f"recommending state {name!r} not recognised; kept by name")
            states.append(RecommendingState(code=(name[:10].strip() or "??").ljust(2, "?"), name=name[:200]))
        elif all(s.code != code for s in states):
            states.append(RecommendingState(code=code, name=countries.display_name(code)))
    return cell, tuple(states), tuple(warnings)


def _country_of(value: Cell) -> tuple[CellText, str | None, str | None]:
    """The cleaned "country" cell, its ISO3 code and the error (for a non-empty cell)."""
    cell = clean_text_cell(value)
    name = cell[0]
    if not name:
        return cell, None, None
    # "- Cambodia" and lines that repeat the same country are one country.
    names = list({countries.iso3(n) or n.casefold(): n for n in sanitise.split_multi(name)}.values())
    if len(names) > 1:
        return cell, None, f"several countries concerned ({', '.join(names)}); expected one"
    country = countries.iso3(names[0]) if names else None
    if country is None:
        return cell, None, f"{name!r} is not a country name or ISO code"
    return cell, country, None


def _free_text_of(value: Cell) -> CellText:
    text, problem, warning = clean_text_cell(value)
    if text and (problem is None or warning):
        bare = sanitise.strip_leading_bullet(text)
        if bare != text:
            formula = _formula_problem(bare)  # "- =HYPERLINK(...)" is a formula once bare
            if formula is not None:
                return "", formula, False
            text = bare
    return text, problem, warning


def _int_of(value: Cell) -> tuple[int | None, str | None]:
    """(whole number, None) or (None, why not) for a session / cycle / category cell."""
    if type(value) is str:
        value, problem, _ = clean_single_cell(value)
        if problem is not None:
            return None, problem
    try:
        return _as_int(value), None
    except ValueError as exc:
        return None, str(exc)


def _date_of(value: Cell) -> tuple[date | None, str | None]:
    if type(value) is str:
        value, problem, _ = clean_single_cell(value)
        if problem is not None:
            return None, problem
    try:
        return parse_date(value), None
    except ValueError as exc:
        return None, str(exc)


_single_cached = lru_cache(maxsize=_CACHE_SIZE, typed=True)(clean_single_cell)
_items_cached = lru_cache(maxsize=_CACHE_SIZE, typed=True)(_items_of)
_position_cached = lru_cache(maxsize=_CACHE_SIZE, typed=True)(_position_of)
_states_cached = lru_cache(maxsize=_CACHE_SIZE, typed=True)(_states_of)
_country_cached = lru_cache(maxsize=_CACHE_SIZE, typed=True)(_country_of)
_int_cached = lru_cache(maxsize=_CACHE_SIZE, typed=True)(_int_of)
_date_cached = lru_cache(maxsize=_CACHE_SIZE, typed=True)(_date_of)


class _Row:
    """Collects the errors and warnings of one record."""

    __slots__ = ("errors", "record", "warnings")

    def __init__(self, record: Record) -> None:
        self.record = record
        self.errors: list[RowError] = list(record.problems) if record.problems else []
        self.warnings: list[RowError] = []

    def column(self, name: str) -> str:
        return self.record.header.get(name, name)

    def error(self, name: str | None, message: str) -> None:
        self.errors.append(RowError(self.record.row, self.column(name) if name else None, message))

    def warn(self, name: str | None, message: str) -> None:
        self.warnings.append(RowError(self.record.row, self.column(name) if name else None, message, warning=True))

    def report(self, name: str, message: str, warning: bool) -> None:
        """The problem of a cleaned cell."""
        if warning:
            self.warn(name, message)
        else:
            self.error(name, message)

    def raw(self, name: str) -> Cell:
        return self.record.values.get(name)

    def text(self, name: str, *, html_allowed: bool = False, single: bool = False) -> str:
        """A cleaned string field ("" when absent); formulas refused, HTML removed;
        ``single``: a single-valued field (UHRI bullets removed, one value)."""
        value = self.record.values.get(name)
        if value is None:
            return ""
        text, problem, warning = clean_text_cell(value, html_allowed=html_allowed, single=single)
        if problem is not None:
            self.report(name, problem, warning)
        return text

    def free_text(self, name: str) -> str:
        """A free-text field (recommendation text): several lines allowed; a leading
        bullet (``"- Ratify ..."``, UHRI's one-item list) removed."""
        value = self.record.values.get(name)
        if value is None:
            return ""
        text, problem, warning = _free_text_of(value)
        if problem is not None:
            self.report(name, problem, warning)
        return text

    def items(self, name: str) -> list[str]:
        value = self.record.values.get(name)
        if value is None:
            return []
        items, problem, warning = _items_cached(value) if type(value) is str else _items_of(value)
        if problem is not None:
            self.report(name, problem, warning)
        return list(items)


def _validation_errors(row: _Row, exc: ValidationError, fields: dict[str, str]) -> None:
    for err in exc.errors():
        loc = str(err["loc"][0]) if err["loc"] else None
        canonical = fields.get(loc or "", loc)
        row.error(canonical, str(err["msg"]))


# What decides a recommendation's id: row, text, text_km, paragraph, given id, country,
# session, cycle (the first part of build_recommendation, shared with candidate_id),
# from the fields HEAD_FIELDS (and no other).
HEAD_FIELDS = frozenset({"text", "text_km", "paragraph", "recommendation_id", "country", "session", "cycle"})
_Head = tuple[_Row, str, str | None, str | None, str | None, str | None, int | None, int | None]


def _head(record: Record, ctx: Context) -> _Head:
    row = _Row(record)
    get = record.values.get
    text = row.free_text("text")
    text_km = row.free_text("text_km") or None if get("text_km") is not None else None
    paragraph = row.text("paragraph", single=True) or None if get("paragraph") is not None else None
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

    given_id = row.text("recommendation_id", single=True) or None if get("recommendation_id") is not None else None
    country_value, session_value, cycle_value = get("country"), get("session"), get("cycle")
    if (
        ctx.country is None
        and ctx.cycle is None
        and type(country_value) is str
        and (session_value is None or type(session_value) is str)
        and (cycle_value is None or type(cycle_value) is str)
    ):
        place = _place_cached(country_value, session_value, cycle_value)
        if place is not None:
            return row, text, text_km, paragraph, given_id, *place
    country, session, cycle = _place(row, ctx, given_id, country_value, session_value, cycle_value)
    return row, text, text_km, paragraph, given_id, country, session, cycle


def _place(
    row: _Row, ctx: Context, given_id: str | None, country_value: Cell, session_value: Cell, cycle_value: Cell
) -> tuple[str | None, int | None, int | None]:
    """Country, session and cycle of a row, and their errors."""
    country = ctx.country if ctx.country is not None else _read_country(row, given_id, country_value)
    session = _read_session(row, session_value)
    cycle = ctx.cycle if ctx.cycle is not None else _read_cycle(row, cycle_value, session)
    return country, session, cycle


def _read_country(row: _Row, given_id: str | None, value: Cell) -> str | None:
    """The country of the column, else of a given id; an error when neither names one."""
    country: str | None = None
    name = ""
    if value is not None:
        cell, country, problem = _country_cached(value) if type(value) is str else _country_of(value)
        name = cell[0]
        if cell[1] is not None:
            row.report("country", cell[1], cell[2])
        if problem is not None:
            row.error("country", problem)
    if name:
        pass
    elif given_id and identity.ID_PATTERN.match(given_id):
        country = given_id[:3]
    elif not row.errors:
        row.error("country", "no country under review: add the column or give --country")
    return country


def _read_session(row: _Row, value: Cell) -> int | None:
    if value in (None, ""):
        return None
    number, problem = _int_cached(value) if type(value) is str else _int_of(value)
    if number is None:
        row.error("session", problem or "")
        return None
    # Kept even when out of range: the cycle is derived from it all the same.
    if not 1 <= number <= 200:
        row.error("session", f"{number} is not a UPR session number")
    return number


def _read_cycle(row: _Row, value: Cell, session: int | None) -> int | None:
    """The cycle of the column, else of the session; an error when neither gives one."""
    cycle: int | None = None
    if value not in (None, ""):
        cycle, problem = _int_cached(value) if type(value) is str else _int_of(value)
        if cycle is None:
            row.error("cycle", problem or "")
    if cycle is None and session is not None and session >= 1:  # (session 0 or less: an error already)
        cycle = identity.cycle_for_session(session)
    if cycle is None and not any(e.field in (row.column("cycle"), row.column("session")) for e in row.errors):
        row.error("cycle", "cycle unknown: the file gives no cycle or session; give --cycle")
    return cycle


@lru_cache(maxsize=_CACHE_SIZE, typed=True)
def _place_cached(
    country_value: str, session_value: str | None, cycle_value: str | None
) -> tuple[str, int | None, int] | None:
    """What :func:`_place` gives for these cells (and no --country, no --cycle) when it
    finds no problem at all; None when it would report one (then it is called)."""
    cell, country, problem = _country_of(country_value)
    if country is None or problem is not None or cell[1] is not None or not cell[0]:
        return None
    session: int | None = None
    if session_value not in (None, ""):
        session, problem = _int_of(session_value)
        if session is None or not 1 <= session <= 200:
            return None
    cycle: int | None = None
    if cycle_value not in (None, ""):
        cycle, problem = _int_of(cycle_value)
    elif session is not None:
        cycle = identity.cycle_for_session(session)
    if cycle is None:
        return None
    return country, session, cycle


def candidate_id(record: Record, ctx: Context) -> str | None:
    """The id :func:`build_recommendation` gives this record if it is valid; ``None`` when
    the record is certainly not a valid recommendation. Cheaper than building it (no
    position, states, dates, lists or model): used to find the ids seen more than once.
    Raises where :func:`build_recommendation` raises."""
    row, text, _, paragraph, given_id, country, _, cycle = _head(record, ctx)
    if row.errors or country is None or cycle is None:
        return None
    rec_id = given_id or identity.recommendation_id(country, cycle, paragraph, text)
    return rec_id if identity.ID_PATTERN.match(rec_id) else None


def _read_position(row: _Row, value: Cell) -> Position | None:
    position: Position | None = None
    position_text = ""
    if value is not None:
        cell, position = _position_cached(value) if type(value) is str else _position_of(value)
        position_text = cell[0]
        if cell[1] is not None:
            row.report("position", cell[1], cell[2])
    if position is None and not any(e.field == row.column("position") for e in row.errors):
        shown = position_text or "(empty)"
        row.error("position", f"position {shown!r} is neither Supported nor Noted")
    return position


def _read_states(row: _Row, value: Cell) -> list[RecommendingState]:
    states: list[RecommendingState] = []
    if value is not None:
        cell, found, unknown = _states_cached(value) if type(value) is str else _states_of(value)
        if cell[1] is not None:
            row.report("states", cell[1], cell[2])
        states.extend(found)
        for message in unknown:
            row.warn("states", message)
    return states


def _read_publication_date(row: _Row, value: Cell) -> date | None:
    if value in (None, ""):
        return None
    publication_date, problem = _date_cached(value) if type(value) in _CACHEABLE else _date_of(value)
    if publication_date is None:
        row.error("publication_date", problem or "")
    return publication_date


def _read_action_category(row: _Row, value: Cell) -> int | None:
    if value in (None, ""):
        return None
    action_category, problem = _int_cached(value) if type(value) is str else _int_of(value)
    if action_category is None:
        row.error("action_category", problem or "")
    elif not 1 <= action_category <= 5:
        row.error("action_category", f"action category {action_category} is not between 1 and 5")
    return action_category


def _read_document_symbol(row: _Row, value: Cell) -> str | None:
    if value is None:
        return None
    cell = _single_cached(value) if type(value) is str else clean_single_cell(value)
    if cell[1] is not None:
        row.report("document_symbol", cell[1], cell[2])
    return cell[0][:100] or None


def build_recommendation(record: Record, ctx: Context) -> ParsedRow | list[RowError]:
    """One recommendation from a row (one reader per field), or the row's errors."""
    row, text, text_km, paragraph, given_id, country, session, cycle = _head(record, ctx)
    get = record.values.get
    position = _read_position(row, get("position"))
    states = _read_states(row, get("states"))
    publication_date = _read_publication_date(row, get("publication_date"))
    action_category = _read_action_category(row, get("action_category"))

    if given_id is not None and not identity.ID_PATTERN.match(given_id):
        row.error("recommendation_id", f"{given_id!r} is not an id like KHM-4-110.23")

    if row.errors or country is None or cycle is None or position is None:
        return row.errors or [RowError(record.row, None, "row could not be read")]

    rec_id = given_id or identity.recommendation_id(country, cycle, paragraph, text)
    if not identity.ID_PATTERN.match(rec_id):
        row.error("paragraph", f"cannot make a recommendation id from paragraph {paragraph!r}")
        return row.errors
    symbol = _read_document_symbol(row, get("document_symbol"))
    fields: dict[str, Any] = {
        "recommendation_id": rec_id,
        "country": country,
        "cycle": cycle,
        "session": session,
        "document_symbol": symbol,
        "paragraph": paragraph,
        "text": text,
        "text_km": text_km,
        "recommending_states": states,
        "position": position,
        "source_themes": row.items("source_themes"),
        "affected_persons": row.items("affected_persons"),
        "sdgs": row.items("sdgs"),
        "action_category": action_category,
        "publication_date": publication_date,
        # Always valid (a known format, a cut name, a row number): validated with the rest.
        "source": {"format": ctx.format, "file_name": ctx.file_name[-300:], "row": record.row},
        "import_id": ctx.import_id,
    }
    value = get("annotation_id")
    # (read before the model is built, a row that carries one becomes v2 in one step; it
    # gives warnings only)
    annotation = _annotation_of(row, value) if value not in (None, "") else None
    try:
        recommendation = construct.row_recommendation(fields, annotation)
    except ValidationError as exc:
        _validation_errors(row, exc, {"recommending_states": "states"})
        return row.errors
    if row.errors:  # raised by the list fields (formulas inside themes, ...)
        return row.errors
    return ParsedRow(record.row, recommendation, tuple(row.warnings))


_ANNOTATION = re.compile(r"[A-Za-z0-9._\-]{1,64}", re.ASCII)


def _annotation_of(row: _Row, value: Cell) -> str | None:
    """OHCHR's annotation id (UHRI: "OHCHR Annotation Id", a number); a malformed one is left
    out with a warning: the recommendation itself is fine."""
    if type(value) is str and sanitise.is_plain(value):
        # Unique to its row: nothing to clean, and not cached (it would push out the cells
        # that repeat).
        cell: CellText = (value, None, False)
    else:
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # a number cell: 1000000.0
        cell = clean_single_cell(value)
    if cell[1] is not None:
        row.report("annotation_id", cell[1], True)
    text = cell[0]
    if not text:
        return None
    if _ANNOTATION.fullmatch(text) is None:
        row.warn("annotation_id", f"{text[:40]!r} is not an OHCHR annotation id: left out")
        return None
    return text


def evidence_id_for(values: list[str]) -> str:
    digest = hashlib.sha256("\x1f".join(values).encode("utf-8")).hexdigest()[:16]
    return f"ev-{digest}"


def build_evidence(record: Record, ctx: Context) -> ParsedEvidence | list[RowError]:
    row = _Row(record)
    ids = [
        i.strip()
        for i in _ID_SEPARATORS.split(row.text("recommendation_ids"))
        if i.strip() and i.strip() not in _LONE_BULLETS  # "- KHM-1-82.1" one per line
    ]
    bad = [i for i in ids if not identity.ID_PATTERN.match(i)]
    if not ids and not row.errors:
        row.error("recommendation_ids", "no recommendation id (e.g. KHM-4-110.23)")
    elif bad:
        row.error("recommendation_ids", f"not recommendation ids: {', '.join(bad[:5])}")
    source_type_text = row.text("source_type", single=True).casefold().replace(" ", "_").replace("/", "_")
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
        published_on, problem = _date_of(row.raw("published_on"))
        if published_on is None:
            row.error("published_on", problem or "")
    fields: dict[str, Any] = {
        "recommendation_ids": ids,
        "source_type": source_type,
        "title": title,
        "url": row.text("url", single=True) or None,
        "document_reference": row.text("document_reference", single=True) or None,
        "published_on": published_on,
        "quote": row.text("quote"),
        "organisation": row.text("organisation", single=True) or None,
        "visibility": row.text("visibility", single=True).casefold() or "coalition",
        "language": row.text("language", single=True).casefold() or "en",
    }
    given = row.text("evidence_id", single=True)
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
