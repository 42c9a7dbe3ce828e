"""Posting signed webhooks with httpx, behind the SSRF guard."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from services.notifier.domain.endpoints import check_endpoint, host_of
from services.notifier.domain.signature import DELIVERY_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, sign


@dataclass(frozen=True)
class WebhookResponse:
    status_code: int
    latency_ms: float


class WebhookSender:
    def __init__(self, allowlist: Sequence[str], timeout_s: float) -> None:
        self.allowlist = list(allowlist)
        # No redirects: a 3xx to an internal address would bypass the guard.
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s), follow_redirects=False,
            headers={"User-Agent": "UPR-Tracker-Notifier/1"},
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def check(self, url: str) -> None:
        """Raise UnsafeEndpoint if the URL may not be called (resolves the host now)."""
        host = host_of(url)
        port = urlsplit(url).port or (443 if url.lower().startswith("https") else 80)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror:
            infos = []
        check_endpoint(url, sorted({str(info[4][0]) for info in infos}), self.allowlist)

    async def post(
        self, url: str, secret: str, body: bytes, *, delivery_id: str, event_type: str,
        extra_headers: dict[str, str] | None = None,
    ) -> WebhookResponse:
        """One attempt. Checks the endpoint again (DNS may have changed since subscribing)."""
        await self.check(url)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret, body, int(time.time())),
            DELIVERY_HEADER: delivery_id,
            EVENT_TYPE_HEADER: event_type,
            **(extra_headers or {}),
        }
        started = time.perf_counter()
        response = await self.client.post(url, content=body, headers=headers)
        return WebhookResponse(response.status_code, (time.perf_counter() - started) * 1000)
