"""AgentCore: the Agent Chat API subset on Valkey, over the same chats, store, bus and routing as the customer core."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import msgspec

from .. import keys
from ..protocol import agent as a
from ..protocol import customer as c
from ..protocol import pushes as p
from ..protocol import tickets as tk
from ..protocol.chats import Thread
from ..protocol.common import Access, now_rfc3339, rfc3339_to_ms
from ..protocol.errors import ApiError
from ..protocol.events import SystemMessage
from ..protocol.frames import RequestId
from ..protocol.users import Customer
from ..auth.rules import (ADMIN_ROLES, agent_sees_chat, agent_sees_customer, agent_sees_ticket, archive_scope,
                          chat_agents, chat_groups, may_act_for, may_multicast)
from ..auth.throttle import address_key
from . import files as file_rules
from .archives import ArchiveQuery
from .bans import record_ban
from .chats import DEFAULT_ACCESS, ChatBase, _access_decoder, _list_decoder
from .interface import UploadedFile
from .summaries import summary_text, transcript_text
from ..protocol import console as cs
from .canned import Canned
from .customers import FROM_THE_END, Filters, iso
from .ids import short_id, uuid_id
from .store import StoreError
from .tags import check_usable, read_tags
from .limits import read_properties
from .visitors import DEFAULT_LIMIT, VisitorFeed

_EMPTY = c.Empty()
_filters_decoder = msgspec.json.Decoder(a.ChatFilters)


_UNINDEXED = ("thread_ids", "properties", "sales", "goals", "forms", "greetings", "agent_response",
              "customer_countries")


def _archive_query(org: str, filters: a.ArchiveFilters) -> ArchiveQuery:
    """``list_archives``' filters as clauses over the archive index (``core/archives.py``): every filter narrows
    through index sets, none by reading threads. LiveChat's filters of data this server has no index for are
    refused rather than ignored."""
    for name in _UNINDEXED:
        if getattr(filters, name) is not None:
            raise ApiError("validation", f"filters.{name} is not supported by this server")
    query = ArchiveQuery(org)
    if filters.customer_id:
        query.any_of("c", [filters.customer_id])
    if filters.customer_email:
        query.any_of("m", [filters.customer_email.strip().lower()])
    if filters.chat_ids:
        query.any_of("h", dict.fromkeys(filters.chat_ids))
    if filters.agent_ids:
        query.any_of("a", filters.agent_ids)
    if filters.group_ids:
        query.any_of("g", filters.group_ids)
    for kind, name in (("a", "agents"), ("t", "tags"), ("e", "event_types")):
        spec = getattr(filters, name)
        if spec is not None:
            query.values(kind, spec, name)
    if filters.agent_types is not None:
        query.agent_types(filters.agent_types)
    query.text(filters.query or "")
    return query


def _properties_match(chat: dict[str, str], wanted: dict[str, Any]) -> bool:
    """LiveChat's ``filters.properties``: ``{namespace: {name: {exists | values | exclude_values}}}``, all must hold."""
    props = read_properties(chat.get("properties"))
    for ns, names in wanted.items():
        if not isinstance(names, dict):
            raise ApiError("validation", f"filters.properties.{ns}: expected an object")
        for name, rule in names.items():
            if not isinstance(rule, dict):
                raise ApiError("validation", f"filters.properties.{ns}.{name}: expected an object")
            present = name in props.get(ns, {})
            value = props.get(ns, {}).get(name)
            if "exists" in rule and bool(rule["exists"]) != present:
                return False
            if "values" in rule and (not present or value not in rule["values"]):
                return False
            if "exclude_values" in rule and present and value in rule["exclude_values"]:
                return False
    return True


@dataclass(slots=True)
class AgentCaller:
    """An agent (or bot) making a request, built by the agent transports."""

    org: str
    agent_id: str
    role: str
    version: Literal["3.5", "3.6"]
    transport: Literal["web", "rtm"]
    base_url: str
    conn_id: str | None = None
    request_id: RequestId = None
    group_id: int = 0
    connection: Any = None
    """The RTM socket the request came on (None on the Web API): RTM-only actions push to it."""

    @property
    def user_id(self) -> str:
        return self.agent_id


MAX_FOLLOWERS = 100
"""Agents who may follow one chat at once (each gets every push of it)."""


def _followers(chat: dict[str, str]) -> list[str]:
    return _list_decoder.decode(chat["followers"]) if chat.get("followers") else []


INVITATION_TTL = 600
"""Seconds an agent's chat with a visitor waits for the visitor's widget to notice it (then the visitor is gone)."""


