"""Confirmed examples (recommendations people corrected) for the tagger, cached briefly."""

from __future__ import annotations

import time
from typing import Any

from services.tracker.adapters.mongo import MongoTrackerRepository


class ExamplesCache:
    def __init__(self, repo: MongoTrackerRepository, refresh_s: float = 30.0) -> None:
        self._repo = repo
        self._refresh_s = refresh_s
        self._loaded_at = float("-inf")
        self._examples: list[dict[str, Any]] = []

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")

    async def get(self) -> list[dict[str, Any]]:
        # Re-reading every message would cost a query per import row; corrections are rare.
        if time.monotonic() - self._loaded_at > self._refresh_s:
            self._examples = await self._repo.confirmed_examples()
            self._loaded_at = time.monotonic()
        return self._examples
