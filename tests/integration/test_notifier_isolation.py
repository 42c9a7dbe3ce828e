"""One bad endpoint or one bad record holds up nobody else (real Kafka, FerretDB, HTTP receivers).

- A webhook endpoint that never answers in time keeps its own deliveries pending (retried
  through the delivery log) while another subscription's endpoint receives every alert.
- A batch of tracker events holding poison records (not JSON, an unknown event version)
  dead-letters those records alone; every other alert of the batch is delivered.
"""

from __future__ import annotations

import collections
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from contracts.events import Channel
from contracts.topics import NOTIFIER_GROUP, Topics
from services.notifier.app import build_app
from services.notifier.domain.deliveries import delivery_id
from services.notifier.receiver import WebhookReceiver
from services.notifier.settings import NotifierSettings
from tests.integration.helpers import read_topic, send, wait_for
from tests.integration.notifier_helpers import (
    MailCatcher,
    evidence_added,
    secret_of,
    subscribe,
    tracker_event,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def hanging_receiver() -> AsyncIterator[WebhookReceiver]:
    # Answers after 5 s: far beyond the notifier's 1 s timeout, so every attempt times out.
    async with WebhookReceiver(delay_s=5.0) as r:
        yield r


async def test_a_hanging_webhook_does_not_hold_up_another_subscriptions_alerts(
    notifier_settings: NotifierSettings, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any,
    receiver: WebhookReceiver, hanging_receiver: WebhookReceiver,
) -> None:
    # Few slots, so the hanging endpoint could starve the other if it were not bounded on its
    # own; retries far apart, so its deliveries stay pending for the whole test.
    settings = notifier_settings.model_copy(update={
        "delivery_concurrency": 4, "endpoint_concurrency": 2, "delivery_attempts": 5, "retry_base_s": 2.0,
        "retry_cap_s": 8.0,
    })
    events = 24
    app = build_app(settings)
    async with app:
        ok = await subscribe(producer, topics, mongo_db, subscription_id="sub-hook-ok", channel=Channel.WEBHOOK,
                             webhook_url=receiver.url)
        hung = await subscribe(producer, topics, mongo_db, subscription_id="sub-hook-hung", channel=Channel.WEBHOOK,
                               webhook_url=hanging_receiver.url)
        receiver.secret, hanging_receiver.secret = secret_of(ok), secret_of(hung)
        evidence_ids = [f"ev-iso-{n:03d}" for n in range(events)]
        for n, evidence in enumerate(evidence_ids):  # both subscriptions' alerts share the partitions
            rec = f"KHM-4-{100 + n % 5}.1"
            await send(producer, topics.tracker_events, tracker_event(evidence_added(evidence, rec=rec)),
                       key=rec.encode())

        await wait_for(lambda: _true(len(receiver.accepted()) >= events), timeout=60,
                       what="every alert to the endpoint that answers")
        # ... while the hanging endpoint's deliveries are all still pending: none delivered, none given up.
        hung_ids = [delivery_id(f"evidence:{e}", "sub-hook-hung", Channel.WEBHOOK) for e in evidence_ids]
        states = collections.Counter(
            d["status"] for d in await mongo_db.notifier_deliveries.find({"_id": {"$in": hung_ids}}).to_list())
        assert states == {"queued": events}

        # It is being tried, not forgotten: attempts time out and the next one is scheduled in the log.
        async def timed_out() -> Any:
            return await mongo_db.notifier_attempts.find_one({"delivery_id": {"$in": hung_ids}, "status": "error"})
        attempt = await wait_for(timed_out, timeout=30, what="a timed-out attempt at the hanging endpoint")
        assert "Timeout" in attempt["error"]
        pending = await mongo_db.notifier_deliveries.find_one({"_id": attempt["delivery_id"]})
        assert pending["status"] == "queued" and pending["attempt_count"] >= 1

    accepted = collections.Counter(r.delivery_id for r in receiver.accepted())
    assert set(accepted) == {delivery_id(f"evidence:{e}", "sub-hook-ok", Channel.WEBHOOK) for e in evidence_ids}
    assert max(accepted.values()) == 1


async def test_poison_records_in_a_batch_are_dead_lettered_alone_and_the_rest_delivered(
    notifier_settings: NotifierSettings, producer: AIOKafkaProducer, topics: Topics, mongo_db: Any,
    receiver: WebhookReceiver, kafka_bootstrap: str, smtp_server: tuple[MailCatcher, int],
) -> None:
    # The subscription first, with a notifier that is then stopped: the events below are all
    # waiting when the next one starts, so they come in one batch.
    first = build_app(notifier_settings)
    async with first:
        hook = await subscribe(producer, topics, mongo_db, subscription_id="sub-hook-batch",
                               channel=Channel.WEBHOOK, webhook_url=receiver.url)
    receiver.secret = secret_of(hook)

    good = [f"ev-batch-{n:02d}" for n in range(10)]
    unknown_version = tracker_event(evidence_added("ev-batch-v99")).model_dump(mode="json")
    unknown_version["version"] = 99
    key = b"KHM-4-110.23"  # one partition: the records keep this order within the batch
    for evidence in good[:5]:
        await send(producer, topics.tracker_events, tracker_event(evidence_added(evidence)), key=key)
    await send(producer, topics.tracker_events, b'{"type": "evidence.added", "oops', key=key)
    await send(producer, topics.tracker_events, json.dumps(unknown_version).encode(), key=key)
    for evidence in good[5:]:
        await send(producer, topics.tracker_events, tracker_event(evidence_added(evidence)), key=key)

    second = build_app(notifier_settings)
    async with second:
        await wait_for(lambda: _true(len(receiver.accepted()) >= len(good)), timeout=60, what="the good alerts")
        dead = await read_topic(kafka_bootstrap, topics.dead_letter(NOTIFIER_GROUP), expected=2)

    delivered = sorted(json.loads(r.body)["payload"]["evidence_id"] for r in receiver.accepted())
    assert delivered == good
    reasons = sorted(dict(r.headers)["x-dlq-reason"].decode() for r in dead)
    assert len(dead) == 2, reasons
    assert any("not JSON" in r for r in reasons)
    assert any("version 99" in r for r in reasons)
    assert {dict(r.headers)["x-original-topic"].decode() for r in dead} == {topics.tracker_events}
    assert b"oops" in dead[0].value or b"oops" in dead[1].value  # dead-lettered unchanged


async def _true(value: bool) -> bool:
    return value
