"""The keeper of the tracker's read models (the Dashboard's summaries, the published
projection): what a batch of the tracker's events makes it recount."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from services.tracker.projections import ProjectionKeeper


class FakeStore:
    def __init__(self, ready: bool) -> None:
        self.is_ready = ready
        self.done: list[Any] = []

    async def ready(self) -> bool:
        return self.is_ready

    async def rebuild(self) -> int:
        self.done.append("rebuild")
        return 1

    async def keys_of(self, recommendation_ids: Sequence[str]) -> set[tuple[str, int]]:
        return {("KHM", int(i.split("-")[1])) for i in recommendation_ids}

    async def recount(self, country: str, cycle: int) -> None:
        self.done.append((country, cycle))

    async def recount_across_cycles(self) -> None:
        self.done.append("evidence")


def event(*ids: str, at: datetime | None = None) -> bytes:
    return json.dumps({"occurred_at": (at or datetime.now(UTC)).isoformat(),
                       "payload": {"recommendation_ids": list(ids)}}).encode()


async def test_the_first_batch_rebuilds_everything_and_older_replayed_events_recount_nothing() -> None:
    store = FakeStore(ready=False)
    keeper = ProjectionKeeper("test", store, max_share=1.0)
    await keeper.start()
    await keeper.handle_batch([event("KHM-4-1")])
    assert store.done == ["rebuild"]
    old = datetime.now(UTC) - timedelta(hours=1)  # a new consumer group replays history: in the rebuild
    await keeper.handle_batch([event("KHM-3-1", at=old), b"not json", None])
    assert store.done == ["rebuild", "evidence"]
    await keeper.handle_batch([event("KHM-4-1", "KHM-3-2"), event("KHM-4-2")])
    assert store.done == ["rebuild", "evidence", ("KHM", 3), ("KHM", 4), "evidence"]  # each touched cycle once


async def test_a_projected_database_recounts_only_the_cycles_events_name_then_what_no_cycle_holds() -> None:
    store = FakeStore(ready=True)
    keeper = ProjectionKeeper("test", store, max_share=1.0)
    await keeper.start()
    await keeper.handle_batch([event("KHM-2-7"), json.dumps({"payload": {"recommendation_id": "KHM-1-3"}}).encode()])
    assert store.done == [("KHM", 1), ("KHM", 2), "evidence"]
