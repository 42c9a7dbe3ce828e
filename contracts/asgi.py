"""AsgiFastStream with a Starlette API beside the broker.

FastStream's ASGI routes match exact paths only; the services' small HTTP APIs need
path parameters, so requests no FastStream route claims go to a Starlette app. That app
sits behind :class:`contracts.auth.RequireToken`: only ``/health`` and ``/metrics`` (FastStream
routes) and the ``public_paths`` / ``public_prefixes`` a service names answer without a bearer token.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from faststream.asgi import AsgiFastStream

from contracts.auth import RequireToken


class ServiceApp(AsgiFastStream):
    def __init__(self, *brokers: Any, http_api: Any = None, auth_secret: str | None = None,
                 public_paths: Iterable[str] = (), public_prefixes: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*brokers, **kwargs)
        if http_api is not None:
            if not auth_secret:
                raise ValueError("a service's HTTP API needs auth_secret: no endpoint is left unauthenticated")
            http_api = RequireToken(http_api, secret=auth_secret, public_paths=public_paths,
                                    public_prefixes=public_prefixes)
        self._http_api = http_api

    async def not_found(self, scope: Any, receive: Any, send: Any) -> None:
        if self._http_api is not None and scope["type"] == "http":
            await self._http_api(scope, receive, send)
            return
        await super().not_found(scope, receive, send)
