"""Cells unique to their row (OHCHR annotation ids) skip cleaning when a cheap test shows
there is nothing to clean: the shortcut must accept exactly what cleaning keeps unchanged
and send everything else (spaces, tags, formulas, bullets, control characters, non-ASCII)
through the full cleaning and checks."""

from __future__ import annotations

import pytest

from services.ingest.domain import ParsedRow, RowError, sanitise
from services.ingest.domain.records import (
    Cell,
    Context,
    Record,
    build_recommendation,
    clean_single_cell,
    clean_text_cell,
)
from services.ingest.domain.sanitise import is_plain

PLAIN = ["2000001", "ann.7_x-1", "A/HRC/13/4", "x", "Cambodia (KHM)", "a b"]
NOT_PLAIN = ["", " 2000002", "2000002 ", "- 2000003", "-1", "=1+2", "+SUM(A1)", "@x", "* 5", "<b>9</b>",
             "1\n1", "1\t1", "\u00a01", "é1", "Khmer ការពារ", "1\x0b2"]


@pytest.mark.parametrize("cell", PLAIN)
def test_a_plain_cell_is_what_cleaning_keeps_unchanged(cell: str) -> None:
    assert is_plain(cell)
    # each step the shortcut skips keeps it as it is and finds no problem
    assert sanitise.clean_cell(cell) == cell
    assert not sanitise.has_html(cell)
    assert sanitise.single_value(cell) == (cell, None)
    assert sanitise.strip_leading_bullet(cell) == cell
    assert not sanitise.looks_like_formula(cell)
    assert clean_single_cell(cell) == (cell, None, False)
    assert clean_text_cell(cell) == (cell, None, False)


@pytest.mark.parametrize("cell", NOT_PLAIN)
def test_cells_that_are_not_plain_still_get_every_check(cell: str) -> None:
    # what the full path gives, e.g. " 2000002" -> "2000002", "=1+2" -> refused
    assert clean_single_cell(cell) == clean_single_cell(cell + "\x00")  # (a control char forces the full path)


@pytest.mark.parametrize("cell", NOT_PLAIN)
def test_cells_that_need_cleaning_or_checks_are_not_plain(cell: str) -> None:
    assert not is_plain(cell)


def build(annotation: Cell) -> ParsedRow | list[RowError]:
    values: dict[str, Cell] = {"text": "82.1 Ratify the Convention", "country": "Cambodia", "states": "- France",
                               "position": "Supported", "session": "6", "annotation_id": annotation}
    header = {"annotation_id": "OHCHR Annotation Id"}
    return build_recommendation(Record(row=2, values=values, header=header),
                                Context(format="uhri_csv", file_name="x.csv", import_id="t"))


@pytest.mark.parametrize(
    ("cell", "kept", "warned"),
    [
        ("2000001", "2000001", False),
        (" 2000002 ", "2000002", False),
        ("- 2000003", "2000003", False),
        (2000004.0, "2000004", False),
        ("=1+2", None, True),
        ("<b>2000006</b>", "2000006", True),
        ("a b", None, True),
        ("é1", None, True),
    ],
)
def test_annotation_ids_are_cleaned_and_checked_with_or_without_the_shortcut(
    cell: Cell, kept: str | None, warned: bool
) -> None:
    built = build(cell)
    assert isinstance(built, ParsedRow)
    assert getattr(built.recommendation, "annotation_id", None) == kept
    assert any(w.field == "OHCHR Annotation Id" for w in built.warnings) == warned
