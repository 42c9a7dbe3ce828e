"""Webhook signatures: ``X-UPR-Signature: t=<unix seconds>,v2=<hex HMAC-SHA256>``.

The MAC is computed with the subscription's secret over

    f"{t}\n{delivery_id}\n{event_type}\n".encode("utf-8") + body

so a receiver can check that the body, the delivery id (``X-UPR-Delivery``, what it
deduplicates on) and the event type (``X-UPR-Event-Type``, what it dispatches on) all came
from UPR Tracker together, and that they are fresh (an old signature is refused after
``tolerance_s``). Header values never hold a line break, so the fields cannot be shifted
into one another. (``v1`` signed only ``f"{t}.{body}"``: an attacker replaying a body
within the window could relabel it with another delivery id or event type.) Pure; stdlib
only, so receivers can copy :func:`verify_signature` as is (see docs/webhooks.md).
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-UPR-Signature"
DELIVERY_HEADER = "X-UPR-Delivery"
EVENT_TYPE_HEADER = "X-UPR-Event-Type"
SCHEME = "v2"


class InvalidSignature(ValueError):
    pass


def signed_material(timestamp: int, delivery_id: str, event_type: str, body: bytes) -> bytes:
    return f"{timestamp}\n{delivery_id}\n{event_type}\n".encode() + body


def sign(secret: str, body: bytes, timestamp: int, *, delivery_id: str, event_type: str) -> str:
    if any(c in delivery_id + event_type for c in "\r\n"):
        raise ValueError("delivery id and event type may not hold a line break")
    mac = hmac.new(secret.encode("utf-8"), signed_material(timestamp, delivery_id, event_type, body), hashlib.sha256)
    return f"t={timestamp},{SCHEME}={mac.hexdigest()}"


def verify_signature(
    secret: str, header: str, body: bytes, *, delivery_id: str, event_type: str, tolerance_s: float = 300,
    now: float | None = None,
) -> int:
    """Check an ``X-UPR-Signature`` header against the raw request body and the
    ``X-UPR-Delivery`` and ``X-UPR-Event-Type`` headers as received.

    Returns the signed timestamp; raises :class:`InvalidSignature` if the header is
    malformed, too old or too far in the future, or no ``v2`` MAC matches (several
    ``v2=`` entries are accepted, for secret rotation)."""
    timestamp: int | None = None
    macs: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == SCHEME and value:
            macs.append(value)
    if timestamp is None or not macs:
        raise InvalidSignature("malformed signature header")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise InvalidSignature("signature timestamp outside the tolerance window")
    material = signed_material(timestamp, delivery_id, event_type, body)
    expected = hmac.new(secret.encode("utf-8"), material, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, mac) for mac in macs):
        raise InvalidSignature("signature does not match the body, delivery id and event type")
    return timestamp
