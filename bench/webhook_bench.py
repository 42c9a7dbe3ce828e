"""Webhook latency: evidence-added event published -> signed webhook received, at 50 events/s.

Runs the real notifier (in-process, the same build_app as production) against the real
Kafka broker and MongoDB-wire server, with a loopback receiver that verifies every
signature. Latency = receiver clock at arrival - the event's ``occurred_at`` (set when
it is published), so it covers Kafka (twice: tracker event, then notification.requested),
matching, the delivery log writes and the HTTP POST.

    .venv/bin/python bench/webhook_bench.py [--rate 50] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from contracts.events import (
    Actor,
    Channel,
    EvidenceAddedV1,
    EvidenceSourceType,
    ReviewState,
    Role,
    SubscriptionRequestedV1,
    Visibility,
    make_event,
)
from contracts.kafka_access import KafkaAdminSettings, client_options, ensure_topics
from services.notifier.app import build_app
from services.notifier.receiver import WebhookReceiver
from services.notifier.settings import NotifierSettings

ADMIN = Actor(username="bench", role=Role.ADMIN)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def _bench(rate: float, seconds: float) -> dict[str, float]:
    tag = uuid.uuid4().hex[:8]
    base = NotifierSettings()
    settings = base.model_copy(update={
        "topic_prefix": f"bench{tag}.", "mongodb_db": f"bench_{tag}", "webhook_allowlist": ["127.0.0.1"],
        "scheduler_enabled": False, "log_level": "WARNING",
    })
    topics = settings.topics
    # The bench plays the tracker and the CLI (topics, events, commands) as admin.
    admin_settings = KafkaAdminSettings(kafka_bootstrap=settings.kafka_bootstrap)
    await ensure_topics(admin_settings, topics)
    producer = AIOKafkaProducer(**client_options(admin_settings), acks="all", linger_ms=0)
    await producer.start()
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_uri, tz_aware=True)
    receiver = await WebhookReceiver().start()
    app = build_app(settings)
    try:
        async with app:
            request = SubscriptionRequestedV1(subscription_id="sub-bench-hook", owner="partner",
                                              channel=Channel.WEBHOOK, webhook_url=receiver.url,
                                              event_kinds=["new_evidence"])
            await producer.send_and_wait(topics.notifier_commands,
                                         make_event(request, source="bench", actor=ADMIN).to_bytes())
            deadline = time.monotonic() + 30
            subscription = None
            while subscription is None and time.monotonic() < deadline:
                subscription = await mongo[settings.mongodb_db].notifier_subscriptions.find_one(
                    {"_id": "sub-bench-hook"})
                await asyncio.sleep(0.1)
            if subscription is None:
                raise RuntimeError("the notifier did not store the bench subscription")
            receiver.secret = subscription["secret"]

            total = int(rate * seconds)
            started = time.monotonic()
            for n in range(total):
                target = started + n / rate
                delay = target - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                rec = f"KHM-4-{100 + n % 50}.{n % 9 + 1}"
                event = make_event(EvidenceAddedV1(
                    evidence_id=f"ev-bench-{n:06d}", recommendation_ids=[rec],
                    source_type=EvidenceSourceType.MEDIA, title=f"Bench evidence {n}", visibility=Visibility.PUBLIC,
                    review_state=ReviewState.APPROVED), source="tracker")
                await producer.send(topics.tracker_events, event.to_bytes(), key=rec.encode())
            publish_s = time.monotonic() - started
            deadline = time.monotonic() + 60
            while len(receiver.accepted()) < total and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
    finally:
        await receiver.stop()
        await producer.stop()
        await mongo.drop_database(settings.mongodb_db)
        await mongo.close()
        admin = AIOKafkaAdminClient(**client_options(admin_settings))
        await admin.start()
        try:
            await admin.delete_topics(list(topics.all_with_partitions()))
        finally:
            await admin.close()

    accepted = receiver.accepted()
    latencies = [
        (item.received_at - datetime.fromisoformat(json.loads(item.body)["occurred_at"]).timestamp()) * 1000
        for item in accepted
    ]
    distinct = len({item.delivery_id for item in accepted})
    return {
        "events": float(total),
        "webhooks_received": float(len(accepted)),
        "duplicates": float(len(accepted) - distinct),
        "bad_signatures": float(sum(1 for r in receiver.received if not r.signature_ok)),
        "rate_achieved_per_s": round(total / publish_s, 1),
        "webhook_p50_ms": round(_percentile(latencies, 50), 1),
        "webhook_p90_ms": round(_percentile(latencies, 90), 1),
        "webhook_p99_ms": round(_percentile(latencies, 99), 1),
        "webhook_max_ms": round(max(latencies, default=float("nan")), 1),
        "webhook_mean_ms": round(statistics.fmean(latencies), 1) if latencies else float("nan"),
    }


def run(rate: float = 50.0, seconds: float = 20.0) -> dict[str, float]:
    """Publish evidence-added events at ``rate``/s for ``seconds``; webhook latency figures."""
    return asyncio.run(_bench(rate, seconds))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Webhook latency bench (real notifier, Kafka, MongoDB)")
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    print(json.dumps(run(args.rate, args.seconds), indent=2))
