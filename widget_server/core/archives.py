"""The archive index: list_archives finds ended threads by customer, agent, group, words and close time without
reading every archived chat.

Each ended thread is a member ``"<chat_id> <thread_id>"`` scored by its close time (ms) in the license's
``org_archives`` set and in one index set per fact about it (``keys.archive_index``): its customer, each agent in it,
each of its groups, its chat, tags, event types, its customer's e-mail address, the kinds of agent in it, whether it
had agents and tags, and
each word of its texts (lower-cased, Unicode word characters; at most ``MAX_WORDS`` distinct
words a thread, of at most ``MAX_WORD`` characters). A search (``archive_search.lua``) walks the smallest matching set
and checks the others, so its cost follows the most selective filter. All of a license's index keys share its hash
tag: one cluster slot, one script.

A text query matches the threads that contain every word of it (as a search engine does), not a substring of a word.
Threads archived before the index existed are indexed on the license's first search (``ensure_indexed``)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .. import keys
from ..protocol.errors import ApiError
from . import scripts

EXISTS = {"a": ("assigned", "unassigned"), "t": ("tagged", "untagged")}
"""The ``x`` sets that answer ``exists`` for agents and tags."""
MAX_WORDS = 2000
MAX_WORD = 64
_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """The distinct words of ``text`` as the index keeps them, in order of appearance."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        if len(word) <= MAX_WORD:
            seen.setdefault(word)
    return list(seen)


@dataclass(slots=True)
class ArchiveFacts:
    """What an ended thread is found by."""

    customer_id: str
    agent_ids: set[str] = field(default_factory=set)
    group_ids: set[int] = field(default_factory=set)
    words: set[str] = field(default_factory=set)
    chat_id: str = ""
    tags: set[str] = field(default_factory=set)
    event_types: set[str] = field(default_factory=set)
    email: str = ""
    """The customer's e-mail address when the thread ended, lower-cased (``customer_email``)."""
    agent_types: set[str] = field(default_factory=set)
    """``human`` and/or ``chatbot``: the kinds of agent in the thread when it ended (``agent_types``)."""

    def add_text(self, text: str) -> None:
        for word in words(text):
            if len(self.words) >= MAX_WORDS:
                return
            self.words.add(word)

    def index_keys(self, org: str) -> list[str]:
        out = [keys.archive_index(org, "c", self.customer_id),
               *(keys.archive_index(org, "a", a) for a in sorted(self.agent_ids)),
               *(keys.archive_index(org, "g", str(g)) for g in sorted(self.group_ids)),
               *(keys.archive_index(org, "w", w) for w in sorted(self.words)),
               *(keys.archive_index(org, "e", t) for t in sorted(self.event_types)),
               *(keys.archive_index(org, "y", t) for t in sorted(self.agent_types)),
               *tag_keys(org, self.tags),
               keys.archive_index(org, "x", "assigned" if self.agent_ids else "unassigned")]
        if self.chat_id:
            out.append(keys.archive_index(org, "h", self.chat_id))
        if self.email:
            out.append(keys.archive_index(org, "m", self.email))
        return out


def tag_keys(org: str, tags: Iterable[str]) -> list[str]:
    """The index sets a thread with ``tags`` is in for its tags (each tag, and whether it has any)."""
    tags = sorted(set(tags))
    return [*(keys.archive_index(org, "t", t) for t in tags),
            keys.archive_index(org, "x", "tagged" if tags else "untagged")]


@dataclass(slots=True)
class ArchiveQuery:
    """A search: every clause must hold; a clause holds when the thread is in any of its sets."""

    org: str
    clauses: list[list[str]] = field(default_factory=list)
    exclusions: list[list[str]] = field(default_factory=list)
    """Clauses that must not hold: the thread is in none of their sets."""

    def any_of(self, kind: str, values: Iterable[Any]) -> ArchiveQuery:
        self.clauses.append([keys.archive_index(self.org, kind, str(v)) for v in values])
        return self

    def none_of(self, kind: str, values: Iterable[Any]) -> ArchiveQuery:
        """A clause that holds for the threads in none of the sets."""
        self.exclusions.append([keys.archive_index(self.org, kind, str(v)) for v in values])
        return self

    def values(self, kind: str, spec: Any, name: str) -> ArchiveQuery:
        """LiveChat's ``<filter_type>`` (``values``, ``exclude_values``, ``exists``, ``require_every_value``) over
        one kind of index set; ``exists`` is the ``x`` set named by ``EXISTS[kind]``."""
        given = [x for x in (spec.values, spec.exclude_values, spec.exists) if x is not None]
        if len(given) != 1:
            raise ApiError("validation", f"filters.{name}: exactly one of values, exclude_values or exists")
        every = bool(spec.require_every_value)
        if spec.exists is not None:
            if kind not in EXISTS:
                raise ApiError("validation", f"filters.{name}.exists is not supported")
            yes, no = EXISTS[kind]
            self.any_of("x", [yes if spec.exists else no])
        elif spec.values is not None:
            if every:
                for value in dict.fromkeys(spec.values):
                    self.any_of(kind, [value])
            else:
                self.any_of(kind, dict.fromkeys(spec.values))
        else:
            if every:  # (not all of them: the index answers "in none of them" only)
                raise ApiError("validation", f"filters.{name}: exclude_values with require_every_value is not "
                                             "supported")
            self.none_of(kind, dict.fromkeys(spec.exclude_values))
        return self

    def agent_types(self, spec: Any) -> ArchiveQuery:
        """LiveChat's ``agent_types``: ``all_values`` (every one of them), ``any_values`` (one of them),
        ``exclude_values`` (none of them); each of ``human``, ``chatbot``, ``ai_agent`` at most once in all."""
        named = [*(spec.all_values or []), *(spec.any_values or []), *(spec.exclude_values or [])]
        if not named:
            raise ApiError("validation", "filters.agent_types: all_values, any_values or exclude_values")
        if len(set(named)) != len(named):
            raise ApiError("validation", "filters.agent_types: each agent type at most once")
        for value in spec.all_values or []:
            self.any_of("y", [value])
        if spec.any_values:
            self.any_of("y", spec.any_values)
        if spec.exclude_values:
            self.none_of("y", spec.exclude_values)
        return self

    def text(self, query: str) -> ArchiveQuery:
        for word in words(query)[:64]:  # (a 512-character query has at most 256 words; 64 narrow enough)
            self.any_of("w", [word])
        return self


