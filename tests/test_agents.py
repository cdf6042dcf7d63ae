"""Agents answer customers: routing to the least busy agent, queues, transfers, and the Agent Chat API."""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import AsyncIterator

import pytest

from tests.support import AgentClient, CustomerClient
from widget_server.bootstrap import create_agent
from widget_server.protocol.config import Group, LicenseConfig

from .conftest import new_license


@pytest.fixture
async def team(server, valkey) -> AsyncIterator[tuple[str, list[AgentClient]]]:
    """A license with groups 0 and 1 and three agents: ann and bob in group 0 (ann takes 1 chat at most),
    cid in group 1. Nobody accepts chats until told to."""
    org = await new_license(valkey, LicenseConfig(groups=[Group(id=0, name="General"), Group(id=1, name="Sales")]))
    agents = []
    for name, max_chats, group in (("ann", 1, 0), ("bob", 3, 0), ("cid", 2, 1)):
        email = f"{name}-{secrets.token_hex(4)}@example.com"
        creds = await create_agent(valkey, org, email, name.title(), "normal", max_chats, [(group, "normal")])
        agents.append(AgentClient(server.url, email, creds["personal_access_token"]))
    yield org, agents
    for agent in agents:
        await agent.aclose()


async def _accepting(*agents: AgentClient) -> None:
    for agent in agents:
        await agent.ok("set_routing_status", {"status": "accepting_chats"})


async def test_customer_chat_goes_to_the_least_busy_agent_who_answers(server, team):
    org, (ann, bob, _) = team
    ann_rtm = await ann.rtm(away=True)
    bob_rtm = await bob.rtm(away=True)
    first = await CustomerClient(server.url, org).authorize()
    second = await CustomerClient(server.url, org).authorize()
    try:
        assert ann_rtm.login["my_profile"]["id"] == ann.id and ann_rtm.login["chats_summary"] == []
        await _accepting(ann, bob)
        customer_rtm = await first.rtm()
        started = await first.ok("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": "help"}]}}})
        # both are free: the tie goes to either; the other gets the next chat
        added = await customer_rtm.push("user_added_to_chat")
        got_first = added["payload"]["user"]["id"]
        assert added["payload"]["user"]["type"] == "agent" and got_first in (ann.id, bob.id)
        winner, winner_rtm, other = (ann, ann_rtm, bob) if got_first == ann.id else (bob, bob_rtm, ann)
        incoming = await winner_rtm.push("incoming_chat")
        assert incoming["payload"]["chat"]["id"] == started["chat_id"]
        assert incoming["payload"]["chat"]["thread"]["events"][0]["text"] == "help"

        await winner.ok("send_event", {"chat_id": started["chat_id"], "event": {"type": "message", "text": "Hi, I'm here"}})
        answer = await customer_rtm.push("incoming_event")
        assert answer["payload"]["event"]["text"] == "Hi, I'm here"
        assert answer["payload"]["event"]["author_id"] == winner.id
        own_echo = await winner_rtm.push("incoming_event")
        assert own_echo["payload"]["event"]["text"] == "Hi, I'm here"
        await first.ok("send_event", {"chat_id": started["chat_id"], "event": {"type": "message", "text": "thanks"}})
        assert (await winner_rtm.push("incoming_event"))["payload"]["event"]["text"] == "thanks"

        second_chat = await second.ok("start_chat")
        got = await (ann_rtm if other is ann else bob_rtm).push("incoming_chat")
        assert got["payload"]["chat"]["id"] == second_chat["chat_id"]

        chat = await first.ok("get_chat", {"chat_id": started["chat_id"]})
        assert {u["id"] for u in chat["users"]} == {first.id, winner.id}
        await customer_rtm.close()
    finally:
        await ann_rtm.close()
        await bob_rtm.close()
        await first.aclose()
        await second.aclose()


