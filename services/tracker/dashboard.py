"""Keeps the Dashboard's summaries: reads the tracker's own events and recounts what they touched.

A consumer of ``tracker.events`` of its own (group ``<consumer group>-dashboard``), apart from
the inbox, so the per-message code stays as it is: for each batch of events it recounts the
(country, cycle) of every recommendation they name, and the evidence figures, then the batch is
committed. A crash before the recount delivers the events again (nothing lost); a recount twice
counts the same (idempotent). Recounts are paced (``dashboard_min_interval_s``,
``dashboard_max_share``): while a bulk import streams in, a cycle is recounted every few seconds
with everything that arrived meanwhile, not once per batch.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence

from services.tracker.adapters.dashboard_store import DashboardStore
from services.tracker.domain import dashboard as rules

log = logging.getLogger("upr.tracker.dashboard")


class DashboardKeeper:
    def __init__(self, store: DashboardStore, *, min_interval_s: float = 1.0, max_share: float = 0.1,
                 max_pause_s: float = 120.0) -> None:
        self.store = store
        self.min_interval_s = min_interval_s
        self.max_share = max_share
        self.max_pause_s = max_pause_s
        self._next_at = 0.0  # time.monotonic() before which no recount starts
        self._rebuilt = False

    async def start(self) -> None:
        """Data stored before the summaries existed is counted once, by the first batch."""
        self._rebuilt = await self.store.start()

    async def handle_batch(self, bodies: Sequence[bytes | None]) -> None:
        ids: list[str] = []
        for body in bodies:
            ids.extend(_touched(body))
        wait = self._next_at - time.monotonic()
        if wait > 0:  # events keep arriving meanwhile and are recounted together next time
            await asyncio.sleep(wait)
        started = time.monotonic()
        if not self._rebuilt:
            await self.store.rebuild()
            self._rebuilt = True
        else:
            for country, cycle in sorted(await self.store.keys_of(ids)):
                await self.store.recount(country, cycle)
            # Every batch: evidence changes arrive as events, a released hold only as the
            # recount that follows its next event (or `upr dashboard rebuild`).
            await self.store.recount_evidence()
        elapsed = time.monotonic() - started
        self._next_at = time.monotonic() + rules.pause_after(
            elapsed, min_interval_s=self.min_interval_s, max_share=self.max_share, max_pause_s=self.max_pause_s)
        log.debug("dashboard recounted in %.3f s", elapsed)


def _touched(body: bytes | None) -> list[str]:
    """The recommendation ids one event names (an unreadable event names none: the inbox's
    dead-letter handling is for commands; here nothing depends on it)."""
    try:
        event = json.loads(body or b"")
        payload = event.get("payload") if isinstance(event, dict) else None
        return rules.touched_ids(payload) if isinstance(payload, dict) else []
    except ValueError:
        return []
