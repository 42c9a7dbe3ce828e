"""Webhook signatures: ``X-UPR-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``.

The MAC is computed over ``f"{t}.{body}"`` with the subscription's secret, so a
receiver can check both that the body came from UPR Tracker and that it is fresh
(replays of an old body are refused after ``tolerance_s``). Pure; stdlib only, so
receivers can copy :func:`verify_signature` as is (see docs/webhooks.md).
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-UPR-Signature"
DELIVERY_HEADER = "X-UPR-Delivery"
EVENT_TYPE_HEADER = "X-UPR-Event-Type"


class InvalidSignature(ValueError):
    pass


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str, header: str, body: bytes, tolerance_s: float = 300, now: float | None = None
) -> int:
    """Check an ``X-UPR-Signature`` header against the raw request body.

    Returns the signed timestamp; raises :class:`InvalidSignature` if the header is
    malformed, too old or too far in the future, or no ``v1`` MAC matches (several
    ``v1=`` entries are accepted, for secret rotation)."""
    timestamp: int | None = None
    macs: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            macs.append(value)
    if timestamp is None or not macs:
        raise InvalidSignature("malformed signature header")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise InvalidSignature("signature timestamp outside the tolerance window")
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, mac) for mac in macs):
        raise InvalidSignature("signature does not match the body")
    return timestamp
