"""Chat inactivity: LiveChat's three timeouts, run by one timer across all workers and hosts.

- **transfer** (``chats.transfer_chat_after_min``, default ``WIDGET_INACTIVITY_TRANSFER_SECONDS``): the agent who
  has the chat has not answered the customer's first message of the thread (nor started typing) this long after
  it, or after they got the chat if that was later: the chat moves to another accepting agent of its group it has
  not been with in this thread, or back to the queue (``chat_transferred`` with reason ``inactive``);
- **inactive** (``chats.chat_inactive_after_min``, ``WIDGET_INACTIVITY_INACTIVE_SECONDS``): nobody wrote for this
  long: the chat stays with its agents but stops counting against their concurrent chats, and its chat property
  ``routing.idle`` is true (``chat_properties_updated``; ``list_chats`` and ``get_chat`` show it) until a message,
  which makes it count again and sets ``routing.idle`` false;
- **close** (``chats.archive_chat_after_min``, ``WIDGET_INACTIVITY_CLOSE_SECONDS``): nobody wrote for this long:
  the thread is closed by the path an agent's ``deactivate_chat`` takes (``ChatBase._deactivate``: a system message,
  ``chat_deactivated``, webhooks, the archive, the agents' capacity back, noted in flight for the repair pass).

The license values are LiveChat's names in its ``chats`` license-properties namespace (minutes; fractions allowed);
0 turns a timer off.

Nothing is written per message for this: ``send_event.lua`` already keeps the chat's ``last_event_ms``, and writes
``awaiting_ms`` (the customer's first unanswered message, ``0`` once an agent wrote) and clears ``idle`` only when
they change. The timer's state is a sorted set of chats (``keys.INACTIVITY_DUE``) scored with the time each is next
looked at, never later than its earliest deadline; it is written when a thread is routed, queued or joined and after
each look. Whichever worker holds the lease (``keys.INACTIVITY_LOCK``) looks at the due chats: a look that finds a
chat early (it was active since) just schedules the next one. The set lives in Valkey, so timers survive restarts;
it is one key (one slot on a cluster), written only at these moments, never per message."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any

import msgspec

from .. import keys
from ..protocol import agent as a
from ..protocol.common import Access
from ..protocol.errors import ApiError
from ..protocol.events import SystemMessage
from ..settings import Settings
from ..valkey import log_failure, unavailable
from . import scripts
from .interface import Caller
from .timeouts import inactivity_timeouts

if TYPE_CHECKING:
    from .agents import AgentCore

log = logging.getLogger("widget_server.inactivity")

LOCK_LEASE_MS = 30_000
DUE_BATCH = 200
_access_decoder = msgspec.json.Decoder(Access)


def _closing_message(now: str, minutes: float) -> SystemMessage:
    return SystemMessage(text=f"The chat was closed after {minutes:g} minutes of inactivity",
                         system_message_type="routing.archived_inactive", created_at=now, recipients="all",
                         text_vars={"duration": f"{minutes:g}"})


class Inactivity:
    """The inactivity timer of one worker: ``tick`` (under the lease) and ``run`` (periodically)."""

    def __init__(self, core: AgentCore, settings: Settings) -> None:
        self.core = core
        self.store = core.store
        self.router = core.router
        self.settings = settings
        self.r: Any = core.store.r
        self._unlock = scripts.register(self.r, "release_lock")
        self._mark_idle = scripts.register(self.r, "mark_idle")
        self._claim_transfer = scripts.register(self.r, "claim_transfer")

    async def tick(self) -> int:
        """Look at the chats whose time is due, if this worker gets the lease; returns how many it looked at."""
        token = secrets.token_hex(8)
        if not await self.r.set(keys.INACTIVITY_LOCK, token, nx=True, px=LOCK_LEASE_MS):
            return 0
        try:
            now = int(time.time() * 1000)
            due = await self.r.zrangebyscore(keys.INACTIVITY_DUE, "-inf", now, start=0, num=DUE_BATCH)
            for raw in due:
                try:
                    await self.check(raw.decode(), now)
                except Exception as exc:  # one chat's trouble must not hold the others back
                    if unavailable(exc) is not None:
                        raise
                    log_failure(log, exc, "inactivity timer of chat %s failed", raw.decode())
            return len(due)
        finally:
            await self._unlock(keys=[keys.INACTIVITY_LOCK], args=[token])

    async def run(self, interval: float) -> None:
        """Every ``interval`` seconds, one ``tick`` (by whichever worker gets the lease)."""
        failing = False
        while True:
            try:
                if await self.tick() == DUE_BATCH:
                    continue  # more are due: the next batch at once (a lease each, so other workers may take it)
                failing = False
            except Exception as exc:  # noqa: BLE001 (log_failure logs it, once per outage); the timer must outlive it
                if not failing:
                    log_failure(log, exc, "inactivity timer failed")
                failing = True
            await asyncio.sleep(max(interval, 0.05))  # a 0 in the settings must not spin

    async def check(self, chat_id: str, now: int) -> None:
        """Act on the chat's timers that are due at ``now`` (ms) and schedule its next look."""
        chat = await self.store.chat(chat_id)
        thread_id = chat.get("active_thread") if chat else None
        if not chat or not thread_id:
            await self.r.zrem(keys.INACTIVITY_DUE, chat_id)
            # a thread opened since the read: its routing's watch may have gone with the ZREM
            chat = await self.store.chat(chat_id)
            if chat and chat.get("active_thread"):
                await self.core._watch(chat["org"], chat_id)
            return
        org = chat["org"]
        transfer, inactive, close = inactivity_timeouts(self.settings, await self.store.license_config(org))
        # a resumed thread without events yet counts from its start, not the previous thread's last event
        last = max(int(chat.get("last_event_ms") or 0), int(chat.get("last_thread_ms") or 0))
        agents = self.core._agents_of(chat)
        caller = Caller(org=org, customer_id=chat.get("customer_id", ""), version="3.6", transport="rtm",
                        base_url="")
        if close and now >= last + close:
            minutes = close / 60_000
            try:
                await self.core._deactivate(caller, chat, thread_id, lambda at: _closing_message(at, minutes), None)
            except ApiError:
                pass  # closed by someone else meanwhile
            await self.r.zrem(keys.INACTIVITY_DUE, chat_id)
            return
        idle = chat.get("idle") == "1"
        if inactive and agents and not idle and now >= last + inactive:
            idle = await self._go_idle(caller, chat, thread_id, agents, last)
        awaiting = int(chat.get("awaiting_ms") or -1)  # -1: the customer has not written yet; 0: answered
        if transfer and agents and awaiting > 0 and now >= max(awaiting, int(chat.get("joined_ms") or 0)) + transfer:
            await self._transfer(caller, chat, thread_id, agents)
            chat = await self.store.chat(chat_id) or chat
            agents = self.core._agents_of(chat)
        # the next look: no later than any deadline these fields allow (a message only moves them later)
        soonest = [last + close] if close else []
        if inactive and agents and not idle:
            soonest.append(last + inactive)
        if transfer and agents and awaiting != 0:
            soonest.append(max(awaiting, int(chat.get("joined_ms") or 0)) + transfer if awaiting > 0
                           else now + transfer)
        if soonest:
            await self.r.zadd(keys.INACTIVITY_DUE, {chat_id: max(min(soonest), now + 1)})
        else:  # (a queued chat with the close timer off: routing's join watches it again)
            await self.r.zrem(keys.INACTIVITY_DUE, chat_id)

    async def _go_idle(self, caller: Caller, chat: dict[str, str], thread_id: str, agents: list[str],
                       last: int) -> bool:
        """The chat leaves its agents' loads, then is marked idle if no message came meanwhile (else it is counted
        back). Noted in flight: a worker that dies between the two leaves the repair pass to count it back."""
        org, chat_id = caller.org, chat["id"]
        operation = f"idle {chat_id}"
        await self.router.begin(org, operation)
        for agent in agents:
            await self.router.idle(org, agent, chat_id)
        marked = bool(await self._mark_idle(keys=[keys.chat(chat_id)], args=[thread_id, last]))
        if not marked:  # a message came (or the thread ended) since the look: it stays counted
            for agent in agents:
                await self.router.wake(org, agent, chat_id)
        await self.router.done(org, operation)
        if marked:
            await self.core._set_routing_idle(caller, chat_id, True)
        return marked

    async def _transfer(self, caller: Caller, chat: dict[str, str], thread_id: str, previous: list[str]) -> None:
        """The chat's agents did not answer in time: unless something changed since the look (an answer, a typing
        agent, another transfer), they leave it and it goes to an accepting agent of its group it has not been with
        in this thread, or to the queue. Noted in flight as a transfer (``route``) and each agent's ``leave``, which
        the repair pass finishes."""
        org, chat_id = caller.org, chat["id"]
        tried = sorted({*json.loads(chat.get("tried_agents") or "[]"), *previous})
        group = _access_decoder.decode(chat.get("access") or b'{"group_ids":[0]}').group_ids[0]
        operations = [f"route {chat_id} {thread_id}", *(f"leave {chat_id} {agent}" for agent in previous)]
        for operation in operations:
            await self.router.begin(org, operation)
        taken = await self._claim_transfer(keys=[keys.chat(chat_id)], args=[
            thread_id, chat.get("agent_ids") or "", chat.get("awaiting_ms") or "", json.dumps(tried)])
        if not taken:
            for operation in operations:
                await self.router.done(org, operation)
            return
        for agent in previous:
            await self.router.release(org, agent, chat_id)
            await self.router.done(org, f"leave {chat_id} {agent}")
            await self.core._push(caller, self.core._recipients(chat), "user_removed_from_chat",
                                  a.UserRemovedFromChat(chat_id=chat_id, user_id=agent, reason="chat_transferred",
                                                        thread_id=thread_id))
        await self.core._push(caller, list(dict.fromkeys([chat["customer_id"], *previous])), "chat_transferred",
                              a.ChatTransferred(chat_id=chat_id, thread_id=thread_id, reason="inactive",
                                                transferred_to=a.TransferredTo(group_ids=[group], agent_ids=[])))
        # queued when nobody else can take it: the queue drains at routing's next change (not at once, which
        # would hand it straight back to the agent who just let it wait)
        await self.core._route(caller, chat_id, thread_id, group, exclude=tried, reason="chat_transferred")
        await self.router.done(org, operations[0])
