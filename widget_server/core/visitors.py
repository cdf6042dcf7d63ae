"""Live visitors for agents: ``subscribe_customers`` / ``unsubscribe_customers`` and the pushes that follow,
``incoming_customer``, ``customer_page_updated``, ``customer_statistics_updated``, ``customer_left``,
``incoming_customers`` and ``subscribed_customers_totals_updated`` (LiveChat's names and payloads).

How it stays cheap with many visitors and many agents:

- Arrivals and page changes are published once, and only when someone watches. Every worker with a subscription to a
  license keeps the license's watch flag set (a key with a TTL, refreshed each check). The tracker's page-view script
  returns that flag in the same round trip, and only when it is set does the tracker call ``activity``, which sends
  one message per action to the license's bus channel (``keys.visitor_feed``). No scan and nothing per agent on the
  page-view path: each watching worker gets the message once and hands it to its own subscribed sockets.
- Departures are found, not announced: a visitor leaves by no longer being seen. Each worker, for each license it
  watches, runs one ``departures`` script per online slot boundary (a minute by default): the visitors in the previous
  slot's online window and not in the current one left. That is three BITOPs over bitmaps of (largest dense id / 8)
  bytes per minute per watched license, whatever the number of subscribers. Each worker computes it for its own
  sockets, so no worker depends on another one being alive.
- A subscription lists at most ``limit`` visitors. While more than that are online it gets no per-visitor pushes but
  ``subscribed_customers_totals_updated`` whenever the count changes (LiveChat does the same), and the whole list in an
  ``incoming_customers`` push once they fit again.

Pushes of a subscription go to the socket that subscribed, as LiveChat's do, not to every socket of the agent.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any, Protocol

import msgspec

from .. import keys
from ..protocol import agent as a
from ..protocol.errors import ApiError
from ..protocol.frames import RequestId
from ..protocol.users import Customer
from ..tracking import Activity, Page, Tracker
from ..valkey import log_failure
from .bus import Bus
from .customers import CustomerDirectory, iso
from .store import Store

log = logging.getLogger("widget_server.visitors")

DEFAULT_LIMIT = 100
MAX_PER_CONNECTION = 8
LEFT_AT_MOST = 1000
"""Departures pushed one by one per check; past that, listing subscriptions get the whole list again."""
FEED_ACTION = "visitor_pushes"
"""The bus message on a license's visitor channel: a list of (push action, payload) pairs."""

_encode = msgspec.json.encode
_pushes_decoder = msgspec.json.Decoder(list[tuple[str, msgspec.Raw]])


class Connection(Protocol):
    """A socket that takes pushes (an agent's RTM connection)."""

    conn_id: str

    def deliver(self, action: str, payload: msgspec.Raw, request_id: RequestId) -> None: ...


class Subscription:
    """One ``subscribe_customers`` of one socket. ``listing``: it gets per-visitor pushes (all the license's online
    visitors fit in ``limit``); otherwise only totals."""

    __slots__ = ("id", "org", "conn", "limit", "level", "listing", "total", "_held")

    def __init__(self, org: str, conn: Connection, limit: int, level: str) -> None:
        self.id = secrets.token_hex(16)
        self.org = org
        self.conn = conn
        self.limit = limit
        self.level = level
        self.listing = True
        self.total = 0
        self._held: list[tuple[str, msgspec.Raw]] | None = []
        """Pushes that came before the subscribe response went out; sent right after it."""

    def send(self, action: str, payload: Any) -> None:
        raw = payload if isinstance(payload, msgspec.Raw) else msgspec.Raw(_encode(payload))
        if self._held is not None:
            self._held.append((action, raw))
        else:
            self.conn.deliver(action, raw, None)

    def release(self) -> None:
        held, self._held = self._held or [], None
        for action, raw in held:
            self.conn.deliver(action, raw, None)

    def send_totals(self, total: int) -> None:
        self.total = total
        self.send("subscribed_customers_totals_updated", {self.id: total})


class _Watched:
    """A license watched from this worker: the bus subscriber of its visitor channel, and its subscriptions here."""

    def __init__(self, org: str, slot: int) -> None:
        self.org = org
        self.conn_id = keys.visitor_feed(org)
        self.subs: dict[str, Subscription] = {}
        self.slot = slot
        """The online slot the last departures check compared with."""

    def deliver(self, action: str, payload: msgspec.Raw, request_id: RequestId) -> None:
        if action != FEED_ACTION:
            return
        try:
            pushes = _pushes_decoder.decode(payload)
        except (msgspec.DecodeError, msgspec.ValidationError):
            log.error("undecodable visitor pushes for %s", self.org)
            return
        for sub in tuple(self.subs.values()):
            if sub.listing:
                for name, body in pushes:
                    sub.send(name, body)


