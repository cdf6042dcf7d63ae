"""The Agent Chat API v3.6 beyond answering chats: following a chat, event previews and thinking indicators,
multicast, the transfer list, away sockets, session tokens, logout, thread summaries and transcripts, agents'
uploads, list_archives' filters and the pushes that go with them, over the Web API and RTM of a real server."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from tests.support import AgentClient, CustomerClient, LiveServer, Socket, WebhookReceiver, configure
from widget_server import keys
from widget_server.auth.signing import BotToken, Signer
from widget_server.bootstrap import create_agent
from widget_server.protocol.config import Group, LicenseConfig

from .conftest import new_license

PNG_1x1 = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6300010000000500010d0a2db40000000049454e44ae426082")


@dataclass
class Desk:
    org: str
    ann: AgentClient
    """Group 0; takes the customer's chat."""
    bob: AgentClient
    """Group 0, not in the chat."""
    cid: AgentClient
    """Group 1 only: outside the chat's group."""
    boss: AgentClient
    """An administrator (group 0)."""


@pytest.fixture
async def desk(server, valkey) -> AsyncIterator[Desk]:
    org = await new_license(valkey, LicenseConfig(groups=[Group(id=0, name="General"), Group(id=1, name="Sales")]))
    agents = []
    for name, role, group in (("ann", "normal", 0), ("bob", "normal", 0), ("cid", "normal", 1),
                              ("boss", "administrator", 0)):
        email = f"{name}-{secrets.token_hex(4)}@example.com"
        creds = await create_agent(valkey, org, email, name.title(), role, 5, [(group, "normal")])
        agents.append(AgentClient(server.url, email, creds["personal_access_token"]))
    for tag in ("shipping", "vip", "bug", "late"):  # (tag_thread takes the license's tags only)
        r = await configure(agents[3], "create_tag", {"name": tag, "group_ids": [0]})
        assert r.status_code == 200, r.text
    yield Desk(org, *agents)
    for agent in agents:
        await agent.aclose()


async def _chat_with_ann(server, desk: Desk, text: str = "where is my parcel?") -> tuple[CustomerClient, str, str]:
    """A customer's chat in group 0 that Ann (the only one accepting chats) takes."""
    await desk.ann.ok("set_routing_status", {"status": "accepting_chats"})
    customer = await CustomerClient(server.url, desk.org).authorize()
    started = await customer.ok("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": text}]}}})
    for _ in range(50):
        chat = await desk.ann.ok("get_chat", {"chat_id": started["chat_id"]})
        if desk.ann.id in [u["id"] for u in chat["users"]]:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the chat did not reach Ann")
    return customer, started["chat_id"], started["thread_id"]


async def test_an_agent_follows_a_chat_of_their_group_and_unfollows_it(server, desk):
    customer, chat_id, _ = await _chat_with_ann(server, desk)
    bob_rtm = await desk.bob.rtm(away=True)
    customer_rtm = await customer.rtm()
    try:
        assert await desk.bob.ok("follow_chat", {"id": chat_id}) == {}
        incoming = await bob_rtm.push("incoming_chat")
        assert incoming["payload"]["chat"]["id"] == chat_id
        await desk.bob.ok("follow_chat", {"id": chat_id})  # (again: nothing new)
        await bob_rtm.no_push("incoming_chat")

        # a follower gets the chat's messages (send_event's own script publishes to them) and its other pushes
        await customer.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "hello?"}})
        assert (await bob_rtm.push("incoming_event"))["payload"]["event"]["text"] == "hello?"
        await desk.ann.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "note",
                                                                       "visibility": "agents"}})
        assert (await bob_rtm.push("incoming_event"))["payload"]["event"]["text"] == "note"
        await desk.ann.ok("send_typing_indicator", {"chat_id": chat_id, "is_typing": True})
        await bob_rtm.push("incoming_typing_indicator")

        # an agent outside the chat's groups may not follow it; a member may not unfollow
        refused = await desk.cid.call("follow_chat", {"id": chat_id})
        assert refused.status_code == 403 and refused.json()["error"]["type"] == "authorization"
        member = await desk.ann.call("unfollow_chat", {"id": chat_id})
        assert member.status_code == 400 and member.json()["error"]["type"] == "validation"

        reply = await bob_rtm.request("unfollow_chat", {"id": chat_id})
        assert reply["success"] and reply["payload"] == {}
        assert (await bob_rtm.push("chat_unfollowed"))["payload"] == {"chat_id": chat_id}
        await customer.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "anyone?"}})
        await customer_rtm.push("incoming_event")
        await bob_rtm.no_push("incoming_event")

        # following lasts through the close, until the chat is reactivated
        await desk.bob.ok("follow_chat", {"id": chat_id})
        await bob_rtm.push("incoming_chat")
        await desk.ann.ok("deactivate_chat", {"id": chat_id})
        assert (await bob_rtm.push("chat_deactivated"))["payload"]["chat_id"] == chat_id
        await customer.ok("resume_chat", {"chat": {"id": chat_id}})
        await customer.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "back again"}})
        await customer_rtm.push("incoming_event")
        await bob_rtm.no_push("incoming_event")
    finally:
        await bob_rtm.close()
        await customer_rtm.close()
        await customer.aclose()


