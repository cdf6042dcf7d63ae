"""What the customer and agent cores share: reading chats and threads as users see them, stamping and storing
events, properties, read markers, pushes to a chat's users, and page cursors."""

from __future__ import annotations

import logging
import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import msgspec

from .. import keys
from ..observe import metrics
from ..protocol import customer as c
from ..protocol import pushes as p
from ..protocol.chats import Chat, ChatSummary, LastEvent, Queue, Thread
from ..protocol.agent import QueuePositionItem, UserAddedToChat
from ..protocol.common import Access, now_rfc3339, rfc3339_to_ms
from ..protocol.errors import ApiError
from ..protocol.events import DeletedEvent, Event, File, FilledForm, SystemMessage
from ..protocol.frames import RequestId
from ..protocol.users import ChatUser, Customer
from ..settings import Settings
from ..valkey import log_failure
from .archives import ArchiveFacts, ArchiveIndex
from .reports import ThreadFacts
from .availability import Availability
from .bus import Bus
from .forms import postchat_rating
from .ids import short_id, split_event_id
from .timeouts import ROUTING_NAMESPACE, inactivity_timeouts
from .limits import check_properties_size, read_event, read_properties, readable
from .properties import check_values
from .routing import AVERAGE_WAIT_PER_POSITION, Router
from ..auth.rules import may_attach_file
from ..auth.signing import Cursor, Signer
from .store import Store, StoreError
from .tickets import Tickets, Transcripts
from .webhooks import Webhooks
from ..tracking import Tracker

log = logging.getLogger("widget_server.chats")
_encode = msgspec.json.encode
_event_decoder = msgspec.json.Decoder(Event)
_last_event_decoder = msgspec.json.Decoder(LastEvent)
_access_decoder = msgspec.json.Decoder(Access)
log = logging.getLogger("widget_server.chats")
_list_decoder = msgspec.json.Decoder(list[str])
_fields_decoder = msgspec.json.Decoder(list[dict[str, str]])
_chat_props_decoder = msgspec.json.Decoder(dict[str, dict[str, Any]])
_EMPTY = c.Empty()
CURSOR_TTL = 30 * 24 * 3600
MAX_INDEX_PAGES = 20
"""How many index pages one filtered listing reads at most before it hands back a cursor to continue."""
DEFAULT_ACCESS = b'{"group_ids":[0]}'


def _read_last_event(raw: bytes) -> LastEvent | None:
    """A chat's stored last event of one type as served (``limits.readable``); None when it cannot be read."""
    try:
        return readable(_last_event_decoder.decode(raw))
    except RecursionError:
        return None


def _is_public(event: Event) -> bool:
    """Whether customers see the event (agents' whispers have ``visibility: agents``; deleted events are gone)."""
    return event.recipients != "agents" and event.visibility != "agents" and not event.deleted


def _deleted_placeholder(event: Event) -> Any:
    """A deleted event as agents of the ``normal`` role see it: its ids, type, author and time, no content. Encoded
    ahead (a ``Raw`` in the thread's event list): the placeholder is not one of the ``Event`` union's types."""
    return msgspec.Raw(_encode(DeletedEvent(
        id=event.id, custom_id=event.custom_id, type=event.__struct_config__.tag, deleted=True, author_id=event.author_id,
        created_at=event.created_at, visibility=event.visibility or "all")))


def customer_view(cid: str, rec: dict[str, str]) -> Customer:
    """The customer as the Customer object of the API (get_customer, customer_updated)."""
    address = msgspec.json.decode(rec["address"], type=c.Address) if rec.get("address") else None
    return Customer(
        id=cid,
        type="customer",
        name=rec.get("name"),
        email=rec.get("email"),
        avatar=rec.get("avatar"),
        phone_number=rec.get("phone_number"),
        # the address a verification link confirmed (``request_email_verification``): a changed email is unverified
        email_verified=True if rec.get("email") and rec.get("email_verified") == rec.get("email") else None,
        session_fields=_fields_decoder.decode(rec.get("session_fields") or "[]"),
        address=address,
        created_at=rec.get("created_at"),
    )


_EVENT_MIDDLE = b'","event":'
"""Between the thread id and the event in an ``incoming_event`` payload (``send_event`` splices it together)."""


def _send_error(exc: StoreError) -> Exception:
    """The API error of a refused ``Store.send_event``."""
    if exc.code == "not_found":
        return ApiError("not_found", "Chat not found")
    if exc.code == "authorization":
        return ApiError("authorization", "Requester is not a user of this chat")
    if exc.code == "chat_inactive":
        return ApiError("chat_inactive", "Chat is not active")
    if exc.code == "limit_reached":
        return _events_limit()
    return exc


class _Unchanged(Exception):
    """A read-modify-write found nothing to change: nothing is written or pushed."""


def _events_limit() -> ApiError:
    return ApiError("limit_reached", "The chat has reached its limit of stored events")


class AnyCaller(Protocol):
    """What the shared code needs of a customer's or an agent's caller."""

    org: str
    conn_id: str | None
    request_id: RequestId

    @property
    def user_id(self) -> str: ...


