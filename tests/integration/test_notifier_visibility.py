"""Issue 13, row 4: alerts respect visibility, against the real notifier, Kafka, the
MongoDB-wire server, a real SMTP server (aiosmtpd) and a real webhook receiver.

A subscription records its owner's role; an alert carries only what that role may read:
coalition-only evidence never reaches a viewer or a partner not marked coalition, evidence
held for safeguarding never goes out, and an email address gets nothing until it confirmed
its subscription (double opt-in)."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from contracts.events import (
    Actor,
    Channel,
    Contract,
    EvidenceAddedV1,
    EvidenceSourceType,
    ReviewState,
    Role,
    SubscriptionRequestedV1,
    Visibility,
)
from contracts.topics import Topics
from services.notifier.receiver import WebhookReceiver
from tests.integration.helpers import send, signed_event, wait_for
from tests.integration.notifier_helpers import (
    MailCatcher,
    secret_of,
    subscribe,
    tracker_event,
)

pytestmark = pytest.mark.integration

VIEWER = Actor(username="dara", role=Role.VIEWER)
CSO = Actor(username="sophea", role=Role.CSO_MEMBER, organisation="Child Rights Coalition")
REC = "KHM-4-110.23"


def evidence(evidence_id: str, title: str, visibility: Visibility, flags: list[str] | None = None) -> Contract:
    return EvidenceAddedV1(evidence_id=evidence_id, recommendation_ids=[REC], source_type=EvidenceSourceType.CSO_REPORT,
                           title=title, visibility=visibility, review_state=ReviewState.APPROVED,
                           safeguarding_flags=flags or [])


def to(mail: MailCatcher, address: str) -> list[str]:
    return [m.get_body(("plain",)).get_content() for m in mail.messages if m["To"] == address]  # type: ignore[union-attr]


async def _true(value: bool) -> bool:
    return value


async def test_row4_alerts_respect_visibility_a_viewers_subscription_gets_no_coalition_only_alert(
    notifier: Any, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any,
    smtp_server: tuple[MailCatcher, int], receiver: WebhookReceiver,
) -> None:
    mail, _ = smtp_server
    # The viewer subscribes their own address and confirms it by the link emailed to it.
    viewer_sub = await subscribe(producer, topics, mongo_db, actor=VIEWER, confirm=False, subscription_id="sub-dara",
                                 channel=Channel.EMAIL, email="dara@example.org")
    assert viewer_sub["status"] == "pending_confirmation" and viewer_sub["owner_role"] == "viewer"
    await wait_for(lambda: _true(len(mail.confirmations) == 1), what="the confirmation email")
    confirmation = mail.confirmations[0]
    assert confirmation["To"] == "dara@example.org"
    link = re.search(r"https://alerts\.upr\.example\.org(/confirm\?token=\S+)",
                     confirmation.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert link is not None
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=notifier), base_url="http://notifier") as client:
        assert (await client.get("/confirm", params={"token": "forged"})).status_code == 400
        confirmed = await client.get(link.group(1))
    assert confirmed.status_code == 200 and "Confirmed" in confirmed.text

    cso_sub = await subscribe(producer, topics, mongo_db, actor=CSO, subscription_id="sub-sophea",
                              channel=Channel.EMAIL, email="sophea@example.org")
    assert cso_sub["audience"] == "coalition"
    partner = await subscribe(producer, topics, mongo_db, subscription_id="sub-partner", channel=Channel.WEBHOOK,
                              webhook_url=receiver.url)
    receiver.secret = secret_of(partner)
    # Row 14: the signing secret is stored encrypted, never in clear.
    assert partner.get("secret") is None and receiver.secret not in json.dumps(partner, default=str)

    events = [
        evidence("ev-coal-01", "Coalition-only: draft shadow report position", Visibility.COALITION),
        evidence("ev-held-01", "A 12-year-old girl, Sokha Chan, from Kandal", Visibility.PUBLIC, ["age_with_name"]),
        evidence("ev-publ-01", "Child Protection Law adopted", Visibility.PUBLIC),
    ]
    for payload in events:
        await send(producer, topics.tracker_events, tracker_event(payload), key=REC.encode())

    await wait_for(lambda: _true(len(to(mail, "sophea@example.org")) >= 2 and len(to(mail, "dara@example.org")) >= 1
                                 and len(receiver.received) >= 1), what="the alerts")
    await asyncio.sleep(1.5)  # anything else would have arrived by now

    viewer_mail = to(mail, "dara@example.org")
    assert len(viewer_mail) == 1 and "Child Protection Law adopted" in viewer_mail[0]
    assert not any("Coalition-only" in text for text in viewer_mail)
    # Issue 15: the alert links to the recommendation's stable address in the UI.
    assert f"https://upr.example.org/detail?id={REC}" in viewer_mail[0]

    cso_mail = " ".join(to(mail, "sophea@example.org"))
    assert "Coalition-only: draft shadow report position" in cso_mail and "Child Protection Law adopted" in cso_mail

    [hook] = receiver.received
    assert hook.signature_ok
    body = json.loads(hook.body)
    assert body["payload"]["evidence_id"] == "ev-publ-01"
    assert body["actor"] is None  # who did it is coalition information
    assert body["links"]["recommendations"][REC] == f"https://upr.example.org/detail?id={REC}"

    sent = [m.as_string() for m in mail.messages] + [r.body.decode() for r in receiver.received]
    everything = json.dumps(sent, ensure_ascii=False)
    assert "Sokha" not in everything  # held for safeguarding: never goes out


async def test_row4_one_email_address_per_subscription_and_none_before_confirmation(
    notifier: Any, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any,
    smtp_server: tuple[MailCatcher, int],
) -> None:
    mail, _ = smtp_server
    request = SubscriptionRequestedV1(subscription_id="sub-many", owner="dara", channel=Channel.EMAIL,
                                      email="a@x.org, b@y.org", event_kinds=["new_evidence"])
    command = signed_event(request, source="test", actor=VIEWER)
    await send(producer, topics.notifier_commands, command)

    async def outcome() -> Any:
        return await mongo_db.notifier_processed.find_one({"_id": str(command.event_id)})
    processed = await wait_for(outcome, what="the refusal")
    assert processed["outcome"] == "rejected"
    assert "one email address per subscription" in processed["error"]
    assert await mongo_db.notifier_subscriptions.count_documents({}) == 0

    # A single address that never confirms receives nothing but its confirmation.
    await subscribe(producer, topics, mongo_db, actor=VIEWER, confirm=False, subscription_id="sub-unconfirmed",
                    channel=Channel.EMAIL, email="dara@example.org")
    await send(producer, topics.tracker_events, tracker_event(evidence("ev-publ-02", "Budget line for child protection",
                                                                       Visibility.PUBLIC)), key=REC.encode())
    await wait_for(lambda: _true(len(mail.confirmations) == 1), what="the confirmation email")

    async def handled() -> bool:
        return await mongo_db.notifier_recommendations.count_documents({"_id": REC}) == 1
    await wait_for(handled, what="the event handled")
    await asyncio.sleep(1.5)
    assert mail.messages == []
