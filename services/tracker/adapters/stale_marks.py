"""The cycles each read-model keeper still has to recount (``projection_marks``,
services/tracker/projections.py).

A batch of events leaves one document: the keeper's name and the (country, cycle) pairs it
touched, under a random ``_id`` (an insert: on the embedded server an upsert per cycle cost
about as much as storing the batch itself). A recount round reads a keeper's documents and,
once every cycle they name is recounted, deletes exactly those: a batch marked meanwhile keeps
its document for the next round, and nothing is incremented.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from contracts import documents as d
from services.tracker.domain.dashboard import Key

CHUNK = 500  # mark ids per delete


class MongoStaleMarks:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.marks = db[d.PROJECTION_MARKS]

    async def mark(self, keeper: str, keys: Iterable[Key]) -> None:
        await self.marks.insert_one({"_id": uuid.uuid4().hex, "keeper": keeper,
                                     # Objects, not pairs: the embedded server stores no nested arrays.
                                     "keys": [{"country": country, "cycle": cycle} for country, cycle in sorted(keys)]})

    async def marked(self, keeper: str) -> tuple[set[Key], list[str]]:
        keys: set[Key] = set()
        mark_ids: list[str] = []
        async for doc in self.marks.find({"keeper": keeper}):
            mark_ids.append(str(doc["_id"]))
            keys.update((str(key["country"]), int(key["cycle"])) for key in doc.get("keys") or [])
        return keys, sorted(mark_ids)

    async def clear(self, keeper: str, mark_ids: Sequence[str]) -> None:
        for start in range(0, len(mark_ids), CHUNK):
            await self.marks.delete_many({"_id": {"$in": list(mark_ids[start:start + CHUNK])}, "keeper": keeper})
