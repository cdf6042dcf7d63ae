"""The repair pass (``core/repair.py``) on a real server and Valkey: a worker that died in the middle of a chat
operation leaves exactly what it had written (made here with the server's own Router and Store on the same Valkey,
stopping where the worker died), and the server's repair pass finishes the operation."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable

import msgspec

from tests.support import AgentClient, CustomerClient, LiveServer, WebhookReceiver
from widget_server import keys
from widget_server.bootstrap import create_agent
from widget_server.core.routing import Router
from widget_server.core.store import Store
from widget_server.core.webhooks import Webhooks
from widget_server.protocol.common import now_rfc3339, rfc3339_to_ms
from widget_server.protocol.configuration import Webhook
from widget_server.protocol.events import SystemMessage

from .conftest import new_license

FAST_REPAIR = {"WIDGET_REPAIR_INTERVAL": "0.2", "WIDGET_REPAIR_GRACE": "0.5"}
"""A pass five times a second, and an operation half a second old is a dead worker's (the defaults: 60 s and 30 s)."""


async def _until(check: Callable[[], Awaitable[bool]], what: str, wait: float = 45.0) -> None:
    """(``wait`` outlasts the repair lock a killed worker of an earlier test may have left: 30 s at these settings)"""
    deadline = time.monotonic() + wait
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not repaired: {what}")
        await asyncio.sleep(0.1)


