"""Publishes parsed rows to Kafka and waits until the tracker has stored them.

The wait asks the tracker's HTTP API for its receipts (``POST /receipts``, one per message
id, with the outcome) through contracts/command_client.py, the client the UI and the CLI use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from contracts.command_client import (
    HEADERS,
    PARKED,
    CommandSigner,
    Receipt,
    ReceiptLookup,
    command_producer,
    partition_key,
    wait_for_receipts,
)
from contracts.events import (
    Actor,
    EventEnvelope,
    EvidenceSubmittedV1,
    RecommendationImportedV1,
)
from contracts.messaging import producer_compression
from contracts.settings import CommonSettings
from services.ingest.adapters.tracker import TrackerUnavailable, tracker_receipts
from services.ingest.domain.model import WARNING_PREFIX
from services.ingest.settings import IngestSettings

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
        self._settings = settings
        # The CLI signs too: no placeholder key in production (CommandSigner refuses one).
        self._signer = CommandSigner(settings, SOURCE)
        self._producer = command_producer(
            settings, "upr-ingest", linger_ms=20, max_batch_size=256 * 1024,
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
        rows: dict[str, int | None] = {}
        pending: list[asyncio.Future[Any]] = []
        for row, payload in items:
            topic = (topics.recommendations_imported if isinstance(payload, RecommendationImportedV1)
                     else topics.tracker_commands)
            # Signed: the tracker stores only what the ingest (or the CLI on the host) vouches for.
            # Evidence text is sealed for the tracker (contracts/sealed_text.py); rows are public text.
            event = self._signer.envelope(payload, actor, correlation_id=import_id)
            rows[str(event.event_id)] = row
            key = partition_key(payload)
            pending.append(await self._producer.send(
                topic, event.to_bytes(), key=key.encode() if key else None, headers=HEADERS))
            if len(pending) >= 5000:  # bound memory of in-flight futures
                await asyncio.gather(*pending)
                pending.clear()
            if progress is not None:
                progress(1)
        await self._producer.flush()
        await asyncio.gather(*pending)
        return rows


async def wait_for_tracker(
    receipts: ReceiptLookup, rows: dict[str, int | None], *, timeout_s: float,
    progress: Callable[[int], None] | None = None,
) -> ImportOutcome:
    """Wait for the tracker's receipts of an import until all arrived or time runs out (a
    parked evidence item is not done yet: it waits for its recommendation)."""
    outcome = ImportOutcome(published=len(rows))
    answered: set[str] = set()

    def counted(message_id: str, receipt: Receipt) -> None:
        answered.add(message_id)
        count_receipt(outcome, rows.get(message_id), receipt)
        if progress is not None:
            progress(1)

    try:
        await wait_for_receipts(
            receipts, list(rows), timeout_s=timeout_s, on_receipt=counted,
            final=lambda receipt: receipt.get("outcome") != PARKED,
            poll_s=lambda waiting: min(2.0, 0.2 + waiting / 20000))
    except (httpx.HTTPError, TrackerUnavailable) as exc:
        # Sent is sent: the rows are on Kafka and the tracker stores them when it can.
        outcome.errors.append({"row": None, "field": None, "message": f"{WARNING_PREFIX}the rows were sent, but "
                               f"the tracker could not say what it stored ({type(exc).__name__}: {exc})"})
    outcome.pending = len(rows) - len(answered)
    return outcome


def count_receipt(outcome: ImportOutcome, row: int | None, receipt: Receipt) -> None:
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
    items: Iterable[tuple[int | None, Publishable]], settings: IngestSettings, import_id: str, *,
    actor: Actor | None = None, wait: bool = True, timeout_s: float | None = None,
    progress: Callable[[int], None] | None = None, receipts: ReceiptLookup | None = None,
) -> ImportOutcome:
    async with KafkaImportPublisher(settings) as publisher:
        rows = await publisher.publish(items, import_id=import_id, actor=actor, progress=progress)
    if not wait:
        return ImportOutcome(published=len(rows), pending=len(rows))
    # Generous by default: a busy tracker on the embedded server stores a few hundred a second.
    budget = timeout_s if timeout_s is not None else 60 + len(rows) / 20
    lookup = receipts or tracker_receipts(settings, settings.tracker_url, actor)
    return await wait_for_tracker(lookup, rows, timeout_s=budget)


def publish_and_wait(
    items: Iterable[Any], settings: IngestSettings, import_id: str, **kwargs: Any
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
