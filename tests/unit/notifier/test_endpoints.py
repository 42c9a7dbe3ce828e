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


# Issue 13, row 9: every address that is not globally routable is refused, in every disguise.
@pytest.mark.parametrize("address", [
    "100.100.100.200",  # shared 100.64.0.0/10: cloud metadata (Alibaba) lives here
    "100.64.0.1",
    "198.18.0.1",  # benchmarking
    "240.0.0.1",  # reserved
    "192.0.2.1",  # documentation
    "fec0::1",  # site-local
    "2001:db8::1",  # documentation
    "::ffff:169.254.169.254",  # IPv4-mapped metadata
    "::ffff:100.100.100.200",
    "::7f00:1",  # IPv4-compatible loopback
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2002:6464:64c8::",  # 6to4 of 100.100.100.200
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo whose client is 127.0.0.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::a00:1",  # local-use NAT64
])
def test_row9_ssrf_every_address_that_is_not_globally_routable_is_refused(address: str) -> None:
    with pytest.raises(UnsafeEndpoint, match="internal address"):
        check_endpoint("https://innocent.example.org/hook", [address], [])


@pytest.mark.parametrize("address", [
    "93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
    "64:ff9b::5db8:d70e",  # NAT64 of 93.184.215.14: the IPv4 address inside is public
    "2002:5db8:d70e::1",  # 6to4 of 93.184.215.14
])
def test_row9_ssrf_globally_routable_addresses_pass_even_behind_a_translation_prefix(address: str) -> None:
    check_endpoint("https://partner.example.org/hook", [address], [])
