"""A chat message reaches every socket of the chat's users exactly once, in the order it was stored: the worker that
stores it hands it to its own sockets at once, the other workers get it through Valkey, nobody gets it twice."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import msgspec
import pytest

from tests.support import AgentClient, CustomerClient, Socket
from widget_server.bootstrap import create_agent
from widget_server.core.bus import Bus
from widget_server.protocol.config import Group, LicenseConfig

from .conftest import new_license


@pytest.fixture
async def pair(server, valkey) -> AsyncIterator[tuple[str, AgentClient, AgentClient]]:
    """A license with groups 0 and 1: dee (group 0) takes every chat, eve (group 1) takes none."""
    org = await new_license(valkey, LicenseConfig(groups=[Group(id=0, name="General"), Group(id=1, name="Sales")]))
    agents = []
    for name, group in (("dee", 0), ("eve", 1)):
        email = f"{name}-{secrets.token_hex(4)}@example.com"
        creds = await create_agent(valkey, org, email, name.title(), "normal", 10, [(group, "normal")])
        agents.append(AgentClient(server.url, email, creds["personal_access_token"]))
    yield org, agents[0], agents[1]
    for agent in agents:
        await agent.aclose()


async def _routed_chat(customer: CustomerClient, dee: AgentClient, *dee_sockets: Socket) -> tuple[str, str]:
    await dee.ok("set_routing_status", {"status": "accepting_chats"})
    started = await customer.ok("start_chat", {})
    for sock in dee_sockets:
        assert (await sock.push("incoming_chat", timeout=10))["payload"]["chat"]["id"] == started["chat_id"]
    return started["chat_id"], started["thread_id"]


async def _events(sock: Socket, count: int) -> list[dict]:
    """The next ``count`` incoming_event pushes, then checks that no further one comes."""
    out = [await sock.push("incoming_event", timeout=10) for _ in range(count)]
    await sock.no_push("incoming_event", wait=0.3)
    return out


def _seq(push: dict) -> int:
    return int(push["payload"]["event"]["id"].rsplit("_", 1)[1])


async def test_concurrent_messages_on_one_server_reach_every_socket_once_in_stored_order(server, pair):
    org, dee, _ = pair
    customer = await CustomerClient(server.url, org).authorize()
    tab = await customer.rtm()
    console = await dee.rtm()
    try:
        chat_id, _ = await _routed_chat(customer, dee, console)
        n = 8

        async def over_rtm(sock: Socket, who: str) -> list[dict]:
            requests = [sock.request("send_event", {"chat_id": chat_id, "event": {"type": "message",
                                                                                   "text": f"{who} {i}"}})
                        for i in range(n)]
            return list(await asyncio.gather(*requests))

        async def over_web(who: str, i: int) -> str:
            event = {"type": "message", "text": f"{who} {i}"}
            if who == "web customer":
                return (await customer.ok("send_event", {"chat_id": chat_id, "event": event}))["event_id"]
            return (await dee.ok("send_event", {"chat_id": chat_id, "event": event}))["event_id"]

        # four writers at once: two sockets and two Web API clients, every request of one chat in flight together
        rtm_customer, rtm_agent, *web_ids = await asyncio.gather(
            over_rtm(tab, "customer"), over_rtm(console, "agent"),
            *(over_web("web customer", i) for i in range(n)), *(over_web("web agent", i) for i in range(n)))
        sent_ids = {r["payload"]["event_id"] for r in rtm_customer + rtm_agent} | set(web_ids)
        assert all(r["success"] for r in rtm_customer + rtm_agent)
        assert len(sent_ids) == 4 * n

        for sock, own in ((tab, rtm_customer), (console, rtm_agent)):
            pushes = await _events(sock, 4 * n)
            assert {p["payload"]["event"]["id"] for p in pushes} == sent_ids  # each exactly once
            seqs = [_seq(p) for p in pushes]
            assert seqs == sorted(seqs)  # in the order they were stored
            # the socket that sent a message can match its push to its request, nobody else gets the request_id
            own_ids = {r["payload"]["event_id"]: r["request_id"] for r in own}
            for p in pushes:
                assert p.get("request_id") == own_ids.get(p["payload"]["event"]["id"])
    finally:
        await tab.close()
        await console.close()
        await customer.aclose()


async def test_messages_sent_on_two_servers_reach_sockets_on_both_once(server, server2, pair):
    org, dee, _ = pair
    customer = await CustomerClient(server.url, org).authorize()
    tabs = [await customer.rtm(server.url), await customer.rtm(server2.url)]
    consoles = [await dee.rtm(server.url), await dee.rtm(server2.url)]
    try:
        chat_id, _ = await _routed_chat(customer, dee, *consoles)
        n = 6
        senders = [(tabs[0], "customer on 1"), (tabs[1], "customer on 2"), (consoles[0], "agent on 1"),
                   (consoles[1], "agent on 2")]

        async def send(sock: Socket, who: str) -> list[str]:
            ids = []
            for i in range(n):
                reply = await sock.request("send_event", {"chat_id": chat_id,
                                                          "event": {"type": "message", "text": f"{who} {i}"}})
                assert reply["success"], reply
                ids.append(reply["payload"]["event_id"])
            return ids

        sent = await asyncio.gather(*(send(sock, who) for sock, who in senders))
        everything = {i for ids in sent for i in ids}
        assert len(everything) == 4 * n
        for sock in (*tabs, *consoles):
            pushes = await _events(sock, 4 * n)
            assert sorted(p["payload"]["event"]["id"] for p in pushes) == sorted(everything)
            by_id = {p["payload"]["event"]["id"]: p for p in pushes}
            for (sender, _), ids in zip(senders, sent):
                # one socket's messages arrive in the order it sent them, wherever they were stored
                arrived = [p["payload"]["event"]["id"] for p in pushes if p["payload"]["event"]["id"] in set(ids)]
                assert arrived == ids
                for event_id in ids:
                    assert ("request_id" in by_id[event_id]) == (sender is sock)
    finally:
        for sock in (*tabs, *consoles):
            await sock.close()
        await customer.aclose()


async def test_who_may_write_to_a_chat(server, pair):
    org, dee, eve = pair
    customer = await CustomerClient(server.url, org).authorize()
    stranger = await CustomerClient(server.url, org).authorize()
    tab = await customer.rtm()
    try:
        chat_id, thread_id = await _routed_chat(customer, dee)
        message = {"type": "message", "text": "hello"}
        for who, expected in ((stranger, "authorization"), (customer, None)):
            r = await who.call("send_event", {"chat_id": chat_id, "event": message})
            assert (r.json().get("error", {}).get("type") if r.status_code != 200 else None) == expected, r.text
        assert (await tab.push("incoming_event"))["payload"]["event"]["text"] == "hello"
        r = await customer.call("send_event", {"chat_id": "nosuchchat", "event": message})
        assert r.status_code == 404 and r.json()["error"]["type"] == "not_found"
        # a value over the free-form limits is refused at the door, like any invalid field, whatever chat it names
        r = await customer.call("send_event", {"chat_id": "nosuchchat", "event": {"type": "custom", "content": deep(40)}})
        assert r.json()["error"]["type"] == "validation"
        r = await customer.call("send_event", {"chat_id": chat_id, "event": {"type": "custom", "content": deep(40)}})
        assert r.json()["error"]["type"] == "validation"

        # eve is in another group and not in the chat: no access
        r = await eve.call("send_event", {"chat_id": chat_id, "event": message})
        assert r.json()["error"]["type"] == "authorization"
        sent = await dee.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "from dee"}})
        push = await tab.push("incoming_event")
        assert push["payload"]["event"]["id"] == sent["event_id"] and push["payload"]["thread_id"] == thread_id

        # whispers stay with the agents
        await dee.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "psst",
                                                                  "visibility": "agents"}})
        await tab.no_push("incoming_event")

        await customer.ok("deactivate_chat", {"id": chat_id})
        closing = await tab.push("incoming_event")
        assert closing["payload"]["event"]["type"] == "system_message"
        r = await customer.call("send_event", {"chat_id": chat_id, "event": message})
        assert r.json()["error"]["type"] == "chat_inactive"
        late = await customer.ok("send_event", {"chat_id": chat_id, "event": message, "attach_to_last_thread": True})
        push = await tab.push("incoming_event")
        assert push["payload"]["event"]["id"] == late["event_id"] and late["event_id"].startswith(thread_id + "_")
        assert _seq(push) == _seq(closing) + 1
    finally:
        await tab.close()
        await customer.aclose()
        await stranger.aclose()


async def test_an_agent_of_the_chats_group_who_writes_joins_it(server, pair, valkey):
    org, dee, _ = pair
    email = f"fay-{secrets.token_hex(4)}@example.com"
    creds = await create_agent(valkey, org, email, "Fay", "normal", 10, [(0, "normal")])
    fay = AgentClient(server.url, email, creds["personal_access_token"])
    customer = await CustomerClient(server.url, org).authorize()
    tab = await customer.rtm()
    try:
        chat_id, _ = await _routed_chat(customer, dee)
        await tab.push("user_added_to_chat")  # dee
        sent = await fay.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "I'm Fay"}})
        added = await tab.push("user_added_to_chat")
        assert added["payload"]["user"]["id"] == email and added["payload"]["reason"] == "manual"
        push = await tab.push("incoming_event")
        assert push["payload"]["event"]["id"] == sent["event_id"]
        assert push["payload"]["event"]["author_id"] == email
        # now in the chat, her next message goes straight through
        again = await fay.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "still me"}})
        assert (await tab.push("incoming_event"))["payload"]["event"]["id"] == again["event_id"]
        await tab.no_push("user_added_to_chat", wait=0.2)
    finally:
        await tab.close()
        await customer.aclose()
        await fay.aclose()


def deep(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"a": value}
    return value


class _Sink:
    def __init__(self) -> None:
        self.conn_id = secrets.token_hex(4)
        self.got: list[tuple[str, bytes, object]] = []

    def deliver(self, action: str, payload: msgspec.Raw, request_id: object) -> None:
        self.got.append((action, bytes(payload), request_id))


async def test_the_bus_delivers_once_on_the_publishing_worker_and_once_on_another(valkey):
    here, there = Bus(valkey), Bus(valkey)
    await here.start()
    await there.start()
    user = f"u-{secrets.token_hex(4)}"
    near, far, sender = _Sink(), _Sink(), _Sink()
    try:
        await here.register(user, near)
        await here.register(user, sender)
        await there.register(user, far)
        await here.publish([user, user], "incoming_event", b'{"n":1}', conn_id=sender.conn_id, request_id="r1")
        assert near.got == [("incoming_event", b'{"n":1}', None)]  # delivered before publish returned
        assert sender.got == [("incoming_event", b'{"n":1}', "r1")]
        for _ in range(100):
            if far.got:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # time for an echo to come back, if one were delivered
        assert far.got == [("incoming_event", b'{"n":1}', None)]
        assert len(near.got) == 1 and len(sender.got) == 1
    finally:
        for bus, sink in ((here, near), (here, sender), (there, far)):
            await bus.unregister(user, sink)
        await here.stop()
        await there.stop()


async def test_a_retried_message_with_the_same_custom_id_is_stored_once(server, pair, valkey):
    """The customer's and the agent's clients lose the answer to a message and send it again with the same
    custom_id, over RTM and over the Web API: each gets the first try's event id back, the chat holds each message
    once, and every socket gets one push per message."""
    org, dee, _ = pair
    customer = await CustomerClient(server.url, org).authorize()
    tab = await customer.rtm()
    console = await dee.rtm()
    try:
        chat_id, thread_id = await _routed_chat(customer, dee, console)

        def message(custom_id: str) -> dict:
            return {"chat_id": chat_id, "event": {"type": "message", "text": custom_id, "custom_id": custom_id}}

        async def over_rtm(sock: Socket, custom_id: str) -> str:
            reply = await sock.request("send_event", message(custom_id))
            assert reply["success"], reply
            return reply["payload"]["event_id"]

        async def over_web(client: CustomerClient | AgentClient, custom_id: str) -> str:
            return (await client.ok("send_event", message(custom_id)))["event_id"]

        sent: dict[str, set[str]] = {}
        for custom_id, tries in (("c-rtm", [over_rtm(tab, "c-rtm") for _ in range(3)]),
                                 ("c-web", [over_web(customer, "c-web") for _ in range(3)]),
                                 ("a-rtm", [over_rtm(console, "a-rtm") for _ in range(3)]),
                                 ("a-web", [over_web(dee, "a-web") for _ in range(3)])):
            first = await tries[0]
            sent[custom_id] = {first, *await asyncio.gather(*tries[1:])}  # the retries, some at the same time
        assert all(len(ids) == 1 for ids in sent.values()), sent
        # a retry on the other transport is still the same message
        assert await over_web(customer, "c-rtm") in sent["c-rtm"]
        assert await over_rtm(console, "a-web") in sent["a-web"]
        # the agent's "c-web" is their own message, not the customer's
        agents_own = await over_web(dee, "c-web")
        assert agents_own not in sent["c-web"]

        chat = await customer.ok("get_chat", {"chat_id": chat_id, "thread_id": thread_id})
        texts = [e["text"] for e in chat["thread"]["events"] if e["type"] == "message"]
        assert sorted(texts) == ["a-rtm", "a-web", "c-rtm", "c-web", "c-web"]
        for sock in (tab, console):
            pushes = await _events(sock, 5)
            assert sorted(p["payload"]["event"]["text"] for p in pushes) == sorted(texts)
    finally:
        await tab.close()
        await console.close()
        await customer.aclose()
