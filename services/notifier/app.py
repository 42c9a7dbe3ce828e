"""Notifier service: FastStream wiring only.

    faststream run services.notifier.app:app --host 127.0.0.1 --port 8003
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from faststream import AckPolicy
from faststream.asgi import AsgiFastStream, make_ping_asgi
from faststream.kafka import KafkaBroker, KafkaRouter
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
    Channel,
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
from contracts.messaging import (
    Rejected,
    batch_failure_middleware,
    dead_letter_headers,
    dead_letter_middleware,
    dead_letter_record,
    producer_compression,
)
from contracts.observability import DEAD_LETTERED, EVENTS_CONSUMED, FAILURES
from contracts.settings import require_trust_secrets
from contracts.signing import command_keys
from services.notifier import handlers
from services.notifier.adapters.email import SmtpConfig, SmtpMailer
from services.notifier.adapters.mongo import MongoNotifierRepository
from services.notifier.adapters.secret_box import SecretBox
from services.notifier.adapters.telegram import TelegramSender
from services.notifier.adapters.templates import EmailTemplates
from services.notifier.adapters.tokens import InvalidToken
from services.notifier.adapters.webhook import WebhookSender
from services.notifier.dispatcher import Dispatcher, Limits
from services.notifier.inbox import NotifierInbox
from services.notifier.settings import NotifierSettings, refuse_insecure, webhook_secrets_key

SERVICE = "notifier"
# Links in emails, authenticated by the signed token they carry, not by a bearer token.
PUBLIC_PATHS = ("/unsubscribe", "/confirm")
log = logging.getLogger("upr.notifier")


def build_app(
    settings: NotifierSettings | None = None, clock: Callable[[], datetime] | None = None
) -> AsgiFastStream:
    settings = settings or NotifierSettings()
    refuse_insecure(settings)  # outside dev mode: no placeholder or short secrets (issue 13)
    configure_logging(settings.log_level, json_output=settings.log_json)
    require_trust_secrets(settings)
    verifier = command_keys(settings)
    topics = settings.topics
    # Prefixed like the topics, so deployments (and test runs) sharing a broker never share a group.
    group = f"{settings.topic_prefix}{t.NOTIFIER_GROUP}"
    dead_letter_topic = topics.dead_letter(t.NOTIFIER_GROUP)
    repo = MongoNotifierRepository.connect(settings.mongodb_uri, settings.mongodb_db)
    webhooks = WebhookSender(settings.webhook_allowlist, settings.webhook_timeout_s,
                             max_connections_per_endpoint=settings.endpoint_concurrency)
    # Without a bot token the Telegram channel is off (its deliveries fail and wait for a replay).
    telegram = TelegramSender(settings.telegram_bot_token, settings.telegram_api_url, settings.telegram_timeout_s,
                              connections=settings.endpoint_concurrency) if settings.telegram_bot_token else None
    # The longest one attempt may take; a reservation shorter than this is renewed before sending.
    send_budget_s = max(settings.webhook_timeout_s, settings.smtp_timeout_s, settings.telegram_timeout_s) + 2.0
    lease_s = max(settings.delivery_lease_s, 2 * send_budget_s + 1.0)

    async def record_rejection(body: bytes, reason: str) -> None:
        DEAD_LETTERED.labels(SERVICE).inc()
        envelope = _envelope_or_none(body)
        if envelope is not None:  # `upr subscriptions add` and the UI show why a command failed
            await repo.mark_processed(str(envelope.event_id), type_=envelope.type, outcome="rejected", error=reason)

    broker = KafkaBroker(
        settings.kafka_bootstrap, security=broker_security(settings), acks="all", enable_idempotence=True,
        client_id="upr-notifier", graceful_timeout=15.0, linger_ms=settings.notifier_publish_linger_ms,
        log_level=logging.DEBUG, compression_type=producer_compression(),
    )
    # Commands one by one (dead-lettered by the shared middleware); the batch consumers
    # dead-letter bad records themselves, and whatever escapes a batch is transient.
    commands = KafkaRouter(middlewares=[dead_letter_middleware(
        consumer=SERVICE, dead_letter_topic=dead_letter_topic, on_dead_letter=record_rejection,
        on_transient=lambda _: FAILURES.labels(SERVICE).inc(),
    )])
    batches = KafkaRouter(middlewares=[batch_failure_middleware(
        consumer=SERVICE, on_transient=lambda _: FAILURES.labels(SERVICE).inc())])
    requests_out = broker.publisher(
        topics.notifications, title="notifications",
        description="notification.requested: the work queue, one per delivery (key = delivery id)",
        schema=EventEnvelope,
    )
    outcomes_out = broker.publisher(
        topics.notification_outcomes, title="notification-outcomes",
        description="notification.delivered and notification.failed: what became of each alert (key = delivery id)",
        schema=EventEnvelope,
    )

    async def publish_request(payload: Contract, key: str) -> Any:
        # The same delivery is always requested with the same event id.
        event = make_event(payload, source=SERVICE, event_id=deterministic_event_id(key, 0))
        return await requests_out.publish(event.model_dump(mode="json"), key=key.encode(), no_confirm=True)

    async def publish_outcome(payload: Contract, key: str) -> Any:
        event = make_event(payload, source=SERVICE)
        return await outcomes_out.publish(event.model_dump(mode="json"), key=key.encode(), no_confirm=True)

    async def dead_letter(record: Any, reason: str) -> None:
        DEAD_LETTERED.labels(SERVICE).inc()
        await dead_letter_record(broker, record, SERVICE, dead_letter_topic, reason)

    async def dead_letter_delivery(delivery: Mapping[str, Any], reason: str) -> None:
        """A delivery out of attempts: its request goes to the dead-letter topic (`upr dlq replay`)."""
        DEAD_LETTERED.labels(SERVICE).inc()
        did = str(delivery["_id"])
        request = NotificationRequestedV1(
            delivery_id=did, subscription_id=str(delivery["subscription_id"]),
            channel=Channel(str(delivery["channel"])),
            trigger_event_id=str(delivery.get("trigger_event_id") or delivery.get("alert_key") or did),
            trigger_type=str(delivery.get("trigger_type") or delivery.get("kind", "")))
        event = make_event(request, source=SERVICE, event_id=deterministic_event_id(did, 0))
        log.error("dead-lettered delivery %s: %s", did, reason)
        await broker.publish(event.to_bytes(), topic=dead_letter_topic, key=did.encode(),
                             headers=dead_letter_headers(reason, SERVICE, topic=topics.notifications))

    deps = handlers.Deps(
        repo=repo,
        mailer=SmtpMailer(SmtpConfig(
            host=settings.smtp_host, port=settings.smtp_port, username=settings.smtp_username,
            password=settings.smtp_password, starttls=settings.smtp_starttls, use_tls=settings.smtp_use_tls,
            sender=settings.smtp_from, timeout_s=settings.smtp_timeout_s)),
        webhooks=webhooks,
        templates=EmailTemplates(),
        publish=publish_request,
        policy=handlers.Policy(
            secret=settings.notifier_secret, public_ui_url=settings.public_ui_url, smtp_from=settings.smtp_from,
            public_notifier_url=settings.public_notifier_url,
            telegram_link_max_age_s=settings.telegram_link_max_age_s,
            attempts=settings.delivery_attempts, retry_base_s=settings.retry_base_s,
            retry_cap_s=settings.retry_cap_s, digest_hour_utc=settings.digest_hour_utc,
            digest_weekday=settings.digest_weekday, reminder_days=tuple(settings.reminder_days),
            subscriptions_refresh_s=settings.subscriptions_refresh_s, lease_s=lease_s,
            unsubscribe_max_age_s=settings.unsubscribe_link_max_age_s,
            confirm_max_age_s=settings.confirm_link_max_age_s),
        clock=clock or (lambda: datetime.now(UTC)),
        random=random.random,
        secret_box=SecretBox(webhook_secrets_key(settings)),
        telegram=telegram,
    )
    dispatcher = Dispatcher(
        deps, publish_outcome=publish_outcome, dead_letter=dead_letter_delivery,
        smtp_endpoint=f"smtp://{settings.smtp_host}:{settings.smtp_port}",
        limits=Limits(concurrency=settings.delivery_concurrency, endpoint_concurrency=settings.endpoint_concurrency,
                      endpoint_backlog=settings.endpoint_backlog, send_budget_s=send_budget_s,
                      flush_s=settings.outcome_flush_ms / 1000, poll_s=settings.retry_poll_s,
                      defer_s=max(settings.retry_cap_s, send_budget_s)),
    )
    deps.holder, deps.dispatch = dispatcher.token, dispatcher.dispatch
    inbox = NotifierInbox(deps, dispatcher, dead_letter)

    command_subscriber = commands.subscriber(
        topics.notifier_commands,
        group_id=group, ack_policy=AckPolicy.NACK_ON_ERROR, auto_offset_reset="earliest",
        title="notifier-commands",
        description="subscription.requested / subscription.cancelled from the UI and CLI",
    )

    @command_subscriber
    async def on_command(envelope: EventEnvelope, message: KafkaMessage) -> None:
        """Validate -> manage the subscription -> record the outcome (the CLI and UI wait on it)."""
        message_id = str(envelope.event_id)
        if await repo.processed(message_id):
            EVENTS_CONSUMED.labels(SERVICE, envelope.type, "duplicate").inc()
            return
        _check_size(message.body)
        verifier.verify(envelope)  # unsigned, forged or from a sender not allowed: dead-lettered
        _, payload = parse_event(envelope.model_dump(mode="json"))
        if isinstance(payload, SubscriptionRequestedV1):
            outcome = await handlers.subscription_requested(envelope, payload, deps)
        elif isinstance(payload, SubscriptionCancelledV1):
            outcome = await handlers.subscription_cancelled(envelope, payload, deps)
        else:
            raise Rejected(f"the notifier has no command {envelope.type!r}")
        await repo.mark_processed(message_id, type_=envelope.type, outcome=outcome)
        EVENTS_CONSUMED.labels(SERVICE, envelope.type, outcome).inc()

    events_subscriber = batches.subscriber(
        topics.tracker_events,
        group_id=group, ack_policy=AckPolicy.NACK_ON_ERROR, auto_offset_reset="earliest",
        batch=True, max_records=settings.notifier_batch_max_records,
        batch_timeout_ms=settings.notifier_batch_timeout_ms, decoder=raw_bodies,
        title="notifier-tracker-events",
        description="Tracker events to match against subscriptions (consumed in batches)",
    )

    @events_subscriber
    async def on_tracker_events(bodies: list[EventEnvelope | bytes], message: KafkaMessage) -> None:
        # Undecoded bodies (raw_bodies); the annotation names the payload for the AsyncAPI catalogue.
        raw = message.raw_message
        await inbox.tracker_events(raw if isinstance(raw, tuple) else (raw,))

    requests_subscriber = batches.subscriber(
        topics.notifications,
        group_id=group, ack_policy=AckPolicy.NACK_ON_ERROR, auto_offset_reset="earliest",
        batch=True, max_records=settings.notifier_batch_max_records,
        batch_timeout_ms=settings.notifier_batch_timeout_ms, decoder=raw_bodies,
        title="notifier-deliveries",
        description="notification.requested: hand each logged delivery to the dispatcher, which sends it "
        "(email or signed webhook) in the background",
    )

    @requests_subscriber
    async def on_requests(bodies: list[EventEnvelope | bytes], message: KafkaMessage) -> None:
        raw = message.raw_message
        await inbox.requests(raw if isinstance(raw, tuple) else (raw,))

    broker.include_router(commands)
    broker.include_router(batches)
    subscribers = [command_subscriber, events_subscriber, requests_subscriber]
    background: list[asyncio.Task[None]] = []

    async def scheduled_jobs_loop() -> None:
        while True:
            try:
                await handlers.run_scheduled_jobs(deps.clock(), deps)
            except Exception:
                log.exception("scheduled jobs failed; next run in %.0f s", settings.scheduler_interval_s)
            await asyncio.sleep(settings.scheduler_interval_s)

    async def on_startup() -> None:
        await repo.ensure_indexes()
        dispatcher.start()

    async def after_startup() -> None:
        if settings.scheduler_enabled:
            background.append(asyncio.create_task(scheduled_jobs_loop(), name="notifier-scheduler"))

    async def on_shutdown() -> None:
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        background.clear()
        # Stop consuming first (each subscriber finishes its batch), then let the dispatcher
        # finish what is under way and write its outcomes while the producer is still up.
        for subscriber in subscribers:
            await subscriber.stop()
        await inbox.drain()
        await dispatcher.close(grace_s=send_budget_s)

    async def after_shutdown() -> None:
        await webhooks.close()
        if telegram is not None:
            await telegram.close()
        await repo.close()

    app = ServiceApp(
        broker,
        # Every other path needs a bearer token; the unsubscribe link carries its own signed token.
        http_api=unsubscribe_api(deps), auth_secret=settings.auth_secret, public_paths=PUBLIC_PATHS,
        asgi_routes=[
            ("/health", make_ping_asgi(broker, timeout=5.0)),
            ("/metrics", make_asgi_app()),
        ],
        on_startup=[on_startup],
        after_startup=[after_startup],
        on_shutdown=[on_shutdown],
        after_shutdown=[after_shutdown],
        specification=AsyncAPI(title="UPR Tracker: notifier", version="1.0.0",
                               description="Subscriptions, and alerts by email, signed webhook and Telegram, "
                               "each delivered once."),
    )
    app.notifier_deps = deps  # type: ignore[attr-defined]  # for run_scheduled_jobs(app, now)
    return app


async def raw_bodies(message: Any) -> Any:
    """Hand a batch over undecoded: each record is read on its own, so one bad record is
    dead-lettered alone instead of failing the whole batch's decoding."""
    return message.body


