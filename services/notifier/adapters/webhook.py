"""Posting signed webhooks over one pooled HTTP/1.1 client, behind the SSRF guard.

The client is small on purpose: a webhook is one POST whose answer matters only by its
status code. It keeps idle keep-alive connections per endpoint (``scheme://host:port``) and
reuses them, connects to the very address the guard approved (no second DNS lookup for the
connection, so no rebinding between check and connect), speaks TLS with the host name for
SNI and certificate checks, follows no redirects, and bounds every attempt by one timeout.
httpx did the same at several milliseconds of CPU per request (its connection pool walks
every connection on each request); this does it at a fraction of a millisecond, which is
what lets one notifier keep up with hundreds of alerts a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from services.notifier.domain.endpoints import UnsafeEndpoint, check_endpoint, host_of
from services.notifier.domain.signature import DELIVERY_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, sign

USER_AGENT = "UPR-Tracker-Notifier/1"
_MAX_HEADER_BYTES = 64 * 1024
_MAX_BODY_BYTES = 1024 * 1024  # an answer's body is read (to reuse the connection), never kept
_IDLE_S = 30.0  # idle connections older than this are closed rather than reused


class WebhookProtocolError(Exception):
    """The endpoint's answer is not HTTP/1.x we can read (a failed attempt, retried)."""


@dataclass(frozen=True)
class WebhookResponse:
    status_code: int
    latency_ms: float


