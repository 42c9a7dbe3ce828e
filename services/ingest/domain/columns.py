"""The columns each format has, mapped to the fields of a recommendation.

Header matching ignores case, surrounding spaces, a BOM and UHRI's misspelling
("Reccomending"); columns not listed here are ignored (UPR Info's ``Issue`` and
``Action`` on purpose: that data may not be copied into the product).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from services.ingest.domain import model


def header_key(name: object) -> str:
    text = "" if name is None else str(name)
    text = text.replace("\ufeff", "").replace("\u00a0", " ")
    text = re.sub(r"\s+", " ", text).strip().casefold()
    return text.replace("reccomending", "recommending")


@dataclass(frozen=True)
class Layout:
    """canonical field -> accepted header names; ``required`` fields must be present."""

    columns: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    # Headers that identify the format when sniffing (all must be present).
    signature: tuple[str, ...] = field(default=())


UPR_INFO = Layout(
    columns={
        "country": ("To",),
        "text": ("Text",),
        "states": ("From",),
        "position": ("Response",),
        "session": ("Session",),
    },
    required=("country", "text", "states", "position"),
    signature=("To", "Text", "From", "Response"),
)

UPR_INFO_CLEAN = Layout(
    columns={
        "cycle": ("cycle",),
        "session": ("session",),
        "document_symbol": ("document_symbol",),
        "paragraph": ("paragraph",),
        "recommendation_id": ("recommendation_id",),
        "text": ("text",),
        "states": ("recommending_state", "recommending_states"),
        "position": ("response", "position"),
    },
    required=("text", "states", "position"),
    signature=("recommendation_id", "paragraph", "recommending_state", "response"),
)

# The 16 columns of an OHCHR UHRI export, in order and spelt as OHCHR spells them.
UHRI_EXPORT_COLUMNS: tuple[str, ...] = (
    "Text",
    "Countries Concerned",
    "Reccomending Body",
    "Document Symbol",
    "Themes",
    "Affected Persons",
    "Sdgs",
    "Document Publication Date",
    "UPR Reccomending States",
    "UPR Position",
    "Type",
    "OHCHR Annotation Id",
    "UPR Session",
    "Regions Concerned",
    "Recommending Regions",
    "Date of publication on UHRI",
)

UHRI = Layout(
    columns={
        "text": ("Text",),
        "country": ("Countries Concerned",),
        "document_symbol": ("Document Symbol",),
        "source_themes": ("Themes",),
        "affected_persons": ("Affected Persons",),
        "sdgs": ("Sdgs", "SDGs"),
        "publication_date": ("Document Publication Date",),
        "states": ("UPR Reccomending States", "UPR Recommending States"),
        "position": ("UPR Position",),
        "session": ("UPR Session",),
        "annotation_id": ("OHCHR Annotation Id",),
    },
    required=("text", "country", "position"),
    signature=("Text", "Countries Concerned", "UPR Position"),
)

# The project's own recommendations template (write_recommendation_template).
TEMPLATE = Layout(
    columns={
        "recommendation_id": ("recommendation_id",),
        "country": ("country",),
        "cycle": ("cycle",),
        "session": ("session",),
        "document_symbol": ("document_symbol",),
        "paragraph": ("paragraph",),
        "text": ("text",),
        "text_km": ("text_km",),
        "states": ("recommending_states",),
        "position": ("position",),
        "source_themes": ("source_themes",),
        "affected_persons": ("affected_persons",),
        "sdgs": ("sdgs",),
        "action_category": ("action_category",),
        "publication_date": ("publication_date",),
    },
    required=("country", "text", "states", "position"),
    signature=("country", "text", "recommending_states", "position"),
)

EVIDENCE_TEMPLATE = Layout(
    columns={
        "evidence_id": ("evidence_id",),
        "recommendation_ids": ("recommendation_ids",),
        "source_type": ("source_type",),
        "title": ("title",),
        "url": ("url",),
        "document_reference": ("document_reference",),
        "published_on": ("published_on",),
        "quote": ("quote",),
        "organisation": ("organisation",),
        "visibility": ("visibility",),
        "language": ("language",),
    },
    required=("recommendation_ids", "source_type", "title"),
    signature=("recommendation_ids", "source_type", "title"),
)

# The fields a column of an unknown layout can be mapped to (``upr import --map FIELD=COLUMN``),
# in the users' words.
MAPPABLE_FIELDS: dict[str, str] = {
    "text": "recommendation text",
    "states": "recommending state(s)",
    "position": "Supported / Noted",
    "country": "state under review (or --country)",
    "paragraph": "paragraph number, e.g. 110.23",
    "cycle": "UPR cycle (or --cycle)",
    "session": "UPR session number",
    "document_symbol": "report symbol, e.g. A/HRC/13/4",
    "recommendation_id": "id such as KHM-4-110.23",
    "text_km": "Khmer text",
    "source_themes": "themes (one per line or ';')",
    "affected_persons": "affected persons",
    "sdgs": "SDG targets",
    "action_category": "UPR Info action category 1-5",
    "publication_date": "date of the report",
    "annotation_id": "OHCHR annotation id (UHRI)",
}
MAPPED_REQUIRED: tuple[str, ...] = ("text", "states", "position")


class MappingProblem(ValueError):
    """A column mapping that cannot be used; the message lists the fields."""


def fields_help(country_given: bool = False) -> str:
    """Every mappable field, the required ones marked: for error messages and --help."""
    required = {*MAPPED_REQUIRED, *(() if country_given else ("country",))}
    return "; ".join(
        f"{name}{' (required)' if name in required else ''}: {what}" for name, what in MAPPABLE_FIELDS.items()
    )


def mapped_layout(mapping: dict[str, str], *, country_given: bool = False) -> Layout:
    """The layout of a file whose columns a person mapped: field -> column header.
    Every mapped column must be in the file; the required fields must be mapped."""
    unknown = [name for name in mapping if name not in MAPPABLE_FIELDS]
    if unknown:
        raise MappingProblem(
            f"unknown field{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"the fields are: {fields_help(country_given)}"
        )
    required = [*MAPPED_REQUIRED, *(() if country_given else ("country",))]
    missing = [name for name in required if name not in mapping]
    if missing:
        raise MappingProblem(
            f"required field{'s' if len(missing) > 1 else ''} not mapped: {', '.join(missing)} "
            f"(add --map FIELD=COLUMN{'' if country_given or 'country' not in missing else ' or --country'}); "
            f"the fields are: {fields_help(country_given)}"
        )
    # Every mapped column is required (the person said it is there); the signature picks
    # the sheet of a workbook that has these columns.
    return Layout(
        columns={name: (column,) for name, column in mapping.items()},
        required=tuple(mapping),
        signature=tuple(mapping.values()),
    )


LAYOUTS: dict[str, Layout] = {
    model.UPR_INFO_CSV: UPR_INFO,
    model.UPR_INFO_CLEAN_CSV: UPR_INFO_CLEAN,
    model.UHRI_CSV: UHRI,
    model.UHRI_XLSX: UHRI,
    model.TEMPLATE_XLSX: TEMPLATE,
    model.EVIDENCE_TEMPLATE_XLSX: EVIDENCE_TEMPLATE,
}


def matches(layout: Layout, headers: list[object]) -> bool:
    return signature_share(layout, headers) == 1.0


def signature_share(layout: Layout, headers: list[object]) -> float:
    """Share of the layout's signature headers present (a file missing one column still
    counts as that format, so the error can name the missing column)."""
    keys = {header_key(h) for h in headers}
    found = sum(1 for name in layout.signature if header_key(name) in keys)
    return found / len(layout.signature) if found >= 2 else 0.0


@dataclass(frozen=True)
class ColumnMap:
    """Where each field is in the rows of one file, and the header as the user wrote it."""

    index: dict[str, int]
    header: dict[str, str]
    ignored_unsafe: tuple[tuple[int, str], ...]
    # Derived from ``index``, to pick a row's fields fast: the highest position, and a
    # function giving the cells at the positions of ``index`` (in its order).
    last_index: int = field(init=False, repr=False, compare=False)
    take: Callable[[Sequence[Any]], tuple[Any, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        positions = tuple(self.index.values())
        object.__setattr__(self, "last_index", max(positions, default=-1))
        object.__setattr__(self, "take", _taker(positions))

    def only(self, fields: frozenset[str]) -> ColumnMap:
        """The same map, with only the given fields picked from the rows."""
        index = {name: i for name, i in self.index.items() if name in fields}
        return ColumnMap(index=index, header=self.header, ignored_unsafe=self.ignored_unsafe)


def _taker(positions: tuple[int, ...]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    if len(positions) >= 2:
        return itemgetter(*positions)
    if positions:
        only = positions[0]
        return lambda cells: (cells[only],)
    return lambda cells: ()


def resolve(layout: Layout, headers: list[object]) -> tuple[ColumnMap, list[str]]:
    """Map a header row; returns the map and the names of missing required columns."""
    positions: dict[str, int] = {}
    for i, name in enumerate(headers):
        key = header_key(name)
        if key and key not in positions:
            positions[key] = i
    index: dict[str, int] = {}
    header: dict[str, str] = {}
    for canonical, names in layout.columns.items():
        for name in names:
            pos = positions.get(header_key(name))
            if pos is not None:
                index[canonical] = pos
                header[canonical] = str(headers[pos]).replace("\ufeff", "").strip()
                break
    missing = [layout.columns[c][0] for c in layout.required if c not in index]
    unsafe = tuple(
        (i, str(h))
        for i, h in enumerate(headers)
        if h is not None and (str(h).strip().startswith("$") or "." in str(h)) and i not in index.values()
    )
    return ColumnMap(index=index, header=header, ignored_unsafe=unsafe), missing
