"""Notifier service: FastStream wiring only.

    faststream run services.notifier.app:app --host 127.0.0.1 --port 8003
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime

from faststream import AckPolicy
from faststream.asgi import AsgiFastStream, make_ping_asgi
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.specification import AsyncAPI
from prometheus_client import make_asgi_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from contracts import topics as t
from contracts.asgi import ServiceApp
from contracts.events import (
    MAX_MESSAGE_BYTES,
    Contract,
    EventEnvelope,
    NotificationRequestedV1,
    SubscriptionCancelledV1,
    SubscriptionRequestedV1,
    deterministic_event_id,
    make_event,
    parse_event,
)
from contracts.kafka_access import broker_security
from contracts.logs import configure_logging
from contracts.messaging import Rejected, dead_letter_middleware
from contracts.observability import DEAD_LETTERED, EVENTS_CONSUMED, FAILURES, HANDLE_SECONDS
from services.notifier import handlers
from services.notifier.adapters.email import SmtpConfig, SmtpMailer
from services.notifier.adapters.mongo import MongoNotifierRepository
from services.notifier.adapters.templates import EmailTemplates
from services.notifier.adapters.tokens import InvalidToken
from services.notifier.adapters.webhook import WebhookSender
from services.notifier.settings import NotifierSettings

SERVICE = "notifier"
log = logging.getLogger("upr.notifier")


def build_app(
    settings: NotifierSettings | None = None, clock: Callable[[], datetime] | None = None
) -> AsgiFastStream:
    settings = settings or NotifierSettings()
    configure_logging(settings.log_level, json_output=settings.log_json)
    topics = settings.topics
    # Prefixed like the topics, so deployments (and test runs) sharing a broker never share a group.
    group = f"{settings.topic_prefix}{t.NOTIFIER_GROUP}"
    repo = MongoNotifierRepository.connect(settings.mongodb_uri, settings.mongodb_db)
    webhooks = WebhookSender(settings.webhook_allowlist, settings.webhook_timeout_s)

    async def record_rejection(body: bytes, reason: str) -> None:
        DEAD_LETTERED.labels(SERVICE).inc()
        envelope = _envelope_or_none(body)
        if envelope is not None:  # `upr subscriptions add` and the UI show why a command failed
            await repo.mark_processed(str(envelope.event_id), type_=envelope.type, outcome="rejected", error=reason)

    broker = KafkaBroker(
        settings.kafka_bootstrap, security=broker_security(settings), acks="all", enable_idempotence=True,
        client_id="upr-notifier",
        graceful_timeout=15.0,
        middlewares=[dead_letter_middleware(
            consumer=SERVICE, dead_letter_topic=topics.dead_letter(t.NOTIFIER_GROUP),
            on_dead_letter=record_rejection,
            on_transient=lambda _: FAILURES.labels(SERVICE).inc(),
        )],
    )
    notifications_out = broker.publisher(
        topics.notifications, title="notifications",
        description="notification.requested (the work queue, key = delivery id), "
        "notification.delivered and notification.failed (outcomes)",
        schema=EventEnvelope,
    )

    async def publish(payload: Contract, key: str, event_id: str | None) -> None:
        event = make_event(payload, source=SERVICE, event_id=deterministic_event_id(key, 0)
                           if event_id is None and isinstance(payload, NotificationRequestedV1) else None)
        await notifications_out.publish(event.model_dump(mode="json"), key=key.encode())

    deps = handlers.Deps(
        repo=repo,
        mailer=SmtpMailer(SmtpConfig(
            host=settings.smtp_host, port=settings.smtp_port, username=settings.smtp_username,
            password=settings.smtp_password, starttls=settings.smtp_starttls, use_tls=settings.smtp_use_tls,
            sender=settings.smtp_from, timeout_s=settings.smtp_timeout_s)),
        webhooks=webhooks,
        templates=EmailTemplates(),
        publish=publish,
        policy=handlers.Policy(
            secret=settings.notifier_secret, public_ui_url=settings.public_ui_url, smtp_from=settings.smtp_from,
            public_notifier_url=settings.public_notifier_url,
            attempts=settings.delivery_attempts, retry_base_s=settings.retry_base_s,
            retry_cap_s=settings.retry_cap_s, digest_hour_utc=settings.digest_hour_utc,
            digest_weekday=settings.digest_weekday, reminder_days=tuple(settings.reminder_days),
            subscriptions_refresh_s=settings.subscriptions_refresh_s),
        clock=clock or (lambda: datetime.now(UTC)),
        random=random.random,
    )

    @broker.subscriber(
        topics.notifier_commands,
        group_id=group, ack_policy=AckPolicy.NACK_ON_ERROR, auto_offset_reset="earliest",
        title="notifier-commands",
        description="subscription.requested / subscription.cancelled from the UI and CLI",
    )
    async def on_command(envelope: EventEnvelope, message: KafkaMessage) -> None:
        """Validate -> manage the subscription -> record the outcome (the CLI and UI wait on it)."""
        message_id = str(envelope.event_id)
        if await repo.processed(message_id):
            EVENTS_CONSUMED.labels(SERVICE, envelope.type, "duplicate").inc()
            return
        _check_size(message.body)
        _, payload = parse_event(envelope.model_dump(mode="json"))
        if isinstance(payload, SubscriptionRequestedV1):
            outcome = await handlers.subscription_requested(envelope, payload, deps)
        elif isinstance(payload, SubscriptionCancelledV1):
            outcome = await handlers.subscription_cancelled(envelope, payload, deps)
        else:
            raise Rejected(f"the notifier has no command {envelope.type!r}")
        await repo.mark_processed(message_id, type_=envelope.type, outcome=outcome)
        EVENTS_CONSUMED.labels(SERVICE, envelope.type, outcome).inc()

    @broker.subscriber(
        topics.tracker_events,
        group_id=group, ack_policy=AckPolicy.NACK_ON_ERROR, auto_offset_reset="earliest",
        max_workers=settings.event_workers,
        title="notifier-tracker-events",
        description="Tracker events to match against subscriptions",
    )
    async def on_tracker_event(envelope: EventEnvelope, message: KafkaMessage) -> None:
        """Validate -> update the projection, match, log deliveries. Idempotent by construction
        (upserts and deterministic delivery ids), so a redelivered event needs no receipt."""
        _check_size(message.body)
        _, payload = parse_event(envelope.model_dump(mode="json"))
        started = time.perf_counter()
        outcome = await handlers.tracker_event(envelope, payload, message.body, deps)
        HANDLE_SECONDS.labels(SERVICE).observe(time.perf_counter() - started)
        EVENTS_CONSUMED.labels(SERVICE, envelope.type, outcome).inc()

    @broker.subscriber(
        topics.notifications,
        group_id=group, ack_policy=AckPolicy.NACK_ON_ERROR, auto_offset_reset="earliest",
        max_workers=settings.delivery_workers,
        title="notifier-deliveries",
        description="notification.requested: send one logged delivery (email or signed webhook)",
    )
    async def on_notification(envelope: EventEnvelope, message: KafkaMessage) -> None:
        """Send what the delivery log says is still to send; outcome events are ignored here."""
        if envelope.type != "notification.requested":
            return
        _check_size(message.body)
        _, payload = parse_event(envelope.model_dump(mode="json"))
        assert isinstance(payload, NotificationRequestedV1)
        started = time.perf_counter()
        outcome = await handlers.deliver(payload, deps)
        HANDLE_SECONDS.labels(SERVICE).observe(time.perf_counter() - started)
        EVENTS_CONSUMED.labels(SERVICE, envelope.type, outcome).inc()

    scheduler: list[asyncio.Task[None]] = []

    async def scheduled_jobs_loop() -> None:
        while True:
            try:
                await handlers.run_scheduled_jobs(deps.clock(), deps)
            except Exception:
                log.exception("scheduled jobs failed; next run in %.0f s", settings.scheduler_interval_s)
            await asyncio.sleep(settings.scheduler_interval_s)

    async def on_startup() -> None:
        if settings.notifier_secret == NotifierSettings.model_fields["notifier_secret"].default:
            log.warning("UPR_NOTIFIER_SECRET is not set: unsubscribe links are signed with a placeholder")
        await repo.ensure_indexes()

    async def after_startup() -> None:
        if settings.scheduler_enabled:
            scheduler.append(asyncio.create_task(scheduled_jobs_loop(), name="notifier-scheduler"))

    async def on_shutdown() -> None:
        for task in scheduler:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        scheduler.clear()

    async def after_shutdown() -> None:
        await webhooks.close()
        await repo.close()

    app = ServiceApp(
        broker,
        http_api=unsubscribe_api(deps),
        asgi_routes=[
            ("/health", make_ping_asgi(broker, timeout=5.0)),
            ("/metrics", make_asgi_app()),
        ],
        on_startup=[on_startup],
        after_startup=[after_startup],
        on_shutdown=[on_shutdown],
        after_shutdown=[after_shutdown],
        specification=AsyncAPI(title="UPR Tracker: notifier", version="1.0.0",
                               description="Subscriptions, and alerts by email and signed webhook, "
                               "each delivered once."),
    )
    app.notifier_deps = deps  # type: ignore[attr-defined]  # for run_scheduled_jobs(app, now)
    return app


def unsubscribe_api(deps: handlers.Deps) -> Starlette:
    async def unsubscribe(request: Request) -> Response:
        """GET /unsubscribe?token=...: the link at the bottom of every alert email."""
        try:
            await handlers.unsubscribe_by_token(request.query_params.get("token", ""), deps)
        except InvalidToken as exc:
            return HTMLResponse(_page("Unsubscribe", str(exc)), status_code=400)
        return HTMLResponse(_page("Unsubscribed", "You will not receive these UPR Tracker alerts any more. "
                                  "/ អ្នកនឹងមិនទទួលបានការជូនដំណឹងទាំងនេះទៀតទេ។"))

    return Starlette(routes=[Route("/unsubscribe", unsubscribe, methods=["GET"])])


def _page(title: str, message: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>")


def _check_size(body: bytes) -> None:
    if len(body) > MAX_MESSAGE_BYTES:
        raise Rejected(f"message of {len(body)} bytes exceeds {MAX_MESSAGE_BYTES}")


def _envelope_or_none(body: bytes) -> EventEnvelope | None:
    if len(body) > MAX_MESSAGE_BYTES:
        return None
    try:
        return EventEnvelope.model_validate_json(body)
    except ValueError:
        return None


async def run_scheduled_jobs(app: AsgiFastStream, now: datetime) -> dict[str, int]:
    """Run the scheduler's jobs once, at ``now`` (tests and operators)."""
    deps: handlers.Deps = app.notifier_deps  # type: ignore[attr-defined]
    return await handlers.run_scheduled_jobs(now, deps)


app = build_app()
