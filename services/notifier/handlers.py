"""What the notifier does with each message, plus the scheduled jobs. Sending lives in
``dispatcher.py``, the batch plumbing in ``inbox.py``.

- :func:`tracker_events`: a batch of tracker events keeps the notifier's projection up to
  date (one bulk write per collection), turns each event into alerts and logs one delivery
  per matching subscription (deterministic ids, one bulk insert): those new and immediate
  are then handed to this process's dispatcher, which sends them, and announced
  (``notification.requested``).
- :func:`subscription_requested` / :func:`subscription_cancelled`: manage subscriptions.
- :func:`send_once`: one attempt at one delivery (email or signed webhook).
- :func:`run_scheduled_jobs`: deadline reminders, stale recommendations, digests.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from pymongo import UpdateOne

from contracts.events import (
    Channel,
    Contract,
    CycleDeadlineSetV1,
    EventEnvelope,
    EvidenceAddedV1,
    EvidenceReviewedV1,
    EvidenceReviewedV2,
    NotificationRequestedV1,
    RecommendationUpdatedV1,
    ReviewState,
    Role,
    SubscriptionCancelledV1,
    SubscriptionRequestedV1,
    SubscriptionRequestedV2,
    SubscriptionRequestedV3,
    ThemesTaggedV1,
    Visibility,
)
from contracts.messaging import Rejected
from contracts.telegram import TOKEN as TELEGRAM_TOKEN
from contracts.telegram import link_hash
from contracts.webhook_secrets import SecretBox
from services.notifier.adapters.email import build_message
from services.notifier.adapters.templates import EmailTemplates
from services.notifier.adapters.tokens import (
    InvalidToken,
    confirmation_from_token,
    confirmation_url,
    subscription_from_token,
    unsubscribe_url,
)
from services.notifier.domain import schedule
from services.notifier.domain.alerts import Alert, AlertKind, EvidenceFacts, alerts_for
from services.notifier.domain.deliveries import (
    DeliveryStatus,
    Holder,
    delivery_id,
    digest_id,
)
from services.notifier.domain.endpoints import UnsafeEndpoint
from services.notifier.domain.links import alert_url, evidence_links, recommendation_links, webhook_body
from services.notifier.domain.subscriptions import (
    ACTIVE,
    CANCELLED,
    LIVE,
    PENDING,
    InvalidSubscription,
    NotAllowed,
    RecommendationFacts,
    Subscription,
    audience_for,
    check_may_manage,
    check_request,
    matching,
    owner_role,
    single_address,
    subscription_from,
)
from services.notifier.repository import NotifierRepository

log = logging.getLogger("upr.notifier")

DIGEST = "digest"
CONFIRMATION = "confirmation"  # the double opt-in email of a new address


class Mailer(Protocol):
    async def send(self, message: Any) -> None: ...


class WebhookResponseLike(Protocol):
    @property
    def status_code(self) -> int: ...


class Telegram(Protocol):
    async def send(self, chat_id: int, text: str) -> None: ...


class Webhooks(Protocol):
    async def check(self, url: str) -> None: ...

    async def post(
        self, url: str, secret: str, body: bytes, *, delivery_id: str, event_type: str,
        extra_headers: dict[str, str] | None = None,
    ) -> WebhookResponseLike: ...


# (payload, key) -> publishes a notification.requested on topics.notifications without waiting;
# the returned awaitable completes when the broker has it (await many at once: one flush).
Publish = Callable[[Contract, str], Awaitable[Awaitable[Any]]]
# Deliveries just logged by this process, reserved for it: send them.
Dispatch = Callable[[Sequence[dict[str, Any]]], Awaitable[None]]


async def _not_sent_here(docs: Sequence[dict[str, Any]]) -> None:
    """Without a dispatcher, logged deliveries wait for the consumer of their request."""


@dataclass(frozen=True)
class Policy:
    """The settings the handlers act on (from NotifierSettings)."""

    secret: str
    public_ui_url: str
    smtp_from: str
    public_notifier_url: str = "http://127.0.0.1:8003"
    telegram_link_max_age_s: float = 86_400
    attempts: int = 4
    retry_base_s: float = 1.0
    retry_cap_s: float = 30.0
    digest_hour_utc: int = 7
    digest_weekday: int = 0
    reminder_days: tuple[int, ...] = schedule.DEFAULT_REMINDER_DAYS
    subscriptions_refresh_s: float = 5.0
    lease_s: float = 30.0  # how long a queued delivery is reserved for the consumer of its request
    unsubscribe_max_age_s: float = 90 * 86_400
    confirm_max_age_s: float = 3 * 86_400


@dataclass
class Deps:
    repo: NotifierRepository
    mailer: Mailer
    webhooks: Webhooks
    templates: EmailTemplates
    publish: Publish
    policy: Policy
    clock: Callable[[], datetime]
    random: Callable[[], float]
    # Who holds the deliveries this process logs (the dispatcher's token: it sends them at
    # once), and the hand-over to the dispatcher. Without one: whoever consumes the request.
    holder: str = Holder.REQUEST.value
    dispatch: Dispatch = _not_sent_here
    # Opens the webhook secrets stored encrypted (without one, only secrets stored in clear work).
    secret_box: SecretBox | None = None
    # Sends Telegram alerts; None when no bot token is set (the channel is off).
    telegram: Telegram | None = None
    _subscriptions: list[Subscription] = field(default_factory=list)
    _subscription_docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    _loaded_at: float = -1e9
    _refreshing: asyncio.Task[None] | None = None

    async def subscriptions(self) -> list[Subscription]:
        """Live subscriptions, cached briefly (other notifier instances may change them). An
        expired cache is refreshed in the background, so matching and sending never wait for
        it; one this process changed (forget_subscriptions), or none yet, is loaded at once."""
        age = time.monotonic() - self._loaded_at
        if age > self.policy.subscriptions_refresh_s:
            if age > 1e8 or self.policy.subscriptions_refresh_s <= 0:
                await self._load_subscriptions()
            elif self._refreshing is None or self._refreshing.done():
                self._refreshing = asyncio.create_task(self._load_subscriptions())
        return self._subscriptions

    async def _load_subscriptions(self) -> None:
        try:
            docs = await self.repo.live_subscriptions()
        except Exception as exc:
            if self._loaded_at < 0:
                raise
            log.warning("could not refresh the subscriptions, using the ones loaded before: %r", exc)
            return
        self._subscriptions = [subscription_from(d) for d in docs]
        self._subscription_docs = {str(d["_id"]): d for d in docs}
        self._loaded_at = time.monotonic()

    async def subscription_docs(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Stored subscriptions (with their secrets) by id, from the cache when it has them;
        cancelled or unknown ones are absent."""
        await self.subscriptions()
        wanted = set(ids)
        found = {i: self._subscription_docs[i] for i in wanted if i in self._subscription_docs}
        missing = wanted - set(found)
        if missing:  # created after the cache was loaded (another instance), or cancelled
            for sid, doc in (await self.repo.subscriptions_by_id(missing)).items():
                if doc.get("status") != CANCELLED:
                    found[sid] = doc
        return found

    def forget_subscriptions(self) -> None:
        self._loaded_at = -1e9


