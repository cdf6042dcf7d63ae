"""LocalCore: the built-in chat core on Valkey. One method per Customer Chat API action."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from typing import Any
from urllib.parse import quote, urlsplit

import msgspec

from .. import keys
from ..auth.throttle import address_key
from ..mail import MailOff, OutboxFull, notification
from ..protocol import config as cfg
from ..protocol import customer as c
from ..protocol import pushes as p
from ..protocol import tickets as tk
from ..protocol.common import Access, now_rfc3339, rfc3339_to_ms
from ..protocol.errors import ApiError
from ..protocol.events import SystemMessage
from ..protocol.users import Customer, Statistics
from ..tracking import ClientInfo
from . import auto_access, greetings, properties
from . import files as file_rules
from .chats import ChatBase, customer_view
from .ids import short_id, split_event_id, uuid_id
from .interface import Caller, UploadedFile
from .links import GuardedHttp, LinkPreviews
from .store import StoreError
from .targets import TargetPolicy, parse_networks
from .tickets import hourly_count, valid_email

log = logging.getLogger("widget_server.local")
_encode = msgspec.json.encode
_access_decoder = msgspec.json.Decoder(Access)
_props_decoder = msgspec.json.Decoder(dict[str, dict[str, Any]])
_fields_decoder = msgspec.json.Decoder(list[dict[str, str]])
_EMPTY = c.Empty()
_NO_CLIENT = ClientInfo()

DEFAULT_PRECHAT = c.Form(
    id="prechat",
    fields=[
        c.FormFieldSpec(id="header", type="header", label="Welcome! Tell us a little about you."),
        c.FormFieldSpec(id="name", type="name", label="Name:"),
        c.FormFieldSpec(id="email", type="email", label="E-mail:", required=True),
    ],
)
DEFAULT_POSTCHAT = c.Form(
    id="postchat",
    fields=[
        c.FormFieldSpec(id="rating", type="rating", label="How would you rate this chat?"),
        c.FormFieldSpec(id="comment", type="textarea", label="Anything we could do better?"),
    ],
)
DEFAULT_TICKET = c.Form(
    id="ticket",
    fields=[
        c.FormFieldSpec(id="header", type="header", label="We are offline. Leave a message and we'll reply by e-mail."),
        c.FormFieldSpec(id="name", type="name", label="Name:"),
        c.FormFieldSpec(id="email", type="email", label="E-mail:", required=True),
        c.FormFieldSpec(id="message", type="textarea", label="Message:", required=True),
    ],
)

DEFAULT_WELCOME = "Hi! How can we help you today?"
"""The welcome message of a group whose owner wrote none."""
WELCOME_AGENTS = 5
"""Agents online shown in the welcome message (their names and avatars)."""

LOCALIZATION_EN = {
    "Agents_currently_not_available": "Our agents are not available right now.",
    "Chat_now": "Chat now",
    "Leave_a_message": "Leave a message",
    "New_message": "New message",
    "Write_a_message": "Write a message…",
    "Send": "Send",
    "Chat_closed_by_customer": "Chat closed by the customer",
    "You_are_in_queue": "You are number %position% in the queue",
    "Rate_chat": "Rate this chat",
    "Start_chat": "Start the chat",
    "Minimize_window": "Minimize window",
}


EMAIL_VERIFICATION_PURPOSE = "email_verification"
EMAIL_VERIFICATION_PATH = "/v1/customer/email_verification"
"""The page a verification mail links to (``api/email_verification.py``)."""


class EmailVerification(msgspec.Struct, array_like=True):
    """What a verification link's signed token says: license, customer, the address it verifies, where to POST once
    verified (``callback_uri``), expiry (unix seconds). Nothing is stored for a request: the link carries it all."""

    org: str
    cid: str
    email: str
    callback: str
    exp: int


_background: set[asyncio.Task[None]] = set()
"""Pushes sent after the answer of the request that caused them (held here until done)."""


def _settled(task: asyncio.Task[None]) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("a push after a login failed: %s", task.exception())


class _AlreadyDeleted(Exception):
    """``delete_event`` on an event deleted before: answered ``{}`` again, nothing written or pushed twice."""


def only_in_36(caller: Caller, action: str) -> None:
    """Methods LiveChat added in 3.6 are unknown to a 3.5 request (a 3.5 socket may send ``version: "3.6"``)."""
    if caller.version == "3.5":
        raise ApiError("validation", f"Unknown action: {action} (new in 3.6)")


class LocalCore(ChatBase):
    """The built-in implementation of ChatCore: the customer's side of chats on Valkey."""

    FOR_CUSTOMER = True
    forwards_callers = False
    _links: LinkPreviews | None = None
    _customer_targets: TargetPolicy | None = None

    @property
    def customer_targets(self) -> TargetPolicy:
        """The address guard for URLs a customer names (link previews, a verified address's callback): public
        addresses, plus only ``WIDGET_CUSTOMER_URL_ALLOWED_NETWORKS``. Not the webhooks' allowance: an operator who
        lets their own bot's webhooks reach 127.0.0.1 has not opened the host's loopback to every anonymous visitor."""
        if self._customer_targets is None:
            self._customer_targets = TargetPolicy(parse_networks(self.settings.customer_url_allowed_networks))
        return self._customer_targets

    @property
    def links(self) -> LinkPreviews:
        """Link previews, fetched with the customer URLs' address guard (``core/links.py``)."""
        if self._links is None:
            st = self.settings
            self._links = LinkPreviews(self.store.r, GuardedHttp(self.customer_targets, st.url_info_timeout),
                                       st.url_info_max_bytes, st.url_info_cache_seconds, st.url_info_per_minute)
        return self._links

    # --- helpers -------------------------------------------------------------------------------------------------

    async def _chat_for(self, caller: Caller, chat_id: str) -> dict[str, str]:
        chat = await self.store.chat(chat_id)
        if chat is None or chat.get("org") != caller.org:
            raise ApiError("not_found", "Chat not found")
        if chat.get("customer_id") != caller.customer_id:
            raise ApiError("authorization", "Requester is not a user of this chat")
        return chat

    def _send_checks(self, caller: Caller) -> tuple[str, str]:
        return caller.customer_id, ""

    # --- session -------------------------------------------------------------------------------------------------

    async def login(self, caller: Caller, req: c.LoginRequest) -> c.LoginResponse:
        cid = caller.customer_id
        await self.store.ensure_customer(cid, caller.org, now_rfc3339())
        if req.customer:
            await self.store.update_customer(cid, self._customer_fields(req.customer))
        rec = await self.store.customer(cid) or {}
        # the tracker owns visits and page views (its visit rule, its retention); chats stay on the customer
        page = req.customer_page
        client = caller.client or _NO_CLIENT
        activity = (await self.tracker.page_view(caller.org, cid, page.url, page.title, req.referrer, client.user_agent,
                                                 client.ip, client.geo) if page
                    else await self.tracker.touch(caller.org, cid, req.referrer, client.user_agent, client.ip,
                                                  client.geo))
        rec["visits_count"] = str(activity.statistics.visits_count)
        rec["page_views_count"] = str(activity.statistics.page_views_count)
        chat_rows = await self.store.customer_chat_ids(cid)
        login_chats = []
        has_active = False
        for chat in await self.store.chats([chat_id for chat_id, _ in chat_rows]):
            if not chat:
                continue
            has_active = has_active or bool(chat.get("active_thread"))
            seen = chat.get(f"seen:{cid}")
            last_event = int(chat.get("last_event_ms") or 0)
            unread = last_event > 0 and (not seen or rfc3339_to_ms(seen) < last_event)
            login_chats.append(c.LoginChat(chat_id=chat["id"], has_unread_events=unread))
        online = await self._online_group_ids(caller.org)
        group = req.group_id if req.group_id is not None else caller.group_id
        base = caller.base_url
        await self._side_storage(caller, req.customer_side_storage, activity.statistics.visits_count)
        return c.LoginResponse(
            customer=c.LoginCustomerInfo(
                id=cid,
                name=rec.get("name"),
                email=rec.get("email"),
                avatar=rec.get("avatar"),
                session_fields=_fields_decoder.decode(rec.get("session_fields") or "[]"),
                statistics=self._statistics(rec),
            ),
            has_active_thread=has_active,
            chats=login_chats,
            priv_dynamic_config=c.PrivDynamicConfig(
                online_groups_ids=online,
                customer_groups=c.CustomerGroups(
                    monitoring=c.MonitoringGroup(
                        id=group,
                        static_config_url=f"{base}/v{caller.version}/customer/action/get_configuration"
                        f"?organization_id={caller.org}&group_id={group}",
                        language_config_url=f"{base}/v{caller.version}/customer/action/get_localization"
                        f"?organization_id={caller.org}&group_id={group}",
                    )
                ),
            ),
        )

    async def _side_storage(self, caller: Caller, stored: dict[str, Any] | None, visits: int) -> None:
        """``customer_side_storage_updated`` (LiveChat's sample: ``{"customer_visits": "1"}``): what this server
        asks the client to keep and send back in its next ``login``, pushed to the customer's sockets when it
        differs from what the login brought. Nothing of it is stored on the server."""
        wanted = {"customer_visits": str(visits)}
        if all(stored is not None and stored.get(k) == v for k, v in wanted.items()):
            return
        kept = {k: v for k, v in (stored or {}).items() if isinstance(v, str)}
        push = self.bus.publish([caller.customer_id], "customer_side_storage_updated",
                                p.CustomerSideStorageUpdated({**kept, **wanted}))
        # sent once the login's answer has gone out (the transport answers as soon as this returns): a client
        # learns it is logged in before it hears pushes
        task = asyncio.get_running_loop().create_task(push)
        _background.add(task)
        task.add_done_callback(_settled)

    @staticmethod
    def _statistics(rec: dict[str, str]) -> Statistics:
        return Statistics(**{f: int(rec.get(f) or 0) for f in Statistics.__struct_fields__})

    @staticmethod
    def _customer_fields(data: Any) -> dict[str, str]:
        fields: dict[str, str] = {}
        for name in ("name", "email", "avatar", "phone_number"):
            value = getattr(data, name, None)
            if value is not None:
                fields[name] = value
        if getattr(data, "session_fields", None) is not None:
            fields["session_fields"] = _encode(data.session_fields).decode()
        if getattr(data, "address", None) is not None:
            fields["address"] = _encode(data.address).decode()
        return fields

    async def _online_group_ids(self, org: str) -> list[int]:
        """Groups open by their business hours with an agent accepting chats."""
        return await self.availability.online_groups(org)

    async def list_group_statuses(self, caller: Caller, req: c.ListGroupStatusesRequest) -> c.ListGroupStatusesResponse:
        if not req.all and req.group_ids is None:
            raise ApiError("validation", "`all` or `group_ids` is required")
        config = await self.store.license_config(caller.org)
        known = [g.id for g in config.groups]
        wanted = known if req.all else [g for g in req.group_ids or [] if g in set(known)]
        online = set(await self._online_group_ids(caller.org))
        return c.ListGroupStatusesResponse({str(g): "online" if g in online else "offline" for g in wanted})

    # --- chats ---------------------------------------------------------------------------------------------------

    async def start_chat(self, caller: Caller, req: c.StartChatRequest) -> c.StartChatResponse:
        spec = req.chat or c.InitialChat()
        group_ids = await self._auto_access_groups(caller, spec.access) or await self._group_ids(caller, spec.access)
        access = Access(group_ids=group_ids)
        thread = spec.thread or c.InitialThread()
        chat_props = spec.properties or {}
        active = await self._thread_active(caller, group_ids[0], req.active)
        for _ in range(5):
            chat_id = short_id()
            chat_fields = {
                "id": chat_id, "org": caller.org, "customer_id": caller.customer_id, "created_at": now_rfc3339(),
                "access": _encode(access).decode(), "properties": _encode(chat_props).decode(),
                "continuous": "1" if req.continuous else "0",
            }
            # a chat's start is several writes (the chat, its events, the indexes, routing): noted in flight, so a
            # worker that dies midway leaves the rest to the repair pass (core/repair.py)
            operation = f"start {chat_id}"
            await self.router.begin(caller.org, operation)
            try:
                thread_id, _, events, _ = await self._open_thread(
                    caller, caller.customer_id, mode="start", chat_id=chat_id, active=active, access=access,
                    thread_props=thread.properties or {}, chat_fields=chat_fields, events=thread.events,
                )
                break
            except StoreError as exc:
                await self.router.done(caller.org, operation)
                if exc.code != "chat_exists":
                    raise
        else:  # pragma: no cover - 5 collisions in a 36^10 space
            raise ApiError("internal", "Could not allocate a chat id")
        await self.store.update_customer(caller.customer_id, {}, {"chats_count": 1, "threads_count": 1})
        await self.tracker.chat_started(caller.org, caller.customer_id)
        chat = await self.store.chat(chat_id) or {}
        await self._incoming_chat_to(caller, chat, thread_id, self._recipients(chat), webhook=True)
        if active:
            await self._route(caller, chat_id, thread_id, group_ids[0])
        else:
            await self._offline_ticket(caller, chat, thread_id, group_ids[0], events)
        await self.router.done(caller.org, operation)
        return c.StartChatResponse(chat_id=chat_id, thread_id=thread_id,
                                   event_ids=[e.id for e in events] if events else None)

    async def _auto_access_groups(self, caller: Caller, access: Access | None) -> list[int] | None:
        """The groups of the license's first auto access rule that matches the customer's current page and location
        (``core/auto_access.py``), for a chat that names no group or only the customer's own (the widget sends the
        group it was loaded for with every chat): a chat started for another group keeps it, as LiveChat's
        ``chat.access`` overrides auto access. None when no rule matches (or the license has none)."""
        if access is not None and access.group_ids and access.group_ids != [caller.group_id]:
            return None
        config = await self.store.license_config(caller.org)
        if not config.auto_accesses:
            return None
        visitor = await self.tracker.visitor(caller.org, caller.customer_id)
        url = visitor.last_pages[-1].url if visitor is not None and visitor.last_pages else None
        place = {"country": "", "country_code": "", "region": "", "city": ""}
        if visitor is not None:
            place = {name: getattr(visitor.visit, name) for name in place}
        return auto_access.groups_for(config, url, place)

    async def _thread_active(self, caller: Caller, group_id: int, wanted: bool) -> bool:
        """Outside the group's business hours nothing is routed or queued: the thread is stored inactive, as the
        widget's offline form stores its message (``active: false``), whatever agents are accepting chats."""
        if not wanted:
            return False
        return self.availability.hours_open(await self.store.license_config(caller.org), group_id)

    async def _after_resume(self, caller: Caller, chat_id: str, thread_id: str, access: Access) -> None:
        await self._route(caller, chat_id, thread_id, access.group_ids[0])

    def _closing_message(self, caller: Caller, now: str) -> SystemMessage:
        return SystemMessage(text="Chat closed by the customer", system_message_type="manual_archived_customer",
                             created_at=now, recipients="all", text_vars={"customer": caller.customer_id})

    async def list_chats(self, caller: Caller, req: c.ListChatsRequest) -> c.ListChatsResponse:
        rows, total, next_page, _ = await self._chats_page(
            keys.customer_chats(caller.customer_id), caller.customer_id, req.page_id, req.sort_order, req.limit, 10)
        me = await self.store.customer(caller.customer_id) or {}
        return c.ListChatsResponse(chats_summary=await self._summaries(rows, me), total_chats=total,
                                   next_page_id=next_page)

    # --- events --------------------------------------------------------------------------------------------------

    async def send_sneak_peek(self, caller: Caller, req: c.SendSneakPeekRequest) -> c.Empty:
        chat = await self._chat_for(caller, req.chat_id)
        thread_id = chat.get("active_thread")
        if not thread_id:
            raise ApiError("chat_inactive", "Chat is not active")
        agents = self._recipients(chat)[1:]
        if agents:  # sneak peeks are for agents only; the customer never gets one
            peek = p.IncomingSneakPeek(req.chat_id, thread_id, p.SneakPeek(caller.customer_id, req.sneak_peek_text, int(time.time())))
            await self._push(caller, agents, "incoming_sneak_peek", peek)
        return _EMPTY

    async def upload_file(self, caller: Caller, file: UploadedFile) -> c.UploadFileResponse:
        if len(file.data) > self.settings.upload_max_bytes:
            raise ApiError("entity_too_large", f"File is larger than {self.settings.upload_max_bytes} bytes")
        name, content_type, dims = file_rules.check(file.name, file.content_type, file.data)
        file_id = uuid_id()
        url = f"{caller.base_url}/files/{caller.org}/{file_id}/{quote(name)}"
        # the record is bound to its license (the key) and its uploader; a file event takes its url and metadata
        # from here, never from the client (``ChatBase._resolve_file``)
        meta = {"name": name, "content_type": content_type, "size": len(file.data), "customer_id": caller.customer_id,
                "url": url}
        if dims:
            meta["width"], meta["height"] = dims
        st = self.settings
        address = address_key(caller.client.ip if caller.client else None)
        refused = await self.store.put_upload(
            caller.org, file_id, meta, file.data, st.upload_ttl, caller.customer_id, address,
            (st.upload_customer_bytes_per_hour, st.upload_address_bytes_per_hour, st.upload_license_pending_bytes))
        if refused == "license":
            raise ApiError("limit_reached", "The license holds too many files not sent yet; try again later")
        if refused != "ok":
            who = "you" if refused == "customer" else "your address"
            raise ApiError("too_many_requests", f"Too many bytes uploaded by {who} this hour",
                           {"retry_after": 3600 - int(time.time()) % 3600})
        return c.UploadFileResponse(url=url)

    # --- customer ------------------------------------------------------------------------------------------------

    async def get_customer(self, caller: Caller, req: c.Empty) -> Customer:
        rec = await self.store.customer(caller.customer_id) or {}
        return customer_view(caller.customer_id, rec)

    async def _customer_updated(self, caller: Caller, fields: dict[str, str]) -> None:
        await self.store.update_customer(caller.customer_id, fields)
        partial = msgspec.to_builtins(customer_view(caller.customer_id, fields))
        partial = {k: v for k, v in partial.items() if k in fields or k in ("id", "type")}
        users = [caller.customer_id]
        chat_ids = [chat_id for chat_id, _ in await self.store.customer_chat_ids(caller.customer_id)]
        for chat in await self.store.chats(chat_ids):
            if chat and chat.get("active_thread"):
                users += self._recipients(chat)[1:]
        await self._push(caller, users, "customer_updated", partial)

    async def update_customer(self, caller: Caller, req: c.UpdateCustomerRequest) -> c.Empty:
        fields = self._customer_fields(req)
        if not fields and req.name_is_default is None and req.omnichannel is None:
            raise ApiError("validation", "At least one customer field is required")
        if fields:
            await self._customer_updated(caller, fields)
            if fields.get("email") and self.tickets is not None:  # e.g. answering the chat's "ask for email"
                await self.tickets.attach_email(caller.customer_id, fields["email"])
        return _EMPTY

    async def send_transcript(self, caller: Caller, req: tk.SendTranscriptRequest) -> c.Empty:
        """This server's extension: e-mail the chat's transcript to the customer's own address (set with
        ``update_customer``), at most ``WIDGET_TRANSCRIPTS_PER_HOUR`` times an hour."""
        chat = await self._chat_for(caller, req.chat_id)
        if self.transcripts is None or not self.transcripts.tickets.mailer.enabled:
            raise ApiError("not_allowed", "This server sends no e-mail")
        customer = await self.store.customer(caller.customer_id) or {}
        if not valid_email(customer.get("email", "")):
            raise ApiError("validation", "No e-mail address is known for this customer: set it with update_customer")
        await self.transcripts.count(caller.customer_id)
        if not await self.transcripts.send(caller.org, chat):
            raise ApiError("too_many_requests", "The license's outbox is full; try again later")
        return _EMPTY

    async def set_customer_session_fields(self, caller: Caller, req: c.SetCustomerSessionFieldsRequest) -> c.Empty:
        for pair in req.session_fields:
            if len(pair) != 1:
                raise ApiError("validation", "session_fields: each item must hold exactly one key")
        await self._customer_updated(caller, {"session_fields": _encode(req.session_fields).decode()})
        # LiveChat's customer_session_fields_updated webhook: one per active chat of the customer (no push)
        if await self.webhooks.wanted(caller.org, "customer_session_fields_updated"):
            chat_ids = [chat_id for chat_id, _ in await self.store.customer_chat_ids(caller.customer_id)]
            for chat_id, chat in zip(chat_ids, await self.store.chats(chat_ids)):
                if chat and chat.get("active_thread"):
                    payload = {"id": caller.customer_id, "session_fields": req.session_fields,
                               "active_chat": {"chat_id": chat_id, "thread_id": chat["active_thread"]}}
                    await self.webhooks.emit(caller.org, "customer_session_fields_updated", payload, chat)
        return _EMPTY

    async def update_customer_page(self, caller: Caller, req: c.UpdateCustomerPageRequest) -> c.UpdateCustomerPageResponse:
        client = caller.client or _NO_CLIENT
        await self.tracker.page_view(caller.org, caller.customer_id, req.url, req.title, None, client.user_agent,
                                     client.ip, client.geo)
        return c.UpdateCustomerPageResponse()

    async def activate_customer_page(self, caller: Caller, req: c.Empty) -> c.Empty:
        await self.store.update_customer(caller.customer_id, {"page_focused": "1"})
        return _EMPTY

    async def deactivate_customer_page(self, caller: Caller, req: c.Empty) -> c.Empty:
        await self.store.update_customer(caller.customer_id, {"page_focused": "0"})
        return _EMPTY

    # --- 3.6 breadth: deleting events, link previews, e-mail verification, properties, prediction -----------------

    async def delete_event(self, caller: Caller, req: c.DeleteEventRequest) -> c.Empty:
        """The customer's own event leaves every Customer Chat API answer (threads, ``list_chats``' last events);
        agents keep it (a placeholder for the ``normal`` role, ``deleted: true`` for administrators). Pushes
        ``event_deleted`` to the chat's customer and agents and the license's webhooks. Deleting it again answers
        ``{}`` with nothing pushed twice (a client retrying after a lost answer)."""
        only_in_36(caller, "delete_event")
        chat = await self._chat_for(caller, req.chat_id)
        parsed = split_event_id(req.event_id)
        if parsed is None or parsed[0] != req.thread_id:
            raise ApiError("not_found", "Event not found")
        me = caller.customer_id

        def mark(event: Any) -> Any:
            if not isinstance(event, dict) or event.get("visibility") == "agents" or event.get("recipients") == "agents":
                raise ApiError("not_found", "Event not found")  # what the customer cannot see, they cannot name
            if event.get("deleted"):
                raise _AlreadyDeleted
            if event.get("author_id") != me or event.get("type") == "system_message":
                raise ApiError("authorization", "Customers may delete only their own events")
            event["deleted"] = True
            return event

        try:
            event = await self.store.update_json_field(keys.thread_events(req.chat_id, req.thread_id), str(parsed[1]),
                                                       mark)
        except _AlreadyDeleted:
            return _EMPTY
        except StoreError:
            raise ApiError("not_found", "Event not found") from None

        def hide_last(last: Any) -> Any:  # list_chats' copy of the chat's last event of this type
            if not isinstance(last, dict) or (last.get("event") or {}).get("id") != req.event_id:
                raise _AlreadyDeleted  # (another event is the last one now: nothing to change)
            last["event"]["deleted"] = True
            return last

        try:
            await self.store.update_json_field(keys.chat_last_events(req.chat_id), str(event.get("type")), hide_last)
        except (_AlreadyDeleted, StoreError):
            pass
        await self._push(caller, self._recipients(chat), "event_deleted",
                         p.EventDeleted(req.chat_id, req.thread_id, req.event_id), chat)
        return _EMPTY

    async def get_url_info(self, caller: Caller, req: c.GetUrlInfoRequest) -> c.UrlInfo:
        """A link preview: the page's title, description and image (``core/links.py``)."""
        return await self.links.info(caller.customer_id, req.url, time.time())

    async def request_email_verification(self, caller: Caller, req: c.RequestEmailVerificationRequest) -> c.Empty:
        """Mail the customer's address (set with ``update_customer``) a signed link; following it marks the address
        verified (``email_verified``) and POSTs ``{email, customer_id, organization_id}`` to ``callback_uri`` (the
        webhooks' address guard, no redirect, no retry). An address verified already gets the callback at once.
        At most ``WIDGET_EMAIL_VERIFICATIONS_PER_HOUR`` mails an hour per customer."""
        target = urlsplit(req.callback_uri)
        if target.scheme not in ("http", "https") or not target.hostname:
            raise ApiError("validation", "callback_uri: an http:// or https:// URL with a host is required")
        refused = self.customer_targets.registration_error(req.callback_uri)
        if refused:
            raise ApiError("validation", "callback_uri: " + refused.partition(": ")[2])
        customer = await self.store.customer(caller.customer_id) or {}
        email = valid_email(customer.get("email", ""))
        if not email:
            raise ApiError("validation", "No e-mail address is known for this customer: set it with update_customer")
        claims = EmailVerification(caller.org, caller.customer_id, email, req.callback_uri,
                                   int(time.time()) + self.settings.email_verification_days * 86400)
        if customer.get("email_verified") == email:
            # the callback at once, bounded like the mails (in Valkey: every worker counts): else a verified customer
            # could have this server POST to any public URL as fast as the write limits of each worker allow
            limit = self.settings.email_verifications_per_hour
            counter = keys.email_verification_callbacks(caller.customer_id, int(time.time() // 3600))
            if await hourly_count(self.store.r, counter) > limit:
                raise ApiError("too_many_requests", f"At most {limit} verification callbacks an hour")
            await self._verified_callback(claims)
            return _EMPTY
        mailer = self.tickets.mailer if self.tickets is not None else None
        if mailer is None or not mailer.enabled:
            raise ApiError("not_allowed", "This server sends no e-mail")
        # The mailed link's base is the operator's WIDGET_PUBLIC_URL, never the request's own: that comes from the
        # Host header a caller chooses, and would make this server mail anyone a link to the caller's site.
        public_url = self.settings.public_url.rstrip("/")
        if not public_url:
            raise ApiError("not_allowed", "Verification mails need WIDGET_PUBLIC_URL (the base of the mailed link)")
        limit = self.settings.email_verifications_per_hour
        hour = int(time.time() // 3600)
        if await hourly_count(self.store.r, keys.email_verifications(caller.customer_id, hour)) > limit:
            raise ApiError("too_many_requests", f"At most {limit} verification mails an hour")
        # the same bound per address mailed, whoever asks: new visitor identities are cheap, so a per-customer bound
        # alone would let anyone mail one victim's address without end
        mailed = hashlib.sha256(email.lower().encode()).hexdigest()
        if await hourly_count(self.store.r, keys.email_verifications_to(mailed, hour)) > limit:
            raise ApiError("too_many_requests", f"At most {limit} verification mails an hour to one address")
        link = f"{public_url}{EMAIL_VERIFICATION_PATH}?token={self.signer.sign(EMAIL_VERIFICATION_PURPOSE, claims)}"
        days = self.settings.email_verification_days
        config = await self.store.license_config(caller.org)
        site = (await self.store.license(caller.org) or {}).get("name") or "widget_server"
        try:
            await mailer.enqueue(caller.org, notification(
                # no name: whoever asks chooses it, and this mail goes to an address nobody has confirmed yet (a
                # stranger's), so it carries none of the asker's text
                to=[email], subject="Confirm your e-mail address", site=site, name=None,
                lang=next((g.language for g in config.groups if g.id == caller.group_id), config.language),
                paragraphs=[f"Please confirm that {email} is your e-mail address.",
                            f"The link is valid for {days} days. If you did not ask for this, ignore this message."],
                action_url=link, action_label="Confirm my e-mail address"))
        except OutboxFull:
            raise ApiError("too_many_requests", "The license's outbox is full; try again later") from None
        except MailOff:
            raise ApiError("not_allowed", "This server sends no e-mail") from None
        return _EMPTY

    async def confirm_email(self, token: str) -> bool:
        """A verification link was followed: the address is verified if the token is good, unexpired and still the
        customer's address (a changed address needs a new link); then the callback is called. False otherwise."""
        claims = self.signer.unsign(EMAIL_VERIFICATION_PURPOSE, token, EmailVerification)
        if claims is None or claims.exp < time.time():
            return False
        customer = await self.store.customer(claims.cid)
        if not customer or customer.get("email") != claims.email:
            return False
        if customer.get("email_verified") == claims.email:
            # confirmed before: no second callback. The link is good for days and this page takes no token, so
            # calling back on every POST would let whoever holds a link make this server POST to its callback_uri
            # without end (request_email_verification calls back a verified address again, under the write limits)
            return True
        await self._customer_updated(
            Caller(org=claims.org, customer_id=claims.cid, version="3.6", transport="web", base_url=""),
            {"email": claims.email, "email_verified": claims.email})
        await self._verified_callback(claims)
        return True

    async def _verified_callback(self, claims: EmailVerification) -> None:
        body = _encode({"email": claims.email, "customer_id": claims.cid, "organization_id": claims.org})
        status = await GuardedHttp(self.customer_targets, self.settings.webhook_timeout).post_json(claims.callback, body)
        if not 200 <= status < 300:
            log.info("e-mail verification callback answered %s", status or "nothing")

    async def send_greeting_button_clicked(self, caller: Caller, req: c.SendGreetingButtonClickedRequest) -> c.Empty:
        """A button of a greeting shown to this customer was clicked: one more click in the greeting's statistics
        (``get_greeting``'s ``statistics.button_clicks``). The ``greeting_unique_id`` is signed for this customer
        (``core/greetings.py``): nobody counts clicks on greetings they were not shown."""
        only_in_36(caller, "send_greeting_button_clicked")
        claims = greetings.read_unique_id(self.signer, req.greeting_unique_id, caller.org, caller.customer_id,
                                          int(time.time()))
        await self.store.r.hincrby(keys.greeting_stats(caller.org), f"{claims.gid}:button_clicks", 1)
        return _EMPTY

    async def _public_properties(self, caller: Caller, group_id: int | None) -> dict[str, dict[str, Any]]:
        """The license's (``group_id`` None) or a group's property values a customer may read, registered defaults
        included (``core/properties.py``): a registered property only with the customer's ``read`` right in that
        location; an unregistered one as ``get_configuration`` shows it to every visitor."""
        config = await self.store.license_config(caller.org)
        if group_id is None:
            location, values = "license", config.license_properties
        else:
            if group_id not in {g.id for g in config.groups}:
                raise ApiError("group_not_found", f"Group {group_id} not found")
            location, values = "group", config.group_properties.get(str(group_id), {})
        out: dict[str, dict[str, Any]] = {}
        for ns, props in properties.with_defaults(config, location, values).items():
            registered = config.property_definitions.get(ns) or {}
            for name, value in props.items():
                defn = registered.get(name)
                rights = defn.access.get(location) if defn is not None else None  # type: ignore[call-overload]
                if defn is not None and (rights is None or "read" not in (rights.customer or ())):
                    continue
                out.setdefault(ns, {})[name] = value
        return out

    @staticmethod
    def _select(props: dict[str, dict[str, Any]], namespace: str | None, name: str | None) -> dict[str, dict[str, Any]]:
        out = {}
        for ns, values in props.items():
            if namespace is not None and ns != namespace:
                continue
            picked = {k: v for k, v in values.items() if name is None or k == name}
            if picked:
                out[ns] = picked
        return out

    async def list_license_properties(self, caller: Caller, req: c.ListLicensePropertiesRequest) -> dict[str, Any]:
        """The license's properties (the ones ``get_configuration`` shows every visitor), by namespace and name."""
        return self._select(await self._public_properties(caller, None), req.namespace, req.name)

    async def list_group_properties(self, caller: Caller, req: c.ListGroupPropertiesRequest) -> dict[str, Any]:
        group_id = req.id if req.id is not None else req.group_id
        if group_id is None:
            raise ApiError("validation", "id: the group's id is required")
        return self._select(await self._public_properties(caller, group_id), req.namespace, req.name)

    async def get_predicted_agent(self, caller: Caller, req: c.Empty) -> c.GetPredictedAgentResponse:
        """The agent routing would give the customer's chat now (``route_chat``'s choice, made without counting
        anything), or ``queue: true`` when the group's accepting agents are all at their limit; ``group_offline``
        when nobody accepts chats in it (or its business hours are closed)."""
        group_id = caller.group_id
        config = await self.store.license_config(caller.org)
        if group_id not in {g.id for g in config.groups}:
            raise ApiError("group_not_found", f"Group {group_id} not found")
        if not self.availability.hours_open(config, group_id) \
                or not await self.router.accepting_agents(caller.org, group_id):
            raise ApiError("group_offline", "Group is offline")
        agent_id = await self.router.predict(caller.org, group_id)
        if agent_id is None:
            return c.GetPredictedAgentResponse(queue=True)
        rec = (await self.store.agents(caller.org, [agent_id])).get(agent_id) or {"id": agent_id}
        return c.GetPredictedAgentResponse(queue=False, agent=c.PredictedAgent(
            id=agent_id, name=rec.get("name") or agent_id, avatar=rec.get("avatar") or "",
            is_bot=rec.get("type") == "bot", job_title=rec.get("job_title") or "",
            type="bot" if rec.get("type") == "bot" else "agent"))

    # --- configuration -------------------------------------------------------------------------------------------

    async def get_form(self, caller: Caller, req: c.GetFormRequest) -> c.GetFormResponse:
        config = await self.store.license_config(caller.org)
        if req.group_id not in {g.id for g in config.groups}:
            raise ApiError("group_not_found", f"Group {req.group_id} not found")
        if req.type in ("ticket", "offline"):
            # the offline form is always on: an offline group shows it whatever the setting says (as the widget
            # and get_configuration's ticket_form do)
            return c.GetFormResponse(enabled=True, form=config.ticket.form if config.ticket and config.ticket.form
                                     else DEFAULT_TICKET)
        setting = config.prechat if req.type == "prechat" else config.postchat
        if setting is None:
            setting = cfg.FormSetting(enabled=False)
        if not setting.enabled:
            return c.GetFormResponse(enabled=False)
        default = DEFAULT_PRECHAT if req.type == "prechat" else DEFAULT_POSTCHAT
        return c.GetFormResponse(enabled=True, form=setting.form or default)

    async def check_goals(self, caller: Caller, req: c.CheckGoalsRequest) -> c.Empty:
        if req.session_fields is not None:
            await self.store.update_customer(caller.customer_id, {"session_fields": _encode(req.session_fields).decode()})
        return _EMPTY

    # --- greetings and the welcome message ----------------------------------------------------------------------

    async def _greeting_audience(self, caller: Caller, claims: greetings.GreetingClaims) -> list[str]:
        """Who hears of a greeting's answer: the agent it was sent as, else the agents of its group accepting chats."""
        config = await self.store.license_config(caller.org)
        template = next((g for g in config.greetings if g.id == claims.gid), None)
        if template is not None and template.agent_id:
            return [template.agent_id]
        group = template.group if template is not None else caller.group_id
        return await self.router.accepting_agents(caller.org, group)

    async def accept_greeting(self, caller: Caller, req: c.AcceptGreetingRequest) -> c.Empty:
        """The visitor took up a greeting (the widget opens the chat): ``greeting_accepted`` to its agents. The
        ``unique_id`` is signed for this customer (``core/greetings.py``): nothing is looked up or stored for it."""
        claims = greetings.read_unique_id(self.signer, req.unique_id, caller.org, caller.customer_id, int(time.time()))
        if claims.gid != req.greeting_id:
            raise ApiError("greeting_not_found", "Greeting not found")
        # (the record made if a visitor's expired meanwhile, with its expiry: never a record that outlives them)
        await self.store.ensure_customer(caller.customer_id, caller.org, now_rfc3339())
        await self.store.update_customer(caller.customer_id, {}, {"greetings_accepted_count": 1})
        await self.bus.publish(await self._greeting_audience(caller, claims), "greeting_accepted",
                               p.GreetingUnique(unique_id=req.unique_id, customer_id=caller.customer_id))
        return _EMPTY

    async def cancel_greeting(self, caller: Caller, req: c.CancelGreetingRequest) -> c.Empty:
        """The visitor dismissed a greeting: ``greeting_canceled`` to its agents."""
        claims = greetings.read_unique_id(self.signer, req.unique_id, caller.org, caller.customer_id, int(time.time()))
        await self.bus.publish(await self._greeting_audience(caller, claims), "greeting_canceled",
                               p.GreetingUnique(unique_id=req.unique_id, customer_id=caller.customer_id))
        return _EMPTY

    async def request_welcome_message(self, caller: Caller,
                                      req: c.RequestWelcomeMessageRequest) -> c.RequestWelcomeMessageResponse:
        """The widget opens: answers with the agent a chat would likely get, then pushes ``incoming_welcome_message``
        to the customer's connections: the group's welcome text, the agents online (names, avatars) and the
        group's recent median first response (``typical_reply_seconds``)."""
        config = await self.store.license_config(caller.org)
        group_id = req.group_id if req.group_id is not None else caller.group_id
        group = next((g for g in config.groups if g.id == group_id), None)
        if group is None:
            raise ApiError("group_not_found", f"Group {group_id} not found")
        online = self.availability.hours_open(config, group_id)
        agent_ids = await self.router.accepting_agents(caller.org, group_id) if online else []
        records = await self.store.agents(caller.org, agent_ids[:WELCOME_AGENTS])
        agents = [p.WelcomeAgent(id=a["id"], name=a.get("name") or "", avatar=a.get("avatar") or "")
                  for a in records.values()]
        typical = greetings.median(await self.router.first_responses(caller.org, group_id))
        welcome_id = req.id or uuid_id()
        predicted = agents[0] if agents else None
        event = {"id": welcome_id, "created_at": now_rfc3339(), "type": "message",
                 "text": group.welcome_message or DEFAULT_WELCOME, "author_id": predicted.id if predicted else ""}
        await self.bus.publish([caller.customer_id], "incoming_welcome_message",
                               p.IncomingWelcomeMessage(id=welcome_id, event=event, agents=agents,
                                                        typical_reply_seconds=typical))
        return c.RequestWelcomeMessageResponse(
            id=welcome_id, queue=False,
            predicted_agent=c.PredictedAgent(id=predicted.id, name=predicted.name, avatar=predicted.avatar)
            if predicted else None)

    @staticmethod
    def _version_of(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()[:16]

    async def get_dynamic_configuration(self, caller: Caller, req: cfg.DynamicConfigRequest) -> Any:
        config = await self.store.license_config(caller.org)
        group_id = req.group_id if req.group_id is not None else caller.group_id
        if group_id not in {g.id for g in config.groups}:
            raise ApiError("group_not_found", f"Group {group_id} not found")
        domain_allowed = True
        if req.url and config.allowed_origins:
            parts = urlsplit(req.url)
            domain_allowed = f"{parts.scheme}://{parts.netloc}" in config.allowed_origins
        encoded = _encode(config)
        fields = dict(
            group_id=group_id,
            client_limit_exceeded=False,
            domain_allowed=domain_allowed,
            online_group_ids=await self.availability.online_groups(caller.org, config=config),
            config_version=self._version_of(encoded),
            localization_version=self._version_of(_encode(LOCALIZATION_EN) + config.language.encode()),
            language=next((g.language for g in config.groups if g.id == group_id), config.language),
        )
        if caller.version == "3.5":
            return cfg.DynamicConfig35(organization_id=caller.org, default_widget="livechat", livechat_active=True, **fields)
        return cfg.DynamicConfig36(organization_id=caller.org, default_widget="livechat", livechat_active=True,
                                   livechat=cfg.LiveChatDynamic(**fields))

    async def get_configuration(self, caller: Caller, req: cfg.ConfigurationRequest) -> cfg.Configuration:
        config = await self.store.license_config(caller.org)
        group = next((g for g in config.groups if g.id == req.group_id), None)
        if group is None:
            raise ApiError("group_not_found", f"Group {req.group_id} not found")
        prechat = (config.prechat.form or DEFAULT_PRECHAT) if config.prechat and config.prechat.enabled else None
        postchat = (config.postchat.form or DEFAULT_POSTCHAT) if config.postchat and config.postchat.enabled else None
        ticket = (config.ticket.form if config.ticket and config.ticket.form else DEFAULT_TICKET)
        return cfg.Configuration(
            buttons=[cfg.Button(id="0", type="text", online_value="Chat now", offline_value="Leave a message")],
            integrations={},
            # (a registered property without the customer's read right is not shown to visitors)
            properties=cfg.ConfigurationProperties(group={"name": group.name},
                                                   license=await self._public_properties(caller, None)),
            prechat_form=prechat,
            ticket_form=ticket,
            postchat_form=postchat,
        )

    async def get_localization(self, caller: Caller, req: cfg.LocalizationRequest) -> dict[str, str]:
        return dict(LOCALIZATION_EN)
