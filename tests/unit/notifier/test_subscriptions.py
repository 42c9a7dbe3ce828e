"""Who may manage which subscription, and which requests are refused."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.events import Actor, Channel, Role, SubscriptionRequestedV1
from services.notifier.domain.subscriptions import InvalidSubscription, NotAllowed, check_may_manage, check_request

ADMIN = Actor(username="sok", role=Role.ADMIN)
VIEWER = Actor(username="dara", role=Role.VIEWER)


def request(**fields: Any) -> SubscriptionRequestedV1:
    base: dict[str, Any] = {"subscription_id": "sub-000001", "owner": "dara", "channel": Channel.EMAIL,
                            "email": "dara@example.org", "event_kinds": ["new_evidence"]}
    base.update(fields)
    return SubscriptionRequestedV1(**base)


def test_viewer_manages_their_own_email_subscription() -> None:
    check_may_manage(VIEWER, Channel.EMAIL, "dara", None)
    check_may_manage(VIEWER, Channel.EMAIL, "dara", "dara")


def test_viewer_may_not_touch_someone_elses_subscription() -> None:
    with pytest.raises(NotAllowed, match="their own"):
        check_may_manage(VIEWER, Channel.EMAIL, "sophea", None)
    with pytest.raises(NotAllowed, match="their own"):
        check_may_manage(VIEWER, Channel.EMAIL, "dara", "sophea")  # taking over an existing id


def test_only_admins_manage_webhooks() -> None:
    with pytest.raises(NotAllowed, match="admins only"):
        check_may_manage(VIEWER, Channel.WEBHOOK, "dara", None)
    check_may_manage(ADMIN, Channel.WEBHOOK, "partner", None)


def test_command_without_actor_is_refused() -> None:
    with pytest.raises(NotAllowed):
        check_may_manage(None, Channel.EMAIL, "dara", None)


@pytest.mark.parametrize(("fields", "reason"), [
    ({"email": None}, "valid email address"),
    ({"email": "not-an-address"}, "valid email address"),
    ({"channel": Channel.WEBHOOK, "email": None}, "needs a webhook_url"),
    ({"channel": Channel.WEBHOOK, "email": None, "webhook_url": "https://x.org/h", "frequency": "daily"},
     "sent immediately"),
    ({"channel": Channel.WEBHOOK, "email": None, "webhook_url": "https://x.org/h", "event_kinds": ["stale"]},
     "email only"),
    ({"themes": ["T08", "child marriage"]}, "unknown theme"),
])
def test_requests_that_could_never_deliver_are_refused_with_a_reason(fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidSubscription, match=reason):
        check_request(request(**fields))


# --- issue 13, row 4 -------------------------------------------------------------------


@pytest.mark.parametrize("value", ["a@x.org, b@y.org", "a@x.org;b@y.org", "a@x.org b@y.org",
                                   "Dara <a@x.org>, b@y.org"])
def test_row4_one_email_address_per_subscription_a_list_is_refused_with_a_clear_error(value: str) -> None:
    from services.notifier.domain.subscriptions import InvalidSubscription, single_address

    with pytest.raises(InvalidSubscription, match="one email address per subscription"):
        single_address(value)
    assert single_address(" dara@example.org ") == "dara@example.org"


def test_row4_a_subscription_reads_with_its_owners_role() -> None:
    from contracts.events import Actor, Channel, Role
    from services.notifier.domain.alerts import COALITION, PUBLIC
    from services.notifier.domain.subscriptions import audience_for, owner_role

    viewer = Actor(username="dara", role=Role.VIEWER)
    cso = Actor(username="sophea", role=Role.CSO_MEMBER)
    admin = Actor(username="admin", role=Role.ADMIN)
    assert audience_for(Channel.EMAIL, owner_role(viewer, "dara"), False) == PUBLIC
    assert audience_for(Channel.EMAIL, owner_role(cso, "sophea"), False) == COALITION
    # An admin subscribing someone else: that person's role is unknown, so the least one.
    assert audience_for(Channel.EMAIL, owner_role(admin, "dara"), False) == PUBLIC
    assert audience_for(Channel.WEBHOOK, owner_role(admin, "partner"), False) == PUBLIC
    assert audience_for(Channel.WEBHOOK, owner_role(admin, "partner"), True) == COALITION


def test_a_person_manages_their_own_telegram_alerts_one_by_one() -> None:
    check_may_manage(Actor(username="dara", role=Role.VIEWER), Channel.TELEGRAM, "dara", None)
    with pytest.raises(NotAllowed):
        check_may_manage(Actor(username="dara", role=Role.VIEWER), Channel.TELEGRAM, "sokha", None)
    check_request(request(channel=Channel.TELEGRAM, email=None))
    with pytest.raises(InvalidSubscription, match="one by one"):
        check_request(request(channel=Channel.TELEGRAM, email=None, frequency="daily"))