# --- subscriptions ---------------------------------------------------------------------


async def subscription_requested(envelope: EventEnvelope, payload: SubscriptionRequestedV1, deps: Deps) -> str:
    existing = await deps.repo.subscription(payload.subscription_id)
    coalition_partner = isinstance(payload, SubscriptionRequestedV2) and payload.coalition_partner
    telegram_link = payload.telegram_link_hash if isinstance(payload, SubscriptionRequestedV3) else None
    try:
        if existing is not None:  # changing someone's subscription needs the right to manage it
            check_may_manage(envelope.actor, Channel(existing["channel"]), str(existing["owner"]),
                             str(existing["owner"]))
        check_may_manage(envelope.actor, payload.channel, payload.owner,
                         None if existing is None else str(existing["owner"]))
        check_request(payload)
        if coalition_partner and payload.channel == Channel.EMAIL:
            raise InvalidSubscription("only a webhook or an admin's Telegram group can be marked coalition_partner")
        if coalition_partner and (envelope.actor is None or envelope.actor.role != Role.ADMIN):
            raise InvalidSubscription("only an admin marks a subscription coalition_partner")
        if payload.webhook_url:
            await deps.webhooks.check(payload.webhook_url)
    except (NotAllowed, InvalidSubscription, UnsafeEndpoint) as exc:
        raise Rejected(f"subscription {payload.subscription_id}: {exc}") from None
    assert envelope.actor is not None  # check_may_manage refuses a command without one
    role = owner_role(envelope.actor, payload.owner)
    fields: dict[str, Any] = {
        **payload.model_dump(mode="json"), "updated_at": deps.clock(),
        "updated_by": envelope.actor.model_dump(mode="json"), "last_error": None,
        # What its alerts may carry, decided now from who asked (issue 13: alerts respect visibility).
        "owner_role": role.value, "audience": audience_for(payload.channel, role, coalition_partner),
        "coalition_partner": coalition_partner,
    }
    confirm: str | None = None
    if payload.channel == Channel.TELEGRAM:
        fields.update(_telegram_fields(payload, existing, telegram_link, envelope.actor, deps))
    elif payload.channel == Channel.EMAIL:
        fields["email"] = address = single_address(payload.email)
        confirmed = (existing is not None and existing.get("status") in LIVE
                     and existing.get("email") == address)
        fields["status"] = str(existing["status"]) if confirmed and existing else PENDING
        confirm = None if confirmed else address
    else:
        fields["status"] = ACTIVE
        # Generated once and kept when the subscription is replaced; `upr subscriptions add`
        # shows it. Stored encrypted (a legacy one in clear is encrypted now).
        sealed = (existing or {}).get("secret_enc")
        if not sealed:
            secret = str((existing or {}).get("secret") or secrets.token_urlsafe(32))
            sealed = _box(deps).seal(secret)
        fields["secret_enc"], fields["secret"] = sealed, None
    await deps.repo.save_subscription(payload.subscription_id, fields,
                                      {"created_at": deps.clock(), "created_by": fields["updated_by"]})
    deps.forget_subscriptions()
    if confirm is not None:
        await _queue_confirmation(deps, envelope, payload.subscription_id, confirm)
    return "updated" if existing else "created"