class AgentCore(ChatBase):
    FOR_CUSTOMER = False

    def __init__(self, *parts: Any, visitors: VisitorFeed | None = None) -> None:
        super().__init__(*parts)
        self.visitors = visitors or VisitorFeed(self.bus, self.tracker, self.store)
        """Visitor subscriptions of this worker's agent sockets (``core/visitors.py``)."""
        self.customers = self.visitors.directory
        self.canned = Canned(self.store.r, self.settings.canned_per_owner, self.settings.canned_text_max)
        """Canned responses (``core/canned.py``): this server's extension actions below."""

    # --- access --------------------------------------------------------------------------------------------------

    async def _me(self, caller: AgentCaller) -> dict[str, Any]:
        agents = await self.store.agents(caller.org, [caller.agent_id])
        if caller.agent_id not in agents:
            raise ApiError("authentication", "Agent not found")
        return agents[caller.agent_id]

    async def _chat_for(self, caller: AgentCaller, chat_id: str) -> dict[str, str]:
        chat = await self.store.chat(chat_id)
        if chat is None or chat.get("org") != caller.org:
            raise ApiError("not_found", "Chat not found")
        # (the agent's groups are read only when the cheaper rules do not already let them in)
        if agent_sees_chat(caller.role, caller.agent_id, self._agents_of(chat), set(), set()):
            return chat
        groups = set(_access_decoder.decode(chat.get("access") or DEFAULT_ACCESS).group_ids)
        mine = {g["id"] for g in (await self._me(caller)).get("groups", [])}
        if agent_sees_chat(caller.role, caller.agent_id, (), groups, mine):
            return chat
        raise ApiError("authorization", "No access to this chat")

    def _sees_deleted(self, caller: AgentCaller) -> bool:
        """LiveChat 3.6: administrators, vice owners and owners get a deleted event with ``deleted: true``; agents of
        the ``normal`` role a placeholder in its place."""
        return caller.role in ADMIN_ROLES

    async def _after_resume(self, caller: AgentCaller, chat_id: str, thread_id: str, access: Access) -> None:
        await self.router.take(caller.org, caller.agent_id, chat_id, thread_id)
        await self._join(caller, chat_id, thread_id, caller.agent_id, "manual", caller.agent_id)

    def _closing_message(self, caller: AgentCaller, now: str) -> SystemMessage:
        return SystemMessage(text="Chat closed by the agent", system_message_type="manual_archived_agent",
                             created_at=now, recipients="all", text_vars={"agent": caller.agent_id})

    # --- session -------------------------------------------------------------------------------------------------

    async def login(self, caller: AgentCaller, req: a.AgentLoginRequest) -> a.AgentLoginResponse:
        me = await self._me(caller)
        license_rec = await self.store.license(caller.org) or {}
        created = int(rfc3339_to_ms(license_rec.get("created_at") or now_rfc3339()) / 1000)
        if req.away is not True:
            status = await self.router.status(caller.org, caller.agent_id)
            if status == "offline":
                await self._set_status(caller, caller.agent_id, "accepting_chats")
            elif status == "not_accepting_chats" and await self.router.auto_away(caller.org, caller.agent_id, False):
                # every other socket was away (set_away_status): one that is not brings the agent back
                await self._set_status(caller, caller.agent_id, "accepting_chats")
        listing = await self.list_chats(caller, a.AgentListChatsRequest(filters=a.ChatFilters(active=True), limit=100))
        return a.AgentLoginResponse(
            license=a.LicenseInfo(id=caller.org, organization_id=caller.org, plan="self-hosted",
                                  creation_timestamp=created, expiration_timestamp=0, in_trial=False),
            my_profile=self._profile(me, await self.router.status(caller.org, caller.agent_id)),
            chats_summary=listing.chats_summary,
        )

    @staticmethod
    def _profile(me: dict[str, Any], status: str) -> a.MyProfile:
        return a.MyProfile(id=me["id"], name=me.get("name") or me["id"], email=me["id"], role=me.get("role", "normal"),
                           type=me.get("type", "agent"), avatar=me.get("avatar"), job_title=me.get("job_title"),
                           routing_status=status, max_chats_count=int(me.get("max_chats_count", 6)),  # type: ignore[arg-type]
                           groups=me.get("groups", []))

    async def went_away(self, org: str, agent_id: str) -> None:
        """An agent's last socket closed and the grace period passed without a new one: they go offline and every
        chat they were in goes back to routing (to another agent of the group, or its queue). Nothing is dropped."""
        agent = (await self.store.agents(org, [agent_id])).get(agent_id)
        if agent is None or agent.get("type") == "bot":
            return
        caller = AgentCaller(org=org, agent_id=agent_id, role="administrator", version="3.6", transport="rtm",
                             base_url="")
        await self._set_status(caller, agent_id, "offline")
        for chat_id in await self.router.chats_of(org, agent_id):
            chat = await self.store.chat(chat_id)
            if not chat or not chat.get("active_thread") or agent_id not in self._agents_of(chat):
                continue
            await self.transfer_chat(caller, a.TransferChatRequest(id=chat_id, ignore_agents_availability=True))

    async def logout(self, caller: AgentCaller, req: a.AgentLogoutRequest) -> c.Empty:
        target = req.agent_id or caller.agent_id
        if not may_act_for(caller.role, caller.agent_id, target):
            raise ApiError("authorization", "Only administrators may log other agents out")
        if target not in await self.store.agents(caller.org, [target]):  # (agent ids are unique across licenses)
            raise ApiError("validation", f"agent_id: no agent {target} in this license")
        await self._set_status(caller, target, "offline")
        await self.bus.publish([target], "agent_disconnected", a.AgentDisconnected(reason="agent_logged_out_remotely"))
        return _EMPTY

    # --- routing status ------------------------------------------------------------------------------------------

    async def _set_status(self, caller: AgentCaller, agent_id: str, status: str) -> None:
        await self.router.set_status(caller.org, agent_id, status)
        await self._push(caller, [keys.agents_feed(caller.org)], "routing_status_set",
                         a.RoutingStatusSet(agent_id=agent_id, status=status))  # type: ignore[arg-type]
        # a group's first accepting agent, or its last one leaving, changes what customers are told
        await self.availability.refresh(caller.org)
        if status == "accepting_chats":
            agent = (await self.store.agents(caller.org, [agent_id])).get(agent_id, {})
            for group in agent.get("groups", []):
                await self._drain(caller, caller.org, int(group["id"]))

    async def set_routing_status(self, caller: AgentCaller, req: a.SetRoutingStatusRequest) -> c.Empty:
        target = req.agent_id or caller.agent_id
        if not may_act_for(caller.role, caller.agent_id, target):
            raise ApiError("authorization", "Only administrators may change another agent's status")
        record = (await self.store.agents(caller.org, [target])).get(target)
        if record is None:
            raise ApiError("validation", f"agent_id: no agent {target} in this license")
        if (record.get("suspended") or record.get("awaiting_approval")) and req.status != "offline":
            # (routing must not give chats to an agent who may not use the API)
            raise ApiError("validation", f"agent_id: {target} is suspended or awaiting approval")
        await self.router.auto_away(caller.org, target, False)  # a status set by hand is not away's to undo
        await self._set_status(caller, target, req.status)
        return _EMPTY

    async def list_routing_statuses(self, caller: AgentCaller, req: a.ListRoutingStatusesRequest) -> list[a.RoutingStatusItem]:
        statuses = await self.router.statuses(caller.org)
        agents = await self.store.agents(caller.org)
        return [a.RoutingStatusItem(agent_id=aid, status=statuses.get(aid, "offline"))  # type: ignore[arg-type]
                for aid in sorted(agents)]

    # --- chats ---------------------------------------------------------------------------------------------------

    async def list_chats(self, caller: AgentCaller, req: a.AgentListChatsRequest) -> a.AgentListChatsResponse:
        if req.page_id is not None and req.filters is not None:
            raise ApiError("validation", "page_id cannot be combined with limit, sort_order or filters")
        mine = {g["id"] for g in (await self._me(caller)).get("groups", [])}

        parsed: dict[str, a.ChatFilters] = {}

        def keep(chat: dict[str, str], state: str) -> bool:
            if state not in parsed:
                parsed[state] = _filters_decoder.decode(state)
            filters = parsed[state]
            if filters.active is not None and filters.active != bool(chat.get("active_thread")):
                return False
            groups = set(_access_decoder.decode(chat.get("access") or DEFAULT_ACCESS).group_ids)
            if filters.group_ids is not None and not groups & set(filters.group_ids):
                return False
            if filters.properties and not _properties_match(chat, filters.properties):
                return False
            return agent_sees_chat(caller.role, caller.agent_id, self._agents_of(chat), groups, mine)

        rows, total, next_page, _ = await self._chats_page(
            keys.org_chats(caller.org), caller.org, req.page_id, req.sort_order, req.limit, 10, keep,
            msgspec.json.encode(req.filters or a.ChatFilters()).decode())
        return a.AgentListChatsResponse(chats_summary=await self._summaries(rows, originals=self._sees_deleted(caller)),
                                        found_chats=total,
                                        next_page_id=next_page)

    async def list_archives(self, caller: AgentCaller, req: a.ListArchivesRequest) -> a.ListArchivesResponse:
        """Ended threads, newest first by default, found through the archive index (``core/archives.py``): the
        filters and the caller's scope (``archive_scope``: an agent reads the threads they were in and those of
        their groups) narrow the search before any chat is read; only the page's chats are read."""
        filters = req.filters or a.ArchiveFilters()
        if req.page_id is not None:
            if req.limit is not None or req.sort_order is not None or req.filters is not None:
                raise ApiError("validation", "page_id cannot be combined with limit, sort_order or filters")
            cur = self._cursor(req.page_id, "archives", caller.org)
            desc, limit, offset = cur.desc, cur.limit, int(cur.pos[0])
            filters = msgspec.json.decode(str(cur.pos[1]), type=a.ArchiveFilters)
        else:
            desc, limit, offset = (req.sort_order or "desc") == "desc", req.limit or 10, 0
        try:
            lo = rfc3339_to_ms(filters.from_) if filters.from_ else "-inf"
            hi = rfc3339_to_ms(filters.to) if filters.to else "+inf"
        except ValueError:
            raise ApiError("validation", "filters.from, filters.to: RFC 3339 date-times") from None
        query = _archive_query(caller.org, filters)
        scope = archive_scope(caller.role, caller.agent_id,
                              {g["id"] for g in (await self._me(caller)).get("groups", [])})
        if scope is not None:
            agents, groups = scope
            query.clauses.append([*(keys.archive_index(caller.org, "a", x) for x in agents),
                                  *(keys.archive_index(caller.org, "g", str(g)) for g in groups)])
        await self.archives.ensure_indexed(caller.org, lambda chat_id, thread_id, closed_ms: self._archive(
            caller.org, chat_id, thread_id, closed_ms))
        total, page = await self.archives.search(query, lo, hi, desc, offset, limit)
        found: list[a.ArchivedChat] = []
        for chat_id, thread_id in page:
            chat = await self.store.chat(chat_id)
            if not chat:
                continue
            groups = set(_access_decoder.decode(chat.get("access") or DEFAULT_ACCESS).group_ids)
            [(thash, raw)] = await self.store.threads(chat_id, [thread_id])
            found.append(a.ArchivedChat(id=chat_id, thread=self._build_thread(thash, raw,
                                                                             originals=self._sees_deleted(caller)),
                                        users=await self._chat_users(chat), access=Access(group_ids=sorted(groups)),
                                        properties=read_properties(chat.get("properties")),
                                        is_followed=caller.agent_id in _followers(chat)))
        next_page = None
        if total > offset + limit:
            next_page = self._make_cursor("archives", caller.org, desc, limit,
                                          [offset + limit, msgspec.json.encode(filters).decode()])
        return a.ListArchivesResponse(chats=found, found_chats=total, next_page_id=next_page)

    async def start_chat(self, caller: AgentCaller, req: a.AgentStartChatRequest) -> c.StartChatResponse:
        spec = req.chat or a.AgentInitialChat()
        customers = [u.id for u in spec.users or [] if u.type == "customer"]
        if len(customers) != 1:
            raise ApiError("validation", "chat.users must name exactly one customer")
        customer = await self.store.customer(customers[0])
        if customer is None or customer.get("org") != caller.org:
            raise ApiError("validation", "chat.users: no such customer in this license")
        group_ids = await self._own_groups(caller, spec.access)
        access = Access(group_ids=group_ids)
        thread = spec.thread or c.InitialThread()
        chat_id = short_id()
        chat_fields = {"id": chat_id, "org": caller.org, "customer_id": customers[0], "created_at": now_rfc3339(),
                       "access": msgspec.json.encode(access).decode(),
                       "properties": msgspec.json.encode(spec.properties or {}).decode()}
        operation = f"start {chat_id}"  # several writes: see LocalCore.start_chat
        await self.router.begin(caller.org, operation)
        try:
            thread_id, _, events, _ = await self._open_thread(
                caller, customers[0], mode="start", chat_id=chat_id, active=req.active, access=access,
                thread_props=thread.properties or {}, chat_fields=chat_fields, events=thread.events)
        except (StoreError, ApiError):
            await self.router.done(caller.org, operation)
            raise
        await self.store.update_customer(customers[0], {}, {"chats_count": 1, "threads_count": 1})
        await self.tracker.chat_offered(caller.org)
        chat = await self.store.chat(chat_id) or {}
        if req.active:
            await self.router.take(caller.org, caller.agent_id, chat_id, thread_id)
            chat = await self._join(caller, chat_id, thread_id, caller.agent_id, "manual", caller.agent_id)
        await self._incoming_chat_to(caller, chat, thread_id, [customers[0]], webhook=True)
        if req.active:  # the visitor's widget holds no socket yet: its next heartbeat learns of the chat
            await self.store.r.set(keys.invitation(caller.org, customers[0]), chat_id, ex=INVITATION_TTL)
        await self.router.done(caller.org, operation)
        event_ids = [e.id for e in events] if events else None
        return c.StartChatResponse(chat_id=chat_id, thread_id=thread_id, event_ids=event_ids)  # type: ignore[arg-type]

    async def _own_groups(self, caller: AgentCaller, access: Access | None) -> list[int]:
        """The groups a chat the agent starts or resumes goes to: those asked for (else the license's default, or
        else the agent's first group), each of which a non-administrator must be in: an agent puts chats only where
        they work."""
        if caller.role in ADMIN_ROLES:
            return await self._group_ids(caller, access)
        mine = [int(g["id"]) for g in (await self._me(caller)).get("groups", [])]
        if access is None or not access.group_ids:
            access = Access(group_ids=[caller.group_id if caller.group_id in mine or not mine else mine[0]])
        group_ids = await self._group_ids(caller, access)
        if not set(group_ids) <= set(mine):
            raise ApiError("authorization", "Agents may only put chats in their own groups")
        return group_ids

    async def resume_chat(self, caller: AgentCaller, req: a.AgentResumeChatRequest) -> c.ResumeChatResponse:  # type: ignore[override]
        if req.chat.access is None:
            return await super().resume_chat(caller, req)
        group_ids = await self._own_groups(caller, req.chat.access)
        before = await self._chat_for(caller, req.chat.id)
        resumed = await super().resume_chat(caller, req)
        await self._access_changed(caller, before, group_ids)  # (nothing when the groups stay the same)
        return resumed

    async def add_user_to_chat(self, caller: AgentCaller, req: a.AddUserToChatRequest) -> c.Empty:
        chat = await self._chat_for(caller, req.chat_id)
        if req.user_type != "agent":
            raise ApiError("validation", "A chat has exactly one customer; only agents can be added")
        thread_id = chat.get("active_thread")
        if not thread_id:
            raise ApiError("chat_inactive", "Chat is not active")
        if not may_act_for(caller.role, caller.agent_id, req.user_id):
            raise ApiError("authorization", "Only administrators may add other agents")
        if req.user_id not in await self.store.agents(caller.org, [req.user_id]):
            raise ApiError("validation", f"user_id: no agent {req.user_id} in this license")
        if req.user_id in self._agents_of(chat):
            return _EMPTY
        await self._unqueue(caller, chat, thread_id)
        await self.router.take(caller.org, req.user_id, req.chat_id, thread_id)
        await self._join(caller, req.chat_id, thread_id, req.user_id, "manual", caller.agent_id)
        return _EMPTY

    async def _unqueue(self, caller: AgentCaller, chat: dict[str, str], thread_id: str) -> None:
        thread = await self.store.thread(chat["id"], thread_id) or {}
        if thread.get("queue_group"):
            group = int(thread["queue_group"])
            await self.router.unqueue(chat["org"], group, chat["id"], thread_id)
            await self.store.set_thread_fields(chat["id"], thread_id, {"queued_at": "", "queue_group": ""})
            await self._push_queue_positions(caller, chat["org"], group)

    async def remove_user_from_chat(self, caller: AgentCaller, req: a.RemoveUserFromChatRequest) -> c.Empty:
        chat = await self._chat_for(caller, req.chat_id)
        if req.user_type != "agent":
            raise ApiError("validation", "Only agents can be removed from a chat")
        if not may_act_for(caller.role, caller.agent_id, req.user_id):
            raise ApiError("authorization", "Only administrators may remove other agents")
        agents = self._agents_of(chat)
        if req.user_id not in agents:
            raise ApiError("validation", "user_id: not a user of this chat")
        operation = f"leave {req.chat_id} {req.user_id}"  # out of the chat, then out of their load: see repair.py
        await self.router.begin(caller.org, operation)
        await self.store.set_chat_fields(req.chat_id, {"agent_ids": msgspec.json.encode(
            [x for x in agents if x != req.user_id]).decode()})
        await self.router.release(caller.org, req.user_id, req.chat_id)
        await self.router.done(caller.org, operation)
        await self._push(caller, self._recipients(chat), "user_removed_from_chat", a.UserRemovedFromChat(
            chat_id=req.chat_id, user_id=req.user_id, reason="manual", thread_id=chat.get("active_thread") or None,
            requester_id=caller.agent_id))
        for g in _access_decoder.decode(chat.get("access") or DEFAULT_ACCESS).group_ids:
            await self._drain(caller, caller.org, g)
        return _EMPTY

    async def transfer_chat(self, caller: AgentCaller, req: a.TransferChatRequest) -> c.Empty:
        chat = await self._chat_for(caller, req.id)
        thread_id = chat.get("active_thread")
        if not thread_id:
            raise ApiError("chat_inactive", "Chat is not active")
        target = req.target or a.TransferTarget(type="group", ids=[
            _access_decoder.decode(chat.get("access") or DEFAULT_ACCESS).group_ids[0]])
        previous = self._agents_of(chat)
        if target.type == "agent":
            agent_id = str(target.ids[0])
            agent = (await self.store.agents(caller.org, [agent_id])).get(agent_id)
            if agent is None:
                raise ApiError("validation", f"target.ids: no agent {agent_id} in this license")
            if not req.ignore_agents_availability and await self.router.status(caller.org, agent_id) != "accepting_chats":
                raise ApiError("agent_offline", f"Agent {agent_id} is not accepting chats")
            group_ids = _access_decoder.decode(chat.get("access") or DEFAULT_ACCESS).group_ids
        else:
            gid = target.ids[0]
            if not isinstance(gid, int):
                raise ApiError("validation", "target.ids: group ids are integers")
            group_ids = await self._group_ids(caller, Access(group_ids=[gid]))
            # (outside its business hours a group is offline too: nothing new is routed there)
            if not req.ignore_agents_availability and not await self.availability.online_groups(caller.org, group_ids):
                raise ApiError("group_offline", f"Group {gid} is closed or has no agent accepting chats")
        # everyone who was in it leaves; the chat then goes to the target. Noted in flight: a worker that dies
        # between the two leaves a chat nobody has, which the repair pass routes (core/repair.py)
        operation = f"route {req.id} {thread_id}"
        await self.router.begin(caller.org, operation)
        for agent in previous:
            await self.router.release(caller.org, agent, req.id)
            await self._push(caller, self._recipients(chat), "user_removed_from_chat", a.UserRemovedFromChat(
                chat_id=req.id, user_id=agent, reason="chat_transferred", thread_id=thread_id,
                requester_id=caller.agent_id))
        await self._unqueue(caller, chat, thread_id)
        await self.store.set_chat_fields(req.id, {"agent_ids": "[]",
                                                  "access": msgspec.json.encode(Access(group_ids=group_ids)).decode()})
        await self._access_changed(caller, chat, group_ids)
        transferred = a.ChatTransferred(chat_id=req.id, thread_id=thread_id, requester_id=caller.agent_id,
                                        reason="manual", transferred_to=a.TransferredTo(
                                            group_ids=group_ids if target.type == "group" else [],
                                            agent_ids=[str(target.ids[0])] if target.type == "agent" else []))
        users = list(dict.fromkeys([chat["customer_id"], *previous]))
        await self._push(caller, users, "chat_transferred", transferred)
        if target.type == "agent":
            await self.router.take(caller.org, str(target.ids[0]), req.id, thread_id)
            await self._join(caller, req.id, thread_id, str(target.ids[0]), "chat_transferred", caller.agent_id)
        else:
            # a bot handing a chat over means "a human, please": routing skips bots for it
            me = await self._me(caller)
            await self._route(caller, req.id, thread_id, group_ids[0], humans_only=me.get("type") == "bot")
        await self.router.done(caller.org, operation)
        for agent in previous:
            for g in (await self.store.agents(caller.org, [agent])).get(agent, {}).get("groups", []):
                await self._drain(caller, caller.org, int(g["id"]))
        return _EMPTY

    async def _access_changed(self, caller: AgentCaller, chat: dict[str, str], group_ids: list[int]) -> None:
        """The chat's groups changed (a transfer): ``chat_access_updated`` to the agents of its old and new groups
        (and its webhook), and ``customer_transferred`` to those of the old groups who are in none of the new ones
        (non-administrators: they no longer see the customer's chat)."""
        old = set(_access_decoder.decode(chat.get("access") or DEFAULT_ACCESS).group_ids)
        if old == set(group_ids):
            return
        agents = await self.store.agents(caller.org)

        def members(groups: set[int]) -> list[str]:
            return sorted(aid for aid, rec in agents.items() if groups & {g["id"] for g in rec.get("groups", [])})

        before, after = members(old), members(set(group_ids))
        await self._push(caller, list(dict.fromkeys([*before, *after])), "chat_access_updated",
                         a.ChatAccessUpdated(id=chat["id"], access=Access(group_ids=group_ids)), chat)
        followers = _followers(chat)
        for agent_id in before:
            if agent_id not in after and agents[agent_id].get("role", "normal") not in ADMIN_ROLES:
                await self._push(caller, [agent_id], "customer_transferred", a.CustomerTransferred(
                    id=chat["customer_id"], transferred_to=a.CustomerTransferredTo(group_ids=group_ids),
                    followed=agent_id in followers), webhook=False)
        # a follower who may no longer read the chat stops following it: the chat's pushes (its messages) go to
        # its followers, and must not reach an agent outside its new groups
        members = self._agents_of(chat)
        gone = [f for f in followers if f not in agents or not agent_sees_chat(
            agents[f].get("role", "normal"), f, members, set(group_ids), {g["id"] for g in agents[f].get("groups", [])})]
        if gone:
            await self.store.update_json_field(keys.chat(chat["id"]), "followers",
                                               lambda ids: [x for x in ids if x not in gone], default=[])
            await self._push(caller, gone, "chat_unfollowed", a.ChatUnfollowed(chat_id=chat["id"]), webhook=False)

    def _send_checks(self, caller: AgentCaller) -> tuple[str, str]:
        return "", caller.agent_id

    async def _admit(self, caller: AgentCaller, chat_id: str) -> None:
        """An agent not in the chat may write to it through a group (or a role); writing without joining joins
        (LiveChat adds the author; see PROTOCOL.md §5.1)."""
        chat = await self._chat_for(caller, chat_id)
        thread_id = chat.get("active_thread")
        if thread_id and caller.agent_id not in self._agents_of(chat):
            await self._unqueue(caller, chat, thread_id)
            await self.router.take(caller.org, caller.agent_id, chat_id, thread_id)
            await self._join(caller, chat_id, thread_id, caller.agent_id, "manual", caller.agent_id)

    async def send_typing_indicator(self, caller: AgentCaller, req: a.SendTypingIndicatorRequest) -> c.Empty:
        chat = await self._chat_for(caller, req.chat_id)
        thread_id = chat.get("active_thread")
        if not thread_id:
            raise ApiError("chat_inactive", "Chat is not active")
        if req.is_typing and chat.get("awaiting_ms") not in (None, "", "0"):
            # an agent typing an answer stops the transfer timer (core/inactivity.py), as their message would
            await self.store.set_chat_fields(req.chat_id, {"awaiting_ms": "0"})
        users = self._recipients(chat) if req.visibility == "all" else self._recipients(chat)[1:]
        users = [u for u in users if u != caller.agent_id]
        indicator = a.IncomingTypingIndicator(req.chat_id, thread_id, a.TypingIndicator(
            author_id=caller.agent_id, recipients=req.visibility, timestamp=int(time.time()), is_typing=req.is_typing))
        await self._push(caller, users, "incoming_typing_indicator", indicator)
        return _EMPTY

    async def _tag(self, caller: AgentCaller, req: a.TagThreadRequest, add: bool) -> c.Empty:
        chat = await self._thread_for(caller, req.chat_id, req.thread_id)
        if add:  # only a known tag of the chat's groups; a tag deleted since still comes off (untag_thread)
            check_usable(await read_tags(self.store, caller.org), req.tag, chat_groups(chat))

        def change(tags: list[str]) -> list[str]:
            if add:
                return tags if req.tag in tags else [*tags, req.tag]
            return [t for t in tags if t != req.tag]

        before: list[str] = []

        def change_noting(tags: list[str]) -> list[str]:
            before[:] = tags
            return change(tags)

        await self.store.update_json_field(keys.thread(req.chat_id, req.thread_id), "tags", change_noting, default=[])
        # an ended thread is found by its tags (list_archives): its index sets follow the change
        await self.archives.retag(caller.org, req.chat_id, req.thread_id, before, change(list(before)))
        action = "thread_tagged" if add else "thread_untagged"
        await self._push(caller, self._recipients(chat)[1:] or [caller.agent_id], action,
                         a.ThreadTagged(req.chat_id, req.thread_id, req.tag))
        return _EMPTY

    async def tag_thread(self, caller: AgentCaller, req: a.TagThreadRequest) -> c.Empty:
        return await self._tag(caller, req, True)

    async def untag_thread(self, caller: AgentCaller, req: a.TagThreadRequest) -> c.Empty:
        return await self._tag(caller, req, False)

    # --- customers -----------------------------------------------------------------------------------------------

    async def list_customers(self, caller: AgentCaller, req: a.ListCustomersRequest) -> a.ListCustomersResponse:
        """The license's customers: every tracked visitor (within retention), newest first by default, filtered as
        LiveChat's 3.5 ``list_customers`` filters plus ``online``, ``chatting`` and ``page_url_contains``; see
        ``core/customers.py`` for how a page is read."""
        if req.page_id is not None:
            if any(x is not None for x in (req.limit, req.sort_order, req.sort_by, req.filters)):
                raise ApiError("validation", "page_id cannot be combined with limit, sort_order, sort_by or filters")
            cur = self._cursor(req.page_id, "customers", caller.org)
            desc, limit = cur.desc, cur.limit
            position, matched, scanned = int(cur.pos[0]), int(cur.pos[2]), int(cur.pos[3])
            spec = msgspec.json.decode(str(cur.pos[1]), type=a.CustomerFilters)
        else:
            if req.sort_by not in (None, "created_at"):
                raise ApiError("validation", "sort_by: only created_at is supported (customers are kept in the order "
                                             "they were first seen)")
            desc, limit = (req.sort_order or "desc") == "desc", req.limit or 10
            position, matched, scanned = (FROM_THE_END if desc else 0), 0, 0
            spec = req.filters or a.CustomerFilters()
        page = await self.customers.list_page(caller.org, Filters.check(spec), desc, limit, position, matched, scanned)
        next_page = None
        if page.next_position is not None:
            next_page = self._make_cursor("customers", caller.org, desc, limit, [
                page.next_position, msgspec.json.encode(spec).decode(), page.matched, page.scanned])
        return a.ListCustomersResponse(customers=await self.customers.views(caller.org, page.customer_ids),
                                       total_customers=page.total, next_page_id=next_page)

    async def subscribe_customers(self, caller: AgentCaller, req: a.SubscribeCustomersRequest) -> a.SubscribeCustomersResponse:
        """Live visitors on this socket (see ``core/visitors.py``). Visitors carry no group here (the tracker does not
        record the widget's group), so ``group_ids`` is checked against the license's groups and every subscription
        covers the license's visitors."""
        if caller.connection is None:
            raise ApiError("validation", "Action subscribe_customers is not available on the Web API")
        if req.group_ids:
            await self._group_ids(caller, Access(group_ids=req.group_ids))
        sub, customers = await self.visitors.subscribe(caller.org, caller.connection, req.limit or DEFAULT_LIMIT)
        return a.SubscribeCustomersResponse(subscription_id=sub.id, customers=customers)

    async def unsubscribe_customers(self, caller: AgentCaller, req: a.UnsubscribeCustomersRequest) -> c.Empty:
        if caller.connection is None or not await self.visitors.unsubscribe(caller.connection, req.subscription_id):
            raise ApiError("not_found", "Subscription not found")
        return _EMPTY

    async def monitor_customers(self, caller: AgentCaller, level: str) -> None:
        """Login's ``customer_monitoring_level`` of ``online`` or ``highest_available``: a subscription to every
        visitor of the license, announced with an ``incoming_customers`` push (sent after the login response)."""
        if caller.connection is None or level not in ("online", "highest_available"):
            return
        sub, customers = await self.visitors.subscribe(caller.org, caller.connection, DEFAULT_LIMIT, level)
        sub.send("incoming_customers", a.IncomingCustomers(customer_monitoring_level=level, customers=customers,
                                                           subscription_id=sub.id))

    async def get_visitor_statistics(self, caller: AgentCaller, req: a.VisitorStatisticsRequest) -> a.VisitorStatisticsResponse:
        """Visitors, page views and chats per UTC hour, and the daily counters, of the last ``days`` days."""
        hours = await self.tracker.hourly(caller.org, req.days)
        day_names = list(dict.fromkeys(iso(h.hour)[:10] for h in hours))
        days = await asyncio.gather(*(self.tracker.counters(caller.org, day) for day in day_names))
        return a.VisitorStatisticsResponse(
            hours=[a.HourStatistics(hour=iso(h.hour)[:19] + "Z", visitors=h.visitors, chats=h.chats,
                                    page_views=h.page_views) for h in hours],
            days=[a.DayStatistics(day=d.day, page_views=d.page_views, visits=d.visits, chats=d.chats,
                                  unique_visitors=d.unique_visitors) for d in days])

    async def _customer_of_license(self, caller: AgentCaller, customer_id: str) -> dict[str, str]:
        rec = await self.store.customer(customer_id)
        if rec is None or rec.get("org") != caller.org:
            raise ApiError("not_found", "Customer not found")
        return rec

    async def _customer_to_change(self, caller: AgentCaller, customer_id: str) -> dict[str, str]:
        """A customer the agent may change (details, a ban): one of the license every chat of whom they see, as an
        administrator sees them all (``rules.agent_sees_customer``). Visitors without chats are anyone's."""
        rec = await self._customer_of_license(caller, customer_id)
        if caller.role not in ADMIN_ROLES:
            chat_ids = [chat_id for chat_id, _ in await self.store.customer_chat_ids(customer_id)]
            chats = [chat for chat in await self.store.chats(chat_ids) if chat] if chat_ids else []
            mine = {g["id"] for g in (await self._me(caller)).get("groups", [])}
            if not agent_sees_customer(caller.role, caller.agent_id, mine,
                                       [(chat_agents(chat), chat_groups(chat)) for chat in chats]):
                raise ApiError("authorization", "The customer has chats outside your groups")
        return rec

    async def get_customer(self, caller: AgentCaller, req: a.GetCustomerRequest) -> Customer:  # type: ignore[override]
        """The customer with what agents also see: statistics, the current visit (pages, referrer, location), online
        and chat state. A visitor the tracker knows is a customer even before it has a customer record."""
        customer = await self.customers.view(caller.org, req.id)
        if customer is None:
            raise ApiError("not_found", "Customer not found")
        return customer

    async def update_customer(self, caller: AgentCaller, req: a.AgentUpdateCustomerRequest) -> c.Empty:  # type: ignore[override]
        await self._customer_to_change(caller, req.id)
        fields = {k: v for k, v in (("name", req.name), ("email", req.email), ("avatar", req.avatar)) if v is not None}
        if req.session_fields is not None:
            fields["session_fields"] = msgspec.json.encode(req.session_fields).decode()
        if not fields:
            raise ApiError("validation", "At least one customer field is required")
        await self.store.update_customer(req.id, fields)
        partial = {"id": req.id, **{k: v for k, v in fields.items() if k != "session_fields"}}
        if req.session_fields is not None:
            partial["session_fields"] = req.session_fields
        await self._push(caller, [req.id], "customer_updated", partial)
        return _EMPTY

    async def ban_customer(self, caller: AgentCaller, req: a.BanCustomerRequest) -> c.Empty:
        await self._customer_to_change(caller, req.id)
        until = int(time.time()) + req.ban.days * 86400 if req.ban.days else 0
        await self.store.update_customer(req.id, {"banned_until": str(until or 2**40)})
        await self.store.keep_customer(req.id)  # (a visitor's record expires while they are away; a ban must not)
        await self.tracker.ban(caller.org, req.id, until or 2**40)  # page views are refused by the tracking script
        # what the Configuration API's list_customer_bans shows and unban_customer lifts (core/bans.py)
        await record_ban(self.store, self.tracker, caller.org, req.id, caller.agent_id, until or 2**40, None)
        await self.bus.publish([req.id], "customer_disconnected", p.CustomerDisconnected(reason="customer_banned"))
        await self.bus.publish([keys.agents_feed(caller.org)], "customer_banned",
                               a.CustomerBanned(customer_id=req.id, ban=req.ban))
        return _EMPTY

    # --- tickets (this server's extension) --------------------------------------------------------------------------

    def _ticket_store(self) -> Any:
        if self.tickets is None:
            raise ApiError("service_unavailable", "Tickets are not available")
        return self.tickets

    async def _my_groups(self, caller: AgentCaller) -> set[int]:
        return {g["id"] for g in (await self._me(caller)).get("groups", [])}

    async def _ticket_for(self, caller: AgentCaller, ticket_id: str) -> dict[str, str]:
        rec = await self._ticket_store().record(ticket_id)
        if rec is None or rec.get("org") != caller.org:
            raise ApiError("not_found", "Ticket not found")
        mine = set() if caller.role in ADMIN_ROLES else await self._my_groups(caller)
        if not agent_sees_ticket(caller.role, int(rec.get("group_id") or 0), mine):
            raise ApiError("authorization", "No access to this ticket")
        return rec

    async def list_tickets(self, caller: AgentCaller, req: tk.ListTicketsRequest) -> tk.ListTicketsResponse:
        """The tickets of the agent's groups (an administrator's: the license's) with ``status``, latest first."""
        config = await self.store.license_config(caller.org)
        groups = sorted({g.id for g in config.groups})
        if caller.role not in ADMIN_ROLES:
            mine = await self._my_groups(caller)
            groups = [g for g in groups if agent_sees_ticket(caller.role, g, mine)]
        return await self._ticket_store().list(caller.org, req.status, groups, req.limit, req.page_id)

    async def get_ticket(self, caller: AgentCaller, req: tk.TicketIdRequest) -> tk.Ticket:
        await self._ticket_for(caller, req.id)
        ticket = await self._ticket_store().get(caller.org, req.id)
        if ticket is None:
            raise ApiError("not_found", "Ticket not found")
        return ticket

    async def reply_ticket(self, caller: AgentCaller, req: tk.ReplyTicketRequest) -> tk.ReplyTicketResponse:
        """Keep the agent's reply in the ticket's thread and e-mail it to the visitor (replies come back by mail)."""
        await self._ticket_for(caller, req.id)
        tickets = self._ticket_store()
        rec, message = await tickets.add_message(req.id, author_id=caller.agent_id, author_type="agent",
                                                 via="agent", text=req.text,
                                                 status="solved" if req.solve else None)
        me = await self._me(caller)
        emailed = await tickets.mail_visitor(caller.org, rec, req.id, message, me.get("name") or caller.agent_id)
        return tk.ReplyTicketResponse(message_id=message.id, emailed=emailed)

    async def solve_ticket(self, caller: AgentCaller, req: tk.TicketIdRequest) -> c.Empty:
        await self._ticket_for(caller, req.id)
        await self._ticket_store().set_status(req.id, "solved")
        return _EMPTY

    async def reopen_ticket(self, caller: AgentCaller, req: tk.TicketIdRequest) -> c.Empty:
        await self._ticket_for(caller, req.id)
        await self._ticket_store().set_status(req.id, "open")
        return _EMPTY

    # --- Agent Chat API v3.6 breadth ------------------------------------------------------------------------------

    async def follow_chat(self, caller: AgentCaller, req: a.ChatIdRequest) -> c.Empty:
        """The agent gets the chat's pushes without being in it until it is reactivated (``resume_chat`` clears its
        followers) or they unfollow it; the chat comes to them as ``incoming_chat`` (not when they are in it or follow
        it already, as LiveChat)."""
        chat = await self._chat_for(caller, req.id)
        if caller.agent_id in self._agents_of(chat) or caller.agent_id in _followers(chat):
            return _EMPTY
        if len(_followers(chat)) >= MAX_FOLLOWERS:
            raise ApiError("limit_reached", f"A chat has at most {MAX_FOLLOWERS} followers")

        def add(ids: list[str]) -> list[str]:
            return ids if caller.agent_id in ids else [*ids, caller.agent_id]

        await self.store.update_json_field(keys.chat(req.id), "followers", add, default=[])
        thread_id = chat.get("active_thread") or chat.get("last_thread_id")
        if thread_id:
            await self._incoming_chat_to(caller, await self.store.chat(req.id) or chat, thread_id, [caller.agent_id],
                                         webhook=False)
        return _EMPTY

    async def unfollow_chat(self, caller: AgentCaller, req: a.ChatIdRequest) -> c.Empty:
        """Stop following; every connection of the agent gets ``chat_unfollowed``. The agent's access is not asked:
        one who lost it may still stop following. Members cannot unfollow their chat."""
        chat = await self.store.chat(req.id)
        if chat is None or chat.get("org") != caller.org:
            raise ApiError("not_found", "Chat not found")
        if caller.agent_id in self._agents_of(chat):
            raise ApiError("validation", "Chat members cannot unfollow the chat")
        if caller.agent_id in _followers(chat):
            await self.store.update_json_field(keys.chat(req.id), "followers",
                                               lambda ids: [x for x in ids if x != caller.agent_id], default=[])
        await self._push(caller, [caller.agent_id], "chat_unfollowed", a.ChatUnfollowed(chat_id=req.id),
                         webhook=False)
        return _EMPTY

    async def _active_member_chat(self, caller: AgentCaller, chat_id: str) -> tuple[dict[str, str], str]:
        chat = await self._chat_for(caller, chat_id)
        thread_id = chat.get("active_thread")
        if not thread_id:
            raise ApiError("chat_inactive", "Chat is not active")
        return chat, thread_id

    async def send_event_preview(self, caller: AgentCaller, req: a.SendEventPreviewRequest) -> c.Empty:
        """A message that is not stored (a longer answer on its way), to the chat's other users as
        ``incoming_event_preview``. As LiveChat: only an agent in the chat may send one."""
        chat, thread_id = await self._active_member_chat(caller, req.chat_id)
        if caller.agent_id not in self._agents_of(chat):
            raise ApiError("authorization", "Join the chat (add_user_to_chat) before sending to it")
        preview = a.IncomingEventPreview(req.chat_id, thread_id, a.PreviewEventOut(
            type="message", text=req.event.text, author_id=caller.agent_id, created_at=now_rfc3339(),
            custom_id=req.event.custom_id))
        await self._push(caller, [u for u in self._recipients(chat) if u != caller.agent_id],
                         "incoming_event_preview", preview, webhook=False)
        return _EMPTY

    async def send_thinking_indicator(self, caller: AgentCaller, req: a.SendThinkingIndicatorRequest) -> c.Empty:
        """"Working on it" (a bot fetching data): ``incoming_thinking_indicator`` to the chat's other users (its
        agents only with ``visibility: agents``)."""
        chat, thread_id = await self._active_member_chat(caller, req.chat_id)
        users = self._recipients(chat) if req.visibility == "all" else self._recipients(chat)[1:]
        indicator = a.IncomingThinkingIndicator(chat_id=req.chat_id, thread_id=thread_id, author_id=caller.agent_id,
                                                sent_at=now_rfc3339(), title=req.title, description=req.description,
                                                custom_id=req.custom_id)
        await self._push(caller, [u for u in users if u != caller.agent_id], "incoming_thinking_indicator", indicator,
                         webhook=False)
        return _EMPTY

    async def multicast(self, caller: AgentCaller, req: a.MulticastRequest) -> c.Empty:
        """Chat-unrelated JSON to agents (``all``, by id, by group) and, this server's extension, to customers by id,
        as ``incoming_multicast``; nothing is stored. Who may reach whom: ``rules.may_multicast`` (and, for a
        customer, the rule of ``update_customer``)."""
        size = len(msgspec.json.encode(req.content))
        if size > self.settings.multicast_max_bytes:
            raise ApiError("validation", f"content: more than the {self.settings.multicast_max_bytes} bytes allowed")
        agents, customers = req.recipients.agents, req.recipients.customers
        if not ((agents and (agents.all or agents.ids or agents.groups)) or (customers and customers.ids)):
            raise ApiError("validation", "recipients: at least one of agents.all, agents.ids, agents.groups")
        targets: dict[str, None] = {}
        if agents:
            if not may_multicast(caller.role, await self._my_groups(caller), bool(agents.all), agents.groups or []):
                raise ApiError("authorization", "Only administrators may multicast to every agent or to groups they "
                                                "are not in")
            license_agents = await self.store.agents(caller.org)
            for agent_id in agents.ids or []:
                if agent_id not in license_agents:
                    raise ApiError("validation", f"recipients.agents.ids: no agent {agent_id} in this license")
            if agents.groups:
                await self._group_ids(caller, Access(group_ids=agents.groups))
            wanted = set(agents.groups or [])
            for agent_id, rec in license_agents.items():
                if agents.all or agent_id in (agents.ids or []) or wanted & {g["id"] for g in rec.get("groups", [])}:
                    targets[agent_id] = None
        for customer_id in (customers.ids if customers and customers.ids else []):
            await self._customer_to_change(caller, customer_id)
            targets[customer_id] = None
        if targets:
            await self._push(caller, list(targets), "incoming_multicast",
                             a.IncomingMulticast(content=req.content, author_id=caller.agent_id, type=req.type),
                             webhook=False)
        return _EMPTY

    async def list_agents_for_transfer(self, caller: AgentCaller,
                                       req: a.ListAgentsForTransferRequest) -> list[a.AgentForTransfer]:
        """The agents of the chat's groups who are not offline and not in the chat, with how many chats each has
        now, fewest first (LiveChat: online agents, accepting chats or not)."""
        chat = await self._chat_for(caller, req.chat_id)
        groups = set(_access_decoder.decode(chat.get("access") or DEFAULT_ACCESS).group_ids)
        in_chat = set(self._agents_of(chat))
        statuses = await self.router.statuses(caller.org)
        agents = await self.store.agents(caller.org)
        candidates = sorted(aid for aid, rec in agents.items()
                            if aid not in in_chat and statuses.get(aid, "offline") != "offline"
                            and groups & {g["id"] for g in rec.get("groups", [])})
        counts = await self.router.chat_counts(caller.org, candidates) if candidates else {}
        ordered = sorted(candidates, key=lambda aid: (counts[aid], aid))
        return [a.AgentForTransfer(agent_id=aid, total_active_chats=counts[aid], active_chats=counts[aid])
                for aid in ordered]

    async def set_away_status(self, caller: AgentCaller, req: a.SetAwayStatusRequest) -> c.Empty:
        """This socket away, or back (RTM). When every open socket of the agent is away, an agent accepting chats
        becomes ``not_accepting_chats``; the first socket back makes them accept chats again, if away had stopped
        them (LiveChat's auto-away)."""
        if caller.connection is None or caller.conn_id is None:
            raise ApiError("validation", "Action set_away_status is not available on the Web API")
        await self.router.set_away(caller.org, caller.agent_id, caller.conn_id, req.away)
        if req.away:
            # (a socket counts as open when seen within three heartbeats, as core/presence.py counts them)
            live_since = time.time() - 3 * self.settings.agent_heartbeat_seconds
            if await self.router.all_away(caller.org, caller.agent_id, live_since) \
                    and await self.router.status(caller.org, caller.agent_id) == "accepting_chats":
                await self.router.auto_away(caller.org, caller.agent_id, True)
                await self._set_status(caller, caller.agent_id, "not_accepting_chats")
        elif await self.router.auto_away(caller.org, caller.agent_id, False) \
                and await self.router.status(caller.org, caller.agent_id) == "not_accepting_chats":
            await self._set_status(caller, caller.agent_id, "accepting_chats")
        return _EMPTY

    async def connection_gone(self, org: str, agent_id: str, conn_id: str) -> None:
        """A socket closed: it is away no more (``set_away_status``'s set)."""
        await self.router.set_away(org, agent_id, conn_id, False)

    async def update_session(self, caller: AgentCaller, req: a.UpdateSessionRequest) -> c.Empty:
        """RTM only, and handled by the socket (``api/agent_rtm.py``), which holds the credential."""
        raise ApiError("validation", "Action update_session is not available on the Web API")

    async def change_push_notifications(self, caller: AgentCaller, req: a.ChangePushNotificationsRequest) -> c.Empty:
        """Mobile push notifications are not sent by this server: accepted, as the Python SDK still sends it."""
        return _EMPTY

    async def _thread_view(self, caller: AgentCaller, chat_id: str,
                           thread_id: str) -> tuple[dict[str, str], dict[str, str], Thread, dict[str, str]]:
        """(chat, thread record, thread as agents see it, user id -> name) of a thread the agent may read."""
        chat = await self._chat_for(caller, chat_id)
        [(thash, raw)] = await self.store.threads(chat_id, [thread_id])
        if not thash:
            raise ApiError("not_found", "Thread not found")
        thread = self._build_thread(thash, raw, for_customer=False)
        customer_id = chat["customer_id"]
        customer = await self.store.customer(customer_id) or {}
        agent_ids = [u for u in thread.user_ids if u != customer_id]
        agents = await self.store.agents(caller.org, agent_ids) if agent_ids else {}
        names = {aid: rec.get("name") or aid for aid, rec in agents.items()}
        if customer.get("name"):
            names[customer_id] = customer["name"]
        return chat, thash, thread, names

    async def request_thread_summary(self, caller: AgentCaller, req: a.ThreadRequest) -> c.Empty:
        """A summary of the thread made from its record (``core/summaries.py``, no external AI service), kept with
        the thread and pushed to the chat's agents and the requester as ``thread_summary_set`` (and its webhook).
        As LiveChat: an ended thread is summarized once; an active one as often as asked."""
        chat, thash, thread, names = await self._thread_view(caller, req.chat_id, req.thread_id)
        if not thread.active and thash.get("summary_final"):
            raise ApiError("validation", "This thread has ended and was summarized already")
        tags = _list_decoder.decode(thash.get("tags") or "[]")
        summary = a.ThreadSummary(status="ok", text=summary_text(thread, chat["customer_id"], names, tags),
                                  updated_at=now_rfc3339())
        await self.store.set_thread_fields(req.chat_id, req.thread_id, {
            "summary": msgspec.json.encode(summary).decode(), "summary_final": "" if thread.active else "1"})
        users = list(dict.fromkeys([*self._recipients(chat)[1:], caller.agent_id]))
        await self._push(caller, users, "thread_summary_set", a.ThreadSummarySet(req.chat_id, req.thread_id, summary),
                         chat)
        return _EMPTY

    async def get_thread_transcript(self, caller: AgentCaller, req: a.ThreadRequest) -> a.ThreadTranscript:
        """The thread as plain text, one line an event (``core/summaries.transcript_text``)."""
        chat, _, thread, names = await self._thread_view(caller, req.chat_id, req.thread_id)
        return a.ThreadTranscript(transcript=transcript_text(thread, chat["customer_id"], names))

    async def upload_file(self, caller: AgentCaller, file: UploadedFile, address: str | None) -> c.UploadFileResponse:
        """An agent's upload, under the customer's rules (size, type, ``core/files.py``) and quotas: the agent's
        bytes an hour count as a customer's (``upload_customer_bytes_per_hour``), with the address's and the
        license's. The record names no customer, so no customer can attach it; any agent of the license can."""
        st = self.settings
        if len(file.data) > st.upload_max_bytes:
            raise ApiError("entity_too_large", f"File is larger than {st.upload_max_bytes} bytes")
        name, content_type, dims = file_rules.check(file.name, file.content_type, file.data)
        file_id = uuid_id()
        url = f"{caller.base_url}/files/{caller.org}/{file_id}/{quote(name)}"
        # as LocalCore.upload_file, with no customer named: ``rules.may_attach_file`` lets agents attach it only
        meta: dict[str, Any] = {"name": name, "content_type": content_type, "size": len(file.data),
                                "customer_id": "", "uploaded_by": caller.agent_id, "url": url}
        if dims:
            meta["width"], meta["height"] = dims
        refused = await self.store.put_upload(
            caller.org, file_id, meta, file.data, st.upload_ttl, f"agent:{caller.agent_id}", address_key(address),
            (st.upload_customer_bytes_per_hour, st.upload_address_bytes_per_hour, st.upload_license_pending_bytes))
        if refused == "license":
            raise ApiError("limit_reached", "The license holds too many files not sent yet; try again later")
        if refused != "ok":
            who = "you" if refused == "customer" else "your address"
            raise ApiError("too_many_requests", f"Too many bytes uploaded by {who} this hour",
                           {"retry_after": 3600 - int(time.time()) % 3600})
        return c.UploadFileResponse(url=url)

    # --- canned responses: this server's extension (core/canned.py, README "Canned responses") -------------------------

    async def list_canned_responses(self, caller: AgentCaller,
                                    req: cs.ListCannedResponsesRequest) -> cs.ListCannedResponsesResponse:
        return await self.canned.list(caller, req)

    async def create_canned_response(self, caller: AgentCaller,
                                     req: cs.CreateCannedResponseRequest) -> cs.CreateCannedResponseResponse:
        return await self.canned.create(caller, req)

    async def update_canned_response(self, caller: AgentCaller, req: cs.UpdateCannedResponseRequest) -> c.Empty:
        return await self.canned.update(caller, req)

    async def delete_canned_response(self, caller: AgentCaller, req: cs.DeleteCannedResponseRequest) -> c.Empty:
        return await self.canned.delete(caller, req)
