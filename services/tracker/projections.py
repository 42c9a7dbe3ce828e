"""Read models the tracker keeps from its own events: the Dashboard's summaries
(adapters/dashboard_store.py) and the published projection, the public list's rows
(adapters/public_store.py).

Each has a consumer of ``tracker.events`` of its own (groups ``<consumer group>-dashboard`` and
``<consumer group>-public``), apart from the inbox. Consuming and recounting are apart:

- a batch of events only **marks** the (country, cycle) of every recommendation they name as
  stale, in ``projection_marks`` (one document per batch), and is committed: a crash after it
  loses nothing, the mark is stored;
- a loop **recounts** what is marked, each cycle once however many batches named it, then
  removes the marks it read (not those made meanwhile). A crash mid-way recounts again.

A recount reads the whole cycle, so the loop is paced: it takes at most ``max_share`` of the
time, and waits while the inbox has a backlog (a bulk import stores at the speed of the
database; the read models follow), never longer than ``max_pause_s``; a round that starts while
the backlog lasts recounts for ``busy_round_s`` at most and leaves the rest marked. Measured on a 20,000-row
UHRI import before this split: recounting every batch's cycles took 70% of the database's time.

Data stored before a read model existed is projected once, by the loop's first round (a new
group replays every event ever published: those from before that rebuild are in it, and mark
nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from services.tracker.domain import dashboard as rules
from services.tracker.domain.recommendations import cycle_of

log = logging.getLogger("upr.tracker.projections")
CLOCK_SKEW = timedelta(seconds=30)  # between the tracker instances that stamped the events
# The mark that stands for what no cycle holds (the Dashboard's evidence figures).
ACROSS_CYCLES: rules.Key = ("*", 0)


class ProjectionStore(Protocol):
    """What a keeper needs of the read model it keeps."""

    async def ready(self) -> bool:
        """Whether every (country, cycle) was projected once (later events keep it current)."""

    async def rebuild(self) -> int:
        """Everything, from one pass over the stored data."""

    async def keys_of(self, recommendation_ids: Sequence[str]) -> set[tuple[str, int]]:
        """The (country, cycle) of these recommendations."""

    async def recount(self, country: str, cycle: int) -> None:
        """One (country, cycle), from the stored data."""

    async def recount_across_cycles(self) -> None:
        """What no cycle holds (the Dashboard's evidence figures): after every batch's recounts."""


class StaleMarks(Protocol):
    """The cycles each keeper still has to recount (adapters/stale_marks.py)."""

    async def mark(self, keeper: str, keys: Iterable[rules.Key]) -> None:
        """Note that these are stale (one mark per batch)."""

    async def marked(self, keeper: str) -> tuple[set[rules.Key], list[str]]:
        """Every cycle marked, and the marks that said so."""

    async def clear(self, keeper: str, mark_ids: Sequence[str]) -> None:
        """Remove these marks (and not those made since they were read)."""


class Backlog:
    """Whether the inbox has a backlog: it is storing a full batch, or finished one less than
    ``hold_s`` seconds ago (the next one is on its way)."""

    def __init__(self, full_batch: int, hold_s: float = 1.0) -> None:
        self.full_batch = full_batch
        self.hold_s = hold_s
        self._storing_full = False
        self._until = 0.0

    @contextlib.contextmanager
    def batch(self, size: int) -> Iterator[None]:
        full = size >= self.full_batch
        self._storing_full = full
        try:
            yield
        finally:
            self._storing_full = False
            if full:
                self._until = time.monotonic() + self.hold_s

    def __call__(self) -> bool:
        return self._storing_full or time.monotonic() < self._until


class ProjectionKeeper:
    def __init__(self, name: str, store: ProjectionStore, marks: StaleMarks, *, min_interval_s: float = 0.5,
                 max_share: float = 0.1, max_pause_s: float = 120.0, busy: Callable[[], bool] = lambda: False,
                 busy_round_s: float = 2.0, retry_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.store = store
        self.marks = marks
        self.min_interval_s = min_interval_s
        self.max_share = max_share
        self.max_pause_s = max_pause_s
        self.busy = busy
        self.busy_round_s = busy_round_s
        self.clock = clock
        self.retry_s = retry_s
        self._rebuilt = False
        self._since: datetime | None = None  # events from before this are in the rebuild
        self._loop: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._marked = asyncio.Event()  # a batch marked something since the loop last looked

    async def start(self, *, recount_loop: bool = True) -> None:
        self._rebuilt = await self.store.ready()
        if not self._rebuilt:
            self._since = datetime.now(UTC) - CLOCK_SKEW
        if recount_loop:
            self._stopping = asyncio.Event()
            self._loop = asyncio.create_task(self._run(), name=f"recount {self.name}")

    async def stop(self, grace_s: float = 30.0) -> None:
        """Let a recount under way finish (a read model is never left half written by a
        shutdown), then end the loop; cancelled only if it takes longer than ``grace_s``."""
        if self._loop is None:
            return
        self._stopping.set()
        _, running = await asyncio.wait([self._loop], timeout=grace_s)
        for task in running:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loop = None

    async def handle_batch(self, bodies: Sequence[bytes | None]) -> None:
        """Mark what the events touched (and what no cycle holds: a released hold, for one,
        reaches the figures only with the recount that follows its next event)."""
        ids = [rec_id for body in bodies for rec_id in touched(body, self._since)]
        # An id names its cycle (the inbox refuses rows where they disagree); one of another
        # shape is looked up.
        named = {rec_id: cycle_of(rec_id) for rec_id in ids}
        keys = {key for key in named.values() if key is not None}
        others = [rec_id for rec_id, key in named.items() if key is None]
        if others:
            keys |= await self.store.keys_of(others)
        await self.marks.mark(self.name, sorted(keys | {ACROSS_CYCLES}))
        self._marked.set()  # wakes this instance's loop (marks of a restart are read at its start)

    async def recount_marked(self, budget_s: float | None = None) -> bool:
        """One round: the rebuild if the read model was never built, else every marked cycle
        once, then what no cycle holds. Whether there was anything to do.

        With ``budget_s`` (while the inbox has a backlog), the round stops starting recounts
        once that much time has passed; the cycles left are marked again, for a later round."""
        if not self._rebuilt:
            await self.store.rebuild()
            self._rebuilt = True
            return True
        keys, mark_ids = await self.marks.marked(self.name)
        started = self.clock()
        cycles = sorted(k for k in keys if k != ACROSS_CYCLES)
        for done, key in enumerate(cycles):
            if budget_s is not None and self.clock() - started >= budget_s:
                await self.marks.mark(self.name, [*cycles[done:], *(k for k in keys if k == ACROSS_CYCLES)])
                break
            await self.store.recount(*key)
        else:
            if ACROSS_CYCLES in keys:
                await self.store.recount_across_cycles()
        if mark_ids:  # only once everything they named is recounted or marked again: a crash before recounts
            await self.marks.clear(self.name, mark_ids)
        return bool(mark_ids)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            waited = 0.0
            while self.busy() and waited < self.max_pause_s:  # the import first; the figures follow
                if await self._pause(0.25):
                    return
                waited += 0.25
            started = time.monotonic()
            try:
                worked = await self.recount_marked(self.busy_round_s if self.busy() else None)
            except Exception:  # the database away: the marks stay, the next round recounts them
                log.exception("%s: recount failed; retrying in %.0f s", self.name, self.retry_s)
                await self._pause(self.retry_s)
                continue
            elapsed = time.monotonic() - started
            if not worked:  # nothing marked: no look at the database until a batch marks something
                if await self._until_marked():
                    return
                continue
            log.debug("%s recounted in %.3f s", self.name, elapsed)
            await self._pause(rules.pause_after(elapsed, min_interval_s=self.min_interval_s,
                                                max_share=self.max_share, max_pause_s=self.max_pause_s))

    async def _until_marked(self) -> bool:
        """Wait until a batch marks something or the keeper stops; whether it stops."""
        marked = asyncio.create_task(self._marked.wait())
        stopping = asyncio.create_task(self._stopping.wait())
        await asyncio.wait([marked, stopping], return_when=asyncio.FIRST_COMPLETED)
        for task in (marked, stopping):
            task.cancel()
        self._marked.clear()  # before the next round reads the marks: one made after it wakes us again
        return self._stopping.is_set()

    async def _pause(self, seconds: float) -> bool:
        """Wait ``seconds``, or less if the keeper is stopping; whether it is."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return self._stopping.is_set()


def touched(body: bytes | None, since: datetime | None = None) -> list[str]:
    """The recommendation ids one event names. An unreadable event names none (the inbox's
    dead-letter handling is for commands; here nothing depends on it), nor one that occurred
    before ``since``."""
    try:
        event = json.loads(body or b"")
        payload = event.get("payload") if isinstance(event, dict) else None
        if not isinstance(payload, dict):
            return []
        return [] if since is not None and _occurred_before(event.get("occurred_at"), since) \
            else rules.touched_ids(payload)
    except ValueError:
        return []


def _occurred_before(occurred_at: object, since: datetime) -> bool:
    try:
        return datetime.fromisoformat(str(occurred_at)) < since
    except (ValueError, TypeError):  # no time, or one without a zone: recount to be safe
        return False
