"""The (country, cycle) of recommendations: looked up by ``_id`` (what a batch of the tracker's
events makes the read models, Dashboard summaries and published projection, recount), or all
of them (what a rebuild recounts)."""

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
            keys.add(_key(doc))
    return keys


async def stored_cycles(db: AsyncDatabase[dict[str, Any]], query: dict[str, Any]) -> set[tuple[str, int]]:
    """Every (country, cycle) of the recommendations ``query`` selects (two fields a document):
    what a read model's rebuild recounts, one cycle at a time."""
    return {_key(doc) async for doc in db[d.RECOMMENDATIONS].find(query, {"country": 1, "cycle": 1})}


def _key(doc: dict[str, Any]) -> tuple[str, int]:
    return str(doc.get("country")), int(doc.get("cycle") or 0)
