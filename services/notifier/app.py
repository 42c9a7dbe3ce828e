"""Notifier service: FastStream wiring only (commands, rejections and dead-lettering in ``bus.py``,
the batch consumers in ``inbox.py``).

    faststream run services.notifier.app:app --host 127.0.0.1 --port 8003
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from faststream import AckPolicy
from faststream.asgi import AsgiFastStream, make_ping_asgi
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.kafka.annotations import KafkaMessage
from faststream.specification import AsyncAPI
from prometheus_client import make_asgi_app
from starlette.applications import Starlette

from contracts import topics as t
from contracts.asgi import ServiceApp
from contracts.events import (
    Contract,
    EventEnvelope,
    deterministic_event_id,
    make_event,
)
from contracts.kafka_access import broker_security
from contracts.logs import configure_logging
from contracts.messaging import (
    batch_failure_middleware,
    batch_records,
    dead_letter_middleware,
    dead_letterer,
    producer_compression,
    raw_bodies,
)
from contracts.observability import FAILURES
from contracts.settings import require_trust_secrets
from contracts.signing import CommandKeys, command_keys
from contracts.webhook_secrets import SecretBox
from services.notifier import handlers
from services.notifier.adapters.email import SmtpConfig, SmtpMailer
from services.notifier.adapters.mongo import MongoNotifierRepository
from services.notifier.adapters.signed_links import SignedLink, signed_links_api
from services.notifier.adapters.telegram import TelegramSender
from services.notifier.adapters.templates import EmailTemplates
from services.notifier.adapters.webhook import WebhookSender
from services.notifier.bus import SERVICE, dead_letter_delivery, handle_command, record_rejection, scheduled_jobs_loop
from services.notifier.dispatcher import Dispatcher, Limits
from services.notifier.inbox import NotifierInbox
from services.notifier.settings import NotifierSettings, refuse_insecure, webhook_secrets_key

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
    dead_letter_topic = topics.dead_letter(t.NOTIFIER_GROUP)
    repo = MongoNotifierRepository.connect(settings.mongodb_uri, settings.mongodb_db)
    webhooks = WebhookSender(settings.webhook_allowlist, settings.webhook_timeout_s,
                             max_connections_per_endpoint=settings.endpoint_concurrency)
    # Without a bot token the Telegram channel is off (its deliveries fail and wait for a replay).
    telegram = TelegramSender(settings.telegram_bot_token, settings.telegram_api_url, settings.telegram_timeout_s,
                              connections=settings.endpoint_concurrency) if settings.telegram_bot_token else None
    # The longest one attempt may take; a reservation shorter than this is renewed before sending.
    send_budget_s = max(settings.webhook_timeout_s, settings.smtp_timeout_s, settings.telegram_timeout_s) + 2.0

    broker = KafkaBroker(
        settings.kafka_bootstrap, security=broker_security(settings), acks="all", enable_idempotence=True,
        client_id="upr-notifier", graceful_timeout=15.0, linger_ms=settings.notifier_publish_linger_ms,
        log_level=logging.DEBUG, compression_type=producer_compression(),
    )
    publish_request, publish_outcome = _publishers(broker, topics)
    deps = _deps(settings, repo, webhooks, telegram, publish_request, send_budget_s, clock)
    dispatcher = Dispatcher(
        deps, publish_outcome=publish_outcome,
        dead_letter=dead_letter_delivery(broker, dead_letter_topic=dead_letter_topic,
                                         notifications_topic=topics.notifications),
        smtp_endpoint=f"smtp://{settings.smtp_host}:{settings.smtp_port}",
        limits=_limits(settings, send_budget_s),
    )
    deps.holder, deps.dispatch = dispatcher.token, dispatcher.dispatch
    inbox = NotifierInbox(deps, dispatcher, dead_letterer(broker, SERVICE, dead_letter_topic))

    subscribers = _subscribe(broker, settings, deps, inbox, verifier, dead_letter_topic)
    lifecycle = _Lifecycle(settings, deps, dispatcher, inbox, webhooks, subscribers, send_budget_s, telegram)

    app = ServiceApp(
        broker,
        # Every other path needs a bearer token; the unsubscribe link carries its own signed token.
        http_api=unsubscribe_api(deps), auth_secret=settings.auth_secret, public_paths=PUBLIC_PATHS,
        asgi_routes=[
            ("/health", make_ping_asgi(broker, timeout=5.0)),
            ("/metrics", make_asgi_app()),
        ],
        on_startup=[lifecycle.on_startup],
        after_startup=[lifecycle.after_startup],
        on_shutdown=[lifecycle.on_shutdown],
        after_shutdown=[lifecycle.after_shutdown],
        specification=AsyncAPI(title="UPR Tracker: notifier", version="1.0.0",
                               description="Subscriptions, and alerts by email, signed webhook and Telegram, "
                               "each delivered once."),
    )
    app.notifier_deps = deps  # type: ignore[attr-defined]  # for run_scheduled_jobs(app, now)
    return app


def _subscribe(
    broker: KafkaBroker, settings: NotifierSettings, deps: handlers.Deps, inbox: NotifierInbox,
    verifier: CommandKeys, dead_letter_topic: str,
) -> list[Any]:
    """The notifier's three consumers (commands, tracker events, delivery requests) on the broker."""
    topics = settings.topics
    # Prefixed like the topics, so deployments (and test runs) sharing a broker never share a group.
    group = f"{settings.topic_prefix}{t.NOTIFIER_GROUP}"
    # Commands one by one (dead-lettered by the shared middleware); the batch consumers
    # dead-letter bad records themselves, and whatever escapes a batch is transient.
    commands = KafkaRouter(middlewares=[dead_letter_middleware(
        consumer=SERVICE, dead_letter_topic=dead_letter_topic, on_dead_letter=record_rejection(deps.repo),
        on_transient=lambda _: FAILURES.labels(SERVICE).inc(),
    )])
    batches = KafkaRouter(middlewares=[batch_failure_middleware(
        consumer=SERVICE, on_transient=lambda _: FAILURES.labels(SERVICE).inc())])

    command_subscriber = commands.subscriber(
        topics.notifier_commands,
        group_id=group, ack_policy=AckPolicy.NACK_ON_ERROR, auto_offset_reset="earliest",
        title="notifier-commands",
        description="subscription.requested / subscription.cancelled from the UI and CLI",
    )

    @command_subscriber
    async def on_command(envelope: EventEnvelope, message: KafkaMessage) -> None:
        await handle_command(envelope, message.body, deps, verifier)

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
        await inbox.tracker_events(batch_records(message))

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
        await inbox.requests(batch_records(message))

    broker.include_router(commands)
    broker.include_router(batches)
    return [command_subscriber, events_subscriber, requests_subscriber]