class ArchiveIndex:
    def __init__(self, valkey: Any) -> None:
        self.r = valkey
        self._add = scripts.register(valkey, "archive_add")
        self._search = scripts.register(valkey, "archive_search")

    async def add(self, org: str, chat_id: str, thread_id: str, closed_ms: int, facts: ArchiveFacts,
                  report: list[Any] | None = None) -> None:
        """The thread in the license's archives and every index set of its facts, at once (one script, one slot);
        ``report`` (``Reports.archive_args``): its report counters, counted the first time it is archived."""
        await self._add(keys=[keys.org_archives(org), *facts.index_keys(org)],
                        args=[f"{chat_id} {thread_id}", closed_ms, *(report or [])])

    async def search(self, query: ArchiveQuery, lo: float | str, hi: float | str, desc: bool, offset: int,
                     limit: int) -> tuple[int, list[tuple[str, str]]]:
        """(how many threads match, the page of them as (chat id, thread id)) between close times ``lo``..``hi``."""
        clauses = [[keys.org_archives(query.org)], *(c for c in query.clauses if c)]
        if any(not c for c in query.clauses):  # a clause of no sets (an agent of no group...) holds for no thread
            return 0, []
        exclusions = [c for c in query.exclusions if c]
        flat = [k for c in (*clauses, *exclusions) for k in c]
        # (an exclusion's size is sent negative: the script asks that the thread be in none of its sets)
        found = await self._search(
            keys=[*flat, keys.archive_scratch(query.org, secrets.token_hex(8))],
            args=[lo, hi, "1" if desc else "0", offset, limit, len(clauses) + len(exclusions),
                  *(len(c) for c in clauses), *(-len(c) for c in exclusions)])
        total, members = int(found[0]), found[1:]
        return total, [tuple(m.decode().split(" ", 1)) for m in members]  # type: ignore[misc]

    async def retag(self, org: str, chat_id: str, thread_id: str, before: Iterable[str], after: Iterable[str]) -> None:
        """An archived thread's tags changed (``tag_thread`` / ``untag_thread`` after it ended): its tag sets follow,
        at its close time. A thread not archived (yet) is left alone: its archiving reads its tags."""
        member = f"{chat_id} {thread_id}"
        score = await self.r.zscore(keys.org_archives(org), member)
        if score is None:
            return
        old, new = set(tag_keys(org, before)), set(tag_keys(org, after))
        async with self.r.pipeline(transaction=False) as p:  # (the license's slot)
            for key in sorted(old - new):
                p.zrem(key, member)
            for key in sorted(new - old):
                p.zadd(key, {member: score})
            await p.execute()

    async def ensure_indexed(self, org: str, index_one: Callable[[str, str, int], Awaitable[None]]) -> None:
        """Index the threads archived before the index existed, once per license (a lock keeps it to one worker;
        indexing a thread twice changes nothing, so a search that runs meanwhile only finds fewer)."""
        done = keys.archives_indexed(org)
        if await self.r.exists(done):
            return
        if not await self.r.set(done + ":lock", "1", nx=True, ex=300):
            return
        try:
            cursor = 0
            while True:
                cursor, entries = await self.r.zscan(keys.org_archives(org), cursor, count=500)
                for member, score in entries:
                    chat_id, thread_id = member.decode().split(" ", 1)
                    await index_one(chat_id, thread_id, int(score))
                if cursor == 0:
                    break
            await self.r.set(done, "1")
        finally:
            await self.r.delete(done + ":lock")
