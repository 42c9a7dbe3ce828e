"""`upr subscriptions add|list|cancel`: manage alert subscriptions.

``add`` and ``cancel`` publish commands to the notifier (topic ``upr.notifier.commands``)
and wait for its answer (contracts/command_client.py): the stored subscription (with the
webhook secret, shown once here) or the reason it was refused. ``list`` reads the notifier's
subscriptions (a documented read model: contracts/documents.py).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import typer
from pymongo import AsyncMongoClient

from contracts import documents
from contracts.command_client import CommandClient, Receipt
from contracts.events import (
    Actor,
    Channel,
    Contract,
    Role,
    SubscriptionCancelledV1,
    SubscriptionRequestedV1,
    SubscriptionRequestedV2,
)
from contracts.settings import CommonSettings
from contracts.webhook_secrets import SecretBox

KINDS = ("new_evidence", "status_change", "disagreement", "tag_correction", "deadline", "stale", "new_recommendation")


def _database(settings: CommonSettings) -> tuple[AsyncMongoClient[dict[str, Any]], Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_uri, tz_aware=True)
    return client, client[settings.mongodb_db]


async def send_command(
    settings: CommonSettings, payload: Contract, actor: Actor, timeout_s: float,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Publish to the notifier and wait: (its receipt, the stored subscription), the receipt
    None when it did not answer in time. Signed with the key in the operator's environment."""
    client, db = _database(settings)

    async def receipts(ids: Sequence[str]) -> Mapping[str, Receipt]:
        return {doc["_id"]: doc async for doc in db[documents.NOTIFIER_PROCESSED].find({"_id": {"$in": list(ids)}})}

    try:
        async with CommandClient(settings, source="cli", receipts=receipts, client_id="upr-cli") as commands:
            result = await commands.send(settings.topics.notifier_commands, payload, actor, timeout_s=timeout_s)
        subscription_id = getattr(payload, "subscription_id", None)
        subscription = await db[documents.NOTIFIER_SUBSCRIPTIONS].find_one({"_id": subscription_id})
    finally:
        await client.close()
    return (dict(result.receipt) if result.receipt is not None else None), subscription


async def list_subscriptions(settings: CommonSettings) -> list[dict[str, Any]]:
    client, db = _database(settings)
    try:
        return [doc async for doc in db[documents.NOTIFIER_SUBSCRIPTIONS].find()]
    finally:
        await client.close()


def _webhook_secret(doc: dict[str, Any]) -> str | None:
    """The signing secret, decrypted with the notifier's key (stored encrypted at rest)."""
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
        outcome, doc = asyncio.run(send_command(settings, request, actor, timeout_s))
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
        outcome, doc = asyncio.run(send_command(settings, SubscriptionCancelledV1(subscription_id=subscription_id),
                                                Actor(username=username, role=role), timeout_s))
        _report(outcome, doc, json_output, show_secret=False)
