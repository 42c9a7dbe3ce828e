"""Prometheus metrics every service exposes on /metrics, with the same names."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, Histogram

EVENTS_CONSUMED = Counter("upr_events_consumed_total", "Messages consumed", ["service", "type", "outcome"])
FAILURES = Counter("upr_failures_total", "Transient failures (message will be retried)", ["service"])
DEAD_LETTERED = Counter("upr_dead_lettered_total", "Messages sent to a dead-letter topic", ["service"])
CONSUMER_LAG = Gauge("upr_consumer_lag", "Messages not yet consumed", ["service", "topic"])
HANDLE_SECONDS = Histogram("upr_handle_seconds", "Time to handle one message", ["service"])
DELIVERY_LATENCY = Histogram(
    "upr_delivery_latency_seconds", "Event occurred -> alert delivered", ["channel"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


async def report_consumer_lag(
    kafka_options: dict[str, Any], group: str, service: str, interval_s: float = 15.0
) -> None:
    """Keep CONSUMER_LAG up to date: end offset minus the group's committed offset, per topic.

    Runs until cancelled; a failed round (broker restarting) is skipped, not fatal."""
    import asyncio
    import contextlib

    from aiokafka import AIOKafkaConsumer
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(client_id=f"{service}-lag", **kafka_options)
    probe = AIOKafkaConsumer(client_id=f"{service}-lag", enable_auto_commit=False, **kafka_options)
    try:
        await admin.start()
        await probe.start()
        while True:
            with contextlib.suppress(Exception):
                committed = await admin.list_consumer_group_offsets(group)
                if committed:
                    ends = await probe.end_offsets(list(committed))
                    lag: dict[str, int] = {}
                    for tp, meta in committed.items():
                        lag[tp.topic] = lag.get(tp.topic, 0) + max(0, ends.get(tp, 0) - max(meta.offset, 0))
                    for topic, value in lag.items():
                        CONSUMER_LAG.labels(service, topic).set(value)
            await asyncio.sleep(interval_s)
    finally:
        with contextlib.suppress(Exception):
            await probe.stop()
            await admin.close()
