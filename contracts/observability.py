"""Prometheus metrics every service exposes on /metrics, with the same names."""

from __future__ import annotations

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
