"""The published projection in MongoDB (``public_projection``): the public list's rows per
(country, cycle), written by the tracker from its events, read by the read API by ``_id``.

Why: the embedded FerretDB decodes, document by document, every recommendation a filtered or
sorted query touches (~0.7 ms each), and the public page reads a cycle's list as pages of 100;
at 10,000 recommendations that was 4-5 s per page. Here a (country, cycle) is one small stamp
document plus parts of ``PART_ROWS`` rows (as JSON text), all fetched by ``_id`` (pushed down everywhere), and
the read API keeps the rows in memory until the stamp changes.

Writes: parts first, then the stamp, each replaced whole (never incremented) and only over an
older recount. Two recounts of one cycle at once may leave parts of both under the newer stamp:
every part names the recount it belongs to, and a reader that finds a mix computes the rows from
the recommendations instead (``rows_of``), until the next recount.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from contracts import documents as d
from contracts.public_api import PublicRecommendationV1
from services.tracker.adapters.cycle_keys import cycle_keys, stored_cycles
from services.tracker.domain import publication as pub

META = "meta"
PART_ROWS = 2_000  # rows per part document: ~1 MB, far under MongoDB's 16 MB a document


class PublicProjectionStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.db = db
        self.projection = db[d.PUBLIC_PROJECTION]

    # --- reading (the read API) ---------------------------------------------------------

    async def stamps(self, keys: Sequence[str]) -> dict[str, tuple[datetime, int]]:
        """(recount time, parts) of each (country, cycle) key that has a projection."""
        docs = await self.projection.find({"_id": {"$in": list(keys)}}).to_list() if keys else []
        return {str(doc["_id"]): (doc["computed_at"], int(doc["parts"])) for doc in docs if doc.get("kind") == "stamp"}

    async def rows(self, key: str, stamp: tuple[datetime, int]) -> list[PublicRecommendationV1] | None:
        """The rows stored under ``stamp``; None when a newer recount is writing over them."""
        computed_at, parts = stamp
        ids = [_part_id(key, n) for n in range(parts)]
        docs = {str(doc["_id"]): doc for doc in await self.projection.find({"_id": {"$in": ids}}).to_list()} \
            if ids else {}
        if any(docs.get(i, {}).get("computed_at") != computed_at for i in ids):
            return None
        return [row for i in ids for row in _ROWS.validate_json(docs[i]["rows"])]

    async def rows_of(self, country: str, cycle: int) -> list[PublicRecommendationV1]:
        """The rows computed from the recommendations and the evidence (the rules, no projection)."""
        evidence = await self.db[d.EVIDENCE].find(pub.evidence_query(pub.PUBLIC), _EVIDENCE_FIELDS).to_list()
        return pub.public_rows(await self._supported(country, cycle), evidence)

    async def _supported(self, country: str, cycle: int) -> list[dict[str, Any]]:
        """This cycle's supported recommendations. Asked by country and cycle only (the index
        ``country, cycle, match_paragraph``), the position checked here: with the position in the
        filter, SQLite chose the ``cycle, position`` index and read the supported
        recommendations of every country in that cycle (EXPLAIN), the whole UHRI cycle for one."""
        positions = {str(p) for p in pub.PUBLIC_POSITIONS}
        return [doc async for doc in self.db[d.RECOMMENDATIONS].find({"country": country, "cycle": cycle})
                if str(doc.get("position")) in positions]

    # --- writing (the tracker's keeper) -------------------------------------------------

    async def keys_of(self, recommendation_ids: Sequence[str]) -> set[tuple[str, int]]:
        return await cycle_keys(self.db, recommendation_ids)

    async def recount(self, country: str, cycle: int) -> None:
        started = _now()
        await self._put(country, cycle, await self.rows_of(country, cycle), started)

    async def rebuild(self) -> int:
        """Every (country, cycle) of the supported recommendations, one cycle at a time; returns how
        many there are. Projections of cycles without supported recommendations are emptied."""
        started = _now()
        # The cycles first (two fields a document), then one cycle at a time: holding every
        # supported recommendation at once took a tracker from 164 to 667 MB at 100,000.
        keys = await stored_cycles(self.db, {"position": {"$in": list(pub.PUBLIC_POSITIONS)}})
        evidence = await self.db[d.EVIDENCE].find(pub.evidence_query(pub.PUBLIC), _EVIDENCE_FIELDS).to_list()
        stale = {str(doc["_id"]) for doc in await self.projection.find({"kind": "stamp"}, {"_id": 1}).to_list()}
        for country, cycle in sorted(keys):
            await self._put(country, cycle, pub.public_rows(await self._supported(country, cycle), evidence), started)
            stale.discard(pub.projection_id(country, cycle))
        for key in stale:
            country, _, number = key.rpartition("-")
            await self._put(country, int(number), [], started)
        await self.mark_complete()
        return len(keys)

    async def ready(self) -> bool:
        """Whether every (country, cycle) was projected once (later events keep it current)."""
        return await self.projection.find_one({"_id": META}) is not None

    async def recount_across_cycles(self) -> None:
        """Nothing: every row belongs to a cycle."""

    async def mark_complete(self) -> None:
        await self.projection.update_one({"_id": META}, {"$set": {"kind": "meta", "at": _now()}}, upsert=True)

    async def _put(self, country: str, cycle: int, rows: list[PublicRecommendationV1], started: datetime) -> None:
        key = pub.projection_id(country, cycle)
        before = await self.projection.find_one({"_id": key})
        parts = [_ROWS.dump_json(rows[start:start + PART_ROWS]).decode() for start in range(0, len(rows), PART_ROWS)]
        for n, part in enumerate(parts):
            await _replace_if_older(self.projection, _part_id(key, n),
                                    {"kind": "part", "key": key, "rows": part, "computed_at": started})
        await _replace_if_older(self.projection, key, {"kind": "stamp", "country": country, "cycle": cycle,
                                                       "parts": len(parts), "computed_at": started})
        # Parts beyond the new count belonged to a longer list: their rows must not linger.
        extra = [_part_id(key, n) for n in range(len(parts), int((before or {}).get("parts") or 0))]
        if extra:
            await self.projection.delete_many({"_id": {"$in": extra}, "computed_at": {"$lte": started}})


# A part's rows are one JSON string, not an array of documents: the embedded FerretDB decodes
# nested documents one by one (2.1 s for the 2,150 rows of a cycle at 10,000 recommendations),
# a string in one go; the read API parses it with pydantic's JSON parser.
_ROWS = TypeAdapter(list[PublicRecommendationV1])
_EVIDENCE_FIELDS = {"recommendation_ids": 1, "review_state": 1, "visibility": 1, "safeguarding_flags": 1,
                    "safeguarding_state": 1}


def _part_id(key: str, n: int) -> str:
    return f"{key}:{n}"


async def _replace_if_older(collection: Any, doc_id: str, doc: dict[str, Any]) -> None:
    # Only over an older recount (or none): "$lte", so a rebuild of the same instant still lands.
    result = await collection.replace_one({"_id": doc_id, "computed_at": {"$lte": doc["computed_at"]}}, doc)
    if result.matched_count == 0:
        try:
            await collection.insert_one({"_id": doc_id, **doc})
        except DuplicateKeyError:
            pass  # a newer recount is there already


def _now() -> datetime:
    return datetime.now(UTC)
