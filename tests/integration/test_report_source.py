"""`upr report` and its loader against the real MongoDB-wire server."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from docx import Document
from pymongo import MongoClient
from pymongo.database import Database
from typer.testing import CliRunner

from contracts.documents import ASSESSMENTS, EVIDENCE, RECOMMENDATIONS, REPORT_DRAFTS
from services.tracker.adapters.report_source import load_assessments, load_report_inputs
from tests.unit.report.sample import (
    BIRTH_KM,
    BIRTH_REC,
    SECRET_TITLES,
    sample_assessments,
    sample_drafts,
    sample_evidence,
    sample_recommendations,
)

pytestmark = pytest.mark.integration
MONGODB_URI = os.environ.get("UPR_MONGODB_URI", "mongodb://127.0.0.1:27017")


@pytest.fixture
def report_db() -> Iterator[Database[dict[str, Any]]]:
    client: MongoClient[dict[str, Any]] = MongoClient(MONGODB_URI, serverSelectionTimeoutMS=3000)
    name = f"test_report_{uuid.uuid4().hex[:8]}"
    db = client[name]
    recs = sample_recommendations()
    db[RECOMMENDATIONS].insert_many([{"_id": r.recommendation_id, **r.model_dump(mode="json")} for r in recs])
    db[EVIDENCE].insert_many([{"_id": e.evidence_id, **e.model_dump(mode="json")} for e in sample_evidence(recs)])
    db[ASSESSMENTS].insert_many(
        [{"_id": a.assessment_id, **a.model_dump(mode="json")} for a in sample_assessments(recs)]
    )
    db[REPORT_DRAFTS].insert_many([d.model_dump(mode="json") for d in sample_drafts()])
    yield db
    client.drop_database(name)
    client.close()


def test_loader_reads_the_cycle_documents_back_as_models(report_db):
    recs, evidence, drafts = load_report_inputs(report_db, "KHM", 1)
    assert len(recs) == 138
    assert next(r for r in recs if r.recommendation_id == BIRTH_REC).text_km == BIRTH_KM
    assert {e.evidence_id for e in evidence} >= {"ev-birth-subdecree", "ev-pending", "ev-held"}
    assert len(drafts) == 6
    assessments = load_assessments(report_db, [r.recommendation_id for r in recs])
    assert any(a.assessment_id == "as-birth-cso-late" for a in assessments)
    assert load_report_inputs(report_db, "KHM", 2) == ([], [], [])


def test_upr_report_writes_a_docx_with_the_cited_evidence(report_db, tmp_path, monkeypatch):
    from upr.cli import app

    monkeypatch.setenv("UPR_MONGODB_URI", MONGODB_URI)
    monkeypatch.setenv("UPR_MONGODB_DB", report_db.name)
    out = tmp_path / "report.docx"
    result = CliRunner().invoke(
        app, ["report", "--cycle", "1", "--as-of", "2025-06-30", "--format", "docx", "--out", str(out),
              "--language", "bilingual"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "33 recommendations" in result.output
    text = "\n".join(p.text for p in Document(io.BytesIO(out.read_bytes())).paragraphs)
    assert "Sub-decree on civil registration" in text and BIRTH_KM in text
    for title in SECRET_TITLES.values():
        assert title not in text


def test_upr_report_writes_markdown_and_xlsx_and_refuses_a_bad_date(report_db, tmp_path, monkeypatch):
    from upr.cli import app

    monkeypatch.setenv("UPR_MONGODB_URI", MONGODB_URI)
    monkeypatch.setenv("UPR_MONGODB_DB", report_db.name)
    runner = CliRunner()
    md = tmp_path / "report.md"
    assert runner.invoke(app, ["report", "--cycle", "1", "--format", "md", "--out", str(md)]).exit_code == 0
    assert "## Executive summary" in md.read_text(encoding="utf-8")
    xlsx = tmp_path / "matrix.xlsx"
    assert runner.invoke(app, ["report", "--cycle", "1", "--format", "xlsx", "--out", str(xlsx)]).exit_code == 0
    assert xlsx.stat().st_size > 5_000
    bad = runner.invoke(app, ["report", "--cycle", "1", "--as-of", "30/06/2025", "--format", "md", "--out", str(md)])
    assert bad.exit_code != 0
    missing = runner.invoke(app, ["report", "--cycle", "3", "--format", "md", "--out", str(md)])
    assert missing.exit_code == 1
