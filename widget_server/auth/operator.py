"""The operator's side: who may scrape ``/metrics`` (the host's own side, or whoever holds the metrics token) and
who is the local owner the demo page offers a one-click way into the agent console."""

from __future__ import annotations

import hmac
import ipaddress
import json
from pathlib import Path


def may_scrape(client_ip: str | None, authorization: str | None, token: str) -> bool:
    """A scrape from a loopback or private address (the host, its LAN, a container network) needs nothing; any other
    needs ``Authorization: Bearer <WIDGET_METRICS_TOKEN>``, and with no token set is refused. ``client_ip`` is the
    peer's, or the proxy's report of it with ``WIDGET_TRUSTED_PROXY_HEADERS`` (else every scrape through a local
    proxy would look local)."""
    try:
        address = ipaddress.ip_address(client_ip or "")
        if address.is_loopback or address.is_private:
            return True
    except ValueError:
        pass
    if not token or not authorization:
        return False
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


_FORWARDING = frozenset(("forwarded", "x-forwarded-for", "x-real-ip", "cf-connecting-ip", "true-client-ip"))


def is_local_owner(peer_ip: str | None, header_names: list[str]) -> bool:
    """A request the host's owner made from the host itself: from a loopback address and not relayed by a proxy
    (a proxy on the host would make every visitor look local; one that forwards says so in these headers). The
    first-run shortcut of the demo page (``/demo/console``) is offered only to such a request."""
    try:
        if not ipaddress.ip_address(peer_ip or "").is_loopback:
            return False
    except ValueError:
        return False
    return not any(name.lower() in _FORWARDING for name in header_names)


def local_owner_token(data_dir: str, org: str) -> str | None:
    """The owner's personal access token of the default license, from ``<data dir>/credentials.json`` (what the first
    start wrote and ``credentials`` prints), when the file is still there and ``org`` is that license; else None.
    Deleting the file turns the demo page's shortcut off."""
    try:
        creds = json.loads((Path(data_dir) / "credentials.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(creds, dict) or creds.get("organization_id") != org:
        return None
    token = (creds.get("owner") or {}).get("personal_access_token")
    return token if isinstance(token, str) and token else None
