"""Bad input never crashes and never half-imports silently: each problem is a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.ingest.adapters.files import parse_file
from services.ingest.domain.model import FileProblem
from services.ingest.domain.sanitise import looks_like_formula


def test_missing_required_column_is_a_file_error_naming_the_column(fixtures, parse) -> None:
    parsed = parse(fixtures / "bad_missing_column.csv")
    assert parsed.rows == []
    assert [(e.row, e.field) for e in parsed.errors] == [(None, "Response")]
    assert "Response" in parsed.errors[0].message


def test_empty_text_rejects_only_that_row(fixtures, parse) -> None:
    parsed = parse(fixtures / "bad_empty_text.csv")
    assert len(parsed.rows) == 2
    assert [(e.row, e.field, e.message) for e in parsed.errors] == [(3, "Text", "recommendation text is empty")]


def test_duplicate_row_is_reported_for_the_later_row(fixtures, parse) -> None:
    parsed = parse(fixtures / "bad_duplicate_row.csv")
    assert len(parsed.rows) == 3
    [error] = parsed.errors
    assert error.row == 5 and "duplicate row" in error.message and "row 2" in error.message


def test_formula_cells_are_refused_with_the_column_named(fixtures, parse) -> None:
    parsed = parse(fixtures / "bad_formula.csv")
    assert len(parsed.rows) == 1
    assert [(e.row, e.field) for e in parsed.errors] == [(2, "Text"), (3, "From")]
    assert all("formula" in e.message for e in parsed.errors)


def test_formula_in_xlsx_cell_is_refused_not_evaluated(fixtures, parse) -> None:
    parsed = parse(fixtures / "bad_formula.xlsx")
    assert len(parsed.rows) == 2
    assert [(e.row, e.field) for e in parsed.errors] == [(3, "Text")]


@pytest.mark.parametrize("value", ['=HYPERLINK("x")', "=1+1", "+cmd|' /C calc'!A0", "@SUM(A1)", "-2+3", " =A1"])
def test_formula_shapes_are_recognised(value: str) -> None:
    assert looks_like_formula(value)


@pytest.mark.parametrize(
    "value",
    [
        "- Children\n- Women",
        "- 16.2\n- 8.7",
        "- Bolivia (Plurinational State of)",
        "Ratify the Convention",
        "-  ratify (in 2010)",
        "16.2",
    ],
)
def test_ordinary_text_is_not_taken_for_a_formula(value: str) -> None:
    assert not looks_like_formula(value)


def test_html_is_stripped_with_a_warning_and_the_row_is_kept(fixtures, parse) -> None:
    parsed = parse(fixtures / "bad_html.csv")
    assert parsed.errors == [] and len(parsed.rows) == 3
    first = parsed.rows[0]
    assert first.recommendation.text.startswith("Accelerate the steps currently under way")
    assert "<" not in first.recommendation.text and "alert" not in first.recommendation.text
    assert [(w.row, w.field) for w in first.warnings] == [(2, "Text")]


def test_pending_position_is_a_row_error_and_letters_are_understood(fixtures, parse) -> None:
    parsed = parse(fixtures / "bad_positions.csv")
    assert [(e.row, e.field) for e in parsed.errors] == [(2, "Response")]
    assert "'Pending'" in parsed.errors[0].message
    assert [r.recommendation.position.value for r in parsed.rows] == ["Noted", "Supported"]


def test_dollar_and_dot_headers_are_ignored_with_a_warning(fixtures, parse) -> None:
    parsed = parse(fixtures / "bad_dollar_header.csv")
    assert parsed.errors == [] and len(parsed.rows) == 3
    assert {w.field for w in parsed.warnings} == {"$where", "meta.owner"}
    for row in parsed.rows:
        dumped = row.recommendation.model_dump()
        assert not any(k.startswith("$") or "." in k for k in dumped)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("bad_binary.csv", "binary"),
        ("bad_wrong_format.csv", "unrecognised"),
        ("bad_truncated.xlsx", "damaged"),
    ],
)
def test_unreadable_or_unknown_files_give_one_file_error(name, words, fixtures, parse) -> None:
    parsed = parse(fixtures / name)
    assert parsed.rows == []
    [error] = parsed.errors
    assert error.row is None and words in error.message


def test_mixed_encoding_rejects_the_rows_with_bad_bytes_only(fixtures, parse) -> None:
    parsed = parse(fixtures / "bad_mixed_encoding.csv")
    assert len(parsed.rows) == 2
    assert [e.row for e in parsed.errors] == [2]
    assert "UTF-8" in parsed.errors[0].message


def test_oversized_file_is_refused_as_a_whole(fixtures, parse) -> None:
    parsed = parse(fixtures / "upr_info_khm_2009_cp1252.csv", max_bytes=10_000)
    assert parsed.rows == []
    [error] = parsed.errors
    assert error.row is None and "limit" in error.message


def test_missing_file_is_a_file_error(tmp_path: Path, parse) -> None:
    [error] = parse(tmp_path / "nope.csv").errors
    assert error.row is None and "cannot read" in error.message


def test_forced_wrong_format_reports_missing_columns(fixtures, parse) -> None:
    parsed = parse(fixtures / "uhri_khm_cycle1.csv", format="upr_info_csv")
    assert parsed.rows == [] and parsed.errors[0].row is None


def test_unknown_country_and_missing_cycle_are_row_errors(tmp_path: Path, parse) -> None:
    path = tmp_path / "x.csv"
    path.write_text(
        "To,To-Rgrp,To-Org,Text,From,From-Rgrp,From-Org,Response,Action,Issue,Session\n"
        "Atlantis,,,Adopt a law,France,,,Accepted,,,6\n"
        "Cambodia,,,Adopt a law,France,,,Accepted,,,\n",
        encoding="utf-8",
    )
    parsed = parse(path)
    assert [(e.row, e.field) for e in parsed.errors] == [(2, "To"), (3, "cycle")]
    assert len(parse(path, cycle=2).rows) == 1


def test_same_paragraph_with_different_text_is_a_conflict_not_a_silent_overwrite(tmp_path: Path, parse) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        "cycle,session,year,document_symbol,paragraph,recommendation_id,text,recommending_state,"
        "recommending_region,response,action_category,issues\n"
        "1,6,2009,A/HRC/13/4,82.1,KHM-1-82.1,Ratify CRC-OP3,Brazil,,Accepted,,\n"
        "1,6,2009,A/HRC/13/4,82.1,KHM-1-82.1,Ratify CRPD,Spain,,Accepted,,\n"
        "1,6,2009,A/HRC/13/4,82.1,KHM-1-82.1,Ratify CRC-OP3,Spain,,Noted,,\n"
        "1,6,2009,A/HRC/13/4,82.1,KHM-1-82.1,Ratify CRC-OP3,Chile,,Accepted,,\n",
        encoding="utf-8",
    )
    parsed = parse(path)
    assert [(e.row, e.field) for e in parsed.errors] == [(3, "text"), (4, "position")]
    [row] = parsed.rows
    assert [s.code for s in row.recommendation.recommending_states] == ["BRA", "CHL"]
    assert row.merged_rows == (5,)


def test_file_problem_is_never_raised_out_of_parse_file(tmp_path: Path) -> None:
    path = tmp_path / "d.docx"
    path.write_bytes(b"PK\x03\x04garbage")
    items = list(parse_file(path, import_id="x"))
    assert len(items) == 1 and not isinstance(items[0], FileProblem)


def test_session_zero_rejects_only_that_row(tmp_path: Path, parse) -> None:
    # It made the whole file fail ("session 0 is not a UPR Working Group session").
    made = tmp_path / "uhri.csv"
    made.write_text(
        "Text,Countries Concerned,UPR Reccomending States,UPR Position,UPR Session\n"
        '"110.1 Ratify the convention",Cambodia,France,Supported,6\n'
        '"110.2 Adopt a law",Cambodia,France,Supported,0\n',
        encoding="utf-8",
    )
    parsed = parse(made)
    assert [r.recommendation.recommendation_id for r in parsed.rows] == ["KHM-1-110.1"]
    assert [(e.row, e.field, e.message) for e in parsed.errors] == [(3, "UPR Session", "0 is not a UPR session number")]