@dataclass(frozen=True)
class Target:
    """Where one URL is posted: the approved address, and what goes in the request line."""

    key: str  # scheme://host:port: connections are pooled per key
    scheme: str
    host: str
    port: int
    address: str
    target: str  # path?query
    host_header: str


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    address: str
    idle_since: float = field(default_factory=time.monotonic)

    def usable(self, address: str) -> bool:
        return (self.address == address and not self.reader.at_eof() and not self.writer.is_closing()
                and time.monotonic() - self.idle_since < _IDLE_S)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class WebhookSender:
    def __init__(self, allowlist: Sequence[str], timeout_s: float, max_idle_per_endpoint: int = 16) -> None:
        """How many requests run at once is the dispatcher's business (its slots); this keeps
        up to ``max_idle_per_endpoint`` connections open between them."""
        self.allowlist = list(allowlist)
        self.timeout_s = timeout_s
        self.max_idle_per_endpoint = max_idle_per_endpoint
        self._idle: dict[str, list[_Connection]] = {}
        self._tls = ssl.create_default_context()

    async def close(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    async def check(self, url: str) -> None:
        """Raise UnsafeEndpoint if the URL may not be called (resolves the host now)."""
        await self.resolve(url)

    async def resolve(self, url: str) -> Target:
        """Check the URL and its addresses against the guard; the address to connect to."""
        host = host_of(url)
        parts = urlsplit(url)
        if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
            raise UnsafeEndpoint("webhook URL may not contain spaces or control characters")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:  # an address needs no resolving
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except socket.gaierror:
                infos = []
            addresses = sorted({str(info[4][0]) for info in infos})
        check_endpoint(url, addresses, self.allowlist)
        default_port = port == (443 if parts.scheme == "https" else 80)
        bracketed = f"[{host}]" if ":" in host else host
        return Target(
            key=f"{parts.scheme}://{host}:{port}", scheme=parts.scheme, host=host, port=port, address=addresses[0],
            target=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
            host_header=bracketed if default_port else f"{bracketed}:{port}",
        )

    async def post(
        self, url: str, secret: str, body: bytes, *, delivery_id: str, event_type: str,
        extra_headers: dict[str, str] | None = None,
    ) -> WebhookResponse:
        """One attempt. Checks the endpoint again (DNS may have changed since subscribing)."""
        started = time.perf_counter()
        async with asyncio.timeout(self.timeout_s):
            target = await self.resolve(url)
            headers = {
                "Host": target.host_header,
                "User-Agent": USER_AGENT,
                "Content-Type": "application/json",
                "Content-Length": str(len(body)),
                SIGNATURE_HEADER: sign(secret, body, int(time.time())),
                DELIVERY_HEADER: delivery_id,
                EVENT_TYPE_HEADER: event_type,
                **(extra_headers or {}),
            }
            for name, value in headers.items():
                if any(c in name + value for c in "\r\n\0"):
                    raise UnsafeEndpoint(f"header {name} carries a line break")
            request = (f"POST {target.target} HTTP/1.1\r\n"
                       + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode("latin-1") + body
            status = await self._exchange(target, request)
        return WebhookResponse(status, (time.perf_counter() - started) * 1000)

    async def _exchange(self, target: Target, request: bytes) -> int:
        connection = self._take_idle(target)
        if connection is not None:
            try:
                return await self._send_on(target, connection, request)
            except _StaleConnection:
                pass  # closed by the endpoint while idle, before answering: once more on a new connection
        return await self._send_on(target, await self._open(target), request, fresh=True)

    async def _send_on(self, target: Target, connection: _Connection, request: bytes, fresh: bool = False) -> int:
        try:
            connection.writer.write(request)
            await connection.writer.drain()
            status, keep = await _read_response(connection.reader)
        except (ConnectionError, _NoAnswer) as exc:
            # Nothing came back: on a reused connection the endpoint most likely closed it while
            # idle, so the request is sent once more on a new one.
            connection.close()
            if not fresh:
                raise _StaleConnection from exc
            if isinstance(exc, _NoAnswer):
                raise ConnectionResetError("the endpoint closed the connection without answering") from None
            raise
        except BaseException:
            connection.close()
            raise
        if keep:
            self._put_idle(target, connection)
        else:
            connection.close()
        return status

    def _take_idle(self, target: Target) -> _Connection | None:
        idle = self._idle.get(target.key)
        while idle:
            connection = idle.pop()
            if connection.usable(target.address):
                return connection
            connection.close()
        return None

    def _put_idle(self, target: Target, connection: _Connection) -> None:
        idle = self._idle.setdefault(target.key, [])
        if len(idle) >= self.max_idle_per_endpoint:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        idle.append(connection)

    async def _open(self, target: Target) -> _Connection:
        tls = self._tls if target.scheme == "https" else None
        reader, writer = await asyncio.open_connection(
            target.address, target.port, ssl=tls, server_hostname=target.host if tls else None,
            limit=_MAX_HEADER_BYTES)
        return _Connection(reader, writer, target.address)


class _StaleConnection(Exception):
    pass


class _NoAnswer(Exception):
    pass


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one HTTP/1.x answer: (status code, may the connection be reused)."""
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise _NoAnswer from None
            raise
        except asyncio.LimitOverrunError:
            raise WebhookProtocolError("answer headers too long") from None
        lines = head.decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise WebhookProtocolError(f"not an HTTP/1.x answer: {lines[0][:80]!r}")
        status = int(code)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if 100 <= status < 200:
            continue  # an interim answer (100 Continue): the real one follows
        keep = version != "HTTP/1.0" and "close" not in headers.get("connection", "").lower()
        if status in (204, 304):
            return status, keep
        if "chunked" in headers.get("transfer-encoding", "").lower():
            await _skip_chunked(reader)
            return status, keep
        if "content-length" in headers:
            try:
                length = int(headers["content-length"])
            except ValueError:
                raise WebhookProtocolError("bad Content-Length") from None
            if length < 0 or length > _MAX_BODY_BYTES:
                return status, False  # not worth reading: the connection is dropped instead
            await reader.readexactly(length)
            return status, keep
        return status, False  # the body runs until the endpoint closes: not reused


async def _skip_chunked(reader: asyncio.StreamReader) -> None:
    total = 0
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise WebhookProtocolError("bad chunk size") from None
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                pass
            return
        total += size
        if total > _MAX_BODY_BYTES:
            raise WebhookProtocolError("answer body too long")
        await reader.readexactly(size + 2)
