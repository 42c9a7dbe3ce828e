"""Sending deliveries: concurrently, bounded, and without head-of-line blocking.

The delivery log (``notifier_deliveries``) is the schedule. A queued delivery carries who
may send it (``holder``) until when (``next_attempt_at``):

- a notifier's token: the notifier that logged it (it is handed to its dispatcher at once,
  :meth:`Dispatcher.dispatch`: no read, no write, no trip through Kafka), or one that claimed
  it with a compare-and-set (its retry loop, a replayed dead letter, a reservation renewed);
- ``request``: whoever consumes its ``notification.requested`` (the scheduler's digests);
- ``retry``: nobody; it waits for its next attempt.

When ``next_attempt_at`` has passed, the retry loop of any notifier claims it. So a
notifier that dies loses nothing: its reservations run out and another takes over. The
``notification.requested`` of a delivery sent at once is an announcement: its consumer
finds the delivery held or done and leaves it.

Each delivery is one task. It waits for a slot of its endpoint (a webhook's
``scheme://host:port``, or the SMTP server) and then for a global slot, so a hanging
endpoint holds only its own slots; beyond ``endpoint_backlog`` waiting deliveries, more for
that endpoint are put back in the log for later. A failed attempt schedules the next one in
the log (exponential backoff with jitter); nothing ever sleeps in a consumer.

Outcomes are written together every ``flush_s``: attempts as inserts into
``notifier_attempts``; the deliveries' new status with one update per group of equal
fields (cheap in bulk). Then ``notification.delivered`` / ``notification.failed`` go out on
their own topic, and a delivery that ran out of attempts is dead-lettered as its
``notification.requested`` (``upr dlq replay`` sends it again).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from contracts.events import (
    Channel,
    Contract,
    NotificationDeliveredV1,
    NotificationFailedV1,
)
from contracts.observability import DELIVERY_LATENCY, EVENTS_CONSUMED
from services.notifier import handlers
from services.notifier.adapters.email import PermanentEmailError
from services.notifier.adapters.telegram import PermanentTelegramError, TelegramRetryAfter
from services.notifier.domain.deliveries import (
    DeliveryStatus,
    Holder,
    is_final_failure,
    is_success,
    retry_delay,
)
from services.notifier.domain.endpoints import UnsafeEndpoint, endpoint_key
from services.notifier.domain.subscriptions import ACTIVE, FAILING, PENDING, Subscription, subscription_from

SERVICE = "notifier"
log = logging.getLogger("upr.notifier.dispatcher")

# (outcome payload, key) -> published without waiting; await the result (one flush for many).
PublishOutcome = Callable[[Contract, str], Awaitable[Awaitable[Any]]]
# (delivery document, reason) -> its notification.requested goes to the dead-letter topic.
DeadLetterDelivery = Callable[[Mapping[str, Any], str], Awaitable[None]]

QUEUED = DeliveryStatus.QUEUED.value


@dataclass
class _Endpoint:
    slots: asyncio.Semaphore
    waiting: int = 0


@dataclass
class Outcome:
    delivery: dict[str, Any]
    result: str  # delivered | retry | failed | skipped
    subscription: Subscription | None = None
    attempt: dict[str, Any] | None = None
    error: str = ""
    items: list[dict[str, Any]] = field(default_factory=list)
    next_attempt_at: datetime | None = None
    counted: bool = True  # False: told to wait (Telegram's 429), not a failure of the endpoint


@dataclass
class _LogWrites:
    """What a batch of outcomes changes in the delivery log and the subscriptions."""

    delivered: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))  # by attempt count
    digest_items: list[str] = field(default_factory=list)
    recovered: set[str] = field(default_factory=set)
    retries: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    failures: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)
    skipped: list[str] = field(default_factory=list)


def _log_writes(batch: Sequence[Outcome], now: datetime) -> _LogWrites:
    writes = _LogWrites()
    for o in batch:
        did = str(o.delivery["_id"])
        count = int(o.delivery.get("attempt_count") or 0) + (1 if o.attempt is not None else 0)
        if o.result == "delivered":
            writes.delivered[count].append(did)
            if o.delivery.get("kind") == handlers.DIGEST:
                writes.digest_items.extend(str(i["_id"]) for i in o.items)
            if o.subscription is not None and o.subscription.status == FAILING:
                writes.recovered.add(o.subscription.subscription_id)
        elif o.result == "retry":
            writes.retries.append((did, {"holder": Holder.RETRY.value, "next_attempt_at": o.next_attempt_at,
                                         "attempt_count": count, "last_error": o.error,
                                         "round_attempts": int(o.delivery.get("round_attempts") or 0)
                                         + (1 if o.counted else 0)}))
        elif o.result == "failed":
            writes.failures.append((did, {"status": DeliveryStatus.FAILED.value, "holder": None,
                                          "next_attempt_at": None, "attempt_count": count, "last_error": o.error,
                                          "failed_at": now,
                                          "round_attempts": int(o.delivery.get("round_attempts") or 0) + 1}))
            if o.subscription is not None and o.subscription.channel == Channel.WEBHOOK:
                writes.failing.add(o.subscription.subscription_id)
        else:
            writes.skipped.append(did)
    return writes


@dataclass(frozen=True)
class Limits:
    concurrency: int = 64
    endpoint_concurrency: int = 8
    endpoint_backlog: int = 1000
    send_budget_s: float = 7.0  # the longest one attempt may take (timeouts + margin)
    flush_s: float = 0.02
    poll_s: float = 1.0
    defer_s: float = 30.0  # how long deliveries beyond an endpoint's backlog are put back for
    recent: int = 50_000  # ids of deliveries dispatched here, whose announcements are then ignored


class Dispatcher:
    def __init__(
        self, deps: handlers.Deps, *, publish_outcome: PublishOutcome, dead_letter: DeadLetterDelivery,
        smtp_endpoint: str, limits: Limits | None = None,
    ) -> None:
        self.deps = deps
        self.publish_outcome = publish_outcome
        self.dead_letter = dead_letter
        self.smtp_endpoint = smtp_endpoint
        self.limits = limits or Limits()
        self._slots = asyncio.Semaphore(self.limits.concurrency)
        self._endpoints: dict[str, _Endpoint] = {}
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._submitting: set[str] = set()
        self._renewing: set[str] = set()  # deliveries waiting here whose reservation is being renewed
        self._renewal_done = asyncio.Event()
        self._waiting: dict[str, dict[str, Any]] = {}  # deliveries of _inflight not yet attempted
        self.token = f"notifier-{uuid.uuid4().hex}"  # holds what this process logs and sends itself
        self._sending: set[str] = set()
        self._checking: set[str] = set()  # deliveries renewing their reservation (a log write)
        self._released: list[str] = []
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._outcomes: list[Outcome] = []
        self._unwritten: set[str] = set()
        self._flush_wanted = asyncio.Event()
        self._retry_wanted = asyncio.Event()
        self._retry_times: list[tuple[float, str]] = []  # (monotonic time, id) of retries scheduled here
        self._flusher: asyncio.Task[None] | None = None
        self._retrier: asyncio.Task[None] | None = None
        self._closing = False

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._closing = False
        self._flusher = asyncio.create_task(self._flush_loop(), name="notifier-outcomes")
        self._retrier = asyncio.create_task(self._retry_loop(), name="notifier-retries")

    async def close(self, grace_s: float) -> None:
        """Stop taking work; hand back what never started; let attempts under way finish
        (up to ``grace_s``); write every outcome.

        Nothing is cancelled in the middle of a write to the log: a cancelled call leaves its
        command running on the server, and FerretDB's update rewrites a document from what it
        read, so a claim landing late can put a delivery another notifier has meanwhile sent
        and logged as delivered back in the queue (sent again once that claim runs out). The retry
        loop ends after its round; a delivery renewing its reservation ends after the renewal."""
        self._closing = True
        deadline = time.monotonic() + grace_s
        if self._retrier is not None:
            self._retry_wanted.set()
            done, _ = await asyncio.wait([self._retrier], timeout=grace_s)
            if not done:
                self._retrier.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retrier
            self._retrier = None
        while self._inflight:  # (a hand-over under way when the close began may still add some)
            waiting = {did: task for did, task in self._inflight.items()
                       if did not in self._sending and did not in self._checking}
            for task in waiting.values():
                task.cancel()
            await asyncio.gather(*waiting.values(), return_exceptions=True)
            for did in waiting:
                self._inflight.pop(did, None)
                if did not in self._unwritten:
                    self._released.append(did)
            await self._hand_back()
            busy = list(self._inflight.values())
            if busy:
                _, late = await asyncio.wait(busy, timeout=max(deadline - time.monotonic(), 0.0))
                for task in late:  # left queued: its reservation runs out and it is sent again
                    task.cancel()
                await asyncio.gather(*late, return_exceptions=True)
        await self._hand_back()  # those that saw the close after renewing their reservation
        self._flush_wanted.set()
        if self._flusher is not None:
            try:
                await asyncio.wait_for(self._flusher, timeout=max(grace_s, 5.0))
            except (TimeoutError, asyncio.CancelledError):
                log.error("outcomes of %d deliveries not written; they will be sent again", len(self._outcomes))
            self._flusher = None

    async def _hand_back(self) -> None:
        """Deliveries this process reserved but never attempted: due now, for whoever comes next."""
        ids, self._released = self._released, []
        if not ids:
            return
        try:
            await self.deps.repo.set_deliveries(
                ids, {"holder": Holder.RETRY.value, "next_attempt_at": self._now()}, {"status": QUEUED})
        except Exception as exc:  # the reservations run out by themselves
            log.warning("could not hand back %d deliveries: %r", len(ids), exc)

    # --- taking work ---------------------------------------------------------------------

    async def dispatch(self, docs: Sequence[dict[str, Any]]) -> None:
        """Deliveries this process just logged, held by its token: send them."""
        for doc in docs:
            self._recent[str(doc["_id"])] = None
        while len(self._recent) > self.limits.recent:
            self._recent.popitem(last=False)
        await self.submit(docs)

    async def take_requests(self, ids: Sequence[str], replayed: Collection[str] = ()) -> list[str]:
        """Send what these notification.requested ask for, as the log allows: what nobody
        holds, and a failed delivery when its request is a replayed dead letter (``replayed``:
        a new round of attempts). Returns the ids the log does not know (the caller
        dead-letters their requests)."""
        now = self._now()
        ready: list[dict[str, Any]] = []
        to_read: list[str] = []
        for did in dict.fromkeys(ids):
            if did in self._inflight or did in self._unwritten or (did in self._recent and did not in replayed):
                continue  # the announcement of a delivery sent (or being sent) here
            to_read.append(did)
        stored = await self.deps.repo.deliveries_by_id(to_read) if to_read else {}
        unknown: list[str] = []
        expired: list[str] = []
        replays: list[str] = []
        for did in to_read:
            doc = stored.get(did)
            if doc is None:
                unknown.append(did)
            elif doc.get("status") == QUEUED:
                if self._reserved_for_request(doc, now):
                    ready.append(doc)
                elif _due(doc, now):
                    expired.append(did)
                # else: a notifier holds it (the one that logged it sends it), or it waits to be retried
            elif doc.get("status") == DeliveryStatus.FAILED.value and did in replayed:
                replays.append(did)  # `upr dlq replay`: a new round of attempts
            else:
                EVENTS_CONSUMED.labels(SERVICE, "notification.requested", "duplicate").inc()
        if expired:
            ready += await self._claim(expired, {"status": QUEUED, "next_attempt_at": {"$lte": now}})
        if replays:
            ready += await self._claim(replays, {"status": DeliveryStatus.FAILED.value},
                                       {"status": QUEUED, "round_attempts": 0})
        await self.submit(ready)
        return unknown

    async def retry_due(self, everyone: bool = True) -> int:
        """Claim and send every delivery whose wait or reservation is over: with ``everyone``,
        those held by a notifier that died too (a query over every queued delivery); without,
        only those nobody holds (waiting for a retry, or for the consumer of their request)."""
        now = self._now()
        busy = set(self._inflight) | self._unwritten
        holders = None if everyone else (Holder.RETRY.value, Holder.REQUEST.value)
        ids = [i for i in await self.deps.repo.due_deliveries(now, 500, holders) if i not in busy]
        claimed = await self._claim(ids, {"status": QUEUED, "next_attempt_at": {"$lte": now}})
        await self.submit(claimed)
        return len(claimed)

    async def retry(self, ids: Sequence[str]) -> int:
        """Claim and send these deliveries (retries this process scheduled) if they are due."""
        now = self._now()
        busy = set(self._inflight) | self._unwritten
        claimed = await self._claim([i for i in dict.fromkeys(ids) if i not in busy],
                                    {"status": QUEUED, "holder": Holder.RETRY.value, "next_attempt_at": {"$lte": now}})
        await self.submit(claimed)
        return len(claimed)

    async def submit(self, docs: Sequence[dict[str, Any]]) -> None:
        """Start one task per delivery this process now holds."""
        docs = [d for d in docs if str(d["_id"]) not in self._inflight and str(d["_id"]) not in self._submitting]
        if not docs:
            return
        if self._closing:
            self._released.extend(str(d["_id"]) for d in docs)
            await self._hand_back()
            return
        # Two submits of one delivery (a claim racing a hand-over) must not both start a task:
        # the ids are taken before the first await.
        ids = {str(d["_id"]) for d in docs}
        self._submitting |= ids
        try:
            await self._start(docs)
        finally:
            self._submitting -= ids

    async def _start(self, docs: Sequence[dict[str, Any]]) -> None:
        stored = await self.deps.subscription_docs({str(d["subscription_id"]) for d in docs})
        if self._closing:  # closed while the subscriptions were read
            self._released.extend(str(d["_id"]) for d in docs)
            await self._hand_back()
            return
        deferred: list[str] = []
        parsed: dict[str, Subscription] = {}  # one parse per subscription, not per delivery
        for doc in docs:
            did = str(doc["_id"])
            sid = str(doc["subscription_id"])
            subscription_doc = stored.get(sid)
            if subscription_doc is None:  # cancelled (or gone) since the alert was logged
                self._record(Outcome(doc, "skipped"))
                continue
            subscription = parsed.get(sid)
            if subscription is None:
                subscription = parsed[sid] = subscription_from(subscription_doc)
            if subscription.status == PENDING and doc.get("kind") != handlers.CONFIRMATION:
                self._record(Outcome(doc, "skipped"))  # its address was changed and is not confirmed yet
                continue
            endpoint = self._endpoint(subscription)
            if endpoint.waiting >= self.limits.endpoint_backlog:
                deferred.append(did)
                continue
            endpoint.waiting += 1
            self._waiting[did] = doc
            self._inflight[did] = asyncio.create_task(self._run(doc, subscription, subscription_doc, endpoint),
                                                      name=f"delivery-{did}")
        if deferred:
            log.warning("%d deliveries put back for %.0f s: their endpoint has a backlog", len(deferred),
                        self.limits.defer_s)
            later = self._now() + timedelta(seconds=self.limits.defer_s)
            await self.deps.repo.set_deliveries(
                deferred, {"holder": Holder.RETRY.value, "next_attempt_at": later}, {"status": QUEUED})
            for did in deferred:
                self._wake_retries_at(later, did)

    def _endpoint(self, subscription: Subscription) -> _Endpoint:
        if subscription.channel == Channel.WEBHOOK and subscription.webhook_url:
            try:
                key = endpoint_key(subscription.webhook_url)
            except UnsafeEndpoint:
                key = subscription.webhook_url
        elif subscription.channel == Channel.TELEGRAM:
            key = "telegram"  # one Bot API for every chat: its own slots, apart from email and webhooks
        else:
            key = self.smtp_endpoint
        endpoint = self._endpoints.get(key)
        if endpoint is None:
            endpoint = self._endpoints[key] = _Endpoint(asyncio.Semaphore(self.limits.endpoint_concurrency))
        return endpoint

    def _reserved_for_request(self, doc: Mapping[str, Any], now: datetime) -> bool:
        """Reserved for the consumer of its request, long enough for one attempt?"""
        until = doc.get("next_attempt_at")
        return (doc.get("holder") == Holder.REQUEST.value and isinstance(until, datetime)
                and (until - now).total_seconds() > self.limits.send_budget_s)

    async def _claim(
        self, ids: Sequence[str], query: Mapping[str, Any], fields: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        if not ids:
            return []
        until = self._now() + timedelta(seconds=self.deps.policy.lease_s)
        return await self.deps.repo.claim(ids, query, {**(fields or {}), "next_attempt_at": until}, uuid.uuid4().hex)

    # --- sending -------------------------------------------------------------------------

    async def _run(self, doc: dict[str, Any], subscription: Subscription, stored: Mapping[str, Any],
                   endpoint: _Endpoint) -> None:
        did = str(doc["_id"])
        queued = True
        try:
            async with endpoint.slots:
                endpoint.waiting -= 1
                queued = False
                async with self._slots:
                    while did in self._renewing:  # its reservation is being renewed: not sent meanwhile
                        await self._renewal_done.wait()
                    if self._closing:
                        self._released.append(did)
                        return
                    self._checking.add(did)
                    if not await self._still_held(doc):
                        return
                    if self._closing:  # closed during the renewal: handed back, not sent
                        self._released.append(did)
                        return
                    self._sending.add(did)
                    self._waiting.pop(did, None)
                    self._record(await self._attempt(doc, subscription, stored))
        except asyncio.CancelledError:
            raise  # at close: one never attempted is handed back, one under way waits for its lease
        except Exception:  # a bug, or the log unreachable while renewing: the reservation runs out
            log.exception("delivery %s could not be attempted", did)
        finally:
            if queued:
                endpoint.waiting -= 1
            self._sending.discard(did)
            self._checking.discard(did)
            self._waiting.pop(did, None)
            self._inflight.pop(did, None)

    async def _still_held(self, doc: dict[str, Any]) -> bool:
        """Is the reservation long enough for one attempt? If not, renew it (compare-and-set):
        a delivery that waited long for its endpoint may have been taken over meanwhile."""
        until = doc.get("next_attempt_at")
        now = self._now()
        if isinstance(until, datetime) and (until - now).total_seconds() > self.limits.send_budget_s:
            return True
        renewed = await self._claim([str(doc["_id"])], {"status": QUEUED, "holder": doc.get("holder"),
                                                         "next_attempt_at": until})
        if not renewed:
            # Lost the claim: to another notifier (leave it), or to this one's renewal of the
            # deliveries waiting here (renew_waiting read the same state): then it is still ours.
            stored = (await self.deps.repo.deliveries_by_id([str(doc["_id"])])).get(str(doc["_id"]))
            mine = (stored is not None and stored.get("status") == QUEUED and stored.get("holder") == self.token
                    and isinstance(stored.get("next_attempt_at"), datetime)
                    and (stored["next_attempt_at"] - now).total_seconds() > self.limits.send_budget_s)
            if not mine or stored is None:
                return False
            renewed = [stored]
        doc.update(renewed[0])
        return True

    async def _attempt(self, doc: dict[str, Any], subscription: Subscription, stored: Mapping[str, Any]) -> Outcome:
        deps, policy = self.deps, self.deps.policy
        did = str(doc["_id"])
        items = [doc]
        if doc.get("kind") == handlers.DIGEST:
            items = await deps.repo.deliveries({
                "status": DeliveryStatus.QUEUED_FOR_DIGEST.value, "holder": None,
                "subscription_id": subscription.subscription_id, "digest_id": did})
            if not items:
                return Outcome(doc, "skipped", subscription)
        number = int(doc.get("attempt_count") or 0) + 1
        started = time.perf_counter()
        code: int | None = None
        permanent = False
        error = ""
        wait_s: float | None = None
        try:
            code = await handlers.send_once(deps, subscription, doc, items, stored)
            error = "" if is_success(code) else f"HTTP {code}"
        except TelegramRetryAfter as exc:  # Telegram's flood control: wait as long as it says
            code, error, wait_s = 429, str(exc), exc.seconds
        except (PermanentEmailError, PermanentTelegramError) as exc:
            error, permanent = str(exc), True
        except UnsafeEndpoint as exc:
            error, permanent = f"endpoint refused: {exc}", True
        except Exception as exc:  # network errors, timeouts, SMTP down: worth another try
            error = f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
        now = self._now()
        attempt = {"_id": f"{did}:{number}", "delivery_id": did, "number": number,
                   "status": "error" if error else "ok", "response_code": code,
                   "latency_ms": round((time.perf_counter() - started) * 1000, 1), "error": error or None, "at": now}
        if not error:
            return Outcome(doc, "delivered", subscription, attempt, items=items)
        if wait_s is not None:  # not counted against the attempts: the message was not refused
            log.info("delivery %s: %s", did, error)
            return Outcome(doc, "retry", subscription, attempt, error, counted=False,
                           next_attempt_at=now + timedelta(seconds=max(wait_s, policy.retry_base_s)))
        round_attempts = int(doc.get("round_attempts") or 0) + 1
        log.warning("delivery %s attempt %d/%d failed: %s", did, round_attempts, policy.attempts, error)
        if is_final_failure(round_attempts, policy.attempts, permanent):
            return Outcome(doc, "failed", subscription, attempt, error)
        delay = retry_delay(round_attempts, policy.retry_base_s, policy.retry_cap_s, deps.random)
        return Outcome(doc, "retry", subscription, attempt, error, next_attempt_at=now + timedelta(seconds=delay))

    # --- outcomes ------------------------------------------------------------------------

    def _record(self, outcome: Outcome) -> None:
        self._outcomes.append(outcome)
        self._unwritten.add(str(outcome.delivery["_id"]))
        self._flush_wanted.set()

    async def flush(self) -> None:
        """Write the outcomes recorded so far (the flush loop does it every ``flush_s``)."""
        if not self._outcomes:
            return
        batch, self._outcomes = self._outcomes, []
        try:
            await self.write(batch)
        except BaseException:
            self._outcomes = batch + self._outcomes
            raise
        self._unwritten.difference_update(str(o.delivery["_id"]) for o in batch)

    async def _flush_loop(self) -> None:
        while True:
            await self._flush_wanted.wait()
            if not self._closing:
                await asyncio.sleep(self.limits.flush_s)  # let a few more outcomes join
            self._flush_wanted.clear()
            try:
                await self.flush()
            except Exception as exc:
                if self._closing:
                    log.error("outcomes of %d deliveries not written (%r); they will be sent again",
                              len(self._outcomes), exc)
                    return
                log.warning("could not write %d outcomes, trying again: %r", len(self._outcomes), exc)
                self._flush_wanted.set()
                await asyncio.sleep(1.0)
                continue
            if self._closing and not self._outcomes:
                return

    async def write(self, batch: Sequence[Outcome]) -> None:
        """Record a batch of outcomes in the log (few writes), then announce them."""
        now = self._now()
        await self.deps.repo.add_attempts([o.attempt for o in batch if o.attempt is not None])
        writes = _log_writes(batch, now)
        await self._write_deliveries(writes, now)
        await self._write_subscriptions(batch, writes, now)
        for did, fields in writes.retries:
            self._wake_retries_at(fields["next_attempt_at"], did)
        await self._announce(batch)

    async def _write_deliveries(self, writes: _LogWrites, now: datetime) -> None:
        repo = self.deps.repo
        for count, ids in writes.delivered.items():
            await repo.set_deliveries(ids, {"status": DeliveryStatus.DELIVERED.value, "delivered_at": now,
                                            "attempt_count": count, "holder": None, "next_attempt_at": None,
                                            "last_error": None})
        if writes.digest_items:
            await repo.set_deliveries(writes.digest_items,
                                      {"status": DeliveryStatus.DELIVERED.value, "delivered_at": now})
        await repo.update_deliveries(writes.retries + writes.failures)
        if writes.skipped:
            await repo.set_deliveries(writes.skipped, {"status": DeliveryStatus.SKIPPED.value, "holder": None,
                                                       "next_attempt_at": None})

    async def _write_subscriptions(self, batch: Sequence[Outcome], writes: _LogWrites, now: datetime) -> None:
        """A webhook that failed is marked failing; one that delivered again is active again."""
        repo = self.deps.repo
        if writes.recovered:
            await repo.set_subscriptions(sorted(writes.recovered), {"status": ACTIVE, "last_error": None},
                                         {"status": FAILING})
        if writes.failing:
            errors = {sid: o.error for o in batch if o.result == "failed" and o.subscription is not None
                      for sid in [o.subscription.subscription_id]}
            for sid in sorted(writes.failing):
                await repo.set_subscription(sid, {"status": FAILING, "last_error": errors.get(sid),
                                                  "failing_since": now})
        if writes.recovered or writes.failing:
            self.deps.forget_subscriptions()

    async def _announce(self, batch: Sequence[Outcome]) -> None:
        pending = []
        for o in batch:
            doc = o.delivery
            did = str(doc["_id"])
            EVENTS_CONSUMED.labels(SERVICE, "notification.requested", o.result).inc()
            if o.subscription is None or o.result not in ("delivered", "failed"):
                continue
            trigger = str(doc.get("trigger_event_id") or doc.get("alert_key", ""))
            attempts = int(doc.get("attempt_count") or 0) + 1
            if o.result == "delivered":
                at = o.attempt["at"] if o.attempt else self._now()
                occurred = doc.get("occurred_at")
                latency_s = max((at - occurred).total_seconds(), 0.0) if isinstance(occurred, datetime) else 0.0
                DELIVERY_LATENCY.labels(o.subscription.channel.value).observe(latency_s)
                event: Contract = NotificationDeliveredV1(
                    delivery_id=did, subscription_id=o.subscription.subscription_id, channel=o.subscription.channel,
                    trigger_event_id=trigger, attempts=attempts, latency_ms=round(latency_s * 1000, 1))
            else:
                event = NotificationFailedV1(
                    delivery_id=did, subscription_id=o.subscription.subscription_id, channel=o.subscription.channel,
                    trigger_event_id=trigger, attempts=attempts, error=o.error[:2000], dead_lettered=True)
            pending.append(await self.publish_outcome(event, did))
        for sent in pending:
            await sent
        for o in batch:
            if o.result == "failed" and o.subscription is not None:
                await self.dead_letter(o.delivery, f"delivery {o.delivery['_id']} to subscription "
                                                   f"{o.subscription.subscription_id} failed: {o.error}")

    # --- retries -------------------------------------------------------------------------

    def _wake_retries_at(self, at: datetime | None, did: str) -> None:
        if at is None:
            return
        delay = max((at - self._now()).total_seconds(), 0.0) + 0.002  # the log keeps milliseconds
        heapq.heappush(self._retry_times, (time.monotonic() + delay, did))
        self._retry_wanted.set()

    async def renew_waiting(self) -> int:
        """Deliveries waiting here for a slot keep their reservation: the ones whose reservation
        is past half are renewed together (one write), before any other notifier may take them."""
        now = self._now()
        half = timedelta(seconds=self.deps.policy.lease_s / 2)
        by_holder: dict[Any, list[str]] = defaultdict(list)
        for did, doc in self._waiting.items():
            until = doc.get("next_attempt_at")
            if isinstance(until, datetime) and now < until < now + half:
                by_holder[doc.get("holder")].append(did)
        renewed = 0
        # While they are renewed, these deliveries do not start: FerretDB rewrites a document
        # it updates from what it read, so a renewal landing after a delivery's outcome was
        # written would put it back in the queue (sent again once that reservation ran out).
        renewing = {did for ids in by_holder.values() for did in ids}
        self._renewing |= renewing
        self._renewal_done.clear()
        try:
            for holder, ids in by_holder.items():  # still held as this process believes, and not run out
                for fresh in await self.deps.repo.claim(
                        ids, {"status": QUEUED, "holder": holder, "next_attempt_at": {"$gt": now}},
                        {"next_attempt_at": now + timedelta(seconds=self.deps.policy.lease_s)}, self.token):
                    waiting = self._waiting.get(str(fresh["_id"]))
                    if waiting is not None:
                        waiting.update(holder=fresh.get("holder"), next_attempt_at=fresh.get("next_attempt_at"))
                    renewed += 1
        finally:
            self._renewing -= renewing
            self._renewal_done.set()
        return renewed

    async def _retry_loop(self) -> None:
        """Retries scheduled here, when due (a claim by id); every ``poll_s`` a look in the log
        for the retries and requests other notifiers left behind, and the renewal of the
        reservations of deliveries waiting here; every half lease (first at start-up) a look at
        every queued delivery, for those held by a notifier that died. That look decodes each
        queued delivery on the embedded FerretDB (measured: 0.7-1.1 s with the backlog of 200
        alerts/s), and a reservation lasts a lease anyway: more often bought nothing."""
        next_scan = next_full = time.monotonic()
        while not self._closing:
            now = time.monotonic()
            due: list[str] = []
            while self._retry_times and self._retry_times[0][0] <= now:
                due.append(heapq.heappop(self._retry_times)[1])
            if not due and now < next_scan:
                wait = next_scan - now
                if self._retry_times:
                    wait = min(wait, self._retry_times[0][0] - now)
                self._retry_wanted.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._retry_wanted.wait(), timeout=max(wait, 0.0))
                continue
            try:
                if due:
                    await self.retry(due)
                if now >= next_scan:
                    next_scan = now + min(self.limits.poll_s, self.deps.policy.lease_s / 4)
                    await self.renew_waiting()
                    everyone = now >= next_full
                    if everyone:
                        next_full = now + self.deps.policy.lease_s / 2
                    await self.retry_due(everyone)
            except Exception as exc:  # the log unreachable: the full look finds them later
                log.warning("could not look for due deliveries: %r", exc)

    def _now(self) -> datetime:
        return handlers.truncate_ms(self.deps.clock())


def _due(doc: Mapping[str, Any], now: datetime) -> bool:
    until = doc.get("next_attempt_at")
    return not isinstance(until, datetime) or until <= now
