"""What an imported recommendation stores (issue 12: fewer, smaller documents per event): no
copy of its content in ``sources`` or in its first version, and no index that no query uses;
yet every version's content, each source's word and its conflicts are all still there."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from contracts import documents as d
from contracts.events import Position, RecommendationImportedV1, RecommendingState, SourceRef, make_event
from services.tracker import handlers
from services.tracker.adapters.mongo import MongoTrackerRepository
from services.tracker.adapters.tagger import load_tagger

TEXT = "Deepen its actions in fighting against child prostitution and trafficking of minors"


def row(fmt: str, import_id: str, position: Position = Position.SUPPORTED) -> RecommendationImportedV1:
    return RecommendationImportedV1(
        recommendation_id="KHM-1-82.32", country="KHM", cycle=1, session=6, paragraph="82.32", text=TEXT,
        recommending_states=[RecommendingState(code="ESP", name="Spain")], position=position,
        source=SourceRef(format=fmt, file_name=f"{fmt}.file", row=2), import_id=import_id)


async def test_an_import_stores_no_copy_of_its_content_and_its_history_keeps_every_version(
    mongo_db: AsyncDatabase[dict[str, Any]],
) -> None:
    repo = MongoTrackerRepository(mongo_db)
    await repo.ensure_indexes()

    async def examples() -> Sequence[dict[str, Any]]:
        return []

    deps = handlers.Deps(repo=repo, tagger=load_tagger(), examples=examples)

    async def imported(payload: RecommendationImportedV1) -> None:
        envelope = make_event(payload, source="ingest", correlation_id=payload.import_id)
        await handlers.recommendations_imported([handlers.Imported(envelope, payload)], deps)

    await imported(row("upr_info_clean_csv", "imp-1"))
    rec = await mongo_db[d.RECOMMENDATIONS].find_one({"_id": "KHM-1-82.32"})
    first = await mongo_db[d.RECOMMENDATION_VERSIONS].find_one({"_id": "KHM-1-82.32@1"})
    assert rec is not None and first is not None
    assert "sources" not in rec and "field_sources" not in rec and "snapshot" not in first

    # The source corrects its position: version 2; version 1 now holds the content it had.
    await imported(row("upr_info_clean_csv", "imp-2", Position.NOTED))
    history = [v async for v in mongo_db[d.RECOMMENDATION_VERSIONS].find({}).sort("version", ASCENDING)]
    assert [(v["version"], v["snapshot"]["position"]) for v in history] == [(1, "Supported"), (2, "Noted")]
    assert [c["field"] for c in history[1]["changes"]] == ["position"]

    # Another source says otherwise: both words kept, and the conflict shown.
    await imported(row("uhri_xlsx", "imp-3"))
    rec = await mongo_db[d.RECOMMENDATIONS].find_one({"_id": "KHM-1-82.32"})
    assert rec is not None and rec["version"] == 3
    assert {k: v["position"] for k, v in rec["sources"].items()} == {"upr_info_clean_csv": "Noted",
                                                                      "uhri_xlsx": "Supported"}
    assert rec["conflicts"] == {"position": {"uhri_xlsx": "Supported", "upr_info_clean_csv": "Noted"}}


async def test_indexes_no_query_uses_are_dropped_from_an_existing_database(
    mongo_db: AsyncDatabase[dict[str, Any]],
) -> None:
    await mongo_db[d.RECOMMENDATIONS].create_index([("cso_status", ASCENDING)])
    await mongo_db[d.RECOMMENDATIONS].create_index([("country", ASCENDING), ("cycle", ASCENDING),
                                                    ("paragraph", ASCENDING)])
    await mongo_db[d.PROCESSED_MESSAGES].create_index([("correlation_id", ASCENDING), ("outcome", ASCENDING)])
    await MongoTrackerRepository(mongo_db).ensure_indexes()
    names: dict[str, set[str]] = {}
    for collection in (d.RECOMMENDATIONS, d.PROCESSED_MESSAGES):
        names[collection] = {i["name"] async for i in await mongo_db[collection].list_indexes()}
    assert "cso_status_1" not in names[d.RECOMMENDATIONS]
    assert "country_1_cycle_1_paragraph_1" not in names[d.RECOMMENDATIONS]
    assert "country_1_cycle_1_match_paragraph_1" in names[d.RECOMMENDATIONS]
    assert names[d.PROCESSED_MESSAGES] == {"_id_"}