def _telegram_fields(payload: SubscriptionRequestedV1, existing: Mapping[str, Any] | None, link: str | None,
                     actor: Any, deps: Deps) -> dict[str, Any]:
    """A new link waits for ``/start <token>``; without one, a linked chat stays linked (the
    filters change). A person's own subscription links only their private chat with the bot."""
    linked = existing is not None and existing.get("telegram_chat_id") is not None and existing.get("status") in LIVE
    if link is None:
        if not linked or existing is None:
            raise Rejected(f"subscription {payload.subscription_id}: a Telegram subscription needs a link "
                           "(telegram_link_hash), made on the Subscriptions page")
        return {"status": str(existing["status"])}
    return {"status": PENDING, "telegram_link_hash": link, "telegram_chat_id": None,
            "telegram_link_expires_at": deps.clock() + timedelta(seconds=deps.policy.telegram_link_max_age_s),
            "telegram_private_only": actor is None or actor.username == payload.owner}


async def telegram_start(repo: NotifierRepository, token: str, chat_id: int, chat_type: str,
                         now: datetime) -> str:
    """A chat sent the bot ``/start <token>``: link it to the subscription waiting for that token
    (once: the token is spent). Returns the subscription id; InvalidToken says why not."""
    if not TELEGRAM_TOKEN.match(token or ""):
        raise InvalidToken("this is not a link from UPR Tracker: make one on the Subscriptions page")
    doc = await repo.subscription_waiting_for_link(link_hash(token))
    if doc is None or doc.get("status") != PENDING:
        raise InvalidToken("this link was used already or replaced: make a new one on the Subscriptions page")
    expires = doc.get("telegram_link_expires_at")
    if isinstance(expires, datetime) and expires < now:
        raise InvalidToken("this link has expired: make a new one on the Subscriptions page")
    if doc.get("telegram_private_only", True) and chat_type != "private":
        raise InvalidToken("this link is for your own chat with the bot; groups and channels are linked by an admin")
    if not await repo.link_telegram_chat(str(doc["_id"]), link_hash(token), chat_id, now):
        raise InvalidToken("this link was used already: make a new one on the Subscriptions page")
    return str(doc["_id"])


