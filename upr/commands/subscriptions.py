"""`upr subscriptions add|list|cancel`: manage alert subscriptions.

``add`` and ``cancel`` publish commands to the notifier (topic ``upr.notifier.commands``)
and wait for its answer: the stored subscription (with the webhook secret, shown once
here) or the reason it was refused. ``list`` reads the notifier's subscriptions.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import typer

from contracts.events import (
    Actor,
    Channel,
    Contract,
    Role,
    SubscriptionCancelledV1,
    SubscriptionRequestedV1,
    SubscriptionRequestedV2,
    make_event,
)
from contracts.kafka_access import client_options
from contracts.settings import CommonSettings, require_trust_secrets
from contracts.signing import command_signer

KINDS = ("new_evidence", "status_change", "disagreement", "tag_correction", "deadline", "stale", "new_recommendation")


async def publish_command(settings: CommonSettings, payload: Contract, actor: Actor) -> str:
    from aiokafka import AIOKafkaProducer

    # Signed with the key in the operator's environment: whoever holds it may act as anyone.
    require_trust_secrets(settings, tokens=False)
    event = command_signer(settings).sign(make_event(payload, source="cli", actor=actor))
    producer = AIOKafkaProducer(**client_options(settings), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        key = getattr(payload, "subscription_id", "").encode()
        await producer.send_and_wait(settings.topics.notifier_commands, event.to_bytes(), key=key,
                                     headers=[("content-type", b"application/json")])
    finally:
        await producer.stop()
    return str(event.event_id)


async def wait_for_outcome(
    settings: CommonSettings, event_id: str, subscription_id: str, timeout_s: float
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(processing outcome, stored subscription) once the notifier handled the command."""
    from services.notifier.adapters.mongo import MongoNotifierRepository

    repo = MongoNotifierRepository.connect(settings.mongodb_uri, settings.mongodb_db)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            outcome = await repo.processing_outcome(event_id)
            if outcome is not None:
                return outcome, await repo.subscription(subscription_id)
            await asyncio.sleep(0.3)
        return None, await repo.subscription(subscription_id)
    finally:
        await repo.close()


async def list_subscriptions(settings: CommonSettings) -> list[dict[str, Any]]:
    from services.notifier.adapters.mongo import MongoNotifierRepository

    repo = MongoNotifierRepository.connect(settings.mongodb_uri, settings.mongodb_db)
    try:
        return await repo.all_subscriptions()
    finally:
        await repo.close()


def _webhook_secret(doc: dict[str, Any]) -> str | None:
    """The signing secret, decrypted with the notifier's key (stored encrypted at rest)."""
    from services.notifier.adapters.secret_box import SecretBox
    from services.notifier.settings import NotifierSettings, webhook_secrets_key

    if not doc.get("secret_enc") and not doc.get("secret"):
        return None
    return SecretBox(webhook_secrets_key(NotifierSettings())).secret_of(doc)


def _public(doc: dict[str, Any], show_secret: bool) -> dict[str, Any]:
    shown = {k: v for k, v in doc.items() if k not in ("secret", "secret_enc")}
    if show_secret and (secret := _webhook_secret(doc)):
        shown["secret"] = secret
    shown["subscription_id"] = shown.pop("_id")
    return json.loads(json.dumps(shown, default=str))  # type: ignore[no-any-return]


def _report(outcome: dict[str, Any] | None, doc: dict[str, Any] | None, json_output: bool, show_secret: bool) -> None:
    if outcome is None:
        typer.echo("sent; the notifier has not answered yet (is it running?)", err=True)
        raise typer.Exit(2)
    if outcome.get("outcome") == "rejected":
        if json_output:
            typer.echo(json.dumps({"outcome": "rejected", "reason": outcome.get("error")}))
        else:
            typer.echo(f"refused: {outcome.get('error')}", err=True)
        raise typer.Exit(1)
    if json_output:
        typer.echo(json.dumps({"outcome": outcome.get("outcome"),
                               "subscription": _public(doc or {"_id": None}, show_secret)}, ensure_ascii=False))
        return
    typer.echo(f"{outcome.get('outcome')}: {(doc or {}).get('_id')}")
    secret = _webhook_secret(doc) if doc and show_secret else None
    if secret:
        typer.echo(f"webhook secret (verify X-UPR-Signature with it; keep it private): {secret}")