async def test_previews_and_thinking_indicators_reach_the_customer_and_are_not_stored(server, desk):
    customer, chat_id, thread_id = await _chat_with_ann(server, desk)
    customer_rtm = await customer.rtm()
    ann_rtm = await desk.ann.rtm()
    try:
        reply = await ann_rtm.request("send_event_preview", {"chat_id": chat_id, "event": {
            "type": "message", "text": "Let me check the", "custom_id": "p1"}})
        assert reply["success"] and reply["payload"] == {}
        preview = (await customer_rtm.push("incoming_event_preview"))["payload"]
        assert preview["chat_id"] == chat_id and preview["thread_id"] == thread_id
        assert preview["event"]["text"] == "Let me check the" and preview["event"]["author_id"] == desk.ann.id
        assert preview["event"]["type"] == "message" and preview["event"]["custom_id"] == "p1"
        events = (await customer.ok("get_chat", {"chat_id": chat_id}))["thread"]["events"]
        assert [e["text"] for e in events if e["type"] == "message"] == ["where is my parcel?"]

        # only messages, only to everyone, only by an agent in the chat
        for bad in ({"type": "file", "url": "x"}, {"type": "message", "text": "x", "visibility": "agents"}):
            r = await desk.ann.call("send_event_preview", {"chat_id": chat_id, "event": bad})
            assert r.status_code == 400 and r.json()["error"]["type"] == "validation"
        r = await desk.bob.call("send_event_preview", {"chat_id": chat_id, "event": {"type": "message", "text": "x"}})
        assert r.status_code == 403
        r = await desk.cid.call("send_event_preview", {"chat_id": chat_id, "event": {"type": "message", "text": "x"}})
        assert r.status_code == 403

        assert await desk.ann.ok("send_thinking_indicator", {
            "chat_id": chat_id, "title": "Thinking...", "description": "Fetching the order", "custom_id": "t1"}) == {}
        thinking = (await customer_rtm.push("incoming_thinking_indicator"))["payload"]
        assert thinking["chat_id"] == chat_id and thinking["thread_id"] == thread_id
        assert thinking["author_id"] == desk.ann.id and thinking["title"] == "Thinking..."
        assert thinking["description"] == "Fetching the order" and thinking["custom_id"] == "t1" and thinking["sent_at"]
        await desk.ann.ok("send_thinking_indicator", {"chat_id": chat_id, "visibility": "agents"})
        await customer_rtm.no_push("incoming_thinking_indicator")
        r = await desk.cid.call("send_thinking_indicator", {"chat_id": chat_id})
        assert r.status_code == 403
    finally:
        await customer_rtm.close()
        await ann_rtm.close()
        await customer.aclose()


