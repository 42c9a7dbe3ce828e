"""Subscriptions: who may manage which, and which alerts each one receives. Pure."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from email.utils import getaddresses

from contracts.events import Actor, Channel, Role, SubscriptionRequestedV1
from services.notifier.domain.alerts import COALITION, PUBLIC, SCHEDULED_KINDS, Alert, AlertKind, cycle_of

ACTIVE = "active"
FAILING = "failing"  # webhook deliveries are being dead-lettered; still matched, replay re-delivers
CANCELLED = "cancelled"
# An email subscription waits for its address to confirm (double opt-in): nothing is sent
# to it but the confirmation email.
PENDING = "pending_confirmation"
LIVE = frozenset({ACTIVE, FAILING})

# Roles that read coalition-only evidence (ui/read_model.can_see_evidence: cso members see
# approved coalition evidence, reviewers and admins everything).
COALITION_ROLES = frozenset({Role.CSO_MEMBER, Role.REVIEWER, Role.ADMIN})


class NotAllowed(Exception):
    pass


class InvalidSubscription(ValueError):
    pass


@dataclass(frozen=True)
class RecommendationFacts:
    """The notifier's own view of a recommendation (from tracker events)."""

    recommendation_id: str
    cycle: int | None = None
    themes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Subscription:
    subscription_id: str
    owner: str
    channel: Channel
    event_kinds: frozenset[AlertKind]
    frequency: str = "immediate"
    email: str | None = None
    webhook_url: str | None = None
    themes: frozenset[str] = frozenset()
    recommendation_ids: frozenset[str] = frozenset()
    cycles: frozenset[int] = frozenset()
    language: str = "en"
    stale_after_days: int = 90
    status: str = ACTIVE
    audience: str = PUBLIC  # what its alerts may carry: PUBLIC, or COALITION too
    extra: Mapping[str, str] = field(default_factory=dict)
    telegram_chat_id: int | None = None  # set when a chat sent the bot /start <token>

    @property
    def is_digest(self) -> bool:
        return self.frequency in ("daily", "weekly")


def check_may_manage(actor: Actor | None, channel: Channel, owner: str, existing_owner: str | None) -> None:
    """Admins manage every subscription; anyone else only their own email and Telegram
    subscriptions. Webhooks send data to outside systems: only admins add or remove them."""
    if actor is None:
        raise NotAllowed("a subscription command needs an actor")
    if actor.role == Role.ADMIN:
        return
    if channel == Channel.WEBHOOK:
        raise NotAllowed(f"{actor.username} ({actor.role.value}) may not manage webhooks: admins only")
    if owner != actor.username or (existing_owner is not None and existing_owner != actor.username):
        raise NotAllowed(f"{actor.username} may only manage their own email and Telegram subscriptions")


def owner_role(actor: Actor, owner: str) -> Role:
    """The role a subscription's alerts are read with: the actor's own when they subscribe
    themselves; for someone else's subscription (an admin acting for them) the least one,
    because the notifier does not know that person's role."""
    return actor.role if actor.username == owner else Role.VIEWER


def audience_for(channel: Channel, role: Role, coalition_partner: bool) -> str:
    """Email and a person's Telegram: what the owner's role may read. Webhook, and a Telegram
    group or channel an admin linked: public data, unless the admin marked it coalition."""
    if channel == Channel.WEBHOOK or coalition_partner:
        return COALITION if coalition_partner else PUBLIC
    return COALITION if role in COALITION_ROLES else PUBLIC


def single_address(value: str | None) -> str:
    """The one email address of a subscription, or InvalidSubscription saying why not."""
    text = (value or "").strip()
    if not text:
        raise InvalidSubscription("an email subscription needs a valid email address")
    addresses = [a for _, a in getaddresses([text]) if a]
    if len(addresses) > 1 or any(c in text for c in ",;") or any(c.isspace() for c in text):
        raise InvalidSubscription(f"one email address per subscription, not {text!r}: subscribe each address "
                                  "on its own (each confirms by its own link)")
    local, at, domain = text.rpartition("@")
    if not at or not local or "." not in domain or any(c in text for c in "<>()[]\\\"") or text.count("@") != 1:
        raise InvalidSubscription(f"{text!r} is not a valid email address")
    return text


