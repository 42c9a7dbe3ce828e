"""The public page's only data source: the tracker's read API, as an anonymous caller.

Going through the API (not MongoDB) means the public page can show nothing the API's
visibility rules (services/tracker/domain/publication.py) do not make public.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from contracts.public_api import (
    PageV1,
    PublicCycleV1,
    PublicRecommendationDetailV1,
    PublicRecommendationV1,
    PublicStatusV1,
    PublicThemeV1,
)

MAX_SHOWN = 2_000  # recommendations fetched for one view (a cycle holds a few hundred)


class ApiUnavailable(Exception):
    pass


class ReadApi:
    def __init__(self, tracker_url: str, timeout: float = 10.0) -> None:
        self.base = tracker_url.rstrip("/") + "/api/v1"
        self.timeout = timeout

    def _get(self, path: str, http: httpx.Client | None = None, **params: Any) -> Any:
        try:
            response = (http or httpx).get(self.base + path, timeout=self.timeout,
                                           params={k: v for k, v in params.items() if v not in (None, "")})
        except httpx.HTTPError as exc:
            raise ApiUnavailable(f"the tracker did not answer ({exc.__class__.__name__})") from None
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise ApiUnavailable(f"the tracker answered {response.status_code}")
        return response.json()

    def cycles(self) -> list[PublicCycleV1]:
        return [PublicCycleV1.model_validate(c) for c in self._get("/cycles") or []]

    def themes(self) -> list[PublicThemeV1]:
        return [PublicThemeV1.model_validate(t) for t in self._get("/themes") or []]

    def statuses(self) -> list[PublicStatusV1]:
        return [PublicStatusV1.model_validate(s) for s in self._get("/statuses") or []]

    def recommendations(self, *, cycle: int | None = None, theme: str | None = None, status: str | None = None,
                        q: str | None = None) -> tuple[list[PublicRecommendationV1], bool]:
        """Every matching recommendation (up to MAX_SHOWN), and whether there were more."""
        items: list[PublicRecommendationV1] = []
        cursor: str | None = None
        with httpx.Client() as http:  # one connection for every page (a client per call, none shared by threads)
            while len(items) < MAX_SHOWN:
                raw = self._get("/recommendations", http, cycle=cycle, theme=theme, status=status, q=q,
                                cursor=cursor, limit=100)
                page = PageV1[PublicRecommendationV1].model_validate(raw or {"items": []})
                items += page.items
                cursor = page.next_cursor
                if cursor is None:
                    return items, False
        return items[:MAX_SHOWN], True

    def recommendation(self, recommendation_id: str) -> PublicRecommendationDetailV1 | None:
        raw = self._get(f"/recommendations/{quote(recommendation_id, safe='')}")
        return None if raw is None else PublicRecommendationDetailV1.model_validate(raw)