async def test_the_repair_pass_finishes_what_a_dead_worker_left_half_done(tmp_path, valkey_url, valkey):
    live = LiveServer(tmp_path, valkey_url, workers=2, env=FAST_REPAIR).start()
    router, store = Router(valkey), Store(valkey)
    org = await new_license(valkey)
    email = f"ann-{secrets.token_hex(4)}@example.com"
    ann = AgentClient(live.url, email, (await create_agent(valkey, org, email, "Ann", "normal", 1))["personal_access_token"])
    first, second, third = [await CustomerClient(live.url, org).authorize() for _ in range(3)]
    receiver = WebhookReceiver().__enter__()
    await Webhooks(valkey).register(org, Webhook(id="hook", action="incoming_event", secret_key="k", url=receiver.url))
    try:
        async def users(customer: CustomerClient, chat_id: str) -> set[str]:
            return {u["id"] for u in (await customer.ok("get_chat", {"chat_id": chat_id}))["users"]}

        async def load() -> int:
            return int(await valkey.hget(keys.routing_load(org), email) or 0)

        # 1. The queue's drain popped a chat for Ann, and its worker died before she joined it.
        await ann.ok("set_routing_status", {"status": "not_accepting_chats"})
        a = await first.ok("start_chat", {})
        assert (await first.ok("get_chat", {"chat_id": a["chat_id"]}))["thread"]["queue"]["position"] == 1
        await router.set_status(org, email, "accepting_chats")  # (written directly: no drain runs)
        assert await router.drain_one(org, 0) == (a["chat_id"], a["thread_id"], email)
        assert email not in await users(first, a["chat_id"]) and await router.queue(org, 0) == []

        async def ann_joined_the_popped_chat() -> bool:
            return email in await users(first, a["chat_id"])

        await _until(ann_joined_the_popped_chat, "the popped chat has no agent")
        assert "queue" not in (await first.ok("get_chat", {"chat_id": a["chat_id"]}))["thread"]
        assert await load() == 1

        # 2. Ann is full; a second chat waits. The first one is closed and the worker dies before releasing Ann.
        b = await second.ok("start_chat", {})
        assert (await second.ok("get_chat", {"chat_id": b["chat_id"]}))["thread"]["queue"]["position"] == 1
        await router.begin(org, f"close {a['chat_id']} {a['thread_id']}")
        closing = msgspec.json.encode(SystemMessage(text="Chat closed", system_message_type="manual_archived_customer",
                                                    created_at=now_rfc3339(), recipients="all"))
        await store.close_thread(a["chat_id"], a["thread_id"], [("system_message", closing, True)],
                                 rfc3339_to_ms(now_rfc3339()))

        async def ann_got_the_waiting_chat() -> bool:
            return email in await users(second, b["chat_id"])

        await _until(ann_got_the_waiting_chat, "the closed chat still holds Ann's only place")
        assert await load() == 1
        assert [m.decode() for m in await valkey.smembers(keys.agent_chats(org, email))] == [b["chat_id"]]
        assert await valkey.zscore(keys.org_archives(org), f"{a['chat_id']} {a['thread_id']}") is not None

        # 3. A customer's start_chat wrote the chat and died before indexing and routing it.
        chat_id, thread_id = f"R{secrets.token_hex(4).upper()}", f"T{secrets.token_hex(4).upper()}"
        await router.begin(org, f"start {chat_id}")
        now = now_rfc3339()
        await store.open_thread(
            mode="start", chat_id=chat_id, thread_id=thread_id, created_at=now, created_ms=rfc3339_to_ms(now),
            active=True, access=b'{"group_ids":[0]}', properties=b"{}", user_ids=msgspec.json.encode([third.id]),
            chat_fields={"id": chat_id, "org": org, "customer_id": third.id, "created_at": now,
                         "access": '{"group_ids":[0]}', "properties": "{}"})
        assert (await third.ok("list_chats", {}))["chats_summary"] == []

        async def the_chat_is_listed_and_queued() -> bool:
            listed = [c["id"] for c in (await third.ok("list_chats", {}))["chats_summary"]]
            thread = (await third.ok("get_chat", {"chat_id": chat_id}))["thread"]
            return listed == [chat_id] and "queue" in thread  # Ann is full: it waits its turn

        await _until(the_chat_is_listed_and_queued, "the started chat is neither listed nor queued")

        # 4. A load that drifted (written before loads and chat sets were kept in one step) is counted again.
        await valkey.hset(keys.routing_load(org), email, 5)

        async def the_load_is_her_chats() -> bool:
            return await load() == 1

        await _until(the_load_is_her_chats, "the load is not the agent's chats")

        # 5. A message was stored and its worker died before queueing its webhook deliveries (another one was not).
        said = await second.ok("send_event", {"chat_id": b["chat_id"], "event": {"type": "message", "text": "hi"}})
        await router.begin(org, f"hook {b['chat_id']} lost")
        lost = await store.send_event(
            b["chat_id"], org=org, customer_id=second.id, agent_id="", attach=False, now_ms=rfc3339_to_ms(now_rfc3339()),
            item=("message", msgspec.json.encode({"type": "message", "text": "lost?", "author_id": second.id,
                                                  "created_at": now_rfc3339(), "recipients": "all"}), True),
            publish=None, outbox="lost")
        deliveries = await receiver.wait_for(2)
        delivered = [msgspec.json.decode(body)["payload"]["event"] for _, body in deliveries]
        assert sorted(e["id"] for e in delivered) == sorted([said["event_id"], f"{lost.thread_id}_{lost.seq}"])
        assert await valkey.hlen(keys.chat_outbox(b["chat_id"])) == 0

        # nothing is left in flight, and the server answers as ever
        assert await valkey.zcard(keys.chat_operations(org)) == 0
        assert live.proc.poll() is None
    finally:
        for client in (first, second, third, ann):
            await client.aclose()
        live.stop()
        receiver.__exit__(None, None, None)


