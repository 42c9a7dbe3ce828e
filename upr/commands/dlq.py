"""`upr dlq list|replay`: what a consumer could not process, and sending it back.

Messages land in a consumer's dead-letter topic (``upr.dlq.<group>``) through the shared
middleware (contracts/messaging.py), unchanged, with the reason in headers. ``list``
reads them without committing anything. ``replay`` republishes the original bytes to
the topic named in ``x-original-topic`` and commits its position in its own consumer
group, ``upr-dlq-replay-<consumer>``: each dead letter is replayed once, however many
times the command runs. A message that fails again is dead-lettered again, with the
new reason, and can be replayed again once its cause is fixed.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import typer

from contracts.kafka_access import client_options
from contracts.messaging import H_CONSUMER, H_FAILED_AT, H_OFFSET, H_PARTITION, H_REASON, H_TOPIC
from contracts.settings import CommonSettings
from contracts.topics import NOTIFIER_GROUP, TRACKER_GROUP

CONSUMERS = (TRACKER_GROUP, NOTIFIER_GROUP)
H_REPLAYED_AT = "x-dlq-replayed-at"


@dataclass
class DeadLetter:
    offset: int
    partition: int
    key: str | None
    reason: str
    consumer: str
    original_topic: str
    original_partition: str
    original_offset: str
    failed_at: str
    event_type: str | None
    event_id: str | None
    size: int


def replay_group(consumer: str) -> str:
    return f"upr-dlq-replay-{consumer}"


def _dead_letter(record: Any) -> DeadLetter:
    headers = {k: (v or b"").decode("utf-8", "replace") for k, v in (record.headers or [])}
    event_type = event_id = None
    try:
        data = json.loads(record.value)
        if isinstance(data, dict):
            event_type, event_id = data.get("type"), data.get("event_id")
    except (ValueError, TypeError):
        pass
    return DeadLetter(
        offset=record.offset, partition=record.partition,
        key=record.key.decode("utf-8", "replace") if record.key else None,
        reason=headers.get(H_REASON, ""), consumer=headers.get(H_CONSUMER, ""),
        original_topic=headers.get(H_TOPIC, ""), original_partition=headers.get(H_PARTITION, ""),
        original_offset=headers.get(H_OFFSET, ""), failed_at=headers.get(H_FAILED_AT, ""),
        event_type=event_type if isinstance(event_type, str) else None,
        event_id=str(event_id) if event_id is not None else None, size=len(record.value or b""),
    )


async def list_dead_letters(
    settings: CommonSettings, consumer: str, *, timeout_s: float = 10.0, expected: int = 0
) -> list[DeadLetter]:
    """Every message in the consumer's dead-letter topic (nothing is committed)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    topic = settings.topics.dead_letter(consumer)
    reader = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False,
                              group_id=None, auto_offset_reset="earliest")
    await reader.start()
    found: list[DeadLetter] = []
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(reader.partitions_for_topic(topic) or {0})]
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            ends = await reader.end_offsets(partitions)
            at_end = all([await reader.position(tp) >= ends[tp] for tp in partitions])
            if at_end and len(found) >= expected:
                break
            for records in (await reader.getmany(timeout_ms=300)).values():
                found.extend(_dead_letter(r) for r in records)
    finally:
        await reader.stop()
    return found


async def replay_dead_letters(
    settings: CommonSettings, consumer: str, *, limit: int | None = None, timeout_s: float = 15.0
) -> int:
    """Republish dead letters not replayed before to their original topic; returns how many."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    topic = settings.topics.dead_letter(consumer)
    reader = AIOKafkaConsumer(topic, **client_options(settings), group_id=replay_group(consumer),
                              enable_auto_commit=False, auto_offset_reset="earliest")
    writer = AIOKafkaProducer(**client_options(settings), acks="all", enable_idempotence=True)
    await reader.start()
    await writer.start()
    replayed = 0
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline and (limit is None or replayed < limit):
            batch = await reader.getmany(timeout_ms=300, max_records=1)
            for tp, records in batch.items():
                for record in records:
                    replayed += await _replay_one(writer, record)
                    await reader.commit({TopicPartition(tp.topic, tp.partition): record.offset + 1})
            partitions = list(reader.assignment())
            if partitions and not batch:
                ends = await reader.end_offsets(partitions)
                if all([await reader.position(tp) >= ends[tp] for tp in partitions]):
                    break
    finally:
        await writer.stop()
        await reader.stop()
    return replayed


async def _replay_one(writer: Any, record: Any) -> int:
    headers = dict(record.headers or [])
    original = (headers.get(H_TOPIC) or b"").decode()
    if not original:
        typer.echo(f"offset {record.offset}: no {H_TOPIC} header, skipped", err=True)
        return 0
    replay_headers = [(k, v) for k, v in (record.headers or []) if k == "content-type"]
    replay_headers.append((H_REPLAYED_AT, datetime.now(UTC).isoformat().encode()))
    await writer.send_and_wait(original, record.value, key=record.key, headers=replay_headers)
    return 1


def _consumers(consumer: str | None) -> list[str]:
    if consumer is None:
        return list(CONSUMERS)
    if consumer not in CONSUMERS:
        raise typer.BadParameter(f"unknown consumer {consumer!r}; one of {', '.join(CONSUMERS)}")
    return [consumer]


def register(app: typer.Typer) -> None:
    dlq_app = typer.Typer(help="Dead-letter topics: messages a service could not process.", no_args_is_help=True)
    app.add_typer(dlq_app, name="dlq")

    @dlq_app.command("list")
    def list_(
        consumer: str | None = typer.Option(None, "--consumer", help="upr-tracker or upr-notifier (default: both)"),
        json_output: bool = typer.Option(False, "--json", help="one JSON document on stdout"),
    ) -> None:
        """Show dead letters with their reason and where they came from."""
        settings = CommonSettings()
        result = {c: asyncio.run(list_dead_letters(settings, c, timeout_s=10)) for c in _consumers(consumer)}
        if json_output:
            typer.echo(json.dumps({c: [asdict(d) for d in items] for c, items in result.items()}, ensure_ascii=False))
            return
        for name, items in result.items():
            typer.echo(f"{settings.topics.dead_letter(name)}: {len(items)} message(s)")
            for d in items:
                typer.echo(f"  #{d.offset} {d.failed_at[:19]} {d.event_type or '?'} from "
                           f"{d.original_topic}[{d.original_partition}]@{d.original_offset}")
                typer.echo(f"      {d.reason}")

    @dlq_app.command("replay")
    def replay(
        consumer: str | None = typer.Option(None, "--consumer", help="upr-tracker or upr-notifier (default: both)"),
        limit: int | None = typer.Option(None, "--limit", min=1, help="replay at most N messages per consumer"),
    ) -> None:
        """Send dead letters back to their original topic, each once."""
        settings = CommonSettings()
        for name in _consumers(consumer):
            count = asyncio.run(replay_dead_letters(settings, name, limit=limit))
            typer.echo(f"{name}: replayed {count} message(s) (consumer group {replay_group(name)})")