def check_request(request: SubscriptionRequestedV1) -> None:
    """Refuse a request that could never deliver anything, with the reason in the user's words."""
    if request.channel == Channel.EMAIL:
        single_address(request.email)
        if request.webhook_url:
            raise InvalidSubscription("an email subscription may not carry a webhook_url")
    elif request.channel == Channel.TELEGRAM:
        if request.email or request.webhook_url:
            raise InvalidSubscription("a Telegram subscription carries no email or webhook_url: it is linked "
                                      "by sending the bot /start with the link the UI gave")
        if request.frequency != "immediate" or AlertKind.STALE in request.event_kinds:
            raise InvalidSubscription("Telegram alerts are sent one by one: frequency 'immediate', no 'stale'")
    else:
        if not request.webhook_url:
            raise InvalidSubscription("a webhook subscription needs a webhook_url")
        if request.frequency != "immediate":
            raise InvalidSubscription("webhooks are sent immediately: frequency must be 'immediate'")
        if AlertKind.STALE in request.event_kinds:
            raise InvalidSubscription("'stale' alerts are sent by email only")
    bad = [t for t in request.themes if not (len(t) == 3 and t[0] == "T" and t[1:].isdigit())]
    if bad:
        raise InvalidSubscription(f"unknown theme id(s) {', '.join(bad)} (expected T01..T19)")


def subscription_from(doc: Mapping[str, object]) -> Subscription:
    """A stored subscription document as a domain object."""

    def strings(name: str) -> frozenset[str]:
        value = doc.get(name) or []
        return frozenset(str(v) for v in value) if isinstance(value, list) else frozenset()

    cycles = doc.get("cycles") or []
    return Subscription(
        subscription_id=str(doc["_id"]),
        owner=str(doc.get("owner", "")),
        channel=Channel(str(doc["channel"])),
        event_kinds=frozenset(AlertKind(k) for k in strings("event_kinds")),
        frequency=str(doc.get("frequency", "immediate")),
        email=_opt(doc.get("email")),
        webhook_url=_opt(doc.get("webhook_url")),
        themes=strings("themes"),
        recommendation_ids=strings("recommendation_ids"),
        cycles=frozenset(int(str(c)) for c in cycles) if isinstance(cycles, list) else frozenset(),
        language=str(doc.get("language", "en")),
        stale_after_days=int(str(doc.get("stale_after_days", 90))),
        status=str(doc.get("status", ACTIVE)),
        # Stored before audiences existed: public only (the safe reading).
        audience=COALITION if doc.get("audience") == COALITION else PUBLIC,
        telegram_chat_id=int(str(doc["telegram_chat_id"])) if doc.get("telegram_chat_id") is not None else None,
    )


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def matches(
    subscription: Subscription, alert: Alert, recommendations: Mapping[str, RecommendationFacts]
) -> bool:
    """Does this subscription want this alert? Some recommendation of the alert must pass
    every filter the subscription sets (empty filter = everything)."""
    if subscription.status not in LIVE or alert.kind not in subscription.event_kinds:
        return False
    if alert.audience == COALITION and subscription.audience != COALITION:
        return False  # coalition-only news never reaches a viewer or an outside system
    if alert.kind == AlertKind.DEADLINE:
        return not subscription.cycles or alert.cycle in subscription.cycles
    return any(_recommendation_passes(subscription, rec_id, recommendations)
               for rec_id in alert.recommendation_ids)


def _recommendation_passes(
    subscription: Subscription, rec_id: str, recommendations: Mapping[str, RecommendationFacts]
) -> bool:
    facts = recommendations.get(rec_id) or RecommendationFacts(rec_id, cycle_of(rec_id))
    if subscription.recommendation_ids and rec_id not in subscription.recommendation_ids:
        return False
    cycle = facts.cycle if facts.cycle is not None else cycle_of(rec_id)
    if subscription.cycles and cycle not in subscription.cycles:
        return False
    return not subscription.themes or bool(subscription.themes & facts.themes)


def matching(
    subscriptions: Collection[Subscription], alert: Alert, recommendations: Mapping[str, RecommendationFacts]
) -> list[Subscription]:
    return [s for s in subscriptions if matches(s, alert, recommendations)]


def event_driven(kind: AlertKind) -> bool:
    return kind not in SCHEDULED_KINDS