async def test_an_agent_keeps_no_place_for_a_chat_a_dead_worker_routed_or_removed_them_from(
        tmp_path, valkey_url, valkey):
    """Routing gave Ann a chat and the worker died before she joined it: she joins it (before, the place was counted
    and never given back). An administrator removed her from a chat and the worker died before her load went down:
    the place comes back."""
    live = LiveServer(tmp_path, valkey_url, env=FAST_REPAIR).start()
    router, store = Router(valkey), Store(valkey)
    org = await new_license(valkey)
    email = f"ann-{secrets.token_hex(4)}@example.com"
    ann = AgentClient(live.url, email, (await create_agent(valkey, org, email, "Ann", "normal", 2))["personal_access_token"])
    customer = await CustomerClient(live.url, org).authorize()
    try:
        await ann.ok("set_routing_status", {"status": "accepting_chats"})
        chat_id, thread_id = f"R{secrets.token_hex(4).upper()}", f"T{secrets.token_hex(4).upper()}"
        now = now_rfc3339()
        await store.open_thread(
            mode="start", chat_id=chat_id, thread_id=thread_id, created_at=now, created_ms=rfc3339_to_ms(now),
            active=True, access=b'{"group_ids":[0]}', properties=b"{}", user_ids=msgspec.json.encode([customer.id]),
            chat_fields={"id": chat_id, "org": org, "customer_id": customer.id, "created_at": now,
                         "access": '{"group_ids":[0]}', "properties": "{}"})
        await store.index_chat(org, customer.id, chat_id, rfc3339_to_ms(now))
        assert await router.assign(org, 0, chat_id, thread_id) == email  # ... and the worker dies

        async def ann_is_in_the_chat() -> bool:
            users = (await customer.ok("get_chat", {"chat_id": chat_id}))["users"]
            return email in {u["id"] for u in users}

        await _until(ann_is_in_the_chat, "the routed chat has no agent")
        assert await valkey.hget(keys.routing_load(org), email) == b"1"

        # removed from the chat (the chat says so), and the worker dies before her load goes down
        await router.begin(org, f"leave {chat_id} {email}")
        await store.set_chat_fields(chat_id, {"agent_ids": "[]"})

        async def her_place_is_back() -> bool:
            return await valkey.hget(keys.routing_load(org), email) == b"0"

        await _until(her_place_is_back, "the agent's load still counts a chat she left")
        assert await valkey.smembers(keys.agent_chats(org, email)) in ([], set())
        assert await valkey.zcard(keys.chat_operations(org)) == 0
    finally:
        await customer.aclose()
        await ann.aclose()
        live.stop()


async def test_a_chat_the_inactivity_timer_counted_out_and_never_marked_idle_counts_again(tmp_path, valkey_url, valkey):
    """The inactivity timer takes a silent chat out of its agent's load, then marks it idle; a worker that dies
    between the two leaves a chat that counts for nobody and that no message would wake: the repair pass counts it
    back. A chat that was marked idle stays out of the load (the pass's recount agrees)."""
    live = LiveServer(tmp_path, valkey_url, env={**FAST_REPAIR, "WIDGET_INACTIVITY_TRANSFER_SECONDS": "0",
                                                 "WIDGET_INACTIVITY_INACTIVE_SECONDS": "0",
                                                 "WIDGET_INACTIVITY_CLOSE_SECONDS": "0"}).start()
    router, store = Router(valkey), Store(valkey)
    org = await new_license(valkey)
    email = f"ann-{secrets.token_hex(4)}@example.com"
    ann = AgentClient(live.url, email, (await create_agent(valkey, org, email, "Ann", "normal", 2))["personal_access_token"])
    customer = await CustomerClient(live.url, org).authorize()
    try:
        await ann.ok("set_routing_status", {"status": "accepting_chats"})
        chat_id = (await customer.ok("start_chat", {}))["chat_id"]

        async def load() -> bytes | None:
            return await valkey.hget(keys.routing_load(org), email)

        async def routed() -> bool:
            return await load() == b"1"
        await _until(routed, "the chat was not routed")

        await router.begin(org, f"idle {chat_id}")
        assert await router.idle(org, email, chat_id)  # ... and the worker dies before marking the chat idle
        assert await load() == b"0"

        async def counted_again() -> bool:
            return await load() == b"1" and not await valkey.sismember(keys.agent_idle_chats(org, email), chat_id)
        await _until(counted_again, "the chat counts for nobody")

        # the same, but the chat was marked: it stays idle, out of the load
        await router.begin(org, f"idle {chat_id}")
        assert await router.idle(org, email, chat_id)
        await store.set_chat_fields(chat_id, {"idle": "1"})

        async def settled() -> bool:
            return await valkey.zcard(keys.chat_operations(org)) == 0
        await _until(settled, "the idle operation was not finished")
        assert await load() == b"0"
        assert await valkey.sismember(keys.agent_idle_chats(org, email), chat_id)
    finally:
        await customer.aclose()
        await ann.aclose()
        live.stop()
