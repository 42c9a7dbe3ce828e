"""One recommendation whatever the source (issue 14), on the real stack: Cambodia's 1st
cycle from UPR Info's raw CSV (no paragraph numbers), then the cleaned CSV (paragraph
numbers), then a UHRI-shaped XLSX (UN wording, one row per paragraph of the report)."""

from __future__ import annotations

import asyncio
import csv
import json
import random
import re
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from openpyxl import Workbook
from pymongo import MongoClient
from typer.testing import CliRunner

from contracts.events import (
    Actor,
    EvidenceSourceType,
    EvidenceSubmittedV1,
    Position,
    RecommendationImportedV1,
    RecommendingState,
    Role,
    SourceRef,
)
from contracts.topics import Topics
from services.ingest.domain.columns import UHRI_EXPORT_COLUMNS
from services.tracker.adapters.report_source import load_report_inputs
from tests.integration.helpers import ServiceProcess, send, signed_event, wait_for
from tests.integration.test_faults import publish_all
from ui import read_model
from upr.cli import app as upr

pytestmark = pytest.mark.integration

HASH_ID = re.compile(r"^KHM-1-x[0-9a-f]{10}$")
SPAIN_TEXT = "Deepen its actions in fighting against child prostitution and trafficking of minors"
REVIEWER = Actor(username="vanna", role=Role.REVIEWER, organisation="CNCC")