async def telegram_stop(repo: NotifierRepository, chat_id: int, now: datetime) -> int:
    """``/stop`` in a chat: every subscription sending to it is cancelled."""
    return await repo.cancel_telegram_chat(chat_id, now)


def _box(deps: Deps) -> SecretBox:
    if deps.secret_box is None:
        raise RuntimeError("the notifier has no key for webhook secrets (UPR_NOTIFIER_SECRETS_KEY)")
    return deps.secret_box


def webhook_secret(deps: Deps, stored: Mapping[str, Any]) -> str:
    """A stored subscription's signing secret, decrypted."""
    if deps.secret_box is None:
        return str(stored.get("secret") or "")
    return deps.secret_box.secret_of(stored)


async def _queue_confirmation(deps: Deps, envelope: EventEnvelope, subscription_id: str, address: str) -> None:
    """Log the confirmation email of a new address (double opt-in) and send it like an alert:
    retried, and once only for one request (its id derives from the command's)."""
    alert_key = f"confirm:{envelope.event_id}"
    now = deps.clock()
    doc = {
        "_id": delivery_id(alert_key, subscription_id, Channel.EMAIL), "subscription_id": subscription_id,
        "channel": Channel.EMAIL.value, "kind": CONFIRMATION, "alert_key": alert_key, "recommendation_ids": [],
        "details": {"email": address}, "trigger_event_id": str(envelope.event_id),
        "trigger_type": envelope.type, "trigger_body": "", "occurred_at": now,
        "status": DeliveryStatus.QUEUED.value, "attempt_count": 0, "round_attempts": 0, "created_at": now,
        "digest_id": None, "holder": deps.holder,
        "next_attempt_at": truncate_ms(now + timedelta(seconds=deps.policy.lease_s)),
    }
    if await deps.repo.add_delivery(doc):
        await hand_over(deps, [doc])


async def confirm_by_token(token: str, deps: Deps) -> str:
    """The link in a confirmation email: the address is confirmed, alerts may go to it."""
    subscription_id, address = confirmation_from_token(deps.policy.secret, token, deps.policy.confirm_max_age_s)
    existing = await deps.repo.subscription(subscription_id)
    if existing is None or existing.get("status") == CANCELLED:
        raise InvalidToken("this subscription no longer exists")
    if existing.get("email") != address:
        raise InvalidToken("this subscription's address has changed since: use the link sent to the new address")
    if existing.get("status") == PENDING:
        await deps.repo.set_subscription(subscription_id, {"status": ACTIVE, "confirmed_at": deps.clock()})
        deps.forget_subscriptions()
    return subscription_id


async def unsubscribe_by_token(token: str, deps: Deps) -> str:
    """The signed link in an email: cancels that one subscription, no login needed."""
    subscription_id = subscription_from_token(deps.policy.secret, token, deps.policy.unsubscribe_max_age_s)
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


@dataclass(frozen=True)
class TrackerEvent:
    """One consumed tracker event: envelope, typed payload and the bytes as published."""

    envelope: EventEnvelope
    payload: Contract
    body: bytes


async def tracker_events(events: Sequence[TrackerEvent], deps: Deps) -> tuple[list[str], list[dict[str, Any]]]:
    """A batch of tracker events, in order: update the projection, match, log deliveries.

    Idempotent by construction (upserts, ``$max``, deterministic delivery ids), so a
    redelivered batch needs no receipts. Returns each event's outcome (for metrics) and the
    deliveries logged now that are to be sent at once (not digests, not logged before)."""
    repo = deps.repo
    subscriptions = await deps.subscriptions()
    wants_facts = any(s.themes or s.cycles for s in subscriptions)  # only these filters need the facts
    # Reviewed evidence: what was remembered when it was added (its title for v1, and its
    # safeguarding flags, which no review event carries).
    reviewed = {e.payload.evidence_id for e in events if isinstance(e.payload, EvidenceReviewedV1 | EvidenceReviewedV2)}
    # One read of what the batch is about: writes that would change nothing are then left out.
    projection = _BatchProjection(
        await repo.recommendations(_recommendation_ids(events)),
        await repo.evidence_many(reviewed) if reviewed else {},
    )
    outcomes: list[str] = []
    deliveries: dict[str, dict[str, Any]] = {}
    for event in events:
        evidence = projection.apply(event.envelope, event.payload)
        alerts = alerts_for(event.envelope.event_id, event.envelope.type, event.payload, evidence)
        if not alerts:
            outcomes.append("ignored")
            continue
        matched = 0
        for alert in alerts:
            facts = projection.facts(alert.recommendation_ids) if wants_facts else {}
            for subscription in matching(subscriptions, alert, facts):
                doc = delivery_doc(deps, subscription, alert, event.envelope, event.body)
                deliveries.setdefault(doc["_id"], doc)  # one fact twice in a batch: one delivery
                matched += 1
        outcomes.append("matched" if matched else "no_match")
    await repo.write_projection(projection.recommendation_ops, projection.evidence_ops, projection.deadline_ops)
    inserted = await repo.insert_deliveries(list(deliveries.values()))
    # Deliveries logged before (a redelivered event) are not requested again: the log's
    # reservation expires and the retry loop takes over any that were left unsent.
    fresh = [d for d in deliveries.values() if d["_id"] in inserted and d["status"] == DeliveryStatus.QUEUED.value]
    return outcomes, fresh


