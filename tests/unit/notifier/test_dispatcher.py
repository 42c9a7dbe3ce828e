"""The dispatcher and the batch matcher with an in-memory delivery log (fakes: unit tests).

What they must do: send deliveries concurrently within per-endpoint bounds, so a hanging
endpoint holds up nobody else; schedule retries in the log, never sleep on them; give up
after the last attempt (dead letter, notification.failed); send what this process just
logged without touching the log again, and leave a request for a delivery held or done;
replay a failed one; and match a batch of tracker events in order, with one read and few writes."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.events import (
    Channel,
    Contract,
    EvidenceAddedV1,
    EvidenceReviewedV1,
    EvidenceSourceType,
    ReviewState,
    ThemesTaggedV1,
    ThemeTag,
    Visibility,
    make_event,
)
from services.notifier import handlers
from services.notifier.adapters.templates import EmailTemplates
from services.notifier.dispatcher import Dispatcher, Limits
from services.notifier.domain.alerts import Alert, AlertKind
from services.notifier.domain.subscriptions import subscription_from

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _matches(doc: Mapping[str, Any], query: Mapping[str, Any]) -> bool:
    for key, want in query.items():
        have = doc.get(key)
        if isinstance(want, dict):
            for op, value in want.items():
                if op == "$in" and have not in value:
                    return False
                if op == "$lte" and not (have is not None and have <= value):
                    return False
                if op == "$gt" and not (have is not None and have > value):
                    return False
                if op == "$ne" and have == value:
                    return False
        elif have != want:
            return False
    return True


@dataclass
class FakeRepo:
    """The subset of MongoNotifierRepository the dispatcher and the matcher use."""

    deliveries_: dict[str, dict[str, Any]] = field(default_factory=dict)
    attempts_: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscriptions_: dict[str, dict[str, Any]] = field(default_factory=dict)
    recommendations_: dict[str, dict[str, Any]] = field(default_factory=dict)
    projection_writes: list[Any] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)

    async def live_subscriptions(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(s) for s in self.subscriptions_.values() if s.get("status") != "cancelled"]

    async def subscriptions_by_id(self, ids: Any) -> dict[str, dict[str, Any]]:
        return {i: copy.deepcopy(self.subscriptions_[i]) for i in ids if i in self.subscriptions_}

    async def set_subscription(self, sid: str, fields: dict[str, Any]) -> None:
        self.subscriptions_[sid].update(fields)

    async def set_subscriptions(self, ids: list[str], fields: dict[str, Any], query: Mapping[str, Any]) -> None:
        for sid in ids:
            if _matches(self.subscriptions_[sid], query):
                self.subscriptions_[sid].update(fields)

    async def recommendations(self, ids: Any) -> dict[str, dict[str, Any]]:
        self.calls.append("recommendations")
        return {i: copy.deepcopy(self.recommendations_[i]) for i in ids if i in self.recommendations_}

    async def evidence_many(self, ids: Any) -> dict[str, dict[str, Any]]:
        return {}

    async def write_projection(self, recommendations: Sequence[Any], evidence: Sequence[Any],
                               deadlines: Sequence[Any]) -> None:
        self.projection_writes.extend([*recommendations, *evidence, *deadlines])

    async def insert_deliveries(self, docs: Sequence[dict[str, Any]]) -> set[str]:
        self.calls.append("insert_deliveries")
        new = {d["_id"] for d in docs if d["_id"] not in self.deliveries_}
        for doc in docs:
            self.deliveries_.setdefault(doc["_id"], copy.deepcopy(doc))
        return new

    async def deliveries_by_id(self, ids: Any) -> dict[str, dict[str, Any]]:
        self.calls.append("deliveries_by_id")
        return {i: copy.deepcopy(self.deliveries_[i]) for i in ids if i in self.deliveries_}

    async def deliveries(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        return [copy.deepcopy(d) for d in self.deliveries_.values() if _matches(d, query)]

    async def set_deliveries(self, ids: list[str], fields: dict[str, Any],
                             query: Mapping[str, Any] | None = None) -> None:
        self.calls.append("set_deliveries")
        for did in ids:
            if did in self.deliveries_ and _matches(self.deliveries_[did], query or {}):
                self.deliveries_[did].update(fields)

    async def update_deliveries(self, updates: Sequence[tuple[str, dict[str, Any]]]) -> None:
        for did, fields in updates:
            self.deliveries_[did].update(fields)

    async def claim(self, ids: Sequence[str], query: Mapping[str, Any], fields: Mapping[str, Any],
                    token: str) -> list[dict[str, Any]]:
        self.calls.append("claim")
        won = []
        for did in ids:
            doc = self.deliveries_.get(did)
            if doc is not None and _matches(doc, query):
                doc.update({**fields, "holder": token})
                won.append(copy.deepcopy(doc))
        return won

    async def due_deliveries(self, at: datetime, limit: int, holder: str | Sequence[str] | None = None) -> list[str]:
        query: dict[str, Any] = {"status": "queued", "next_attempt_at": {"$lte": at}}
        if isinstance(holder, str):
            query["holder"] = holder
        elif holder is not None:
            query["holder"] = {"$in": list(holder)}
        return [d["_id"] for d in self.deliveries_.values() if _matches(d, query)][:limit]

    async def add_attempts(self, attempts: Sequence[dict[str, Any]]) -> None:
        for attempt in attempts:
            self.attempts_.setdefault(attempt["_id"], attempt)


@dataclass
class Response:
    status_code: int


@dataclass
class FakeWebhooks:
    """Answers per URL: a status code, or hangs (until released) when the URL says so."""

    status: dict[str, int] = field(default_factory=dict)
    hanging: set[str] = field(default_factory=set)
    posted: list[tuple[str, str]] = field(default_factory=list)  # (url, delivery id)
    in_flight: dict[str, int] = field(default_factory=dict)
    most_in_flight: dict[str, int] = field(default_factory=dict)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def check(self, url: str) -> None:
        return None

    async def post(self, url: str, secret: str, body: bytes, *, delivery_id: str, event_type: str,
                   extra_headers: dict[str, str] | None = None) -> Response:
        self.posted.append((url, delivery_id))
        self.in_flight[url] = self.in_flight.get(url, 0) + 1
        self.most_in_flight[url] = max(self.most_in_flight.get(url, 0), self.in_flight[url])
        try:
            if url in self.hanging:
                await self.release.wait()
                raise TimeoutError("the endpoint did not answer")
            await asyncio.sleep(0)
            return Response(self.status.get(url, 200))
        finally:
            self.in_flight[url] -= 1


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    repo: FakeRepo
    webhooks: FakeWebhooks
    deps: handlers.Deps
    dispatcher: Dispatcher
    clock: Clock
    outcomes: list[Contract]
    dead: list[tuple[str, str]]
    requests: list[Contract]


def hook(sid: str, url: str, **extra: Any) -> dict[str, Any]:
    return {"_id": sid, "owner": "partner", "channel": "webhook", "webhook_url": url, "secret": "s",
            "event_kinds": ["new_evidence"], "status": "active", **extra}


@pytest.fixture
def world() -> World:
    repo, webhooks, clock = FakeRepo(), FakeWebhooks(), Clock()
    outcomes: list[Contract] = []
    dead: list[tuple[str, str]] = []
    requests: list[Contract] = []

    async def done() -> None:
        return None

    async def publish(payload: Contract, key: str) -> Any:
        requests.append(payload)
        return done()

    async def publish_outcome(payload: Contract, key: str) -> Any:
        outcomes.append(payload)
        return done()

    async def dead_letter(delivery: Mapping[str, Any], reason: str) -> None:
        dead.append((str(delivery["_id"]), reason))

    deps = handlers.Deps(
        repo=repo, mailer=None, webhooks=webhooks, templates=EmailTemplates(), publish=publish,  # type: ignore[arg-type]
        policy=handlers.Policy(secret="x", public_ui_url="https://ui", smtp_from="a@b", attempts=3,
                               retry_base_s=1.0, retry_cap_s=4.0, subscriptions_refresh_s=0, lease_s=30.0),
        clock=clock, random=lambda: 0.0,
    )
    dispatcher = Dispatcher(deps, publish_outcome=publish_outcome, dead_letter=dead_letter, smtp_endpoint="smtp://x:25",
                            limits=Limits(concurrency=4, endpoint_concurrency=2, send_budget_s=3.0, flush_s=0.001,
                                          poll_s=3600))
    deps.holder, deps.dispatch = dispatcher.token, dispatcher.dispatch
    return World(repo, webhooks, deps, dispatcher, clock, outcomes, dead, requests)


def logged(world: World, sid: str, n: int) -> dict[str, Any]:
    subscription = subscription_from(world.repo.subscriptions_[sid])
    alert = Alert(AlertKind.NEW_EVIDENCE, f"evidence:ev-{n}", ("KHM-4-110.1",), {"title": f"Evidence {n}"})
    trigger = make_event(EvidenceAddedV1(
        evidence_id=f"ev-{n}", recommendation_ids=["KHM-4-110.1"], source_type=EvidenceSourceType.MEDIA,
        title=f"Evidence {n}", visibility=Visibility.PUBLIC, review_state=ReviewState.APPROVED), source="tracker")
    return handlers.delivery_doc(world.deps, subscription, alert, trigger, trigger.to_bytes())


async def log_and_dispatch(world: World, docs: list[dict[str, Any]]) -> None:
    """What the matcher does: log the deliveries, hand them to the dispatcher, announce them."""
    await world.repo.insert_deliveries(docs)
    await world.deps.dispatch(docs)
    assert await world.dispatcher.take_requests([d["_id"] for d in docs]) == []  # the announcements


async def settle(world: World) -> None:
    """Let every task run and the outcomes be written."""
    for _ in range(50):
        await asyncio.sleep(0.002)
    await world.dispatcher.flush()


async def test_a_hanging_endpoint_holds_only_its_own_slots(world: World) -> None:
    world.repo.subscriptions_ |= {"hung": hook("hung", "https://hung.example.org/h"),
                                  "fine": hook("fine", "https://fine.example.org/h")}
    world.webhooks.hanging.add("https://hung.example.org/h")
    world.dispatcher.start()
    try:
        docs = [logged(world, "hung", n) for n in range(10)] + [logged(world, "fine", n) for n in range(10)]
        await log_and_dispatch(world, docs)
        await settle(world)
        fine = [d for url, d in world.webhooks.posted if url == "https://fine.example.org/h"]
        assert len(fine) == 10  # every alert to the endpoint that answers went out ...
        assert world.webhooks.most_in_flight["https://hung.example.org/h"] == 2  # ... the other held 2 slots
        assert all(world.repo.deliveries_[d["_id"]]["status"] == "delivered" for d in docs[10:])
        assert all(world.repo.deliveries_[d["_id"]]["status"] == "queued" for d in docs[:10])
        # Neither sending nor the announcements needed the log again: this process had just logged them.
        assert "deliveries_by_id" not in world.repo.calls and "claim" not in world.repo.calls
    finally:
        world.webhooks.release.set()
        await world.dispatcher.close(grace_s=1.0)


async def test_failures_are_retried_through_the_log_then_dead_lettered(world: World) -> None:
    world.repo.subscriptions_["bad"] = hook("bad", "https://bad.example.org/h")
    world.webhooks.status["https://bad.example.org/h"] = 500
    doc = logged(world, "bad", 1)
    did = doc["_id"]
    await log_and_dispatch(world, [doc])
    await settle(world)
    stored = world.repo.deliveries_[did]
    # No sleep anywhere: the next attempt is a time in the log, 0.5 s (equal jitter, random 0) away.
    assert stored["status"] == "queued" and stored["holder"] == "retry" and stored["attempt_count"] == 1
    assert stored["next_attempt_at"] == NOW + timedelta(seconds=0.5)
    assert stored["last_error"] == "HTTP 500"

    for n in (2, 3):
        assert await world.dispatcher.retry([did]) == 0  # not due yet
        world.clock.now = world.repo.deliveries_[did]["next_attempt_at"]
        assert await world.dispatcher.retry([did]) == 1
        await settle(world)
        assert world.repo.deliveries_[did]["attempt_count"] == n
    stored = world.repo.deliveries_[did]
    assert stored["status"] == "failed" and stored["next_attempt_at"] is None
    assert [a["response_code"] for a in sorted(world.repo.attempts_.values(), key=lambda a: a["number"])] == [500] * 3
    assert [type(o).__name__ for o in world.outcomes] == ["NotificationFailedV1"]
    assert world.dead == [(did, f"delivery {did} to subscription bad failed: HTTP 500")]
    assert world.repo.subscriptions_["bad"]["status"] == "failing"

    # The announcement of the delivery, however late, does not send it again ...
    assert await world.dispatcher.take_requests([did]) == []
    await settle(world)
    assert world.repo.deliveries_[did]["status"] == "failed"
    # ... `upr dlq replay` does: a new round, and success makes the subscription active.
    world.webhooks.status["https://bad.example.org/h"] = 200
    assert await world.dispatcher.take_requests([did], replayed={did}) == []
    await settle(world)
    assert world.repo.deliveries_[did]["status"] == "delivered"
    assert world.repo.deliveries_[did]["attempt_count"] == 4
    assert world.repo.subscriptions_["bad"]["status"] == "active"
    assert [type(o).__name__ for o in world.outcomes] == ["NotificationFailedV1", "NotificationDeliveredV1"]


async def test_a_request_for_a_delivered_unknown_or_elsewhere_held_delivery_sends_nothing(world: World) -> None:
    world.repo.subscriptions_["fine"] = hook("fine", "https://fine.example.org/h")
    done, held, expired, digest = (logged(world, "fine", n) for n in range(4))
    done["status"] = "delivered"
    held["holder"] = "token-of-another-notifier"  # that notifier sends it
    expired["next_attempt_at"] = NOW - timedelta(seconds=1)  # ... or did, until it died
    digest["holder"] = "request"  # waits for whoever consumes its request
    await world.repo.insert_deliveries([done, held, expired, digest])
    unknown = await world.dispatcher.take_requests(
        [done["_id"], held["_id"], expired["_id"], digest["_id"], "no-such-delivery"])
    await settle(world)
    assert unknown == ["no-such-delivery"]
    assert sorted(d for _, d in world.webhooks.posted) == sorted([expired["_id"], digest["_id"]])
    assert world.repo.deliveries_[held["_id"]]["status"] == "queued"


async def test_a_cancelled_subscriptions_delivery_is_skipped(world: World) -> None:
    world.repo.subscriptions_["gone"] = hook("gone", "https://gone.example.org/h")
    doc = logged(world, "gone", 1)
    world.repo.subscriptions_["gone"]["status"] = "cancelled"
    await log_and_dispatch(world, [doc])
    await settle(world)
    assert world.webhooks.posted == []
    assert world.repo.deliveries_[doc["_id"]]["status"] == "skipped"


async def test_close_hands_back_what_never_started(world: World) -> None:
    world.repo.subscriptions_["hung"] = hook("hung", "https://hung.example.org/h")
    world.webhooks.hanging.add("https://hung.example.org/h")
    world.dispatcher.start()
    docs = [logged(world, "hung", n) for n in range(5)]
    await log_and_dispatch(world, docs)
    await asyncio.sleep(0.01)
    # Two are under way (the endpoint's two slots) and fail (time out) during the close.
    asyncio.get_running_loop().call_later(0.05, world.webhooks.release.set)
    await world.dispatcher.close(grace_s=1.0)
    states = [world.repo.deliveries_[d["_id"]] for d in docs]
    handed_back = [d for d in states if d["attempt_count"] == 0]
    assert len(handed_back) == 3
    assert all(d["holder"] == "retry" and d["next_attempt_at"] == NOW for d in handed_back)  # due at once
    assert sum(1 for d in states if d["attempt_count"] == 1 and d["holder"] == "retry") == 2


async def test_deliveries_waiting_for_a_slot_keep_their_reservation(world: World) -> None:
    world.repo.subscriptions_["hung"] = hook("hung", "https://hung.example.org/h")
    world.webhooks.hanging.add("https://hung.example.org/h")
    docs = [logged(world, "hung", n) for n in range(4)]
    await log_and_dispatch(world, docs)
    await asyncio.sleep(0.01)  # two are sent (and hang), two wait for the endpoint's slots
    world.clock.now = NOW + timedelta(seconds=20)  # their reservations (30 s) are past half
    try:
        assert await world.dispatcher.renew_waiting() == 2
        waiting = [world.repo.deliveries_[d["_id"]] for d in docs if d["_id"] in world.dispatcher._waiting]
        assert len(waiting) == 2
        assert all(d["next_attempt_at"] == NOW + timedelta(seconds=50) and d["holder"].startswith("notifier-")
                   for d in waiting)
        # Nobody else's retry loop finds them due when the first reservation would have run out.
        world.clock.now = NOW + timedelta(seconds=31)
        assert set(await world.repo.due_deliveries(world.clock.now, 10)) == {
            d["_id"] for d in docs if d["_id"] not in world.dispatcher._waiting}
    finally:
        world.webhooks.release.set()
        await world.dispatcher.close(grace_s=1.0)


def tracker_event(payload: Contract, event_type: str | None = None) -> handlers.TrackerEvent:
    envelope = make_event(payload, source="tracker", event_type=event_type)
    return handlers.TrackerEvent(envelope, payload, envelope.to_bytes())


def evidence(evidence_id: str, rec: str, state: ReviewState = ReviewState.APPROVED) -> EvidenceAddedV1:
    return EvidenceAddedV1(evidence_id=evidence_id, recommendation_ids=[rec], source_type=EvidenceSourceType.MEDIA,
                           title=f"Title {evidence_id}", visibility=Visibility.PUBLIC, review_state=state)


async def test_a_batch_is_matched_in_order_with_one_read_and_one_insert(world: World) -> None:
    world.repo.subscriptions_["t08"] = hook("t08", "https://t08.example.org/h", themes=["T08"])
    world.repo.recommendations_["KHM-4-1.1"] = {"_id": "KHM-4-1.1", "themes": ["T01"],
                                                "last_evidence_at": datetime.now(UTC) - timedelta(minutes=5)}
    batch = [
        tracker_event(evidence("ev-before", "KHM-4-1.1")),  # not T08 yet: no alert
        tracker_event(ThemesTaggedV1(recommendation_id="KHM-4-1.1", child_related=True, tagger_version="t",
                                     themes=[ThemeTag(id="T08", confidence=1.0, explanation="x")], corrected=True)),
        tracker_event(evidence("ev-after", "KHM-4-1.1")),  # sees the tagging just before it
        tracker_event(evidence("ev-after", "KHM-4-1.1")),  # the same fact again: one delivery
        tracker_event(evidence("ev-held", "KHM-4-1.1", ReviewState.PENDING)),
        tracker_event(EvidenceReviewedV1(evidence_id="ev-held", decision="approved"), "evidence.reviewed"),
    ]
    outcomes, fresh = await handlers.tracker_events(batch, world.deps)
    assert outcomes == ["no_match", "no_match", "matched", "matched", "ignored", "matched"]
    assert sorted(d["alert_key"] for d in fresh) == ["evidence:ev-after", "evidence:ev-held"]
    assert world.repo.calls == ["recommendations", "insert_deliveries"]
    # Written: the themes, the held evidence twice; not the evidence time (5 minutes is within a step).
    written = [op._doc for op in world.repo.projection_writes]
    assert not any("$max" in update for update in written)

    outcomes, fresh = await handlers.tracker_events(batch, world.deps)  # the batch redelivered
    assert fresh == []  # logged already: nothing requested twice


@pytest.mark.parametrize("minutes", [59, 61])
def test_the_last_evidence_time_moves_by_whole_steps(minutes: int) -> None:
    projection = handlers._BatchProjection({"R": {"_id": "R", "last_evidence_at": NOW}}, {})
    later = NOW + timedelta(minutes=minutes)
    projection.apply(make_event(evidence("e", "R"), source="t").model_copy(update={"occurred_at": later}),
                     evidence("e", "R"))
    ops = projection.recommendation_ops
    assert len(ops) == (1 if minutes >= 60 else 0)


def test_a_subscription_doc_is_what_the_dispatcher_reads() -> None:
    assert subscription_from(hook("s", "https://x.example.org/h")).channel == Channel.WEBHOOK


async def test_a_delivery_is_not_sent_while_its_reservation_is_being_renewed(world: World) -> None:
    # FerretDB rewrites a document it updates from what it read: a renewal written after the
    # delivery's outcome would queue it again (and it would go out twice). So a delivery
    # waiting for a slot does not start while its renewal is on its way to the log.
    world.repo.subscriptions_["slow"] = hook("slow", "https://slow.example.org/h")
    world.webhooks.hanging.add("https://slow.example.org/h")
    docs = [logged(world, "slow", n) for n in range(3)]  # two slots: the third waits
    world.dispatcher.start()
    await log_and_dispatch(world, docs)
    await settle(world)
    waiting = docs[2]["_id"]
    assert waiting not in {did for _, did in world.webhooks.posted}

    gate = asyncio.Event()
    claim = world.repo.claim

    async def slow_claim(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        await gate.wait()
        return await claim(*args, **kwargs)

    world.repo.claim = slow_claim  # type: ignore[method-assign]
    world.clock.now = NOW + timedelta(seconds=20)  # past half of the 30 s reservation
    renewal = asyncio.create_task(world.dispatcher.renew_waiting())
    await asyncio.sleep(0.01)
    world.webhooks.release.set()  # the hanging attempts end: a slot is free
    await settle(world)
    assert waiting not in {did for _, did in world.webhooks.posted}, "sent while being renewed"

    gate.set()
    assert await renewal == 1
    await settle(world)
    assert waiting in {did for _, did in world.webhooks.posted}
    await world.dispatcher.close(grace_s=1.0)


async def test_the_frequent_look_takes_retries_left_behind_and_the_rare_one_a_dead_notifiers_deliveries(
    world: World,
) -> None:
    # Every poll the retry loop asks only for what nobody holds (answered from the index); a
    # delivery reserved by a notifier that died is found by the look at every queued delivery.
    world.repo.subscriptions_["fine"] = hook("fine", "https://fine.example.org/h")
    left, orphaned = logged(world, "fine", 1), logged(world, "fine", 2)
    left.update(holder="retry", next_attempt_at=NOW)
    orphaned.update(holder="notifier-dead", next_attempt_at=NOW)
    await world.repo.insert_deliveries([left, orphaned])
    world.clock.now = NOW + timedelta(seconds=1)
    assert await world.dispatcher.retry_due(everyone=False) == 1
    await settle(world)
    assert world.repo.deliveries_[left["_id"]]["status"] == "delivered"
    assert world.repo.deliveries_[orphaned["_id"]]["holder"] == "notifier-dead"
    assert await world.dispatcher.retry_due() == 1
    await settle(world)
    assert world.repo.deliveries_[orphaned["_id"]]["status"] == "delivered"
    await world.dispatcher.close(grace_s=1.0)


class GatedClaims:
    """Claims that wait at a gate, and say whether they ran to the end or were cancelled (a
    cancelled call leaves its command running on the server: the log is then changed later,
    behind the dispatcher's back)."""

    def __init__(self, repo: FakeRepo) -> None:
        self.claim, self.gate = repo.claim, asyncio.Event()
        self.entered, self.finished, self.cancelled = asyncio.Event(), 0, 0

    async def __call__(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        self.entered.set()
        try:
            await self.gate.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        self.finished += 1
        return await self.claim(*args, **kwargs)


async def test_close_lets_a_reservation_renewal_under_way_end_and_hands_the_delivery_back(world: World) -> None:
    world.repo.subscriptions_["fine"] = hook("fine", "https://fine.example.org/h")
    doc = logged(world, "fine", 1)
    doc["next_attempt_at"] = NOW + timedelta(seconds=1)  # shorter than one attempt: renewed before sending
    claims = GatedClaims(world.repo)
    world.repo.claim = claims  # type: ignore[method-assign]
    world.dispatcher.start()
    await log_and_dispatch(world, [doc])
    await asyncio.wait_for(claims.entered.wait(), 1.0)
    closing = asyncio.create_task(world.dispatcher.close(grace_s=1.0))
    await asyncio.sleep(0.01)
    assert not closing.done()  # waits for the renewal instead of cancelling it
    claims.gate.set()
    await closing
    assert (claims.finished, claims.cancelled) == (1, 0)
    assert world.webhooks.posted == []  # closed during the renewal: not sent ...
    stored = world.repo.deliveries_[doc["_id"]]
    assert (stored["status"], stored["holder"], stored["next_attempt_at"]) == ("queued", "retry", NOW)  # ... due


async def test_close_lets_the_retry_loop_finish_its_claim_and_hands_back_what_it_claimed(world: World) -> None:
    world.repo.subscriptions_["fine"] = hook("fine", "https://fine.example.org/h")
    left = logged(world, "fine", 1)
    left.update(holder="retry", next_attempt_at=NOW)
    await world.repo.insert_deliveries([left])
    claims = GatedClaims(world.repo)
    world.repo.claim = claims  # type: ignore[method-assign]
    world.dispatcher.start()  # its first round looks for due deliveries at once
    await asyncio.wait_for(claims.entered.wait(), 1.0)
    closing = asyncio.create_task(world.dispatcher.close(grace_s=1.0))
    await asyncio.sleep(0.01)
    claims.gate.set()
    await closing
    assert (claims.finished, claims.cancelled) == (1, 0)
    assert world.webhooks.posted == []
    stored = world.repo.deliveries_[left["_id"]]
    assert (stored["status"], stored["holder"], stored["next_attempt_at"]) == ("queued", "retry", NOW)
