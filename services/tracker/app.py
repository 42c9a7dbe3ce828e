"""Tracker service: FastStream wiring only (the batch logic lives in ``inbox.py``, dead-lettering
and parked commands in ``bus.py``).

    faststream run services.tracker.app:app --host 127.0.0.1 --port 8001
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from faststream import AckPolicy
from faststream.asgi import make_ping_asgi
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.specification import AsyncAPI
from prometheus_client import make_asgi_app

from contracts import topics as t
from contracts.asgi import ServiceApp
from contracts.events import EventEnvelope
from contracts.kafka_access import broker_security, client_options
from contracts.logs import configure_logging
from contracts.messaging import batch_failure_middleware, batch_records, producer_compression, raw_bodies
from contracts.observability import FAILURES, report_consumer_lag
from contracts.settings import InsecureSettings, require_trust_secrets
from contracts.signing import command_keys
from services.tracker import handlers
from services.tracker.adapters.dashboard_store import DashboardStore
from services.tracker.adapters.examples import ExamplesCache
from services.tracker.adapters.http import http_api
from services.tracker.adapters.mongo import MongoTrackerRepository
from services.tracker.adapters.public_store import PublicProjectionStore
from services.tracker.adapters.recent_receipts import RecentReceipts
from services.tracker.adapters.stale_marks import MongoStaleMarks
from services.tracker.adapters.tagger import load_tagger
from services.tracker.adapters.text_keys import TextKeys, text_keks
from services.tracker.bus import dead_letter_and_record, expire_parked
from services.tracker.inbox import SERVICE, TrackerInbox
from services.tracker.projections import Backlog, ProjectionKeeper
from services.tracker.settings import TrackerSettings

log = logging.getLogger("upr.tracker")
JSON_HEADERS = {"content-type": "application/json"}


def build_app(
    settings: TrackerSettings | None = None, tagger: handlers.ThemeTagger | None = None
) -> ServiceApp:
    settings = settings or TrackerSettings()
    configure_logging(settings.log_level, json_output=settings.log_json)
    require_trust_secrets(settings)
    try:
        keks = text_keks(settings)
    except ValueError as exc:
        raise InsecureSettings(str(exc)) from None
    topics = settings.topics
    # One memory of receipts for the inbox that writes them and the HTTP API that answers for them.
    recent_receipts = RecentReceipts(settings.recent_receipts)
    repo = MongoTrackerRepository.connect(settings.mongodb_uri, settings.mongodb_db, settings.instance_id,
                                          recent_receipts)
    examples = ExamplesCache(repo, refresh_s=settings.examples_refresh_s)
    # The tagger is built at start-up, not import: loading rules and models takes a moment.
    deps = handlers.Deps(repo=repo, tagger=tagger, examples=examples.get, text_keys=TextKeys(repo.db, keks))

    broker = KafkaBroker(
        settings.kafka_bootstrap, security=broker_security(settings), acks="all", enable_idempotence=True,
        client_id="upr-tracker", log_level=logging.DEBUG,
        linger_ms=settings.publish_linger_ms, compression_type=producer_compression(),
        middlewares=[batch_failure_middleware(consumer=SERVICE, on_transient=lambda _: FAILURES.labels(SERVICE).inc())],
    )
    events_out = broker.publisher(
        topics.tracker_events, title="tracker-events",
        description="Facts the tracker stored: recommendation.updated, themes.tagged, evidence.added, "
        "evidence.reviewed, status.changed, cycle.deadline_set, cycle.publication_set, report.draft_saved",
        schema=EventEnvelope,
    )
    dead_letter_topic = topics.dead_letter(t.TRACKER_GROUP)

    async def publish(event: EventEnvelope, key: bytes | None) -> Any:
        # Not awaited here: the inbox awaits every send of a run at once (one flush). Serialised by
        # pydantic in one pass (not a dict, then json.dumps: 44 -> 27 us an event), with the event's
        # own correlation id (not a new uuid4 per message).
        return await events_out.publish(event.to_bytes(), key=key, headers=JSON_HEADERS,
                                        correlation_id=event.correlation_id, no_confirm=True)

    backlog = Backlog(full_batch=settings.batch_max_records)  # read models wait while it lasts
    inbox = TrackerInbox(deps, publish, dead_letter_and_record(broker, repo, dead_letter_topic),
                         command_keys=command_keys(settings), on_correction=examples.invalidate)

    @broker.subscriber(
        topics.recommendations_imported, topics.tracker_commands,
        group_id=settings.consumer_group, ack_policy=AckPolicy.NACK_ON_ERROR, auto_offset_reset="earliest",
        batch=True, max_records=settings.batch_max_records, batch_timeout_ms=settings.batch_timeout_ms,
        decoder=raw_bodies,
        title="tracker-inbox",
        description="recommendation.imported from ingest; commands from the UI and CLI (consumed in batches)",
    )
    async def on_batch(bodies: list[EventEnvelope | bytes], message: KafkaMessage) -> None:
        # The bodies arrive undecoded (raw_bodies); the annotation names the payload for the
        # AsyncAPI catalogue. The inbox reads each record itself and dead-letters bad ones alone.
        records = batch_records(message)
        with backlog.batch(len(records)):
            await inbox.handle_batch(records)

    # Read models kept from the tracker's own events (projections.py), each in a group of its own.
    marks = MongoStaleMarks(repo.db)
    dashboard = ProjectionKeeper("dashboard", DashboardStore(repo.db), marks,
                                 min_interval_s=settings.dashboard_min_interval_s,
                                 max_share=settings.dashboard_max_share, max_pause_s=600.0, busy=backlog)
    _keep(broker, settings, dashboard, "dashboard",
          "the tracker's own events: recount the Dashboard's figures of what they touched")
    public = ProjectionKeeper("public projection", PublicProjectionStore(repo.db), marks,
                              max_share=settings.public_max_share, max_pause_s=60.0, busy=backlog)
    _keep(broker, settings, public, "public",
          "the tracker's own events: recount the public list's rows of what they touched")

    background: list[asyncio.Task[None]] = []

    async def on_startup() -> None:
        if deps.tagger is None:
            deps.tagger = load_tagger()
        await repo.ensure_indexes()
        await dashboard.start()
        await public.start()
        background.append(asyncio.create_task(
            report_consumer_lag(client_options(settings), settings.consumer_group, SERVICE)))
        background.append(asyncio.create_task(expire_parked(
            broker, repo, dead_letter_topic=dead_letter_topic, commands_topic=topics.tracker_commands,
            park_timeout_s=settings.park_timeout_s)))

    async def on_shutdown() -> None:
        for task in background:
            task.cancel()
        await dashboard.stop()
        await public.stop()
        await repo.close()

    return ServiceApp(
        broker,
        http_api=http_api(settings, recent_receipts), auth_secret=settings.auth_secret,
        # The read API serves anonymous callers the public projection (domain/publication.py).
        public_prefixes=("/api/v1/",),
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


def _keep(broker: KafkaBroker, settings: TrackerSettings, keeper: ProjectionKeeper, name: str,
          description: str) -> None:
    """A consumer of ``tracker.events`` (group ``<consumer group>-<name>``) that hands each
    batch to ``keeper``."""

    @broker.subscriber(
        settings.topics.tracker_events,
        group_id=f"{settings.consumer_group}-{name}", ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest", batch=True, max_records=settings.batch_max_records,
        batch_timeout_ms=settings.batch_timeout_ms, decoder=raw_bodies,
        # A batch only marks cycles: fewer, larger ones (the broker waits up to half a second for
        # 256 KB) write fewer marks while a bulk import streams events in.
        fetch_min_bytes=256 * 1024, fetch_max_wait_ms=500,
        title=f"tracker-{name}", description=description,
    )
    async def on_events(bodies: list[EventEnvelope | bytes], message: KafkaMessage) -> None:
        raw = message.raw_message
        await keeper.handle_batch([record.value for record in (raw if isinstance(raw, tuple) else (raw,))])


app = build_app()
