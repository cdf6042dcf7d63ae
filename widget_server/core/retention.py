"""Chat retention: a chat whose every thread ended more than ``WIDGET_CHAT_RETENTION_DAYS`` ago is deleted with its
threads, events, uploaded files and index entries. Anyone can start a chat, so nothing an anonymous caller creates
is kept for ever.

A pass walks each license's archive (``org_archives``, oldest first) up to the cutoff; one worker at a time runs it
(a lock with a lease). A chat's keys live in three cluster slots (the chat's, its customer's, its license's), so the
deletion is ordered rather than atomic: the chat's own keys first (one script, which leaves a chat that was resumed
meanwhile alone), then its index entries, the license's and the customer's chat lists and its files, the archive
entries last; then the license's agents get ``chat_deleted``. A pass cut short by a crash leaves the archive entries, and the next pass removes them (what it cannot
do then is find the index entries of a chat already deleted: those stay, and a search skips a chat that is gone)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .. import keys
from ..protocol.agent import ChatDeleted
from ..protocol.events import File
from . import scripts

if TYPE_CHECKING:
    from .chats import ChatBase

log = logging.getLogger("widget_server.retention")
LOCK = f"{keys.P}:retention:lock"


class ChatRetention:
    def __init__(self, core: ChatBase, retention_days: float, customer_ttl: int = 30 * 86_400) -> None:
        self.core = core
        self.r = core.store.r
        self.retention_ms = int(retention_days * 86_400_000)
        self.customer_ttl = customer_ttl
        """How long the customer record of a customer left without chats lives (the tracking retention)."""
        self._forget_chat = scripts.register(self.r, "forget_chat")

    async def licenses(self) -> list[str]:
        """Every license with archived threads (a SCAN: on a cluster, of every primary)."""
        found: set[str] = set()
        pattern = keys.org_archives("*")
        async for key in self.r.scan_iter(match=pattern, count=1000):
            name = key.decode() if isinstance(key, bytes) else key
            found.add(name[name.index("{") + 1:name.index("}")])
        return sorted(found)

    async def sweep(self, org: str, now_ms: int | None = None, batch: int = 200) -> int:
        """Delete the license's chats whose every thread ended before the cutoff; returns how many."""
        cutoff = (now_ms if now_ms is not None else int(time.time() * 1000)) - self.retention_ms
        deleted = 0
        kept = 0  # archive entries before the cutoff of chats that stay (a newer thread): stepped over
        while True:
            entries = await self.r.zrangebyscore(keys.org_archives(org), "-inf", cutoff, start=kept, num=batch)
            by_chat: dict[str, list[str]] = {}
            for entry in entries:
                member = entry.decode()
                by_chat.setdefault(member.split(" ", 1)[0], []).append(member)
            for chat_id, members in by_chat.items():
                if await self._forget(org, chat_id, cutoff, members):
                    deleted += 1
                else:
                    kept += len(members)
            if len(entries) < batch:
                return deleted

    async def _forget(self, org: str, chat_id: str, cutoff: int, archived: list[str]) -> bool:
        """Delete one chat if it is past retention (not active, every thread ended before ``cutoff``); ``archived``:
        its archive entries the pass found."""
        store = self.core.store
        chat = await store.chat(chat_id)
        thread_ids = await store.thread_ids(chat_id)
        members = [f"{chat_id} {t}" for t in thread_ids]
        if chat:
            if chat.get("active_thread"):
                return False
            ended = await self.r.zmscore(keys.org_archives(org), members) if members else []
            if any(score is None or score > cutoff for score in ended):
                return False  # a thread still within retention (or never archived): the chat stays
            threads = await store.threads(chat_id, thread_ids)
            index: set[str] = set()
            files: set[str] = set()
            for (thash, raw), thread_id in zip(threads, thread_ids):
                if not thash:
                    continue
                thread = self.core._build_thread(thash, raw, for_customer=False)
                index.update(self.core._archive_facts(chat, thread, thash).index_keys(org))
                files.update(_file_ids(org, thread.events))
            forgotten = await self._forget_chat(
                keys=[keys.chat(chat_id), keys.chat_threads(chat_id), keys.chat_last_events(chat_id),
                      keys.chat_custom_ids(chat_id), keys.chat_outbox(chat_id),
                      *(k for t in thread_ids for k in (keys.thread(chat_id, t), keys.thread_events(chat_id, t)))],
                args=[len(thread_ids)])
            if not forgotten:
                return False  # resumed meanwhile
            # the license's agents drop it from their lists (LiveChat's chat_deleted)
            await self.core.bus.publish([keys.agents_feed(org)], "chat_deleted", ChatDeleted(chat_id=chat_id))
            async with self.r.pipeline(transaction=False) as p:  # the license's slot
                for key in sorted(index):
                    p.zrem(key, *members)
                p.zrem(keys.org_chats(org), chat_id)
                for file_id in sorted(files):
                    p.delete(keys.file(org, file_id))
                await p.execute()
            if chat.get("customer_id"):
                customer = chat["customer_id"]
                await self.r.zrem(keys.customer_chats(customer), chat_id)
                if not await self.r.zcard(keys.customer_chats(customer)):
                    # no chat left: the record expires as a visitor's who never chatted does (a ban keeps it)
                    if not await self.core.store.banned_until(customer):
                        await self.r.expire(keys.customer(customer), self.customer_ttl)
        # last: the archive entries (also those of a chat already gone: a pass that was cut short)
        await self.r.zrem(keys.org_archives(org), *{*members, *archived})
        return True

    async def run(self, interval: float, sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        """Every ``interval`` seconds, one pass over every license, by whichever worker takes the lock."""
        while True:
            with contextlib.suppress(Exception):
                await self.run_once(lease=max(60, int(interval)))
            await sleep(interval)

    async def run_once(self, lease: int = 3600) -> int:
        if not await self.r.set(LOCK, "1", nx=True, ex=lease):
            return 0
        deleted = 0
        try:
            for org in await self.licenses():
                deleted += await self.sweep(org)
        except Exception:
            log.exception("chat retention sweep failed")
            raise
        finally:
            await self.r.delete(LOCK)
        if deleted:
            log.info("chat retention: %d chats past %d days deleted", deleted, self.retention_ms // 86_400_000)
        return deleted


def _file_ids(org: str, events: list[Any]) -> list[str]:
    """The uploads a thread's file events use (``/files/<org>/<file_id>/<name>``)."""
    out = []
    for event in events:
        if isinstance(event, File):
            parts = urlsplit(event.url).path.split("/")
            if len(parts) >= 4 and parts[1] == "files" and parts[2] == org:
                out.append(parts[3])
    return out
