"""Customer bans as the Configuration API lists and lifts them (``list_customer_bans``, ``unban_customer``).

A ban is made by the Agent API's ``ban_customer`` (``core/agents.py``), which writes what refuses the customer (the
customer record's ``banned_until``, read by every token check, and the tracker's ``tr:bans``, read by the page-view
script) and, through ``record_ban`` here, one ban record for these two methods: who banned, when, until when and the
address of the customer's visit. Lifting a ban removes all three; a customer record that only the ban kept (no chat)
expires again like any browsing visitor's.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import msgspec

from .. import keys
from ..protocol import configuration as cf
from ..protocol import customer as c
from ..protocol.common import now_rfc3339
from ..protocol.errors import ApiError
from ..tracking.tracker import Tracker
from . import scripts
from .store import Store

_EMPTY = c.Empty()
_ban_decoder = msgspec.json.Decoder(cf.CustomerBan)
FOREVER = 2**40
"""What ``ban_customer`` stores as the end of a ban without end (``days: 0``)."""


def _rfc3339(unix: int) -> str:
    return dt.datetime.fromtimestamp(unix, dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


async def record_ban(store: Store, tracker: Tracker, org: str, customer_id: str, agent_id: str, until: int,
                     thread_id: str | None) -> None:
    """Keep the ban's record (``ban_customer`` calls it after the ban itself is in force)."""
    visitor = await tracker.visitor(org, customer_id)
    ban = cf.CustomerBan(customer_id=customer_id, agent_id=agent_id, created_at=now_rfc3339(),
                         ip=(visitor.visit.ip or None) if visitor is not None else None, thread_id=thread_id,
                         expires_at=None if until >= FOREVER else _rfc3339(until))
    await store.r.hset(keys.customer_bans(org), customer_id, msgspec.json.encode(ban))


class BansConfiguration:
    """The ban methods of ``ConfigurationCore`` (a mixin: it uses the core's store; ``attach_visitors`` gives it the
    tracker and the customer records' expiry)."""

    store: Store
    tracker: Tracker | None = None
    customer_ttl: int = 30 * 86400

    def attach_visitors(self, tracker: Tracker, customer_ttl: int) -> None:
        self.tracker = tracker
        self.customer_ttl = customer_ttl

    async def _bans_in_force(self, org: str) -> list[cf.CustomerBan]:
        raw = await self.store.r.hgetall(keys.customer_bans(org))
        now = time.time()
        bans, ended = [], []
        for cid, value in raw.items():
            ban = _ban_decoder.decode(value)
            if ban.expires_at is not None and dt.datetime.fromisoformat(ban.expires_at).timestamp() <= now:
                ended.append(cid)
            else:
                bans.append(ban)
        if ended:  # a ban that ran out is over: its record goes (the customer's own fields no longer refuse them)
            await self.store.r.hdel(keys.customer_bans(org), *ended)
        return sorted(bans, key=lambda b: (b.created_at, b.customer_id))

    async def list_customer_bans(self, caller: Any, req: c.Empty) -> list[cf.CustomerBan]:
        """The bans in force, oldest first."""
        return await self._bans_in_force(caller.org)

    async def unban_customer(self, caller: Any, req: cf.UnbanCustomerRequest) -> c.Empty:
        """Lift the ban of one customer, or of every customer banned while visiting from ``ip``."""
        if (req.ip is None) == (req.customer_id is None):
            raise ApiError("validation", "Exactly one of ip and customer_id is required")
        bans = await self._bans_in_force(caller.org)
        lifted = [b.customer_id for b in bans if b.customer_id == req.customer_id or (req.ip and b.ip == req.ip)]
        if not lifted:
            raise ApiError("not_found", "No ban of this customer" if req.customer_id else "No ban of this address")
        expire = scripts.register(self.store.r, "expire_browsing_customer")  # (cached by valkey-py by its digest)
        for cid in lifted:
            await self.store.r.hdel(keys.customer(cid), "banned_until")
            if self.tracker is not None:
                await self.tracker.unban(caller.org, cid)
            # kept for good by the ban only: it expires again like any browsing visitor's (not when it has chats)
            await expire(keys=[keys.customer(cid), keys.customer_chats(cid)], args=[self.customer_ttl])
            await self.store.r.hdel(keys.customer_bans(caller.org), cid)
        return _EMPTY
