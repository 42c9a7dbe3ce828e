"""Tracker configuration, read from the environment (UPR_*)."""

from __future__ import annotations

from contracts.settings import CommonSettings


class TrackerSettings(CommonSettings):
    tracker_host: str = "127.0.0.1"
    tracker_port: int = 8001
    # How long confirmed examples are cached before the tagger reloads them.
    examples_refresh_s: float = 30.0
