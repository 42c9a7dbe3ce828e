"""The (country, cycle) of recommendations, looked up by ``_id``: what a batch of the tracker's
events makes the read models (Dashboard summaries, published projection) recount."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from contracts import documents as d

CHUNK = 500  # ids per $in query


async def cycle_keys(db: AsyncDatabase[dict[str, Any]], recommendation_ids: Sequence[str]) -> set[tuple[str, int]]:
    keys: set[tuple[str, int]] = set()
    wanted = sorted(set(recommendation_ids))
    for start in range(0, len(wanted), CHUNK):
        async for doc in db[d.RECOMMENDATIONS].find({"_id": {"$in": wanted[start:start + CHUNK]}},
                                                    {"country": 1, "cycle": 1}):
            keys.add((str(doc.get("country")), int(doc.get("cycle") or 0)))
    return keys
