"""Chat retention (core/retention.py): a chat whose every thread ended past WIDGET_CHAT_RETENTION_DAYS goes with
its threads, events, files and index entries; an active chat, a chat with a newer thread and a chat resumed while the
sweep looks at it stay."""

from __future__ import annotations

import asyncio
import secrets
import time

from tests.support import AgentClient, CustomerClient
from widget_server import keys
from widget_server.bootstrap import create_agent
from widget_server.core import scripts
from widget_server.core.retention import ChatRetention
from widget_server.services import Services
from widget_server.settings import load_settings
from widget_server.valkey import connect

from .conftest import new_license
from .test_service import PNG_1x1

DAY_MS = 86_400_000


async def _ended_chat(customer: CustomerClient, text: str, file: bool = False) -> tuple[str, str]:
    chat = await customer.ok("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": text}]}}})
    if file:
        r = await customer.http.post(f"/v3.6/customer/action/upload_file?organization_id={customer.org}",
                                     headers={"Authorization": f"Bearer {customer.token}"},
                                     files={"file": ("old.png", PNG_1x1)})
        await customer.ok("send_event", {"chat_id": chat["chat_id"], "event": {"type": "file", "url": r.json()["url"],
                                                                             "custom_id": "the-file"}})
    await customer.ok("deactivate_chat", {"id": chat["chat_id"]})
    return chat["chat_id"], chat["thread_id"]


async def _age(valkey, org: str, chat_id: str, thread_id: str, days: float) -> None:
    """As if the thread had ended ``days`` ago (its archive entry and index entries, as they would have been)."""
    member = f"{chat_id} {thread_id}"
    score = int(time.time() * 1000 - days * DAY_MS)
    async for key in valkey.scan_iter(match=f"{keys.P}:{{{org}}}:arch*"):
        if key.decode() != keys.archives_indexed(org) and await valkey.zscore(key, member) is not None:
            await valkey.zadd(key, {member: score})


async def _keys_naming(valkey, text: str) -> list[str]:
    return [k.decode() async for k in valkey.scan_iter(match=f"*{text}*")]


async def test_chats_past_retention_go_with_everything_they_left_and_the_others_stay(server, valkey, valkey_url):
    org = await new_license(valkey)
    email = f"boss-{secrets.token_hex(4)}@example.com"
    creds = await create_agent(valkey, org, email, "Boss", "administrator")
    boss = AgentClient(server.url, email, creds["personal_access_token"])
    customer = await CustomerClient(server.url, org).authorize()
    services = Services(load_settings({}, valkey_url=valkey_url), connect(valkey_url))
    try:
        old_chat, old_thread = await _ended_chat(customer, "an ancient question", file=True)
        await _age(valkey, org, old_chat, old_thread, 400)
        file_keys = [k async for k in valkey.scan_iter(match=f"{keys.P}:{{{org}}}:file:*")]
        assert len(file_keys) == 1 and await valkey.ttl(file_keys[0]) == -1  # used in an event: kept till now

        # a chat whose first thread is old but whose second is recent stays whole
        other = await CustomerClient(server.url, org).authorize()
        kept_chat, kept_first = await _ended_chat(other, "old start")
        await _age(valkey, org, kept_chat, kept_first, 400)
        await other.ok("resume_chat", {"chat": {"id": kept_chat, "thread": {"events": [{"type": "message",
                                                                                         "text": "again"}]}}})
        await other.ok("deactivate_chat", {"id": kept_chat})
        recent_chat, _ = await _ended_chat(await CustomerClient(server.url, org).authorize(), "recent question")
        active = await CustomerClient(server.url, org).authorize()
        active_chat = (await active.ok("start_chat"))["chat_id"]

        assert await _keys_naming(valkey, old_chat)
        boss_rtm = await boss.rtm(away=True)
        retention = ChatRetention(services.agents, retention_days=365)
        assert await retention.sweep(org) == 1
        # the license's agents are told (LiveChat's chat_deleted), whichever worker swept
        assert (await boss_rtm.push("chat_deleted"))["payload"] == {"chat_id": old_chat}
        await boss_rtm.close()
        assert await _keys_naming(valkey, old_chat) == []  # chat, threads, events: nothing left
        assert [k async for k in valkey.scan_iter(match=f"{keys.P}:{{{org}}}:file:*")] == []
        async for key in valkey.scan_iter(match=f"{keys.P}:{{{org}}}:arch:*"):
            if await valkey.type(key) == b"zset":
                assert not [m for m in await valkey.zrange(key, 0, -1) if m.decode().startswith(old_chat)], key
        assert await valkey.zscore(keys.org_chats(org), old_chat) is None
        assert await valkey.zscore(keys.customer_chats(customer.id), old_chat) is None
        assert 0 < await valkey.ttl(keys.customer(customer.id)) <= 30 * 86_400  # no chat left: the record expires
        assert await valkey.ttl(keys.customer(other.id)) == -1  # one left: kept
        r = await boss.call("get_chat", {"chat_id": old_chat})
        assert r.status_code == 404, r.text
        archived = await boss.ok("list_archives", {"filters": {"query": "question"}})
        assert [c["id"] for c in archived["chats"]] == [recent_chat] and archived["found_chats"] == 1
        assert (await customer.ok("list_chats"))["chats_summary"] == []
        # the others are whole
        assert len((await boss.ok("list_threads", {"chat_id": kept_chat}))["threads"]) == 2
        assert (await boss.ok("get_chat", {"chat_id": active_chat}))["thread"]["active"] is True
        assert await retention.sweep(org) == 0  # nothing more to do
        # 0 days of retention past everything: every ended chat goes, the active one stays
        assert await ChatRetention(services.agents, retention_days=0).sweep(org, now_ms=int(time.time() * 1000) + 1) == 2
        assert (await boss.ok("get_chat", {"chat_id": active_chat}))["thread"]["active"] is True
        for client in (other, active):
            await client.aclose()
    finally:
        await customer.aclose()
        await boss.aclose()
        await services.valkey.aclose()


