"""Publishes parsed rows to Kafka and waits until the tracker has stored them.

The wait reads the tracker's ``processed_messages`` receipts (documented read model in
contracts/documents.py): one receipt per message id, with the outcome.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from contracts import documents
from contracts.events import (
    Actor,
    EventEnvelope,
    EvidenceSubmittedV1,
    RecommendationImportedV1,
    make_event,
)
from contracts.kafka_access import client_options
from contracts.messaging import producer_compression
from contracts.sealed_text import seal, text_public_key
from contracts.settings import CommonSettings, require_trust_secrets
from contracts.signing import command_signer

SOURCE = "ingest"


@dataclass
class ImportOutcome:
    published: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    pending: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    # Rows the tracker could not place for sure (several candidates or a grey-band score),
    # and recommendations on which two sources disagree: for a reviewer, never guessed.
    ambiguous: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)


Publishable = RecommendationImportedV1 | EvidenceSubmittedV1


class KafkaImportPublisher:
    """One producer for a whole import: batched sends, then one flush."""

    def __init__(self, settings: CommonSettings) -> None:
        require_trust_secrets(settings, tokens=False)  # the CLI signs too: no placeholder key in production
        self._settings = settings
        self._producer = AIOKafkaProducer(
            **client_options(settings), acks="all", enable_idempotence=True,
            linger_ms=20, max_batch_size=256 * 1024, client_id="upr-ingest",
            compression_type=producer_compression(),  # rows compress ~5x: fewer bytes to the broker
        )

    async def __aenter__(self) -> KafkaImportPublisher:
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    async def publish(self, items: Iterable[tuple[int | None, Publishable]], *, import_id: str,
                      actor: Actor | None, progress: Callable[[int], None] | None = None) -> dict[str, int | None]:
        """Send every item; returns event id -> source row, for error reports."""
        topics = self._settings.topics
        signer, text_key = command_signer(self._settings), text_public_key(self._settings)
        rows: dict[str, int | None] = {}
        pending: list[asyncio.Future[Any]] = []
        for row, payload in items:
            if isinstance(payload, RecommendationImportedV1):
                topic, key = topics.recommendations_imported, payload.recommendation_id
            else:
                topic, key = topics.tracker_commands, payload.recommendation_ids[0]
            # Signed: the tracker stores only what the ingest (or the CLI on the host) vouches for.
            # Evidence text is sealed for the tracker (contracts/sealed_text.py); rows are public text.
            event = signer.sign(make_event(seal(payload, text_key), source=SOURCE, correlation_id=import_id,
                                           actor=actor))
            rows[str(event.event_id)] = row
            pending.append(await self._producer.send(
                topic, event.to_bytes(), key=key.encode(), headers=[("content-type", b"application/json")]))
            if len(pending) >= 5000:  # bound memory of in-flight futures
                await asyncio.gather(*pending)
                pending.clear()
            if progress is not None:
                progress(1)
        await self._producer.flush()
        await asyncio.gather(*pending)
        return rows


RECEIPT_CHUNK = 1000  # message ids asked for per query


async def wait_for_tracker(
    settings: CommonSettings, import_id: str, rows: dict[str, int | None], *, timeout_s: float,
    progress: Callable[[int], None] | None = None,
) -> ImportOutcome:
    """Poll the tracker's receipts for this import until all arrived or time runs out.

    Receipts are looked up by message id (the indexed ``_id``), oldest first, and each poll
    stops at the first chunk with none stored yet: counting "all receipts of this import"
    would make the database decode every one of them on each poll, and slow the very
    tracker we are waiting for.
    """
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_uri, tz_aware=True)
    receipts = client[settings.mongodb_db][documents.PROCESSED_MESSAGES]
    outcome = ImportOutcome(published=len(rows))
    pending = list(rows)  # publishing order
    try:
        deadline = time.monotonic() + timeout_s
        while pending:
            still: list[str] = []
            for start in range(0, len(pending), RECEIPT_CHUNK):
                chunk = pending[start:start + RECEIPT_CHUNK]
                found = {doc["_id"]: doc async for doc in receipts.find(
                    {"_id": {"$in": chunk}}, {"outcome": 1, "error": 1, "ambiguous": 1, "conflicts": 1,
                                              "recommendation_id": 1})}
                done = {mid: doc for mid, doc in found.items() if doc.get("outcome") != "parked"}
                for mid in chunk:
                    doc = done.get(mid)
                    if doc is None:
                        still.append(mid)
                    else:
                        count_receipt(outcome, rows.get(mid), doc)
                if progress is not None and done:
                    progress(len(done))
                if not found:  # later messages are not stored yet either: ask again next poll
                    still.extend(pending[start + RECEIPT_CHUNK:])
                    break
            pending = still
            if not pending or time.monotonic() > deadline:
                break
            await asyncio.sleep(min(2.0, 0.2 + len(pending) / 20000))
        outcome.pending = len(pending)
    finally:
        await client.close()
    return outcome


def count_receipt(outcome: ImportOutcome, row: int | None, receipt: dict[str, Any]) -> None:
    """Count one row's receipt (or its preview, same shape) into the outcome."""
    name = receipt.get("outcome")
    if receipt.get("conflicts"):
        rec_id = receipt.get("recommendation_id")
        if rec_id is None or all(c.get("recommendation_id") != rec_id for c in outcome.conflicts):
            outcome.conflicts.append({"row": row, "recommendation_id": rec_id, "fields": receipt["conflicts"]})
    if name == "ambiguous":
        outcome.ambiguous.append({**(receipt.get("ambiguous") or {}), "row": row})
        return
    if name in ("created", "stored"):
        outcome.imported += 1
    elif name in ("updated", "unchanged"):
        setattr(outcome, name, getattr(outcome, name) + 1)
    elif name == "rejected":
        outcome.rejected += 1
        if len(outcome.errors) < 1000:
            outcome.errors.append({"row": row, "field": None,
                                   "message": f"rejected by the tracker: {receipt.get('error')}"})


async def publish_and_wait_async(
    items: Iterable[tuple[int | None, Publishable]], settings: CommonSettings, import_id: str, *,
    actor: Actor | None = None, wait: bool = True, timeout_s: float | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportOutcome:
    async with KafkaImportPublisher(settings) as publisher:
        rows = await publisher.publish(items, import_id=import_id, actor=actor, progress=progress)
    if not wait:
        return ImportOutcome(published=len(rows), pending=len(rows))
    # Generous by default: a busy tracker on the embedded server stores a few hundred a second.
    budget = timeout_s if timeout_s is not None else 60 + len(rows) / 20
    return await wait_for_tracker(settings, import_id, rows, timeout_s=budget)


def publish_and_wait(
    items: Iterable[Any], settings: CommonSettings, import_id: str, **kwargs: Any
) -> ImportOutcome:
    """Sync entry point for the CLI. ``items`` are ParsedRow/ParsedEvidence or (row, payload) pairs."""
    return asyncio.run(publish_and_wait_async(_pairs(items), settings, import_id, **kwargs))


def _pairs(items: Iterable[Any]) -> Iterable[tuple[int | None, Publishable]]:
    for item in items:
        if isinstance(item, tuple):
            yield item
        elif hasattr(item, "recommendation"):
            yield item.row, item.recommendation
        elif hasattr(item, "evidence"):
            yield item.row, item.evidence
        elif isinstance(item, RecommendationImportedV1 | EvidenceSubmittedV1):
            yield item.source.row if isinstance(item, RecommendationImportedV1) else None, item


__all__ = ["EventEnvelope", "ImportOutcome", "KafkaImportPublisher", "publish_and_wait", "publish_and_wait_async"]
