"""Read models the tracker keeps from its own events: the Dashboard's summaries
(adapters/dashboard_store.py) and the published projection, the public list's rows
(adapters/public_store.py).

Each has a consumer of ``tracker.events`` of its own (groups ``<consumer group>-dashboard`` and
``<consumer group>-public``), apart from the inbox, so the per-message code stays as it is: for
each batch of events it recounts the (country, cycle) of every recommendation they name, then
the batch is committed. A crash before the recount delivers the events again (nothing lost); a
recount twice gives the same figures (idempotent). Recounts are paced (``min_interval_s``,
``max_share``): while a bulk import streams in, a cycle is recounted every few seconds with
everything that arrived meanwhile, not once per batch.

Data stored before a read model existed is projected once, by the first batch (a new group
replays every event ever published: those from before that rebuild are in it, and recount
nothing).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from services.tracker.domain import dashboard as rules

log = logging.getLogger("upr.tracker.projections")
CLOCK_SKEW = timedelta(seconds=30)  # between the tracker instances that stamped the events


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


class ProjectionKeeper:
    def __init__(self, name: str, store: ProjectionStore, *, min_interval_s: float = 0.0, max_share: float = 0.1,
                 max_pause_s: float = 120.0) -> None:
        self.name = name
        self.store = store
        self.min_interval_s = min_interval_s
        self.max_share = max_share
        self.max_pause_s = max_pause_s
        self._next_at = 0.0  # time.monotonic() before which no recount starts
        self._rebuilt = False
        self._since: datetime | None = None  # events from before this are in the rebuild

    async def start(self) -> None:
        self._rebuilt = await self.store.ready()

    async def handle_batch(self, bodies: Sequence[bytes | None]) -> None:
        ids = [rec_id for body in bodies for rec_id in touched(body, self._since)]
        wait = self._next_at - time.monotonic()
        if wait > 0:  # events keep arriving meanwhile and are recounted together next time
            await asyncio.sleep(wait)
        started = time.monotonic()
        if not self._rebuilt:
            self._since = datetime.now(UTC) - CLOCK_SKEW
            await self.store.rebuild()
            self._rebuilt = True
        else:
            for country, cycle in sorted(await self.store.keys_of(ids)):
                await self.store.recount(country, cycle)
            # Every batch: a released hold, for one, reaches the figures only as the recount
            # that follows its next event.
            await self.store.recount_across_cycles()
        elapsed = time.monotonic() - started
        self._next_at = time.monotonic() + rules.pause_after(
            elapsed, min_interval_s=self.min_interval_s, max_share=self.max_share, max_pause_s=self.max_pause_s)
        log.debug("%s recounted in %.3f s", self.name, elapsed)


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
