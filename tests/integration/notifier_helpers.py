"""What the notifier's integration tests share: a real SMTP server's catcher, subscriptions
made through signed commands, tracker events. The fixtures (smtp_server, receiver,
notifier_settings, notifier) are in ``conftest.py``."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import Any

from aiokafka import AIOKafkaProducer

from contracts.events import (
    Actor,
    Channel,
    Contract,
    EventEnvelope,
    EvidenceAddedV1,
    EvidenceSourceType,
    ReviewState,
    Role,
    SubscriptionRequestedV1,
    Visibility,
)
from contracts.topics import Topics
from contracts.webhook_secrets import SecretBox, derived_key
from services.notifier.receiver import WebhookReceiver
from tests.integration.helpers import send, signed_event, wait_for

ADMIN = Actor(username="admin", role=Role.ADMIN, organisation="CNCC secretariat")
DARA = Actor(username="dara", role=Role.VIEWER, organisation="Child Rights Coalition")


# --- a real SMTP server on loopback ------------------------------------------------------


class MailCatcher:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []  # alerts and digests
        self.confirmations: list[EmailMessage] = []  # double opt-in emails, kept apart

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[arg-type]
        (self.confirmations if message["X-UPR-Kind"] == "confirmation" else self.messages).append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def delivery_ids(self) -> list[str]:
        return [str(m["X-UPR-Delivery"]) for m in self.messages]


SECRET = "integration-secret"
# What alerts were delivered (the double opt-in emails are deliveries too).
ALERTS_DELIVERED = {"status": "delivered", "kind": {"$ne": "confirmation"}}


def secret_of(subscription: dict[str, Any]) -> str:
    """A webhook subscription's signing secret, stored encrypted (dev key derived from SECRET)."""
    return SecretBox(derived_key(SECRET)).secret_of(subscription)


async def subscribe(
    producer: AIOKafkaProducer, topics: Topics, mongo_db: Any, actor: Actor = ADMIN, confirm: bool = True,
    **fields: Any,
) -> dict[str, Any]:
    request = SubscriptionRequestedV1(**{"owner": actor.username, "event_kinds": ["new_evidence"], **fields})
    await send(producer, topics.notifier_commands, signed_event(request, source="test", actor=actor))

    async def stored() -> Any:
        return await mongo_db.notifier_subscriptions.find_one({"_id": request.subscription_id})
    doc = await wait_for(stored, what=f"subscription {request.subscription_id} stored")
    if confirm and doc.get("status") == "pending_confirmation":
        # Setup: the address owner followed the confirmation link (that flow itself is
        # test_notifier_visibility's).
        await mongo_db.notifier_subscriptions.update_one({"_id": request.subscription_id},
                                                         {"$set": {"status": "active"}})
        doc = await stored()
    return doc  # type: ignore[no-any-return]


def evidence_added(evidence_id: str = "ev-000001", rec: str = "KHM-4-110.23",
                   state: ReviewState = ReviewState.APPROVED, title: str = "Child Protection Law adopted") -> Contract:
    return EvidenceAddedV1(evidence_id=evidence_id, recommendation_ids=[rec], source_type=EvidenceSourceType.LAW_DECREE,
                           title=title, visibility=Visibility.PUBLIC, review_state=state)


def tracker_event(payload: Contract, event_type: str | None = None) -> EventEnvelope:
    return signed_event(payload, source="tracker", actor=ADMIN, event_type=event_type)


async def email_and_webhook_subscriptions(
    producer: AIOKafkaProducer, topics: Topics, mongo_db: Any, receiver: WebhookReceiver
) -> tuple[dict[str, Any], dict[str, Any]]:
    mail = await subscribe(producer, topics, mongo_db, subscription_id="sub-mail-01", channel=Channel.EMAIL,
                           email="dara@example.org", language="km")
    hook = await subscribe(producer, topics, mongo_db, subscription_id="sub-hook-01", channel=Channel.WEBHOOK,
                           webhook_url=receiver.url)
    receiver.secret = secret_of(hook)
    return mail, hook
