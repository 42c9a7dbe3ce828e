"""`upr import` through the real pipeline: file -> ingest publisher -> Kafka -> tracker -> MongoDB."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from contracts.auth import RequireToken, bearer_header, issue_token
from contracts.events import Actor, Role
from contracts.topics import Topics
from upr.cli import app as upr

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ingest"



def upr_import(path: Path, env: dict[str, str]) -> dict[str, Any]:
    result = CliRunner().invoke(upr, ["import", str(path), "--json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


async def run_cli(path: Path, env: dict[str, str]) -> dict[str, Any]:
    import asyncio

    # The command runs its own event loop (asyncio.run), so it runs in a worker thread here.
    return await asyncio.to_thread(upr_import, path, env)


async def test_importing_the_cambodia_file_twice_leaves_one_document_per_recommendation(
    tracker_app: Any, shared_data: Path, mongo_db: Any, topics: Topics, kafka_bootstrap: str, mongodb_uri: str,
    tmp_path: Path,
) -> None:
    env = tracker_app.env
    source = shared_data / "upr_info_khm_cycle1_2009.csv"
    first = await run_cli(source, env)
    assert (first["format"], first["rows"], first["imported"], first["rejected"]) == ("upr_info_clean_csv", 138, 138, 0)
    second = await run_cli(source, env)
    assert (second["imported"], second["updated"], second["unchanged"]) == (0, 0, 138)
    assert await mongo_db.recommendations.count_documents({}) == 138
    assert await mongo_db.recommendation_versions.count_documents({}) == 138
    doc = await mongo_db.recommendations.find_one({"_id": "KHM-1-82.1"})
    assert doc["position"] == "Supported" and doc["document_symbol"] == "A/HRC/13/4"
    # UPR Info's own labels (Issue, Action) are never copied into the product.
    assert doc.get("action_category") is None and "issues" not in doc

    # A later file moves one recommendation to "noted" and corrects a text: two new versions.
    with source.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rows[0]["response"] = "Noted"
    rows[1]["text"] = rows[1]["text"] + " (corrected)"
    changed = tmp_path / "changed_cycle1.csv"
    with changed.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    third = await run_cli(changed, env)
    assert (third["imported"], third["updated"], third["unchanged"]) == (0, 2, 136)
    assert await mongo_db.recommendations.count_documents({}) == 138
    moved = await mongo_db.recommendations.find_one({"_id": rows[0]["recommendation_id"]})
    assert moved["position"] == "Noted" and moved["version"] == 2
    history = [v async for v in mongo_db.recommendation_versions.find({"recommendation_id": moved["_id"]})]
    assert sorted(v["snapshot"]["position"] for v in history) == ["Noted", "Supported"]


async def test_uhri_export_with_bullets_in_every_cell_is_stored_like_the_plain_export(
    tracker_app: Any, mongo_db: Any, topics: Topics, kafka_bootstrap: str, mongodb_uri: str,
) -> None:
    # Issue 14: OHCHR's "Export to Excel" bullets single-valued cells too ("- Cambodia", "- 6th session").
    env = tracker_app.env
    bulleted = await run_cli(FIXTURES / "uhri_export_bulleted_khm_cycle1.xlsx", env)
    assert (bulleted["format"], bulleted["rows"], bulleted["imported"]) == ("uhri_xlsx", 91, 91)
    assert bulleted["rejected"] == 0 and bulleted["errors"] == []
    doc = await mongo_db.recommendations.find_one({"_id": "KHM-1-82.4"})
    assert (doc["country"], doc["session"], doc["position"], doc["document_symbol"]) == (
        "KHM", 6, "Supported", "A/HRC/13/4")
    assert not doc["text"].startswith(("-", "•")) and "\n" not in doc["text"]
    plain = await run_cli(FIXTURES / "uhri_khm_cycle1.xlsx", env)
    assert (plain["imported"], plain["updated"], plain["unchanged"]) == (0, 0, 91)


@pytest.mark.parametrize("name", ["bad_zip_bomb.xlsx", "bad_external_entity.docx", "bad_malformed_xml.xlsx"])
async def test_upload_of_a_malicious_file_answers_422_with_the_report_and_sends_nothing(
    name: str, kafka_bootstrap: str, mongodb_uri: str, topics: Topics, mongo_db: Any,
) -> None:
    # Issue 13 row 5: a real upload (not a dry run) with Kafka up; the file error comes first.
    import httpx

    from services.ingest.adapters.http import http_api
    from services.ingest.settings import IngestSettings

    settings = IngestSettings(kafka_bootstrap=kafka_bootstrap, mongodb_uri=mongodb_uri, mongodb_db=mongo_db.name,
                              topic_prefix=topics.prefix, import_wait_s=5)
    # Behind the token check, as ServiceApp serves it, uploading as a reviewer.
    transport = httpx.ASGITransport(app=RequireToken(http_api(settings), secret=settings.auth_secret))
    token = issue_token(settings.auth_secret, Actor(username="vanna", role=Role.REVIEWER))
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
        body = await asyncio.to_thread((FIXTURES / name).read_bytes)
        response = await client.post("/imports", content=body, headers={"x-filename": name, **bearer_header(token)})
    assert response.status_code == 422, response.text
    report = response.json()
    assert report["imported"] == 0 and report["errors"][0]["row"] is None
    assert await mongo_db.recommendations.count_documents({}) == 0