def unsubscribe_api(deps: handlers.Deps) -> Starlette:
    async def unsubscribe(request: Request) -> Response:
        """GET /unsubscribe?token=...: the link at the bottom of every alert email."""
        try:
            await handlers.unsubscribe_by_token(request.query_params.get("token", ""), deps)
        except InvalidToken as exc:
            return HTMLResponse(_page("Unsubscribe", str(exc)), status_code=400)
        return HTMLResponse(_page("Unsubscribed", "You will not receive these UPR Tracker alerts any more. "
                                  "/ អ្នកនឹងមិនទទួលបានការជូនដំណឹងទាំងនេះទៀតទេ។"))

    async def confirm(request: Request) -> Response:
        """GET /confirm?token=...: the double opt-in link; alerts go to the address from now on."""
        try:
            await handlers.confirm_by_token(request.query_params.get("token", ""), deps)
        except InvalidToken as exc:
            return HTMLResponse(_page("Confirm", str(exc)), status_code=400)
        return HTMLResponse(_page("Confirmed", "Your address is confirmed: UPR Tracker alerts will come to it. "
                                  "/ អាសយដ្ឋានរបស់អ្នកត្រូវបានបញ្ជាក់។"))

    return Starlette(routes=[Route("/unsubscribe", unsubscribe, methods=["GET"]),
                             Route("/confirm", confirm, methods=["GET"])])


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