async def test_queue_positions_and_the_queue_drains_in_order(server, team):
    org, (ann, _, _) = team
    await ann.ok("set_routing_status", {"status": "accepting_chats"})
    customers = [await CustomerClient(server.url, org).authorize() for _ in range(3)]
    sockets = [await c.rtm() for c in customers]
    try:
        chats = [(await c.ok("start_chat"))["chat_id"] for c in customers]
        assert (await sockets[0].push("user_added_to_chat"))["payload"]["user"]["id"] == ann.id
        q1 = await sockets[1].push("queue_position_updated")
        assert q1["payload"]["chat_id"] == chats[1] and q1["payload"]["queue"]["position"] == 1
        q2 = await sockets[2].push("queue_position_updated")
        assert q2["payload"]["queue"]["position"] == 2
        # a reloaded widget learns its place from get_chat too
        assert (await customers[2].ok("get_chat", {"chat_id": chats[2]}))["thread"]["queue"]["position"] == 2
        assert "queue" not in (await customers[0].ok("get_chat", {"chat_id": chats[0]}))["thread"]
        assert q2["payload"]["queue"]["wait_time"] >= q1["payload"]["queue"]["wait_time"]

        statuses = await customers[0].ok("list_group_statuses", {"all": True})
        assert statuses == {"groups_status": {"0": "online", "1": "offline"}}

        # ann frees her capacity: the oldest queued chat is hers now, the next one moves up
        await ann.ok("deactivate_chat", {"id": chats[0]})
        assert (await sockets[1].push("user_added_to_chat"))["payload"]["user"]["id"] == ann.id
        moved = await sockets[2].push("queue_position_updated")
        assert moved["payload"]["queue"]["position"] == 1
        await customers[1].ok("deactivate_chat", {"id": chats[1]})
        assert (await sockets[2].push("user_added_to_chat"))["payload"]["user"]["id"] == ann.id
    finally:
        for s in sockets:
            await s.close()
        for c in customers:
            await c.aclose()


async def test_transfer_between_agents_and_groups(server, team):
    org, (ann, bob, cid) = team
    await _accepting(ann, bob, cid)
    customer = await CustomerClient(server.url, org).authorize()
    sock = await customer.rtm()
    cid_rtm = await cid.rtm()
    try:
        chat_id = (await customer.ok("start_chat"))["chat_id"]
        holder = (await sock.push("user_added_to_chat"))["payload"]["user"]["id"]
        holder_agent = ann if holder == ann.id else bob
        target = bob if holder_agent is ann else ann
        await holder_agent.ok("transfer_chat", {"id": chat_id, "target": {"type": "agent", "ids": [target.id]}})
        transferred = await sock.push("chat_transferred")
        assert transferred["payload"]["transferred_to"] == {"group_ids": [], "agent_ids": [target.id]}
        assert (await sock.push("user_added_to_chat"))["payload"]["user"]["id"] == target.id
        chat = await target.ok("get_chat", {"chat_id": chat_id})
        assert [u["id"] for u in chat["users"] if u["type"] == "agent"] == [target.id]

        await target.ok("transfer_chat", {"id": chat_id, "target": {"type": "group", "ids": [1]}})
        assert (await sock.push("chat_transferred"))["payload"]["transferred_to"]["group_ids"] == [1]
        assert (await sock.push("user_added_to_chat"))["payload"]["user"]["id"] == cid.id
        assert (await cid_rtm.push("incoming_chat"))["payload"]["chat"]["id"] == chat_id
        r = await target.call("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "still here?"}})
        assert r.status_code == 403 and r.json()["error"]["type"] == "authorization"  # group 1 is not target's
        r = await cid.call("transfer_chat", {"id": chat_id, "target": {"type": "group", "ids": [9]}})
        assert r.json()["error"]["type"] == "group_not_found"
    finally:
        await sock.close()
        await cid_rtm.close()
        await customer.aclose()


async def test_agent_tools_whispers_typing_sneak_peeks_tags_archives(server, valkey, team):
    org, (ann, bob, _) = team
    await _accepting(ann)
    customer = await CustomerClient(server.url, org).authorize()
    sock = await customer.rtm()
    ann_rtm = await ann.rtm()
    try:
        started = await customer.ok("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": "order 42"}]}}})
        chat_id, thread_id = started["chat_id"], started["thread_id"]
        await ann_rtm.push("incoming_chat")
        await ann.ok("send_typing_indicator", {"chat_id": chat_id, "is_typing": True})
        typing = await sock.push("incoming_typing_indicator")
        assert typing["payload"]["typing_indicator"]["author_id"] == ann.id
        await customer.ok("send_sneak_peek", {"chat_id": chat_id, "sneak_peek_text": "where is my ord"})
        peek = await ann_rtm.push("incoming_sneak_peek")
        assert peek["payload"]["sneak_peek"]["text"] == "where is my ord"

        await ann.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "note: VIP",
                                                                   "visibility": "agents"}})
        await ann.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "On its way!"}})
        assert (await sock.push("incoming_event"))["payload"]["event"]["text"] == "On its way!"  # no whisper first
        seen_by_customer = (await customer.ok("get_chat", {"chat_id": chat_id}))["thread"]["events"]
        assert [e["text"] for e in seen_by_customer] == ["order 42", "On its way!"]
        seen_by_agent = (await ann.ok("get_chat", {"chat_id": chat_id}))["thread"]["events"]
        assert [e["text"] for e in seen_by_agent] == ["order 42", "note: VIP", "On its way!"]

        # a thread takes only a tag the license knows for the chat's group (Configuration API create_tag)
        admin_id = f"admin-{secrets.token_hex(4)}@example.com"
        admin_creds = await create_agent(valkey, org, admin_id, "Admin", "administrator", 1, [(0, "normal")])
        async with AgentClient(server.url, admin_id, admin_creds["personal_access_token"]).http as http:
            r = await http.post("/v3.6/configuration/action/create_tag", json={"name": "shipping", "group_ids": [0]},
                                headers={"Authorization": f"Bearer {admin_creds['personal_access_token']}"})
            assert r.status_code == 200, r.text
        await ann.ok("tag_thread", {"chat_id": chat_id, "thread_id": thread_id, "tag": "shipping"})
        assert (await ann_rtm.push("thread_tagged"))["payload"]["tag"] == "shipping"
        me = await ann.ok("get_customer", {"id": customer.id})
        assert me["id"] == customer.id
        await ann.ok("update_customer", {"id": customer.id, "name": "Ann's customer"})
        assert (await sock.push("customer_updated"))["payload"]["name"] == "Ann's customer"

        await ann.ok("deactivate_chat", {"id": chat_id})
        assert (await sock.push("chat_deactivated"))["payload"]["user_id"] == ann.id
        archives = await ann.ok("list_archives", {"filters": {"query": "its way"}})
        assert [c["id"] for c in archives["chats"]] == [chat_id]
        assert (await ann.ok("list_archives", {"filters": {"query": "nothing like this"}}))["chats"] == []
        statuses = await ann.ok("list_routing_statuses")
        assert {"agent_id": ann.id, "status": "accepting_chats"} in statuses

        await bob.ok("ban_customer", {"id": customer.id, "ban": {"days": 1}})
        assert (await sock.push("customer_disconnected"))["payload"] == {"reason": "customer_banned"}
        r = await customer.call("list_chats")
        assert r.status_code == 403 and r.json()["error"]["type"] == "customer_banned"
        # the loader's page views are refused too (by the tracking script itself, in its one round trip)
        r = await customer.http.post("/v1/track", params={"organization_id": customer.org},
                                     json={"type": "page_view", "url": "https://shop.example/", "token": customer.token})
        assert r.status_code == 403 and r.json()["error"]["type"] == "customer_banned"
    finally:
        await sock.close()
        await ann_rtm.close()
        await customer.aclose()


