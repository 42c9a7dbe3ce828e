"""Tracker service: FastStream wiring only.

    faststream run services.tracker.app:app --host 127.0.0.1 --port 8001
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from faststream import AckPolicy
from faststream.asgi import make_ping_asgi
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from prometheus_client import make_asgi_app

from contracts import topics as t
from contracts.asgi import ServiceApp
from contracts.events import (
    EventEnvelope,
    RecommendationImportedV1,
    ThemeCorrectionRequestedV1,
    deterministic_event_id,
    make_event,
    parse_event,
)
from contracts.logs import configure_logging
from contracts.messaging import (
    H_CONSUMER,
    H_FAILED_AT,
    H_REASON,
    H_TOPIC,
    Rejected,
    dead_letter_middleware,
)
from contracts.observability import (
    DEAD_LETTERED,
    EVENTS_CONSUMED,
    FAILURES,
    HANDLE_SECONDS,
    report_consumer_lag,
)
from contracts.topics import ensure_topics
from services.tracker import handlers
from services.tracker.adapters.examples import ExamplesCache
from services.tracker.adapters.http import http_api
from services.tracker.adapters.mongo import MongoTrackerRepository
from services.tracker.adapters.tagger import load_tagger
from services.tracker.settings import TrackerSettings

SERVICE = "tracker"
log = logging.getLogger("upr.tracker")


def build_app(
    settings: TrackerSettings | None = None, tagger: handlers.ThemeTagger | None = None
) -> ServiceApp:
    settings = settings or TrackerSettings()
    configure_logging(settings.log_level, json_output=settings.log_json)
    topics = settings.topics
    repo = MongoTrackerRepository.connect(settings.mongodb_uri, settings.mongodb_db, settings.instance_id)
    examples = ExamplesCache(repo, refresh_s=settings.examples_refresh_s)
    # The tagger is built at start-up, not import: loading rules and models takes a moment.
    deps = handlers.Deps(repo=repo, tagger=tagger, examples=examples.get)

    async def record_rejection(body: bytes, reason: str) -> None:
        DEAD_LETTERED.labels(SERVICE).inc()
        envelope = _envelope_or_none(body)
        if envelope is not None:  # let `upr import` and the UI see why their message failed
            await repo.mark_processed(str(envelope.event_id), consumer=SERVICE, type_=envelope.type,
                                      correlation_id=envelope.correlation_id, outcome="rejected", error=reason)

    broker = KafkaBroker(
        settings.kafka_bootstrap, acks="all", enable_idempotence=True, client_id="upr-tracker", log_level=logging.DEBUG,
        middlewares=[dead_letter_middleware(
            consumer=SERVICE, dead_letter_topic=topics.dead_letter(t.TRACKER_GROUP),
            on_dead_letter=record_rejection, on_transient=lambda _: FAILURES.labels(SERVICE).inc(),
        )],
    )
    events_out = broker.publisher(
        topics.tracker_events, title="tracker-events",
        description="Facts the tracker stored: recommendation.updated, themes.tagged, evidence.added, "
        "evidence.reviewed, status.changed, cycle.deadline_set, report.draft_saved",
        schema=EventEnvelope,
    )

    async def process(envelope: EventEnvelope) -> None:
        """Validate -> handle -> publish what it stored -> remember it was processed."""
        message_id = str(envelope.event_id)
        seen = await repo.processed(message_id)
        if seen is not None and seen.get("outcome") != "parked":
            EVENTS_CONSUMED.labels(SERVICE, envelope.type, "duplicate").inc()
            return
        _, payload = parse_event(envelope.model_dump(mode="json"))
        handler = handlers.HANDLERS.get(envelope.type)
        if handler is None:
            raise Rejected(f"the tracker does not handle {envelope.type!r}")
        started = time.perf_counter()
        try:
            outcome = await handler(envelope, payload, deps)
        except handlers.WaitingFor as waiting:
            await repo.park(envelope.model_dump(mode="json"), waiting.recommendation_ids)
            await repo.mark_processed(message_id, consumer=SERVICE, type_=envelope.type,
                                      correlation_id=envelope.correlation_id, outcome="parked", error=str(waiting))
            EVENTS_CONSUMED.labels(SERVICE, envelope.type, "parked").inc()
            return
        # One after the other: events about one recommendation keep their order in the partition.
        for index, (event_type, event_payload) in enumerate(outcome.events):
            event = make_event(
                event_payload, source=SERVICE, event_type=event_type, correlation_id=envelope.correlation_id,
                actor=envelope.actor, event_id=deterministic_event_id(envelope.event_id, index),
            )
            await events_out.publish(event.model_dump(mode="json"), key=_key(event_payload))
        await repo.mark_processed(message_id, consumer=SERVICE, type_=envelope.type,
                                  correlation_id=envelope.correlation_id, outcome=outcome.outcome)
        HANDLE_SECONDS.labels(SERVICE).observe(time.perf_counter() - started)
        EVENTS_CONSUMED.labels(SERVICE, envelope.type, outcome.outcome).inc()
        if isinstance(payload, RecommendationImportedV1) and outcome.outcome == "created":
            await release_parked(payload.recommendation_id)
        elif isinstance(payload, ThemeCorrectionRequestedV1):
            examples.invalidate()  # a correction is a new confirmed example: use it from the next message

    async def release_parked(recommendation_id: str) -> None:
        """Apply, in the order they happened, the messages that waited for this recommendation."""
        for parked in await repo.parked_for(recommendation_id):
            await process(EventEnvelope.model_validate(parked["envelope"]))
            if (await repo.processed(parked["_id"]) or {}).get("outcome") != "parked":
                await repo.unpark(parked["_id"])

    async def expire_parked() -> None:
        """Commands still waiting after the timeout refer to recommendations that do not exist."""
        while True:
            await asyncio.sleep(min(30.0, settings.park_timeout_s))
            try:
                cutoff = datetime.now(UTC) - timedelta(seconds=settings.park_timeout_s)
                for parked in await repo.parked_before(cutoff):
                    envelope = EventEnvelope.model_validate(parked["envelope"])
                    reason = f"unknown recommendation(s) {', '.join(parked['waiting_for'])}"
                    await broker.publish(envelope.to_bytes(), topic=topics.dead_letter(t.TRACKER_GROUP),
                                         key=str(envelope.event_id).encode(), headers={
                                             H_REASON: reason, H_CONSUMER: SERVICE, H_TOPIC: topics.tracker_commands,
                                             H_FAILED_AT: datetime.now(UTC).isoformat()})
                    await repo.mark_processed(str(envelope.event_id), consumer=SERVICE, type_=envelope.type,
                                              correlation_id=envelope.correlation_id, outcome="rejected",
                                              error=reason)
                    await repo.unpark(parked["_id"])
                    DEAD_LETTERED.labels(SERVICE).inc()
            except Exception as exc:  # database or broker away: try again next round
                log.warning("could not expire parked messages: %r", exc)

    @broker.subscriber(
        topics.recommendations_imported, topics.tracker_commands,
        group_id=settings.consumer_group, ack_policy=AckPolicy.NACK_ON_ERROR, auto_offset_reset="earliest",
        title="tracker-inbox",
        description="recommendation.imported from ingest; commands from the UI and CLI",
    )
    async def on_message(envelope: EventEnvelope) -> None:
        await process(envelope)

    background: list[asyncio.Task[None]] = []

    async def on_startup() -> None:
        if deps.tagger is None:
            deps.tagger = load_tagger()
        await ensure_topics(settings.kafka_bootstrap, topics)
        await repo.ensure_indexes()
        background.append(asyncio.create_task(
            report_consumer_lag(settings.kafka_bootstrap, settings.consumer_group, SERVICE)))
        background.append(asyncio.create_task(expire_parked()))

    async def on_shutdown() -> None:
        for task in background:
            task.cancel()
        await repo.close()

    return ServiceApp(
        broker,
        http_api=http_api(settings),
        asgi_routes=[
            ("/health", make_ping_asgi(broker, timeout=5.0)),
            ("/metrics", make_asgi_app()),
        ],
        on_startup=[on_startup],
        after_shutdown=[on_shutdown],
        specification=AsyncAPI(title="UPR Tracker: tracker", version="1.0.0",
                               description="System of record for recommendations, themes, evidence, "
                               "assessments and status history."),
    )


def _key(payload: Any) -> bytes | None:
    for name in ("recommendation_id", "evidence_id", "subscription_id"):
        value = getattr(payload, name, None)
        if value:
            return str(value).encode()
    return None


def _envelope_or_none(body: bytes) -> EventEnvelope | None:
    try:
        return EventEnvelope.model_validate_json(body)
    except ValueError:
        return None


app = build_app()
