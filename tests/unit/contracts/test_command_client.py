"""The one "publish a command, wait for its receipt" client (contracts/command_client.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from contracts.command_client import (
    RECEIPT_CHUNK,
    Receipt,
    partition_key,
    wait_for_receipt,
    wait_for_receipts,
)
from contracts.events import (
    EvidenceReviewedV1,
    Position,
    RecommendationImportedV1,
    RecommendingState,
    SourceRef,
    SubscriptionCancelledV1,
)


class Receipts:
    """What a consumer has stored so far; counts the questions asked."""

    def __init__(self, stored: dict[str, Receipt]) -> None:
        self.stored = stored
        self.asked: list[list[str]] = []

    async def __call__(self, ids: Sequence[str]) -> Mapping[str, Receipt]:
        self.asked.append(list(ids))
        return {mid: self.stored[mid] for mid in ids if mid in self.stored}


async def test_one_command_reports_the_refusal_or_no_answer_in_time() -> None:
    refused = await wait_for_receipt(Receipts({"m": {"outcome": "rejected", "error": "role viewer may not"}}),
                                     "m", timeout_s=1)
    assert not refused.ok and refused.error == "role viewer may not"
    silent = await wait_for_receipt(Receipts({}), "m", timeout_s=0.2, poll_s=0.05)
    assert silent.waiting and not silent.ok
    parked = await wait_for_receipt(Receipts({"m": {"outcome": "parked"}}), "m", timeout_s=1)
    assert parked.ok and parked.outcome == "parked"  # the tracker holds it until its recommendation comes


async def test_an_import_waits_past_parked_receipts_and_reports_what_is_still_pending() -> None:
    receipts = Receipts({"a": {"outcome": "created"}, "b": {"outcome": "parked"}})
    seen: dict[str, Receipt] = {}
    pending = await wait_for_receipts(receipts, ["a", "b", "c"], timeout_s=0.2, poll_s=0.05,
                                      on_receipt=seen.__setitem__, final=lambda r: r["outcome"] != "parked")
    assert pending == ["b", "c"] and list(seen) == ["a"]
    assert receipts.asked[1] == ["b", "c"]  # a counted receipt is not asked for again


async def test_a_poll_stops_at_the_first_chunk_with_no_receipt_yet_and_the_last_asks_for_every_chunk() -> None:
    ids = [f"m{i}" for i in range(RECEIPT_CHUNK * 3)]
    # The third chunk's records sat on a partition consumed ahead of the others.
    receipts = Receipts({mid: {"outcome": "created"} for mid in ids[2 * RECEIPT_CHUNK:]})
    seen: dict[str, Receipt] = {}
    pending = await wait_for_receipts(receipts, ids, timeout_s=0.12, poll_s=0.05, on_receipt=seen.__setitem__)
    assert receipts.asked[0] == ids[:RECEIPT_CHUNK]  # polls while waiting: the first chunk only
    assert receipts.asked[-1] == ids[2 * RECEIPT_CHUNK:]  # the last: every chunk
    assert pending == ids[:2 * RECEIPT_CHUNK] and len(seen) == RECEIPT_CHUNK  # reported pending: not stored


def test_imported_rows_of_one_cycle_share_a_partition_key_whatever_their_ids() -> None:
    def row(rec_id: str, cycle: int) -> RecommendationImportedV1:
        return RecommendationImportedV1(
            recommendation_id=rec_id, country="KHM", cycle=cycle, session=6, text="Protect children",
            recommending_states=[RecommendingState(code="SWE", name="Sweden")], position=Position.SUPPORTED,
            source=SourceRef(format="upr_info_csv", file_name="a.csv", row=2), import_id="imp")

    # Two sources' ids of one recommendation (no paragraph: hashed differently) go to one consumer.
    assert partition_key(row("KHM-1-x0c13d35a59", 1)) == partition_key(row("KHM-1-x1111111111", 1)) == "KHM-1"
    assert partition_key(row("KHM-2-x0c13d35a59", 2)) == "KHM-2"


def test_commands_about_one_thing_share_a_partition_key() -> None:
    assert partition_key(SubscriptionCancelledV1(subscription_id="sub-1")) == "sub-1"
    review = EvidenceReviewedV1(evidence_id="ev-000001", decision="approved")
    assert partition_key(review) == "ev-000001"
