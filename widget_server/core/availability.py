"""Whether a license's groups are online: the group's business hours are open (``core/hours.py``) and one of its
agents accepts chats (``Router.online_groups``). Every answer of "online" the customer side gives (the widget, login,
``get_dynamic_configuration``, ``list_group_statuses``) and the customer's routing ask here.

When availability changes, for any reason, connected customers of the license get ``groups_status_updated``:
``refresh`` recomputes the statuses and swaps them with the last announced ones in Valkey (``SET … GET``), so of
several workers seeing the same change exactly one pushes it. Agents' status changes call ``refresh`` directly; the
clock crossing an opening or closing time is found by one timer across all workers: each license with business
hours has its next transition in a sorted set (``keys.HOURS_DUE``), and whichever worker holds the lease
(``keys.HOURS_LOCK``) refreshes the licenses that are due, which schedules their next transition."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
from collections.abc import Callable
from typing import Any

import msgspec

from .. import keys
from ..protocol.config import LicenseConfig
from ..protocol.pushes import GroupsStatusUpdated, GroupStatus
from ..valkey import log_failure, unavailable
from . import hours
from .bus import Bus
from .routing import Router
from .store import Store

log = logging.getLogger("widget_server.availability")
_encode = msgspec.json.encode
_statuses_decoder = msgspec.json.Decoder(dict[str, str])

RECHECK = dt.timedelta(days=1)
"""When a license's hours have no transition within ``hours.LOOKAHEAD_DAYS`` (always closed, say, until a dated
exception further out), it is looked at again after this long."""
LOCK_LEASE_MS = 10_000
DUE_BATCH = 500


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _ms(at: dt.datetime) -> int:
    # rounded up: a transition handled at its due time must see the clock at or past it
    return math.ceil(at.timestamp() * 1000)


class Availability:
    def __init__(self, store: Store, router: Router, bus: Bus,
                 clock: Callable[[], dt.datetime] = utc_now) -> None:
        self.store = store
        self.router = router
        self.bus = bus
        self.r: Any = store.r
        self.clock = clock
        """The time business hours are checked at (aware UTC); injectable for tests of the maths."""

    def hours_open(self, config: LicenseConfig, group_id: int) -> bool:
        """Whether the group's business hours are open now (a group without hours always is)."""
        group = next((g for g in config.groups if g.id == group_id), None)
        return group is None or hours.is_open(group.business_hours, self.clock())

    async def queued_chats(self, orgs: list[str]) -> int:
        """Chats waiting for an agent in every group of these licenses (the ``/metrics`` gauge)."""
        total = 0
        for org in orgs:
            config = await self.store.license_config(org)
            total += await self.router.queued(org, [group.id for group in config.groups])
        return total

    async def online_groups(self, org: str, group_ids: list[int] | None = None,
                            config: LicenseConfig | None = None) -> list[int]:
        """The groups (of ``group_ids``, default all of the license's) that are open and have an agent accepting
        chats."""
        if config is None:
            config = await self.store.license_config(org)
        now = self.clock()
        wanted = None if group_ids is None else set(group_ids)
        open_ids = [g.id for g in config.groups
                    if (wanted is None or g.id in wanted) and hours.is_open(g.business_hours, now)]
        if not open_ids:
            return []
        return await self.router.online_groups(org, open_ids)

    async def refresh(self, org: str) -> list[GroupStatus]:
        """Recompute the license's group statuses, push ``groups_status_updated`` with the ones that changed since
        the last announcement (to every customer socket of the license), and schedule its next business-hours
        transition. Returns what changed (what this call pushed)."""
        config = await self.store.license_config(org)
        online = set(await self.online_groups(org, config=config))
        statuses = {str(g.id): "online" if g.id in online else "offline" for g in config.groups}
        encoded = _encode(statuses)
        previous = await self.r.set(keys.group_statuses(org), encoded, get=True)
        await self._schedule(org, config)
        if previous == encoded:
            return []
        # never announced before: customers were told "offline" for groups nobody accepted chats in
        old = _statuses_decoder.decode(previous) if previous else {}
        changed = [GroupStatus(id=int(gid), status=status) for gid, status in statuses.items()
                   if old.get(gid, "offline") != status]
        if changed:
            await self.bus.publish([keys.customers_feed(org)], "groups_status_updated", GroupsStatusUpdated(changed))
        return changed

    async def _schedule(self, org: str, config: LicenseConfig) -> None:
        now = self.clock()
        with_hours = [g.business_hours for g in config.groups if g.business_hours and g.business_hours.enabled]
        if not with_hours:
            await self.r.zrem(keys.HOURS_DUE, org)
            return
        changes = [at for h in with_hours if (at := hours.next_change(h, now)) is not None]
        await self.r.zadd(keys.HOURS_DUE, {org: _ms(min(changes) if changes else now + RECHECK)})

    async def tick(self) -> int:
        """Refresh the licenses whose transition is due, if this worker gets the lease; returns how many."""
        if not await self.r.set(keys.HOURS_LOCK, self.bus.origin, nx=True, px=LOCK_LEASE_MS):
            return 0
        done = 0
        try:
            due = await self.r.zrangebyscore(keys.HOURS_DUE, "-inf", _ms(self.clock()), start=0, num=DUE_BATCH)
            for raw in due:
                org = raw.decode()
                try:
                    await self.refresh(org)
                    done += 1
                except Exception as exc:  # one license's trouble must not hold the others' back
                    if unavailable(exc) is not None:
                        raise  # Valkey is away: the whole tick is (run() logs it once)
                    log_failure(log, exc, "business hours transition of %s failed", org)
        finally:
            await self.r.delete(keys.HOURS_LOCK)
        return done

    async def run(self, interval: float) -> None:
        """Every ``interval`` seconds, one ``tick`` (by whichever worker gets the lease)."""
        failing = False
        while True:
            try:
                await self.tick()
                failing = False
            except Exception as exc:  # noqa: BLE001 (log_failure logs it, once per outage); the timer must outlive it
                if not failing:  # once per outage, not at every tick of it
                    log_failure(log, exc, "business hours timer failed")
                failing = True
            await asyncio.sleep(max(interval, 0.05))  # a 0 in the settings must not spin
