"""The read models' stale marks (services/tracker/adapters/stale_marks.py) on the real server:
what a recount round reads, and that clearing keeps marks made after the read."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.tracker.adapters.stale_marks import MongoStaleMarks

pytestmark = pytest.mark.integration


async def test_a_round_reads_every_keepers_own_marks_and_clears_only_those_it_read(
    mongo_db: AsyncDatabase[dict[str, Any]],
) -> None:
    marks = MongoStaleMarks(mongo_db)
    await marks.mark("dashboard", [("KHM", 4), ("*", 0)])
    await marks.mark("dashboard", [("KHM", 4), ("LAO", 3)])
    await marks.mark("public", [("VNM", 2)])
    keys, read = await marks.marked("dashboard")
    assert keys == {("KHM", 4), ("LAO", 3), ("*", 0)}
    assert len(read) == 2
    await marks.mark("dashboard", [("KHM", 1)])  # a batch during the recount
    await marks.clear("dashboard", read)
    keys, left = await marks.marked("dashboard")
    assert keys == {("KHM", 1)}
    assert len(left) == 1 and left[0] not in read
    assert (await marks.marked("public"))[0] == {("VNM", 2)}  # another keeper's marks are its own