async def test_multicast_reaches_whom_the_sender_may_reach(server, desk):
    sockets = {name: await getattr(desk, name).rtm(away=True) for name in ("ann", "bob", "cid")}
    try:
        content = {"alert": {"vip": "started a chat"}}
        assert await desk.boss.ok("multicast", {"recipients": {"agents": {"all": True}}, "content": content,
                                                "type": "vip"}) == {}
        for sock in sockets.values():
            got = (await sock.push("incoming_multicast"))["payload"]
            assert got == {"author_id": desk.boss.id, "content": content, "type": "vip"}

        # an agent reaches their own group and agents by id, not the whole license or another group
        reply = await sockets["ann"].request("multicast", {"recipients": {"agents": {"groups": [0]}}, "content": 1})
        assert reply["success"]
        assert (await sockets["bob"].push("incoming_multicast"))["payload"]["content"] == 1
        await sockets["cid"].no_push("incoming_multicast")
        await desk.ann.ok("multicast", {"recipients": {"agents": {"ids": [desk.cid.id]}}, "content": "hi"})
        assert (await sockets["cid"].push("incoming_multicast"))["payload"]["content"] == "hi"
        for recipients in ({"agents": {"all": True}}, {"agents": {"groups": [1]}}):
            r = await desk.ann.call("multicast", {"recipients": recipients, "content": 1})
            assert r.status_code == 403 and r.json()["error"]["type"] == "authorization"
        for payload in ({"recipients": {}, "content": 1}, {"recipients": {"agents": {"ids": ["nobody@x"]}}, "content": 1},
                        {"recipients": {"agents": {"all": True}}, "content": "x" * 20000}):
            r = await desk.boss.call("multicast", payload)
            assert r.status_code == 400 and r.json()["error"]["type"] == "validation", payload

        # customers by id (this server's extension), with the same rule as changing a customer
        customer, _, _ = await _chat_with_ann(server, desk)
        customer_rtm = await customer.rtm()
        await desk.ann.ok("multicast", {"recipients": {"customers": {"ids": [customer.id]}}, "content": {"a": 1}})
        assert (await customer_rtm.push("incoming_multicast"))["payload"]["content"] == {"a": 1}
        r = await desk.cid.call("multicast", {"recipients": {"customers": {"ids": [customer.id]}}, "content": 1})
        assert r.status_code == 403
        await customer_rtm.close()
        await customer.aclose()
    finally:
        for sock in sockets.values():
            await sock.close()


async def test_the_transfer_list_and_the_pushes_of_a_transfer(server, desk):
    customer, chat_id, _ = await _chat_with_ann(server, desk)
    try:
        # Bob, Cid and the boss are offline (never logged in): nobody to transfer to
        assert await desk.ann.ok("list_agents_for_transfer", {"chat_id": chat_id}) == []
        await desk.bob.ok("set_routing_status", {"status": "not_accepting_chats"})
        await desk.cid.ok("set_routing_status", {"status": "accepting_chats"})
        listed = await desk.ann.ok("list_agents_for_transfer", {"chat_id": chat_id})
        assert listed == [{"agent_id": desk.bob.id, "total_active_chats": 0, "active_chats": 0}]  # not Cid: group 1
        r = await desk.cid.call("list_agents_for_transfer", {"chat_id": chat_id})
        assert r.status_code == 403
        # fewest chats first: Bob takes another customer's chat, the boss has none
        await desk.ann.ok("set_routing_status", {"status": "not_accepting_chats"})
        await desk.bob.ok("set_routing_status", {"status": "accepting_chats"})
        await desk.boss.ok("set_routing_status", {"status": "not_accepting_chats"})
        second = await CustomerClient(server.url, desk.org).authorize()
        await second.ok("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": "hi"}]}}})
        await second.aclose()
        listed = await desk.ann.ok("list_agents_for_transfer", {"chat_id": chat_id})
        assert listed == [{"agent_id": desk.boss.id, "total_active_chats": 0, "active_chats": 0},
                          {"agent_id": desk.bob.id, "total_active_chats": 1, "active_chats": 1}]

        bob_rtm = await desk.bob.rtm(away=True)
        cid_rtm = await desk.cid.rtm()
        await desk.ann.ok("transfer_chat", {"id": chat_id, "target": {"type": "group", "ids": [1]}})
        for sock in (bob_rtm, cid_rtm):
            updated = (await sock.push("chat_access_updated"))["payload"]
            assert updated == {"id": chat_id, "access": {"group_ids": [1]}}
        gone = (await bob_rtm.push("customer_transferred"))["payload"]
        assert gone == {"id": customer.id, "transferred_to": {"group_ids": [1]}, "followed": False}
        await cid_rtm.no_push("customer_transferred")
        # the boss resumes it, closed, in group 0 again: the access changes back, and Cid is told
        await desk.cid.ok("deactivate_chat", {"id": chat_id})
        await desk.boss.ok("resume_chat", {"chat": {"id": chat_id, "access": {"group_ids": [0]}}})
        assert (await cid_rtm.push("chat_access_updated"))["payload"] == {"id": chat_id, "access": {"group_ids": [0]}}
        assert (await bob_rtm.push("chat_access_updated"))["payload"]["access"] == {"group_ids": [0]}
        await desk.boss.ok("deactivate_chat", {"id": chat_id})
        await desk.boss.ok("resume_chat", {"chat": {"id": chat_id, "access": {"group_ids": [1]}}})
        await cid_rtm.push("chat_access_updated")
        # the chat is group 1's again, with the boss in it: Cid, accepting, is the one to transfer to
        assert await desk.boss.ok("list_agents_for_transfer", {"chat_id": chat_id}) == [
            {"agent_id": desk.cid.id, "total_active_chats": 0, "active_chats": 0}]
        await bob_rtm.close()
        await cid_rtm.close()
    finally:
        await customer.aclose()