def upr_import(path: Path, env: dict[str, str]) -> dict[str, Any]:
    result = CliRunner().invoke(upr, ["import", str(path), "--json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def uhri_xlsx(clean_csv: Path, out: Path) -> Path:
    """UHRI's export as OHCHR shapes it: one row per paragraph of the report in the UN's
    wording ("82.32 ... (Spain); ... (Italy)"), multi-valued cells as "- item" lines,
    dates as Excel serial numbers."""
    with clean_csv.open(encoding="utf-8", newline="") as handle:
        by_paragraph: dict[str, list[dict[str, str]]] = defaultdict(list)
        for row in csv.DictReader(handle):
            by_paragraph[row["paragraph"]].append(row)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(UHRI_EXPORT_COLUMNS))
    serial = (date(2010, 1, 4) - date(1899, 12, 30)).days
    for n, (paragraph, group) in enumerate(by_paragraph.items()):
        text = "; ".join(f"{r['text'].strip()} ({r['recommending_state']})" for r in group)
        states = list(dict.fromkeys(r["recommending_state"] for r in group))
        child = "child" in text.casefold() or "minor" in text.casefold()
        sheet.append([
            f"{paragraph} {text}", "Cambodia", "UPR", "A/HRC/13/4",
            "- Children: protection against exploitation" if child else "- Human rights & general framework",
            "- Children" if child else "- General", "- 16.2" if "traffick" in text else "", serial,
            "\n".join(f"- {s}" for s in states), "Supported", "Recommendation", str(1_000_000 + n), "6",
            "Asia-Pacific States", "", serial,
        ])
    book.save(out)
    return out


async def test_three_sources_of_one_cycle_make_138_recommendations_under_paragraph_ids(
    tracker_app: Any, shared_data: Path, mongo_db: Any, topics: Topics, kafka_bootstrap: str, mongodb_uri: str,
    producer: AIOKafkaProducer, tmp_path: Path,
) -> None:
    env = tracker_app.env
    raw = await asyncio.to_thread(upr_import, shared_data / "upr_info_raw_khm_2009.csv", env)
    assert (raw["format"], raw["imported"], raw["ambiguous"]) == ("upr_info_csv", 138, [])
    old = await mongo_db.recommendations.find_one({"text": SPAIN_TEXT})
    old_id = old["_id"]
    assert HASH_ID.match(old_id)

    # Evidence attached under the old id, before the other sources come.
    evidence = signed_event(EvidenceSubmittedV1(
        evidence_id="ev-ocse-nap", recommendation_ids=[old_id], source_type=EvidenceSourceType.POLICY_PLAN,
        title="National Action Plan to Prevent and Respond to OCSE 2021-2025"), source="ui", actor=REVIEWER)
    await send(producer, topics.tracker_commands, evidence)
    await wait_for(lambda: mongo_db.evidence.find_one({"_id": "ev-ocse-nap"}), what="evidence stored")

    clean = await asyncio.to_thread(upr_import, shared_data / "upr_info_khm_cycle1_2009.csv", env)
    assert (clean["imported"], clean["updated"], clean["ambiguous"], clean["conflicts"]) == (0, 138, [], [])
    uhri = await asyncio.to_thread(upr_import, uhri_xlsx(shared_data / "upr_info_khm_cycle1_2009.csv",
                                                         tmp_path / "uhri_khm_cycle1.xlsx"), env)
    # 74 paragraphs of one state merge; 17 paragraphs that group several states (UPR Info has
    # one row per state) are listed for a reviewer, never merged into one of them.
    assert (uhri["format"], uhri["rows"], uhri["imported"], uhri["updated"]) == ("uhri_xlsx", 91, 0, 74)
    assert len(uhri["ambiguous"]) == 17 and uhri["conflicts"] == []
    grouped = next(a for a in uhri["ambiguous"] if a["recommendation_id"] == "KHM-1-82.7")
    assert {c["recommendation_id"] for c in grouped["candidates"]} == {f"KHM-1-82.7{x}" for x in "abcd"}

    docs = [doc async for doc in mongo_db.recommendations.find({})]
    assert len(docs) == 138
    assert not [d["_id"] for d in docs if HASH_ID.match(d["_id"])]
    assert sum(len(d["aliases"]) for d in docs) == 138  # every old id kept, once
    merged = await mongo_db.recommendations.find_one({"_id": "KHM-1-82.32h"})
    assert merged["aliases"] == [old_id] and merged["evidence_count"] == 1
    assert merged["document_symbol"] == "A/HRC/13/4" and merged["paragraph"] == "82.32"
    single = await mongo_db.recommendations.find_one({"_id": "KHM-1-82.53"})
    assert single["source_themes"] and set(single["sources"]) == {"upr_info_csv", "upr_info_clean_csv", "uhri_xlsx"}
    assert single["text"] == "Develop a policy to protect human rights defenders"  # the first wording stays

    # The old id still resolves: detail page, evidence timeline, the report.
    client: MongoClient[dict[str, Any]] = MongoClient(mongodb_uri, tz_aware=True)
    try:
        db = client[mongo_db.name]
        found = read_model.recommendation(db, old_id)
        assert found is not None and found.recommendation_id == "KHM-1-82.32h"
        assert [e.evidence_id for e in read_model.evidence_for(db, "KHM-1-82.32h", REVIEWER)] == ["ev-ocse-nap"]
        assert [v.version for v in read_model.versions(db, "KHM-1-82.32h")] == [1, 2]
        recs, items, _ = load_report_inputs(db, "KHM", 1)
        ids = [r.recommendation_id for r in recs]
        assert len(ids) == len(set(ids)) == 138
        assert [e.recommendation_ids for e in items] == [["KHM-1-82.32h"]]
    finally:
        client.close()

    # Replayed: the raw file again is found through the aliases and changes nothing.
    again = await asyncio.to_thread(upr_import, shared_data / "upr_info_raw_khm_2009.csv", env)
    assert (again["imported"], again["updated"], again["unchanged"]) == (0, 0, 138)
    assert await mongo_db.recommendations.count_documents({}) == 138


def distinct_text(n: int) -> str:
    """Texts no two of which look alike (the matcher must merge by text alone here)."""
    rng = random.Random(n)
    return " ".join("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(7)) for _ in range(9))


def merge_row(n: int, *, paragraph: bool) -> RecommendationImportedV1:
    para = f"{100 + n // 100}.{n % 100 + 1}"
    return RecommendationImportedV1(
        recommendation_id=f"KHM-4-{para}" if paragraph else f"KHM-4-x{n:010x}", country="KHM", cycle=4, session=46,
        paragraph=para if paragraph else None, text=distinct_text(n),
        recommending_states=[RecommendingState(code="NOR", name="Norway")], position=Position.SUPPORTED,
        source=SourceRef(format="uhri_csv" if paragraph else "upr_info_csv", file_name="f", row=n + 2),
        import_id="imp-un" if paragraph else "imp-upr-info")


@pytest.mark.timeout(600)
async def test_a_tracker_killed_while_merging_a_second_source_loses_and_duplicates_nothing(
    tracker_process: ServiceProcess, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any,
) -> None:
    count = 400
    first = [signed_event(merge_row(n, paragraph=False), source="ingest") for n in range(count)]
    second = [signed_event(merge_row(n, paragraph=True), source="ingest") for n in range(count)]
    # Small batches, so the kill lands between or inside them; one 500-record batch would store
    # the whole second source at once and the kill would come after it.
    tracker_process.env["UPR_BATCH_MAX_RECORDS"] = "40"
    tracker_process.start()
    await publish_all(producer, topics.recommendations_imported, first)

    async def receipts_at_least(n: int) -> bool:
        return await mongo_db.processed_messages.estimated_document_count() >= n
    await wait_for(lambda: receipts_at_least(count), timeout=300, what="the first source stored", interval=0.5)
    await publish_all(producer, topics.recommendations_imported, second)
    await wait_for(lambda: receipts_at_least(count + count // 4), timeout=300, what="a quarter merged",
                   interval=0.02)
    tracker_process.kill9()
    assert await mongo_db.processed_messages.estimated_document_count() < 2 * count, "killed too late"
    tracker_process.start()
    await wait_for(lambda: receipts_at_least(2 * count), timeout=300, what="every row after the restart",
                   interval=1)

    ids = {d["_id"] async for d in mongo_db.recommendations.find({}, {"_id": 1})}
    assert ids == {e.payload["recommendation_id"] for e in second}  # one each, under the paragraph id
    aliases = {d["_id"]: d["recommendation_id"] async for d in mongo_db.recommendation_aliases.find({})}
    assert aliases == {a.payload["recommendation_id"]: b.payload["recommendation_id"]
                       for a, b in zip(first, second, strict=True)}
    assert await mongo_db.recommendation_versions.count_documents({}) == 2 * count
    assert await mongo_db.recommendations.count_documents({"version": 2}) == count