class ChatBase(ABC):
    """Shared by LocalCore (customers) and AgentCore (agents); subclasses say who may touch a chat."""

    FOR_CUSTOMER = True
    """Whether threads are shown as a customer sees them (without agent-only events)."""
    tickets: Tickets | None = None
    transcripts: Transcripts | None = None
    """Transcripts by e-mail (``core/tickets.py``), set by ``Services``: sent on close to those who asked."""
    """Tickets (``core/tickets.py``), set by ``Services``: queued threads are watched for missing their timeout."""

    def __init__(self, store: Store, bus: Bus, signer: Signer, settings: Settings, router: Router,
                 webhooks: Webhooks, tracker: Tracker, availability: Availability | None = None) -> None:
        self.tracker = tracker
        """Visits and page views of customers (``tracking/``)."""
        self.store = store
        self.bus = bus
        self.signer = signer
        self.settings = settings
        self.router = router
        self.webhooks = webhooks
        self.archives = ArchiveIndex(store.r)
        self.availability = availability or Availability(store, router, bus)
        """Groups' online status (business hours and agents) and its ``groups_status_updated`` pushes."""

    @abstractmethod
    async def _chat_for(self, caller: Any, chat_id: str) -> dict[str, str]:
        """The chat's record if the caller may use it; raises ``not_found`` or ``authorization``."""

    @classmethod
    def _recipients(cls, chat: dict[str, str]) -> list[str]:
        """Everyone in the chat: its customer first, then its agents, then the agents who follow it (``follow_chat``)
        and are not in it."""
        agents = cls._agents_of(chat)
        followers = [f for f in _list_decoder.decode(chat["followers"]) if f not in agents] \
            if chat.get("followers") else []
        return [chat["customer_id"], *agents, *followers]

    async def _push(self, caller: AnyCaller, users: list[str], action: str, payload: Any,
                    chat: dict[str, str] | None = None, webhook: bool = True) -> None:
        """Push to every connection of ``users`` (the caller's own connection gets its request_id), and to the
        license's webhooks for ``action`` unless told otherwise (a push sent to several audiences is one event)."""
        await self.bus.publish(users, action, payload, caller.conn_id, caller.request_id)
        if webhook:
            await self.webhooks.emit(caller.org, action, payload, chat)

    @staticmethod
    def _customer_user(rec: dict[str, str], chat: dict[str, str]) -> ChatUser:
        cid = chat["customer_id"]
        return ChatUser(
            id=cid,
            type="customer",
            name=rec.get("name"),
            email=rec.get("email"),
            avatar=rec.get("avatar"),
            present=True,
            events_seen_up_to=chat.get(f"seen:{cid}") or None,
            created_at=rec.get("created_at"),
        )

    @staticmethod
    def _agent_user(agent: dict[str, Any], present: bool = True) -> ChatUser:
        return ChatUser(id=agent["id"], type="agent", name=agent.get("name"), email=agent["id"],
                        avatar=agent.get("avatar"), job_title=agent.get("job_title"), present=present,
                        visibility="all")

    async def _chat_users(self, chat: dict[str, str], customer: dict[str, str] | None = None) -> list[ChatUser]:
        """The chat's users: its customer and the agents in it. Pass the customer's record when at hand."""
        if customer is None:
            customer = await self.store.customer(chat["customer_id"]) or {}
        agent_ids = self._agents_of(chat)
        agents = await self.store.agents(chat["org"], agent_ids) if agent_ids else {}
        return self._users_of(chat, customer, agents)

    def _users_of(self, chat: dict[str, str], customer: dict[str, str], agents: dict[str, dict[str, Any]]) -> list[ChatUser]:
        return [self._customer_user(customer, chat),
                *(self._agent_user(agents[a]) for a in self._agents_of(chat) if a in agents)]

    async def _summaries(self, chats: list[tuple[dict[str, str], dict[str, bytes]]],
                         customer: dict[str, str] | None = None, originals: bool = True) -> list[ChatSummary]:
        """Chat summaries; ``originals`` False shows an agent a deleted last event as its placeholder."""
        chats = [(chat, last) for chat, last in chats if chat]
        # every customer and agent of the page in two round trips, not two per chat
        customer_ids = sorted({chat["customer_id"] for chat, _ in chats}) if customer is None else []
        customers = dict(zip(customer_ids, await self.store.customers(customer_ids)))
        agent_ids = sorted({a for chat, _ in chats for a in self._agents_of(chat)})
        agents = await self.store.agents(chats[0][0]["org"], agent_ids) if agent_ids else {}
        out = []
        for chat, last in chats:
            lept = {}
            for etype, raw in last.items():
                le = _read_last_event(raw)
                if le is None:
                    continue
                if not self.FOR_CUSTOMER and not originals and le.event.deleted:
                    le = msgspec.structs.replace(le, event=_deleted_placeholder(le.event))
                if not self.FOR_CUSTOMER or _is_public(le.event):
                    lept[etype] = le
            out.append(ChatSummary(
                id=chat["id"],
                last_thread_id=chat.get("last_thread_id") or None,
                last_thread_created_at=chat.get("last_thread_created_at") or None,
                last_event_per_type=lept,
                users=self._users_of(chat, customer if customer is not None else customers.get(chat["customer_id"], {}),
                                     agents),
                access=_access_decoder.decode(chat.get("access") or DEFAULT_ACCESS),
                properties=read_properties(chat.get("properties")),
                active=bool(chat.get("active_thread")),
            ))
        return out

    async def _chats_page(
        self, key: str, subject: str, page_id: str | None, sort_order: str | None, limit: int | None,
        default_limit: int, keep: Callable[[dict[str, str], str], bool] | None = None, state: str = "",
    ) -> tuple[list[tuple[dict[str, str], dict[str, bytes]]], int, str | None, str]:
        """A page of a chat index (a customer's or a license's), newest thread first by default: the chats with their
        last events, the index size, the next page's cursor, and ``state`` (e.g. encoded filters), which the cursor
        carries so a later page applies the same ``keep(chat, state)`` (LiveChat sends only ``page_id`` then).
        Filtered pages are filled from further index pages, so a page is short only at the end."""
        if page_id is not None:
            if limit is not None or sort_order is not None:
                raise ApiError("validation", "page_id cannot be combined with limit, sort_order or filters")
            cur = self._cursor(page_id, "chats", subject)
            desc, size, after = cur.desc, cur.limit, (int(cur.pos[0]), str(cur.pos[1]))
            state = str(cur.pos[2]) if len(cur.pos) > 2 else ""
        else:
            desc, size, after = (sort_order or "desc") == "desc", limit or default_limit, None
        kept: list[tuple[dict[str, str], dict[str, bytes]]] = []
        total, more = 0, True
        for _ in range(MAX_INDEX_PAGES):
            rows, total = await self.store.chats_page(key, desc, after, size)
            page = rows[:size]
            more = len(rows) > size
            fetched = await self.store.chats_with_last_events([chat_id for chat_id, _ in page])
            for i, ((chat_id, score), (chat, last)) in enumerate(zip(page, fetched)):
                after = (score, chat_id)
                if chat and (keep is None or keep(chat, state)):
                    kept.append((chat, last))
                    if len(kept) == size:
                        more = more or i < len(page) - 1
                        break
            if len(kept) == size or not more:
                break
        next_page = self._make_cursor("chats", subject, desc, size, [after[0], after[1], state]) \
            if more and after is not None else None
        return kept, total, next_page, state

    # --- routing -------------------------------------------------------------------------------------------------

    @staticmethod
    def _agents_of(chat: dict[str, str]) -> list[str]:
        return _list_decoder.decode(chat["agent_ids"]) if chat.get("agent_ids") else []

    async def _watch(self, org: str, chat_id: str) -> None:
        """Make sure the inactivity timer (``core/inactivity.py``) looks at the chat no later than the shortest of
        the license's timeouts from now (a thread was routed, queued or joined)."""
        soonest = min((t for t in inactivity_timeouts(self.settings, await self.store.license_config(org)) if t > 0),
                      default=0)
        if soonest:
            await self.store.watch_inactivity(chat_id, int(time.time() * 1000) + soonest)

    async def _group_agents(self, org: str, group_id: int) -> list[str]:
        agents = await self.store.agents(org)
        return [a for a, rec in agents.items() if any(g.get("id") == group_id for g in rec.get("groups", []))]

    async def _join(self, caller: AnyCaller, chat_id: str, thread_id: str, agent_id: str, reason: str,
                    requester_id: str | None) -> dict[str, str]:
        """Put an agent in the chat and its thread; tell everyone in it. Returns the updated chat. The caller has
        counted the chat for the agent first (``Router.assign``, ``drain_one`` or ``take``: their load, their chat set
        and this join noted in flight, in one script); the join ends that note."""
        def add(ids: list[str]) -> list[str]:
            return ids if agent_id in ids else [*ids, agent_id]

        await self.store.update_json_field(keys.chat(chat_id), "agent_ids", add, default=[])
        await self.store.update_json_field(keys.thread(chat_id, thread_id), "user_ids", add, default=[])
        chat = await self.store.chat(chat_id) or {}
        agents = await self.store.agents(chat["org"], [agent_id])
        user = self._agent_user(agents.get(agent_id, {"id": agent_id}))
        await self._push(caller, self._recipients(chat), "user_added_to_chat", UserAddedToChat(
            chat_id=chat_id, thread_id=thread_id, user=user, reason=reason, requester_id=requester_id), chat)
        await self._incoming_chat_to(caller, chat, thread_id, [agent_id], webhook=False)
        # routing or take() noted this join as in flight; it is complete now
        await self.router.done(chat["org"], f"join {chat_id} {thread_id} {agent_id}")
        # the transfer timer counts from when this agent got the chat (core/inactivity.py)
        await self.store.set_chat_fields(chat_id, {"joined_ms": str(int(time.time() * 1000))})
        await self._watch(chat["org"], chat_id)
        return chat

    async def _incoming_chat_to(self, caller: AnyCaller, chat: dict[str, str], thread_id: str,
                                users: list[str], webhook: bool) -> None:
        [(thread, raw)] = await self.store.threads(chat["id"], [thread_id])
        payload = p.IncomingChat(
            requester_id=caller.user_id,
            chat=Chat(
                id=chat["id"],
                thread=self._build_thread(thread, raw, for_customer=False),
                users=await self._chat_users(chat),
                access=_access_decoder.decode(chat.get("access") or DEFAULT_ACCESS),
                properties=read_properties(chat.get("properties")),
            ),
        )
        await self._push(caller, users, "incoming_chat", payload, chat, webhook)

    async def _route(self, caller: AnyCaller, chat_id: str, thread_id: str, group_id: int,
                     humans_only: bool = False, exclude: list[str] | None = None,
                     reason: str = "other") -> str | None:
        """Give a new active thread to an agent of its group (not one of ``exclude``), or queue it. Returns the
        agent, if any."""
        org = caller.org
        agent = await self.router.assign(org, group_id, chat_id, thread_id, humans_only, exclude)
        if agent is not None:
            await self._join(caller, chat_id, thread_id, agent, reason, None)
            return agent
        await self._watch(org, chat_id)  # a queued chat closes when silent too
        await self.router.enqueue(org, group_id, chat_id, thread_id, humans_only)
        await self.store.set_thread_fields(chat_id, thread_id, {"queued_at": now_rfc3339(), "queue_group": str(group_id)})
        if self.tickets is not None:
            await self.tickets.watch_queue(org, chat_id, thread_id)
        await self._push_queue_positions(caller, org, group_id)
        chat = await self.store.chat(chat_id) or {}
        await self._incoming_chat_to(caller, chat, thread_id, await self._group_agents(org, group_id), webhook=False)
        return None

    async def _push_queue_positions(self, caller: AnyCaller, org: str, group_id: int) -> None:
        """Tell every queued customer of the group their position; tell the group's agents the whole queue."""
        entries = await self.router.queue(org, group_id)
        now = now_rfc3339()
        items = []
        for pos, (chat_id, thread_id) in enumerate(entries, start=1):
            queue = Queue(position=pos, wait_time=pos * AVERAGE_WAIT_PER_POSITION, queued_at=now)
            items.append(QueuePositionItem(chat_id, thread_id, queue))
            chat = await self.store.chat(chat_id)
            if chat:
                await self.bus.publish([chat["customer_id"]], "queue_position_updated",
                                       p.QueuePositionUpdated(chat_id, thread_id, queue))
        # agents get the whole queue, also when it just became empty, so every console drops what left it
        await self.bus.publish(await self._group_agents(org, group_id), "queue_positions_updated", items)

    async def _release(self, caller: AnyCaller, chat: dict[str, str], thread_id: str) -> None:
        """A thread ended or moved: its agents get their capacity back, it leaves any queue, queues drain."""
        org = chat["org"]
        for agent in self._agents_of(chat):
            await self.router.release(org, agent, chat["id"])
        await self.store.set_chat_fields(chat["id"], {"agent_ids": "[]"})
        thread = await self.store.thread(chat["id"], thread_id) or {}
        groups = {g for g in _access_decoder.decode(chat.get("access") or DEFAULT_ACCESS).group_ids}
        if thread.get("queue_group"):
            await self.router.unqueue(org, int(thread["queue_group"]), chat["id"], thread_id)
            await self.store.set_thread_fields(chat["id"], thread_id, {"queued_at": "", "queue_group": ""})
            groups.add(int(thread["queue_group"]))
        for gid in groups:
            await self._drain(caller, org, gid)

    async def _drain(self, caller: AnyCaller, org: str, group_id: int) -> None:
        """Hand queued threads of the group to agents with free capacity, oldest first."""
        moved = False
        while (got := await self.router.drain_one(org, group_id)) is not None:
            chat_id, thread_id, agent = got
            await self.store.set_thread_fields(chat_id, thread_id, {"queued_at": "", "queue_group": ""})
            await self._join(caller, chat_id, thread_id, agent, "other", None)
            moved = True
        if moved:
            await self._push_queue_positions(caller, org, group_id)

    async def _archive(self, org: str, chat_id: str, thread_id: str, closed_ms: int,
                       chat: dict[str, str] | None = None) -> None:
        """The ended thread in the license's archives, indexed by its customer, agents, groups and words
        (``core/archives.py``)."""
        chat = chat if chat is not None else await self.store.chat(chat_id) or {}
        [(thash, raw)] = await self.store.threads(chat_id, [thread_id])
        if not thash or not chat:
            return
        thread = self._build_thread(thash, raw, for_customer=False)
        if "arch_email" not in thash or "arch_types" not in thash:
            # the customer's address and the kinds of agent in the thread as it ended are what it is found by, and
            # what retention later removes from the index (the customer or an agent may change meanwhile)
            customer = await self.store.customer(chat.get("customer_id", "")) or {}
            agent_ids = sorted(self._archive_facts(chat, thread).agent_ids)
            agents = await self.store.agents(org, agent_ids) if agent_ids else {}
            types = sorted({"chatbot" if rec.get("type") == "bot" else "human" for rec in agents.values()})
            thash["arch_email"] = (customer.get("email") or "").strip().lower()[:254]
            thash["arch_types"] = msgspec.json.encode(types).decode()
            await self.store.set_thread_fields(chat_id, thread_id, {"arch_email": thash["arch_email"],
                                                                    "arch_types": thash["arch_types"]})
        facts = self._archive_facts(chat, thread, thash)
        await self.archives.add(org, chat_id, thread_id, closed_ms, facts,
                                self.store.reports.archive_args(self._report_facts(chat, thash, thread, closed_ms)))

    @staticmethod
    def _report_facts(chat: dict[str, str], thash: dict[str, str], thread: Thread, closed_ms: int) -> ThreadFacts:
        """What an ended thread adds to the reports (``core/reports.py``), from the thread's own fields: its agents
        are the users of the thread besides the customer (everyone who was in it, also those transferred away)."""
        groups = thread.access.group_ids or _access_decoder.decode(chat.get("access") or DEFAULT_ACCESS).group_ids
        asked, answered = thash.get("asked_ms"), thash.get("answered_ms")
        return ThreadFacts(start_ms=rfc3339_to_ms(thread.created_at), closed_ms=closed_ms,
                           group=groups[0] if groups else 0,
                           agents=[u for u in thread.user_ids if u != chat.get("customer_id")],
                           asked_ms=int(asked) if asked else None, answered_ms=int(answered) if answered else None)

    async def _report_rating(self, org: str, chat: dict[str, str], thread_id: str) -> None:
        """Count the thread's rating as it stands now (set, changed or deleted) in the reports. A failure is logged:
        the rating itself is stored and pushed already."""
        try:
            thash = await self.store.thread(chat["id"], thread_id)  # (its fields, not its events)
            if not thash:
                return
            thread = self._build_thread(thash, {}, for_customer=False)
            facts = self._report_facts(chat, thash, thread, 0)
            await self.store.reports.rate(org, thread_id, facts.start_ms, facts.group, facts.agents,
                                          thread.properties.get("rating"))
        except Exception as exc:  # noqa: BLE001 (log_failure logs it)
            log_failure(log, exc, "counting a rating in the reports failed")

    def _archive_facts(self, chat: dict[str, str], thread: Thread,
                       thash: dict[str, str] | None = None) -> ArchiveFacts:
        """What an ended thread is found by (and, when retention deletes it, which index sets it leaves); ``thash``,
        the thread's record, adds its tags and the customer's address kept when it was archived."""
        customer = chat.get("customer_id", "")
        groups = _access_decoder.decode(chat.get("access") or DEFAULT_ACCESS).group_ids
        facts = ArchiveFacts(customer, agent_ids={u for u in thread.user_ids if u != customer} | set(self._agents_of(chat)),
                             group_ids={*groups, *thread.access.group_ids}, chat_id=chat.get("id", ""))
        if thash:
            facts.tags = set(_list_decoder.decode(thash.get("tags") or "[]"))
            facts.email = thash.get("arch_email") or ""
            facts.agent_types = set(_list_decoder.decode(thash.get("arch_types") or "[]"))
        for event in thread.events:
            facts.event_types.add(event.__struct_config__.tag)  # type: ignore[arg-type]
            text = getattr(event, "text", None)
            if isinstance(text, str):
                facts.add_text(text)
        return facts

    def _build_thread(self, thread: dict[str, str], raw_events: dict[bytes, bytes], for_customer: bool | None = None,
                      originals: bool = True) -> Thread:
        """The thread as a customer (``for_customer``) or an agent sees it; ``originals`` False shows an agent a
        placeholder for each deleted event (``_sees_deleted``)."""
        events = [read_event(v) for _, v in sorted(raw_events.items(), key=lambda kv: int(kv[0]))]
        customer_side = self.FOR_CUSTOMER if for_customer is None else for_customer
        if customer_side:
            events = [e for e in events if _is_public(e)]
        elif not originals:
            events = [_deleted_placeholder(e) if e.deleted else e for e in events]
        summary = None
        if not customer_side and thread.get("summary"):
            summary = msgspec.json.decode(thread["summary"])
        return Thread(
            id=thread["id"],
            created_at=thread["created_at"],
            active=thread.get("active") == "1",
            user_ids=_list_decoder.decode(thread.get("user_ids") or "[]"),
            events=events,
            properties=read_properties(thread.get("properties")),
            access=_access_decoder.decode(thread.get("access") or '{"group_ids":[0]}'),
            previous_thread_id=thread.get("previous_thread_id") or None,
            next_thread_id=thread.get("next_thread_id") or None,
            summary=summary,
            tags=None if customer_side or not thread.get("tags") else _list_decoder.decode(thread["tags"]) or None,
        )

    async def _prepare_events(self, caller: AnyCaller, events: list[Any], now: str) -> list[tuple[str, bytes, bool]]:
        """Stamp client events with server fields and encode them (without ``id``, which the store assigns)."""
        out = []
        for ev in events:
            if getattr(ev, "properties", None):  # an event's own properties, as update_event_properties checks them
                await self._check_registered(caller, "event", ev.properties)
            if self.FOR_CUSTOMER:
                ev = msgspec.structs.replace(ev, id=None, created_at=now, author_id=caller.user_id,
                                             visibility=None, recipients=ev.recipients or "all", deleted=None)
            else:
                ev = msgspec.structs.replace(ev, id=None, created_at=now, author_id=caller.user_id,
                                             visibility=ev.visibility or "all", recipients=None, deleted=None)
            if isinstance(ev, File):
                ev = await self._resolve_file(caller, ev)
            out.append((ev.__struct_config__.tag, _encode(ev), _is_public(ev)))
        return out

    async def _resolve_file(self, caller: AnyCaller, ev: File) -> File:
        """A file event must name a file uploaded to this license, by this customer when a customer sends it. What
        the event says about the file (url, name, type, size, dimensions) comes from the upload record, so no event
        shows another host's URL under a real upload's name; thumbnails are not made here, so a client's are
        dropped (the widget would load them as the image)."""
        given = urlsplit(ev.url)
        parts = given.path.split("/")
        # /files/<org>/<file_id>/<name>
        not_an_upload = ApiError("validation", "event.url: not a file uploaded with upload_file")
        if len(parts) < 4 or parts[1] != "files" or parts[2] != caller.org or not parts[3]:
            raise not_an_upload
        file_id = parts[3]
        meta = await self.store.file_meta(caller.org, file_id)
        if meta is None:
            raise ApiError("validation", "event.url: the uploaded file has expired or does not exist")
        if not may_attach_file(self.FOR_CUSTOMER, caller.user_id, meta.get("customer_id", "")):
            raise not_an_upload  # the same answer as for an unknown file: it tells nothing about other uploads
        # uploads made before the record kept its url: the url upload_file answered had this form
        url = meta.get("url") or f"{caller.base_url}/files/{caller.org}/{file_id}/{quote(meta['name'])}"
        stored = urlsplit(url)
        if given.netloc and (given.scheme, given.netloc) != (stored.scheme, stored.netloc):
            raise not_an_upload  # our path on another host: refused rather than quietly rewritten
        await self.store.keep_file(caller.org, file_id)
        width = int(meta["width"]) if meta.get("width") else None
        height = int(meta["height"]) if meta.get("height") else None
        return msgspec.structs.replace(
            ev, url=url, name=meta["name"], content_type=meta["content_type"], size=int(meta["size"]), width=width,
            height=height, thumbnail_url=None, thumbnail2x_url=None)

    def _event_structs(self, items: list[tuple[str, bytes, bool]], thread_id: str, first_seq: int) -> list[Event]:
        out = []
        for i, (_, body, _) in enumerate(items):
            ev = _event_decoder.decode(body)
            out.append(msgspec.structs.replace(ev, id=f"{thread_id}_{first_seq + i}"))
        return out


    async def _group_ids(self, caller: AnyCaller, access: Access | None) -> list[int]:
        group_ids = access.group_ids if access and access.group_ids else [caller.group_id]
        config = await self.store.license_config(caller.org)
        known = {g.id for g in config.groups}
        for gid in group_ids:
            if gid not in known:
                raise ApiError("group_not_found", f"Group {gid} not found", {"group_id": gid})
        return group_ids


    def _make_cursor(self, kind: str, subject: str, desc: bool, limit: int, pos: list) -> str:
        return self.signer.sign("cursor", Cursor(kind, subject, desc, limit, pos, int(time.time()) + CURSOR_TTL))

    def _cursor(self, page_id: str, kind: str, subject: str) -> Cursor:
        cur = self.signer.unsign("cursor", page_id, Cursor)
        if cur is None or cur.kind != kind or cur.subject != subject:
            raise ApiError("validation", "page_id is invalid")
        if cur.exp < time.time():
            raise ApiError("validation", "page_id has expired")
        return cur


    def _sees_deleted(self, caller: Any) -> bool:
        """Whether the caller gets deleted events as they were (with ``deleted: true``) rather than a placeholder.
        Customers never get them at all (``_is_public``); the agent core answers by role."""
        return True

    async def get_chat(self, caller: AnyCaller, req: c.GetChatRequest) -> Chat:
        chat = await self._chat_for(caller, req.chat_id)
        thread_id = req.thread_id or chat.get("last_thread_id")
        thread = None
        if thread_id:
            [(thash, raw)] = await self.store.threads(req.chat_id, [thread_id])
            if not thash:
                raise ApiError("not_found", "Thread not found")
            thread = self._build_thread(thash, raw, originals=self._sees_deleted(caller))
            if thash.get("queue_group") and thread.active:
                position = await self.router.position(chat["org"], int(thash["queue_group"]), req.chat_id, thread_id)
                if position:
                    thread.queue = Queue(position=position, wait_time=position * AVERAGE_WAIT_PER_POSITION,
                                         queued_at=thash.get("queued_at") or None)
        return Chat(
            id=req.chat_id,
            thread=thread,
            users=await self._chat_users(chat),
            access=_access_decoder.decode(chat.get("access") or DEFAULT_ACCESS),
            properties=read_properties(chat.get("properties")),
        )

    async def list_threads(self, caller: AnyCaller, req: c.ListThreadsRequest) -> c.ListThreadsResponse:
        await self._chat_for(caller, req.chat_id)
        if req.limit is not None and req.min_events_count is not None:
            raise ApiError("validation", "`limit` and `min_events_count` are mutually exclusive")
        ids = await self.store.thread_ids(req.chat_id)
        min_events = req.min_events_count
        if req.page_id is not None:
            if req.limit is not None or req.sort_order is not None or min_events is not None:
                raise ApiError("validation", "page_id cannot be combined with limit, sort_order or min_events_count")
            cur = self._cursor(req.page_id, "threads", req.chat_id)
            desc, limit, start = cur.desc, cur.limit, int(cur.pos[0])
            min_events = int(cur.pos[1]) or None if len(cur.pos) > 1 else None
        else:
            desc, limit = (req.sort_order or "desc") == "desc", req.limit or 3
            start = len(ids) - 1 if desc else 0
        order = list(range(start, -1, -1)) if desc else list(range(start, len(ids)))
        threads: list[Thread] = []
        pos = start
        # fetch in small batches so min_events_count does not read the whole history
        batch = limit if min_events is None else 10
        idx = 0
        while idx < len(order):
            chunk = order[idx: idx + batch]
            fetched = await self.store.threads(req.chat_id, [ids[i] for i in chunk])
            done = False
            for i, (thash, raw) in zip(chunk, fetched):
                threads.append(self._build_thread(thash, raw, originals=self._sees_deleted(caller)))
                pos = i
                if min_events is None:
                    done = len(threads) >= limit
                else:
                    done = sum(len(t.events) for t in threads) >= min_events or len(threads) >= 100
                if done:
                    break
            idx += len(chunk)
            if done:
                break
        next_index = pos - 1 if desc else pos + 1
        next_page = None
        if threads and 0 <= next_index < len(ids):
            next_page = self._make_cursor("threads", req.chat_id, desc, limit, [next_index, min_events or 0])
        return c.ListThreadsResponse(threads=threads, found_threads=len(ids), next_page_id=next_page)


    async def _open_thread(
        self, caller: AnyCaller, customer_id: str, *, mode: str, chat_id: str, active: bool, access: Access, thread_props: dict,
        chat_fields: dict[str, str] | None, events: list[Any],
    ) -> tuple[str, str, list[Event], str]:
        limit = self.settings.properties_max_bytes
        check_properties_size(thread_props, limit)
        await self._check_registered(caller, "thread", thread_props)
        if chat_fields is not None and chat_fields.get("properties", "{}") != "{}":
            await self._check_registered(caller, "chat", _chat_props_decoder.decode(chat_fields["properties"]))
        if chat_fields is not None and len(chat_fields.get("properties", "")) > limit:
            raise ApiError("limit_reached", f"chat.properties: more than the {limit} bytes allowed")
        now = now_rfc3339()
        now_ms = rfc3339_to_ms(now)
        items = await self._prepare_events(caller, events, now)
        thread_id = short_id()
        try:
            await self.store.open_thread(
                mode=mode, chat_id=chat_id, thread_id=thread_id, created_at=now, created_ms=now_ms, active=active,
                access=_encode(access), properties=_encode(thread_props), user_ids=_encode([customer_id]),
                chat_fields=chat_fields,
            )
        except StoreError as exc:
            if exc.code == "chat_active":
                raise ApiError("validation", "Chat is already active") from None
            if exc.code == "chat_not_found":
                raise ApiError("not_found", "Chat not found") from None
            raise
        event_structs: list[Event] = []
        if items:
            try:
                first = await self.store.append_events(chat_id, thread_id, items, now_ms, require_active=False)
            except StoreError as exc:
                if exc.code == "limit_reached":
                    raise _events_limit() from None
                raise
            event_structs = self._event_structs(items, thread_id, first)
            metrics.MESSAGES.labels("agent" if hasattr(caller, "agent_id") else "customer").inc(len(items))
            if self.FOR_CUSTOMER:  # the customer's first message starts the transfer timer (core/inactivity.py)
                await self.store.set_chat_fields(chat_id, {"awaiting_ms": str(now_ms)})
        await self.store.index_chat(caller.org, customer_id, chat_id, now_ms,
                                    started_group=access.group_ids[0] if active and access.group_ids else None)
        if self.FOR_CUSTOMER and active:
            # the customer asks from now: an agent's first message in the thread is its first response
            # (send_event.lua; a thread an agent opens starts counting at the customer's first message)
            await self.store.mark_asked(chat_id, thread_id, now_ms)
        return thread_id, now, event_structs, now

    async def resume_chat(self, caller: AnyCaller, req: Any) -> c.ResumeChatResponse:
        chat = await self._chat_for(caller, req.chat.id)
        if req.chat.access is not None:
            access = Access(group_ids=await self._group_ids(caller, req.chat.access))
        else:
            access = _access_decoder.decode(chat.get("access") or DEFAULT_ACCESS)
        if chat.get("active_thread"):
            raise ApiError("validation", "Chat is already active")
        thread = req.chat.thread or c.InitialThread()
        active = await self._thread_active(caller, access.group_ids[0], req.active)
        thread_id, _, events, _ = await self._open_thread(
            caller, chat["customer_id"], mode="resume", chat_id=req.chat.id, active=active, access=access,
            thread_props=thread.properties or {}, chat_fields=None, events=thread.events,
        )
        updates: dict[str, str] = {"access": _encode(access).decode()}
        if chat.get("followers"):
            updates["followers"] = ""  # following lasts until the chat is reactivated (LiveChat's follow_chat)
        if req.continuous is not None:
            updates["continuous"] = "1" if req.continuous else "0"
        if req.chat.properties:
            await self.store.update_json_field(keys.chat(req.chat.id), "properties", self._merge(req.chat.properties),
                                               default={})
        await self.store.set_chat_fields(req.chat.id, updates)
        await self.store.update_customer(chat["customer_id"], {}, {"threads_count": 1})
        chat = await self.store.chat(req.chat.id) or {}
        await self._incoming_chat_to(caller, chat, thread_id, self._recipients(chat), webhook=True)
        if active:
            await self._after_resume(caller, req.chat.id, thread_id, access)
        elif self.FOR_CUSTOMER:
            await self._offline_ticket(caller, chat, thread_id, access.group_ids[0], events)
        return c.ResumeChatResponse(thread_id=thread_id, event_ids=[e.id for e in events] if events else None)

    async def _offline_ticket(self, caller: AnyCaller, chat: dict[str, str], thread_id: str, group_id: int,
                              events: list[Event]) -> None:
        """A customer's message stored while offline (the offline form, or outside business hours) is a ticket."""
        if self.tickets is not None and events:
            ticket = await self.tickets.open_ticket(
                caller.org, source="offline_message", chat_id=chat["id"], thread_id=thread_id,
                customer_id=chat["customer_id"], group_id=group_id, events=events,
                config=await self.store.license_config(caller.org))
            if ticket is not None and not ticket.email:  # nobody could answer it: ask where to
                await self.tickets.ask_for_email(chat, thread_id)

    async def _thread_active(self, caller: Any, group_id: int, wanted: bool) -> bool:
        """Whether a thread the caller starts or resumes is active (routed). Agents' are as asked; the customer core
        makes a customer's thread an offline message outside the group's business hours."""
        return wanted

    @abstractmethod
    async def _after_resume(self, caller: Any, chat_id: str, thread_id: str, access: Access) -> None:
        """Who takes a resumed active thread: routing for a customer, the agent themself for an agent."""

    @abstractmethod
    def _closing_message(self, caller: Any, now: str) -> SystemMessage:
        """The system message that ends a thread closed by this kind of user."""

    async def deactivate_chat(self, caller: AnyCaller, req: Any) -> c.Empty:
        chat = await self._chat_for(caller, req.id)
        thread_id = chat.get("active_thread")
        if not thread_id:
            raise ApiError("chat_inactive", "Chat is not active")
        await self._deactivate(caller, chat, thread_id, lambda now: self._closing_message(caller, now),
                               caller.user_id)
        return _EMPTY

    async def _deactivate(self, caller: AnyCaller, chat: dict[str, str], thread_id: str,
                          message: Callable[[str], SystemMessage], user_id: str | None) -> None:
        """Close the chat's thread ``thread_id`` with the system message ``message(now)``: pushes, webhooks, archive,
        the agents' capacity back. The one way a thread ends (``deactivate_chat``, the inactivity timer). Raises
        ``chat_inactive`` when that thread is no longer the active one."""
        chat_id = chat["id"]
        now = now_rfc3339()
        items = [("system_message", _encode(message(now)), True)]
        users = self._recipients(chat)
        # closing and releasing the agents are several writes: noted in flight, so a worker that dies between them
        # leaves the release to the repair pass (core/repair.py)
        operation = f"close {chat_id} {thread_id}"
        await self.router.begin(caller.org, operation)
        async with self.bus.in_order(chat_id):
            try:
                seq = await self.store.close_thread(chat_id, thread_id, items, rfc3339_to_ms(now))
            except StoreError as exc:
                await self.router.done(caller.org, operation)
                if exc.code == "chat_inactive":
                    raise ApiError("chat_inactive", "Chat is not active") from None
                raise
            [event] = self._event_structs(items, thread_id, seq)
            closing = p.IncomingEvent(chat_id, thread_id, event)
            await self.bus.publish(users, "incoming_event", closing, caller.conn_id, caller.request_id)
        await self.webhooks.emit(caller.org, "incoming_event", closing, chat)
        await self._push(caller, users, "chat_deactivated",
                         p.ChatDeactivated(chat_id=chat_id, thread_id=thread_id, user_id=user_id), chat)
        await self._archive(caller.org, chat_id, thread_id, rfc3339_to_ms(now), chat)
        await self._release(caller, chat, thread_id)
        await self.router.done(caller.org, operation)
        if self.transcripts is not None:  # the visitor ticked "send me the transcript" on the pre-chat form
            try:
                await self.transcripts.send(caller.org, chat, automatic=True)
            except Exception as exc:  # noqa: BLE001 (the chat is closed either way; the transcript is a courtesy)
                log.warning("transcript of %s not sent: %s", chat_id, exc)

    async def send_event(self, caller: AnyCaller, req: Any) -> c.SendEventResponse:
        """Store the event and push it to the chat's users. One script checks the caller's access and the thread,
        appends and, on one Valkey, publishes to the other workers (one round trip); this worker's connections get the
        push as soon as the script returns. The slow way (``_admit``) only when the script cannot decide alone."""
        chat_id = req.chat_id
        admitted = isinstance(req.event, File)
        if admitted:  # resolving a file touches the upload: only once the caller may write to the chat
            await self._admit(caller, chat_id)
        now = now_rfc3339()
        try:
            [item] = await self._prepare_events(caller, [req.event], now)
        except ApiError:
            if not admitted:
                await self._admit(caller, chat_id)  # no chat or no access is the error to report first
            raise
        customer_id, agent_id = self._send_checks(caller)
        if admitted:
            agent_id = ""
        # a client that lost the answer sends the same custom_id again: the script hands back the stored event
        custom_id = req.event.custom_id
        dedup = f"{caller.user_id} {custom_id}" if custom_id else ""
        # the event and its webhook deliveries are written by different calls: the script keeps the event in the
        # chat's outbox and the operation is noted in flight, so a worker that dies between the two leaves the
        # deliveries to the repair pass (core/repair.py)
        outbox = ""
        if await self.webhooks.wanted(caller.org, "incoming_event"):
            outbox = secrets.token_hex(8)
            await self.router.begin(caller.org, f"hook {chat_id} {outbox}")
        payload_head = b'{"chat_id":' + _encode(chat_id) + b',"thread_id":"'
        publish = None
        if self.bus.scripts_publish:
            head, tail = self.bus.wire_parts("incoming_event", caller.conn_id, caller.request_id)
            publish = (head + payload_head, _EVENT_MIDDLE, b"}" + tail)
        async with self.bus.in_order(chat_id):
            while True:
                try:
                    sent = await self.store.send_event(
                        chat_id, org=caller.org, customer_id=customer_id, agent_id=agent_id,
                        attach=bool(req.attach_to_last_thread), now_ms=rfc3339_to_ms(now), item=item, publish=publish,
                        dedup=dedup, outbox=outbox)
                    break
                except StoreError as exc:
                    if exc.code == "not_member" and agent_id:
                        await self._admit(caller, chat_id)  # access through a group; writing joins the chat
                        agent_id = ""
                        continue
                    if outbox:
                        await self.router.done(caller.org, f"hook {chat_id} {outbox}")
                    raise _send_error(exc) from None
            event_id = f"{sent.thread_id}_{sent.seq}"
            if sent.duplicate:  # stored, pushed and queued for webhooks by the first try
                if outbox:
                    await self.router.done(caller.org, f"hook {chat_id} {outbox}")
                # the rating is set again: the first try may have stored the survey and died before rating the chat
                await self._rate_from_survey(caller, chat_id, sent.thread_id, req.event)
                return c.SendEventResponse(event_id=event_id)
            metrics.MESSAGES.labels("customer" if customer_id else "agent").inc()  # (a customer is checked as one)
            event = b'{"id":"' + event_id.encode() + b'",' + item[1][1:]
            payload = payload_head + sent.thread_id.encode() + _EVENT_MIDDLE + event + b"}"
            users = [*([sent.customer_id] if item[2] else []), *sent.agent_ids, *sent.followers]
            if publish is not None:
                self.bus.deliver_local(users, "incoming_event", msgspec.Raw(payload), caller.conn_id, caller.request_id)
            else:
                await self.bus.publish(users, "incoming_event", payload, caller.conn_id, caller.request_id)
        await self._rate_from_survey(caller, chat_id, sent.thread_id, req.event)
        if sent.first_response_ms >= 0:
            await self._note_first_response(caller.org, sent)
        if sent.woke:  # (rare: the first message after the chat went idle)
            await self._woke(caller, chat_id, sent.agent_ids)
        if outbox:
            await self.webhooks.emit(caller.org, "incoming_event",
                                     p.IncomingEvent(chat_id, sent.thread_id, _event_decoder.decode(event)),
                                     await self.store.chat(chat_id))
            await self.store.clear_outbox(chat_id, outbox)
            await self.router.done(caller.org, f"hook {chat_id} {outbox}")
        return c.SendEventResponse(event_id=event_id)

    async def _rate_from_survey(self, caller: AnyCaller, chat_id: str, thread_id: str, event: Any) -> None:
        """A customer's post-chat survey with a rating question rates the thread it was added to, as
        ``update_thread_properties`` with ``rating`` would (the same properties and push). Setting a rating is
        idempotent, so a client that resends the survey with its ``custom_id`` after a lost answer repairs a rating
        the first try did not get to write."""
        if not self.FOR_CUSTOMER or not isinstance(event, FilledForm):
            return
        rating = postchat_rating(event)
        if rating is None:
            return
        update = {"rating": rating}
        await self.store.update_json_field(keys.thread(chat_id, thread_id), "properties", self._merge(update),
                                           default={})
        chat = await self.store.chat(chat_id)
        if chat:
            await self._report_rating(caller.org, chat, thread_id)
            await self._push(caller, self._recipients(chat), "thread_properties_updated",
                             p.ThreadPropertiesUpdated(chat_id, thread_id, update), chat)

    async def _note_first_response(self, org: str, sent: Any) -> None:
        """An agent's first answer in a thread: its time goes into the group's capped list (the welcome message's
        "typically replies in"). A failure here must not fail the message, which is stored and pushed already."""
        try:
            group = _access_decoder.decode(sent.access).group_ids[0] if sent.access else 0
            await self.router.note_first_response(org, group, sent.first_response_ms // 1000,
                                                  self.settings.first_responses_kept)
        except (msgspec.DecodeError, IndexError):
            log.warning("chat %s: first response of a chat without a readable group not kept", sent.thread_id)
        except Exception as exc:  # noqa: BLE001 (log_failure logs it)
            log_failure(log, exc, "keeping a first-response time failed")

    async def _woke(self, caller: AnyCaller, chat_id: str, agent_ids: list[str]) -> None:
        """A message made an idle chat active (``send_event``'s script cleared its idle mark): it counts in its
        agents' loads again, says so in its ``routing.idle`` property, and goes idle again only after a new silence."""
        for agent in agent_ids:
            await self.router.wake(caller.org, agent, chat_id)
        await self._set_routing_idle(caller, chat_id, False)
        await self._watch(caller.org, chat_id)

    async def _set_routing_idle(self, caller: AnyCaller, chat_id: str, idle: bool) -> None:
        """The chat's ``routing.idle`` property (LiveChat's routing namespace), pushed as any property update."""
        change = {ROUTING_NAMESPACE: {"idle": idle}}
        await self.store.update_json_field(keys.chat(chat_id), "properties", self._merge(change), default={})
        chat = await self.store.chat(chat_id) or {}
        if chat:
            await self._push(caller, self._recipients(chat), "chat_properties_updated",
                             p.ChatPropertiesUpdated(chat_id, change), chat)

    @abstractmethod
    def _send_checks(self, caller: Any) -> tuple[str, str]:
        """Who ``send_event``'s script lets write: (the customer the caller must be, the agent who must be in the
        chat); an empty string for no such check. When the agent is not in it, ``_admit`` decides."""

    async def _admit(self, caller: AnyCaller, chat_id: str) -> None:
        """The checks of ``send_event`` the slow way: raises ``not_found`` or ``authorization``."""
        await self._chat_for(caller, chat_id)


    async def _event(self, caller: AnyCaller, chat_id: str, thread_id: str, event_id: str) -> tuple[dict[str, str], int]:
        chat = await self._chat_for(caller, chat_id)
        parsed = split_event_id(event_id)
        if parsed is None or parsed[0] != thread_id:
            raise ApiError("not_found", "Event not found")
        raw = await self.store.event_raw(chat_id, thread_id, parsed[1])
        if raw is None or (self.FOR_CUSTOMER and not _is_public(read_event(raw))):
            raise ApiError("not_found", "Event not found")
        return chat, parsed[1]

    async def send_rich_message_postback(self, caller: AnyCaller, req: c.SendRichMessagePostbackRequest) -> c.Empty:
        chat, seq = await self._event(caller, req.chat_id, req.thread_id, req.event_id)
        if chat.get("active_thread") != req.thread_id:
            raise ApiError("chat_inactive", "Thread is not active")
        payload = p.IncomingRichMessagePostback(
            user_id=caller.user_id, chat_id=req.chat_id, thread_id=req.thread_id, event_id=req.event_id,
            postback=msgspec.to_builtins(req.postback),
        )
        await self._push(caller, self._recipients(chat), "incoming_rich_message_postback", payload, chat)
        await self._toggle_button(caller, chat, req, seq)
        return _EMPTY

    async def _toggle_button(self, caller: AnyCaller, chat: dict[str, str], req: c.SendRichMessagePostbackRequest,
                             seq: int) -> None:
        """A rich message's button (``postback_id``) keeps who toggled it on in its ``user_ids``, as LiveChat's rich
        messages show it; when that changes, the event as it is now goes out as ``event_updated`` (to whoever sees
        the event, and the license's webhooks). The same toggle again changes nothing and pushes nothing."""
        user = caller.user_id

        def toggle(event: Any) -> Any:
            changed = False
            elements = event.get("elements") if isinstance(event, dict) else None
            for element in elements if isinstance(elements, list) else []:
                buttons = element.get("buttons") if isinstance(element, dict) else None
                for button in buttons if isinstance(buttons, list) else []:
                    if not isinstance(button, dict) or button.get("postback_id") != req.postback.id:
                        continue
                    ids = [u for u in button.get("user_ids") or [] if u != user]
                    if req.postback.toggled:
                        ids.append(user)
                    if ids != (button.get("user_ids") or []):
                        button["user_ids"], changed = ids, True
            if not changed:
                raise _Unchanged
            return event

        try:
            stored = await self.store.update_json_field(keys.thread_events(req.chat_id, req.thread_id), str(seq),
                                                        toggle)
        except (_Unchanged, StoreError):
            return
        event = _event_decoder.decode(_encode(stored))
        users = self._recipients(chat) if _is_public(event) else self._agents_of(chat)
        await self._push(caller, users, "event_updated", p.EventUpdated(req.chat_id, req.thread_id, event), chat)


    async def mark_events_as_seen(self, caller: AnyCaller, req: c.MarkEventsAsSeenRequest) -> c.Empty:
        chat = await self._chat_for(caller, req.chat_id)
        try:
            seen_ms = rfc3339_to_ms(req.seen_up_to)
        except ValueError:
            raise ApiError("validation", "seen_up_to: expected an RFC 3339 date-time") from None
        current = chat.get(f"seen:{caller.user_id}")
        if current and rfc3339_to_ms(current) >= seen_ms:
            return _EMPTY  # never move the read marker backwards
        await self.store.set_chat_fields(req.chat_id, {f"seen:{caller.user_id}": req.seen_up_to})
        await self._push(caller, self._recipients(chat), "events_marked_as_seen",
                         p.EventsMarkedAsSeen(caller.user_id, req.chat_id, req.seen_up_to), chat)
        return _EMPTY


    # --- properties ----------------------------------------------------------------------------------------------

    async def _check_registered(self, caller: AnyCaller, location: str, props: dict) -> None:
        """Values of registered properties (Configuration API ``register_property``) checked against their
        definitions: location, the writer's right, type, domain, range (``core/properties.py``)."""
        if props:
            check_values(await self.store.license_config(caller.org), location,
                         "customer" if self.FOR_CUSTOMER else "agent", props)

    def _merge(self, update: dict) -> Any:
        limit = self.settings.properties_max_bytes

        def mutate(props: dict) -> dict:
            for ns, values in update.items():
                props.setdefault(ns, {}).update(values)
            check_properties_size(props, limit)
            return props
        return mutate

    @staticmethod
    def _drop(names: dict) -> Any:
        def mutate(props: dict) -> dict:
            for ns, ns_names in names.items():
                current = props.get(ns, {})
                for n in ns_names:
                    current.pop(n, None)
                if ns in props and not current:
                    del props[ns]
            return props
        return mutate

    async def update_chat_properties(self, caller: AnyCaller, req: c.UpdateChatPropertiesRequest) -> c.Empty:
        chat = await self._chat_for(caller, req.id)
        await self._check_registered(caller, "chat", req.properties)
        await self.store.update_json_field(keys.chat(req.id), "properties", self._merge(req.properties), default={})
        await self._push(caller, self._recipients(chat), "chat_properties_updated", p.ChatPropertiesUpdated(req.id, req.properties), chat)
        return _EMPTY

    async def delete_chat_properties(self, caller: AnyCaller, req: c.DeleteChatPropertiesRequest) -> c.Empty:
        chat = await self._chat_for(caller, req.id)
        await self.store.update_json_field(keys.chat(req.id), "properties", self._drop(req.properties), default={})
        await self._push(caller, self._recipients(chat), "chat_properties_deleted", p.ChatPropertiesDeleted(req.id, req.properties), chat)
        return _EMPTY

    async def _thread_for(self, caller: AnyCaller, chat_id: str, thread_id: str) -> dict[str, str]:
        chat = await self._chat_for(caller, chat_id)
        if await self.store.thread(chat_id, thread_id) is None:
            raise ApiError("not_found", "Thread not found")
        return chat

    async def update_thread_properties(self, caller: AnyCaller, req: c.UpdateThreadPropertiesRequest) -> c.Empty:
        chat = await self._thread_for(caller, req.chat_id, req.thread_id)
        await self._check_registered(caller, "thread", req.properties)
        await self.store.update_json_field(keys.thread(req.chat_id, req.thread_id), "properties",
                                           self._merge(req.properties), default={})
        if "rating" in req.properties:
            await self._report_rating(caller.org, chat, req.thread_id)
        await self._push(caller, self._recipients(chat), "thread_properties_updated",
                         p.ThreadPropertiesUpdated(req.chat_id, req.thread_id, req.properties), chat)
        return _EMPTY

    async def delete_thread_properties(self, caller: AnyCaller, req: c.DeleteThreadPropertiesRequest) -> c.Empty:
        chat = await self._thread_for(caller, req.chat_id, req.thread_id)
        await self.store.update_json_field(keys.thread(req.chat_id, req.thread_id), "properties",
                                           self._drop(req.properties), default={})
        if "rating" in req.properties:
            await self._report_rating(caller.org, chat, req.thread_id)
        await self._push(caller, self._recipients(chat), "thread_properties_deleted",
                         p.ThreadPropertiesDeleted(req.chat_id, req.thread_id, req.properties), chat)
        return _EMPTY

    async def _mutate_event_properties(self, caller: AnyCaller, chat_id: str, thread_id: str, event_id: str, mutate: Any) -> dict:
        chat, seq = await self._event(caller, chat_id, thread_id, event_id)

        def apply(event: dict) -> dict:
            props = mutate(event.get("properties") or {})
            if props:
                event["properties"] = props
            else:
                event.pop("properties", None)
            return event

        await self.store.update_json_field(keys.thread_events(chat_id, thread_id), str(seq), apply)
        return chat

    async def update_event_properties(self, caller: AnyCaller, req: c.UpdateEventPropertiesRequest) -> c.Empty:
        await self._check_registered(caller, "event", req.properties)
        chat = await self._mutate_event_properties(caller, req.chat_id, req.thread_id, req.event_id, self._merge(req.properties))
        await self._push(caller, self._recipients(chat), "event_properties_updated",
                         p.EventPropertiesUpdated(req.chat_id, req.thread_id, req.event_id, req.properties), chat)
        return _EMPTY

    async def delete_event_properties(self, caller: AnyCaller, req: c.DeleteEventPropertiesRequest) -> c.Empty:
        chat = await self._mutate_event_properties(caller, req.chat_id, req.thread_id, req.event_id, self._drop(req.properties))
        await self._push(caller, self._recipients(chat), "event_properties_deleted",
                         p.EventPropertiesDeleted(req.chat_id, req.thread_id, req.event_id, req.properties), chat)
        return _EMPTY

