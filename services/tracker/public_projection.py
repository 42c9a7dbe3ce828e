"""Keeps the published projection (the public list's rows, adapters/public_store.py) from the
tracker's own events, like the Dashboard's summaries: a consumer of ``tracker.events`` of its own
(group ``<consumer group>-public``) recounts the (country, cycle) of every recommendation a batch
of events names, then the batch is committed. A crash before the recount delivers the events
again (nothing lost); a recount twice gives the same rows (idempotent). While a bulk import
streams in, recounts take at most ``public_max_share`` of the time.

What is hidden at once does not wait for this: the read API checks whether a cycle is published
on every read, and a recommendation's own page (its evidence) is read from the evidence itself.
The projection holds list rows only: text, CNCC status, themes, the count of public evidence.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from services.tracker.adapters.public_store import PublicProjectionStore
from services.tracker.domain import dashboard as rules

log = logging.getLogger("upr.tracker.public")
CLOCK_SKEW = timedelta(seconds=30)  # between the tracker instances that stamped the events


class PublicProjectionKeeper:
    def __init__(self, store: PublicProjectionStore, *, max_share: float = 0.5, max_pause_s: float = 60.0) -> None:
        self.store = store
        self.max_share = max_share
        self.max_pause_s = max_pause_s
        self._next_at = 0.0  # time.monotonic() before which no recount starts
        self._rebuilt = False
        self._since: datetime | None = None  # events from before this are in the rebuilt projection

    async def start(self) -> None:
        """Data stored before the projection existed is projected once, by the first batch (until
        then, and for any cycle without a projection, the read API computes the rows itself)."""
        self._rebuilt = await self.store.complete()

    async def handle_batch(self, bodies: Sequence[bytes | None]) -> None:
        ids = [rec_id for body in bodies for rec_id in _touched(body, self._since)]
        wait = self._next_at - time.monotonic()
        if wait > 0:  # events keep arriving meanwhile and are recounted together next time
            await asyncio.sleep(wait)
        started = time.monotonic()
        if not self._rebuilt:
            # A new group replays every event ever published: those from before the rebuild are in it.
            self._since = datetime.now(UTC) - CLOCK_SKEW
            await self.store.rebuild()
            self._rebuilt = True
        else:
            for country, cycle in sorted(await self.store.keys_of(ids)):
                await self.store.recount(country, cycle)
        elapsed = time.monotonic() - started
        self._next_at = time.monotonic() + rules.pause_after(
            elapsed, min_interval_s=0.0, max_share=self.max_share, max_pause_s=self.max_pause_s)
        log.debug("public projection recounted in %.3f s", elapsed)


def _touched(body: bytes | None, since: datetime | None = None) -> list[str]:
    """The recommendation ids one event names (an unreadable event, or one that occurred before
    ``since``, names none)."""
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
