"""`upr import --dry-run --json` and `upr template` as a person at a terminal uses them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from upr.commands.import_ import app

runner = CliRunner()
# "ambiguous" and "conflicts" were added by issue 14 (keys are only ever added).
KEYS = {"format", "rows", "imported", "updated", "unchanged", "rejected", "errors", "ambiguous", "conflicts"}


def _run(*args: str) -> tuple[int, dict]:
    result = runner.invoke(app, ["import", *args, "--dry-run", "--json"])
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.parametrize(
    ("name", "fmt", "rows", "imported", "rejected"),
    [
        ("upr_info_khm_2009_cp1252.csv", "upr_info_csv", 138, 138, 0),
        ("upr_info_khm_2009_macroman.csv", "upr_info_csv", 138, 138, 0),
        ("uhri_khm_cycle1.csv", "uhri_csv", 91, 91, 0),
        ("uhri_khm_cycle1.xlsx", "uhri_xlsx", 91, 91, 0),
        ("ohchr_matrix_khm_cycle1.docx", "ohchr_matrix_docx", 10, 9, 0),
        ("template_evidence.xlsx", "evidence_template_xlsx", 1, 1, 0),
        ("bad_duplicate_row.csv", "upr_info_csv", 4, 3, 1),
        ("bad_formula.csv", "upr_info_csv", 3, 1, 2),
        ("bad_empty_text.csv", "upr_info_csv", 3, 2, 1),
    ],
)
def test_dry_run_json_gives_expected_counts(name, fmt, rows, imported, rejected, fixtures) -> None:
    code, report = _run(str(fixtures / name))
    assert code == 0
    assert set(report) == KEYS
    assert (report["format"], report["rows"], report["imported"], report["rejected"]) == (fmt, rows, imported, rejected)
    assert report["updated"] == report["unchanged"] == 0


def test_the_raw_first_cycle_file_dry_runs_clean() -> None:
    code, report = _run("/work/shared/data/upr_info_raw_khm_2009.csv")
    assert code == 0 and report["imported"] == 138 and report["errors"] == []


@pytest.mark.parametrize("name", ["bad_missing_column.csv", "bad_binary.csv", "bad_truncated.xlsx"])
def test_a_refused_file_exits_1_with_a_file_error(name, fixtures) -> None:
    code, report = _run(str(fixtures / name))
    assert code == 1
    assert report["imported"] == 0
    assert report["errors"][0]["row"] is None


def test_errors_name_row_and_column(fixtures) -> None:
    _, report = _run(str(fixtures / "bad_formula.csv"))
    assert report["errors"][0]["row"] == 2 and report["errors"][0]["field"] == "Text"


def test_format_option_rejects_unknown_formats(fixtures) -> None:
    result = runner.invoke(app, ["import", str(fixtures / "bad_html.csv"), "--format", "pdf", "--dry-run"])
    assert result.exit_code == 2


def test_human_output_summarises_and_lists_problems(fixtures) -> None:
    result = runner.invoke(app, ["import", str(fixtures / "bad_empty_text.csv"), "--dry-run"])
    assert result.exit_code == 0
    assert "2 would import" in result.stdout and "row 3" in result.stdout and "empty" in result.stdout


@pytest.mark.parametrize(
    ("kind", "fmt"), [("recommendations", "template_xlsx"), ("evidence", "evidence_template_xlsx")]
)
def test_template_command_writes_an_importable_template(kind, fmt, tmp_path: Path) -> None:
    out = tmp_path / f"{kind}.xlsx"
    result = runner.invoke(app, ["template", kind, "--out", str(out)])
    assert result.exit_code == 0 and out.exists()
    code, report = _run(str(out))
    assert code == 0 and report["format"] == fmt and report["imported"] == 1
