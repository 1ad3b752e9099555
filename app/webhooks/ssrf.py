"""Webhook URLs must be https and reach only public addresses (no loopback, private, link-local,
metadata or otherwise special ranges). PACTA_WEBHOOKS_ALLOW_LOOPBACK=true admits loopback (and
plain http there) for local testing."""

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from app.i18n import Text


class UnsafeURL(ValueError):
    """A URL the registry will not call; its reason is a catalogue text (answered to the client)."""

    def __init__(self, text: Text) -> None:
        super().__init__(str(text))
        self.text = text


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, NAT64, IPv4-compatible, Teredo)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or address in _IPV4_TRANSLATED or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address, *, allow_loopback: bool) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address in _NAT64_LOCAL or address.is_site_local:
            return False
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            address = embedded
    if address.is_loopback:
        return allow_loopback
    return address.is_global and not address.is_multicast


async def resolve(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as exc:
        raise UnsafeURL(Text("webhooks.url_unresolved", host=host)) from exc
    return [ipaddress.ip_address(info[4][0]) for info in infos]


async def check_url(url: str, *, allow_loopback: bool) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Raise UnsafeURL unless every address the URL's host resolves to may be called; return them."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
        host = parts.hostname
    except ValueError as exc:
        raise UnsafeURL(Text("webhooks.url_invalid", error=exc)) from exc
    if parts.username or parts.password:
        raise UnsafeURL(Text("webhooks.url_credentials"))
    if not host:
        raise UnsafeURL(Text("webhooks.url_no_host"))
    addresses = await resolve(host)
    if not addresses:
        raise UnsafeURL(Text("webhooks.url_unresolved", host=host))
    loopback = all(  # every address is loopback (possibly IPv4-mapped)
        a.is_loopback
        or (isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped is not None and a.ipv4_mapped.is_loopback)
        for a in addresses
    )
    if parts.scheme != "https" and not (parts.scheme == "http" and allow_loopback and loopback):
        raise UnsafeURL(Text("webhooks.url_https"))
    for address in addresses:
        if not _allowed(address, allow_loopback=allow_loopback):
            raise UnsafeURL(Text("webhooks.url_private", host=host, address=address))
    return addresses


def pinned(url: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> tuple[str, str, str]:
    """The URL aimed at the checked address (no second DNS lookup can swap it), with the Host
    header and TLS server name to send: (url, host header, sni hostname)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else str(address)
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    return parts._replace(netloc=netloc).geturl(), parts.netloc, host