async def test_a_routing_status_change_reaches_every_agent_socket_of_the_license_once(server, team, valkey):
    """One message on the license's agents feed (not one per agent): every agent socket gets it once, the changing
    socket with its request_id, and another license's agents nothing."""
    org, (ann, bob, cid) = team
    other_org = await new_license(valkey)
    email = f"zed-{secrets.token_hex(4)}@example.com"
    zed_token = (await create_agent(valkey, other_org, email, "Zed", "normal"))["personal_access_token"]
    zed = AgentClient(server.url, email, zed_token)
    sockets = [await agent.rtm(away=True) for agent in (ann, bob, cid, zed)]
    ann_rtm, bob_rtm, cid_rtm, zed_rtm = sockets
    bob_tab = await bob.rtm(away=True)  # a second socket of one agent gets it too
    try:
        reply = await ann_rtm.request("set_routing_status", {"status": "accepting_chats"})
        assert reply["success"], reply
        for sock in (ann_rtm, bob_rtm, cid_rtm, bob_tab):
            push = await sock.push("routing_status_set")
            assert push["payload"] == {"agent_id": ann.id, "status": "accepting_chats"}
            assert push.get("request_id") == (reply["request_id"] if sock is ann_rtm else None)
        await bob_rtm.request("set_routing_status", {"status": "not_accepting_chats"})
        for sock in (ann_rtm, cid_rtm, bob_tab):  # the next one is bob's: ann's arrived once, not twice
            assert (await sock.push("routing_status_set"))["payload"]["agent_id"] == bob.id
        with pytest.raises(asyncio.TimeoutError):
            await zed_rtm.push("routing_status_set", timeout=0.5)
    finally:
        for sock in (*sockets, bob_tab):
            await sock.close()
        await zed.aclose()


