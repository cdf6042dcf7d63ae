"""Chat routing on Valkey: which accepting agent of a group gets a new thread, and the group's queue when nobody
has capacity. Each decision is one Lua script over the license's routing keys (one hash tag), so two workers never
hand the same capacity out twice.

Rule: among agents of the group whose status is ``accepting_chats`` and whose load is below their max concurrent
chats, priority ``first`` (e.g. bots) before ``normal`` before ``last``; within a priority the fewest active chats;
ties go to whoever got a chat least recently (round robin).
"""

from __future__ import annotations

import json
import time
from typing import Any

from .. import keys
from . import scripts

PRIORITIES = ("first", "normal", "last")

AVERAGE_WAIT_PER_POSITION = 60
"""Seconds of expected wait per queue position (LiveChat reports an estimate too)."""


def _ms() -> int:
    return int(time.time() * 1000)


LICENSE_NOTE_SECONDS = 60.0
"""How long a worker trusts that it has listed a license for the repair pass (``REPAIR_LICENSES``) before it lists
it again; the pass drops a license only after ``repair.LICENSE_KEEP_SECONDS`` without a note, far longer."""


class Router:
    def __init__(self, valkey: Any) -> None:
        self.r = valkey
        self._assign = scripts.register(valkey, "route_chat")
        self._predict = scripts.register(valkey, "predict_agent")
        self._drain = scripts.register(valkey, "route_queued_chat")
        self._take = scripts.register(valkey, "take_chat")
        self._release = scripts.register(valkey, "release_chat")
        self._idle = scripts.register(valkey, "idle_chat")
        self._wake = scripts.register(valkey, "wake_chat")
        self._noted: dict[str, float] = {}

    # --- operations in flight (see keys.chat_operations and core/repair.py) ----------------------------------------

    async def _note_license(self, org: str) -> None:
        """List the license for the repair pass before any operation of it is noted (once a minute per worker)."""
        now = time.monotonic()
        if self._noted.get(org, 0.0) > now:
            return
        await self.r.zadd(keys.REPAIR_LICENSES, {org: time.time()})
        self._noted[org] = now + LICENSE_NOTE_SECONDS

    async def begin(self, org: str, operation: str) -> None:
        """Note an operation of several steps before its first write (``done`` removes it after its last)."""
        await self._note_license(org)
        await self.r.zadd(keys.chat_operations(org), {operation: _ms()})

    async def done(self, org: str, operation: str) -> None:
        await self.r.zrem(keys.chat_operations(org), operation)

    async def operations(self, org: str, before_ms: int) -> list[str]:
        """The license's operations noted before ``before_ms``, oldest first."""
        return [m.decode() for m in await self.r.zrangebyscore(keys.chat_operations(org), "-inf", before_ms)]

    @staticmethod
    def _keys(org: str, group_id: int) -> list[str]:
        return [keys.routing_status(org), keys.routing_load(org), keys.routing_max(org), keys.routing_last(org),
                *(keys.group_members(org, group_id, prio) for prio in PRIORITIES), keys.bots(org)]

    async def assign(self, org: str, group_id: int, chat_id: str, thread_id: str,
                     humans_only: bool = False, exclude: list[str] | None = None) -> str | None:
        """Give the chat's thread to the best available agent of the group (counted in their load and chats, the
        join noted as in flight: ``join <chat> <thread> <agent>``, which the caller's join ends); None when nobody
        can. ``humans_only`` skips bots (a chat a bot handed over); agents in ``exclude`` are skipped (a chat the
        inactivity timer moves on)."""
        await self._note_license(org)
        agent = await self._assign(keys=[*self._keys(org, group_id), keys.chat_operations(org)],
                                   args=[_ms(), "h" if humans_only else "", chat_id, thread_id,
                                         json.dumps(exclude) if exclude else ""])
        return agent.decode() if agent else None

    async def predict(self, org: str, group_id: int) -> str | None:
        """The agent ``assign`` would pick for a chat of the group now, nothing counted (``get_predicted_agent``)."""
        agent = await self._predict(keys=self._keys(org, group_id), args=[])
        return agent.decode() if agent else None

    async def take(self, org: str, agent_id: str, chat_id: str, thread_id: str) -> None:
        """Count a chat the agent joins by hand (once, however often asked), the join noted as in flight as
        ``assign`` does."""
        await self._note_license(org)
        await self._take(keys=[keys.routing_load(org), keys.agent_chats(org, agent_id), keys.chat_operations(org)],
                         args=[agent_id, chat_id, thread_id, _ms()])

    async def release(self, org: str, agent_id: str, chat_id: str) -> None:
        """The agent left the chat, or its thread ended: one chat less in their load."""
        await self._release(keys=self._agent_keys(org, agent_id), args=[agent_id, chat_id])

    @staticmethod
    def _agent_keys(org: str, agent_id: str) -> list[str]:
        return [keys.routing_load(org), keys.agent_chats(org, agent_id), keys.agent_idle_chats(org, agent_id)]

    async def idle(self, org: str, agent_id: str, chat_id: str) -> bool:
        """The agent's chat went idle: it stays theirs but leaves their load (once). True if it was counted out."""
        return bool(await self._idle(keys=self._agent_keys(org, agent_id), args=[agent_id, chat_id]))

    async def wake(self, org: str, agent_id: str, chat_id: str) -> bool:
        """The agent's idle chat is active again: counted in their load again (once)."""
        return bool(await self._wake(keys=self._agent_keys(org, agent_id), args=[agent_id, chat_id]))

    async def chats_of(self, org: str, agent_id: str) -> list[str]:
        return sorted(m.decode() for m in await self.r.smembers(keys.agent_chats(org, agent_id)))

    async def connected(self, org: str, agent_id: str, conn_id: str, now: float) -> None:
        """An agent's socket is open (or still open: refreshed every heartbeat)."""
        # the socket first, then the license's entry in the presence index (see forget_idle_licenses)
        await self.r.zadd(keys.agent_connections(org), {f"{agent_id} {conn_id}": now})
        await self.r.zadd(keys.AGENT_PRESENCE, {org: now})

    async def disconnected(self, org: str, agent_id: str, conn_id: str, score: float) -> None:
        """An agent's socket closed: it stays listed, scored ``score`` (as if silent), until someone claims it."""
        await self.r.zadd(keys.agent_connections(org), {f"{agent_id} {conn_id}": score}, xx=True)

    async def has_connections(self, org: str, agent_id: str, since: float) -> bool:
        """Whether the agent has a socket on any worker that was seen after ``since``."""
        members = await self.r.zrangebyscore(keys.agent_connections(org), f"({since}", "+inf")
        return any(m.decode().split(" ", 1)[0] == agent_id for m in members)

    async def silent_connections(self, orgs: list[str], before: float) -> list[tuple[str, str, str]]:
        """(license, agent id, connection id) of the licenses' sockets last seen before ``before``, one round trip."""
        async with self.r.pipeline(transaction=False) as p:
            for org in orgs:
                p.zrangebyscore(keys.agent_connections(org), "-inf", f"({before}")
            found = await p.execute()
        return [(org, *m.decode().split(" ", 1)) for org, members in zip(orgs, found) for m in members]  # type: ignore[misc]

    async def claim_connection(self, org: str, agent_id: str, conn_id: str) -> bool:
        """Remove a closed or dead socket; True for the one caller that removed it (so one worker acts on it)."""
        return bool(await self.r.zrem(keys.agent_connections(org), f"{agent_id} {conn_id}"))

    async def licenses_with_agents(self) -> list[str]:
        return [m.decode() for m in await self.r.zrange(keys.AGENT_PRESENCE, 0, -1)]

    async def forget_idle_licenses(self, before: float) -> None:
        """Drop licenses with no socket opened or refreshed since ``before`` from the presence index. Atomic on its
        own: a license whose agent connects meanwhile has a fresh score and stays."""
        await self.r.zremrangebyscore(keys.AGENT_PRESENCE, "-inf", f"({before}")

    async def enqueue(self, org: str, group_id: int, chat_id: str, thread_id: str, humans_only: bool = False) -> int:
        """Queue a thread; returns its 1-based position."""
        entry = f"{chat_id} {thread_id} h" if humans_only else f"{chat_id} {thread_id}"
        return int(await self.r.rpush(keys.group_queue(org, group_id), entry))

    async def unqueue(self, org: str, group_id: int, chat_id: str, thread_id: str) -> None:
        async with self.r.pipeline(transaction=False) as p:
            p.lrem(keys.group_queue(org, group_id), 0, f"{chat_id} {thread_id}")
            p.lrem(keys.group_queue(org, group_id), 0, f"{chat_id} {thread_id} h")
            await p.execute()

    async def queued(self, org: str, group_ids: list[int]) -> int:
        """Threads waiting in these groups' queues (one pipelined round trip)."""
        if not group_ids:
            return 0
        async with self.r.pipeline(transaction=False) as p:
            for group_id in group_ids:
                p.llen(keys.group_queue(org, group_id))
            return sum(await p.execute())

    async def queue(self, org: str, group_id: int) -> list[tuple[str, str]]:
        entries = await self.r.lrange(keys.group_queue(org, group_id), 0, -1)
        return [tuple(e.decode().split(" ")[:2]) for e in entries]  # type: ignore[misc]

    async def position(self, org: str, group_id: int, chat_id: str, thread_id: str) -> int | None:
        """The thread's 1-based place in the group's queue, if it is queued."""
        key = keys.group_queue(org, group_id)
        for entry in (f"{chat_id} {thread_id}", f"{chat_id} {thread_id} h"):
            index = await self.r.lpos(key, entry)
            if index is not None:
                return int(index) + 1
        return None

    async def mark_bot(self, org: str, agent_id: str, is_bot: bool = True) -> None:
        if is_bot:
            await self.r.sadd(keys.bots(org), agent_id)
        else:
            await self.r.srem(keys.bots(org), agent_id)

    async def drain_one(self, org: str, group_id: int) -> tuple[str, str, str] | None:
        """Assign the oldest queued thread of the group if an agent has capacity: (chat_id, thread_id, agent_id).
        The pop, the agent's load and chats and the note of the join in flight are one step (see ``assign``)."""
        await self._note_license(org)
        got = await self._drain(keys=[*self._keys(org, group_id), keys.group_queue(org, group_id),
                                      keys.chat_operations(org)], args=[_ms()])
        if not got:
            return None
        chat_id, thread_id = got[0].decode().split(" ")[:2]
        return chat_id, thread_id, got[1].decode()

    reports: Any = None
    """The report counters (``core/reports.py``, set by ``Services``): with them a status is set by the script that
    also counts the agent's availability."""

    async def set_status(self, org: str, agent_id: str, status: str) -> None:
        if self.reports is not None:
            await self.reports.set_status(org, agent_id, status)
            return
        await self.r.hset(keys.routing_status(org), agent_id, status)

    async def statuses(self, org: str) -> dict[str, str]:
        raw = await self.r.hgetall(keys.routing_status(org))
        return {k.decode(): v.decode() for k, v in raw.items()}

    async def status(self, org: str, agent_id: str) -> str:
        raw = await self.r.hget(keys.routing_status(org), agent_id)
        return raw.decode() if raw else "offline"

    async def online_groups(self, org: str, group_ids: list[int]) -> list[int]:
        """Groups with at least one agent accepting chats (capacity or not: a full group is online for queueing)."""
        statuses = await self.statuses(org)
        accepting = {a for a, s in statuses.items() if s == "accepting_chats"}
        if not accepting:
            return []
        async with self.r.pipeline(transaction=False) as p:
            for gid in group_ids:
                for prio in PRIORITIES:
                    p.smembers(keys.group_members(org, gid, prio))
            raw = await p.execute()
        online = []
        for i, gid in enumerate(group_ids):
            members = set().union(*raw[i * len(PRIORITIES):(i + 1) * len(PRIORITIES)])
            if any(m.decode() in accepting for m in members):
                online.append(gid)
        return online

    async def accepting_agents(self, org: str, group_id: int) -> list[str]:
        """The group's agents (any priority) accepting chats now, in id order."""
        async with self.r.pipeline(transaction=False) as p:
            p.hgetall(keys.routing_status(org))
            for prio in PRIORITIES:
                p.smembers(keys.group_members(org, group_id, prio))
            statuses, *members = await p.execute()
        accepting = {a for a, s in statuses.items() if s == b"accepting_chats"}
        return sorted(m.decode() for m in set().union(*members) if m in accepting)

    async def note_first_response(self, org: str, group_id: int, seconds: int, kept: int) -> None:
        """Keep a first-response time in the group's capped list (``keys.first_responses``)."""
        key = keys.first_responses(org, group_id)
        async with self.r.pipeline(transaction=False) as p:
            p.lpush(key, seconds)
            p.ltrim(key, 0, max(1, kept) - 1)
            await p.execute()

    async def first_responses(self, org: str, group_id: int) -> list[int]:
        return [int(x) for x in await self.r.lrange(keys.first_responses(org, group_id), 0, -1)]

    async def set_membership(self, org: str, agent_id: str, groups: list[tuple[int, str]], max_chats: int) -> None:
        """Put the agent in exactly these (group, priority) sets and record their capacity."""
        async with self.r.pipeline(transaction=False) as p:
            for gid, prio in groups:
                for other in PRIORITIES:
                    if other != prio:
                        p.srem(keys.group_members(org, gid, other), agent_id)
                if prio in PRIORITIES:
                    p.sadd(keys.group_members(org, gid, prio), agent_id)
            p.hset(keys.routing_max(org), agent_id, max_chats)
            await p.execute()

    async def chat_counts(self, org: str, agent_ids: list[str]) -> dict[str, int]:
        """How many chats each agent has now (their chat sets; idle chats included: they are still theirs)."""
        async with self.r.pipeline(transaction=False) as p:
            for agent_id in agent_ids:
                p.scard(keys.agent_chats(org, agent_id))
            counts = await p.execute()
        return dict(zip(agent_ids, (int(n) for n in counts)))

    async def set_away(self, org: str, agent_id: str, conn_id: str, away: bool) -> None:
        """Mark one of the agent's sockets away (``set_away_status``), or back; the set lives a day past its last
        change (a socket that closes leaves it: ``connection_gone``)."""
        key = keys.agent_away(org, agent_id)
        async with self.r.pipeline(transaction=False) as p:
            if away:
                p.sadd(key, conn_id)
                p.expire(key, 86400)
            else:
                p.srem(key, conn_id)
            await p.execute()

    async def all_away(self, org: str, agent_id: str, since: float) -> bool:
        """Whether every socket of the agent seen after ``since`` (unix s) is marked away (and they have one)."""
        async with self.r.pipeline(transaction=False) as p:
            p.zrangebyscore(keys.agent_connections(org), f"({since}", "+inf")
            p.smembers(keys.agent_away(org, agent_id))
            members, away = await p.execute()
        live = {m.decode().split(" ", 1)[1] for m in members if m.decode().split(" ", 1)[0] == agent_id}
        return bool(live) and live <= {a.decode() for a in away}

    async def auto_away(self, org: str, agent_id: str, on: bool | None = None) -> bool:
        """Whether the away state made the agent ``not_accepting_chats`` (``on``: note it, or clear it; returns
        whether it was noted before)."""
        key = keys.agent_auto_away(org, agent_id)
        if on is None:
            return bool(await self.r.exists(key))
        if on:
            return not await self.r.set(key, "1", ex=86400, nx=True)
        return bool(await self.r.delete(key))
