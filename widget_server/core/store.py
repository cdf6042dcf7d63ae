"""Valkey storage of licenses, customers, chats, threads and events.

Writes that must see a consistent state (open or close a thread, append events to an active thread) are Lua scripts
(``core/scripts/``) over keys of one hash tag, so they are atomic on a single Valkey and in a cluster alike. Events
are stored already encoded, with their server id spliced in by the script, so reading a thread never re-encodes
anything.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import msgspec
from valkey.exceptions import OutOfMemoryError, ResponseError

from .. import keys
from ..protocol.config import LicenseConfig
from ..valkey import Coalescer
from . import scripts
from .reports import Reports

CONFIG_CACHE_SECONDS = 2.0
T = TypeVar("T")
_json_decode = msgspec.json.decode
_json_encode = msgspec.json.encode
_config_decoder = msgspec.json.Decoder(LicenseConfig)


_list_decode = msgspec.json.Decoder(list[str]).decode


class SentEvent(msgspec.Struct, array_like=True):
    """What ``Store.send_event`` did: the event's sequence number in its thread, and who the chat's users are;
    ``duplicate`` when the event's custom_id was already stored (nothing written or published: seq and thread are the
    stored event's)."""

    seq: int
    thread_id: str
    customer_id: str
    agent_ids: list[str]
    duplicate: bool = False
    first_response_ms: int = -1
    """The thread's first agent message: ms since the thread opened (-1 otherwise)."""
    access: str = ""
    """With a first response: the chat's access json (its group)."""
    woke: bool = False
    """The chat was idle (``core/inactivity.py``) and this message made it active: its agents count it again."""
    followers: list[str] = []
    """Agents who follow the chat (``follow_chat``) and are not in it: they get its events too."""


def decode_hash(raw: dict[bytes, bytes]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in raw.items()}


