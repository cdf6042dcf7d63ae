"""Chat inactivity (core/inactivity.py): LiveChat's transfer, inactive and close timeouts, through real server
processes, sockets and Valkey. Timeouts are a few seconds (license properties in fractions of a minute, or the
server's WIDGET_INACTIVITY_* settings); the tests wait for pushes and states, never measure time."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.support import AgentClient, CustomerClient, LiveServer, WebhookReceiver, configure, start_valkey
from widget_server import keys
from widget_server.bootstrap import create_agent, create_license
from widget_server.core.webhooks import Webhooks
from widget_server.protocol.configuration import Webhook
from widget_server.valkey import connect

from .conftest import new_license
from .test_wizard import field_error, make_owner, read_form

# per license, in minutes (LiveChat's names): transfer 1.8 s, idle after 3.6 s, close after 7.2 s of silence
TIMEOUTS = {"transfer_chat_after_min": 0.03, "chat_inactive_after_min": 0.06, "archive_chat_after_min": 0.12}




async def push_where(sock: Any, action: str, match: Callable[[dict], bool], timeout: float = 30.0) -> dict:
    """The next push of ``action`` whose payload ``match``es (others of the kind are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        frame = await sock.push(action, timeout=max(0.01, deadline - time.monotonic()))
        if match(frame["payload"]):
            return frame


async def eventually(check: Callable[[], Any], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "the state did not come"
        await asyncio.sleep(0.1)


@pytest.fixture
async def crew(server, valkey) -> AsyncIterator[tuple[str, AgentClient, list[AgentClient]]]:
    """A license with an owner (outside routing) and two agents of group 0 who take one chat each at most."""
    org = await new_license(valkey)
    clients = []
    for name, role, groups in (("boss", "owner", []), ("ann", "normal", [(0, "normal")]),
                               ("bob", "normal", [(0, "normal")])):
        email = f"{name}-{secrets.token_hex(4)}@example.com"
        creds = await create_agent(valkey, org, email, name.title(), role, 1, groups)
        clients.append(AgentClient(server.url, email, creds["personal_access_token"]))
    yield org, clients[0], clients[1:]
    for client in clients:
        await client.aclose()


async def test_an_unanswered_chat_moves_on_goes_idle_wakes_and_closes(server, valkey, crew):
    """The customer's first message is not answered in time: the chat moves to the other agent (typing stops that
    timer); silence makes it idle (routing.idle, out of the agent's load: a new chat gets the slot); a message wakes
    it; more silence closes it like an agent's deactivate_chat (system message, pushes, webhook, slot back)."""
    org, boss, agents = crew
    r = await configure(boss, "update_license_properties", {"properties": {"chats": TIMEOUTS}})
    assert r.status_code == 200, r.text
    sockets = {a.id: await a.rtm(away=True) for a in agents}
    customer = await CustomerClient(server.url, org).authorize()
    later = await CustomerClient(server.url, org).authorize()
    customer_rtm = await customer.rtm()
    with WebhookReceiver() as receiver:
        r = await configure(boss, "register_webhook", {"action": "chat_deactivated", "secret_key": "k",
                                                        "url": receiver.url})
        assert r.status_code == 200, r.text
        try:
            for a in agents:
                await a.ok("set_routing_status", {"status": "accepting_chats"})
            chat_id = (await customer.ok("start_chat", {"chat": {"thread": {"events": [
                {"type": "message", "text": "anyone there?"}]}}}))["chat_id"]
            first_id = (await customer_rtm.push("user_added_to_chat"))["payload"]["user"]["id"]
            first, second = (agents[0], agents[1]) if first_id == agents[0].id else (agents[1], agents[0])

            # transfer: nobody answered, so the chat leaves the first agent for the one it has not been with
            moved = await push_where(sockets[first.id], "chat_transferred", lambda p: p["chat_id"] == chat_id)
            assert moved["payload"]["reason"] == "inactive"
            added = await push_where(customer_rtm, "user_added_to_chat", lambda p: p["user"]["type"] == "agent")
            assert added["payload"]["user"]["id"] == second.id
            chat = await second.ok("get_chat", {"chat_id": chat_id})
            assert [u["id"] for u in chat["users"] if u["type"] == "agent"] == [second.id]
            await second.ok("send_typing_indicator", {"chat_id": chat_id, "is_typing": True})
            # the first agent stops accepting: the only slot left is the second agent's, which this chat holds
            await first.ok("set_routing_status", {"status": "not_accepting_chats"})

            # inactive: nobody wrote, so the chat goes idle (and the typing agent kept it: no second transfer)
            idle = await push_where(sockets[second.id], "chat_properties_updated", lambda p: p["chat_id"] == chat_id)
            assert idle["payload"]["properties"] == {"routing": {"idle": True}}
            listed = await second.ok("list_chats", {})
            assert [c["properties"]["routing"]["idle"] for c in listed["chats_summary"] if c["id"] == chat_id] == [True]
            chat = await second.ok("get_chat", {"chat_id": chat_id})
            assert [u["id"] for u in chat["users"] if u["type"] == "agent"] == [second.id]
            # the visitor left no e-mail: the frame is asked for one (LiveChat's "ask for email"), once a thread
            asked = await push_where(customer_rtm, "incoming_event",
                                     lambda p: p["event"].get("system_message_type") == "ask_for_email")
            assert asked["payload"]["chat_id"] == chat_id
            # ... and it no longer counts against the agent's one chat: a new chat is routed to them
            other_id = (await later.ok("start_chat"))["chat_id"]
            got = await push_where(sockets[second.id], "incoming_chat", lambda p: p["chat"]["id"] == other_id)
            assert got["payload"]["chat"]["id"] == other_id

            # a message wakes it: it counts again and says so
            await customer.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "hello?"}})
            woke = await push_where(sockets[second.id], "chat_properties_updated",
                                    lambda p: p["chat_id"] == chat_id and p["properties"]["routing"]["idle"] is False)
            assert woke["payload"]["properties"] == {"routing": {"idle": False}}
            async def counted_again() -> bool:  # (the wake's count follows the message's push)
                return (not await valkey.sismember(keys.agent_idle_chats(org, second.id), chat_id)
                        and await valkey.sismember(keys.agent_chats(org, second.id), chat_id))
            await eventually(counted_again)

            # close: silence past the close timeout ends the thread as deactivate_chat does
            closed = await push_where(customer_rtm, "chat_deactivated", lambda p: p["chat_id"] == chat_id)
            assert closed["payload"]["thread_id"] == chat["thread"]["id"]
            # (the other chat, silent since it started, is closed by the timer too: maybe first)
            closed_for_agent: set[str] = set()
            while closed_for_agent != {chat_id, other_id}:
                closed_for_agent.add((await sockets[second.id].push("chat_deactivated", timeout=30))["payload"]["chat_id"])
            thread = (await customer.ok("get_chat", {"chat_id": chat_id}))["thread"]
            assert thread["active"] is False
            assert thread["events"][-1]["type"] == "system_message"
            assert thread["events"][-1]["system_message_type"] == "routing.archived_inactive"
            delivered = await receiver.wait_for(1)
            bodies = [json.loads(body) for _, body in delivered]
            assert any(b["action"] == "chat_deactivated" and b["payload"]["chat_id"] == chat_id for b in bodies)
            # the slots are free: the chats left the agent's chats and load

            async def nothing_held() -> bool:
                load = await valkey.hget(keys.routing_load(org), second.id)
                return (load in (None, b"0") and not await valkey.scard(keys.agent_chats(org, second.id))
                        and not await valkey.scard(keys.agent_idle_chats(org, second.id)))
            await eventually(nothing_held)

            async def timer_forgot_them() -> bool:  # (the entries go after the close's last step)
                return (await valkey.zscore(keys.INACTIVITY_DUE, chat_id) is None
                        and await valkey.zscore(keys.INACTIVITY_DUE, other_id) is None)
            await eventually(timer_forgot_them)
        finally:
            for sock in sockets.values():
                await sock.close()
            await customer_rtm.close()
            await customer.aclose()
            await later.aclose()


