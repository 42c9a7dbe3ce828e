"""The notifier against the real Kafka broker, the MongoDB-wire server, a real SMTP server
(aiosmtpd on loopback) and a real HTTP webhook receiver that verifies signatures."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from contracts.events import (
    Channel,
    CycleDeadlineSetV1,
    EventEnvelope,
    ReviewState,
    SubscriptionRequestedV1,
)
from contracts.topics import NOTIFIER_GROUP, Topics
from services.notifier.app import run_scheduled_jobs
from services.notifier.domain.deliveries import delivery_id
from services.notifier.receiver import WebhookReceiver
from services.notifier.settings import NotifierSettings
from tests.integration.helpers import read_topic, send, signed_event, wait_for
from tests.integration.notifier_helpers import (
    ADMIN,
    ALERTS_DELIVERED,
    DARA,
    MailCatcher,
    email_and_webhook_subscriptions,
    evidence_added,
    secret_of,
    subscribe,
    tracker_event,
)
from tests.kafka_harness import admin_settings

pytestmark = pytest.mark.integration


# --- tests -------------------------------------------------------------------------------


async def test_approved_evidence_sends_one_email_and_one_verified_webhook(
    notifier: Any, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any,
    smtp_server: tuple[MailCatcher, int], receiver: WebhookReceiver,
) -> None:
    mail_catcher, _ = smtp_server
    await email_and_webhook_subscriptions(producer, topics, mongo_db, receiver)
    event = tracker_event(evidence_added(title="Child Protection Law <adopted> & published"))
    await send(producer, topics.tracker_events, event, key=b"KHM-4-110.23")

    await wait_for(lambda: _true(len(mail_catcher.messages) >= 1 and len(receiver.received) >= 1),
                   what="email and webhook received")
    await asyncio.sleep(1.0)  # nothing else is on its way
    assert len(mail_catcher.messages) == 1
    message = mail_catcher.messages[0]
    assert message["To"] == "dara@example.org"
    assert "ភស្តុតាងថ្មី" in message["Subject"]
    parts = {part.get_content_type(): part.get_payload(decode=True).decode() for part in message.walk()
             if not part.is_multipart()}
    assert "KHM-4-110.23" in parts["text/plain"]
    assert "Child Protection Law <adopted> & published" in parts["text/plain"]
    assert "&lt;adopted&gt; &amp; published" in parts["text/html"]  # autoescaped
    assert "https://alerts.upr.example.org/unsubscribe?token=" in parts["text/plain"]
    assert message["List-Unsubscribe"].startswith("<https://alerts.upr.example.org/unsubscribe?token=")

    assert len(receiver.received) == 1
    hook = receiver.received[0]
    assert hook.signature_ok
    assert hook.event_type == "evidence.added"
    assert json.loads(hook.body)["event_id"] == str(event.event_id)  # the body is the tracker's event
    assert hook.delivery_id == delivery_id("evidence:ev-000001", "sub-hook-01", Channel.WEBHOOK)

    async def both_logged() -> bool:
        return await mongo_db.notifier_deliveries.count_documents(ALERTS_DELIVERED) == 2
    await wait_for(both_logged, what="deliveries logged as delivered")
    logged = await mongo_db.notifier_deliveries.find_one({"_id": hook.delivery_id})
    assert logged["attempt_count"] == 1
    [attempt] = await attempts_of(mongo_db, hook.delivery_id)
    assert attempt["response_code"] == 200 and attempt["status"] == "ok"


async def test_alerts_sent_at_once_are_not_requested_again_on_the_work_queue(
    notifier: Any, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any, receiver: WebhookReceiver,
    kafka_bootstrap: str,
) -> None:
    # The notifier that logs an alert sends it itself: no notification.requested goes round
    # Kafka for the notifier to read back and leave (its largest Python cost per alert, measured).
    hook = await subscribe(producer, topics, mongo_db, subscription_id="sub-hook-direct", channel=Channel.WEBHOOK,
                           webhook_url=receiver.url)
    receiver.secret = secret_of(hook)
    await send(producer, topics.tracker_events, tracker_event(evidence_added()))
    await wait_for(lambda: _true(len(receiver.accepted()) == 1), what="webhook received")
    assert await read_topic(kafka_bootstrap, topics.notifications, expected=1, timeout=3) == []


async def test_same_event_delivered_twice_sends_one_email(
    notifier: Any, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any,
    smtp_server: tuple[MailCatcher, int], receiver: WebhookReceiver,
) -> None:
    mail_catcher, _ = smtp_server
    await email_and_webhook_subscriptions(producer, topics, mongo_db, receiver)
    event = tracker_event(evidence_added())
    await send(producer, topics.tracker_events, event)
    await send(producer, topics.tracker_events, event)
    # The same evidence approved again on review is the same news: no second alert either.
    from contracts.events import EvidenceReviewedV1
    await send(producer, topics.tracker_events,
               tracker_event(EvidenceReviewedV1(evidence_id="ev-000001", decision="approved"), "evidence.reviewed"))

    # Events on one partition are handled in order: once a later alert is out, the duplicates were seen.
    await send(producer, topics.tracker_events, tracker_event(evidence_added(evidence_id="ev-sentinel")))
    await wait_for(lambda: _true(len(mail_catcher.messages) >= 2 and len(receiver.received) >= 2))
    await asyncio.sleep(1.0)
    assert len(mail_catcher.messages) == 2
    assert len(receiver.received) == 2
    assert sorted(json.loads(r.body)["payload"]["evidence_id"] for r in receiver.received) == [
        "ev-000001", "ev-sentinel"]


async def test_pending_evidence_raises_no_alert_until_approved(
    notifier: Any, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any,
    smtp_server: tuple[MailCatcher, int], receiver: WebhookReceiver,
) -> None:
    from contracts.events import EvidenceReviewedV1
    mail_catcher, _ = smtp_server
    await email_and_webhook_subscriptions(producer, topics, mongo_db, receiver)
    pending = tracker_event(evidence_added(evidence_id="ev-held-01", state=ReviewState.PENDING,
                                           title="Case of a 12-year-old girl in Siem Reap"))
    await send(producer, topics.tracker_events, pending)
    await send(producer, topics.tracker_events, tracker_event(evidence_added(evidence_id="ev-sentinel")))
    await wait_for(lambda: _true(len(mail_catcher.messages) >= 1 and len(receiver.received) >= 1))
    await asyncio.sleep(1.0)
    assert len(mail_catcher.messages) == 1 and len(receiver.received) == 1
    assert "12-year-old" not in mail_catcher.messages[0].get_body(("plain",)).get_content()
    assert json.loads(receiver.received[0].body)["payload"]["evidence_id"] == "ev-sentinel"

    await send(producer, topics.tracker_events,
               tracker_event(EvidenceReviewedV1(evidence_id="ev-held-01", decision="approved"), "evidence.reviewed"))
    await wait_for(lambda: _true(len(mail_catcher.messages) == 2 and len(receiver.received) == 2))
    assert json.loads(receiver.received[1].body)["type"] == "evidence.reviewed"


async def test_failing_webhook_is_retried_dead_lettered_then_replayed_once(
    notifier: Any, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any,
    receiver: WebhookReceiver, kafka_bootstrap: str, notifier_settings: NotifierSettings,
) -> None:
    from upr.commands.dlq import list_dead_letters, replay_dead_letters

    hook = await subscribe(producer, topics, mongo_db, subscription_id="sub-hook-500", channel=Channel.WEBHOOK,
                           webhook_url=receiver.url)
    receiver.secret = secret_of(hook)
    receiver.status = 500
    await send(producer, topics.tracker_events, tracker_event(evidence_added()))
    did = delivery_id("evidence:ev-000001", "sub-hook-500", Channel.WEBHOOK)

    async def failed() -> Any:
        doc = await mongo_db.notifier_deliveries.find_one({"_id": did})
        return doc if doc and doc["status"] == "failed" else None
    doc = await wait_for(failed, what="delivery failed")
    assert [a["response_code"] for a in await attempts_of(mongo_db, did)] == [500, 500, 500]
    assert doc["attempt_count"] == 3 and doc["last_error"] == "HTTP 500"
    assert len(receiver.received) == 3  # three attempts reached the endpoint
    subscription = await mongo_db.notifier_subscriptions.find_one({"_id": "sub-hook-500"})
    assert subscription["status"] == "failing"

    cli = admin_settings(kafka_bootstrap, topics.prefix)  # `upr dlq` logs in as admin
    dead = await list_dead_letters(cli, NOTIFIER_GROUP, timeout_s=10, expected=1)
    assert len(dead) == 1
    assert "failed: HTTP 500" in dead[0].reason
    assert dead[0].original_topic == topics.notifications
    # Outcomes have their own topic: the work queue carries only requests.
    outcomes = await read_topic(kafka_bootstrap, topics.notification_outcomes, expected=1)
    assert [EventEnvelope.model_validate_json(r.value).type for r in outcomes] == ["notification.failed"]
    requests = await read_topic(kafka_bootstrap, topics.notifications, expected=1, timeout=3)
    assert {EventEnvelope.model_validate_json(r.value).type for r in requests} <= {"notification.requested"}

    receiver.status = 200
    replayed = await replay_dead_letters(cli, NOTIFIER_GROUP, limit=10, timeout_s=10)
    assert replayed == 1

    async def delivered() -> bool:
        doc = await mongo_db.notifier_deliveries.find_one({"_id": did})
        return bool(doc and doc["status"] == "delivered")
    await wait_for(delivered, what="replayed delivery delivered")
    assert len(receiver.accepted()) == 1
    assert (await mongo_db.notifier_subscriptions.find_one({"_id": "sub-hook-500"}))["status"] == "active"
    # A second replay finds nothing new: each dead letter is replayed once.
    assert await replay_dead_letters(cli, NOTIFIER_GROUP, limit=10, timeout_s=3) == 0
    await asyncio.sleep(0.5)
    assert len(receiver.accepted()) == 1


async def test_hanging_webhook_times_out_and_service_keeps_delivering(
    notifier: Any, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any,
    smtp_server: tuple[MailCatcher, int], receiver: WebhookReceiver,
) -> None:
    mail_catcher, _ = smtp_server
    await email_and_webhook_subscriptions(producer, topics, mongo_db, receiver)
    receiver.delay_s = 3.0  # longer than the 1 s timeout
    await send(producer, topics.tracker_events, tracker_event(evidence_added()))
    hook_id = delivery_id("evidence:ev-000001", "sub-hook-01", Channel.WEBHOOK)

    async def failed() -> Any:
        doc = await mongo_db.notifier_deliveries.find_one({"_id": hook_id})
        return doc if doc and doc["status"] == "failed" else None
    await wait_for(failed, timeout=40, what="hanging webhook given up")
    attempts = await attempts_of(mongo_db, hook_id)
    assert len(attempts) == 3 and all("Timeout" in (a["error"] or "") for a in attempts)
    assert len(mail_catcher.messages) == 1  # the email went out regardless


async def test_malformed_and_oversized_messages_are_dead_lettered_and_service_keeps_going(
    notifier: Any, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any,
    smtp_server: tuple[MailCatcher, int], kafka_bootstrap: str,
) -> None:
    mail_catcher, _ = smtp_server
    # A viewer may not add a webhook; an email subscription without an address is refused.
    bad = [
        signed_event(SubscriptionRequestedV1(subscription_id="sub-bad-01", owner="dara", channel=Channel.WEBHOOK,
                                           webhook_url="https://partner.example.org/hook",
                                           event_kinds=["new_evidence"]), source="test", actor=DARA),
        signed_event(SubscriptionRequestedV1(subscription_id="sub-bad-02", owner="dara", channel=Channel.EMAIL,
                                           event_kinds=["new_evidence"]), source="test", actor=DARA),
        signed_event(SubscriptionRequestedV1(subscription_id="sub-bad-03", owner="admin", channel=Channel.WEBHOOK,
                                           webhook_url="http://169.254.169.254/latest/meta-data",
                                           event_kinds=["new_evidence"]), source="test", actor=ADMIN),
    ]
    for event in bad:
        await send(producer, topics.notifier_commands, event)
    await send(producer, topics.notifier_commands, b'{"type": "subscription.requested", "oops"')
    huge = tracker_event(evidence_added(title="x" * 400)).model_dump(mode="json")
    huge["payload"]["safeguarding_flags"] = ["y" * 1000] * 600  # ~600 KB, above the 512 KB limit
    await send(producer, topics.tracker_events, json.dumps(huge).encode())
    await subscribe(producer, topics, mongo_db, actor=DARA, subscription_id="sub-dara-01",
                    channel=Channel.EMAIL, email="dara@example.org")
    await send(producer, topics.tracker_events, tracker_event(evidence_added()))

    await wait_for(lambda: _true(len(mail_catcher.messages) == 1), what="service still delivering")
    dead = await read_topic(kafka_bootstrap, topics.dead_letter(NOTIFIER_GROUP), expected=5)
    reasons = [dict(r.headers)["x-dlq-reason"].decode() for r in dead]
    assert len(dead) == 5
    assert any("may not manage webhooks" in r for r in reasons)
    assert any("needs a valid email address" in r for r in reasons)
    assert any("internal address 169.254.169.254" in r or "must use https" in r for r in reasons)
    assert any("exceeds" in r for r in reasons)
    assert await mongo_db.notifier_subscriptions.count_documents({}) == 1


async def test_deadline_reminders_go_out_once_at_90_30_and_7_days(
    notifier: Any, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any,
    smtp_server: tuple[MailCatcher, int],
) -> None:
    mail_catcher, _ = smtp_server
    await subscribe(producer, topics, mongo_db, subscription_id="sub-deadline", channel=Channel.EMAIL,
                    email="cncc@example.org", event_kinds=["deadline"], cycles=[4])
    due = date(2027, 5, 1)
    event = tracker_event(CycleDeadlineSetV1(country="KHM", cycle=4, milestone="mid_term_report_due", due_on=due))
    await send(producer, topics.tracker_events, event)

    async def known() -> bool:
        return await mongo_db.notifier_deadlines.count_documents({}) == 1
    await wait_for(known)

    def at(days_before: int) -> datetime:
        return datetime.combine(due - timedelta(days=days_before), datetime.min.time(), UTC) + timedelta(hours=9)

    for moment in (at(120), at(90), at(89), at(90), at(30), at(7), at(6)):
        await run_scheduled_jobs(notifier, moment)
    await wait_for(lambda: _true(len(mail_catcher.messages) >= 3), what="three reminders")
    await asyncio.sleep(1.0)
    assert len(mail_catcher.messages) == 3
    subjects = [m["Subject"] for m in mail_catcher.messages]
    assert all("Deadline approaching" in s for s in subjects)
    bodies = [m.get_body(("plain",)).get_content() for m in mail_catcher.messages]
    assert sorted(int(b.split(" days left")[0].rsplit(" ", 1)[-1]) for b in bodies) == [7, 30, 90]


async def test_daily_digest_bundles_the_days_alerts_into_one_email(
    notifier: Any, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any,
    smtp_server: tuple[MailCatcher, int],
) -> None:
    mail_catcher, _ = smtp_server
    await subscribe(producer, topics, mongo_db, subscription_id="sub-digest", channel=Channel.EMAIL,
                    email="dara@example.org", frequency="daily")
    events = [tracker_event(evidence_added(evidence_id=f"ev-digest-{i}", title=f"Evidence {i}")) for i in range(3)]
    for event in events:
        await send(producer, topics.tracker_events, event)

    async def queued() -> bool:
        return await mongo_db.notifier_deliveries.count_documents({"status": "queued_for_digest"}) == 3
    await wait_for(queued)
    assert mail_catcher.messages == []
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    await run_scheduled_jobs(notifier, tomorrow)
    await run_scheduled_jobs(notifier, tomorrow)  # idempotent
    await wait_for(lambda: _true(len(mail_catcher.messages) == 1), what="digest sent")
    await asyncio.sleep(1.0)
    assert len(mail_catcher.messages) == 1
    text = mail_catcher.messages[0].get_body(("plain",)).get_content()
    assert all(f"Evidence {i}" in text for i in range(3))
    assert await mongo_db.notifier_deliveries.count_documents(ALERTS_DELIVERED) == 4


async def _true(value: bool) -> bool:
    return value


async def attempts_of(mongo_db: Any, did: str) -> list[dict[str, Any]]:
    """Every attempt at one delivery, in order (the notifier_attempts collection)."""
    return await mongo_db.notifier_attempts.find({"delivery_id": did}).sort("number", 1).to_list()  # type: ignore[no-any-return]


async def test_the_unsubscribe_link_in_an_email_stops_further_alerts(
    notifier: Any, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any,
    smtp_server: tuple[MailCatcher, int], receiver: WebhookReceiver,
) -> None:
    import httpx

    mail_catcher, _ = smtp_server
    await subscribe(producer, topics, mongo_db, subscription_id="sub-mail-02", channel=Channel.EMAIL,
                    email="sophea@example.org")
    await send(producer, topics.tracker_events, tracker_event(evidence_added("ev-000101")), key=b"KHM-4-110.23")
    await wait_for(lambda: _true(len(mail_catcher.messages) == 1), what="first email")
    link = mail_catcher.messages[0]["List-Unsubscribe"].strip("<>")
    path = link.removeprefix("https://alerts.upr.example.org")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=notifier), base_url="http://notifier") as client:
        forged = await client.get("/unsubscribe", params={"token": "not-a-token"})
        assert forged.status_code == 400 and "not valid" in forged.text
        answer = await client.get(path)
    assert answer.status_code == 200 and "Unsubscribed" in answer.text
    stored = await mongo_db.notifier_subscriptions.find_one({"_id": "sub-mail-02"})
    assert stored["status"] == "cancelled"

    await send(producer, topics.tracker_events, tracker_event(evidence_added("ev-000102")), key=b"KHM-4-110.23")
    await asyncio.sleep(3.0)
    assert len(mail_catcher.messages) == 1, "no alert after unsubscribing"