class StoreError(Exception):
    """A script refused a write; ``code`` is the script's error word (``chat_inactive``, ``chat_active``, …)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _script_error(exc: ResponseError) -> Exception:
    """The refusal a script's error word names, or the error itself when Valkey refused the script (full: an
    ``OutOfMemoryError``, which the transports answer with ``service_unavailable``)."""
    if isinstance(exc, OutOfMemoryError):
        return exc
    return StoreError(str(exc).split()[0] if str(exc) else "error")


class Store:
    """Data access on Valkey. Knows key layouts and atomicity, not chat semantics (that is LocalCore)."""

    def __init__(self, valkey: Any, customer_ttl: int = 30 * 86400, chat_max_events: int = 20000,
                 report_retention_days: float = 365.0, report_max_days: int = 366) -> None:
        self.r = valkey
        self.reports = Reports(valkey, report_retention_days, report_max_days)
        """The report counters (``core/reports.py``), kept with the chats (written in the same round trips)."""
        self._append = scripts.register(valkey, "append_events", CHAT_MAX_EVENTS=chat_max_events)
        self._send_event = scripts.register(valkey, "send_event", CHAT_MAX_EVENTS=chat_max_events)
        self._send_events = Coalescer(valkey, self._send_event)
        self._customer_reads = Coalescer(valkey, scripts.register(valkey, "customer_with_chat_ids"))
        self._customer_visits = Coalescer(valkey, scripts.register(valkey, "customer_visit", TTL=customer_ttl))
        """Messages of many chats at once leave in pipelined batches (each still one atomic script call). A customer
        record (anyone can make one with a page load) expires ``customer_ttl`` seconds after its customer was last
        seen, until they start a chat or are banned (then it is kept, as chats are)."""
        self._close = scripts.register(valkey, "close_thread")
        self._open = scripts.register(valkey, "open_thread")
        self._put_upload = scripts.register(valkey, "put_upload")
        self._keep_file = scripts.register(valkey, "keep_file")
        self._update_hash = scripts.register(valkey, "update_hash")
        self._set_if_unchanged = scripts.register(valkey, "set_if_unchanged")
        self._set_string_if_unchanged = scripts.register(valkey, "set_string_if_unchanged")
        self._add_connection = scripts.register(valkey, "add_connection")
        self._configs: dict[str, tuple[float, bytes]] = {}
        self._forgotten = 0
        """How many times a cached configuration was dropped: a read that overlapped a drop is not kept."""
        self.on_config_saved: Callable[[str], Awaitable[None]] | None = None
        """Called after ``set_license_config`` (the app announces the change to every worker through the bus)."""

    # --- licenses ------------------------------------------------------------------------------------------------

    async def license(self, org: str) -> dict[str, str] | None:
        raw = await self.r.hgetall(keys.license(org))
        return decode_hash(raw) if raw else None

    async def license_config(self, org: str) -> LicenseConfig:
        """The license's configuration, a fresh object each call (callers may change and save it). Nearly every
        browser request reads it (origin check, groups, forms), so a worker keeps the encoded value for
        ``CONFIG_CACHE_SECONDS``: a change made on another worker shows within that time."""
        cached = self._configs.get(org)
        if cached is not None and cached[0] > time.monotonic():
            raw = cached[1]
        else:
            forgotten = self._forgotten
            raw = await self.r.get(keys.license_config(org)) or b""
            # a change announced while this read was on its way may be newer than the value read: keep it stale
            fresh = forgotten == self._forgotten
            self._configs[org] = (time.monotonic() + CONFIG_CACHE_SECONDS if fresh else 0.0, raw)
        return _config_decoder.decode(raw) if raw else LicenseConfig()

    def forget_config(self, org: str) -> None:
        """Drop this worker's cached configuration of ``org`` (it changed in Valkey): the next read fetches it."""
        self._configs.pop(org, None)
        self._forgotten += 1

    def config_version(self, org: str) -> str:
        """A digest of the configuration ``license_config`` last read for ``org`` in this worker (call it after
        that read): the key under which values derived from it (the widget's encoded static configuration) are
        cached."""
        cached = self._configs.get(org)
        raw = cached[1] if cached else b""
        return hashlib.blake2b(raw, digest_size=8).hexdigest()

    async def update_license_config(self, org: str, mutate: Callable[[LicenseConfig], T]) -> T:
        """Read-modify-write the license's configuration: read fresh from Valkey (not this worker's cache), ``mutate``
        it in place (it may raise to abort without writing), and write it only if nobody changed it since
        (compare-and-set), else read again and retry. Two owners adding greetings at once both get theirs, with
        different ids. Returns what ``mutate`` returned."""
        while True:
            raw = await self.r.get(keys.license_config(org))
            config = _config_decoder.decode(raw) if raw else LicenseConfig()
            result = mutate(config)
            encoded = _json_encode(config)
            written = await self._set_string_if_unchanged(keys=[keys.license_config(org)],
                                                          args=["0" if raw is None else "1", raw or b"", encoded])
            if written:
                break
        self._configs[org] = (time.monotonic() + CONFIG_CACHE_SECONDS, encoded)
        if self.on_config_saved is not None:
            await self.on_config_saved(org)
        return result

    async def set_license_config(self, org: str, config: LicenseConfig) -> None:
        encoded = _json_encode(config)
        await self.r.set(keys.license_config(org), encoded)
        self._configs[org] = (time.monotonic() + CONFIG_CACHE_SECONDS, encoded)
        if self.on_config_saved is not None:
            await self.on_config_saved(org)

    # --- files ---------------------------------------------------------------------------------------------------

    async def put_upload(self, org: str, file_id: str, meta: dict[str, Any], data: bytes, ttl: int, customer_id: str,
                         address: str, limits: tuple[int, int, int]) -> str:
        """Store an uploaded file for ``ttl`` seconds if the quotas allow it (``put_upload.lua``): ``limits`` are the
        customer's and the address's bytes per hour and the license's bytes of pending uploads (0: none). Returns
        ``"ok"``, or the quota that refused it (``"customer"``, ``"address"``, ``"license"``)."""
        now = int(time.time())
        hour = now // 3600
        args: list[Any] = [now, ttl, len(data), *limits, file_id]
        for k, v in meta.items():
            args += [k, str(v)]
        result = await self._put_upload(
            keys=[keys.file(org, file_id), keys.uploads_pending(org), keys.uploads_pending_bytes(org),
                  keys.uploads_by_customer(org, customer_id, hour), keys.uploads_by_address(org, address, hour)],
            args=[*args, "data", data])
        return result.decode()

    async def file_meta(self, org: str, file_id: str) -> dict[str, str] | None:
        names = ("name", "content_type", "size", "customer_id", "width", "height", "url")
        raw = await self.r.hmget(keys.file(org, file_id), names)
        if raw[0] is None:
            return None
        return {n: v.decode() for n, v in zip(names, raw) if v is not None}

    async def file_data(self, org: str, file_id: str) -> tuple[dict[str, str], bytes] | None:
        raw = await self.r.hgetall(keys.file(org, file_id))
        if not raw or b"data" not in raw:
            return None
        data = raw.pop(b"data")
        return decode_hash(raw), data

    async def keep_file(self, org: str, file_id: str) -> None:
        """A file used in an event lives as long as the chat: drop its 24 h expiry (and its place in the license's
        pending uploads)."""
        await self._keep_file(keys=[keys.file(org, file_id), keys.uploads_pending(org), keys.uploads_pending_bytes(org)])

    # --- customers -----------------------------------------------------------------------------------------------

    async def customer(self, cid: str) -> dict[str, str] | None:
        raw = await self.r.hgetall(keys.customer(cid))
        return decode_hash(raw) if raw else None

    async def banned_until(self, cid: str) -> int:
        """When the customer's ban ends (unix seconds), or 0 (``auth.access.refuse_banned`` decides)."""
        until = await self.r.hget(keys.customer(cid), "banned_until")
        return int(until) if until is not None else 0

    async def customers(self, cids: list[str]) -> list[dict[str, str]]:
        """Customer records in one round trip (empty dicts for unknown ids)."""
        if not cids:
            return []
        async with self.r.pipeline(transaction=False) as p:
            for cid in cids:
                p.hgetall(keys.customer(cid))
            return [decode_hash(raw) for raw in await p.execute()]

    async def ensure_customer(self, cid: str, org: str, created_at: str) -> None:
        """The customer's record made if missing, its expiry refreshed (``customer_visit`` without a page's fields)."""
        await self._customer_visits([keys.customer(cid), keys.customer_chats(cid)],
                                    [cid, org, created_at, 1, int(time.time())])

    async def keep_customer(self, cid: str) -> None:
        """Keep the customer's record for good (a ban outlives the visitor's absence)."""
        await self.r.persist(keys.customer(cid))

    async def customer_visit(self, cid: str, org: str, created_at: str, fields: dict[str, str],
                             limit: int) -> tuple[int, list[str]]:
        """A page load's customer work in one script call, batched with other visitors': the record made if missing,
        ``fields`` set unless a ban is in force; returns (the end of a ban in force, else 0; the ``limit`` most recent
        chat ids)."""
        args: list[Any] = [cid, org, created_at, limit, int(time.time())]
        for pair in fields.items():
            args += pair
        until, ids = await self._customer_visits([keys.customer(cid), keys.customer_chats(cid)], args)
        return int(until or 0), [m.decode() for m in ids]

    async def update_customer(self, cid: str, fields: dict[str, str], incr: dict[str, int] | None = None) -> None:
        if not fields and not incr:
            return
        args: list[Any] = [len(fields), 0]
        for pair in (*fields.items(), *(incr or {}).items()):
            args += pair
        await self._update_hash(keys=[keys.customer(cid)], args=args)

    async def customer_with_chat_ids(self, cid: str, limit: int) -> tuple[dict[str, str] | None, list[str]]:
        """The customer's record and their ``limit`` most recent chat ids, in one script call (both keys share the
        customer's hash tag), batched with the other visitors' (every chat frame that opens asks)."""
        flat, ids = await self._customer_reads([keys.customer(cid), keys.customer_chats(cid)], [limit])
        record = {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}
        return (record or None), [m.decode() for m in ids]

    async def customer_chat_ids(self, cid: str) -> list[tuple[str, int]]:
        raw = await self.r.zrevrange(keys.customer_chats(cid), 0, -1, withscores=True)
        return [(m.decode(), int(s)) for m, s in raw]

    async def latest_chats(self, cids: list[str], count: int = 5) -> list[list[dict[str, str]]]:
        """Each customer's ``count`` latest chats (id, org, active thread, agents, access), newest first, in two round
        trips for all of them."""
        if not cids:
            return []
        async with self.r.pipeline(transaction=False) as p:
            for cid in cids:
                p.zrevrange(keys.customer_chats(cid), 0, count - 1)
            ids = [[m.decode() for m in row] for row in await p.execute()]
        fields = ["id", "org", "active_thread", "agent_ids", "access"]
        async with self.r.pipeline(transaction=False) as p:
            for row in ids:
                for chat_id in row:
                    p.hmget(keys.chat(chat_id), fields)
            values = iter(await p.execute())
        return [[{k: v.decode() for k, v in zip(fields, next(values)) if v is not None} for _ in row] for row in ids]

    async def chats_page(
        self, key: str, desc: bool, after: tuple[int, str] | None, limit: int
    ) -> tuple[list[tuple[str, int]], int]:
        """Up to ``limit + 1`` chats of a chat index (a customer's or a license's) ordered by last thread creation,
        keyset-paginated after ``(score, chat_id)``; and the index's size."""
        slack = limit + 64  # members sharing the boundary score are skipped below
        async with self.r.pipeline(transaction=False) as p:
            if desc:
                hi = after[0] if after else "+inf"
                p.zrevrangebyscore(key, hi, "-inf", start=0, num=slack, withscores=True)
            else:
                lo = after[0] if after else "-inf"
                p.zrangebyscore(key, lo, "+inf", start=0, num=slack, withscores=True)
            p.zcard(key)
            rows, total = await p.execute()
        out: list[tuple[str, int]] = []
        for member, score in rows:
            chat_id, sc = member.decode(), int(score)
            if after is not None and sc == after[0]:
                # equal scores are ordered by member: skip those at or before the cursor's member
                if (desc and chat_id >= after[1]) or (not desc and chat_id <= after[1]):
                    continue
            out.append((chat_id, sc))
            if len(out) == limit + 1:
                break
        return out, total

    # --- connections (for the per-customer socket limit) ---------------------------------------------------------

    async def add_connection(self, cid: str, conn_id: str, now: int, max_age: int, limit: int) -> bool:
        return bool(await self._add_connection(keys=[keys.customer_connections(cid)],
                                               args=[conn_id, now, max_age, limit]))

    async def remove_connection(self, cid: str, conn_id: str) -> None:
        await self.r.zrem(keys.customer_connections(cid), conn_id)

    # --- chats and threads ---------------------------------------------------------------------------------------

    async def open_thread(
        self,
        *,
        mode: str,
        chat_id: str,
        thread_id: str,
        created_at: str,
        created_ms: int,
        active: bool,
        access: bytes,
        properties: bytes,
        user_ids: bytes,
        chat_fields: dict[str, str] | None = None,
    ) -> str:
        """Create the chat (``mode="start"``) or check it is inactive (``"resume"``) and open a new thread in it.
        Returns the previous thread id (``""`` for none)."""
        args: list[Any] = [mode, thread_id, created_at, created_ms, "1" if active else "0", access, properties,
                           user_ids, keys.thread(chat_id, "")]
        for k, v in (chat_fields or {}).items():
            args += [k, v]
        try:
            prev = await self._open(keys=[keys.chat(chat_id), keys.chat_threads(chat_id), keys.thread(chat_id, thread_id)], args=args)
        except ResponseError as exc:
            raise _script_error(exc) from None
        return prev.decode() if isinstance(prev, bytes) else str(prev or "")

    async def index_chat(self, org: str, cid: str, chat_id: str, last_thread_ms: int,
                         started_group: int | None = None) -> None:
        """List the chat first in its customer's and its license's chat indexes; the customer's record, which expires
        while they only browse, is kept from now on, as chats are. With ``started_group`` the new thread is active:
        it counts in the reports as a chat of that group (same round trip)."""
        async with self.r.pipeline(transaction=False) as p:
            p.zadd(keys.customer_chats(cid), {chat_id: last_thread_ms})
            p.persist(keys.customer(cid))
            p.zadd(keys.org_chats(org), {chat_id: last_thread_ms})
            if started_group is not None:
                self.reports.count_started(p, org, started_group, last_thread_ms)
            await p.execute()

    async def agents(self, org: str, ids: list[str] | None = None) -> dict[str, dict[str, Any]]:
        """Agent records by id (all of the license's when ``ids`` is None)."""
        if ids is None:
            raw = await self.r.hgetall(keys.agents(org))
            return {k.decode(): _json_decode(v) for k, v in raw.items()}
        if not ids:
            return {}
        values = await self.r.hmget(keys.agents(org), ids)
        return {i: _json_decode(v) for i, v in zip(ids, values) if v is not None}

    async def save_agent(self, org: str, agent: dict[str, Any]) -> None:
        await self.r.hset(keys.agents(org), agent["id"], _json_encode(agent))

    async def append_events(
        self, chat_id: str, thread_id: str, items: Iterable[tuple[str, bytes, bool]], now_ms: int, require_active: bool
    ) -> int:
        """Append encoded events (``type``, json without ``id``, visible to customers) to a thread; returns the
        first sequence number. Raises StoreError('chat_inactive') when the thread must be active and is not."""
        args: list[Any] = [thread_id, "active" if require_active else "any", now_ms]
        for etype, body, public in items:
            args += [etype, body, "1" if public else "0"]
        try:
            return int(await self._append(keys=self._thread_keys(chat_id, thread_id), args=args))
        except ResponseError as exc:
            raise _script_error(exc) from None

    async def send_event(
        self, chat_id: str, *, org: str, customer_id: str, agent_id: str, attach: bool, now_ms: int,
        item: tuple[str, bytes, bool], publish: tuple[bytes, bytes, bytes] | None, dedup: str = "", outbox: str = "",
    ) -> SentEvent:
        """Append one encoded event (``type``, json without ``id``, visible to customers) to the chat's active thread
        (or, with ``attach``, its last one) if the caller may: the customer ``customer_id``, or the agent ``agent_id``
        if they are in the chat (empty strings: no such check). With ``publish`` = (head, middle, tail) the script
        also publishes ``head + thread_id + middle + event + tail`` to the channels of the chat's users who see the
        event. ``dedup`` (``"<author id> <custom_id>"``, empty for none) makes the call idempotent: if the chat already
        holds an event under it, that event's place is returned with ``duplicate`` set and nothing is written. ``outbox`` (empty for none): the entry
        of the chat's webhook outbox that keeps the new event's id until ``clear_outbox``.
        Raises StoreError: ``not_found``, ``authorization``, ``not_member``, ``chat_inactive``."""
        head, middle, tail = publish or (b"", b"", b"")
        etype, body, public = item
        args = [org, customer_id, agent_id, "1" if attach else "0", now_ms, head, middle, tail, dedup, outbox, etype,
                body, "1" if public else "0"]
        try:
            seq, thread_id, cid, agent_ids, duplicate, *rest = await self._send_events(
                [keys.chat(chat_id), keys.chat_last_events(chat_id), keys.chat_custom_ids(chat_id),
                 keys.chat_outbox(chat_id)], args)
        except ResponseError as exc:
            raise _script_error(exc) from None
        # (a duplicate's answer has no more than the first five)
        first_ms, access = (int(rest[0]), rest[1].decode()) if len(rest) >= 2 else (-1, "")
        followers = _list_decode(rest[3]) if len(rest) >= 4 and rest[3] else []
        agents = _list_decode(agent_ids)
        return SentEvent(int(seq), thread_id.decode(), cid.decode(), agents, bool(duplicate),
                         first_ms, access, bool(len(rest) >= 3 and rest[2]), [f for f in followers if f not in agents])

    async def mark_asked(self, chat_id: str, thread_id: str, ms: int) -> None:
        """When the customer began waiting for an answer in the thread (kept once): see ``send_event.lua``."""
        await self.r.hsetnx(keys.thread(chat_id, thread_id), "asked_ms", ms)

    async def watch_inactivity(self, chat_id: str, at_ms: int) -> None:
        """The inactivity timer looks at the chat at ``at_ms`` at the latest (an earlier time already set stays)."""
        await self.r.zadd(keys.INACTIVITY_DUE, {chat_id: at_ms}, lt=True)

    async def outbox_event(self, chat_id: str, entry: str) -> str | None:
        """The id of the event kept under ``entry`` of the chat's webhook outbox (see ``send_event``)."""
        raw = await self.r.hget(keys.chat_outbox(chat_id), entry)
        return raw.decode() if raw is not None else None

    async def clear_outbox(self, chat_id: str, entry: str) -> None:
        await self.r.hdel(keys.chat_outbox(chat_id), entry)

    async def close_thread(self, chat_id: str, thread_id: str, items: Iterable[tuple[str, bytes, bool]], now_ms: int) -> int:
        args: list[Any] = [thread_id, now_ms]
        for etype, body, public in items:
            args += [etype, body, "1" if public else "0"]
        try:
            return int(await self._close(keys=self._thread_keys(chat_id, thread_id), args=args))
        except ResponseError as exc:
            raise _script_error(exc) from None

    @staticmethod
    def _thread_keys(chat_id: str, thread_id: str) -> list[str]:
        return [keys.chat(chat_id), keys.thread(chat_id, thread_id), keys.thread_events(chat_id, thread_id),
                keys.chat_last_events(chat_id)]

    async def chat(self, chat_id: str) -> dict[str, str] | None:
        raw = await self.r.hgetall(keys.chat(chat_id))
        return decode_hash(raw) if raw else None

    async def chats(self, chat_ids: list[str]) -> list[dict[str, str]]:
        async with self.r.pipeline(transaction=False) as p:
            for cid in chat_ids:
                p.hgetall(keys.chat(cid))
            return [decode_hash(raw) for raw in await p.execute()]

    async def chats_with_last_events(self, chat_ids: list[str]) -> list[tuple[dict[str, str], dict[str, bytes]]]:
        async with self.r.pipeline(transaction=False) as p:
            for cid in chat_ids:
                p.hgetall(keys.chat(cid))
                p.hgetall(keys.chat_last_events(cid))
            raw = await p.execute()
        return [(decode_hash(raw[i]), {k.decode(): v for k, v in raw[i + 1].items()}) for i in range(0, len(raw), 2)]

    async def thread_ids(self, chat_id: str) -> list[str]:
        return [t.decode() for t in await self.r.lrange(keys.chat_threads(chat_id), 0, -1)]

    async def threads(self, chat_id: str, thread_ids: list[str]) -> list[tuple[dict[str, str], dict[bytes, bytes]]]:
        """Thread hashes with their raw events (seq -> json), one round trip."""
        async with self.r.pipeline(transaction=False) as p:
            for tid in thread_ids:
                p.hgetall(keys.thread(chat_id, tid))
                p.hgetall(keys.thread_events(chat_id, tid))
            raw = await p.execute()
        return [(decode_hash(raw[i]), raw[i + 1]) for i in range(0, len(raw), 2)]

    async def thread(self, chat_id: str, thread_id: str) -> dict[str, str] | None:
        raw = await self.r.hgetall(keys.thread(chat_id, thread_id))
        return decode_hash(raw) if raw else None

    async def set_thread_fields(self, chat_id: str, thread_id: str, fields: dict[str, str]) -> None:
        await self.r.hset(keys.thread(chat_id, thread_id), mapping=fields)

    async def set_chat_fields(self, chat_id: str, fields: dict[str, str]) -> None:
        await self.r.hset(keys.chat(chat_id), mapping=fields)

    async def update_json_field(self, key: str, field: str, mutate: Callable[[Any], Any], default: Any = None) -> Any:
        """Read-modify-write one JSON value of a hash: written only if the field still holds what was read (a
        compare-and-set script, so it works on a cluster, where WATCH/MULTI does not), retried on conflict. Returns
        the new value. ``mutate`` may raise to abort without writing. A missing hash aborts with
        StoreError('not_found')."""
        while True:
            async with self.r.pipeline(transaction=False) as p:
                p.exists(key)
                p.hget(key, field)
                exists, raw = await p.execute()
            if not exists or (raw is None and default is None):
                raise StoreError("not_found")
            value = mutate(_json_decode(raw) if raw is not None else default)
            try:
                written = await self._set_if_unchanged(
                    keys=[key], args=[field, "0" if raw is None else "1", raw or b"", _json_encode(value)])
            except ResponseError as exc:
                raise _script_error(exc) from None
            if written:
                return value

    async def event_raw(self, chat_id: str, thread_id: str, seq: int) -> bytes | None:
        return await self.r.hget(keys.thread_events(chat_id, thread_id), seq)

    async def ping(self) -> bool:
        return bool(await self.r.ping())


    async def update_json_document(self, key: str, decoder: msgspec.json.Decoder, mutate: Callable[[Any], T],
                                   default: Callable[[], Any]) -> T:
        """Read-modify-write a JSON value kept as one string key (``default()`` when missing), by compare-and-set
        as ``update_license_config`` does: ``mutate`` changes the decoded value in place (it may raise to abort
        without writing); written only if nobody changed the key since, else read again. Returns what ``mutate``
        returned."""
        while True:
            raw = await self.r.get(key)
            value = decoder.decode(raw) if raw else default()
            result = mutate(value)
            written = await self._set_string_if_unchanged(
                keys=[key], args=["0" if raw is None else "1", raw or b"", _json_encode(value)])
            if written:
                return result
