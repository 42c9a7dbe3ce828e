"""How `upr import` and the Import page count what the tracker did with the rows they sent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import httpx

from contracts.command_client import Receipt
from services.ingest.adapters.publisher import wait_for_tracker


async def test_receipts_are_counted_by_outcome_and_a_refusal_names_its_row() -> None:
    stored = {"a": {"outcome": "created"}, "b": {"outcome": "unchanged"},
              "c": {"outcome": "rejected", "error": "no such cycle"}, "d": {"outcome": "parked"}}

    async def receipts(ids: Sequence[str]) -> Mapping[str, Receipt]:
        return {mid: stored[mid] for mid in ids if mid in stored}

    outcome = await wait_for_tracker(receipts, {"a": 2, "b": 3, "c": 4, "d": 5}, timeout_s=0)
    assert (outcome.imported, outcome.unchanged, outcome.rejected, outcome.pending) == (1, 1, 1, 1)
    assert outcome.errors == [{"row": 4, "field": None, "message": "rejected by the tracker: no such cycle"}]


async def test_a_tracker_that_cannot_be_asked_leaves_the_rows_pending_with_a_warning() -> None:
    async def down(ids: Sequence[str]) -> Mapping[str, Receipt]:
        raise httpx.ConnectError("connection refused")

    outcome = await wait_for_tracker(down, {"a": 2, "b": 3}, timeout_s=5)
    assert outcome.pending == 2 and outcome.imported == 0
    assert outcome.errors[0]["message"].startswith("warning: the rows were sent, but the tracker could not say")
