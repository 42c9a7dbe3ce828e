"""A notifier stopped in the middle of a stream of events and started again sends every
alert exactly once: at-least-once consumption plus the delivery log."""

from __future__ import annotations

import asyncio
import collections
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from contracts.events import Channel
from contracts.topics import Topics
from services.notifier.app import build_app
from services.notifier.domain.deliveries import delivery_id
from services.notifier.receiver import WebhookReceiver
from services.notifier.settings import NotifierSettings
from tests.integration.helpers import send, wait_for
from tests.integration.test_notifier_pipeline import (
    MailCatcher,
    email_and_webhook_subscriptions,
    evidence_added,
    notifier_settings,  # noqa: F401 - fixture
    receiver,  # noqa: F401 - fixture
    smtp_server,  # noqa: F401 - fixture
    tracker_event,
)

pytestmark = pytest.mark.integration

EVENTS = 200


async def test_notifier_stopped_mid_batch_and_restarted_sends_every_alert_exactly_once(
    notifier_settings: NotifierSettings, producer: AIOKafkaProducer, topics: Topics,  # noqa: F811
    mongo_db: Any, smtp_server: tuple[MailCatcher, int], receiver: WebhookReceiver,  # noqa: F811
) -> None:
    mail_catcher, _ = smtp_server
    first = build_app(notifier_settings)
    await first.start()
    stopped = False
    try:
        await email_and_webhook_subscriptions(producer, topics, mongo_db, receiver)
        evidence_ids = [f"ev-restart-{i:04d}" for i in range(EVENTS)]

        async def flow() -> None:
            for n, evidence in enumerate(evidence_ids):
                rec = f"KHM-4-{100 + n % 40}.{n % 7 + 1}"
                await send(producer, topics.tracker_events, tracker_event(evidence_added(evidence, rec=rec)),
                           key=rec.encode())
                await asyncio.sleep(0.01)

        flowing = asyncio.create_task(flow())
        # Stop the notifier while events are still arriving and alerts are being sent.
        await wait_for(lambda: _true(len(receiver.received) >= 40), what="first alerts")
        await first.stop()
        stopped = True
        delivered_before = len(receiver.accepted())
        await flowing
        assert delivered_before < EVENTS, "the stop must happen mid-batch"
    finally:
        if not stopped:
            await first.stop()

    second = build_app(notifier_settings)
    async with second:
        await wait_for(lambda: _true(len(receiver.accepted()) >= EVENTS and len(mail_catcher.messages) >= EVENTS),
                       timeout=120, what="every alert delivered after the restart")
        await asyncio.sleep(2.0)  # let any duplicate show up

    expected_hooks = {delivery_id(f"evidence:{e}", "sub-hook-01", Channel.WEBHOOK) for e in evidence_ids}
    expected_mails = {delivery_id(f"evidence:{e}", "sub-mail-01", Channel.EMAIL) for e in evidence_ids}
    hook_counts = collections.Counter(r.delivery_id for r in receiver.accepted())
    mail_counts = collections.Counter(mail_catcher.delivery_ids())
    assert set(hook_counts) == expected_hooks
    assert set(mail_counts) == expected_mails
    assert [d for d, n in hook_counts.items() if n > 1] == []
    assert [d for d, n in mail_counts.items() if n > 1] == []
    assert await mongo_db.notifier_deliveries.count_documents({"status": "delivered"}) == 2 * EVENTS


async def _true(value: bool) -> bool:
    return value
