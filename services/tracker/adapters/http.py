"""The tracker's small HTTP API next to its Kafka consumers: report exports."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route

from services.tracker.settings import TrackerSettings


def http_api(settings: TrackerSettings) -> Starlette:
    return Starlette(routes=list[Route]())
