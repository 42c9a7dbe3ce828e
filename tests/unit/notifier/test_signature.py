"""Webhook signatures a partner can verify, and forgeries they can refuse."""

from __future__ import annotations

import pytest

from services.notifier.domain.signature import InvalidSignature, sign, verify_signature

BODY = '{"type": "evidence.added", "payload": {"title": "ច្បាប់ស្តីពីកិច្ចការពារកុមារ"}}'.encode()
NOW = 1_790_000_000


def test_a_signed_body_verifies_and_returns_its_timestamp() -> None:
    header = sign("s3cret", BODY, NOW)
    assert header.startswith(f"t={NOW},v1=")
    assert verify_signature("s3cret", header, BODY, tolerance_s=300, now=NOW + 10) == NOW


@pytest.mark.parametrize("tamper", [
    lambda h, b: (h, b + b" "),  # body changed
    lambda h, b: (h.replace(f"t={NOW}", f"t={NOW + 1}"), b),  # timestamp changed
    lambda h, b: (h[:-4] + "0000", b),  # MAC changed
])
def test_any_change_to_body_timestamp_or_mac_is_refused(tamper: object) -> None:
    header, body = tamper(sign("s3cret", BODY, NOW), BODY)  # type: ignore[operator]
    with pytest.raises(InvalidSignature, match="does not match"):
        verify_signature("s3cret", header, body, now=NOW)


def test_wrong_secret_is_refused() -> None:
    with pytest.raises(InvalidSignature):
        verify_signature("other", sign("s3cret", BODY, NOW), BODY, now=NOW)


def test_an_old_signature_is_refused_as_a_replay() -> None:
    with pytest.raises(InvalidSignature, match="tolerance"):
        verify_signature("s3cret", sign("s3cret", BODY, NOW), BODY, tolerance_s=300, now=NOW + 301)


@pytest.mark.parametrize("header", ["", "t=abc,v1=00", f"t={NOW}", "v1=abcd", "garbage"])
def test_malformed_headers_are_refused(header: str) -> None:
    with pytest.raises(InvalidSignature, match="malformed"):
        verify_signature("s3cret", header, BODY, now=NOW)


def test_any_of_several_macs_may_match_during_secret_rotation() -> None:
    new = sign("new-secret", BODY, NOW).split("v1=")[1]
    old = sign("old-secret", BODY, NOW).split("v1=")[1]
    assert verify_signature("old-secret", f"t={NOW},v1={new},v1={old}", BODY, now=NOW) == NOW
