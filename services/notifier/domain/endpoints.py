"""Which webhook endpoints the notifier may call (SSRF guard). Pure: the caller resolves
the host name and passes the addresses in.

- ``https`` is required unless the host is on the allow-list;
- an address that is private, loopback, link-local (cloud metadata lives there),
  multicast, reserved or unspecified is refused unless the host, or the address, or a
  network containing it, is on the allow-list.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit


class UnsafeEndpoint(ValueError):
    pass


def host_of(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeEndpoint(f"webhook URL must be http(s), not {parts.scheme or 'missing'!r}")
    if not parts.hostname:
        raise UnsafeEndpoint("webhook URL has no host")
    if parts.username or parts.password:
        raise UnsafeEndpoint("webhook URL may not carry credentials")
    return parts.hostname.lower().rstrip(".")


def _allowed(host: str, address: str | None, allowlist: Sequence[str]) -> bool:
    for entry in (e.strip().lower() for e in allowlist):
        if not entry:
            continue
        if entry == host or (address is not None and entry == address):
            return True
        if "/" in entry and address is not None:
            try:
                if ipaddress.ip_address(address) in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
    return False


def _is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified)


def check_endpoint(url: str, addresses: Iterable[str], allowlist: Sequence[str]) -> None:
    """Raise :class:`UnsafeEndpoint` with the reason if the notifier must not call ``url``."""
    host = host_of(url)
    scheme = urlsplit(url).scheme
    resolved = list(addresses)
    if not resolved:
        raise UnsafeEndpoint(f"host {host} does not resolve")
    host_listed = _allowed(host, None, allowlist)
    if scheme != "https" and not host_listed:
        raise UnsafeEndpoint(f"webhook URL must use https ({host} is not on the allow-list)")
    for address in resolved:
        if _is_internal(address) and not (host_listed or _allowed(host, address, allowlist)):
            raise UnsafeEndpoint(
                f"{host} resolves to the internal address {address}; add it to UPR_WEBHOOK_ALLOWLIST to allow"
            )


def endpoint_key(url: str) -> str:
    """Deliveries to one endpoint share its concurrency limit: ``scheme://host:port``."""
    parts = urlsplit(url)
    host = host_of(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{host}:{port}"
