"""Who may read the operator's endpoints (``/metrics``): the host's own side, or whoever holds the metrics token."""

from __future__ import annotations

import hmac
import ipaddress


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
