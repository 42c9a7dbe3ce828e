"""The delivery log's compare-and-set on the real MongoDB-wire server: when several notifiers
(or a notifier's retry loop and its request consumer) claim the same due deliveries at the
same moment, each delivery is won by exactly one of them, so it is sent once.

FerretDB applies a conditional update as a read then a write: with a plain conditional
update two claimers both won a delivery a few times in a hundred, which is how
test_notifier_restart saw the same alert twice now and then."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.notifier.adapters.mongo import DELIVERIES, MongoNotifierRepository

pytestmark = pytest.mark.integration

DELIVERIES_PER_ROUND = 100
ROUNDS = 3
CLAIMERS = 4


async def test_concurrent_claims_of_due_deliveries_have_exactly_one_winner_each(mongo_db: Any) -> None:
    repo = MongoNotifierRepository(mongo_db)
    past = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
    later = datetime.now(UTC) + timedelta(seconds=30)
    winners: dict[str, int] = {}
    for round_ in range(ROUNDS):
        ids = [f"d-{round_}-{n:03d}" for n in range(DELIVERIES_PER_ROUND)]
        await mongo_db[DELIVERIES].insert_many(
            [{"_id": did, "status": "queued", "holder": "retry", "next_attempt_at": past} for did in ids])

        async def claim(ids: list[str]) -> list[str]:
            won = await repo.claim(ids, {"status": "queued", "next_attempt_at": {"$lte": datetime.now(UTC)}},
                                   {"next_attempt_at": later}, uuid.uuid4().hex)
            return [str(d["_id"]) for d in won]

        # Every claimer at once after the same due deliveries (retry loops of several notifiers).
        for won in await asyncio.gather(*(claim(ids) for _ in range(CLAIMERS))):
            for w in won:
                winners[w] = winners.get(w, 0) + 1
    assert {d: n for d, n in winners.items() if n != 1} == {}
    assert len(winners) == ROUNDS * DELIVERIES_PER_ROUND
