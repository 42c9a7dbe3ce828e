"""Webhook signatures a partner can verify, and forgeries they can refuse."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from services.notifier.domain.signature import InvalidSignature, sign, verify_signature

BODY = '{"type": "evidence.added", "payload": {"title": "ច្បាប់ស្តីពីកិច្ចការពារកុមារ"}}'.encode()
NOW = 1_790_000_000
DELIVERY = "0b6f4a52-3e0c-5d43-9a5e-6a1f2f8f9d10"
TYPE = "evidence.added"


def signed(secret: str = "s3cret", body: bytes = BODY, at: int = NOW) -> str:
    return sign(secret, body, at, delivery_id=DELIVERY, event_type=TYPE)


def verify(header: str, body: bytes = BODY, secret: str = "s3cret", delivery: str = DELIVERY, type_: str = TYPE,
           now: float = NOW, tolerance_s: float = 300) -> int:
    return verify_signature(secret, header, body, delivery_id=delivery, event_type=type_, tolerance_s=tolerance_s,
                            now=now)


def test_a_signed_body_verifies_and_returns_its_timestamp() -> None:
    header = signed()
    assert header.startswith(f"t={NOW},v2=")
    assert verify(header, now=NOW + 10) == NOW


def test_row14_the_delivery_id_and_event_type_are_inside_the_signed_material() -> None:
    # A body replayed within the window with another delivery id (to slip past deduplication)
    # or another event type (to be dispatched as something else) no longer verifies.
    header = signed()
    with pytest.raises(InvalidSignature, match="does not match"):
        verify(header, delivery="11111111-1111-5111-8111-111111111111")
    with pytest.raises(InvalidSignature, match="does not match"):
        verify(header, type_="status.changed")


def test_row14_what_is_signed_is_exactly_as_documented() -> None:
    import hashlib
    import hmac

    material = f"{NOW}\n{DELIVERY}\n{TYPE}\n".encode() + BODY
    assert signed() == f"t={NOW},v2={hmac.new(b's3cret', material, hashlib.sha256).hexdigest()}"


@pytest.mark.parametrize("tamper", [
    lambda h, b: (h, b + b" "),  # body changed
    lambda h, b: (h.replace(f"t={NOW}", f"t={NOW + 1}"), b),  # timestamp changed
    lambda h, b: (h[:-4] + "0000", b),  # MAC changed
])
def test_any_change_to_body_timestamp_or_mac_is_refused(tamper: Callable[[str, bytes], tuple[str, bytes]]) -> None:
    header, body = tamper(signed(), BODY)
    with pytest.raises(InvalidSignature, match="does not match"):
        verify(header, body)


def test_wrong_secret_is_refused() -> None:
    with pytest.raises(InvalidSignature):
        verify(signed(), secret="other")


def test_an_old_signature_is_refused_as_a_replay() -> None:
    with pytest.raises(InvalidSignature, match="tolerance"):
        verify(signed(), now=NOW + 301)


@pytest.mark.parametrize("header", ["", "t=abc,v2=00", f"t={NOW}", "v2=abcd", "garbage", f"t={NOW},v1=abcd"])
def test_malformed_headers_are_refused(header: str) -> None:
    with pytest.raises(InvalidSignature, match="malformed"):
        verify(header)


def test_any_of_several_macs_may_match_during_secret_rotation() -> None:
    new = signed("new-secret").split("v2=")[1]
    old = signed("old-secret").split("v2=")[1]
    assert verify(f"t={NOW},v2={new},v2={old}", secret="old-secret") == NOW