def _recommendation_ids(events: Sequence[TrackerEvent]) -> set[str]:
    ids: set[str] = set()
    for event in events:
        single = getattr(event.payload, "recommendation_id", None)
        if isinstance(single, str):
            ids.add(single)
        many = getattr(event.payload, "recommendation_ids", None)
        if isinstance(many, list):
            ids.update(str(v) for v in many)
    return ids


# The last-evidence time serves the stale-recommendation alerts, counted in days: it is moved
# forward only by at least this much, so a burst of evidence on one recommendation costs one write.
EVIDENCE_TIME_STEP = timedelta(hours=1)


class _BatchProjection:
    """The projection as a batch of events leaves it: read once, changed in memory event by
    event (so an event sees what the earlier ones of its batch did), written in one bulk
    write per collection, leaving out what would change nothing."""

    def __init__(self, recommendations: dict[str, dict[str, Any]], evidence: dict[str, dict[str, Any]]) -> None:
        self.recommendations = {k: dict(v) for k, v in recommendations.items()}
        self.evidence = {k: dict(v) for k, v in evidence.items()}
        self._recommendation_ops: list[UpdateOne] = []
        self._evidence_times: dict[str, tuple[datetime, datetime]] = {}  # rec id -> (first, last) in the batch
        self.evidence_ops: list[UpdateOne] = []
        self.deadline_ops: list[UpdateOne] = []

    @property
    def recommendation_ops(self) -> list[UpdateOne]:
        """The batch's changes to recommendations: one ``$max`` per recommendation for the
        evidence times (they commute with the ``$set`` of cycle and themes)."""
        return self._recommendation_ops + [
            UpdateOne({"_id": rec_id}, {"$max": {"last_evidence_at": last}, "$setOnInsert": {"first_seen_at": first}},
                      upsert=True)
            for rec_id, (first, last) in self._evidence_times.items()
        ]

    def facts(self, rec_ids: Iterable[str]) -> dict[str, RecommendationFacts]:
        return {
            rec_id: RecommendationFacts(rec_id, doc.get("cycle"), frozenset(doc.get("themes") or []))
            for rec_id in rec_ids if (doc := self.recommendations.get(rec_id)) is not None
        }

    def _note_recommendation(self, rec_id: str, fields: dict[str, Any], at: datetime) -> None:
        known = self.recommendations.get(rec_id)
        if known is not None and all(known.get(k) == v for k, v in fields.items()):
            return
        self.recommendations.setdefault(rec_id, {"_id": rec_id, "first_seen_at": at}).update(fields)
        self._recommendation_ops.append(UpdateOne(
            {"_id": rec_id}, {"$set": fields, "$setOnInsert": {"first_seen_at": at}}, upsert=True))

    def _note_evidence_time(self, rec_ids: Iterable[str], at: datetime) -> None:
        """Each recommendation's last-evidence time moves forward to ``at``, never back (and
        only by at least EVIDENCE_TIME_STEP, unless it is written in this batch anyway)."""
        for rec_id in rec_ids:
            if rec_id not in self._evidence_times:
                known = (self.recommendations.get(rec_id) or {}).get("last_evidence_at")
                if isinstance(known, datetime) and at < known + EVIDENCE_TIME_STEP:
                    continue
            first, last = self._evidence_times.get(rec_id, (at, at))
            self._evidence_times[rec_id] = (min(first, at), max(last, at))

    def _save_evidence(self, evidence_id: str, fields: dict[str, Any]) -> None:
        self.evidence.setdefault(evidence_id, {"_id": evidence_id}).update(fields)
        self.evidence_ops.append(UpdateOne({"_id": evidence_id}, {"$set": fields}, upsert=True))

    def apply(self, envelope: EventEnvelope, payload: Contract) -> dict[str, EvidenceFacts]:
        """Record what the event tells; return the evidence facts its alerts need."""
        at = envelope.occurred_at
        if isinstance(payload, RecommendationUpdatedV1):
            self._note_recommendation(payload.recommendation_id,
                                      {"cycle": payload.cycle, "themes": list(payload.themes)}, at)
        elif isinstance(payload, ThemesTaggedV1):
            self._note_recommendation(payload.recommendation_id, {"themes": [t.id for t in payload.themes]}, at)
        elif isinstance(payload, EvidenceAddedV1):
            if payload.review_state == ReviewState.APPROVED:
                self._note_evidence_time(payload.recommendation_ids, at)
            else:  # remembered to be announced if a reviewer approves it (unless held)
                self._save_evidence(payload.evidence_id, {
                    "recommendation_ids": payload.recommendation_ids, "title": payload.title,
                    "review_state": payload.review_state.value, "visibility": payload.visibility.value,
                    "safeguarding_flags": list(payload.safeguarding_flags)})
        elif isinstance(payload, EvidenceReviewedV2):  # carries what the alert needs, but not the flags
            known = self.evidence.get(payload.evidence_id) or {}
            self._save_evidence(payload.evidence_id, {
                "recommendation_ids": payload.recommendation_ids, "title": payload.title,
                "review_state": payload.decision, "visibility": payload.visibility.value})
            if payload.decision == "approved":
                self._note_evidence_time(payload.recommendation_ids, at)
            return {payload.evidence_id: EvidenceFacts(payload.evidence_id, tuple(payload.recommendation_ids),
                                                       payload.title, payload.decision, payload.visibility.value,
                                                       _held(known))}
        elif isinstance(payload, EvidenceReviewedV1):
            doc = self.evidence.get(payload.evidence_id)
            if doc is None or "recommendation_ids" not in doc:
                log.warning("evidence %s reviewed but never seen added: no alert", payload.evidence_id)
                return {}
            self._save_evidence(payload.evidence_id, {"review_state": payload.decision})
            if payload.decision == "approved":
                self._note_evidence_time(doc["recommendation_ids"], at)
            return {payload.evidence_id: EvidenceFacts(payload.evidence_id, tuple(doc["recommendation_ids"]),
                                                       str(doc.get("title", "")), payload.decision,
                                                       str(doc.get("visibility", Visibility.COALITION.value)),
                                                       _held(doc))}
        elif isinstance(payload, CycleDeadlineSetV1):
            deadline = f"{payload.country}-{payload.cycle}-{payload.milestone}"
            self.deadline_ops.append(UpdateOne({"_id": deadline}, {"$set": {
                **payload.model_dump(mode="json"), "event_id": str(envelope.event_id),
                "body": envelope.model_dump_json()}}, upsert=True))
        return {}


