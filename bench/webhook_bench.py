"""Webhook latency and throughput: evidence-added event published -> signed webhook received.

Runs the real notifier (in-process, the same build_app as production) against the real
Kafka broker and MongoDB-wire server, with a loopback receiver that verifies every
signature. Latency = receiver clock at arrival - the event's ``occurred_at`` (set when
it is published), so it covers Kafka, matching, the delivery log and the HTTP POST.
Everything shares one machine (and the receiver and the publisher share the notifier's
process): the figures are an upper bound of what the notifier alone costs.

Two parts, on one notifier:

1. ``--rate`` events/s (50) for ``--seconds`` (60): ``webhook_p50_ms``, ``webhook_p99_ms`` ...
2. the rate ladder: ``--steps`` (50,100,200,300,400) events/s for ``--step-seconds`` (10) each,
   stopping at the first rate that fails; ``notifier_alerts_per_s`` is the highest rate whose
   alerts all arrived with p99 < 1 s (and which the publisher kept up).

    .venv/bin/python bench/webhook_bench.py [--rate 50] [--seconds 60] [--steps 50,100,200,300,400]
                                            [--step-seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
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
from contracts.signing import sign
from contracts.topics import Topics
from contracts.webhook_secrets import SecretBox
from services.notifier.app import build_app
from services.notifier.domain.deliveries import delivery_id
from services.notifier.receiver import WebhookReceiver
from services.notifier.settings import NotifierSettings, webhook_secrets_key

ADMIN = Actor(username="bench", role=Role.ADMIN)
SUBSCRIPTION = "sub-bench-hook"
DEFAULT_STEPS = (50, 100, 200, 300, 400)
P99_GOAL_MS = 1000.0


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Phase:
    rate: float
    events: int
    received: int
    duplicates: int
    rate_achieved: float
    latencies_ms: list[float]

    @property
    def p99_ms(self) -> float:
        return _percentile(self.latencies_ms, 99)

    @property
    def passed(self) -> bool:
        """Every alert arrived, p99 under the goal, and the publisher kept the rate."""
        return (self.received == self.events and self.p99_ms < P99_GOAL_MS
                and self.rate_achieved >= 0.95 * self.rate)


async def _phase(
    producer: AIOKafkaProducer, topics: Topics, receiver: WebhookReceiver, name: str, rate: float, seconds: float,
) -> Phase:
    """Publish ``rate`` events/s for ``seconds``; wait for their alerts (or give up)."""
    total = max(1, int(rate * seconds))
    evidence_ids = [f"ev-{name}-{n:06d}" for n in range(total)]
    expected = {delivery_id(f"evidence:{e}", SUBSCRIPTION, Channel.WEBHOOK) for e in evidence_ids}
    seen_before = len(receiver.received)
    started = time.monotonic()
    for n, evidence in enumerate(evidence_ids):
        delay = started + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        rec = f"KHM-4-{100 + n % 50}.{n % 9 + 1}"
        event = make_event(EvidenceAddedV1(
            evidence_id=evidence, recommendation_ids=[rec], source_type=EvidenceSourceType.MEDIA,
            title=f"Bench evidence {n}", visibility=Visibility.PUBLIC, review_state=ReviewState.APPROVED),
            source="tracker")
        await producer.send(topics.tracker_events, event.to_bytes(), key=rec.encode())
    await producer.flush()
    publish_s = time.monotonic() - started

    def mine() -> list[Any]:
        return [r for r in receiver.received[seen_before:] if r.delivery_id in expected]

    # An overloaded step is given up once its backlog is clearly not draining in time.
    deadline = time.monotonic() + max(30.0, seconds)
    while len({r.delivery_id for r in mine() if r.signature_ok}) < total and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    arrived = [r for r in mine() if r.signature_ok and 200 <= r.answered < 300]
    distinct = {r.delivery_id for r in arrived}
    latencies = [
        (r.received_at - datetime.fromisoformat(json.loads(r.body)["occurred_at"]).timestamp()) * 1000
        for r in arrived
    ]
    return Phase(rate=rate, events=total, received=len(distinct), duplicates=len(arrived) - len(distinct),
                 rate_achieved=round(total / publish_s, 1), latencies_ms=latencies)


async def _bench(rate: float, seconds: float, steps: Sequence[float], step_seconds: float) -> dict[str, float]:
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
    ladder: list[Phase] = []
    try:
        async with app:
            request = SubscriptionRequestedV1(subscription_id=SUBSCRIPTION, owner="partner",
                                              channel=Channel.WEBHOOK, webhook_url=receiver.url,
                                              event_kinds=["new_evidence"])
            await producer.send_and_wait(topics.notifier_commands,
                                         sign(make_event(request, source="bench", actor=ADMIN),
                                              settings.command_key).to_bytes())
            deadline = time.monotonic() + 30
            subscription = None
            while subscription is None and time.monotonic() < deadline:
                subscription = await mongo[settings.mongodb_db].notifier_subscriptions.find_one({"_id": SUBSCRIPTION})
                await asyncio.sleep(0.1)
            if subscription is None:
                raise RuntimeError("the notifier did not store the bench subscription")
            receiver.secret = SecretBox(webhook_secrets_key(settings)).secret_of(subscription)  # stored encrypted

            main = await _phase(producer, topics, receiver, "main", rate, seconds)
            for step in steps:
                await asyncio.sleep(1.0)  # let the previous part settle
                ladder.append(await _phase(producer, topics, receiver, f"step{int(step)}", step, step_seconds))
                if not ladder[-1].passed:
                    break
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

    latencies = main.latencies_ms
    figures = {
        "events": float(main.events),
        "webhooks_received": float(main.received),
        "duplicates": float(main.duplicates + sum(p.duplicates for p in ladder)),
        "bad_signatures": float(sum(1 for r in receiver.received if not r.signature_ok)),
        "rate_achieved_per_s": main.rate_achieved,
        "webhook_p50_ms": round(_percentile(latencies, 50), 1),
        "webhook_p90_ms": round(_percentile(latencies, 90), 1),
        "webhook_p99_ms": round(_percentile(latencies, 99), 1),
        "webhook_max_ms": round(max(latencies, default=float("nan")), 1),
        "webhook_mean_ms": round(statistics.fmean(latencies), 1) if latencies else float("nan"),
        # The highest rate of the ladder sustained with p99 < 1 s (0: not even the first step).
        "notifier_alerts_per_s": float(max((p.rate for p in ladder if p.passed), default=0.0)),
    }
    for p in ladder:
        figures[f"notifier_step_{int(p.rate)}_p99_ms"] = round(p.p99_ms, 1)
        figures[f"notifier_step_{int(p.rate)}_received"] = float(p.received)
    return figures


def run(
    rate: float = 50.0, seconds: float = 60.0, steps: Sequence[float] = DEFAULT_STEPS, step_seconds: float = 10.0,
) -> dict[str, float]:
    """Webhook latency at ``rate``/s for ``seconds``, then the highest sustained rate of ``steps``."""
    return asyncio.run(_bench(rate, seconds, steps, step_seconds))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Webhook latency and throughput (real notifier, Kafka, MongoDB)")
    parser.add_argument("--rate", type=float, default=50.0, help="events/s of the latency part")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the latency part")
    parser.add_argument("--steps", default=",".join(str(s) for s in DEFAULT_STEPS),
                        help="rates of the ladder, comma-separated ('' for none)")
    parser.add_argument("--step-seconds", type=float, default=10.0, help="length of each step of the ladder")
    args = parser.parse_args()
    ladder = [float(s) for s in args.steps.split(",") if s.strip()]
    print(json.dumps(run(args.rate, args.seconds, ladder, args.step_seconds), indent=2))