class VisitorFeed:
    """This worker's visitor subscriptions; see the module docstring. It becomes the tracker's ``notify`` hook: one
    feed per worker (the agent core's)."""

    def __init__(self, bus: Bus, tracker: Tracker, store: Store, directory: CustomerDirectory | None = None) -> None:
        self.bus = bus
        self.tracker = tracker
        tracker.notify = self.activity
        self.directory = directory or CustomerDirectory(store, tracker)
        self.index = self.directory.index
        self.tick = max(0.5, min(5.0, tracker.slot / 4))
        """Seconds between two checks of the watched licenses (several per slot, so a boundary is seen soon)."""
        self.watch_ttl = max(30, int(self.tick * 6))
        self._watched: dict[str, _Watched] = {}
        self._by_conn: dict[str, dict[str, Subscription]] = {}
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    # --- subscriptions ---------------------------------------------------------------------------------------------

    async def subscribe(self, org: str, conn: Connection, limit: int = DEFAULT_LIMIT,
                        level: str = "online") -> tuple[Subscription, list[Customer]]:
        """Start pushing the license's visitors to ``conn``; returns the subscription and the visitors online now
        (at most ``limit``). Pushes that race with the answer are held until it has been sent."""
        mine = self._by_conn.setdefault(conn.conn_id, {})
        if len(mine) >= MAX_PER_CONNECTION:
            raise ApiError("limit_reached", f"At most {MAX_PER_CONNECTION} customer subscriptions per connection")
        sub = Subscription(org, conn, limit, level)
        async with self._lock:
            watched = self._watched.get(org)
            if watched is None:
                watched = self._watched[org] = _Watched(org, self.tracker.now() // self.tracker.slot)
                await self.bus.register(keys.visitor_feed(org), watched)
            watched.subs[sub.id] = sub
            mine[sub.id] = sub
        try:
            await self.index.watch(org, self.watch_ttl)
            total, customers = await self.directory.online(org, limit)
        except BaseException:
            await self.unsubscribe(conn, sub.id)
            raise
        if total > limit:
            sub.listing = False
            sub.send_totals(total)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="visitor-feed")
        # the caller answers the request before this task awaits again: the held pushes go out after the answer
        asyncio.get_running_loop().call_soon(sub.release)
        return sub, customers

    async def unsubscribe(self, conn: Connection, subscription_id: str) -> bool:
        sub = self._by_conn.get(conn.conn_id, {}).pop(subscription_id, None)
        if sub is None:
            return False
        await self._forget(sub)
        return True

    async def drop(self, conn: Connection) -> None:
        """The socket closed: its subscriptions end."""
        for sub in self._by_conn.pop(conn.conn_id, {}).values():
            await self._forget(sub)

    async def _forget(self, sub: Subscription) -> None:
        async with self._lock:
            watched = self._watched.get(sub.org)
            if watched is None:
                return
            watched.subs.pop(sub.id, None)
            if not watched.subs:
                del self._watched[sub.org]
                await self.bus.unregister(keys.visitor_feed(sub.org), watched)

    # --- publishing (any worker, on a watched license's activity) ---------------------------------------------------

    async def activity(self, org: str, visitor_id: str, mode: str, activity: Activity, page: Page | None) -> None:
        """The tracker's ``notify``: turn one tracked action into pushes, published once for every watching worker."""
        pushes: list[tuple[str, Any]] = []
        if self.tracker.arrived(activity):
            customer = await self.directory.view(org, visitor_id)
            if customer is not None:
                pushes.append(("incoming_customer", customer))
        else:
            stats = activity.statistics
            if mode == "view" and page is not None:
                pushes.append(("customer_page_updated", a.CustomerPageUpdated(
                    customer_id=visitor_id, visit_id=stats.visits_count, opened_at=iso(page.opened_at), url=page.url,
                    title=page.title)))
            if mode in ("view", "chat"):
                statistics = await self.directory.statistics(org, visitor_id, stats.visits_count,
                                                             stats.page_views_count, stats.chats_count)
                pushes.append(("customer_statistics_updated", a.CustomerStatisticsUpdated(visitor_id, statistics)))
        if pushes:
            await self.bus.publish([keys.visitor_feed(org)], FEED_ACTION, pushes)

    # --- departures and totals (each worker, for its own subscriptions) --------------------------------------------

    async def _run(self) -> None:
        while self._watched:
            await asyncio.sleep(self.tick)
            for watched in tuple(self._watched.values()):
                try:
                    await self.check(watched)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 (log_failure logs it); a Valkey hiccup must not stop the pushes for good
                    log_failure(log, exc, "visitor check of %s failed", watched.org)

    async def check(self, watched: _Watched) -> None:
        """One check of a watched license: who left since the last slot boundary, how many are online, and each
        subscription's switch between listing and totals."""
        slot = self.tracker.now() // self.tracker.slot
        listing = any(sub.listing for sub in watched.subs.values())
        previous = watched.slot if slot != watched.slot else None
        found = await self.index.departures(watched.org, previous, slot, self.watch_ttl, LEFT_AT_MOST if listing else 0)
        watched.slot = slot
        for sub in tuple(watched.subs.values()):
            if sub.listing and found.online > sub.limit:
                sub.listing = False
                sub.send_totals(found.online)
            elif sub.listing and found.overflow:
                await self._send_list(sub)
            elif sub.listing:
                for visitor_id, last_seen in found.left:
                    sub.send("customer_left", a.CustomerLeft(id=visitor_id, left_at=iso(last_seen)))
            elif found.online <= sub.limit:
                await self._send_list(sub)
            elif found.online != sub.total:
                sub.send_totals(found.online)

    async def _send_list(self, sub: Subscription) -> None:
        total, customers = await self.directory.online(sub.org, sub.limit)
        if total > sub.limit:
            sub.listing = False
            sub.send_totals(total)
            return
        sub.listing = True
        sub.send("incoming_customers", a.IncomingCustomers(customer_monitoring_level=sub.level, customers=customers,
                                                           subscription_id=sub.id))
