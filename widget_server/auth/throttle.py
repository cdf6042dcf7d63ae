"""Request budgets for the hottest calls: per address for those Litestar's rate limiter leaves out (the loader's
calls and tracking, ``POST /v1/widget/visit``, ``POST /v1/track``, and the new visitors they and the cookie grant
make), per customer and per address for customers' writes (messages above all, on RTM and Web).

Those calls come from every page view of every site and with every chat message, so they skip the app's limiter,
which costs two Valkey round trips a request (``app.py``). These budgets are kept in the worker's memory instead: a
counter per key in fixed one-minute windows, no Valkey work at all (counting a message's writes in Valkey cost ~40 %
more server CPU per message: README, Benchmarks). So a limit holds per worker: with W workers (on H hosts) an
address may make up to W × H times as many calls, a customer's RTM socket (where their messages go) sits on one
worker. That bounds what one visitor can create, which is what they are for; a per-deployment count would cost the
round trip they avoid.
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


class Throttle:
    """At most ``per_minute`` calls per key (a customer, an address) and minute (0: no limit); ``take`` refuses
    more with LiveChat's ``too_many_requests``."""

    __slots__ = ("_counts", "_window", "message", "per_minute")

    def __init__(self, per_minute: int, message: str) -> None:
        self.per_minute = per_minute
        self.message = message
        """The refusal's message."""
        self._window = 0
        self._counts: dict[str, int] = {}

    def take(self, key: str) -> None:
        if self.per_minute <= 0:
            return
        window = int(time.time()) // 60
        counts = self._counts
        if window != self._window or len(counts) >= MAX_ADDRESSES:
            self._window = window
            counts = self._counts = {}
        count = counts.get(key, 0) + 1
        counts[key] = count
        if count > self.per_minute:
            raise ApiError("too_many_requests", self.message, {"retry_after": 60 - int(time.time()) % 60})


class AddressThrottle(Throttle):
    """A ``Throttle`` per client address (an IPv6 client's whole /64)."""

    __slots__ = ()

    def __init__(self, per_minute: int, what: str) -> None:
        super().__init__(per_minute, f"Too many {what} from this address; try again in a minute")

    def take(self, address: str | None) -> None:  # type: ignore[override]
        super().take(address_key(address))
