"""The keeper of the tracker's read models (the Dashboard's summaries, the published
projection): what a batch of the tracker's events marks stale, and what a round recounts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from services.tracker.projections import ACROSS_CYCLES, Backlog, ProjectionKeeper


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
        self.done.append(("looked up", *recommendation_ids))
        return {("LAO", 2) for _ in recommendation_ids}

    async def recount(self, country: str, cycle: int) -> None:
        self.done.append((country, cycle))

    async def recount_across_cycles(self) -> None:
        self.done.append("evidence")


class FakeMarks:
    """In memory, as adapters/stale_marks.py: one mark per batch."""

    def __init__(self) -> None:
        self.marks: dict[str, tuple[str, set[tuple[str, int]]]] = {}

    async def mark(self, keeper: str, keys: Iterable[tuple[str, int]]) -> None:
        self.marks[f"m{len(self.marks) + 1:04d}"] = (keeper, set(keys))

    async def marked(self, keeper: str) -> tuple[set[tuple[str, int]], list[str]]:
        mine = {mark_id: keys for mark_id, (name, keys) in self.marks.items() if name == keeper}
        return set().union(*mine.values()), sorted(mine)

    async def clear(self, keeper: str, mark_ids: Sequence[str]) -> None:
        for mark_id in mark_ids:
            self.marks.pop(mark_id, None)


def event(*ids: str, at: datetime | None = None) -> bytes:
    return json.dumps({"occurred_at": (at or datetime.now(UTC)).isoformat(),
                       "payload": {"recommendation_ids": list(ids)}}).encode()


async def keeper_of(store: FakeStore, marks: FakeMarks | None = None) -> ProjectionKeeper:
    keeper = ProjectionKeeper("test", store, marks or FakeMarks(), max_share=1.0)
    await keeper.start(recount_loop=False)
    return keeper


async def test_the_first_round_rebuilds_everything_and_older_replayed_events_recount_nothing() -> None:
    store = FakeStore(ready=False)
    keeper = await keeper_of(store)
    old = datetime.now(UTC) - timedelta(hours=1)  # a new consumer group replays history: in the rebuild
    await keeper.handle_batch([event("KHM-3-1", at=old), b"not json", None])
    assert await keeper.recount_marked() is True
    assert store.done == ["rebuild"]
    assert await keeper.recount_marked() is True
    assert store.done == ["rebuild", "evidence"]
    await keeper.handle_batch([event("KHM-4-1", "KHM-3-2"), event("KHM-4-2")])
    await keeper.recount_marked()
    assert store.done == ["rebuild", "evidence", ("KHM", 3), ("KHM", 4), "evidence"]  # each touched cycle once


async def test_a_projected_database_recounts_only_the_cycles_events_name_then_what_no_cycle_holds() -> None:
    store = FakeStore(ready=True)
    keeper = await keeper_of(store)
    await keeper.handle_batch([event("KHM-2-7"), json.dumps({"payload": {"recommendation_id": "KHM-1-3"}}).encode()])
    assert store.done == []  # a batch only marks: the loop recounts
    assert await keeper.recount_marked() is True
    assert store.done == [("KHM", 1), ("KHM", 2), "evidence"]
    assert await keeper.recount_marked() is False  # nothing marked any more
    assert store.done == [("KHM", 1), ("KHM", 2), "evidence"]


async def test_many_batches_about_one_cycle_make_one_recount() -> None:
    store = FakeStore(ready=True)
    keeper = await keeper_of(store)
    for n in range(20):  # a bulk import: batch after batch about cycle 4
        await keeper.handle_batch([event(f"KHM-4-{n}")])
    await keeper.recount_marked()
    assert store.done == [("KHM", 4), "evidence"]


class MarkedDuringRecount(FakeStore):
    """A batch about cycle 4 arrives while cycle 4 is being recounted."""

    def __init__(self, keeper: list[ProjectionKeeper]) -> None:
        super().__init__(ready=True)
        self.keeper = keeper

    async def recount(self, country: str, cycle: int) -> None:
        await super().recount(country, cycle)
        if len(self.done) == 1:
            await self.keeper[0].handle_batch([event("KHM-4-9")])


async def test_a_cycle_marked_again_during_its_recount_stays_marked_for_the_next_round() -> None:
    holder: list[ProjectionKeeper] = []
    store = MarkedDuringRecount(holder)
    marks = FakeMarks()
    holder.append(await keeper_of(store, marks))
    await holder[0].handle_batch([event("KHM-4-1")])
    await holder[0].recount_marked()
    assert [keys for _, keys in marks.marks.values()] == [{("KHM", 4), ACROSS_CYCLES}]  # marked after the read
    await holder[0].recount_marked()
    assert store.done == [("KHM", 4), "evidence", ("KHM", 4), "evidence"]
    assert marks.marks == {}


class FailingOnce(FakeStore):
    def __init__(self) -> None:
        super().__init__(ready=True)
        self.failed = False

    async def recount(self, country: str, cycle: int) -> None:
        if not self.failed:
            self.failed = True
            raise ConnectionError("database away")
        await super().recount(country, cycle)


async def test_a_recount_that_fails_leaves_its_marks_and_the_loop_recounts_them_later() -> None:
    store = FailingOnce()
    marks = FakeMarks()
    keeper = ProjectionKeeper("test", store, marks, min_interval_s=0.01, max_share=1.0, retry_s=0.01)
    await keeper.start()
    try:
        await keeper.handle_batch([event("KHM-4-1")])
        for _ in range(200):
            if not marks.marks:
                break
            await asyncio.sleep(0.01)
    finally:
        await keeper.stop()
    assert store.failed
    assert store.done == [("KHM", 4), "evidence"]
    assert marks.marks == {}


async def test_the_loop_waits_while_the_inbox_has_a_backlog_but_no_longer_than_max_pause() -> None:
    store = FakeStore(ready=True)
    marks = FakeMarks()
    backlog = Backlog(full_batch=500, hold_s=60.0)
    with backlog.batch(500):  # a full batch: the import has a backlog
        pass
    keeper = ProjectionKeeper("test", store, marks, min_interval_s=0.01, max_share=1.0, max_pause_s=0.5,
                              busy=backlog)
    await keeper.handle_batch([event("KHM-4-1")])
    await keeper.start()
    try:
        await asyncio.sleep(0.2)
        assert store.done == []  # still waiting for the import
        for _ in range(100):
            if store.done:
                break
            await asyncio.sleep(0.05)
    finally:
        await keeper.stop()
    assert store.done == [("KHM", 4), "evidence"]  # after max_pause_s, recounted anyway


def test_a_backlog_lasts_while_a_full_batch_is_stored_and_hold_s_after() -> None:
    backlog = Backlog(full_batch=500, hold_s=0.0)
    with backlog.batch(499):
        assert not backlog()  # a batch that is not full: the inbox keeps up
    with backlog.batch(500):
        assert backlog()  # however long storing it takes
    assert not backlog()  # hold_s after it (none here)
    held = Backlog(full_batch=500, hold_s=60.0)
    with held.batch(500):
        pass
    assert held()


class SlowRecounts(FakeStore):
    """Each recount takes one second of a fake clock."""

    def __init__(self) -> None:
        super().__init__(ready=True)
        self.now = 0.0

    async def recount(self, country: str, cycle: int) -> None:
        self.now += 1.0
        await super().recount(country, cycle)


async def test_a_round_during_a_backlog_stops_at_its_budget_and_leaves_the_rest_marked() -> None:
    store = SlowRecounts()
    marks = FakeMarks()
    keeper = ProjectionKeeper("test", store, marks, clock=lambda: store.now)
    await keeper.start(recount_loop=False)
    await keeper.handle_batch([event(f"KHM-{cycle}-1") for cycle in (1, 2, 3, 4, 5)])
    await keeper.recount_marked(budget_s=2.0)  # time for two recounts
    assert store.done == [("KHM", 1), ("KHM", 2)]
    assert [keys for _, keys in marks.marks.values()] == [{("KHM", 3), ("KHM", 4), ("KHM", 5), ACROSS_CYCLES}]
    await keeper.recount_marked()  # the backlog is over: everything left
    assert store.done == [("KHM", 1), ("KHM", 2), ("KHM", 3), ("KHM", 4), ("KHM", 5), "evidence"]
    assert marks.marks == {}


async def test_an_id_names_its_cycle_and_only_an_id_of_another_shape_is_looked_up() -> None:
    store = FakeStore(ready=True)
    keeper = await keeper_of(store)
    await keeper.handle_batch([event("KHM-4-110.23", "KHM-1-x0c13d35a59", "legacy-7")])
    assert store.done == [("looked up", "legacy-7")]
    await keeper.recount_marked()
    assert store.done[1:] == [("KHM", 1), ("KHM", 4), ("LAO", 2), "evidence"]


class HeldRecount(FakeStore):
    """A recount that goes on until the test lets it finish."""

    def __init__(self) -> None:
        super().__init__(ready=True)
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def recount(self, country: str, cycle: int) -> None:
        self.started.set()
        await self.release.wait()
        await super().recount(country, cycle)


async def test_stopping_lets_a_recount_under_way_finish_and_clear_its_marks() -> None:
    store = HeldRecount()
    marks = FakeMarks()
    keeper = ProjectionKeeper("test", store, marks, min_interval_s=0.01, max_share=1.0)
    await keeper.start()
    await keeper.handle_batch([event("KHM-4-1")])
    await asyncio.wait_for(store.started.wait(), 5)
    stopping = asyncio.create_task(keeper.stop())
    await asyncio.sleep(0.05)
    assert not stopping.done()  # waits for the recount, does not cut it off
    store.release.set()
    await asyncio.wait_for(stopping, 5)
    assert store.done == [("KHM", 4), "evidence"]
    assert marks.marks == {}
