"""The notifier's subscription handlers on an in-memory repository: who may subscribe whom,
what is stored (a webhook secret only encrypted), the double opt-in of an email address, and
cancelling. Milliseconds each; the pipeline tests keep the real stack."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.fernet import Fernet

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
from contracts.messaging import Rejected
from contracts.webhook_secrets import SecretBox
from services.notifier import handlers
from services.notifier.adapters.templates import EmailTemplates

ADMIN = Actor(username="admin", role=Role.ADMIN)
SOKHA = Actor(username="sokha", role=Role.CSO_MEMBER)
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class Subscriptions:
    """The calls the subscription handlers make, in dictionaries."""

    def __init__(self) -> None:
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.deliveries: dict[str, dict[str, Any]] = {}

    async def subscription(self, subscription_id: str) -> dict[str, Any] | None:
        return self.subscriptions.get(subscription_id)

    async def save_subscription(self, subscription_id: str, fields: dict[str, Any], on_insert: dict[str, Any]) -> None:
        stored = self.subscriptions.setdefault(subscription_id, {"_id": subscription_id, **on_insert})
        stored.update(fields)

    async def set_subscription(self, subscription_id: str, fields: dict[str, Any]) -> None:
        self.subscriptions[subscription_id].update(fields)

    async def add_delivery(self, doc: Mapping[str, Any]) -> bool:
        if doc["_id"] in self.deliveries:
            return False
        self.deliveries[str(doc["_id"])] = dict(doc)
        return True


class Webhooks:
    async def check(self, url: str) -> None:
        return None


@pytest.fixture
def world() -> tuple[Subscriptions, handlers.Deps, list[Contract]]:
    repo, requested = Subscriptions(), []

    async def publish(payload: Contract, key: str) -> Any:
        requested.append(payload)

        async def sent() -> None:
            return None
        return sent()

    deps = handlers.Deps(
        repo=repo, mailer=None, webhooks=Webhooks(), templates=EmailTemplates(), publish=publish,  # type: ignore[arg-type]
        policy=handlers.Policy(secret="unit-test-secret", public_ui_url="https://ui", smtp_from="upr@example.org"),
        clock=lambda: NOW, random=lambda: 0.0, secret_box=SecretBox(Fernet.generate_key().decode()))
    return repo, deps, requested


def email(owner: str = "sokha", sid: str = "sub-email-1", address: str = "sokha@example.org") -> Any:
    return SubscriptionRequestedV1(subscription_id=sid, owner=owner, channel=Channel.EMAIL, email=address,
                                   event_kinds=["new_evidence"])


async def request(deps: handlers.Deps, payload: Any, actor: Actor) -> str:
    return await handlers.subscription_requested(make_event(payload, source="ui", actor=actor), payload, deps)


async def test_a_new_email_address_waits_for_its_confirmation_sent_once(world: Any) -> None:
    repo, deps, requested = world
    assert await request(deps, email(), SOKHA) == "created"
    stored = repo.subscriptions["sub-email-1"]
    assert (stored["status"], stored["owner_role"], stored["created_by"]["username"]) == (
        "pending_confirmation", "cso_member", "sokha")
    (confirmation,) = repo.deliveries.values()
    assert confirmation["kind"] == "confirmation" and confirmation["details"] == {"email": "sokha@example.org"}
    assert [r.delivery_id for r in requested] == [confirmation["_id"]]  # handed to the sender
    # The same address again (a changed filter): no second confirmation.
    await handlers.confirm_by_token(_confirm_token(deps, "sub-email-1", "sokha@example.org"), deps)
    assert await request(deps, email(), SOKHA) == "updated"
    assert repo.subscriptions["sub-email-1"]["status"] == "active" and len(repo.deliveries) == 1


def _confirm_token(deps: handlers.Deps, sid: str, address: str) -> str:
    from services.notifier.adapters.tokens import confirmation_token

    return confirmation_token(deps.policy.secret, sid, address)


async def test_a_person_subscribes_only_themselves_and_only_an_admin_adds_a_webhook(world: Any) -> None:
    repo, deps, _ = world
    with pytest.raises(Rejected, match="only manage their own"):
        await request(deps, email(owner="dara"), SOKHA)
    webhook = SubscriptionRequestedV1(subscription_id="sub-hook-1", owner="sokha", channel=Channel.WEBHOOK,
                                      webhook_url="https://partner.example.org/upr", event_kinds=["new_evidence"])
    with pytest.raises(Rejected, match="admins only"):
        await request(deps, webhook, SOKHA)
    coalition_email = SubscriptionRequestedV2(**email().model_dump(), coalition_partner=True)
    with pytest.raises(Rejected, match="coalition_partner"):  # coalition-only alerts never go to an inbox
        await request(deps, coalition_email, ADMIN)
    assert not repo.subscriptions


async def test_a_webhook_gets_a_secret_stored_encrypted_and_kept_when_replaced(world: Any) -> None:
    repo, deps, _ = world
    webhook = SubscriptionRequestedV1(subscription_id="sub-hook-1", owner="partner", channel=Channel.WEBHOOK,
                                      webhook_url="https://partner.example.org/upr", event_kinds=["new_evidence"])
    await request(deps, webhook, ADMIN)
    stored = repo.subscriptions["sub-hook-1"]
    secret = handlers.webhook_secret(deps, stored)
    assert stored["secret"] is None and secret and secret not in str(stored)
    assert (stored["status"], stored["audience"]) == ("active", "public")
    await request(deps, webhook.model_copy(update={"event_kinds": ["status_change"]}), ADMIN)
    assert handlers.webhook_secret(deps, repo.subscriptions["sub-hook-1"]) == secret


async def test_cancelling_needs_the_owner_or_an_admin_and_a_known_subscription(world: Any) -> None:
    repo, deps, _ = world
    await request(deps, email(), SOKHA)

    async def cancel(sid: str, actor: Actor) -> str:
        payload = SubscriptionCancelledV1(subscription_id=sid)
        return await handlers.subscription_cancelled(make_event(payload, source="ui", actor=actor), payload, deps)

    with pytest.raises(Rejected, match="unknown subscription"):
        await cancel("sub-nope", ADMIN)
    with pytest.raises(Rejected):
        await cancel("sub-email-1", Actor(username="dara", role=Role.CSO_MEMBER))
    assert await cancel("sub-email-1", SOKHA) == "cancelled"
    assert repo.subscriptions["sub-email-1"]["status"] == "cancelled"
