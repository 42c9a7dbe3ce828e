"""Signed links in emails: unsubscribe and confirmation (double opt-in) tokens name what
they are for, cannot be forged, and expire (issue 13, row 8)."""

from __future__ import annotations

import time

import pytest

from services.notifier.adapters.tokens import (
    InvalidToken,
    confirmation_from_token,
    confirmation_url,
    subscription_from_token,
    unsubscribe_url,
)

DAY = 86_400.0


def token_of(url: str) -> str:
    return url.split("token=")[1]


def test_unsubscribe_token_names_the_subscription_and_cannot_be_forged() -> None:
    url = unsubscribe_url("https://alerts.upr.example.org/", "secret", "sub-000001")
    assert url.startswith("https://alerts.upr.example.org/unsubscribe?token=")
    token = token_of(url)
    assert subscription_from_token("secret", token, 90 * DAY) == "sub-000001"
    with pytest.raises(InvalidToken):
        subscription_from_token("another-secret", token, 90 * DAY)
    with pytest.raises(InvalidToken):
        subscription_from_token("secret", token[:-2] + "xx", 90 * DAY)


def test_row8_an_unsubscribe_link_older_than_its_maximum_age_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    token = token_of(unsubscribe_url("https://n", "secret", "sub-000001"))
    issued = time.time()
    monkeypatch.setattr(time, "time", lambda: issued + 91 * DAY)
    with pytest.raises(InvalidToken, match="expired"):
        subscription_from_token("secret", token, 90 * DAY)


def test_row8_a_confirmation_link_expires_and_names_the_address_it_was_sent_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = token_of(confirmation_url("https://n", "secret", "sub-000001", "dara@example.org"))
    assert confirmation_from_token("secret", token, 3 * DAY) == ("sub-000001", "dara@example.org")
    with pytest.raises(InvalidToken, match="not valid"):  # not an unsubscribe token, nor the reverse
        subscription_from_token("secret", token, 3 * DAY)
    issued = time.time()
    monkeypatch.setattr(time, "time", lambda: issued + 4 * DAY)
    with pytest.raises(InvalidToken, match="expired"):
        confirmation_from_token("secret", token, 3 * DAY)


def test_row8_an_old_never_expiring_unsubscribe_token_is_no_longer_accepted() -> None:
    from itsdangerous import URLSafeSerializer

    forged = URLSafeSerializer("change-me-notifier-secret", salt="upr-notifier-unsubscribe").dumps({"s": "sub-1"})
    with pytest.raises(InvalidToken):
        subscription_from_token("change-me-notifier-secret", forged, 90 * DAY)
