"""Where a webhook may be delivered: public addresses only, unless the operator allows more.

A webhook URL is chosen by a license's owner, and its delivery log shows what happened, so without this check any
owner could make the server POST to its own loopback, the private network or a cloud metadata service
(169.254.169.254) and read the answers' status codes. The check is made on the *resolved* address, at send time,
and the request then goes to exactly that address (so a name that resolves to something else a moment later, DNS
rebinding, changes nothing); redirects are never followed. Registration also refuses a literal address that would be
refused at send time, so the mistake shows at once.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class TargetRefused(Exception):
    """The target resolves to an address webhooks may not reach (or does not resolve)."""


def parse_networks(spec: str) -> list[IPNetwork]:
    """``"127.0.0.1/32, 10.0.0.0/8"`` -> networks; a bare address is its own /32 or /128. Raises ValueError."""
    return [ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip()]


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped ``::ffff:a.b.c.d``, NAT64, 6to4, Teredo), which is where a
    packet to it ends up."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def is_public(ip: IPAddress) -> bool:
    """Globally routable unicast: not private, loopback, link-local (metadata services), shared (100.64/10),
    reserved, unspecified, documentation or multicast; IPv6 addresses that carry an IPv4 one are judged by it."""
    inner = _embedded_ipv4(ip)
    if inner is not None:
        return is_public(inner)
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:  # fec0::/10, deprecated but still routed
        return False
    # is_global alone lets the reserved ::/8 (IPv4-compatible ::a.b.c.d) and multicast through
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


class TargetPolicy:
    """The worker's rule for webhook targets: public addresses, plus the operator's ``allowed`` networks (for a bot
    on the same host or network: ``WIDGET_WEBHOOK_ALLOWED_NETWORKS``)."""

    def __init__(self, allowed: list[IPNetwork] | None = None, resolve_timeout: float = 5.0) -> None:
        self.allowed = allowed or []
        self.resolve_timeout = resolve_timeout

    def permits(self, ip: IPAddress) -> bool:
        return any(ip in net for net in self.allowed) or is_public(ip)

    def registration_error(self, url: str) -> str | None:
        """Why ``url`` cannot be registered: no host, or a literal address that would be refused at send time (a
        name, even ``localhost``, is judged only when it is resolved, at send time: what it resolves to may
        change). None when it may be registered."""
        try:
            host = urlsplit(url).hostname or ""
        except ValueError:  # e.g. an unclosed "[" of an IPv6 literal
            host = ""
        if not host:
            return "url: not an http:// or https:// URL with a host"
        try:
            ip: IPAddress = ipaddress.ip_address(host)
        except ValueError:
            try:  # the short and numeric IPv4 forms resolvers accept too: "127.1", "2130706433", "0x7f.1"
                ip = ipaddress.IPv4Address(socket.inet_aton(host))
            except OSError:
                return None
        if self.permits(ip):
            return None
        return ("url: webhooks may not target loopback, private, link-local or reserved addresses "
                "(see WIDGET_WEBHOOK_ALLOWED_NETWORKS)")

    async def resolve(self, host: str, port: int) -> str:
        """The address to connect to for ``host``: every address it resolves to must be permitted (one refused
        address refuses the name: which one a client would pick is not ours to guess)."""
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            candidates = [literal]
        else:
            loop = asyncio.get_running_loop()
            try:
                infos = await asyncio.wait_for(
                    loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP),
                    self.resolve_timeout)
            except (OSError, TimeoutError) as exc:
                raise TargetRefused("does not resolve") from exc
            # scope ids (fe80::1%eth0) are dropped: link-local is refused anyway unless allowed
            candidates = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
        if not candidates or not all(self.permits(ip) for ip in candidates):
            raise TargetRefused("address not allowed")
        return str(candidates[0])
