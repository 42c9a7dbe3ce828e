"""The receipts this tracker stored lately, kept in memory.

An import waits on its rows' receipts (``POST /receipts``); reading them back from the embedded
server cost about a quarter of its time during a 20,000-row import (0.5 ms a receipt: every one
is decoded from its JSON form). The tracker has just written them: it answers from here, and
reads only what is not here (older ones, or written by another tracker instance).

Only final receipts are kept: a parked one changes when its message is applied, perhaps by
another instance. Receipts are never removed otherwise, so what is here stays true.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from cachetools import LRUCache

from contracts.command_client import PARKED

# What the tracker's readers of a receipt use of it (the inbox: the outcome; /receipts: the rest).
KEPT_FIELDS = ("_id", "message_id", "type", "correlation_id", "outcome", "error", "ambiguous", "conflicts",
               "recommendation_id")


class RecentReceipts:
    def __init__(self, size: int) -> None:
        self._receipts: LRUCache[str, dict[str, Any]] | None = LRUCache(maxsize=size) if size > 0 else None

    def remember(self, receipts: Iterable[dict[str, Any]]) -> None:
        """Receipts just stored (by ``_id``)."""
        if self._receipts is None:
            return
        for receipt in receipts:
            if receipt.get("outcome") != PARKED:
                self._receipts[str(receipt["_id"])] = {k: receipt[k] for k in KEPT_FIELDS if k in receipt}

    def known(self, message_ids: Sequence[str]) -> tuple[dict[str, dict[str, Any]], list[str]]:
        """The receipts held here, and the ids to look up elsewhere."""
        if self._receipts is None:
            return {}, list(message_ids)
        found: dict[str, dict[str, Any]] = {}
        missing: list[str] = []
        for message_id in message_ids:
            receipt = self._receipts.get(message_id)
            if receipt is None:
                missing.append(message_id)
            else:
                found[message_id] = receipt
        return found, missing
