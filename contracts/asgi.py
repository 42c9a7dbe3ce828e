"""AsgiFastStream with a Starlette API beside the broker.

FastStream's ASGI routes match exact paths only; the services' small HTTP APIs need
path parameters, so requests no FastStream route claims go to a Starlette app.
"""

from __future__ import annotations

from typing import Any

from faststream.asgi import AsgiFastStream


class ServiceApp(AsgiFastStream):
    def __init__(self, *brokers: Any, http_api: Any = None, **kwargs: Any) -> None:
        super().__init__(*brokers, **kwargs)
        self._http_api = http_api

    async def not_found(self, scope: Any, receive: Any, send: Any) -> None:
        if self._http_api is not None and scope["type"] == "http":
            await self._http_api(scope, receive, send)
            return
        await super().not_found(scope, receive, send)
