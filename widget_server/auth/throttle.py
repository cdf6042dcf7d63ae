"""Per-address request budgets for the calls Litestar's rate limiter leaves out: the loader's calls and tracking
(``POST /v1/widget/visit``, ``POST /v1/track``) and the new visitors they (and the cookie grant) make.

Those calls come from every page view of every site, so they skip the app's limiter, which costs two Valkey round
trips a request (``app.py``). These budgets are kept in the worker's memory instead: a counter per address in fixed
one-minute windows, no Valkey work at all. So a limit holds per worker: with W workers (on H hosts) an address may
make up to W × H times as many calls. That bounds what one address can create, which is what they are for; a
per-deployment count would cost the round trip they avoid.
"""

from __future__ import annotations

import ipaddress
import time

from ..protocol.errors import ApiError

MAX_ADDRESSES = 100_000
"""Addresses one window remembers; past that (a flood from very many addresses, which per-address limits do not stop
anyway) the window starts over, so the memory stays bounded."""


def address_key(address: str | None) -> str:
    """The budget an address draws on: an IPv6 client's whole /64 (one host can use all of it), else the address."""
    if not address or ":" not in address:
        return address or ""
    try:
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False).network_address)
    except ValueError:
        return address


class AddressThrottle:
    """At most ``per_minute`` calls per address and minute (0: no limit); ``take`` refuses more with LiveChat's
    ``too_many_requests``."""

    __slots__ = ("_counts", "_window", "per_minute", "what")

    def __init__(self, per_minute: int, what: str) -> None:
        self.per_minute = per_minute
        self.what = what
        """What is counted, for the error message."""
        self._window = 0
        self._counts: dict[str, int] = {}

    def take(self, address: str | None) -> None:
        if self.per_minute <= 0:
            return
        window = int(time.time()) // 60
        counts = self._counts
        if window != self._window or len(counts) >= MAX_ADDRESSES:
            self._window = window
            counts = self._counts = {}
        key = address_key(address)
        count = counts.get(key, 0) + 1
        counts[key] = count
        if count > self.per_minute:
            raise ApiError("too_many_requests", f"Too many {self.what} from this address; try again in a minute",
                           {"retry_after": 60 - int(time.time()) % 60})