def register(app: typer.Typer) -> None:
    subs = typer.Typer(help="Alert subscriptions (email or webhook).", no_args_is_help=True)
    app.add_typer(subs, name="subscriptions")

    @subs.command("add")
    def add(
        channel: Channel = typer.Option(..., "--channel", help="email or webhook"),
        email: str | None = typer.Option(None, "--email"),
        url: str | None = typer.Option(None, "--url", help="webhook endpoint (https, or on UPR_WEBHOOK_ALLOWLIST)"),
        kinds: list[str] = typer.Option(["new_evidence"], "--kind", help=f"repeatable; one of {', '.join(KINDS)}"),
        themes: list[str] = typer.Option([], "--theme", help="repeatable, e.g. T08; none = every theme"),
        recommendations: list[str] = typer.Option([], "--recommendation", help="repeatable recommendation id"),
        cycles: list[int] = typer.Option([], "--cycle", help="repeatable cycle number"),
        frequency: str = typer.Option("immediate", "--frequency", help="immediate, daily or weekly (email)"),
        language: str = typer.Option("en", "--language", help="en or km"),
        stale_after_days: int = typer.Option(90, "--stale-after-days"),
        subscription_id: str | None = typer.Option(None, "--id", help="replace this subscription"),
        coalition_partner: bool = typer.Option(
            False, "--coalition-partner",
            help="webhook (admins): this partner may receive coalition-only alerts; otherwise public data only"),
        owner: str | None = typer.Option(None, "--owner", help="default: the acting user"),
        username: str = typer.Option("admin", "--as", help="acting user"),
        role: Role = typer.Option(Role.ADMIN, "--role", help="acting user's role"),
        timeout_s: float = typer.Option(30.0, "--timeout"),
        json_output: bool = typer.Option(False, "--json"),
    ) -> None:
        """Subscribe; prints the subscription id (and, for a webhook, its signing secret)."""
        settings = CommonSettings()
        try:
            model = SubscriptionRequestedV2 if coalition_partner else SubscriptionRequestedV1
            extra: dict[str, Any] = {"coalition_partner": True} if coalition_partner else {}
            request = model(
                **extra,
                subscription_id=subscription_id or f"sub-{uuid.uuid4().hex[:12]}", owner=owner or username,
                channel=channel, email=email, webhook_url=url, frequency=frequency,
                event_kinds=kinds,
                themes=themes, recommendation_ids=recommendations, cycles=cycles,
                language=language,
                stale_after_days=stale_after_days,
            )
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        actor = Actor(username=username, role=role)
        event_id = asyncio.run(publish_command(settings, request, actor))
        outcome, doc = asyncio.run(wait_for_outcome(settings, event_id, request.subscription_id, timeout_s))
        _report(outcome, doc, json_output, show_secret=True)

    @subs.command("list")
    def list_(
        json_output: bool = typer.Option(False, "--json"),
        show_secrets: bool = typer.Option(False, "--show-secrets", help="include webhook secrets"),
    ) -> None:
        """Every subscription with its status (active, failing, cancelled)."""
        docs = [_public(d, show_secrets) for d in asyncio.run(list_subscriptions(CommonSettings()))]
        if json_output:
            typer.echo(json.dumps(docs, ensure_ascii=False))
            return
        for d in docs:
            target = d.get("email") or d.get("webhook_url")
            typer.echo(f"{d['subscription_id']:24} {d.get('status', ''):9} {d.get('channel', ''):7} "
                       f"{d.get('frequency', ''):9} {','.join(d.get('event_kinds', []))} -> {target}"
                       + (f"  [{d['last_error']}]" if d.get("last_error") else ""))

    @subs.command("cancel")
    def cancel(
        subscription_id: str = typer.Argument(...),
        username: str = typer.Option("admin", "--as"),
        role: Role = typer.Option(Role.ADMIN, "--role"),
        timeout_s: float = typer.Option(30.0, "--timeout"),
        json_output: bool = typer.Option(False, "--json"),
    ) -> None:
        """Stop a subscription (its pending alerts are not sent)."""
        settings = CommonSettings()
        event_id = asyncio.run(publish_command(settings, SubscriptionCancelledV1(subscription_id=subscription_id),
                                               Actor(username=username, role=role)))
        outcome, doc = asyncio.run(wait_for_outcome(settings, event_id, subscription_id, timeout_s))
        _report(outcome, doc, json_output, show_secret=False)
