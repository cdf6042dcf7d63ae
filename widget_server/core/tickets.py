"""Tickets: an offline message, or a chat nobody took from the queue in time (a missed chat), kept for an agent to
answer by e-mail; the visitor's e-mail replies come back into the same ticket (``api/smtp_inbound.py``).

Storage: one hash per ticket (``keys.ticket``, tagged by the ticket's id): its fields, ``seq`` and the messages
``m:<n>`` as JSON, written by the scripts ``open_ticket`` (once per thread), ``ticket_message`` (the next message, up
to ``MAX_MESSAGES``) and ``ticket_fields``, each of which sets the expiry with its write and never recreates a hash
that expired (no MULTI: a cluster client cannot send one); it expires ``ticket_retention_days`` after its last update
(anyone can leave an offline message, so nothing here is kept for ever). The license finds its tickets in one sorted
set per status and group (``keys.tickets``), pruned of expired entries on every write and skipped when the hash is
gone or says another status (two agents racing to solve and reopen leave at worst an entry a list cleans up).

A ticket's id is the id of the thread it came from, so a thread makes one ticket however often a worker retries.

Missed chats: a thread that goes into a group's queue is noted in one sorted set of deadlines (``keys.MISSED_DUE``)
for the license's queue timeout; every worker looks at the due ones every second, and the one that takes a short
claim (SET NX EX) on a thread decides it: still queued and active, it becomes a ticket (the chat stays queued: an
agent may still take it), and a visitor whose e-mail is unknown is asked for it in the chat. A worker that dies
holding a claim leaves the entry due, for another one once the claim has run out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import time
from typing import Any, Literal

import msgspec
from valkey.exceptions import ResponseError

from .. import keys
from ..auth.reply_address import reply_address
from ..auth.signing import Cursor, Signer
from ..mail import Mailer, MailError, MailOff, OutboxFull, notification
from ..mail.locales import MAIL_TEXTS, mail_language
from ..mail.message import parse_address
from ..protocol import pushes as p
from ..protocol import tickets as tk
from ..protocol.common import now_rfc3339, rfc3339_to_ms
from ..protocol.config import LicenseConfig
from ..protocol.errors import ApiError
from ..protocol.events import FilledForm, Message, SystemMessage
from ..settings import Settings
from . import scripts
from .bus import Bus
from .limits import read_event, read_properties
from .store import Store, decode_hash

log = logging.getLogger("widget_server.tickets")

MAX_MESSAGES = 200
"""Messages one ticket keeps; past it agents get ``limit_reached`` and e-mail replies a 552."""
MAX_TEXT = 16384
"""Characters of one message (the chat's own limit)."""
FIRST_MESSAGES = 50
"""Messages a new ticket takes from its thread (a missed chat's visitor may have written many)."""
NOTIFY_CHARS = 40_000
"""Characters of the visitor's words a notification quotes (the outbox takes 128 KiB a message, both parts)."""
INBOUND_PER_HOUR = 30
"""E-mail replies one ticket takes per clock hour (a loop between two auto-responders ends here)."""
CLAIM_SECONDS = 60
"""How long a worker's claim on a due queued thread lasts (then another worker may decide it)."""
ASK_FOR_EMAIL = "ask_for_email"
"""``system_message_type`` of the chat message asking a visitor for their e-mail address (the widget renders a small
form for it and saves the answer with ``update_customer``)."""

_message_decoder = msgspec.json.Decoder(tk.TicketMessage)
_encode = msgspec.json.encode


def group_language(config: LicenseConfig, group_id: int) -> str:
    """The language the group's widget speaks: what mail to its visitors is written in."""
    return next((g.language for g in config.groups if g.id == group_id and g.language), config.language)


def _answer_text(answer: Any) -> str:
    if isinstance(answer, str):
        return answer
    if isinstance(answer, dict):
        return str(answer.get("label") or answer.get("id") or "")
    if isinstance(answer, bool):
        return "yes" if answer else "no"
    return "" if answer is None else str(answer)


def valid_email(value: str) -> str:
    """The address part of ``value`` if it is one well-formed e-mail address, else ""."""
    try:
        return parse_address(value).addr_spec if value else ""
    except MailError:
        return ""


def visitor_words(events: list[Any], customer_id: str) -> tuple[list[str], str, str]:
    """What the customer wrote in ``events`` (messages, and the answers of a filled ticket or pre-chat form, a
    textarea's answer as it is and others as ``label answer``), and the e-mail address and name the forms gave."""
    texts: list[str] = []
    email = name = ""
    for ev in events:
        if ev.author_id not in (None, customer_id):
            continue
        if isinstance(ev, Message) and ev.text.strip():
            texts.append(ev.text.strip())
        elif isinstance(ev, FilledForm):
            lines = []
            for field in ev.fields:
                answer = _answer_text(field.answer) or ", ".join(_answer_text(a) for a in field.answers or [])
                answer = answer.strip()
                if not answer or field.type == "header":
                    continue
                if field.type == "email":
                    email = valid_email(answer) or email
                elif field.type == "name":
                    name = answer[:200]
                elif field.type == "textarea" or field.id == "message":
                    lines.append(answer)
                else:
                    lines.append(f"{field.label or field.id} {answer}".strip())
            if lines:
                texts.append("\n".join(lines))
    return texts, email, name


def _subject(texts: list[str], fallback: str) -> str:
    first = next((line.strip() for t in texts for line in t.splitlines() if line.strip()), "")
    first = re.sub(r"[\x00-\x1f\x7f]", " ", first)
    return (first[:77] + "…") if len(first) > 78 else (first or fallback)


async def hourly_count(valkey: Any, counter: str) -> int:
    """Count one more in an hour's counter: incremented and given its expiry in one round trip (``NX``: the first)."""
    async with valkey.pipeline(transaction=False) as pipe:
        pipe.incr(counter)
        pipe.expire(counter, 3600, nx=True)
        count, _ = await pipe.execute()
    return int(count)


class Tickets:
    """Tickets of every license on Valkey, their mail, and the missed-chat timer."""

    def __init__(self, valkey: Any, store: Store, bus: Bus, signer: Signer, settings: Settings,
                 mailer: Mailer) -> None:
        self.r = valkey
        self.store = store
        self.bus = bus
        self.signer = signer
        self.settings = settings
        self.mailer = mailer
        self.ttl = int(settings.ticket_retention_days * 86400)
        self._open = scripts.register(valkey, "open_ticket")
        self._message = scripts.register(valkey, "ticket_message")
        self._fields = scripts.register(valkey, "ticket_fields")

    # --- records -------------------------------------------------------------------------------------------------

    @staticmethod
    def _ticket(tid: str, h: dict[str, str], messages: bool = False) -> tk.Ticket:
        msgs = None
        if messages:
            found = sorted((int(k[2:]), v) for k, v in h.items() if k.startswith("m:") and k[2:].isdigit())
            # a message's id is its place (field m:<n>), which the script that appends it decides
            msgs = [msgspec.structs.replace(_message_decoder.decode(v), id=f"{tid}_{n}") for n, v in found]
        return tk.Ticket(id=tid, status=h.get("status", "open"), source=h.get("source", "offline_message"),  # type: ignore[arg-type]
                         chat_id=h.get("chat_id", ""), thread_id=h.get("thread_id", ""),
                         customer_id=h.get("customer_id", ""), group_id=int(h.get("group_id") or 0),
                         email=h.get("email", ""), name=h.get("name", ""), subject=h.get("subject", ""),
                         lang=h.get("lang", "en"), created_at=h.get("created_at", ""),
                         updated_at=h.get("updated_at", ""), messages=msgs)

    async def record(self, tid: str) -> dict[str, str] | None:
        raw = await self.r.hgetall(keys.ticket(tid))
        return decode_hash(raw) if raw else None

    async def exists(self, tid: str) -> bool:
        return bool(await self.r.exists(keys.ticket(tid)))

    async def _index(self, org: str, tid: str, status: str, group: int, now_ms: int, new: str = "") -> None:
        """File the ticket under its status (and out of the other one), pruning what the retention dropped; a ``new``
        ticket (its source) is counted in the reports in the same round trip."""
        other = "solved" if status == "open" else "open"
        async with self.r.pipeline(transaction=False) as pipe:
            pipe.zrem(keys.tickets(org, other, group), tid)
            pipe.zadd(keys.tickets(org, status, group), {tid: now_ms})
            pipe.zremrangebyscore(keys.tickets(org, status, group), "-inf", now_ms - self.ttl * 1000)
            if new:
                self.store.reports.count_ticket(pipe, org, group, new, now_ms)
            await pipe.execute()

    async def open_ticket(self, org: str, *, source: Literal["offline_message", "missed_chat"], chat_id: str,
                          thread_id: str, customer_id: str, group_id: int, events: list[Any],
                          config: LicenseConfig) -> tk.Ticket | None:
        """A ticket made from the customer's words in ``events`` (None when the thread made one already, or holds
        nothing the customer wrote), announced to the license's notification address."""
        texts, email, name = visitor_words(events, customer_id)
        if not texts:
            return None
        texts = texts[:FIRST_MESSAGES]
        customer = await self.store.customer(customer_id) or {}
        email = email or valid_email(customer.get("email", ""))
        name = name or customer.get("name", "")[:200]
        tid = thread_id
        now = now_rfc3339()
        now_ms = rfc3339_to_ms(now)
        fallback = "Missed chat" if source == "missed_chat" else "Offline message"
        fields = {"status": "open", "source": source, "chat_id": chat_id, "thread_id": thread_id,
                  "customer_id": customer_id, "group_id": str(group_id), "email": email, "name": name,
                  "subject": _subject(texts, fallback), "lang": group_language(config, group_id),
                  "created_at": now, "updated_at": now, "seq": str(len(texts))}
        via = "form" if source == "offline_message" else "chat"
        for n, text in enumerate(texts, start=1):
            fields[f"m:{n}"] = _encode(tk.TicketMessage(
                id=f"{tid}_{n}", author_id=customer_id, author_type="customer", via=via,  # type: ignore[arg-type]
                text=text[:MAX_TEXT], created_at=now)).decode()
        pairs = [x for item in {**fields, "org": org}.items() for x in item]
        if not await self._open(keys=[keys.ticket(tid)], args=[self.ttl, *pairs]):
            return None  # this thread made its ticket already
        await self._index(org, tid, "open", group_id, now_ms, new=source)
        ticket = self._ticket(tid, {**fields, "org": org}, messages=True)
        await self._notify_license(org, config, ticket, ticket.messages or [], new=True)
        return ticket

    async def add_message(self, tid: str, *, author_id: str, author_type: Literal["customer", "agent"],
                          via: Literal["email", "agent"], text: str,
                          status: str | None = None) -> tuple[dict[str, str], tk.TicketMessage]:
        """Append a message to the ticket's thread (and set its status); StoreError-free: ApiError ``not_found``
        when the ticket is gone, ``limit_reached`` when its thread is full."""
        rec = await self.record(tid)
        if rec is None or "org" not in rec:
            raise ApiError("not_found", "Ticket not found")
        now = now_rfc3339()
        message = tk.TicketMessage(id="", author_id=author_id, author_type=author_type, via=via,
                                   text=text[:MAX_TEXT], created_at=now)
        try:
            n = int(await self._message(keys=[keys.ticket(tid)],
                                        args=[self.ttl, MAX_MESSAGES, _encode(message), now, status or ""]))
        except ResponseError as exc:
            if str(exc).startswith("limit_reached"):
                raise ApiError("limit_reached", f"A ticket keeps at most {MAX_MESSAGES} messages") from None
            if str(exc).startswith("not_found"):
                raise ApiError("not_found", "Ticket not found") from None
            raise
        message = msgspec.structs.replace(message, id=f"{tid}_{n}")
        changes = {f"m:{n}": _encode(message).decode(), "updated_at": now, "seq": str(n)}
        if status:
            changes["status"] = status
        rec.update(changes)
        await self._index(rec["org"], tid, rec["status"], int(rec.get("group_id") or 0), rfc3339_to_ms(now))
        return rec, message

    async def set_status(self, tid: str, status: str) -> dict[str, str]:
        rec = await self.record(tid)
        if rec is None or "org" not in rec:
            raise ApiError("not_found", "Ticket not found")
        now = now_rfc3339()
        if not await self.set_fields(tid, {"status": status, "updated_at": now}):
            raise ApiError("not_found", "Ticket not found")
        await self._index(rec["org"], tid, status, int(rec.get("group_id") or 0), rfc3339_to_ms(now))
        return {**rec, "status": status, "updated_at": now}

    async def set_fields(self, tid: str, fields: dict[str, str]) -> bool:
        """Set fields of a ticket that exists (False when it is gone), restarting its expiry."""
        pairs = [x for item in fields.items() for x in item]
        return bool(await self._fields(keys=[keys.ticket(tid)], args=[self.ttl, *pairs]))

    async def get(self, org: str, tid: str) -> tk.Ticket | None:
        rec = await self.record(tid)
        if rec is None or rec.get("org") != org:
            return None
        return self._ticket(tid, rec, messages=True)

    async def list(self, org: str, status: str, groups: list[int], limit: int,
                   page_id: str | None) -> tk.ListTicketsResponse:
        """The tickets of ``groups`` with ``status``, the latest updated first; pages by a signed cursor."""
        offset = 0
        if page_id:
            cursor = self.signer.unsign("tickets", page_id, Cursor)
            if cursor is None or cursor.kind != "tickets" or cursor.subject != f"{org} {status}":
                raise ApiError("validation", "Invalid page_id")
            offset = int(cursor.pos[0])
        index = [keys.tickets(org, status, g) for g in groups]
        cutoff = int(time.time() * 1000) - self.ttl * 1000
        async with self.r.pipeline(transaction=False) as pipe:
            for key in index:
                pipe.zremrangebyscore(key, "-inf", cutoff)
                pipe.zcard(key)
                pipe.zrevrange(key, 0, offset + limit - 1, withscores=True)
            replies = await pipe.execute()
        found = sum(replies[1::3])
        merged = sorted((entry for rows in replies[2::3] for entry in rows), key=lambda e: (-e[1], e[0]))
        page = [tid.decode() for tid, _ in merged[offset:offset + limit]]
        tickets = []
        for tid in page:
            rec = await self.record(tid)
            if rec is None or rec.get("org") != org or rec.get("status") != status:  # expired or moved meanwhile
                for key in index:
                    if rec is None or rec.get("status") != status:
                        await self.r.zrem(key, tid)
                continue
            tickets.append(self._ticket(tid, rec))
        next_page = None
        if offset + limit < found:
            next_page = self.signer.sign("tickets", Cursor(kind="tickets", subject=f"{org} {status}", desc=True,
                                                          limit=limit, pos=[offset + limit],
                                                          exp=int(time.time()) + 86400))
        return tk.ListTicketsResponse(tickets=tickets, found_tickets=found, next_page_id=next_page)

    # --- mail ----------------------------------------------------------------------------------------------------

    async def _enqueue(self, org: str, make: Any) -> bool:
        """Queue a message made by ``make()``; False (logged) when mail is off, the outbox is full or the message
        cannot be sent (a visitor's address the checks refuse)."""
        try:
            await self.mailer.enqueue(org, make())
            return True
        except MailOff:
            return False
        except (OutboxFull, MailError) as exc:
            log.warning("ticket mail of %s not queued: %s", org, exc)
            return False

    async def _site(self, org: str) -> tuple[dict[str, str], str]:
        lic = await self.store.license(org) or {}
        return lic, lic.get("name") or "widget_server"

    async def _notify_license(self, org: str, config: LicenseConfig, ticket: tk.Ticket,
                              messages: list[tk.TicketMessage], new: bool) -> None:
        """Tell the license's notification address (default: the owner's) about a new ticket or a visitor's reply."""
        lic, site = await self._site(org)
        to = config.tickets.notification_email or lic.get("owner_email", "")
        if not to:
            return
        who = f"{ticket.name} <{ticket.email}>" if ticket.name and ticket.email else ticket.name or ticket.email \
            or "A visitor"
        first = (f"{who} left a new ticket ({'missed chat' if ticket.source == 'missed_chat' else 'offline message'})."
                 if new else f"{who} replied to ticket #{ticket.id}.")
        link = f"{self.settings.public_url.rstrip('/')}/agent" if self.settings.public_url else None
        last = messages[-1].id.rpartition("_")[2] if messages else "0"
        quoted: list[str] = []
        budget = NOTIFY_CHARS
        for m in messages:
            quoted.append(m.text[:budget] + ("…" if len(m.text) > budget else ""))
            budget -= len(m.text)
            if budget <= 0:
                break
        await self._enqueue(org, lambda: notification(
            to=[to], subject=f"{'New ticket' if new else 'Reply'}: {ticket.subject} [#{ticket.id}]",
            lang=config.language, site=site, paragraphs=[first, *quoted],
            action_url=link, id=f"ticket-{ticket.id}-{last}-notify",
            headers={"X-Widget-Ticket": ticket.id}))

    def reply_to(self, tid: str) -> str | None:
        """The signed address a visitor's reply reaches this ticket by: only with an inbound listener."""
        if not self.settings.smtp_inbound or not self.mailer.enabled:
            return None
        return reply_address(self.signer, self.mailer.sender, tid)

    async def mail_visitor(self, org: str, rec: dict[str, str], tid: str, message: tk.TicketMessage,
                           agent_name: str) -> bool:
        """E-mail an agent's reply to the visitor, in the ticket's language, replies coming back to the ticket."""
        email = valid_email(rec.get("email", ""))
        if not email:
            return False
        _, site = await self._site(org)
        n = message.id.rpartition("_")[2]
        return await self._enqueue(org, lambda: notification(
            to=[email], subject=f"Re: {rec.get('subject', '')} [#{tid}]", lang=rec.get("lang"), site=site,
            name=rec.get("name") or None, paragraphs=[message.text, f"— {agent_name}"],
            reply_to=self.reply_to(tid), id=f"ticket-{tid}-{n}", headers={"X-Widget-Ticket": tid}))

    async def take_email_reply(self, tid: str, sender: str, text: str) -> str:
        """A visitor's e-mail reply (quoted history already stripped) into its ticket, which opens again; the
        license's notification address hears of it. Raises ApiError ``not_found``, ``limit_reached`` or
        ``too_many_requests``."""
        hour = int(time.time() // 3600)
        counter = keys.ticket_inbound(tid, hour)
        count = await hourly_count(self.r, counter)
        if count > INBOUND_PER_HOUR:
            raise ApiError("too_many_requests", "Too many replies to this ticket this hour")
        rec = await self.record(tid)
        if rec is None or "org" not in rec:
            raise ApiError("not_found", "Ticket not found")
        if not rec.get("email"):  # the reply tells us where the visitor reads mail
            address = valid_email(sender)
            if address:
                await self.set_fields(tid, {"email": address})
        rec, message = await self.add_message(tid, author_id=rec.get("customer_id", ""), author_type="customer",
                                              via="email", text=text, status="open")
        config = await self.store.license_config(rec["org"])
        await self._notify_license(rec["org"], config, self._ticket(tid, rec), [message], new=False)
        return message.id

    async def attach_email(self, customer_id: str, email: str) -> None:
        """A customer told us their e-mail address: their open tickets without one get it."""
        address = valid_email(email)
        customer = await self.store.customer(customer_id) if address else None
        if not customer or not customer.get("org"):
            return
        # the customer's latest chats (a ticket's id is its thread's): few, and the store has them indexed
        for chat_id, _ in (await self.store.customer_chat_ids(customer_id))[:20]:
            for thread_id in (await self.store.thread_ids(chat_id))[-5:]:
                rec = await self.record(thread_id)
                if rec and rec.get("customer_id") == customer_id and not rec.get("email"):
                    await self.set_fields(thread_id, {"email": address})

    # --- missed chats ----------------------------------------------------------------------------------------------

    def queue_timeout(self, config: LicenseConfig) -> float:
        own = config.tickets.queue_timeout_seconds
        return float(own) if own is not None else self.settings.queue_timeout_seconds

    async def watch_queue(self, org: str, chat_id: str, thread_id: str) -> None:
        """A thread went into a queue: note when it is missed if still there (not when the timeout is 0)."""
        timeout = self.queue_timeout(await self.store.license_config(org))
        if timeout > 0:
            await self.r.zadd(keys.MISSED_DUE, {f"{org} {chat_id} {thread_id}": int((time.time() + timeout) * 1000)})

    async def missed_due(self) -> int:
        """Decide the queued threads whose deadline passed (each by the one worker that claims it); returns how
        many became tickets."""
        due = await self.r.zrangebyscore(keys.MISSED_DUE, "-inf", int(time.time() * 1000), start=0, num=50)
        made = 0
        for raw in due:
            entry = raw.decode()
            org, chat_id, thread_id = entry.split(" ")
            if not await self.r.set(keys.missed_claim(thread_id), "1", nx=True, ex=CLAIM_SECONDS):
                continue
            made += await self._missed(org, chat_id, thread_id)
            await self.r.zrem(keys.MISSED_DUE, entry)
        return made

    async def _missed(self, org: str, chat_id: str, thread_id: str) -> int:
        thread = await self.store.thread(chat_id, thread_id)
        chat = await self.store.chat(chat_id)
        if not thread or not chat or thread.get("active") != "1" or not thread.get("queue_group"):
            return 0  # taken by an agent, closed, or deleted meanwhile
        [(_, raw_events)] = await self.store.threads(chat_id, [thread_id])
        events = [read_event(v) for _, v in sorted(raw_events.items(), key=lambda kv: int(kv[0]))]
        config = await self.store.license_config(org)
        ticket = await self.open_ticket(org, source="missed_chat", chat_id=chat_id, thread_id=thread_id,
                                        customer_id=chat["customer_id"], group_id=int(thread["queue_group"]),
                                        events=events, config=config)
        if ticket is None:
            return 0
        if not ticket.email:
            await self.ask_for_email(chat, thread_id)
        return 1

    async def ask_for_email(self, chat: dict[str, str], thread_id: str,
                            text: str = "We could not answer in time. Leave your e-mail address and we will reply "
                                        "there.") -> None:
        """LiveChat's "ask for email": a system message the chat frame shows as a small e-mail form (a missed chat,
        an offline message without an address, a chat gone inactive: ``core/inactivity.py``)."""
        now = now_rfc3339()
        message = SystemMessage(text=text, system_message_type=ASK_FOR_EMAIL, created_at=now, recipients="all")
        body = _encode(message)
        seq = await self.store.append_events(chat["id"], thread_id, [("system_message", body, True)],
                                             rfc3339_to_ms(now), require_active=False)
        event = msgspec.structs.replace(message, id=f"{thread_id}_{seq}")
        await self.bus.publish([chat["customer_id"]], "incoming_event", p.IncomingEvent(chat["id"], thread_id, event))

    async def run(self, tick: float = 1.0) -> None:
        """Every worker's missed-chat timer (a claim per thread makes each one decided once)."""
        while True:
            try:
                await self.missed_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 (Valkey down: one line, try again next tick)
                log.warning("missed-chat timer: %s", exc)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.sleep(tick)


# --- transcripts -----------------------------------------------------------------------------------------------------

TRANSCRIPT_FIELDS = frozenset({"transcript", "send_transcript"})
"""Ids of a pre-chat form field by which a visitor asks for the transcript when the chat closes (a checkbox, or a
question answered yes)."""
_YES = frozenset({"1", "yes", "true", "on", "y", "ja", "oui", "sí", "si", "tak"})


def _public(ev: Any) -> bool:
    return getattr(ev, "recipients", None) != "agents" and getattr(ev, "visibility", None) != "agents"


def wants_transcript(events: list[Any]) -> bool:
    """Whether a filled pre-chat form among ``events`` ticked the transcript field."""
    for ev in events:
        if isinstance(ev, FilledForm) and ev.form_type in (None, "prechat"):
            for field in ev.fields:
                if field.id in TRANSCRIPT_FIELDS:
                    answers = [field.answer, *(field.answers or [])]
                    if any(a is True or (isinstance(a, (str, dict)) and _answer_text(a).strip().lower() in _YES)
                           or (isinstance(a, dict) and field.answers) for a in answers):
                        return True
    return False


class Transcripts:
    """The conversation by e-mail, to the customer's own address only (never one a request names: no relay)."""

    def __init__(self, tickets: Tickets) -> None:
        self.tickets = tickets
        self.store = tickets.store
        self.r = tickets.r

    async def count(self, customer_id: str) -> None:
        """One more transcript for the customer this hour; ``too_many_requests`` past the limit."""
        limit = self.tickets.settings.transcripts_per_hour
        counter = keys.transcripts_sent(customer_id, int(time.time() // 3600))
        count = await hourly_count(self.r, counter)
        if count > limit:
            raise ApiError("too_many_requests", f"At most {limit} transcripts an hour")

    async def send(self, org: str, chat: dict[str, str], *, automatic: bool = False) -> bool:
        """Queue the chat's transcript to its customer's e-mail; False when no address is known (or, ``automatic``,
        the customer did not ask for it on the pre-chat form)."""
        customer = await self.store.customer(chat["customer_id"]) or {}
        email = valid_email(customer.get("email", ""))
        thread_ids = (await self.store.thread_ids(chat["id"]))[-20:]
        threads = await self.store.threads(chat["id"], thread_ids)
        events = [(tid, read_event(v)) for tid, (_, raw) in zip(thread_ids, threads)
                  for _, v in sorted(raw.items(), key=lambda kv: int(kv[0]))]
        # LiveChat's widget asks for the transcript with the chat property routing.transcript_email
        asked = read_properties(chat.get("properties")).get("routing", {}).get("transcript_email")
        asked = valid_email(asked) if isinstance(asked, str) else ""
        if automatic and not asked and not wants_transcript([ev for _, ev in events]):
            return False
        if automatic and asked and asked != email:  # an address the visitor typed: counted like a request
            try:
                await self.count(chat["customer_id"])
            except ApiError:
                log.warning("transcript of %s not sent: the customer's hourly limit is reached", chat["id"])
                return False
            email = asked
        if not email:
            return False
        agents = await self.store.agents(org)
        name = customer.get("name", "")
        lines: list[str] = []
        for _, ev in events:
            if not _public(ev):
                continue
            if isinstance(ev, Message):
                who = (name or "You") if ev.author_id == chat["customer_id"] else \
                    agents.get(ev.author_id or "", {}).get("name") or "Agent"
                lines.append(f"[{(ev.created_at or '')[:16].replace('T', ' ')}] {who}: {ev.text}")
            elif isinstance(ev, FilledForm) and ev.author_id == chat["customer_id"]:
                words, _, _ = visitor_words([ev], chat["customer_id"])
                lines += [f"[{(ev.created_at or '')[:16].replace('T', ' ')}] {name or 'You'}: {w}" for w in words]
            elif isinstance(ev, SystemMessage) and ev.system_message_type != ASK_FOR_EMAIL:
                lines.append(f"[{(ev.created_at or '')[:16].replace('T', ' ')}] {ev.text}")
        text = "\n".join(lines)
        while len(text.encode()) > 50_000:  # both parts must fit the outbox's 128 KiB: the latest words matter most
            lines = lines[len(lines) // 4 + 1:]
            text = "\n".join(["…", *lines])
        config = await self.store.license_config(org)
        access = msgspec.json.decode(chat.get("access") or '{"group_ids":[0]}')
        group = (access.get("group_ids") or [0])[0]
        _, site = await self.tickets._site(org)
        lang = group_language(config, group)
        # asked for: each request its own message; on close: one per closed thread, however often that is retried
        stamp = f"close-{thread_ids[-1]}" if automatic and thread_ids else secrets.token_hex(8)
        return await self.tickets._enqueue(org, lambda: notification(
            to=[email], subject=MAIL_TEXTS[mail_language(lang)]["transcript_subject"].format(site=site), lang=lang,
            site=site,
            name=name or None, paragraphs=[text or "(no messages)"],
            id=f"transcript-{chat['id']}-{stamp}"))
