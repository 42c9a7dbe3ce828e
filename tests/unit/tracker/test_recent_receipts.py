"""The receipts a tracker keeps in memory after storing them (adapters/recent_receipts.py)."""

from __future__ import annotations

from services.tracker.adapters.recent_receipts import RecentReceipts


def test_final_receipts_are_answered_and_parked_ones_are_left_to_the_database() -> None:
    recent = RecentReceipts(10)
    recent.remember([{"_id": "m1", "outcome": "created", "instance": "t-1", "at": "x"},
                     {"_id": "m2", "outcome": "parked"},
                     {"_id": "m3", "outcome": "ambiguous", "ambiguous": {"row": 7}}])
    found, missing = recent.known(["m1", "m2", "m3", "m4"])
    # Only what readers use of a receipt is kept.
    assert found == {"m1": {"_id": "m1", "outcome": "created"},
                     "m3": {"_id": "m3", "outcome": "ambiguous", "ambiguous": {"row": 7}}}
    assert missing == ["m2", "m4"]  # in the order asked


def test_the_memory_is_bounded_and_can_be_switched_off() -> None:
    recent = RecentReceipts(2)
    recent.remember({"_id": f"m{i}", "outcome": "created"} for i in range(3))
    assert recent.known(["m0", "m1", "m2"]) == ({"m1": {"_id": "m1", "outcome": "created"},
                                               "m2": {"_id": "m2", "outcome": "created"}}, ["m0"])
    off = RecentReceipts(0)
    off.remember([{"_id": "m1", "outcome": "created"}])
    assert off.known(["m1"]) == ({}, ["m1"])
