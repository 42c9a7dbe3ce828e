"""The Dashboard's summaries in MongoDB (``dashboard_summaries``), recounted from indexed queries.

A (country, cycle) is recounted from ``find({"country", "cycle"})`` (the tracker's
``country, cycle, paragraph`` index; the embedded FerretDB pushes the equality down to it),
evidence from ``find({"review_state": ...})`` (indexed). Writes replace whole documents and
keep the newest recount: two trackers recounting one cycle at once cannot leave an older
count over a newer one, and nothing is incremented.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from contracts import documents as d
from services.tracker.adapters.cycle_keys import cycle_keys, stored_cycles
from services.tracker.domain import dashboard as rules

META = "meta"
EVIDENCE = "evidence"


class DashboardStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.db = db
        self.summaries = db[d.DASHBOARD_SUMMARIES]

    async def keys_of(self, recommendation_ids: Sequence[str]) -> set[rules.Key]:
        return await cycle_keys(self.db, recommendation_ids)

    async def recount(self, country: str, cycle: int) -> None:
        started = _now()
        fields = dict.fromkeys(rules.RECOMMENDATION_FIELDS, 1)
        docs = [doc async for doc in self.db[d.RECOMMENDATIONS].find({"country": country, "cycle": cycle}, fields)]
        await self._put(rules.summary_id(country, cycle),
                        {"kind": "cycle", **rules.summarise(country, cycle, docs)}, started)

    async def recount_evidence(self) -> None:
        started = _now()
        fields = dict.fromkeys(rules.EVIDENCE_FIELDS, 1)
        cursor = self.db[d.EVIDENCE].find({"review_state": {"$in": ["approved", "pending"]}}, fields)
        await self._put(EVIDENCE, {"kind": "evidence", **rules.count_evidence([e async for e in cursor])}, started)

    async def recount_across_cycles(self) -> None:
        await self.recount_evidence()

    async def rebuild(self) -> int:
        """Recount everything (existing data, or after a repair), one cycle at a time (memory
        bounded by the largest cycle, not the collection); returns how many (country, cycle)
        summaries there are."""
        keys = await stored_cycles(self.db, {})
        for country, cycle in sorted(keys):
            await self.recount(country, cycle)
        wanted = {rules.summary_id(*key) for key in keys}
        stale = [doc["_id"] async for doc in self.summaries.find({"kind": "cycle"}, {"_id": 1})
                 if doc["_id"] not in wanted]
        if stale:
            await self.summaries.delete_many({"_id": {"$in": stale}})
        await self.recount_evidence()
        await self.mark_complete()
        return len(keys)

    async def mark_complete(self) -> None:
        """Every cycle is summarised: the UI may read the summaries instead of counting."""
        await self.summaries.update_one({"_id": META}, {"$set": {"kind": "meta", "complete": True, "at": _now()}},
                                        upsert=True)

    async def complete(self) -> bool:
        return await self.summaries.find_one({"_id": META}) is not None

    async def ready(self) -> bool:
        """On start-up: a database without recommendations is trivially summarised. Returns
        whether the summaries are complete (if not, the tracker rebuilds them once)."""
        if await self.complete():
            return True
        if await self.db[d.RECOMMENDATIONS].estimated_document_count() == 0:
            await self.mark_complete()
            return True
        return False

    async def _put(self, doc_id: str, fields: dict[str, Any], started: datetime) -> None:
        doc = {**fields, "computed_at": started}
        # Only over an older recount (or none): "$lte", so a rebuild of the same instant still lands.
        result = await self.summaries.replace_one({"_id": doc_id, "computed_at": {"$lte": started}}, doc)
        if result.matched_count == 0:
            try:
                await self.summaries.insert_one({"_id": doc_id, **doc})
            except DuplicateKeyError:
                pass  # a newer recount is there already


def _now() -> datetime:
    return datetime.now(UTC)
