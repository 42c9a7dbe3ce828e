"""What an import would do, from the tracker's state, without storing anything (issue 14,
"preview before commit"): the ingest's dry run asks this before a person presses Import.

The same rules as the batch handler (``handlers.recommendations_imported``): ids and aliases
first, then the matcher against the recommendations of the row's country and cycle, then the
merge rules. Each row's outcome is what its receipt would say: ``created``, ``updated``,
``unchanged`` or ``ambiguous`` (with the candidates), plus the conflicts it would record.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from contracts.events import RecommendationImportedV1
from services.tracker.adapters.mongo import MongoTrackerRepository
from services.tracker.domain.matching import find_match
from services.tracker.domain.merging import merge_import
from services.tracker.domain.recommendations import content_hash, content_of
from services.tracker.handlers import _ambiguous, _candidate_queries, _Pool

MAX_ROWS = 5000  # rows per request; the ingest sends bigger files in parts


async def preview_imports(
    repo: MongoTrackerRepository, rows: Sequence[RecommendationImportedV1],
) -> list[dict[str, Any]]:
    """One outcome per row, in order (one read per collection, as an import batch)."""
    pool = _Pool(await repo.recommendations([r.recommendation_id for r in rows]))
    unplaced = [r for r in rows if pool.resolve(r.recommendation_id) is None]
    if unplaced:
        for doc in await repo.match_candidates(_candidate_queries(unplaced)):
            pool.add(doc)
    # Matching is CPU work: off the event loop that consumes Kafka.
    return await asyncio.to_thread(plan, pool, rows)


def plan(pool: _Pool, rows: Sequence[RecommendationImportedV1]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for row in rows:
        base = {"row": row.source.row, "recommendation_id": row.recommendation_id}
        target = pool.resolve(row.recommendation_id)
        if target is None:
            match = find_match(row.model_dump(mode="json"), pool.candidates(row))
            if match.kind == "ambiguous":
                out.append({**base, "outcome": "ambiguous", "ambiguous": _ambiguous(row, match)})
                continue
            target = match.target
        existing = pool.docs.get(target) if target else None
        place = {"country": row.country, "cycle": row.cycle, "last_import_id": row.import_id}
        if existing is None:
            content = content_of(row)
            pool.put(row.recommendation_id, {**content, **place, "_id": row.recommendation_id, "version": 1,
                                             "content_hash": content_hash(content)}, None)
            out.append({**base, "outcome": "created"})
            continue
        merged = merge_import(existing, row)
        entry = {**base, "outcome": merged.outcome}
        if merged.recommendation_id != row.recommendation_id:
            entry["recommendation_id"] = merged.recommendation_id
        if merged.meta["conflicts"]:
            entry["conflicts"] = merged.meta["conflicts"]
        out.append(entry)
        if merged.outcome == "updated":
            pool.put(merged.recommendation_id, {**existing, **merged.content, **merged.meta, **place,
                                                "_id": merged.recommendation_id, "version": merged.version,
                                                "content_hash": merged.content_hash}, merged.retired_id)
    return out
