"""Visitor tracking on Valkey: page views, presence, per-visitor statistics, daily counters, in a compact layout.

Layout (all keys of one license share its hash tag ``{org}``, so each script is atomic and cluster-safe):

- identity: ``tr:id:<b>`` hashes map a packed visitor id (a uuid as its 16 raw bytes) to a dense integer id; a
  visitor's bucket ``b`` is a hash of its id modulo ``id_buckets``. Small hashes stay listpacks (a few bytes per
  field instead of a dict entry, a key and two objects), which is where the saving over a hash per visitor comes from.
- record: ``tr:rec:<id // per_bucket>`` hashes map ``id % per_bucket`` to a fixed-size binary string: first seen,
  last seen, visit start, page views (u32 each), visits, chats (u16, saturating), then the packed visitor id (the
  reverse mapping, for listing online visitors and for the sweep).
- online: ``tr:on:<slot>`` bitmaps over dense ids, one per slot of ``min(60, N)`` seconds (a minute unless the online
  window N is shorter), each expiring after the online window; online means "seen during the last ceil(N / slot)
  slots or the current one", so a visitor leaves the index between N and N + slot seconds after last being seen.
  Dense ids keep the bitmaps dense: ids freed by the sweep are reused.
- visit: ``tr:visit:<id>`` list: the current visit's details (referrer, user agent, IP), then its last pages (at most
  ``pages_per_visit``), with a TTL of the retention window; a new visit (after ``visit_gap`` seconds of inactivity)
  starts a new list.
- user agents: the details name their user agent as ``"ua": "<period>.<digest>"`` (a 64-bit digest of the string),
  and ``tr:ua:<period>`` maps the digest to the string, once per license and retention period (``now // retention``):
  ~20 bytes in every visit instead of ~120. A period's hash is written by the visits that start in it and expires
  three periods after the period began, so it outlives every visit list naming it (unless one visit goes on for a
  whole retention window) and old browsers' strings go away. Details written before (``"user_agent"`` inline) read
  the same.
- daily: ``tr:day:<YYYY-MM-DD>`` hash of page views, visits and chats, and ``tr:uv:<day>`` HyperLogLog of the day's
  visitors, both expiring after ``counter_days``. The same hash holds the day's hourly counters (``v<h>``, ``p<h>``,
  ``c<h>`` for visitors, page views and chats of UTC hour h: at most 75 fields, still a listpack). Visitors per hour
  are exact and cost nothing per visitor: a visitor counts in an hour when its previous "last seen" is an earlier hour.
- watch: ``tr:watch``, a flag with a TTL that workers keep set while an agent subscribes to the license's visitors.
  The script returns it, so a page view costs one round trip when nobody watches and the caller publishes the change
  (``notify``) only when somebody does.
- bans: ``tr:bans`` maps a packed visitor id to the time its ban ends (``ban``; ``ban_customer`` writes it beside the
  customer's record): the script refuses a banned visitor's page view or heartbeat in the same round trip, and drops
  an ended ban. With ``take_invitation`` it also takes the visitor's ``invite`` key (an agent's invitation to chat,
  which the loader's heartbeat carries back).

One call is one script run: the script is given the identity bucket and names the license's other keys from it, and
has the tracker's settings written into its text, so a call packs 11 values. Calls leave in pipelined batches
(``valkey.Coalescer``): a busy worker's concurrent page views share one write, one read and one wake-up.

Retention: bucketed fields cannot expire on their own, so expiry has two halves. Reads and writes treat a record not
seen for ``retention`` seconds as absent (a returning visitor starts over as a new one, under the same dense id), so
expiry is exact whenever the sweep runs. ``sweep`` reclaims the memory: one script per identity bucket deletes the
stale visitors' mapping, record and visit list and frees their dense ids; ``run_sweeper`` walks every license's
buckets a slice at a time. The per-visitor list and the minute bitmaps also carry TTLs, so they vanish by themselves.

Nothing bounds the number of visitors: ids come from a counter, and buckets only grow fuller. ``id_buckets`` sets
how many visitors fit before the identity buckets outgrow ``hash-max-listpack-entries`` (still correct past that,
just less compact); it must not change once a license has visitors.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import logging
import math
import struct
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import msgspec

from .. import keys
from ..core import scripts
from ..protocol.errors import ApiError
from ..observe import metrics
from ..valkey import Coalescer, ScriptBatch, log_failure
from .models import Activity, DayCounters, Geolocation, HourCounters, OnlinePage, Page, Visit, Visitor, VisitorStatistics

log = logging.getLogger("widget_server.tracking")

RECORD = ">IIIIHH"
"""first seen, last seen, visit start, page views, visits, chats; the packed visitor id follows."""
RECORD_SIZE = 20

_encode = msgspec.json.encode
_page_decoder = msgspec.json.Decoder(tuple[int, str, str])
_visit_decoder = msgspec.json.Decoder(dict[str, str])
_VISIT_FIELDS = frozenset(Visit.__struct_fields__) - {"started_at"}

Notify = Callable[[str, str, str, Activity, "Page | None"], Awaitable[None]]
"""``notify(org, visitor_id, mode, activity, page)``: called after an action on a watched license."""


def pack_visitor_id(visitor_id: str) -> bytes:
    """A uuid in its canonical form becomes its 16 raw bytes; any other id its UTF-8 bytes, with a NUL appended when
    they are 16 bytes long so the two forms never collide (ids never contain NUL)."""
    if len(visitor_id) == 36:
        try:
            u = uuid.UUID(visitor_id)
        except ValueError:
            u = None
        if u is not None and str(u) == visitor_id:
            return u.bytes
    raw = visitor_id.encode()
    return raw + b"\0" if len(raw) == 16 else raw


def unpack_visitor_id(packed: bytes) -> str:
    if len(packed) == 16:
        return str(uuid.UUID(bytes=packed))
    if len(packed) == 17 and packed.endswith(b"\0"):
        packed = packed[:-1]
    return packed.decode()


@functools.lru_cache(maxsize=4096)
def user_agent_digest(user_agent: str) -> str:
    """The name of an interned user agent: 64 bits of its BLAKE2b digest, base64url (11 characters). (A few hundred
    browsers make most page views: the names are kept.)"""
    return base64.urlsafe_b64encode(hashlib.blake2b(user_agent.encode(), digest_size=8).digest()).rstrip(b"=").decode()


def utc_day(ts: float) -> str:
    return _utc_day(int(ts) // 86400)


@functools.lru_cache(maxsize=64)
def _utc_day(days: int) -> str:
    return datetime.fromtimestamp(days * 86400, UTC).strftime("%Y-%m-%d")


class Tracker:
    """Records visitors' activity for a license, one Valkey round trip per call; see the module docstring."""

    def __init__(
        self,
        valkey: Any,
        *,
        clock: Callable[[], float] = time.time,
        online_seconds: int = 60,
        retention_seconds: int = 30 * 86400,
        visit_gap: int = 30 * 60,
        pages_per_visit: int = 20,
        counter_days: int = 400,
        id_buckets: int = 8192,
        records_per_bucket: int = 512,
    ) -> None:
        if online_seconds < 1:
            raise ValueError("the online window must be at least a second")
        if retention_seconds <= online_seconds:
            raise ValueError("retention must be longer than the online window")
        self.r = valkey
        self.clock = clock
        self.online_seconds = online_seconds
        self.retention = retention_seconds
        self.visit_gap = visit_gap
        self.pages_per_visit = pages_per_visit
        self.counter_ttl = counter_days * 86400
        self.id_buckets = id_buckets
        self.per_bucket = records_per_bucket
        self.slot = min(60, online_seconds)
        """Seconds covered by one online bitmap."""
        self.online_slots = math.ceil(online_seconds / self.slot)
        """Earlier slots besides the current one that count as online."""
        # a slot's bitmap outlives the window by a little, so a presence check that runs late still finds it
        self.bitmap_ttl = (self.online_slots + 2) * self.slot + 30
        self.notify: Notify | None = None
        """Called (awaited) after an action whose license is watched; set by the visitor feed. Its failures are
        logged, never raised: a page view is recorded whatever happens to the pushes about it."""
        self.orgs: set[str] = set()
        """Licenses this process has tracked visitors of: the ones its sweeper visits."""
        settings = {"PER": records_per_bucket, "GAP": visit_gap, "RETENTION": retention_seconds, "SLOT": self.slot,
                    "BITMAP_TTL": self.bitmap_ttl, "DAY_TTL": self.counter_ttl, "PAGES": pages_per_visit}
        self._track = scripts.register(valkey, "track_activity", **settings)
        self._calls = Coalescer(valkey, self._track)
        """Page views and heartbeats arrive many at once on a busy worker: their calls leave in batches."""
        self._read = scripts.register(valkey, "read_visitor")
        self._online = scripts.register(valkey, "list_online")
        self._sweep = scripts.register(valkey, "sweep_visitors")

    def id_bucket(self, packed: bytes) -> int:
        # blake2b rather than the raw uuid bytes: ids that are not random uuids must spread evenly too
        return int.from_bytes(hashlib.blake2b(packed, digest_size=8).digest(), "big") % self.id_buckets

    def now(self) -> int:
        """The tracker's clock (unix seconds): injectable, so tests move time instead of sleeping."""
        return int(self.clock())

    _now = now

    def online_slot_keys(self, org: str, slot: int) -> list[str]:
        """The bitmaps whose union is "online" during ``slot`` (unix time // ``self.slot``)."""
        return [keys.tracking_online(org, s) for s in range(slot - self.online_slots, slot + 1)]

    def is_online(self, last_seen: int, now: int | None = None) -> bool:
        """Whether a visitor last seen at ``last_seen`` is online at ``now`` (the same rule as the bitmaps)."""
        now = self._now() if now is None else now
        return last_seen > 0 and last_seen // self.slot >= now // self.slot - self.online_slots

    def arrived(self, activity: Activity) -> bool:
        """Whether the visitor was offline (or unknown) just before this action: they arrive (``incoming_customer``)."""
        return not self.is_online(activity.previous_seen, activity.last_seen)

    # --- writes --------------------------------------------------------------------------------------------------

    def _track_call(self, org: str, visitor_id: str, mode: str, visit: bytes = b"{}", page: bytes = b"",
                    now: int | None = None, client: Any = None, user_agent: str | None = None,
                    take_invitation: bool = False) -> Any:
        """The ``track_activity`` script's call: queued on ``client`` when it is a pipeline, else an awaitable of its
        reply, sent in a batch with other calls made at the same time (``Coalescer``). ``visit`` names ``user_agent``
        by its digest (``_visit_json``)."""
        now = self._now() if now is None else now
        self.orgs.add(org)
        packed = pack_visitor_id(visitor_id)
        script_keys = [keys.tracking_ids(org, self.id_bucket(packed))]
        digest = user_agent_digest(user_agent) if user_agent else ""
        args = [mode, packed, now, utc_day(now), visit, page, user_agent or "", digest,
                visitor_id if take_invitation else "", int(time.time())]
        if client is not None:
            return self._track(keys=script_keys, args=args, client=client)
        return self._calls(script_keys, args)

    @staticmethod
    def _activity(raw: list[Any]) -> Activity:
        if int(raw[0]) == -1:
            until = int(raw[1])
            raise ApiError("customer_banned", "Customer is banned", {"until": until})
        dense_id, new_visit, first, last, vstart, views, visits, chats, previous, watched = (int(x) for x in raw[:10])
        invitation = raw[10].decode() if len(raw) > 10 and raw[10] else None
        return Activity(dense_id, bool(new_visit), first, last, vstart, VisitorStatistics(visits, views, chats),
                        previous, bool(watched), invitation)

    async def _done(self, org: str, visitor_id: str, mode: str, raw: list[int], page: Page | None = None) -> Activity:
        activity = self._activity(raw)
        if activity.watched and self.notify is not None:
            try:
                await self.notify(org, visitor_id, mode, activity, page)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("tracking: pushing a visitor's activity failed")
        return activity

    def _visit_json(self, referrer: str | None, user_agent: str | None, ip: str | None,
                    geo: Geolocation | None = None, now: int | None = None) -> bytes:
        """A visit's details, its user agent named by period and digest (the script interns the string)."""
        visit = {k: v for k, v in (("referrer", referrer), ("ip", ip)) if v}
        if user_agent:
            now = self._now() if now is None else now
            visit["ua"] = f"{now // self.retention}.{user_agent_digest(user_agent)}"
        if geo is not None:
            visit.update((k, v) for k, v in msgspec.structs.asdict(geo).items() if v)
        return _encode(visit)

    def page_view_args(self, visitor_id: str, url: str, title: str | None, referrer: str | None,
                       user_agent: str | None, ip: str | None, now: int,
                       geo: Geolocation | None = None) -> tuple[bytes, bytes]:
        return self._visit_json(referrer, user_agent, ip, geo, now), _encode((now, url, title or ""))

    async def page_view(self, org: str, visitor_id: str, url: str, title: str | None = None,
                        referrer: str | None = None, user_agent: str | None = None, ip: str | None = None,
                        geo: Geolocation | None = None, take_invitation: bool = False) -> Activity:
        """Record a page view: counts it, marks the visitor online, starts a visit after ``visit_gap`` seconds of
        inactivity (keeping that visit's referrer, user agent, IP and location) and appends the page to the visit's
        pages. A banned visitor's is refused (``customer_banned``) and not recorded; ``take_invitation`` takes an
        agent's invitation to chat (``Activity.invitation``) in the same round trip."""
        now = self._now()
        visit, page = self.page_view_args(visitor_id, url, title, referrer, user_agent, ip, now, geo)
        raw = await self._track_call(org, visitor_id, "view", visit, page, now, user_agent=user_agent,
                                     take_invitation=take_invitation)
        activity = await self._done(org, visitor_id, "view", raw, Page(url=url, title=title or "", opened_at=now))
        metrics.PAGE_VIEWS.inc()  # (after _done: a banned visitor's view is refused there, not recorded)
        return activity

    async def page_views(self, org: str, views: list[tuple[str, str, str | None]]) -> list[Activity]:
        """Many (visitor id, url, title) page views in one pipelined round trip (imports, benchmarks, tests): the
        same script as ``page_view``, so the same layout."""
        now = self._now()
        batch = ScriptBatch(self.r, self._track)
        for visitor_id, url, title in views:
            visit, page = self.page_view_args(visitor_id, url, title, None, None, None, now)
            await self._track_call(org, visitor_id, "view", visit, page, now, client=batch)
        return [self._activity(raw) for raw in await batch.execute()]

    async def heartbeat(self, org: str, visitor_id: str, take_invitation: bool = False) -> Activity | None:
        """Keep a known visitor online (the page is still open). None for a visitor never seen or past retention;
        ``customer_banned`` for a banned one."""
        raw = await self._track_call(org, visitor_id, "beat", take_invitation=take_invitation)
        return await self._done(org, visitor_id, "beat", raw) if raw else None

    async def touch(self, org: str, visitor_id: str, referrer: str | None = None, user_agent: str | None = None,
                    ip: str | None = None, geo: Geolocation | None = None) -> Activity:
        """Activity that is not a page view (a login without a page): creates the visitor, may start a visit."""
        now = self._now()
        visit = self._visit_json(referrer, user_agent, ip, geo, now)
        raw = await self._track_call(org, visitor_id, "seen", visit, now=now, user_agent=user_agent)
        return await self._done(org, visitor_id, "seen", raw)

    async def chat_started(self, org: str, visitor_id: str) -> Activity:
        """Count a chat started by the visitor (in its statistics and the day's counters)."""
        return await self._done(org, visitor_id, "chat", await self._track_call(org, visitor_id, "chat"))

    async def ban(self, org: str, visitor_id: str, until: int) -> None:
        """Refuse the visitor's tracked activity until ``until`` (unix seconds): the page-view script checks it."""
        await self.r.hset(keys.tracking_bans(org), pack_visitor_id(visitor_id), until)

    async def unban(self, org: str, visitor_id: str) -> None:
        """Take the visitor's ban off (``unban_customer``): their page views count again."""
        await self.r.hdel(keys.tracking_bans(org), pack_visitor_id(visitor_id))

    async def chat_offered(self, org: str) -> None:
        """Count a chat an agent started with a visitor, in the day's and the hour's counters only: it says nothing
        about the visitor's presence (the customer's own record counts it)."""
        now = self._now()
        day = keys.tracking_day(org, utc_day(now))
        async with self.r.pipeline(transaction=False) as p:
            p.hincrby(day, "chats", 1)
            p.hincrby(day, f"c{now // 3600 % 24}", 1)
            p.expire(day, self.counter_ttl)
            await p.execute()

    # --- reads ---------------------------------------------------------------------------------------------------

    async def visitor(self, org: str, visitor_id: str) -> Visitor | None:
        """The visitor's record, current visit and its last pages; None when unknown or past retention."""
        packed = pack_visitor_id(visitor_id)
        raw = await self._read(keys=[keys.tracking_ids(org, self.id_bucket(packed))],
                               args=[packed, keys.tracking_records_prefix(org), keys.tracking_visit_prefix(org),
                                     self.per_bucket, keys.tracking_user_agents_prefix(org)])
        if not raw:
            return None
        _, rec, visit_items, user_agent = raw
        now = self._now()
        if now - unpack_record(rec)[1] > self.retention:
            return None
        return self.build_visitor(visitor_id, rec, visit_items, now, user_agent)

    def build_visitor(self, visitor_id: str, rec: bytes, visit_items: list[bytes], now: int,
                      user_agent: bytes | None = None) -> Visitor:
        """A Visitor from its record, its visit list and its interned user agent (as ``read_visitor`` returns them)."""
        first, last, vstart, views, visits, chats = unpack_record(rec)
        details = _visit_decoder.decode(visit_items[0]) if visit_items else {}
        if "ua" in details:  # "" when the string is gone (a visit longer than a retention window)
            details["user_agent"] = user_agent.decode() if user_agent else ""
        pages = [Page(url=u, title=t, opened_at=ts) for ts, u, t in map(_page_decoder.decode, visit_items[1:])]
        return Visitor(
            id=visitor_id, first_seen=first, last_seen=last, online=self.is_online(last, now),
            statistics=VisitorStatistics(visits, views, chats),
            visit=Visit(started_at=vstart, **{k: v for k, v in details.items() if k in _VISIT_FIELDS}), last_pages=pages,
        )

    async def visitors(self, org: str, visitor_ids: list[str]) -> list[Visitor | None]:
        """Many visitors (``visitor``) in one pipelined round trip."""
        if not visitor_ids:
            return []
        args = [keys.tracking_records_prefix(org), keys.tracking_visit_prefix(org), self.per_bucket,
                keys.tracking_user_agents_prefix(org)]
        batch = ScriptBatch(self.r, self._read)  # (a cluster pipeline refuses scripts: see ScriptBatch)
        for vid in visitor_ids:
            packed = pack_visitor_id(vid)
            await self._read(keys=[keys.tracking_ids(org, self.id_bucket(packed))], args=[packed, *args], client=batch)
        raws = await batch.execute()
        now = self._now()
        out: list[Visitor | None] = []
        for vid, raw in zip(visitor_ids, raws):
            if not raw or now - unpack_record(raw[1])[1] > self.retention:
                out.append(None)
            else:
                out.append(self.build_visitor(vid, raw[1], raw[2], now, raw[3]))
        return out

    async def online(self, org: str, cursor: int = 0, limit: int = 100) -> OnlinePage:
        """Visitors online now, in dense id order, ``limit`` per page; the total counts all of them."""
        slot_keys = self.online_slot_keys(org, self._now() // self.slot)
        raw = await self._online(keys=[keys.tracking_online_union(org), *slot_keys],
                                 args=[cursor, limit, keys.tracking_records_prefix(org), self.per_bucket])
        total, next_cursor, *records = raw
        ids = [unpack_visitor_id(rec[RECORD_SIZE:]) for rec in records if rec]
        return OnlinePage(total=int(total), visitor_ids=ids, next_cursor=None if int(next_cursor) < 0 else int(next_cursor))

    async def online_total(self, orgs: list[str]) -> int:
        """Visitors online now in these licenses together (the ``/metrics`` gauge)."""
        total = 0
        for org in orgs:
            total += (await self.online(org, limit=1)).total
        return total

    async def counters(self, org: str, day: str | None = None) -> DayCounters:
        """A UTC day's (``YYYY-MM-DD``, today by default) page views, visits, chats and unique visitors."""
        day = day or utc_day(self._now())
        async with self.r.pipeline(transaction=False) as p:
            p.hmget(keys.tracking_day(org, day), ["page_views", "visits", "chats"])
            p.execute_command("PFCOUNT", keys.tracking_uniques(org, day))  # (a cluster pipeline refuses pfcount())
            (views, visits, chats), uniques = await p.execute()
        return DayCounters(day=day, page_views=int(views or 0), visits=int(visits or 0), chats=int(chats or 0),
                           unique_visitors=int(uniques))

    async def hourly(self, org: str, days: int = 8) -> list[HourCounters]:
        """Hourly visitors, page views and chats of the last ``days`` UTC days (today included, up to this hour),
        oldest first; one round trip."""
        now = self._now()
        today = now // 86400 * 86400
        starts = [today - i * 86400 for i in range(days - 1, -1, -1)]
        async with self.r.pipeline(transaction=False) as p:
            for start in starts:
                p.hgetall(keys.tracking_day(org, utc_day(start)))
            raws = await p.execute()
        out = []
        for start, raw in zip(starts, raws):
            fields = {k.decode(): int(v) for k, v in raw.items()}
            for h in range(24):
                hour = start + h * 3600
                if hour > now:
                    break
                out.append(HourCounters(hour=hour, visitors=fields.get(f"v{h}", 0), page_views=fields.get(f"p{h}", 0),
                                        chats=fields.get(f"c{h}", 0)))
        return out

    # --- retention -----------------------------------------------------------------------------------------------

    async def sweep(self, org: str, start: int = 0, count: int | None = None) -> tuple[int, int]:
        """Reclaim visitors past retention in identity buckets ``start .. start + count - 1`` (all by default), one
        script per bucket, pipelined. Returns (visitors removed, the bucket to start from next time)."""
        count = self.id_buckets if count is None else min(count, self.id_buckets)
        now = self._now()
        args = [now, self.retention, keys.tracking_records_prefix(org), keys.tracking_visit_prefix(org),
                self.per_bucket]
        batch = ScriptBatch(self.r, self._sweep)
        for i in range(count):
            bucket = (start + i) % self.id_buckets
            await self._sweep(keys=[keys.tracking_ids(org, bucket), keys.tracking_free_ids(org)], args=args,
                              client=batch)
        removed = await batch.execute()
        return sum(int(n) for n in removed), (start + count) % self.id_buckets

    async def run_sweeper(self, interval: float = 60.0, buckets_per_round: int = 256) -> None:
        """Forever: every ``interval`` seconds sweep the next slice of every license's buckets (a full pass takes
        ``id_buckets / buckets_per_round`` rounds). Several workers may sweep at once: the sweep is idempotent."""
        cursors: dict[str, int] = {}
        scanned = False
        while True:
            await asyncio.sleep(interval)
            try:
                if not scanned:
                    # licenses tracked before this worker started; later ones join self.orgs as they are written
                    # (a SCAN every round would walk every visitor's key); a cluster client scans every primary
                    async for key in self.r.scan_iter(match=keys.TRACKING_SEQ_MATCH, count=1000):
                        self.orgs.add(key.decode().split("{", 1)[1].rsplit("}", 1)[0])
                    scanned = True
                for org in list(self.orgs):
                    removed, cursors[org] = await self.sweep(org, cursors.get(org, 0), buckets_per_round)
                    if removed:
                        log.info("tracking: %s visitors of %s past retention removed", removed, org)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 (log_failure logs it); a Valkey hiccup must not end the sweeper for the worker's life
                log_failure(log, exc, "tracking sweep failed")


def unpack_record(rec: bytes) -> tuple[int, ...]:
    """(first seen, last seen, visit start, page views, visits, chats) of a record."""
    return struct.unpack(RECORD, rec[:RECORD_SIZE])
