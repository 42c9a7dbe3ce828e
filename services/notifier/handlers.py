"""One function per message the notifier consumes, plus the scheduled jobs.

- :func:`tracker_event`: keep the notifier's projection up to date, turn the event into
  alerts, log one delivery per matching subscription (unique id) and ask for it to be sent.
- :func:`deliver`: send one logged delivery (email or signed webhook) with retries;
  skip it if the log says it was delivered; after the last failed attempt raise
  :class:`Rejected` so the shared middleware dead-letters the request.
- :func:`subscription_requested` / :func:`subscription_cancelled`: manage subscriptions.
- :func:`run_scheduled_jobs`: deadline reminders, stale recommendations, digests.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from contracts.events import (
    Channel,
    Contract,
    CycleDeadlineSetV1,
    EventEnvelope,
    EvidenceAddedV1,
    EvidenceReviewedV1,
    EvidenceReviewedV2,
    NotificationDeliveredV1,
    NotificationFailedV1,
    NotificationRequestedV1,
    RecommendationUpdatedV1,
    ReviewState,
    SubscriptionCancelledV1,
    SubscriptionRequestedV1,
    ThemesTaggedV1,
)
from contracts.messaging import Rejected
from contracts.observability import DELIVERY_LATENCY
from services.notifier.adapters.email import PermanentEmailError, build_message
from services.notifier.adapters.mongo import MongoNotifierRepository
from services.notifier.adapters.templates import EmailTemplates
from services.notifier.adapters.tokens import InvalidToken, subscription_from_token, unsubscribe_url
from services.notifier.domain import schedule
from services.notifier.domain.alerts import Alert, AlertKind, EvidenceFacts, alerts_for
from services.notifier.domain.deliveries import (
    DeliveryStatus,
    backoff_delays,
    delivery_id,
    digest_id,
    is_success,
    should_send,
)
from services.notifier.domain.endpoints import UnsafeEndpoint
from services.notifier.domain.subscriptions import (
    ACTIVE,
    CANCELLED,
    FAILING,
    InvalidSubscription,
    NotAllowed,
    RecommendationFacts,
    Subscription,
    check_may_manage,
    check_request,
    matching,
    subscription_from,
)

log = logging.getLogger("upr.notifier")

DIGEST = "digest"


class Mailer(Protocol):
    async def send(self, message: Any) -> None: ...


class WebhookResponseLike(Protocol):
    @property
    def status_code(self) -> int: ...


class Webhooks(Protocol):
    async def check(self, url: str) -> None: ...

    async def post(
        self, url: str, secret: str, body: bytes, *, delivery_id: str, event_type: str,
        extra_headers: dict[str, str] | None = None,
    ) -> WebhookResponseLike: ...


# (payload, key, event id or None): publishes a notification.* event on topics.notifications.
Publish = Callable[[Contract, str, str | None], Awaitable[None]]


@dataclass(frozen=True)
class Policy:
    """The settings the handlers act on (from NotifierSettings)."""

    secret: str
    public_ui_url: str
    smtp_from: str
    public_notifier_url: str = "http://127.0.0.1:8003"
    attempts: int = 4
    retry_base_s: float = 1.0
    retry_cap_s: float = 30.0
    digest_hour_utc: int = 7
    digest_weekday: int = 0
    reminder_days: tuple[int, ...] = schedule.DEFAULT_REMINDER_DAYS
    subscriptions_refresh_s: float = 5.0


@dataclass
class Deps:
    repo: MongoNotifierRepository
    mailer: Mailer
    webhooks: Webhooks
    templates: EmailTemplates
    publish: Publish
    policy: Policy
    clock: Callable[[], datetime]
    random: Callable[[], float]
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _subscriptions: list[Subscription] = field(default_factory=list)
    _loaded_at: float = -1e9

    async def subscriptions(self) -> list[Subscription]:
        """Live subscriptions, cached briefly (other notifier instances may change them)."""
        if time.monotonic() - self._loaded_at > self.policy.subscriptions_refresh_s:
            docs = await self.repo.live_subscriptions()
            self._subscriptions = [subscription_from(d) for d in docs]
            self._loaded_at = time.monotonic()
        return self._subscriptions

    def forget_subscriptions(self) -> None:
        self._loaded_at = -1e9


# --- subscriptions ---------------------------------------------------------------------


async def subscription_requested(envelope: EventEnvelope, payload: SubscriptionRequestedV1, deps: Deps) -> str:
    existing = await deps.repo.subscription(payload.subscription_id)
    try:
        if existing is not None:  # changing someone's subscription needs the right to manage it
            check_may_manage(envelope.actor, Channel(existing["channel"]), str(existing["owner"]),
                             str(existing["owner"]))
        check_may_manage(envelope.actor, payload.channel, payload.owner,
                         None if existing is None else str(existing["owner"]))
        check_request(payload)
        if payload.webhook_url:
            await deps.webhooks.check(payload.webhook_url)
    except (NotAllowed, InvalidSubscription, UnsafeEndpoint) as exc:
        raise Rejected(f"subscription {payload.subscription_id}: {exc}") from None
    actor = envelope.actor.model_dump(mode="json") if envelope.actor else None
    fields: dict[str, Any] = {
        **payload.model_dump(mode="json"), "status": ACTIVE, "updated_at": deps.clock(), "updated_by": actor,
        "last_error": None,
    }
    if payload.channel == Channel.WEBHOOK:
        # Generated once and kept when the subscription is replaced; `upr subscriptions add` shows it.
        fields["secret"] = (existing or {}).get("secret") or secrets.token_urlsafe(32)
    await deps.repo.save_subscription(payload.subscription_id, fields,
                                      {"created_at": deps.clock(), "created_by": actor})
    deps.forget_subscriptions()
    return "updated" if existing else "created"


async def unsubscribe_by_token(token: str, deps: Deps) -> str:
    """The signed link in an email: cancels that one subscription, no login needed."""
    subscription_id = subscription_from_token(deps.policy.secret, token)
    existing = await deps.repo.subscription(subscription_id)
    if existing is None:
        raise InvalidToken("this subscription no longer exists")
    if existing.get("status") != CANCELLED:
        await deps.repo.set_subscription(subscription_id, {"status": CANCELLED, "cancelled_at": deps.clock(),
                                                           "cancelled_by": "unsubscribe link"})
        deps.forget_subscriptions()
    return subscription_id


async def subscription_cancelled(envelope: EventEnvelope, payload: SubscriptionCancelledV1, deps: Deps) -> str:
    existing = await deps.repo.subscription(payload.subscription_id)
    if existing is None:
        raise Rejected(f"unknown subscription {payload.subscription_id}")
    try:
        check_may_manage(envelope.actor, Channel(existing["channel"]), str(existing["owner"]),
                         str(existing["owner"]))
    except NotAllowed as exc:
        raise Rejected(f"subscription {payload.subscription_id}: {exc}") from None
    await deps.repo.set_subscription(payload.subscription_id, {"status": CANCELLED, "cancelled_at": deps.clock()})
    deps.forget_subscriptions()
    return "cancelled"


# --- tracker events ---------------------------------------------------------------------


async def tracker_event(envelope: EventEnvelope, payload: Contract, body: bytes, deps: Deps) -> str:
    evidence = await _update_projection(envelope, payload, deps)
    alerts = alerts_for(envelope.event_id, envelope.type, payload, evidence)
    if not alerts:
        return "ignored"
    subscriptions = await deps.subscriptions()
    recommendations: dict[str, RecommendationFacts] = {}
    if any(s.themes or s.cycles for s in subscriptions):  # only theme and cycle filters need the projection
        rec_ids = {r for alert in alerts for r in alert.recommendation_ids}
        recommendations = _facts(await deps.repo.recommendations(rec_ids))
    queued = 0
    for alert in alerts:
        for subscription in matching(subscriptions, alert, recommendations):
            queued += await queue_delivery(deps, subscription, alert, envelope, body)
    return "matched" if queued else "no_match"


async def _update_projection(envelope: EventEnvelope, payload: Contract, deps: Deps) -> dict[str, EvidenceFacts]:
    at = envelope.occurred_at
    repo = deps.repo
    if isinstance(payload, RecommendationUpdatedV1):
        await repo.note_recommendation(payload.recommendation_id,
                                       {"cycle": payload.cycle, "themes": list(payload.themes)}, at)
    elif isinstance(payload, ThemesTaggedV1):
        await repo.note_recommendation(payload.recommendation_id, {"themes": [t.id for t in payload.themes]}, at)
    elif isinstance(payload, EvidenceAddedV1):
        if payload.review_state == ReviewState.APPROVED:
            await repo.note_evidence_time(payload.recommendation_ids, at)
        else:  # remembered to be announced if a reviewer approves it
            await repo.save_evidence(payload.evidence_id, {
                "recommendation_ids": payload.recommendation_ids, "title": payload.title,
                "review_state": payload.review_state.value})
    elif isinstance(payload, EvidenceReviewedV2):  # carries what the alert needs
        await repo.save_evidence(payload.evidence_id, {
            "recommendation_ids": payload.recommendation_ids, "title": payload.title, "review_state": payload.decision})
        if payload.decision == "approved":
            await repo.note_evidence_time(payload.recommendation_ids, at)
        return {payload.evidence_id: EvidenceFacts(payload.evidence_id, tuple(payload.recommendation_ids),
                                                   payload.title, payload.decision)}
    elif isinstance(payload, EvidenceReviewedV1):
        doc = await repo.evidence(payload.evidence_id)
        if doc is None:
            log.warning("evidence %s reviewed but never seen added: no alert", payload.evidence_id)
            return {}
        await repo.save_evidence(payload.evidence_id, {"review_state": payload.decision})
        if payload.decision == "approved":
            await repo.note_evidence_time(doc["recommendation_ids"], at)
        return {payload.evidence_id: EvidenceFacts(payload.evidence_id, tuple(doc["recommendation_ids"]),
                                                   str(doc.get("title", "")), payload.decision)}
    elif isinstance(payload, CycleDeadlineSetV1):
        deadline = f"{payload.country}-{payload.cycle}-{payload.milestone}"
        await repo.save_deadline(deadline, {
            **payload.model_dump(mode="json"), "event_id": str(envelope.event_id), "body": envelope.model_dump_json(),
        })
    return {}


def _facts(docs: Mapping[str, Mapping[str, Any]]) -> dict[str, RecommendationFacts]:
    return {
        rec_id: RecommendationFacts(rec_id, doc.get("cycle"), frozenset(doc.get("themes") or []))
        for rec_id, doc in docs.items()
    }


async def queue_delivery(
    deps: Deps, subscription: Subscription, alert: Alert, trigger: EventEnvelope | None, body: bytes,
    *, digest: bool | None = None,
) -> int:
    """Log the delivery (unique id) and, unless it waits for a digest, ask for it to be sent.
    Returns 1 when a delivery is (still) pending, 0 when it had already gone out."""
    did = delivery_id(alert.key, subscription.subscription_id, subscription.channel)
    for_digest = subscription.is_digest if digest is None else digest
    status = DeliveryStatus.QUEUED_FOR_DIGEST if for_digest else DeliveryStatus.QUEUED
    doc: dict[str, Any] = {
        "_id": did, "subscription_id": subscription.subscription_id, "channel": subscription.channel.value,
        "kind": alert.kind.value, "alert_key": alert.key, "recommendation_ids": list(alert.recommendation_ids),
        "details": alert.details, "trigger_event_id": str(trigger.event_id) if trigger else None,
        "trigger_type": trigger.type if trigger else alert.kind.value, "trigger_body": body.decode("utf-8"),
        "occurred_at": trigger.occurred_at if trigger else deps.clock(), "status": status.value,
        "attempts": [], "attempt_count": 0, "created_at": deps.clock(), "digest_id": None,
    }
    if not await deps.repo.add_delivery(doc):
        stored = await deps.repo.delivery(did) or {}
        status = DeliveryStatus(stored.get("status", status))
        # Re-ask only for a delivery a crash may have left unsent; a failed one waits for a replay.
        if status != DeliveryStatus.QUEUED:
            return 0
    if status != DeliveryStatus.QUEUED_FOR_DIGEST:
        await request_delivery(deps, did, subscription, doc["trigger_event_id"] or alert.key, doc["trigger_type"])
    return 1


async def request_delivery(
    deps: Deps, did: str, subscription: Subscription, trigger_id: str, trigger_type: str
) -> None:
    request = NotificationRequestedV1(delivery_id=did, subscription_id=subscription.subscription_id,
                                      channel=subscription.channel, trigger_event_id=trigger_id,
                                      trigger_type=trigger_type)
    await deps.publish(request, did, None)


# --- sending ----------------------------------------------------------------------------


async def deliver(request: NotificationRequestedV1, deps: Deps) -> str:
    did = request.delivery_id
    delivery = await deps.repo.delivery(did)
    if delivery is None:
        raise Rejected(f"delivery {did} is not in the delivery log")
    if not should_send(delivery.get("status")):
        return "duplicate"
    stored = await deps.repo.subscription(str(delivery["subscription_id"]))
    if stored is None or stored.get("status") == CANCELLED:
        await deps.repo.set_delivery(did, {"status": DeliveryStatus.SKIPPED.value})
        return "skipped"
    subscription = subscription_from(stored)
    items = [delivery]
    if delivery["kind"] == DIGEST:
        items = await deps.repo.deliveries({"digest_id": did, "status": DeliveryStatus.QUEUED_FOR_DIGEST.value})
        if not items:
            await deps.repo.set_delivery(did, {"status": DeliveryStatus.SKIPPED.value})
            return "skipped"

    policy = deps.policy
    delays = backoff_delays(policy.attempts, policy.retry_base_s, policy.retry_cap_s, deps.random)
    error = ""
    for attempt in range(policy.attempts):
        started = time.perf_counter()
        code: int | None = None
        permanent = False
        try:
            code = await _send_once(deps, subscription, delivery, items, stored)
            error = "" if is_success(code) else f"HTTP {code}"
        except PermanentEmailError as exc:
            error, permanent = str(exc), True
        except UnsafeEndpoint as exc:
            error, permanent = f"endpoint refused: {exc}", True
        except Exception as exc:  # network errors, timeouts, SMTP down: worth another try
            error = f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
        latency_ms = (time.perf_counter() - started) * 1000
        record = {"status": "ok" if not error else "error", "response_code": code,
                  "latency_ms": round(latency_ms, 1), "error": error or None, "at": deps.clock()}
        if not error:
            # Record success at once: this write is the only thing between the receiver having the
            # alert and the log knowing it; shielded so a shutdown cannot cancel it half-way.
            await asyncio.shield(_delivered(deps, delivery, items, subscription, record, attempt + 1))
            return "delivered"
        await deps.repo.record_attempt(did, record)
        log.warning("delivery %s attempt %d/%d failed: %s", did, attempt + 1, policy.attempts, error)
        if permanent or attempt == policy.attempts - 1:
            break
        await deps.sleep(delays[attempt])
    await _failed(deps, delivery, subscription, error, len(delivery.get("attempts", [])) + attempt + 1)
    raise Rejected(f"delivery {did} to subscription {subscription.subscription_id} failed: {error}")


async def _send_once(
    deps: Deps, subscription: Subscription, delivery: Mapping[str, Any], items: Sequence[Mapping[str, Any]],
    stored: Mapping[str, Any],
) -> int:
    did = str(delivery["_id"])
    if subscription.channel == Channel.WEBHOOK:
        assert subscription.webhook_url is not None
        body = str(delivery["trigger_body"]).encode("utf-8")
        response = await deps.webhooks.post(
            subscription.webhook_url, str(stored.get("secret", "")), body, delivery_id=did,
            event_type=str(delivery["trigger_type"]), extra_headers={"X-UPR-Alert-Kind": str(delivery["kind"])},
        )
        return response.status_code
    assert subscription.email is not None
    policy = deps.policy
    link = unsubscribe_url(policy.public_notifier_url, policy.secret, subscription.subscription_id)
    digest = delivery["kind"] == DIGEST
    rendered = deps.templates.render(
        language=subscription.language, subscription_id=subscription.subscription_id, unsubscribe_url=link,
        digest=digest, frequency=str(delivery.get("details", {}).get("frequency", "daily")),
        items=[{**item, "url": _item_url(policy.public_ui_url, item)} for item in items],
    )
    await deps.mailer.send(build_message(policy.smtp_from, subscription.email, rendered, delivery_id=did,
                                         unsubscribe_url=link))
    return 250


def _item_url(base: str, item: Mapping[str, Any]) -> str:
    recs = list(item.get("recommendation_ids") or [])
    return f"{base.rstrip('/')}/?recommendation={recs[0]}" if recs else base


async def _delivered(
    deps: Deps, delivery: Mapping[str, Any], items: Sequence[Mapping[str, Any]], subscription: Subscription,
    record: dict[str, Any], attempts: int,
) -> None:
    did = str(delivery["_id"])
    now = deps.clock()
    await deps.repo.record_attempt(did, record, {"status": DeliveryStatus.DELIVERED.value, "delivered_at": now})
    if delivery["kind"] == DIGEST:
        await deps.repo.set_deliveries([str(i["_id"]) for i in items],
                                       {"status": DeliveryStatus.DELIVERED.value, "delivered_at": now})
    if subscription.status == FAILING:
        await deps.repo.set_subscription(subscription.subscription_id, {"status": ACTIVE, "last_error": None})
        deps.forget_subscriptions()
    occurred = delivery.get("occurred_at")
    latency_s = (now - occurred).total_seconds() if isinstance(occurred, datetime) else 0.0
    DELIVERY_LATENCY.labels(subscription.channel.value).observe(max(latency_s, 0.0))
    await deps.publish(NotificationDeliveredV1(
        delivery_id=did, subscription_id=subscription.subscription_id, channel=subscription.channel,
        trigger_event_id=str(delivery.get("trigger_event_id") or delivery.get("alert_key", "")),
        attempts=attempts, latency_ms=round(latency_s * 1000, 1),
    ), did, None)


async def _failed(
    deps: Deps, delivery: Mapping[str, Any], subscription: Subscription, error: str, attempts: int
) -> None:
    did = str(delivery["_id"])
    await deps.repo.set_delivery(did, {"status": DeliveryStatus.FAILED.value, "last_error": error,
                                       "failed_at": deps.clock()})
    if subscription.channel == Channel.WEBHOOK:
        await deps.repo.set_subscription(subscription.subscription_id, {
            "status": FAILING, "last_error": error, "failing_since": deps.clock()})
        deps.forget_subscriptions()
    await deps.publish(NotificationFailedV1(
        delivery_id=did, subscription_id=subscription.subscription_id, channel=subscription.channel,
        trigger_event_id=str(delivery.get("trigger_event_id") or delivery.get("alert_key", "")),
        attempts=attempts, error=error[:2000], dead_lettered=True,
    ), did, None)


# --- scheduled jobs ---------------------------------------------------------------------


async def run_scheduled_jobs(now: datetime, deps: Deps) -> dict[str, int]:
    """Everything the clock triggers, idempotent: running it twice at the same moment (or on
    two instances) queues nothing new, because every delivery id is deterministic."""
    subscriptions = [s for s in await deps.subscriptions() if s.status != CANCELLED]
    return {
        "deadline_reminders": await _deadline_reminders(now, subscriptions, deps),
        "stale_alerts": await _stale_recommendations(now, subscriptions, deps),
        "digests": await _digests(now, subscriptions, deps),
    }


async def _deadline_reminders(now: datetime, subscriptions: Sequence[Subscription], deps: Deps) -> int:
    wanting = [s for s in subscriptions if AlertKind.DEADLINE in s.event_kinds]
    if not wanting:
        return 0
    queued = 0
    for deadline in await deps.repo.deadlines():
        due_on = date.fromisoformat(str(deadline["due_on"]))
        days = schedule.reminder_due(due_on, now.date(), deps.policy.reminder_days)
        if days is None:
            continue
        alert = Alert(
            AlertKind.DEADLINE, f"deadline:{deadline['_id']}:{due_on.isoformat()}:{days}", (),
            {"milestone": str(deadline["milestone"]), "due_on": due_on.isoformat(), "cycle": str(deadline["cycle"]),
             "country": str(deadline["country"]), "days_before": str(days),
             "days_left": str((due_on - now.date()).days)},
            cycle=int(deadline["cycle"]),
        )
        trigger = EventEnvelope.model_validate_json(deadline["body"]) if deadline.get("body") else None
        for subscription in matching(wanting, alert, {}):
            queued += await queue_delivery(deps, subscription, alert, trigger,
                                           str(deadline.get("body", "")).encode(), digest=False)
    return queued


async def _stale_recommendations(now: datetime, subscriptions: Sequence[Subscription], deps: Deps) -> int:
    wanting = [s for s in subscriptions if AlertKind.STALE in s.event_kinds and s.channel == Channel.EMAIL]
    if not wanting:
        return 0
    queued = 0
    docs = await deps.repo.all_recommendations()
    facts = _facts({str(d["_id"]): d for d in docs})
    for doc in docs:
        since = schedule.stale_since(doc.get("last_evidence_at"), doc.get("first_seen_at"))
        if since is None:
            continue
        rec_id = str(doc["_id"])
        # One alert per quiet spell: new evidence starts a new spell, hence a new key.
        alert = Alert(AlertKind.STALE, f"stale:{rec_id}:{since.isoformat()}", (rec_id,),
                      {"days": str((now - since).days), "since": since.date().isoformat()})
        for subscription in matching(wanting, alert, facts):
            if schedule.is_stale(since, now, subscription.stale_after_days):
                # Quiet recommendations come in bundles (the subscription's digest, daily at least).
                queued += await queue_delivery(deps, subscription, alert, None, b"", digest=True)
    return queued


async def _digests(now: datetime, subscriptions: Sequence[Subscription], deps: Deps) -> int:
    sent = 0
    policy = deps.policy
    for subscription in subscriptions:
        if subscription.channel != Channel.EMAIL:
            continue
        frequency = subscription.frequency if subscription.is_digest else "daily"
        due = schedule.latest_digest_time(frequency, now, policy.digest_hour_utc, policy.digest_weekday)
        period = schedule.digest_period(frequency, now, policy.digest_hour_utc, policy.digest_weekday)
        did = digest_id(subscription.subscription_id, period)
        existing = await deps.repo.delivery(did)
        if existing is not None and existing.get("status") != "assembling":
            if existing.get("status") == DeliveryStatus.QUEUED.value and \
                    deps.clock() - existing["created_at"] > timedelta(minutes=10):
                await request_delivery(deps, did, subscription, did, DIGEST)  # the request was lost
            continue
        waiting = await deps.repo.deliveries({
            "subscription_id": subscription.subscription_id,
            "status": DeliveryStatus.QUEUED_FOR_DIGEST.value, "digest_id": None, "created_at": {"$lte": due}})
        if existing is None:
            if not waiting:
                continue
            # "assembling" first: a crash between creating the digest and filling it is resumed next run.
            await deps.repo.add_delivery({
                "_id": did, "subscription_id": subscription.subscription_id, "channel": Channel.EMAIL.value,
                "kind": DIGEST, "alert_key": f"digest:{period}", "recommendation_ids": [],
                "details": {"frequency": frequency, "period": period}, "trigger_event_id": None,
                "trigger_type": DIGEST, "trigger_body": "", "occurred_at": due, "status": "assembling",
                "attempts": [], "attempt_count": 0, "created_at": deps.clock(), "digest_id": None,
            })
        await deps.repo.set_deliveries([str(d["_id"]) for d in waiting], {"digest_id": did})
        await deps.repo.set_delivery(did, {"status": DeliveryStatus.QUEUED.value})
        await request_delivery(deps, did, subscription, did, DIGEST)
        sent += 1
    return sent