@pytest.mark.parametrize("value", [-1, "3", True, 1e9, 10**400, None],
                         ids=["negative", "string", "bool", "too-long", "huge-int", "null"])
async def test_license_timeouts_out_of_range_are_refused(server, crew, value):
    _, boss, _ = crew
    r = await configure(boss, "update_license_properties",
                        {"properties": {"chats": {"archive_chat_after_min": value}}})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["type"] == "validation"
    assert "archive_chat_after_min" in r.json()["error"]["message"]


async def test_timers_run_once_across_two_workers_and_survive_a_restart(tmp_path):
    """The server's own defaults (WIDGET_INACTIVITY_*): a chat started on a server whose timer never looks again
    (it looked once, at its start) is closed after that server stopped, by the next one (two workers), once: one
    system message, one chat_deactivated webhook. The deadline lives in Valkey."""
    store = start_valkey()
    valkey = connect(store.connection_url)
    env = {"WIDGET_INACTIVITY_TRANSFER_SECONDS": "0", "WIDGET_INACTIVITY_INACTIVE_SECONDS": "0",
           "WIDGET_INACTIVITY_CLOSE_SECONDS": "3", "WIDGET_INACTIVITY_TICK_SECONDS": "0.2"}
    creds = await create_license(valkey, f"owner-{secrets.token_hex(4)}@example.com", "pw")
    org, agent_id = creds["organization_id"], creds["agent"]["account_id"]
    first = LiveServer(tmp_path / "first", store.connection_url, workers=2,
                       env={**env, "WIDGET_INACTIVITY_TICK_SECONDS": "3600"}).start()
    second = None
    with WebhookReceiver() as receiver:
        await Webhooks(valkey).register(org, Webhook(id="closed", action="chat_deactivated", secret_key="k",
                                                     url=receiver.url))
        try:
            agent = AgentClient(first.url, agent_id, creds["agent"]["personal_access_token"])
            await agent.ok("set_routing_status", {"status": "accepting_chats"})
            customer = await CustomerClient(first.url, org).authorize()
            chat_id = (await customer.ok("start_chat", {"chat": {"thread": {"events": [
                {"type": "message", "text": "hi"}]}}}))["chat_id"]
            assert await valkey.zscore(keys.INACTIVITY_DUE, chat_id) is not None
            await customer.aclose()
            await agent.aclose()
            first.stop()
            assert (await valkey.hget(keys.chat(chat_id), "active_thread")) not in (None, b"")  # still open

            second = LiveServer(tmp_path / "second", store.connection_url, workers=2, env=env).start()
            agent = AgentClient(second.url, agent_id, creds["agent"]["personal_access_token"])
            try:
                async def closed() -> bool:
                    return (await agent.ok("get_chat", {"chat_id": chat_id}))["thread"]["active"] is False
                await eventually(closed)
                events = (await agent.ok("get_chat", {"chat_id": chat_id}))["thread"]["events"]
                closing = [e["system_message_type"] for e in events if e["type"] == "system_message"]
                assert closing == ["routing.archived_inactive"]  # once
                delivered = await receiver.wait_for(1)
                await asyncio.sleep(1.0)  # (room for a second delivery, if a second close happened)
                bodies = [json.loads(body) for _, body in delivered]
                assert [(b["action"], b["payload"]["chat_id"]) for b in bodies] == [("chat_deactivated", chat_id)]

                async def released() -> bool:  # (the slot and the timer entry go after the close's pushes)
                    return (await valkey.zscore(keys.INACTIVITY_DUE, chat_id) is None
                            and not await valkey.scard(keys.agent_chats(org, agent_id)))
                await eventually(released)
            finally:
                await agent.aclose()
        finally:
            first.stop()
            if second is not None:
                second.stop()
            await valkey.aclose()
            store.stop()