async def test_agents_are_kept_to_their_own_license(server, team, valkey):
    org, (ann, _, _) = team
    other_org = await new_license(valkey)
    stranger = await CustomerClient(server.url, other_org).authorize()
    try:
        chat_id = (await stranger.ok("start_chat"))["chat_id"]
        for action, payload in (("get_chat", {"chat_id": chat_id}),
                                ("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "hi"}}),
                                ("add_user_to_chat", {"chat_id": chat_id, "user_id": ann.id, "user_type": "agent"}),
                                ("get_customer", {"id": stranger.id})):
            r = await ann.call(action, payload)
            assert r.status_code == 404 and r.json()["error"]["type"] == "not_found", (action, r.text)
        assert (await ann.ok("list_chats"))["chats_summary"] == []
        r = await ann.http.post("/v3.6/agent/action/list_chats", json={}, headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401 and r.json()["error"]["type"] == "authentication"
        basic = "Basic " + base64.b64encode(f"{ann.id}:{ann.token}".encode()).decode()  # LiveChat's PAT form
        r = await ann.http.post("/v3.6/agent/action/list_routing_statuses", json={}, headers={"Authorization": basic})
        assert r.status_code == 200, r.text
        r = await ann.call("set_routing_status", {"status": "sleeping"})
        assert r.status_code == 400 and r.json()["error"]["type"] == "validation"
    finally:
        await stranger.aclose()


@pytest.fixture(scope="module")
def grace_server(tmp_path_factory, valkey_url):
    from tests.support import LiveServer

    live = LiveServer(tmp_path_factory.mktemp("grace"), valkey_url, env={"WIDGET_AGENT_GRACE_SECONDS": "1"})
    yield live.start()
    live.stop()


async def test_a_disconnected_agents_chats_are_rerouted_after_the_grace_period(grace_server, valkey):
    org = await new_license(valkey)
    agents = []
    for name in ("dee", "eve"):
        email = f"{name}-{secrets.token_hex(4)}@example.com"
        creds = await create_agent(valkey, org, email, name, "normal", 3, [(0, "normal")])
        agents.append(AgentClient(grace_server.url, email, creds["personal_access_token"]))
    dee, eve = agents
    dee_rtm = await dee.rtm()  # logging in over RTM makes an offline agent accepting
    customer = await CustomerClient(grace_server.url, org).authorize()
    sock = await customer.rtm()
    try:
        chat_id = (await customer.ok("start_chat"))["chat_id"]
        assert (await sock.push("user_added_to_chat"))["payload"]["user"]["id"] == dee.id
        await eve.ok("set_routing_status", {"status": "accepting_chats"})
        await dee_rtm.close()  # dee's laptop lid closes
        removed = await sock.push("user_removed_from_chat", timeout=10)
        assert removed["payload"]["user_id"] == dee.id
        assert (await sock.push("user_added_to_chat", timeout=10))["payload"]["user"]["id"] == eve.id
        statuses = {s["agent_id"]: s["status"] for s in await eve.ok("list_routing_statuses")}
        assert statuses[dee.id] == "offline"
        history = await eve.ok("get_chat", {"chat_id": chat_id})
        assert [u["id"] for u in history["users"] if u["type"] == "agent"] == [eve.id]
    finally:
        await sock.close()
        await customer.aclose()
        for agent in agents:
            await agent.aclose()


async def test_an_agent_starts_and_resumes_a_chat_with_a_visitor(server, team):
    org, (ann, _, _) = team
    customer = await CustomerClient(server.url, org).authorize()
    sock = await customer.rtm()
    try:
        started = await ann.ok("start_chat", {"chat": {"users": [{"id": customer.id, "type": "customer"}],
                                                       "thread": {"events": [{"type": "message", "text": "Need help?"}]}}})
        incoming = await sock.push("incoming_chat")
        assert incoming["payload"]["chat"]["id"] == started["chat_id"]
        assert incoming["payload"]["chat"]["thread"]["events"][0]["author_id"] == ann.id
        await ann.ok("deactivate_chat", {"id": started["chat_id"]})
        resumed = await ann.ok("resume_chat", {"chat": {"id": started["chat_id"], "thread": {"events": [
            {"type": "message", "text": "Back again"}]}}})
        assert resumed["thread_id"] != started["thread_id"]
        assert (await sock.push("user_added_to_chat"))["payload"]["user"]["id"] == ann.id
        threads = await customer.ok("list_threads", {"chat_id": started["chat_id"], "sort_order": "asc"})
        assert [t["events"][0]["text"] for t in threads["threads"]] == ["Need help?", "Back again"]
        r = await ann.call("start_chat", {"chat": {"users": [{"id": "nobody", "type": "customer"}]}})
        assert r.status_code == 400 and r.json()["error"]["type"] == "validation"
    finally:
        await sock.close()
        await customer.aclose()


async def test_an_agent_who_reconnects_within_the_grace_period_keeps_their_chats(grace_server, valkey):
    org = await new_license(valkey)
    email = f"fay-{secrets.token_hex(4)}@example.com"
    creds = await create_agent(valkey, org, email, "Fay", "normal", 3, [(0, "normal")])
    fay = AgentClient(grace_server.url, email, creds["personal_access_token"])
    first = await fay.rtm()
    customer = await CustomerClient(grace_server.url, org).authorize()
    sock = await customer.rtm()
    try:
        chat_id = (await customer.ok("start_chat"))["chat_id"]
        assert (await sock.push("user_added_to_chat"))["payload"]["user"]["id"] == fay.id
        await first.close()
        again = await fay.rtm()  # a page reload: back well within the grace period
        await sock.no_push("user_removed_from_chat", wait=2.5)
        chat = await fay.ok("get_chat", {"chat_id": chat_id})
        assert [u["id"] for u in chat["users"] if u["type"] == "agent"] == [fay.id]
        statuses = {s["agent_id"]: s["status"] for s in await fay.ok("list_routing_statuses")}
        assert statuses[fay.id] == "accepting_chats"
        await again.close()
    finally:
        await sock.close()
        await customer.aclose()
        await fay.aclose()


async def test_agents_see_the_customers_visit_and_statistics(server, team):
    org, (ann, _, _) = team
    customer = await CustomerClient(server.url, org).authorize()
    sock = await customer.rtm(customer_page={"url": "https://shop.example/", "title": "Shop"},
                              referrer="https://search.example/?q=shoes")
    try:
        await sock.request("update_customer_page", {"url": "https://shop.example/cart", "title": "Cart"})
        await customer.ok("start_chat")
        seen = await ann.ok("get_customer", {"id": customer.id})
        assert seen["statistics"]["page_views_count"] == 2 and seen["statistics"]["visits_count"] == 1
        assert seen["statistics"]["chats_count"] == 1
        assert seen["online"] is True
        assert [p["url"] for p in seen["visit"]["last_pages"]] == ["https://shop.example/", "https://shop.example/cart"]
        assert seen["visit"]["referrer"] == "https://search.example/?q=shoes"
        assert seen["visit"]["started_at"].endswith("Z")
    finally:
        await sock.close()
        await customer.aclose()


async def test_agent_chat_lists_keep_their_filters_across_pages(server, team):
    org, (ann, bob, cid) = team
    customers = [await CustomerClient(server.url, org).authorize() for _ in range(5)]
    try:
        chats = [(await c.ok("start_chat"))["chat_id"] for c in customers]
        for c, chat_id in zip(customers[:2], chats[:2]):  # two of five end
            await c.ok("deactivate_chat", {"id": chat_id})
        page = await bob.ok("list_chats", {"filters": {"active": True}, "limit": 2})
        listed = [s["id"] for s in page["chats_summary"]]
        assert len(listed) == 2  # filled from further index pages, not cut short by the filtered-out chats
        while "next_page_id" in page:
            page = await bob.ok("list_chats", {"page_id": page["next_page_id"]})
            listed += [s["id"] for s in page["chats_summary"]]
        assert listed == list(reversed(chats[2:]))
        await customers[4].ok("update_chat_properties", {"id": chats[4], "properties": {"shop": {"tier": "gold"}}})
        gold = await bob.ok("list_chats", {"filters": {"properties": {"shop": {"tier": {"values": ["gold"]}}}}})
        assert [s["id"] for s in gold["chats_summary"]] == [chats[4]]
        others = await bob.ok("list_chats", {"filters": {"active": True, "properties": {"shop": {"tier": {"exists": False}}}}})
        assert [s["id"] for s in others["chats_summary"]] == [chats[3], chats[2]]
        r = await bob.call("list_chats", {"page_id": "x", "filters": {"active": True}})
        assert r.status_code == 400 and r.json()["error"]["type"] == "validation"
        # cid is in group 1 only: group 0's chats are not theirs to see
        assert (await cid.ok("list_chats"))["chats_summary"] == []
    finally:
        for c in customers:
            await c.aclose()
