"""The tracker's small HTTP API next to its Kafka consumers (served by AsgiFastStream)."""

from __future__ import annotations

from typing import Any

from services.tracker.settings import TrackerSettings


def report_routes(settings: TrackerSettings) -> list[tuple[str, Any]]:
    return []