@dataclass
class _Lifecycle:
    """Start-up and shut-down: the order matters for losing nothing."""

    settings: NotifierSettings
    deps: handlers.Deps
    dispatcher: Dispatcher
    inbox: NotifierInbox
    webhooks: WebhookSender
    subscribers: list[Any]
    send_budget_s: float
    telegram: TelegramSender | None
    background: list[asyncio.Task[None]] = field(default_factory=list)

    async def on_startup(self) -> None:
        await self.deps.repo.ensure_indexes()
        self.dispatcher.start()

    async def after_startup(self) -> None:
        if self.settings.scheduler_enabled:
            self.background.append(asyncio.create_task(
                scheduled_jobs_loop(self.deps, self.settings.scheduler_interval_s), name="notifier-scheduler"))

    async def on_shutdown(self) -> None:
        for task in self.background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.background.clear()
        # Stop consuming first (each subscriber finishes its batch), then let the dispatcher
        # finish what is under way and write its outcomes while the producer is still up.
        for subscriber in self.subscribers:
            await subscriber.stop()
        await self.dispatcher.close(grace_s=self.send_budget_s)

    async def after_shutdown(self) -> None:
        await self.webhooks.close()
        if self.telegram is not None:
            await self.telegram.close()
        await self.deps.repo.close()


def _publishers(broker: KafkaBroker, topics: t.Topics) -> tuple[handlers.Publish, handlers.Publish]:
    """What the notifier publishes: delivery requests (its work queue) and their outcomes."""
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

    return publish_request, publish_outcome


def _deps(
    settings: NotifierSettings, repo: MongoNotifierRepository, webhooks: WebhookSender,
    telegram: TelegramSender | None, publish: handlers.Publish, send_budget_s: float,
    clock: Callable[[], datetime] | None,
) -> handlers.Deps:
    """The handlers' dependencies and policy, from the settings."""
    lease_s = max(settings.delivery_lease_s, 2 * send_budget_s + 1.0)
    return handlers.Deps(
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


def _limits(settings: NotifierSettings, send_budget_s: float) -> Limits:
    return Limits(concurrency=settings.delivery_concurrency, endpoint_concurrency=settings.endpoint_concurrency,
                  endpoint_backlog=settings.endpoint_backlog, send_budget_s=send_budget_s,
                  flush_s=settings.outcome_flush_ms / 1000, poll_s=settings.retry_poll_s,
                  defer_s=max(settings.retry_cap_s, send_budget_s))


def unsubscribe_api(deps: handlers.Deps) -> Starlette:
    """The pages of the links in alert emails: unsubscribe, and the double opt-in confirmation."""
    return signed_links_api([
        SignedLink("/unsubscribe", lambda token: handlers.unsubscribe_by_token(token, deps), "Unsubscribe",
                   "Unsubscribed", "You will not receive these UPR Tracker alerts any more. "
                   "/ អ្នកនឹងមិនទទួលបានការជូនដំណឹងទាំងនេះទៀតទេ។"),
        SignedLink("/confirm", lambda token: handlers.confirm_by_token(token, deps), "Confirm",
                   "Confirmed", "Your address is confirmed: UPR Tracker alerts will come to it. "
                   "/ អាសយដ្ឋានរបស់អ្នកត្រូវបានបញ្ជាក់។"),
    ])


async def run_scheduled_jobs(app: AsgiFastStream, now: datetime) -> dict[str, int]:
    """Run the scheduler's jobs once, at ``now`` (tests and operators)."""
    deps: handlers.Deps = app.notifier_deps  # type: ignore[attr-defined]
    return await handlers.run_scheduled_jobs(now, deps)


app = build_app()