async def test_away_sockets_stop_and_restart_routing(server, desk):
    ann_rtm = await desk.ann.rtm()
    second = await desk.ann.rtm()
    try:
        await desk.ann.ok("set_routing_status", {"status": "accepting_chats"})
        assert (await ann_rtm.request("set_away_status", {"away": True}))["success"]
        statuses = {s["agent_id"]: s["status"] for s in await desk.ann.ok("list_routing_statuses")}
        assert statuses[desk.ann.id] == "accepting_chats"  # one socket of two is away
        assert (await second.request("set_away_status", {"away": True}))["success"]
        set_to = (await ann_rtm.push("routing_status_set"))["payload"]
        while set_to["status"] == "accepting_chats":
            set_to = (await ann_rtm.push("routing_status_set"))["payload"]
        assert set_to == {"agent_id": desk.ann.id, "status": "not_accepting_chats"}
        assert (await second.request("set_away_status", {"away": False}))["success"]
        back = (await ann_rtm.push("routing_status_set"))["payload"]
        assert back == {"agent_id": desk.ann.id, "status": "accepting_chats"}
        # away on every socket again; then a new socket that is not away brings Ann back too
        assert (await second.request("set_away_status", {"away": True}))["success"]
        assert (await ann_rtm.push("routing_status_set"))["payload"]["status"] == "not_accepting_chats"
        third = await desk.ann.rtm()
        assert (await ann_rtm.push("routing_status_set"))["payload"]["status"] == "accepting_chats"
        await third.close()
        # an agent who stopped accepting chats themself is not brought back by a socket, even one of those that
        # were away when they did
        assert (await second.request("set_away_status", {"away": True}))["success"]
        assert (await ann_rtm.push("routing_status_set"))["payload"]["status"] == "not_accepting_chats"
        await desk.ann.ok("set_routing_status", {"status": "not_accepting_chats"})
        assert (await second.request("set_away_status", {"away": False}))["success"]
        fourth = await desk.ann.rtm()
        statuses = {s["agent_id"]: s["status"] for s in await desk.ann.ok("list_routing_statuses")}
        assert statuses[desk.ann.id] == "not_accepting_chats"
        await fourth.close()
        r = await desk.ann.call("set_away_status", {"away": True})
        assert r.status_code == 400 and "not available on the Web API" in r.json()["error"]["message"]
    finally:
        await ann_rtm.close()
        await second.close()


async def test_update_session_takes_the_same_agents_token_only(server, desk):
    ann_rtm = await desk.ann.rtm()
    try:
        reply = await ann_rtm.request("update_session", {"token": f"Bearer {desk.ann.token}"})
        assert reply["success"] and reply["payload"] == {}
        other = await ann_rtm.request("update_session", {"token": f"Bearer {desk.bob.token}"})
        assert not other["success"] and other["payload"]["error"]["type"] == "authorization"
        bad = await ann_rtm.request("update_session", {"token": "Bearer nope"})
        assert not bad["success"] and bad["payload"]["error"]["type"] == "authentication"
        assert (await ann_rtm.request("get_chat", {"chat_id": "NOPE"}))["payload"]["error"]["type"] == "not_found"
        r = await desk.ann.call("update_session", {"token": desk.ann.token})
        assert r.status_code == 400
    finally:
        await ann_rtm.close()


