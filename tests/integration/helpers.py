"""Small helpers for integration tests on the real broker and database."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts.events import Contract, EventEnvelope, make_event
from contracts.sealed_text import seal, text_public_key
from contracts.settings import CommonSettings
from contracts.signing import dev_signer, sign
from tests.kafka_harness import kafka_options


async def send(producer: AIOKafkaProducer, topic: str, event: EventEnvelope | bytes, key: bytes = b"k") -> None:
    value = event if isinstance(event, bytes) else event.to_bytes()
    await producer.send_and_wait(topic, value, key=key, headers=[("content-type", b"application/json")])


async def wait_for(
    predicate: Callable[[], Awaitable[Any]], timeout: float = 30.0, what: str = "condition", interval: float = 0.2
) -> Any:
    """Poll until true. Counting queries are costly on FerretDB: poll big collections slowly."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await predicate()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        await asyncio.sleep(interval)


async def read_topic(bootstrap: str, topic: str, expected: int, timeout: float = 20.0) -> list[Any]:
    """Read at least `expected` records from the start of a topic (or what came in time)."""
    consumer = AIOKafkaConsumer(topic, **kafka_options(bootstrap), auto_offset_reset="earliest",
                                group_id=f"reader-{uuid.uuid4().hex[:6]}")
    await consumer.start()
    records: list[Any] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(records) < expected and loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for part in batch.values():
                records.extend(part)
    finally:
        await consumer.stop()
    return records


def envelopes(records: list[Any]) -> list[EventEnvelope]:
    return [EventEnvelope.model_validate_json(r.value) for r in records]


@asynccontextmanager
async def serving_http(app: Any) -> AsyncIterator[str]:
    """A service app's HTTP API on a free loopback port (its address); the caller runs the app
    itself (``async with build_app(...)``), so uvicorn leaves the lifespan alone."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # up within ten seconds, or its error surfaces below
        if server.started or task.done():
            break
        await asyncio.sleep(0.02)
    if task.done():
        await task
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


COMMAND_KEY = CommonSettings().command_key  # the dev key the services under test verify with


def signed_event(payload: Contract, **fields: Any) -> EventEnvelope:
    """An envelope signed as the UI, the CLI or the ingest signs it (contracts.signing)."""
    return sign(make_event(payload, **fields), COMMAND_KEY)


def produced_by(component: str, payload: Contract, **fields: Any) -> EventEnvelope:
    """An envelope as ``component`` (ui, ingest, cli) sends it in dev mode: people's text sealed
    for the tracker (contracts.sealed_text), signed with the component's own dev key."""
    sealed = seal(payload, text_public_key(CommonSettings(env="dev")))
    return dev_signer(component).sign(make_event(sealed, source=fields.pop("source", component), **fields))
ROOT = Path(__file__).resolve().parents[2]


class ServiceProcess:
    """`faststream run <app>` as a real process, so a test can kill it with SIGKILL mid-stream."""

    def __init__(self, app: str, env: dict[str, str], log: Path, *, stop_timeout_s: float = 20.0) -> None:
        self.app, self.env, self.log, self.stop_timeout_s = app, env, log, stop_timeout_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = free_port()  # the same across restarts: `upr import` asks it for receipts

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "faststream", "run", self.app,
                 "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def process_log(request: Any) -> Path:
    """Where a test's service process writes its log (kept as a CI artefact)."""
    logs = ROOT / "test-artifacts" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    return logs / f"{request.node.name}.log"
