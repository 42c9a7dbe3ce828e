"""Signed, expiring links in emails (itsdangerous, timed): only the notifier's secret can
produce a valid one, and each stops working after its maximum age.

- unsubscribe: names the subscription (``GET /unsubscribe?token=...``);
- confirmation (double opt-in): names the subscription and the address it was sent to
  (``GET /confirm?token=...``); a subscription whose address changed since needs a new one.
"""

from __future__ import annotations

from urllib.parse import urlencode

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

UNSUBSCRIBE_SALT = "upr-notifier-unsubscribe-v2"
CONFIRM_SALT = "upr-notifier-confirm"


class InvalidToken(ValueError):
    pass


def unsubscribe_token(secret: str, subscription_id: str) -> str:
    return URLSafeTimedSerializer(secret, salt=UNSUBSCRIBE_SALT).dumps({"s": subscription_id})


def subscription_from_token(secret: str, token: str, max_age_s: float) -> str:
    """The subscription id a token was issued for; raises InvalidToken if forged, damaged or
    older than ``max_age_s``."""
    data = _load(secret, UNSUBSCRIBE_SALT, token, max_age_s, "unsubscribe")
    if not isinstance(data, dict) or not isinstance(data.get("s"), str):
        raise InvalidToken("the unsubscribe link is not valid")
    return str(data["s"])


def confirmation_token(secret: str, subscription_id: str, email: str) -> str:
    return URLSafeTimedSerializer(secret, salt=CONFIRM_SALT).dumps({"s": subscription_id, "e": email})


def confirmation_from_token(secret: str, token: str, max_age_s: float) -> tuple[str, str]:
    """(subscription id, email address) a confirmation link was sent for."""
    data = _load(secret, CONFIRM_SALT, token, max_age_s, "confirmation")
    if not isinstance(data, dict) or not isinstance(data.get("s"), str) or not isinstance(data.get("e"), str):
        raise InvalidToken("the confirmation link is not valid")
    return str(data["s"]), str(data["e"])


def _load(secret: str, salt: str, token: str, max_age_s: float, what: str) -> object:
    try:
        return URLSafeTimedSerializer(secret, salt=salt).loads(token, max_age=int(max_age_s))
    except SignatureExpired:
        raise InvalidToken(f"the {what} link has expired") from None
    except BadSignature:
        raise InvalidToken(f"the {what} link is not valid") from None


def unsubscribe_url(public_notifier_url: str, secret: str, subscription_id: str) -> str:
    token = unsubscribe_token(secret, subscription_id)
    return f"{public_notifier_url.rstrip('/')}/unsubscribe?{urlencode({'token': token})}"


def confirmation_url(public_notifier_url: str, secret: str, subscription_id: str, email: str) -> str:
    token = confirmation_token(secret, subscription_id, email)
    return f"{public_notifier_url.rstrip('/')}/confirm?{urlencode({'token': token})}"
