"""Which webhook endpoints the notifier may call (SSRF guard). Pure: the caller resolves
the host name and passes the addresses in.

- ``https`` is required unless the host is on the allow-list;
- every address that is not globally routable (``not ip.is_global``: private, loopback,
  link-local where cloud metadata lives, shared 100.64.0.0/10 where some clouds put theirs,
  multicast, reserved, unspecified, site-local) is refused unless the host, or the address,
  or a network containing it, is on the allow-list;
- an IPv6 address that carries an IPv4 one (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible
  ``::a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``, Teredo ``2001::/32``) is judged
  by the IPv4 address inside too: ``2002:7f00:1::`` is loopback in disguise.

The caller connects to an address it passed here (see ``adapters/webhook.py``), never to
the name resolved again.
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


# IPv6 prefixes whose last 32 bits are an IPv4 address the packet really goes to.
_TRANSLATED = (ipaddress.IPv6Network("::ffff:0:0/96"), ipaddress.IPv6Network("64:ff9b::/96"),
               ipaddress.IPv6Network("::/96"))


def _not_global(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return (not ip.is_global or ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified
            or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local))


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo)."""
    if any(ip in net for net in _TRANSLATED) and int(ip) > 1:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)
    return []


def is_internal(address: str) -> bool:
    """Not globally routable, itself or through the IPv4 address it carries."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv4Address):
        return _not_global(ip)
    inner = embedded_ipv4(ip)
    if any(_not_global(v4) for v4 in inner):
        return True
    if inner and any(ip in net for net in _TRANSLATED):
        return False  # a translation prefix (not global itself): the IPv4 address inside decides
    return _not_global(ip)


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
        if is_internal(address) and not (host_listed or _allowed(host, address, allowlist)):
            raise UnsafeEndpoint(
                f"{host} resolves to the internal address {address} (not globally routable); "
                "add it to UPR_WEBHOOK_ALLOWLIST to allow"
            )


def endpoint_key(url: str) -> str:
    """Deliveries to one endpoint share its concurrency limit: ``scheme://host:port``."""
    parts = urlsplit(url)
    host = host_of(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{host}:{port}"
