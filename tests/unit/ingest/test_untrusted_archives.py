"""Issue 13 row 5, "untrusted archives": an XLSX/DOCX is checked from its zip directory
before any parser opens it; DTDs and entity declarations are refused; broken XML or zip
is a file error in the import report, never an exception or an HTTP 500."""

from __future__ import annotations

import re
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from contracts.auth import RequireToken, issue_token
from contracts.events import Actor, Role
from services.ingest.adapters.files import parse_file
from services.ingest.adapters.http import http_api
from services.ingest.domain import RowError
from services.ingest.importer import run_import
from services.ingest.settings import IngestSettings

MALICIOUS = ["bad_zip_bomb.xlsx", "bad_external_entity.docx", "bad_billion_laughs.xlsx", "bad_malformed_xml.xlsx"]


def file_errors(path: Path, **kwargs: object) -> list[RowError]:
    items = list(parse_file(path, import_id="t", **kwargs))  # type: ignore[arg-type]
    assert all(isinstance(i, RowError) for i in items), f"{path.name}: rows were imported"
    return [i for i in items if isinstance(i, RowError) and i.row is None]


def test_zip_bomb_is_refused_from_the_zip_directory_without_decompressing_a_part(
    fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bomb = fixtures / "bad_zip_bomb.xlsx"
    assert bomb.stat().st_size < 1.5 * 1024 * 1024  # ~1 MB that declares 1 GB
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def spy(self: zipfile.ZipFile, name: object, *args: object, **kwargs: object) -> object:
        opened.append(getattr(name, "filename", str(name)))
        return real_open(self, name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    tracemalloc.start()
    try:
        errors = file_errors(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(errors) == 1 and "zip bomb" in errors[0].message and "sheet1.xml" in errors[0].message
    assert opened == []  # refused from the central directory alone: no part read
    assert peak < 20 * 1024 * 1024  # (parsing it used to take gigabytes)


def test_docx_declaring_an_external_entity_is_not_imported(fixtures: Path) -> None:
    errors = file_errors(fixtures / "bad_external_entity.docx")
    assert len(errors) == 1 and "DTD" in errors[0].message and "word/document.xml" in errors[0].message


def test_xlsx_declaring_entities_billion_laughs_is_refused(fixtures: Path) -> None:
    errors = file_errors(fixtures / "bad_billion_laughs.xlsx")
    assert len(errors) == 1 and "DTD" in errors[0].message


def test_malformed_xml_part_is_a_file_error_not_an_exception(fixtures: Path) -> None:
    errors = file_errors(fixtures / "bad_malformed_xml.xlsx")
    assert len(errors) == 1 and "malformed XML" in errors[0].message


@pytest.mark.parametrize("name", MALICIOUS)
def test_each_malicious_file_is_refused_when_the_format_is_given_too(fixtures: Path, name: str) -> None:
    fmt = "ohchr_matrix_docx" if name.endswith(".docx") else "uhri_xlsx"
    assert len(file_errors(fixtures / name, format=fmt)) == 1


def test_archive_limits_come_from_the_settings(fixtures: Path) -> None:
    ordinary = fixtures / "uhri_khm_cycle1.xlsx"
    assert run_import(ordinary, settings=IngestSettings(), dry_run=True).imported == 91
    small = IngestSettings(max_archive_uncompressed_bytes=50_000)
    report = run_import(ordinary, settings=small, dry_run=True)
    assert report.file_error and report.imported == 0
    assert re.search(r"would expand to \d+ KB; at most 49 KB", report.errors[0]["message"])


@pytest.mark.parametrize("name", MALICIOUS)
def test_upload_of_a_malicious_file_answers_422_with_the_report(fixtures: Path, name: str) -> None:
    settings = IngestSettings()
    # As the service runs it: behind the token check, called by a reviewer.
    client = TestClient(RequireToken(http_api(settings), secret=settings.auth_secret), raise_server_exceptions=False)
    token = issue_token(settings.auth_secret, Actor(username="reviewer", role=Role.REVIEWER))
    response = client.post("/imports?dry_run=1", content=(fixtures / name).read_bytes(),
                           headers={"x-filename": name, "authorization": f"Bearer {token}"})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["imported"] == 0 and body["errors"][0]["row"] is None and body["errors"][0]["message"]
