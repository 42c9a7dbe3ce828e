"""Issue 14, "unknown layouts" (CLI part): `upr import --map FIELD=COLUMN ...` reads a
CSV/XLSX whose columns are no known format; a missing required field is a clear error
listing the fields; `--json` keeps its keys (adds "mapping" only when a mapping is used)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from upr.commands.import_ import app

runner = CliRunner()
KEYS = {"format", "rows", "imported", "updated", "unchanged", "rejected", "errors", "ambiguous", "conflicts"}
HEADER = ["Ref", "Recommendation text", "Recommending State", "Government response", "UPR Session",
          "State under review"]
MAP = ["--map", "recommendation_id=Ref", "--map", "text=Recommendation text", "--map", "states=Recommending State",
       "--map", "position=Government response", "--map", "session=UPR Session", "--map", "country=State under review"]


def cso_rows(shared_data: Path) -> list[list[str]]:
    """The 138 first-cycle rows under a CSO's own column names (UN-document fields only)."""
    with (shared_data / "upr_info_khm_cycle1_2009.csv").open(encoding="utf-8", newline="") as handle:
        return [[r["recommendation_id"], r["text"], r["recommending_state"], r["response"], r["session"], "Cambodia"]
                for r in csv.DictReader(handle)]


@pytest.fixture
def cso_csv(tmp_path: Path, shared_data: Path) -> Path:
    path = tmp_path / "coalition tracking sheet.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(cso_rows(shared_data))
    return path


def run(*args: str) -> tuple[int, dict, str]:
    result = runner.invoke(app, ["import", *args, "--dry-run", "--json"])
    return result.exit_code, (json.loads(result.stdout) if result.stdout.startswith("{") else {}), result.output


def test_a_file_of_unknown_layout_is_refused_without_a_mapping(cso_csv: Path) -> None:
    code, report, _ = run(str(cso_csv))
    assert code == 1 and report["imported"] == 0 and report["errors"][0]["row"] is None


def test_a_mapped_csv_imports_every_row(cso_csv: Path) -> None:
    code, report, _ = run(str(cso_csv), *MAP)
    assert code == 0, report
    assert (report["format"], report["rows"], report["imported"], report["rejected"]) == ("mapped_csv", 138, 138, 0)
    assert set(report) == KEYS | {"mapping"}  # only a key added
    assert report["mapping"]["text"] == "Recommendation text"


def test_a_mapped_xlsx_is_read_from_the_sheet_with_the_mapped_columns(tmp_path: Path, shared_data: Path) -> None:
    path = tmp_path / "cso.xlsx"
    workbook = openpyxl.Workbook()
    notes = workbook.active
    assert notes is not None
    notes.title = "Read me"
    notes.append(["How to fill in this sheet"])
    sheet = workbook.create_sheet("Recommendations")
    sheet.append(HEADER)
    for row in cso_rows(shared_data):
        sheet.append(row)
    workbook.save(path)
    code, report, _ = run(str(path), *MAP)
    assert (code, report["format"], report["imported"], report["rejected"]) == (0, "mapped_xlsx", 138, 0)


def test_country_may_come_from_the_option_instead_of_a_column(cso_csv: Path) -> None:
    code, report, _ = run(str(cso_csv), *MAP[:-2], "--country", "KHM")
    assert (code, report["imported"]) == (0, 138)


def test_a_required_field_left_unmapped_is_an_error_listing_the_fields(cso_csv: Path) -> None:
    code, _, output = run(str(cso_csv), "--map", "text=Recommendation text", "--map", "states=Recommending State")
    assert code == 2
    flat = " ".join(output.replace("│", " ").split())
    assert "required fields not mapped: position, country" in flat
    for field in ("text (required)", "position (required)", "paragraph", "session", "source_themes"):
        assert field in flat


def test_an_unknown_field_is_an_error_listing_the_fields(cso_csv: Path) -> None:
    code, _, output = run(str(cso_csv), *MAP, "--map", "colour=Ref")
    flat = " ".join(output.replace("│", " ").split())
    assert code == 2 and "unknown field 'colour'" in flat and "states (required)" in flat


def test_a_mapped_column_missing_from_the_file_is_a_file_error_showing_the_columns(cso_csv: Path) -> None:
    code, report, _ = run(str(cso_csv), *MAP[:-2], "--map", "country=Country")
    assert code == 1
    error = report["errors"][0]
    assert error["field"] == "Country" and "'Recommendation text'" in error["message"]
