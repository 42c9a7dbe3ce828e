"""The SSRF guard: which webhook URLs the notifier may call."""

from __future__ import annotations

import pytest

from services.notifier.domain.endpoints import UnsafeEndpoint, check_endpoint


def test_public_https_endpoint_is_allowed() -> None:
    check_endpoint("https://partner.example.org/hooks", ["93.184.215.14"], [])


def test_plain_http_needs_the_allow_list() -> None:
    with pytest.raises(UnsafeEndpoint, match="https"):
        check_endpoint("http://partner.example.org/hooks", ["93.184.215.14"], [])
    check_endpoint("http://partner.example.org/hooks", ["93.184.215.14"], ["partner.example.org"])


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.5", "192.168.1.10", "169.254.169.254", "::1", "fe80::1", "0.0.0.0",
    "::ffff:127.0.0.1", "fd00::1", "224.0.0.1",
])
def test_internal_addresses_are_refused(address: str) -> None:
    with pytest.raises(UnsafeEndpoint, match="internal address"):
        check_endpoint("https://innocent.example.org/hook", [address], [])


def test_a_host_resolving_to_any_internal_address_is_refused() -> None:
    with pytest.raises(UnsafeEndpoint, match=r"10\.0\.0\.7"):
        check_endpoint("https://mixed.example.org/hook", ["93.184.215.14", "10.0.0.7"], [])


def test_loopback_allowed_when_listed_by_address_host_or_network() -> None:
    check_endpoint("http://127.0.0.1:9100/hook", ["127.0.0.1"], ["127.0.0.1"])
    check_endpoint("http://localhost:9100/hook", ["127.0.0.1"], ["localhost"])
    check_endpoint("https://intranet.example.org/hook", ["10.20.0.4"], ["10.20.0.0/16"])


@pytest.mark.parametrize(("url", "reason"), [
    ("ftp://example.org/x", "http"),
    ("https:///nohost", "no host"),
    ("https://user:pw@example.org/x", "credentials"),
])
def test_malformed_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(UnsafeEndpoint, match=reason):
        check_endpoint(url, ["93.184.215.14"], [])


def test_a_host_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(UnsafeEndpoint, match="does not resolve"):
        check_endpoint("https://nowhere.invalid/x", [], [])
