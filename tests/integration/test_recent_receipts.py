"""Receipts answered from a tracker's memory (adapters/recent_receipts.py) say what the database
holds, with two trackers sharing it."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.tracker.adapters.mongo import MongoTrackerRepository
from services.tracker.adapters.recent_receipts import RecentReceipts

pytestmark = pytest.mark.integration


def receipt(message_id: str, outcome: str) -> dict[str, Any]:
    return {"message_id": message_id, "type": "recommendation.imported", "correlation_id": "imp-1",
            "outcome": outcome}


async def test_receipts_stored_by_one_tracker_are_answered_as_stored_by_both(
    mongo_db: AsyncDatabase[dict[str, Any]],
) -> None:
    one = MongoTrackerRepository(mongo_db, "t-1", RecentReceipts(100))
    other = MongoTrackerRepository(mongo_db, "t-2", RecentReceipts(100))
    await one.mark_processed_many([receipt("m1", "created"), receipt("m2", "ambiguous")])
    for repo in (one, other):
        found = await repo.processed_many(["m1", "m2", "m3"])
        assert {mid: r["outcome"] for mid, r in found.items()} == {"m1": "created", "m2": "ambiguous"}

    # A redelivered batch writes its receipts again: the stored one stands, and is what is answered.
    await other.mark_processed_many([receipt("m1", "updated")])
    assert (await other.processed_many(["m1"]))["m1"]["outcome"] == "created"
    assert (await other.processed("m1") or {}).get("outcome") == "created"

    # A parked message applied by the other tracker: the first one answers the final outcome.
    await one.mark_processed("m4", consumer="tracker", type_="evidence.added", correlation_id="c",
                             outcome="parked")
    assert (await one.processed("m4") or {}).get("outcome") == "parked"
    await other.mark_processed("m4", consumer="tracker", type_="evidence.added", correlation_id="c",
                               outcome="added")
    assert (await one.processed_many(["m4"]))["m4"]["outcome"] == "added"
    assert (await one.processed("m4") or {}).get("outcome") == "added"
