"""Issue 14, unknown layouts and preview: a file's columns with sample values, mapping profiles
(checked, found again by the same header, used by `upr import --profile`), the dry run that asks
the tracker, and OHCHR's annotation id read from UHRI exports (recommendation.imported v2)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, ClassVar

import openpyxl
import pytest
from typer.testing import CliRunner

from contracts.events import RecommendationImportedV1, RecommendationImportedV2
from services.ingest.adapters.files import parse_file
from services.ingest.adapters.files.columns import file_columns
from services.ingest.domain import ParsedRow, RowError
from services.ingest.domain.profiles import ProfileProblem, check_profile, header_signature
from services.ingest.importer import run_import
from services.ingest.settings import IngestSettings
from tests.unit.ingest.test_import_mapping import HEADER, cso_rows
from upr.commands import import_ as import_command

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ingest"
MAPPING = {"recommendation_id": "Ref", "text": "Recommendation text", "states": "Recommending State",
           "position": "Government response", "session": "UPR Session"}
PROFILE = {"_id": "Coalition sheet", "mapping": MAPPING, "columns": HEADER, "country": "KHM"}


@pytest.fixture
def cso_csv(tmp_path: Path, shared_data: Path) -> Path:
    path = tmp_path / "coalition tracking sheet.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(cso_rows(shared_data))
    return path


def test_the_columns_of_a_csv_come_with_their_first_values(cso_csv: Path) -> None:
    found = file_columns(cso_csv)
    assert found.columns == HEADER
    assert found.as_json()[3] == {"name": "Government response", "samples": ["Accepted", "Accepted", "Accepted"]}


def test_the_columns_of_a_workbook_come_from_its_first_sheet_with_a_header(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    notes = book.active
    assert notes is not None
    notes.append(["Read me"])
    sheet = book.create_sheet("Data")
    sheet.append(["Texte", "Pays", "Position"])
    sheet.append(["Ratifier la convention", "Norvège", 1.0])
    book.save(tmp_path / "sheet.xlsx")
    found = file_columns(tmp_path / "sheet.xlsx")
    assert found.columns == ["Texte", "Pays", "Position"] and found.samples[2] == ["1"]


def test_the_same_header_in_another_order_or_case_is_the_same_signature() -> None:
    assert header_signature(HEADER) == header_signature([h.upper() + " " for h in reversed(HEADER)])
    assert header_signature(HEADER) != header_signature(HEADER[:-1])


def test_a_profile_must_map_the_required_fields_to_columns_of_the_file() -> None:
    assert check_profile(" Coalition sheet ", MAPPING, HEADER, "KHM") == "Coalition sheet"
    with pytest.raises(ProfileProblem, match="required field not mapped: country"):
        check_profile("x", MAPPING, HEADER, None)
    with pytest.raises(ProfileProblem, match="'Response' not in the file's header"):
        check_profile("x", {**MAPPING, "position": "Response"}, HEADER, "KHM")
    with pytest.raises(ProfileProblem, match="name"):
        check_profile("$where", MAPPING, HEADER, "KHM")


def test_a_file_of_unknown_layout_is_read_with_the_profile_saved_for_its_header(cso_csv: Path) -> None:
    asked: list[list[str]] = []

    def find(columns: list[str]) -> dict[str, Any] | None:
        asked.append(columns)
        return PROFILE if header_signature(columns) == header_signature(HEADER) else None

    report = run_import(cso_csv, settings=IngestSettings(), dry_run=True, find_profile=find)
    assert (report.profile, report.format, report.imported, report.rejected) == ("Coalition sheet", "mapped_csv",
                                                                                  138, 0)
    assert report.as_json()["profile"] == "Coalition sheet" and asked == [HEADER]
    known = run_import(FIXTURES / "uhri_khm_cycle1.csv", settings=IngestSettings(), dry_run=True, find_profile=find)
    assert known.format == "uhri_csv" and known.profile is None and len(asked) == 1  # a known format: not asked


def test_a_dry_run_with_the_tracker_counts_what_the_import_would_do(cso_csv: Path) -> None:
    def preview(rows: list[RecommendationImportedV1]) -> list[dict[str, Any]]:
        answers: list[dict[str, Any]] = [{"row": r.source.row, "outcome": "created"} for r in rows]
        answers[0] = {"row": 2, "outcome": "updated", "recommendation_id": "KHM-1-82.1",
                      "conflicts": {"position": {"a": "Supported", "b": "Noted"}}}
        answers[1] = {"row": 3, "outcome": "ambiguous", "ambiguous": {"candidates": [
            {"recommendation_id": "KHM-1-82.2", "score": 84.0}]}}
        answers[2] = {"row": 4, "outcome": "unchanged"}
        return answers

    report = run_import(cso_csv, settings=IngestSettings(), dry_run=True, profile=PROFILE, preview=preview).as_json()
    assert (report["rows"], report["imported"], report["updated"], report["unchanged"]) == (138, 135, 1, 1)
    assert report["ambiguous"][0]["row"] == 3 and report["conflicts"][0]["recommendation_id"] == "KHM-1-82.1"
    assert report["preview"] is True
    first = report["sample"][0]  # the first rows as they would be stored, to check the mapping
    assert len(report["sample"]) == 5 and first["row"] == 2 and first["position"] == "Supported"
    assert (first["country"], first["cycle"], first["recommending_states"]) == ("KHM", 1, "Brazil")


def test_a_dry_run_the_tracker_cannot_answer_says_so_and_counts_rows_read(cso_csv: Path) -> None:
    def down(rows: list[RecommendationImportedV1]) -> list[dict[str, Any]]:
        raise ConnectionError("tracker away")

    report = run_import(cso_csv, settings=IngestSettings(), dry_run=True, profile=PROFILE, preview=down)
    assert report.imported == 138 and not report.preview and not report.file_error
    assert report.errors[-1]["message"].startswith("warning: the tracker could not preview")


class FakeProfiles:
    def __init__(self, *_: Any) -> None:
        pass

    def get(self, name: str) -> dict[str, Any] | None:
        return PROFILE if name == "Coalition sheet" else None

    def all(self) -> list[dict[str, Any]]:
        return [PROFILE]

    def for_header(self, columns: list[str]) -> dict[str, Any] | None:
        return None

    def close(self) -> None:
        pass


def test_upr_import_reads_a_file_with_a_saved_profile(cso_csv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_command, "MappingProfiles", FakeProfiles)
    result = CliRunner().invoke(import_command.app, ["import", str(cso_csv), "--profile", "Coalition sheet",
                                                     "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["format"], report["imported"], report["profile"]) == ("mapped_csv", 138, "Coalition sheet")
    assert {"format", "rows", "imported", "updated", "unchanged", "rejected", "errors", "ambiguous",
            "conflicts"} <= set(report)  # the keys it always had
    missing = CliRunner().invoke(import_command.app, ["import", str(cso_csv), "--profile", "Nope", "--dry-run"])
    flat = " ".join(missing.output.replace("│", " ").split())
    assert missing.exit_code == 2 and "no mapping profile named 'Nope'" in flat and "'Coalition sheet'" in flat


def test_uhri_rows_carry_ohchr_annotation_ids_as_v2() -> None:
    for name in ("uhri_khm_cycle1.xlsx", "uhri_khm_cycle1.csv", "uhri_export_bulleted_khm_cycle1.xlsx"):
        rows = [i for i in parse_file(FIXTURES / name, import_id="t") if isinstance(i, ParsedRow)]
        assert rows and all(type(r.recommendation) is RecommendationImportedV2 for r in rows), name
        assert all(r.recommendation.annotation_id.isdigit() for r in rows)  # type: ignore[attr-defined]


def test_a_malformed_annotation_id_is_left_out_with_a_warning(tmp_path: Path) -> None:
    source = (FIXTURES / "uhri_khm_cycle1.csv").read_text(encoding="utf-8-sig")
    lines = list(csv.reader(source.splitlines(keepends=True)))
    column = lines[0].index("OHCHR Annotation Id")
    lines[1][column] = "not an id!"
    path = tmp_path / "uhri.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(lines)
    items = list(parse_file(path, import_id="t"))
    first = next(i for i in items if isinstance(i, ParsedRow))
    assert type(first.recommendation) is RecommendationImportedV1 and first.row == 2
    assert any(w.field == "OHCHR Annotation Id" and "not an OHCHR annotation id" in w.message for w in first.warnings)
    assert not [i for i in items if isinstance(i, RowError)]


def test_upr_import_preview_asks_the_tracker_and_sends_nothing(cso_csv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_command, "MappingProfiles", FakeProfiles)
    asked: list[tuple[str, str, int]] = []

    def previewer(settings: Any, url: str, actor: Any) -> Any:
        def preview(rows: list[RecommendationImportedV1]) -> list[dict[str, Any]]:
            asked.append((url, actor.username, len(rows)))
            return [{"row": r.source.row, "outcome": "unchanged"} for r in rows]
        return preview

    monkeypatch.setattr(import_command, "tracker_previewer", previewer)
    result = CliRunner().invoke(import_command.app, ["import", str(cso_csv), "--profile", "Coalition sheet",
                                                     "--preview", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["imported"], report["unchanged"], report["preview"]) == (0, 138, True)
    assert asked == [(IngestSettings().tracker_url, "upr-cli", 138)]
    human = CliRunner().invoke(import_command.app, ["import", str(cso_csv), "--profile", "Coalition sheet",
                                                    "--preview"])
    assert "0 would be created, 0 would be updated, 138 unchanged" in " ".join(human.output.split())


class SavingProfiles(FakeProfiles):
    saved: ClassVar[dict[str, dict[str, Any]]] = {}  # one store for every instance the API makes

    def for_header(self, columns: list[str]) -> dict[str, Any] | None:
        return next((p for p in self.saved.values() if header_signature(p["columns"]) == header_signature(columns)),
                    None)

    def get(self, name: str) -> dict[str, Any] | None:
        return self.saved.get(name)

    def save(self, name: str, mapping: dict[str, str], columns: list[str], country: str | None,
             actor: Any) -> dict[str, Any]:
        self.saved[name] = {"_id": name, "mapping": mapping, "columns": columns, "country": country,
                            "saved_by": {"username": actor.username}}
        return self.saved[name]


def test_the_ingest_api_maps_saves_and_previews_a_file_of_unknown_layout(
    cso_csv: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from starlette.testclient import TestClient

    from contracts.auth import RequireToken, issue_token
    from contracts.events import Actor, Role
    from services.ingest.adapters import http

    SavingProfiles.saved = {}
    monkeypatch.setattr(http, "MappingProfiles", SavingProfiles)
    asked: list[str] = []

    def previewer(settings: Any, url: str, actor: Any) -> Any:
        asked.append(actor.username)
        return lambda rows: [{"row": r.source.row, "outcome": "created"} for r in rows]

    monkeypatch.setattr(http, "tracker_previewer", previewer)
    settings = IngestSettings()
    client = TestClient(RequireToken(http.http_api(settings), secret=settings.auth_secret))
    auth = {"authorization": f"Bearer {issue_token(settings.auth_secret, Actor(username='vanna', role=Role.REVIEWER))}"}
    body = cso_csv.read_bytes()
    described = client.post("/imports/columns", content=body, headers=auth).json()
    assert described["format"] is None and described["profile"] is None
    assert [c["name"] for c in described["columns"]] == HEADER and "text" in described["fields"]
    refused = client.put("/profiles/Coalition sheet", headers=auth,
                         json={"mapping": {"text": "Recommendation text"}, "columns": HEADER, "country": "KHM"})
    assert refused.status_code == 422 and "required fields not mapped: states, position" in refused.json()["error"]
    saved = client.put("/profiles/Coalition sheet", headers=auth,
                       json={"mapping": MAPPING, "columns": HEADER, "country": "KHM"})
    assert saved.status_code == 200 and saved.json()["saved_by"] == "vanna"
    assert client.post("/imports/columns", content=body, headers=auth).json()["profile"]["name"] == "Coalition sheet"
    report = client.post("/imports", params={"dry_run": "1", "profile": "Coalition sheet"}, content=body,
                         headers={**auth, "x-filename": cso_csv.name}).json()
    assert (report["profile"], report["imported"], report["preview"]) == ("Coalition sheet", 138, True)
    assert asked == ["vanna"]  # the tracker is asked in the uploader's name
    viewer = issue_token(settings.auth_secret, Actor(username="v", role=Role.VIEWER))
    assert client.put("/profiles/x", json={}, headers={"authorization": f"Bearer {viewer}"}).status_code == 403
