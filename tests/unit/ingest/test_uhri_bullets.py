"""Issue 14, "every cell may carry list bullets": OHCHR's UHRI export writes single-valued
cells as lists (``- Cambodia``, ``- Noted``, ``- 18``), sessions with words around the
number and dates in several forms. Each spelling is read as the value it stands for."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from services.ingest.domain import ParsedEvidence, ParsedRow, RowError
from services.ingest.domain.records import Cell, Context, Record, build_evidence, build_recommendation

CTX = Context(format="uhri_xlsx", file_name="export.xlsx", import_id="t")
HEADER = {"position": "UPR Position", "session": "UPR Session", "country": "Countries Concerned",
          "publication_date": "Document Publication Date", "document_symbol": "Document Symbol"}


def build(**cells: Cell) -> ParsedRow | list[RowError]:
    values: dict[str, Cell] = {
        "text": "82.1 Ratify the Convention on the Rights of Persons with Disabilities",
        "country": "Cambodia",
        "states": "- France",
        "position": "Supported",
        "session": "6",
        **cells,
    }
    return build_recommendation(Record(row=2, values=values, header=HEADER), CTX)


def row(**cells: Cell) -> ParsedRow:
    built = build(**cells)
    assert isinstance(built, ParsedRow), built
    return built


@pytest.mark.parametrize(
    "cell", ["Cambodia", "- Cambodia", "• Cambodia", "  - Cambodia  ", "- Cambodia\n", "- Cambodia\r\n- Cambodia"]
)
def test_country_cell_with_bullets_is_the_country(cell: str) -> None:
    assert row(country=cell).recommendation.country == "KHM"


@pytest.mark.parametrize(
    ("cell", "position"),
    [("- Noted", "Noted"), ("• Supported", "Supported"), (" - Noted \n", "Noted"), ("- Noted\n- noted", "Noted")],
)
def test_position_cell_with_bullets_is_the_position(cell: str, position: str) -> None:
    assert row(position=cell).recommendation.position.value == position


@pytest.mark.parametrize(
    "cell",
    ["18", "- 18", "• 18", "18th session", "- 18th session", "Session 18", "UPR 18", "WG 18", "18th UPR session",
     "UPR session 18", "- 18\n- 18", 18, 18.0],
)
def test_session_in_any_usual_spelling_is_the_number(cell: Cell) -> None:
    rec = row(session=cell).recommendation
    assert (rec.session, rec.cycle) == (18, 2)


@pytest.mark.parametrize(
    "cell",
    [41817, 41817.0, "41817", "- 41817", "2014-06-27", "- 2014-06-27", "27 June 2014", "- 27 June 2014",
     "• 27 June 2014\n", datetime(2014, 6, 27, 0, 0), date(2014, 6, 27)],
)
def test_publication_date_in_any_usual_form_is_the_day(cell: Cell) -> None:
    assert row(publication_date=cell).recommendation.publication_date == date(2014, 6, 27)


def test_document_symbol_and_text_lose_their_bullet() -> None:
    rec = row(text="- 82.1 Ratify the Convention", document_symbol="- A/HRC/13/4").recommendation
    assert (rec.paragraph, rec.text, rec.document_symbol) == ("82.1", "Ratify the Convention", "A/HRC/13/4")


@pytest.mark.parametrize(
    ("name", "cell"),
    [("position", "- Supported\n- Noted"), ("session", "- 18\n- 19"),
     ("publication_date", "- 2014-06-27\n- 2015-01-01"), ("document_symbol", "- A/HRC/13/4\n- A/HRC/27/16")],
)
def test_disagreeing_lines_in_a_single_valued_cell_are_a_row_error_naming_the_column(name: str, cell: str) -> None:
    built = build(**{name: cell})
    assert isinstance(built, list)
    assert [(e.row, e.field) for e in built] == [(2, HEADER[name])]
    assert "several" in built[0].message


def test_a_number_that_is_not_a_session_spelling_is_still_refused() -> None:
    built = build(session="- 18 or 19")
    assert isinstance(built, list) and built[0].field == "UPR Session"


def test_uhri_export_with_bullets_in_every_cell_imports_like_the_plain_export(fixtures: Path, parse) -> None:
    bulleted = parse(fixtures / "uhri_export_bulleted_khm_cycle1.xlsx")
    plain = parse(fixtures / "uhri_khm_cycle1.xlsx")
    assert bulleted.errors == [] and bulleted.warnings == []
    assert len(bulleted.rows) == len(plain.rows) == 91

    def stored(parsed: object) -> list[dict[str, object]]:
        return [r.recommendation.model_dump(exclude={"source"}) for r in parsed.rows]  # type: ignore[attr-defined]

    assert stored(bulleted) == stored(plain)
    first = bulleted.by_id["KHM-1-82.1"]
    assert (first.country, first.session, first.position.value, first.document_symbol) == (  # type: ignore[attr-defined]
        "KHM", 6, "Supported", "A/HRC/13/4")


def test_evidence_cells_with_bullets_are_read_as_their_values() -> None:
    values: dict[str, Cell] = {
        "recommendation_ids": "- KHM-1-82.1\n- KHM-1-82.2",
        "source_type": "- UN document",
        "title": "Concluding observations",
        "published_on": "- 27 June 2014",
        "visibility": "• Public",
    }
    built = build_evidence(Record(row=2, values=values, header={}), CTX)
    assert isinstance(built, ParsedEvidence), built
    evidence = built.evidence
    assert evidence.recommendation_ids == ["KHM-1-82.1", "KHM-1-82.2"]
    assert (evidence.source_type.value, evidence.published_on) == ("un_document", date(2014, 6, 27))
    assert evidence.visibility.value == "public"