async def test_logout_over_rtm_answers_before_the_socket_closes(server, desk):
    ann_rtm = await desk.ann.rtm()
    other = await desk.ann.rtm()
    reply = await ann_rtm.request("logout", {})
    assert reply["success"] and reply["payload"] == {}
    assert (await ann_rtm.push("agent_disconnected"))["payload"]["reason"] == "agent_logged_out_remotely"
    assert (await other.push("agent_disconnected"))["payload"]["reason"] == "agent_logged_out_remotely"
    await asyncio.wait_for(ann_rtm.closed.wait(), 5)
    await asyncio.wait_for(other.closed.wait(), 5)
    statuses = {s["agent_id"]: s["status"] for s in await desk.boss.ok("list_routing_statuses")}
    assert statuses[desk.ann.id] == "offline"


async def test_thread_summary_and_transcript(server, desk, valkey):
    customer, chat_id, thread_id = await _chat_with_ann(server, desk, "My order 1234 never arrived")
    await desk.ann.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "Sorry! Checking."}})
    await customer.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "Thanks"}})
    await desk.ann.ok("tag_thread", {"chat_id": chat_id, "thread_id": thread_id, "tag": "shipping"})
    ann_rtm = await desk.ann.rtm()
    bob_rtm = await desk.bob.rtm(away=True)
    try:
        assert (await ann_rtm.request("request_thread_summary", {"chat_id": chat_id, "thread_id": thread_id}))["success"]
        pushed = (await ann_rtm.push("thread_summary_set"))["payload"]
        assert pushed["chat_id"] == chat_id and pushed["thread_id"] == thread_id
        summary = pushed["summary"]
        assert summary["status"] == "ok" and summary["updated_at"]
        text = summary["text"]
        assert "Ann (agent)" in text and "(customer)" in text and "still active" in text
        assert "2 from the customer, 1 from agents" in text
        assert 'First customer message: "My order 1234 never arrived"' in text
        assert "Tags: shipping." in text and 'Ann: "Sorry! Checking."' in text
        await bob_rtm.no_push("thread_summary_set")  # not in the chat
        r = await desk.cid.call("request_thread_summary", {"chat_id": chat_id, "thread_id": thread_id})
        assert r.status_code == 403

        # agents see it with the thread (get_chat, list_archives); the customer does not
        thread = (await desk.ann.ok("get_chat", {"chat_id": chat_id, "thread_id": thread_id}))["thread"]
        assert thread["summary"] == summary
        assert "summary" not in (await customer.ok("get_chat", {"chat_id": chat_id}))["thread"]

        transcript = (await desk.ann.ok("get_thread_transcript", {"chat_id": chat_id, "thread_id": thread_id}))
        lines = transcript["transcript"].splitlines()
        assert lines[0].endswith("My order 1234 never arrived") and "Ann: Sorry! Checking." in lines[1]
        r = await desk.cid.call("get_thread_transcript", {"chat_id": chat_id, "thread_id": thread_id})
        assert r.status_code == 403

        # an ended thread is summarized once (as LiveChat)
        await desk.ann.ok("deactivate_chat", {"id": chat_id})
        await desk.ann.ok("request_thread_summary", {"chat_id": chat_id, "thread_id": thread_id})
        final = (await ann_rtm.push("thread_summary_set"))["payload"]["summary"]
        assert "ended" in final["text"]
        archived = await desk.ann.ok("list_archives", {"filters": {"chat_ids": [chat_id]}})
        assert archived["chats"][0]["thread"]["summary"] == final
        again = await desk.ann.call("request_thread_summary", {"chat_id": chat_id, "thread_id": thread_id})
        assert again.status_code == 400 and again.json()["error"]["type"] == "validation"
    finally:
        await ann_rtm.close()
        await bob_rtm.close()
        await customer.aclose()


