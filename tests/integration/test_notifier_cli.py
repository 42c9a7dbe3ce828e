"""`upr subscriptions` and `upr dlq` against a running notifier on the real stack."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from contracts.topics import Topics
from services.notifier.receiver import WebhookReceiver
from services.notifier.settings import NotifierSettings
from upr.commands import dlq, subscriptions

pytestmark = pytest.mark.integration


def cli() -> typer.Typer:
    app = typer.Typer()
    subscriptions.register(app)
    dlq.register(app)
    return app


async def upr(settings: NotifierSettings, *args: str) -> Any:
    env = {"UPR_KAFKA_BOOTSTRAP": settings.kafka_bootstrap, "UPR_MONGODB_URI": settings.mongodb_uri,
           "UPR_MONGODB_DB": settings.mongodb_db, "UPR_TOPIC_PREFIX": settings.topic_prefix,
           "UPR_NOTIFIER_SECRET": settings.notifier_secret}
    # The commands run their own event loop: give them a thread.
    return await asyncio.to_thread(CliRunner().invoke, cli(), list(args), env=env)


async def test_subscribing_a_webhook_from_the_cli_returns_its_secret_and_lists_it(
    notifier: Any, notifier_settings: NotifierSettings, receiver: WebhookReceiver, topics: Topics,
) -> None:
    added = await upr(notifier_settings, "subscriptions", "add", "--channel", "webhook", "--url", receiver.url,
                      "--kind", "new_evidence", "--kind", "status_change", "--theme", "T08", "--id", "sub-cli-hook",
                      "--json")
    assert added.exit_code == 0, added.output
    answer = json.loads(added.output)
    assert answer["outcome"] == "created"
    assert len(answer["subscription"]["secret"]) >= 32

    listed = await upr(notifier_settings, "subscriptions", "list", "--json")
    [sub] = json.loads(listed.output)
    assert sub["subscription_id"] == "sub-cli-hook" and sub["status"] == "active"
    assert "secret" not in sub  # never shown unless asked

    cancelled = await upr(notifier_settings, "subscriptions", "cancel", "sub-cli-hook")
    assert cancelled.exit_code == 0, cancelled.output
    listed = await upr(notifier_settings, "subscriptions", "list", "--json")
    assert json.loads(listed.output)[0]["status"] == "cancelled"


async def test_viewer_cannot_add_a_webhook_and_is_told_why(
    notifier: Any, notifier_settings: NotifierSettings, receiver: WebhookReceiver,
) -> None:
    refused = await upr(notifier_settings, "subscriptions", "add", "--channel", "webhook", "--url", receiver.url,
                        "--as", "dara", "--role", "viewer")
    assert refused.exit_code == 1
    assert "may not manage webhooks" in refused.output

    dead = await upr(notifier_settings, "dlq", "list", "--consumer", "upr-notifier", "--json")
    assert dead.exit_code == 0, dead.output
    [letter] = json.loads(dead.output)["upr-notifier"]
    assert letter["event_type"] == "subscription.requested"
    assert "may not manage webhooks" in letter["reason"]
