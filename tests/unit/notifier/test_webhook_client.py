"""The notifier's webhook client (aiohttp) against small servers on loopback: what it sends,
where it connects, when it reuses a connection, and what it refuses to send."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest

from services.notifier.adapters.webhook import WebhookSender
from services.notifier.domain.endpoints import UnsafeEndpoint
from services.notifier.domain.signature import verify_signature

Answer = Callable[[int], bytes]  # request number on this connection -> raw answer


@dataclass
class Server:
    answer: Answer
    close_after: int | None = None  # close the connection after this many answers
    delay_s: float = 0.0
    requests: list[tuple[int, str, dict[str, str], bytes]] = field(default_factory=list)  # (conn, line, headers, body)
    connections: int = 0
    port: int = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        conn, served = self.connections, 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line, *rest = head.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in rest if h)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append((conn, line, headers, body))
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                writer.write(self.answer(served))
                await writer.drain()
                served += 1
                if self.close_after is not None and served >= self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Server], Awaitable[Server]]]:
    servers: list[asyncio.Server] = []

    async def start(server: Server) -> Server:
        listening = await asyncio.start_server(server.serve, "127.0.0.1", 0)
        server.port = int(listening.sockets[0].getsockname()[1])
        servers.append(listening)
        return server

    yield start
    for listening in servers:
        listening.close()


def ok(_: int) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def post(sender: WebhookSender, url: str, body: bytes = b'{"a": 1}') -> int:
    response = await sender.post(url, "secret", body, delivery_id="d-1", event_type="evidence.added",
                                 extra_headers={"X-UPR-Alert-Kind": "new_evidence"})
    return response.status_code


async def test_a_post_carries_the_body_the_signature_and_the_headers(
    serve: Callable[[Server], Awaitable[Server]],
) -> None:
    server = await serve(Server(ok))
    sender = WebhookSender(["127.0.0.1"], timeout_s=2)
    assert await post(sender, f"http://127.0.0.1:{server.port}/hooks/upr?x=1") == 200
    await sender.close()
    [(_, line, headers, body)] = server.requests
    assert line == "POST /hooks/upr?x=1 HTTP/1.1"
    assert body == b'{"a": 1}'
    assert headers["host"] == f"127.0.0.1:{server.port}"
    assert headers["content-type"] == "application/json"
    assert headers["x-upr-delivery"] == "d-1" and headers["x-upr-event-type"] == "evidence.added"
    assert headers["x-upr-alert-kind"] == "new_evidence"
    assert headers["user-agent"].startswith("UPR-Tracker-Notifier")
    verify_signature("secret", headers["x-upr-signature"], body, delivery_id="d-1", event_type="evidence.added")


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\n\r\n",
    b"HTTP/1.1 204 No Content\r\n\r\n",
])
async def test_answers_are_read_whole_and_the_connection_reused(
    serve: Callable[[Server], Awaitable[Server]], answer: bytes,
) -> None:
    server = await serve(Server(lambda _: answer))
    sender = WebhookSender(["127.0.0.1"], timeout_s=2)
    codes = [await post(sender, f"http://127.0.0.1:{server.port}/h") for _ in range(3)]
    await sender.close()
    assert len(set(codes)) == 1 and 200 <= codes[0] < 300
    assert server.connections == 1  # kept alive between the posts


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.0 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n",
])
async def test_a_connection_the_endpoint_closes_is_not_reused(
    serve: Callable[[Server], Awaitable[Server]], answer: bytes,
) -> None:
    server = await serve(Server(lambda _: answer, close_after=1))
    sender = WebhookSender(["127.0.0.1"], timeout_s=2)
    assert [await post(sender, f"http://127.0.0.1:{server.port}/h") for _ in range(2)] == [500, 500]
    await sender.close()
    assert server.connections == 2


async def test_a_keep_alive_connection_closed_while_idle_is_replaced_and_the_post_goes_through(
    serve: Callable[[Server], Awaitable[Server]],
) -> None:
    # The server closes after each answer without saying so: the next post finds a dead connection.
    server = await serve(Server(ok, close_after=1))
    sender = WebhookSender(["127.0.0.1"], timeout_s=2)
    url = f"http://127.0.0.1:{server.port}/h"
    assert await post(sender, url) == 200
    await asyncio.sleep(0.05)
    assert await post(sender, url) == 200
    await sender.close()
    assert len(server.requests) == 2 and server.connections == 2


async def test_an_endpoint_slower_than_the_timeout_is_a_timeout(serve: Callable[[Server], Awaitable[Server]]) -> None:
    server = await serve(Server(ok, delay_s=2.0))
    sender = WebhookSender(["127.0.0.1"], timeout_s=0.2)
    with pytest.raises(TimeoutError):
        await post(sender, f"http://127.0.0.1:{server.port}/h")
    await sender.close()


async def test_garbage_instead_of_http_is_an_error(serve: Callable[[Server], Awaitable[Server]]) -> None:
    server = await serve(Server(lambda _: b"SSH-2.0-OpenSSH\r\n\r\n"))
    sender = WebhookSender(["127.0.0.1"], timeout_s=2)
    with pytest.raises(aiohttp.ClientResponseError):
        await post(sender, f"http://127.0.0.1:{server.port}/h")
    await sender.close()


async def test_the_guard_still_applies_and_nothing_can_smuggle_a_header() -> None:
    sender = WebhookSender([], timeout_s=1)
    with pytest.raises(UnsafeEndpoint, match="https"):
        await post(sender, "http://127.0.0.1:9/h")
    with pytest.raises(UnsafeEndpoint, match="internal address"):
        await post(sender, "https://169.254.169.254/latest/meta-data")
    allowed = WebhookSender(["127.0.0.1"], timeout_s=1)
    with pytest.raises(UnsafeEndpoint, match="spaces or control"):
        await post(allowed, "http://127.0.0.1:9/h\r\nX-Evil: 1")
    with pytest.raises(UnsafeEndpoint, match="line break"):
        await allowed.post("http://127.0.0.1:9/h", "s", b"{}", delivery_id="d\r\nX-Evil: 1", event_type="e")


async def test_a_redirect_is_not_followed(serve: Callable[[Server], Awaitable[Server]]) -> None:
    elsewhere = await serve(Server(ok))
    server = await serve(Server(lambda _: (f"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{elsewhere.port}/x\r\n"
                                           "Content-Length: 0\r\n\r\n").encode()))
    sender = WebhookSender(["127.0.0.1"], timeout_s=2)
    assert await post(sender, f"http://127.0.0.1:{server.port}/h") == 302
    await sender.close()
    assert elsewhere.requests == []


async def test_the_post_goes_to_the_address_the_guard_checked_with_the_name_in_the_host_header(
    serve: Callable[[Server], Awaitable[Server]],
) -> None:
    # The name resolves once, through the guard; aiohttp is handed the address, so a DNS answer
    # that changes after the check (rebinding) is never used. "partner.invalid" has no DNS at all:
    # any second lookup would fail the post.
    server = await serve(Server(ok))
    lookups: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    sender = WebhookSender(["partner.invalid"], timeout_s=2, resolver=resolver)
    assert await post(sender, f"http://partner.invalid:{server.port}/hook") == 200
    await sender.close()
    assert lookups == ["partner.invalid"]
    [(_, line, headers, _)] = server.requests
    assert line == "POST /hook HTTP/1.1" and headers["host"] == f"partner.invalid:{server.port}"


async def test_a_name_that_resolves_to_an_internal_address_is_refused_before_connecting() -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "10.0.0.5"]  # one public, one internal: refused

    sender = WebhookSender([], timeout_s=2, resolver=resolver)
    with pytest.raises(UnsafeEndpoint, match=r"10\.0\.0\.5"):
        await post(sender, "https://partner.invalid/hook")
    await sender.close()


async def test_a_name_is_checked_again_on_every_post_while_an_address_is_checked_once(
    serve: Callable[[Server], Awaitable[Server]],
) -> None:
    # The check of a URL whose host is an address is remembered (it cannot change); a name's
    # answer can, so a name is resolved and checked again on the next post.
    server = await serve(Server(ok))
    answers: list[list[str]] = [["127.0.0.1"], []]

    async def resolver(host: str, port: int) -> list[str]:
        return answers.pop(0)

    sender = WebhookSender(["partner.invalid", "127.0.0.1"], timeout_s=2, resolver=resolver)
    assert await post(sender, f"http://partner.invalid:{server.port}/hook") == 200
    with pytest.raises(UnsafeEndpoint, match="does not resolve"):
        await post(sender, f"http://partner.invalid:{server.port}/hook")
    assert [await post(sender, f"http://127.0.0.1:{server.port}/hook") for _ in range(2)] == [200, 200]
    with pytest.raises(UnsafeEndpoint, match="https"):  # a refusal is not remembered as a pass
        await post(sender, f"http://127.0.0.2:{server.port}/hook")
    await sender.close()