async def test_a_chat_resumed_while_the_sweep_judges_it_is_left_alone(valkey):
    forget = scripts.register(valkey, "forget_chat")
    chat = f"c{secrets.token_hex(4)}"
    chat_keys = [keys.chat(chat), keys.chat_threads(chat), keys.chat_last_events(chat), keys.thread(chat, "t1"),
                 keys.thread_events(chat, "t1")]
    await valkey.hset(keys.chat(chat), mapping={"active_thread": "", "customer_id": "x"})
    await valkey.rpush(keys.chat_threads(chat), "t1")
    await valkey.hset(keys.thread(chat, "t1"), "id", "t1")
    await valkey.hset(keys.chat(chat), "active_thread", "t2")  # resumed after the sweep read it
    assert await forget(keys=chat_keys, args=[1]) == 0
    await valkey.hset(keys.chat(chat), "active_thread", "")
    await valkey.rpush(keys.chat_threads(chat), "t2")  # ... and ended again: a thread the sweep did not judge
    assert await forget(keys=chat_keys, args=[1]) == 0
    assert await valkey.exists(keys.chat(chat))
    assert await forget(keys=chat_keys, args=[2]) == 1
    assert not await valkey.exists(*chat_keys)


async def test_one_worker_sweeps_at_a_time(valkey, valkey_url):
    first = Services(load_settings({}, valkey_url=valkey_url), connect(valkey_url))
    second = Services(load_settings({}, valkey_url=valkey_url), connect(valkey_url))
    try:
        await valkey.delete(f"{keys.P}:retention:lock")
        held = await valkey.set(f"{keys.P}:retention:lock", "1", nx=True, ex=30)  # a worker is sweeping
        assert held
        assert await ChatRetention(second.agents, 365).run_once() == 0
        assert await valkey.get(f"{keys.P}:retention:lock") == b"1"  # its lock untouched
        await valkey.delete(f"{keys.P}:retention:lock")
        results = await asyncio.gather(ChatRetention(first.agents, 365).run_once(),
                                       ChatRetention(second.agents, 365).run_once())
        assert all(r >= 0 for r in results) and not await valkey.exists(f"{keys.P}:retention:lock")
    finally:
        await first.valkey.aclose()
        await second.valkey.aclose()
