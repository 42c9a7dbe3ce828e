"""A minimal webhook receiver that verifies UPR Tracker signatures.

The reference for partners (docs/webhooks.md), and the receiver the integration tests
and the latency bench run on loopback. Standard library only (asyncio streams): it
answers ``status`` (changeable at run time), optionally after ``delay_s`` (to play a
hanging endpoint), and keeps every request it got with the result of the signature check.

    python -m services.notifier.receiver --port 9100 --secret <subscription secret>
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from dataclasses import dataclass, field

from services.notifier.domain.signature import InvalidSignature, verify_signature

_REASONS = {200: "OK", 204: "No Content", 400: "Bad Request", 401: "Unauthorized", 500: "Internal Server Error",
            503: "Service Unavailable"}


@dataclass
class ReceivedWebhook:
    delivery_id: str
    event_type: str
    alert_kind: str
    body: bytes
    signature_ok: bool
    received_at: float  # time.time()
    answered: int


@dataclass
class WebhookReceiver:
    secret: str = ""
    status: int = 200
    delay_s: float = 0.0
    host: str = "127.0.0.1"
    port: int = 0
    tolerance_s: float = 300.0
    received: list[ReceivedWebhook] = field(default_factory=list)
    _server: asyncio.base_events.Server | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hooks/upr"

    def accepted(self) -> list[ReceivedWebhook]:
        """Requests answered 2xx with a valid signature: what the partner actually took in."""
        return [r for r in self.received if r.signature_ok and 200 <= r.answered < 300]

    async def start(self) -> WebhookReceiver:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def __aenter__(self) -> WebhookReceiver:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                received_at = time.time()
                try:
                    verify_signature(self.secret, headers.get("x-upr-signature", ""), body,
                                     delivery_id=headers.get("x-upr-delivery", ""),
                                     event_type=headers.get("x-upr-event-type", ""), tolerance_s=self.tolerance_s)
                    ok = True
                except InvalidSignature:
                    ok = False
                status = self.status if ok else 401
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                self.received.append(ReceivedWebhook(
                    delivery_id=headers.get("x-upr-delivery", ""), event_type=headers.get("x-upr-event-type", ""),
                    alert_kind=headers.get("x-upr-alert-kind", ""), body=body, signature_ok=ok,
                    received_at=received_at, answered=status))
                reason = _REASONS.get(status, "Status")
                writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\n\r\n".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()


async def _main(port: int, secret: str) -> None:
    async with WebhookReceiver(secret=secret, port=port, host="127.0.0.1") as receiver:
        print(f"listening on {receiver.url}")
        seen = 0
        while True:
            await asyncio.sleep(0.5)
            for item in receiver.received[seen:]:
                state = "verified" if item.signature_ok else "BAD SIGNATURE"
                print(f"{item.delivery_id} {item.event_type} {state} {len(item.body)} bytes")
            seen = len(receiver.received)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    asyncio.run(_main(args.port, args.secret))
