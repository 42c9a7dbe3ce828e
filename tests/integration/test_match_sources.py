"""Where the tracker's matcher looks for another source's recommendations (import_sources),
against the real MongoDB-wire server: what is stored is registered, data stored before the
registry existed included."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from contracts import documents as d
from services.tracker.adapters.mongo import MongoTrackerRepository

pytestmark = pytest.mark.integration


def _item(rec_id: str, import_id: str) -> dict[str, Any]:
    return {"recommendation_id": rec_id, "version": 1, "content_hash": "h", "changes": [], "event_id": f"e-{rec_id}",
            "at": datetime.now(UTC), "new": True, "deferred_snapshot": True,
            "content": {"text": "Adopt the Child Protection Law", "paragraph": rec_id.rsplit("-", 1)[1]},
            "base": {"country": "KHM", "cycle": 4, "last_import_id": import_id}}


async def test_every_import_that_stored_recommendations_in_a_cycle_is_a_source_there(
    mongo_db: AsyncDatabase[dict[str, Any]],
) -> None:
    # Stored by a version of the tracker that kept no registry: registered once, at start-up.
    await mongo_db[d.RECOMMENDATIONS].insert_one({"_id": "KHM-4-1.1", "country": "KHM", "cycle": 4,
                                                  "last_import_id": "imp-old"})
    await mongo_db[d.RECOMMENDATIONS].insert_one({"_id": "LAO-3-2.1", "country": "LAO", "cycle": 3})
    repo = MongoTrackerRepository(mongo_db)
    await repo.ensure_indexes()
    await repo.save_versions([_item("KHM-4-1.2", "imp-new"), _item("KHM-4-1.3", "imp-new")])
    sources = await repo.import_sources([("KHM", 4), ("LAO", 3), ("VNM", 4)])
    assert sources == {("KHM", 4): {"imp-old", "imp-new"}, ("LAO", 3): {""}}  # "": stored without an import id
    # Another tracker (a new repository) sees the same, and registering again adds nothing.
    other = MongoTrackerRepository(mongo_db)
    await other.ensure_indexes()
    await other.save_versions([_item("KHM-4-1.4", "imp-new")])
    assert await other.import_sources([("KHM", 4)]) == {("KHM", 4): {"imp-old", "imp-new"}}
    assert await mongo_db[d.IMPORT_SOURCES].count_documents({}) == 3