async def test_an_agent_uploads_a_file_and_sends_it(server, desk):
    customer, chat_id, _ = await _chat_with_ann(server, desk)
    customer_rtm = await customer.rtm()
    try:
        r = await desk.ann.http.post("/v3.6/agent/action/upload_file", files={"file": ("label.png", PNG_1x1)},
                                     headers={"Authorization": f"Bearer {desk.ann.token}"})
        assert r.status_code == 200, r.text
        url = r.json()["url"]
        assert f"/files/{desk.org}/" in url and url.endswith("/label.png")
        await desk.ann.ok("send_event", {"chat_id": chat_id, "event": {"type": "file", "url": url}})
        event = (await customer_rtm.push("incoming_event"))["payload"]["event"]
        assert event["type"] == "file" and event["url"] == url and event["name"] == "label.png"
        assert (await customer.http.get(url)).content == PNG_1x1
        # a customer cannot pass an agent's upload off as theirs
        r = await customer.call("send_event", {"chat_id": chat_id, "event": {"type": "file", "url": url}})
        assert r.status_code == 400 and r.json()["error"]["type"] == "validation"
        # the upload rules are the customer's: no executables, a file field, a token
        r = await desk.ann.http.post("/v3.6/agent/action/upload_file", files={"file": ("run.exe", b"MZ\x90\x00")},
                                     headers={"Authorization": f"Bearer {desk.ann.token}"})
        assert r.status_code == 400 and r.json()["error"]["type"] == "validation"
        r = await desk.ann.http.post("/v3.6/agent/action/upload_file", files={"file": ("a.png", PNG_1x1)},
                                     headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401
    finally:
        await customer_rtm.close()
        await customer.aclose()


async def _archived(server, desk: Desk, text: str, email: str | None = None, tag: str | None = None,
                    file: bool = False) -> tuple[str, str]:
    customer, chat_id, thread_id = await _chat_with_ann(server, desk, text)
    if email:
        await customer.ok("update_customer", {"email": email})
    if file:
        r = await customer.http.post(f"/v3.6/customer/action/upload_file?organization_id={desk.org}",
                                     headers={"Authorization": f"Bearer {customer.token}"},
                                     files={"file": ("a.png", PNG_1x1)})
        await customer.ok("send_event", {"chat_id": chat_id, "event": {"type": "file", "url": r.json()["url"]}})
    if tag:
        await desk.ann.ok("tag_thread", {"chat_id": chat_id, "thread_id": thread_id, "tag": tag})
    await desk.ann.ok("deactivate_chat", {"id": chat_id})
    await customer.aclose()
    return chat_id, thread_id


async def _found(agent: AgentClient, **filters) -> set[str]:
    got = await agent.ok("list_archives", {"filters": filters, "limit": 100})
    return {c["id"] for c in got["chats"]}


async def test_list_archives_filters_of_36_come_from_the_index(server, desk, valkey):
    tagged, tagged_thread = await _archived(server, desk, "first", email="Vip@Example.com", tag="vip")
    plain, plain_thread = await _archived(server, desk, "second")
    with_file, _ = await _archived(server, desk, "third", tag="bug", file=True)
    boss = desk.boss

    assert await _found(boss, tags={"values": ["vip"]}) == {tagged}
    assert await _found(boss, tags={"values": ["vip", "bug"]}) == {tagged, with_file}
    assert await _found(boss, tags={"values": ["vip", "bug"], "require_every_value": True}) == set()
    assert await _found(boss, tags={"exclude_values": ["vip"]}) >= {plain, with_file}
    assert tagged not in await _found(boss, tags={"exclude_values": ["vip"]})
    assert await _found(boss, tags={"exists": False}) == {plain}
    assert await _found(boss, tags={"exists": True}) == {tagged, with_file}
    assert await _found(boss, customer_email="vip@example.com") == {tagged}
    assert await _found(boss, chat_ids=[plain, with_file]) == {plain, with_file}
    assert await _found(boss, agents={"values": [desk.ann.id]}) == {tagged, plain, with_file}
    assert await _found(boss, agents={"values": [desk.bob.id]}) == set()
    assert await _found(boss, agents={"exists": False}) == set()
    assert await _found(boss, event_types={"values": ["file"]}) == {with_file}
    assert await _found(boss, event_types={"exclude_values": ["file"]}) == {tagged, plain}
    assert await _found(boss, event_types={"values": ["message", "file"], "require_every_value": True}) == {with_file}
    # combined, and within the caller's scope (Cid's group 1 has none of them)
    assert await _found(boss, chat_ids=[tagged, plain], tags={"exists": True}) == {tagged}
    assert await _found(desk.cid, tags={"exists": True}) == set()

    # the requester's following shows in each archived chat
    await desk.bob.ok("follow_chat", {"id": plain})
    listed = (await desk.bob.ok("list_archives", {"filters": {"chat_ids": [plain, tagged]}}))["chats"]
    assert {c["id"]: c["is_followed"] for c in listed} == {plain: True, tagged: False}

    # a tag given after the thread ended finds it too, and one taken away no longer does
    await desk.ann.ok("tag_thread", {"chat_id": plain, "thread_id": plain_thread, "tag": "late"})
    assert await _found(boss, tags={"values": ["late"]}) == {plain}
    assert await _found(boss, tags={"exists": False}) == set()
    await desk.ann.ok("untag_thread", {"chat_id": tagged, "thread_id": tagged_thread, "tag": "vip"})
    assert await _found(boss, tags={"values": ["vip"]}) == set()
    assert await _found(boss, tags={"exists": False}) == {tagged}

    # the kinds of agent in a thread: a bot of group 0 writes in a fourth chat (writing joins it)
    bot = (await configure(boss, "create_bot", {"name": "Helper", "groups": [{"id": 0, "priority": "normal"}],
                                                "owner_client_id": "cid"})).json()
    token = (await configure(boss, "issue_bot_token", {"bot_id": bot["id"], "bot_secret": bot["secret"],
                                                       "client_id": "cid", "organization_id": desk.org})).json()["token"]
    as_bot = AgentClient(server.url, bot["id"], token)
    customer, with_bot, _ = await _chat_with_ann(server, desk, "fourth")
    await as_bot.ok("send_event", {"chat_id": with_bot, "event": {"type": "message", "text": "I am a bot"}})
    await desk.ann.ok("deactivate_chat", {"id": with_bot})
    await customer.aclose()
    await as_bot.aclose()
    humans = {tagged, plain, with_file}
    assert await _found(boss, agent_types={"any_values": ["chatbot"]}) == {with_bot}
    assert await _found(boss, agent_types={"all_values": ["human", "chatbot"]}) == {with_bot}
    assert await _found(boss, agent_types={"any_values": ["human"], "exclude_values": ["chatbot"]}) == humans
    assert await _found(boss, agent_types={"any_values": ["ai_agent"]}) == set()

    # a license indexed by the previous version (no tag, type, chat, address or state sets) is indexed again, once
    for kind in "txehmy":
        async for key in valkey.scan_iter(match=f"{keys.P}:{{{desk.org}}}:arch:{kind}:*"):
            await valkey.delete(key)
    await valkey.delete(keys.archives_indexed(desk.org))
    await valkey.set(f"{keys.P}:{{{desk.org}}}:arch:indexed", "1")  # (the previous version's marker)
    assert await _found(boss, tags={"values": ["late", "bug"]}) == {plain, with_file}
    assert await _found(boss, agent_types={"any_values": ["chatbot"]}) == {with_bot}
    assert await valkey.exists(keys.archives_indexed(desk.org))

    # what the index cannot answer is refused, not ignored; malformed filters too
    for filters in ({"sales": {"values": ["x"]}}, {"properties": {"a": {"b": {"exists": True}}}},
                    {"tags": {"values": ["a"], "exists": True}}, {"tags": {}},
                    {"tags": {"exclude_values": ["a"], "require_every_value": True}},
                    {"chat_ids": ["x"] * 1001}, {"from": "yesterday"}, {"agent_types": {}},
                    {"agent_types": {"any_values": ["human"], "exclude_values": ["human"]}},
                    {"agent_types": {"any_values": ["robot"]}}):
        r = await boss.call("list_archives", {"filters": filters})
        assert r.status_code == 400 and r.json()["error"]["type"] == "validation", filters


async def test_summaries_and_access_changes_reach_their_webhooks(server, desk):
    customer, chat_id, thread_id = await _chat_with_ann(server, desk)
    try:
        with WebhookReceiver() as receiver:
            for action in ("thread_summary_set", "chat_access_updated"):
                r = await configure(desk.boss, "register_webhook", {
                    "action": action, "secret_key": "s3cret", "url": receiver.url, "owner_client_id": "cid",
                    "type": "license"})
                assert r.status_code == 200, r.text
            await desk.ann.ok("request_thread_summary", {"chat_id": chat_id, "thread_id": thread_id})
            await desk.ann.ok("transfer_chat", {"id": chat_id, "target": {"type": "group", "ids": [1]},
                                                "ignore_agents_availability": True})
            deliveries = [json.loads(body) for _, body in await receiver.wait_for(2)]
            by_action = {d["action"]: d["payload"] for d in deliveries}
            assert by_action["thread_summary_set"]["thread_id"] == thread_id
            assert "First customer message" in by_action["thread_summary_set"]["summary"]["text"]
            assert by_action["chat_access_updated"] == {"id": chat_id, "access": {"group_ids": [1]}}
            assert {d["organization_id"] for d in deliveries} == {desk.org}
    finally:
        await customer.aclose()


@pytest.fixture(scope="module")
def quick_heartbeat(tmp_path_factory, valkey_url) -> Iterator[LiveServer]:
    """A server whose agent sockets check their token every half second (the heartbeat), and where one uploader
    (customer or agent) may upload 200 bytes an hour."""
    live = LiveServer(tmp_path_factory.mktemp("heartbeat"), valkey_url, env={
        "WIDGET_AGENT_HEARTBEAT_SECONDS": "0.5", "WIDGET_UPLOAD_CUSTOMER_BYTES_PER_HOUR": "200"})
    yield live.start()
    live.stop()


async def test_an_agents_uploads_count_against_their_own_hourly_quota(quick_heartbeat, valkey):
    org = await new_license(valkey)
    agents = []
    for name in ("ann", "bob"):
        email = f"{name}-{secrets.token_hex(4)}@example.com"
        creds = await create_agent(valkey, org, email, name.title(), "normal")
        agents.append(AgentClient(quick_heartbeat.url, email, creds["personal_access_token"]))
    ann, bob = agents

    async def upload(agent: AgentClient) -> int:
        r = await agent.http.post("/v3.6/agent/action/upload_file", files={"file": ("a.png", PNG_1x1)},
                                  headers={"Authorization": f"Bearer {agent.token}"})
        return r.status_code

    try:
        assert len(PNG_1x1) * 2 <= 200 < len(PNG_1x1) * 3
        assert [await upload(ann), await upload(ann), await upload(ann)] == [200, 200, 429]
        assert await upload(bob) == 200  # another agent: a quota of their own
    finally:
        for agent in agents:
            await agent.aclose()


async def test_update_session_lets_a_socket_outlive_its_login_token(quick_heartbeat, valkey):
    """A bot logs in with a token about to expire: the socket that swapped in a fresh one stays, the other is closed
    at the first heartbeat after the expiry (``access_token_revoked``)."""
    org = await new_license(valkey)
    email = f"boss-{secrets.token_hex(4)}@example.com"
    boss_creds = await create_agent(valkey, org, email, "Boss", "administrator")
    boss = AgentClient(quick_heartbeat.url, email, boss_creds["personal_access_token"])
    bot = (await configure(boss, "create_bot", {"name": "Helper", "owner_client_id": "cid"})).json()
    # tokens as issue_bot_token makes them, with lifetimes a test can wait out (the server's key, from Valkey)
    signer = Signer(hashlib.sha256(b"widget_server\0" + await valkey.get(keys.SECRET)).digest())

    def bot_token(seconds: int) -> str:
        return "Bearer " + signer.sign("bot", BotToken(org=org, bot=bot["id"], exp=int(time.time()) + seconds))

    short = bot_token(2)
    stays = await Socket.open(f"{quick_heartbeat.ws_url}/v3.6/agent/rtm/ws", short, {})
    goes = await Socket.open(f"{quick_heartbeat.ws_url}/v3.6/agent/rtm/ws", short, {})
    try:
        assert (await stays.request("update_session", {"token": bot_token(3600)}))["success"]
        disconnected = await goes.push("agent_disconnected", timeout=10)
        assert disconnected["payload"]["reason"] == "access_token_revoked"
        await asyncio.wait_for(goes.closed.wait(), 5)
        # past the old token's expiry and several heartbeats: the socket that swapped is open and answers
        reply = await stays.request("list_routing_statuses", {})
        assert reply["success"] and not stays.closed.is_set()
    finally:
        await stays.close()
        await goes.close()
        await boss.aclose()
