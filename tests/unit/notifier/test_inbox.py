"""The notifier's inbox: each record of a batch is read on its own, so a bad one is
dead-lettered alone (fakes: unit tests)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest

from contracts.events import EvidenceAddedV1, EvidenceSourceType, ReviewState, Visibility, make_event
from contracts.messaging import Rejected
from services.notifier import handlers
from services.notifier.inbox import NotifierInbox


@dataclass
class Record:
    value: bytes
    topic: str = "upr.tracker.events"
    partition: int = 0
    offset: int = 0
    key: bytes | None = None
    headers: list[tuple[str, bytes]] | None = None


class FakeDispatcher:
    def __init__(self) -> None:
        self.dispatched: list[str] = []
        self.requested: list[str] = []

    async def dispatch(self, docs: Sequence[dict[str, Any]]) -> None:
        self.dispatched += [d["_id"] for d in docs]

    async def take_requests(self, ids: Sequence[str], replayed: Any = ()) -> list[str]:
        self.requested += ids
        self.replayed = sorted(replayed)
        return [i for i in ids if i.startswith("unknown")]


def event(evidence_id: str) -> bytes:
    return make_event(EvidenceAddedV1(
        evidence_id=evidence_id, recommendation_ids=["KHM-4-1.1"], source_type=EvidenceSourceType.MEDIA,
        title="t", visibility=Visibility.PUBLIC, review_state=ReviewState.APPROVED), source="tracker").to_bytes()


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> tuple[NotifierInbox, list[tuple[bytes, str]], list[list[str]]]:
    dead: list[tuple[bytes, str]] = []
    matched: list[list[str]] = []
    requested: list[str] = []  # published on the work queue (notification.requested)

    async def tracker_events(events: Sequence[handlers.TrackerEvent], deps: Any) -> tuple[list[str], list[Any]]:
        ids = [e.payload.evidence_id for e in events]  # type: ignore[attr-defined]
        if "ev-cursed" in ids:  # valid on the wire, refused while handled
            raise Rejected("evidence ev-cursed cannot be announced")
        matched.append(ids)
        return ["matched"] * len(events), [{"_id": f"d-{i}"} for i in ids]

    async def request_deliveries(deps: Any, docs: Sequence[dict[str, Any]]) -> list[Any]:
        requested.extend(d["_id"] for d in docs)
        return []

    async def dead_letter(record: Any, reason: str) -> None:
        dead.append((record.value, reason))

    monkeypatch.setattr(handlers, "tracker_events", tracker_events)
    monkeypatch.setattr(handlers, "request_deliveries", request_deliveries)
    dispatcher = FakeDispatcher()
    deps = SimpleNamespace(dispatch=dispatcher.dispatch, holder="notifier-token")  # held by this dispatcher
    box = NotifierInbox(deps, dispatcher, dead_letter)  # type: ignore[arg-type]
    box.requested_on_queue = requested  # type: ignore[attr-defined]
    return box, dead, matched


async def test_records_that_cannot_be_read_are_dead_lettered_and_the_rest_matched_together(
    inbox: tuple[NotifierInbox, list[tuple[bytes, str]], list[list[str]]],
) -> None:
    box, dead, matched = inbox
    wrong_version = json.loads(event("ev-v9"))
    wrong_version["version"] = 9
    records = [Record(event("ev-1")), Record(b"{not json"), Record(json.dumps(wrong_version).encode()),
               Record(b"x" * (600 * 1024)), Record(event("ev-2"))]
    await box.tracker_events(records)
    assert matched == [["ev-1", "ev-2"]]  # one match for the whole batch
    reasons = [reason for _, reason in dead]
    assert len(reasons) == 3
    assert reasons[0].startswith("not JSON")
    assert reasons[1].startswith("no contract for 'evidence.added' version 9")
    assert reasons[2] == "message of 614400 bytes exceeds 524288"
    assert box.dispatcher.dispatched == ["d-ev-1", "d-ev-2"]  # type: ignore[attr-defined]


async def test_alerts_handed_to_the_dispatcher_are_not_requested_on_the_work_queue_too(
    inbox: tuple[NotifierInbox, list[tuple[bytes, str]], list[list[str]]],
) -> None:
    # Each alert was published as notification.requested and read back by the notifier only to
    # be left alone (its largest Python cost per alert). The dispatcher holds them; the log says so.
    box, _, _ = inbox
    await box.tracker_events([Record(event("ev-1")), Record(event("ev-2"))])
    assert box.dispatcher.dispatched == ["d-ev-1", "d-ev-2"]  # type: ignore[attr-defined]
    assert box.requested_on_queue == []  # type: ignore[attr-defined]


async def test_without_a_dispatcher_logged_alerts_are_requested_on_the_work_queue(
    inbox: tuple[NotifierInbox, list[tuple[bytes, str]], list[list[str]]],
) -> None:
    box, _, _ = inbox
    box.deps.holder = "request"  # type: ignore[misc]  # nobody holds them: whoever consumes the request
    await box.tracker_events([Record(event("ev-1"))])
    assert box.dispatcher.dispatched == []  # type: ignore[attr-defined]
    assert box.requested_on_queue == ["d-ev-1"]  # type: ignore[attr-defined]


async def test_a_record_refused_while_handled_is_found_and_dead_lettered_alone(
    inbox: tuple[NotifierInbox, list[tuple[bytes, str]], list[list[str]]],
) -> None:
    box, dead, matched = inbox
    await box.tracker_events([Record(event("ev-1")), Record(event("ev-cursed")), Record(event("ev-2"))])
    assert matched == [["ev-1"], ["ev-2"]]  # the batch again, one record at a time
    assert [reason for _, reason in dead] == ["evidence ev-cursed cannot be announced"]


async def test_a_batch_of_one_record_refused_while_handled_is_dead_lettered_not_retried(
    inbox: tuple[NotifierInbox, list[tuple[bytes, str]], list[list[str]]],
) -> None:
    box, dead, matched = inbox
    await box.tracker_events([Record(event("ev-cursed"))])
    assert matched == [] and [reason for _, reason in dead] == ["evidence ev-cursed cannot be announced"]


async def test_requests_for_deliveries_the_log_does_not_know_are_dead_lettered(
    inbox: tuple[NotifierInbox, list[tuple[bytes, str]], list[list[str]]],
) -> None:
    from contracts.events import Channel, NotificationDeliveredV1, NotificationRequestedV1

    box, dead, _ = inbox

    def request(did: str, replayed: bool = False) -> Record:
        return Record(make_event(NotificationRequestedV1(
            delivery_id=did, subscription_id="s", channel=Channel.WEBHOOK, trigger_event_id="e",
            trigger_type="evidence.added"), source="notifier").to_bytes(), topic="upr.notifications",
            headers=[("x-dlq-replayed-at", b"2026-11-30T12:00:00+00:00")] if replayed else [])

    old_outcome = Record(make_event(NotificationDeliveredV1(
        delivery_id="d-0", subscription_id="s", channel=Channel.WEBHOOK, trigger_event_id="e", attempts=1,
        latency_ms=1.0), source="notifier").to_bytes())
    await box.requests([request("d-1"), old_outcome, request("unknown-1"), request("d-1"), request("d-2", True)])
    assert box.dispatcher.requested == ["d-1", "unknown-1", "d-2"]  # type: ignore[attr-defined]
    assert box.dispatcher.replayed == ["d-2"]  # type: ignore[attr-defined]  # only a replay resends a failed one
    assert [reason for _, reason in dead] == ["delivery unknown-1 is not in the delivery log"]