def _held(evidence: Mapping[str, Any]) -> bool:
    """Held for safeguarding, as far as the notifier knows: flagged when it was added, or never
    seen added (so its flags are unknown: it is not announced rather than risked)."""
    flags = evidence.get("safeguarding_flags")
    return not isinstance(flags, list) or bool(flags)


def _facts(docs: Mapping[str, Mapping[str, Any]]) -> dict[str, RecommendationFacts]:
    return {
        rec_id: RecommendationFacts(rec_id, doc.get("cycle"), frozenset(doc.get("themes") or []))
        for rec_id, doc in docs.items()
    }


def truncate_ms(moment: datetime) -> datetime:
    """MongoDB keeps milliseconds: a time compared with a stored one must be cut the same way."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def delivery_doc(
    deps: Deps, subscription: Subscription, alert: Alert, trigger: EventEnvelope | None, body: bytes,
    *, digest: bool | None = None,
) -> dict[str, Any]:
    """The delivery log entry for one alert to one subscription (its id says which)."""
    did = delivery_id(alert.key, subscription.subscription_id, subscription.channel)
    for_digest = subscription.is_digest if digest is None else digest
    status = DeliveryStatus.QUEUED_FOR_DIGEST if for_digest else DeliveryStatus.QUEUED
    now = deps.clock()
    queued = status == DeliveryStatus.QUEUED
    return {
        "_id": did, "subscription_id": subscription.subscription_id, "channel": subscription.channel.value,
        "kind": alert.kind.value, "alert_key": alert.key, "recommendation_ids": list(alert.recommendation_ids),
        "details": alert.details, "trigger_event_id": str(trigger.event_id) if trigger else None,
        "trigger_type": trigger.type if trigger else alert.kind.value, "trigger_body": body.decode("utf-8"),
        "occurred_at": trigger.occurred_at if trigger else now, "status": status.value,
        "attempt_count": 0, "round_attempts": 0, "created_at": now, "digest_id": None,
        # Reserved for this process's dispatcher (or whoever consumes its notification.requested);
        # once the reservation runs out, for any notifier's retry loop.
        "holder": deps.holder if queued else None,
        "next_attempt_at": truncate_ms(now + timedelta(seconds=deps.policy.lease_s)) if queued else None,
    }


async def queue_delivery(
    deps: Deps, subscription: Subscription, alert: Alert, trigger: EventEnvelope | None, body: bytes,
    *, digest: bool | None = None,
) -> int:
    """Log one delivery (the scheduler's alerts) and, unless it waits for a digest, send and
    announce it. Returns 1 when a delivery is (still) pending, 0 when it had already gone out."""
    doc = delivery_doc(deps, subscription, alert, trigger, body, digest=digest)
    if not await deps.repo.add_delivery(doc):
        stored = await deps.repo.delivery(doc["_id"]) or {}
        # Logged before: a queued one is sent by whoever holds it (or the retry loop).
        return 1 if stored.get("status") in (DeliveryStatus.QUEUED, DeliveryStatus.QUEUED_FOR_DIGEST) else 0
    if doc["status"] == DeliveryStatus.QUEUED.value:
        await hand_over(deps, [doc])
    return 1


async def hand_over(deps: Deps, docs: Sequence[dict[str, Any]]) -> None:
    """Deliveries just logged, held by ``deps.holder``: this process's dispatcher sends them
    (no trip through Kafka; should it die, their reservation runs out and the retry loop of
    any notifier takes them). Without a dispatcher they are held for whoever consumes their
    ``notification.requested``, published here."""
    if not docs:
        return
    if deps.holder != Holder.REQUEST.value:
        await deps.dispatch(docs)
        return
    for sent in await request_deliveries(deps, docs):
        await sent


async def request_deliveries(deps: Deps, docs: Sequence[Mapping[str, Any]]) -> list[Awaitable[Any]]:
    """Publish one notification.requested per delivery without waiting for the broker; the
    awaitables complete when it has them (await them all at once: one flush)."""
    pending = []
    for doc in docs:
        request = NotificationRequestedV1(
            delivery_id=str(doc["_id"]), subscription_id=str(doc["subscription_id"]),
            channel=Channel(str(doc["channel"])),
            trigger_event_id=str(doc.get("trigger_event_id") or doc.get("alert_key") or doc["_id"]),
            trigger_type=str(doc.get("trigger_type") or doc.get("kind", "")))
        pending.append(await deps.publish(request, str(doc["_id"])))
    return pending


# --- sending ----------------------------------------------------------------------------


async def send_once(
    deps: Deps, subscription: Subscription, delivery: Mapping[str, Any], items: Sequence[Mapping[str, Any]],
    stored: Mapping[str, Any],
) -> int:
    """One attempt: the webhook's HTTP status, or 250 once the SMTP server took the email.
    Raises PermanentEmailError / UnsafeEndpoint (no point retrying) or anything else (retry)."""
    did = str(delivery["_id"])
    policy = deps.policy
    if subscription.channel == Channel.TELEGRAM:
        if deps.telegram is None:
            raise RuntimeError("the Telegram channel is off: UPR_TELEGRAM_BOT_TOKEN is not set")
        if subscription.telegram_chat_id is None:
            raise UnsafeEndpoint("no Telegram chat linked to this subscription")
        text = deps.templates.render_telegram(
            language=subscription.language, item={**delivery, "url": alert_url(policy.public_ui_url, delivery)})
        await deps.telegram.send(subscription.telegram_chat_id, text)
        return 200
    if subscription.channel == Channel.WEBHOOK:
        assert subscription.webhook_url is not None
        links = recommendation_links(policy.public_ui_url, delivery.get("recommendation_ids") or [])
        body = webhook_body(str(delivery["trigger_body"]), subscription.audience, links,
                            evidence_links(policy.public_ui_url, delivery))
        response = await deps.webhooks.post(
            subscription.webhook_url, webhook_secret(deps, stored), body, delivery_id=did,
            event_type=str(delivery["trigger_type"]), extra_headers={"X-UPR-Alert-Kind": str(delivery["kind"])},
        )
        return response.status_code
    assert subscription.email is not None
    link = unsubscribe_url(policy.public_notifier_url, policy.secret, subscription.subscription_id)
    if delivery["kind"] == CONFIRMATION:
        address = str((delivery.get("details") or {}).get("email") or subscription.email)
        rendered = deps.templates.render_confirmation(
            language=subscription.language, email=address, unsubscribe_url=link,
            confirm_url=confirmation_url(policy.public_notifier_url, policy.secret, subscription.subscription_id,
                                         address),
            days=max(1, round(policy.confirm_max_age_s / 86_400)))
        message = build_message(policy.smtp_from, address, rendered, delivery_id=did, unsubscribe_url=link)
        message["X-UPR-Kind"] = CONFIRMATION
        await deps.mailer.send(message)
        return 250
    digest = delivery["kind"] == DIGEST
    rendered = deps.templates.render(
        language=subscription.language, subscription_id=subscription.subscription_id, unsubscribe_url=link,
        digest=digest, frequency=str(delivery.get("details", {}).get("frequency", "daily")),
        items=[{**item, "url": alert_url(policy.public_ui_url, item)} for item in items],
    )
    await deps.mailer.send(build_message(policy.smtp_from, subscription.email, rendered, delivery_id=did,
                                         unsubscribe_url=link))
    return 250


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
            continue  # built already (a queued one whose request was lost is the retry loop's)
        waiting = await deps.repo.deliveries({
            "status": DeliveryStatus.QUEUED_FOR_DIGEST.value, "holder": None,
            "subscription_id": subscription.subscription_id, "digest_id": None, "created_at": {"$lte": due}})
        if existing is None:
            if not waiting:
                continue
            # "assembling" first: a crash between creating the digest and filling it is resumed next run.
            await deps.repo.add_delivery({
                "_id": did, "subscription_id": subscription.subscription_id, "channel": Channel.EMAIL.value,
                "kind": DIGEST, "alert_key": f"digest:{period}", "recommendation_ids": [],
                "details": {"frequency": frequency, "period": period}, "trigger_event_id": None,
                "trigger_type": DIGEST, "trigger_body": "", "occurred_at": due, "status": "assembling",
                "attempt_count": 0, "round_attempts": 0, "created_at": deps.clock(), "digest_id": None,
                "holder": None, "next_attempt_at": None,
            })
        await deps.repo.set_deliveries([str(d["_id"]) for d in waiting], {"digest_id": did})
        queued = {"status": DeliveryStatus.QUEUED.value, "holder": Holder.REQUEST.value,
                  "next_attempt_at": truncate_ms(deps.clock() + timedelta(seconds=deps.policy.lease_s))}
        await deps.repo.set_delivery(did, queued)
        doc = {**(existing or {}), "_id": did, "subscription_id": subscription.subscription_id,
               "channel": Channel.EMAIL.value, "kind": DIGEST, "alert_key": f"digest:{period}",
               "trigger_type": DIGEST, "trigger_event_id": None, **queued}
        for published in await request_deliveries(deps, [doc]):
            await published
        sent += 1
    return sent
