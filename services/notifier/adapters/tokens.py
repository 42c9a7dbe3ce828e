"""Signed unsubscribe tokens (itsdangerous): the link in every email names the
subscription, and only the notifier's secret can produce a valid one."""

from __future__ import annotations

from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "upr-notifier-unsubscribe"


class InvalidToken(ValueError):
    pass


def unsubscribe_token(secret: str, subscription_id: str) -> str:
    return URLSafeSerializer(secret, salt=SALT).dumps({"s": subscription_id})


def subscription_from_token(secret: str, token: str) -> str:
    """The subscription id a token was issued for; raises InvalidToken if forged or damaged."""
    try:
        data = URLSafeSerializer(secret, salt=SALT).loads(token)
    except BadSignature:
        raise InvalidToken("the unsubscribe link is not valid") from None
    if not isinstance(data, dict) or not isinstance(data.get("s"), str):
        raise InvalidToken("the unsubscribe link is not valid")
    return str(data["s"])


def unsubscribe_url(public_ui_url: str, secret: str, subscription_id: str) -> str:
    return f"{public_ui_url.rstrip('/')}/unsubscribe?{urlencode({'token': unsubscribe_token(secret, subscription_id)})}"