async def test_owner_sets_the_timeouts_in_the_wizard(valkey, server):
    """The wizard's Timeouts page writes the same license properties the Configuration API reads; empty is the
    server's default again, and a value out of range saves nothing."""
    owner = await make_owner(valkey, server.url)
    try:
        assert (await owner.sign_in()).status_code == 303
        page = await owner.http.get("/wizard/timeouts")
        assert page.status_code == 200
        values = read_form(page.text, "timeouts")
        assert [values[k] for k in TIMEOUTS] == ["", "", ""]
        r = await owner.http.post("/wizard/timeouts", data={**values, "transfer_chat_after_min": "2,5",
                                                             "archive_chat_after_min": "-1"})
        assert r.status_code == 400
        assert "minutes from 0" in field_error(r.text, "archive_chat_after_min")
        assert field_error(r.text, "transfer_chat_after_min") == ""
        assert await saved_chats(owner) == {}
        r = await owner.http.post("/wizard/timeouts", data={**values, "transfer_chat_after_min": "2.5",
                                                             "chat_inactive_after_min": "0", "archive_chat_after_min": "45"})
        assert r.status_code == 303 and r.headers["location"] == "/wizard/timeouts?saved=1"
        assert await saved_chats(owner) == {"transfer_chat_after_min": 2.5, "chat_inactive_after_min": 0,
                                            "archive_chat_after_min": 45}
        again = read_form((await owner.http.get("/wizard/timeouts")).text, "timeouts")
        assert [again[k] for k in TIMEOUTS] == ["2.5", "0", "45"]
        r = await owner.http.post("/wizard/timeouts", data={**again, "transfer_chat_after_min": ""})
        assert r.status_code == 303
        assert await saved_chats(owner) == {"chat_inactive_after_min": 0, "archive_chat_after_min": 45}
        r = await owner.http.post("/wizard/timeouts", data={**again, "csrf": "forged"})
        assert r.status_code == 403
    finally:
        await owner.aclose()


async def saved_chats(owner) -> dict:
    r = await owner.http.post("/v3.6/configuration/action/list_license_properties", json={"namespace": "chats"},
                              headers={"Authorization": f"Bearer {owner.token}"})
    assert r.status_code == 200, r.text
    return r.json().get("chats", {})


async def test_shorter_timeouts_apply_to_chats_already_open(server, valkey, crew):
    """A chat routed under the server's defaults (minutes) is closed by a timeout the owner sets afterwards (seconds):
    saving the timeouts looks at the license's open chats again."""
    org, boss, agents = crew
    await agents[0].ok("set_routing_status", {"status": "accepting_chats"})
    customer = await CustomerClient(server.url, org).authorize()
    sock = await customer.rtm()
    try:
        chat_id = (await customer.ok("start_chat", {}))["chat_id"]
        await push_where(sock, "user_added_to_chat", lambda p: p["chat_id"] == chat_id)
        scheduled = await valkey.zscore(keys.INACTIVITY_DUE, chat_id)
        r = await configure(boss, "update_license_properties", {"properties": {"chats": {
            "archive_chat_after_min": 0.05}}})
        assert r.status_code == 200, r.text
        now_due = await valkey.zscore(keys.INACTIVITY_DUE, chat_id)
        assert now_due is None or now_due < scheduled  # looked at again now (or already closed), not minutes later
        await push_where(sock, "chat_deactivated", lambda p: p["chat_id"] == chat_id)
    finally:
        await sock.close()
        await customer.aclose()
