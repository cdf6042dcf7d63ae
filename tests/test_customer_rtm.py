"""Customer Chat API over the RTM websocket: tabs, pushes across server processes, limits and lifecycle."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.support import CustomerClient, LiveServer


async def test_two_tabs_on_two_servers_see_each_others_events(customer: CustomerClient, server, server2):
    tab1 = await customer.rtm(server.url, customer_page={"url": "https://shop.example/", "title": "Shop"})
    tab2 = await customer.rtm(server2.url)
    try:
        login = tab1.login
        assert login["customer"]["id"] == customer.id
        assert login["has_active_thread"] is False and login["chats"] == []
        assert login["customer"]["statistics"]["visits_count"] == 1
        assert login["customer"]["statistics"]["page_views_count"] == 1
        assert login["__priv_dynamic_config"]["online_groups_ids"] == []

        started = await tab1.request("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": "hi"}]}}})
        assert started["success"] and started["action"] == "start_chat"
        chat_id = started["payload"]["chat_id"]
        for tab in (tab1, tab2):
            incoming = await tab.push("incoming_chat")
            assert incoming["payload"]["chat"]["id"] == chat_id
            assert incoming["payload"]["chat"]["thread"]["events"][0]["text"] == "hi"
            assert incoming["payload"]["requester_id"] == customer.id
        sent = await tab1.request("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "from tab 1",
                                                                               "custom_id": "c-1"}})
        assert sent["success"], sent
        own = await tab1.push("incoming_event")
        other = await tab2.push("incoming_event")
        assert own["request_id"] == sent["request_id"]  # the sender can match its own echo
        assert "request_id" not in other
        for push in (own, other):
            assert push["payload"]["event"]["text"] == "from tab 1"
            assert push["payload"]["event"]["custom_id"] == "c-1"
            assert push["payload"]["event"]["id"] == sent["payload"]["event_id"]
            assert push["version"] == "3.6" and push["type"] == "push"

        # an event sent over the Web API reaches both sockets too
        web = await customer.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "from web"}})
        for tab in (tab1, tab2):
            push = await tab.push("incoming_event")
            assert push["payload"]["event"]["id"] == web["event_id"]
    finally:
        await tab1.close()
        await tab2.close()


async def test_pushes_for_properties_seen_marks_and_customer_updates(customer: CustomerClient, server, server2):
    tab = await customer.rtm(server2.url)
    try:
        started = await customer.ok("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": "hi"}]}}})
        chat_id, thread_id = started["chat_id"], started["thread_id"]
        event_id = started["event_ids"][0]
        await tab.push("incoming_chat")
        await customer.ok("update_event_properties", {"chat_id": chat_id, "thread_id": thread_id, "event_id": event_id,
                                                      "properties": {"edit": {"text": "hi there"}}})
        push = await tab.push("event_properties_updated")
        assert push["payload"] == {"chat_id": chat_id, "thread_id": thread_id, "event_id": event_id,
                                   "properties": {"edit": {"text": "hi there"}}}
        await customer.ok("delete_event_properties", {"chat_id": chat_id, "thread_id": thread_id, "event_id": event_id,
                                                      "properties": {"edit": ["text"]}})
        assert (await tab.push("event_properties_deleted"))["payload"]["properties"] == {"edit": ["text"]}
        await customer.ok("update_chat_properties", {"id": chat_id, "properties": {"a": {"b": 1}}})
        assert (await tab.push("chat_properties_updated"))["payload"] == {"chat_id": chat_id, "properties": {"a": {"b": 1}}}
        await customer.ok("update_thread_properties", {"chat_id": chat_id, "thread_id": thread_id,
                                                       "properties": {"rating": {"score": 1}}})
        assert (await tab.push("thread_properties_updated"))["payload"]["properties"] == {"rating": {"score": 1}}

        seen_at = "2099-01-01T00:00:00.000000Z"
        await customer.ok("mark_events_as_seen", {"chat_id": chat_id, "seen_up_to": seen_at})
        push = await tab.push("events_marked_as_seen")
        assert push["payload"] == {"user_id": customer.id, "chat_id": chat_id, "seen_up_to": seen_at}
        r = await customer.call("mark_events_as_seen", {"chat_id": chat_id, "seen_up_to": "yesterday"})
        assert r.json()["error"]["type"] == "validation"

        await customer.ok("update_customer", {"name": "Ann"})
        push = await tab.push("customer_updated")
        assert push["payload"]["name"] == "Ann" and push["payload"]["id"] == customer.id
        assert "email" not in push["payload"]

        postback = {"chat_id": chat_id, "thread_id": thread_id, "event_id": event_id,
                    "postback": {"id": "yes", "toggled": True}}
        assert (await tab.request("send_rich_message_postback", postback))["success"]
        push = await tab.push("incoming_rich_message_postback")
        assert push["payload"]["postback"] == {"id": "yes", "toggled": True}
        assert (await tab.request("send_sneak_peek", {"chat_id": chat_id, "sneak_peek_text": "typing…"}))["success"]
        await tab.no_push("incoming_sneak_peek")  # agent-only push; never echoed to the customer

        await tab.request("deactivate_chat", {"id": chat_id})
        system = await tab.push("incoming_event")
        assert system["payload"]["event"]["type"] == "system_message"
        closed = await tab.push("chat_deactivated")
        assert closed["payload"] == {"chat_id": chat_id, "thread_id": thread_id, "user_id": customer.id}

        # a fresh login reports the chat and whether it has unread events
        again = await customer.rtm(server.url)
        assert again.login["chats"] == [{"chat_id": chat_id, "has_unread_events": False}]
        assert again.login["customer"]["statistics"]["chats_count"] == 1
        await again.close()
    finally:
        await tab.close()


async def test_socket_protocol_rules(customer: CustomerClient, server):
    sock = await customer.rtm(server.url, login=False)
    try:
        pong = await sock.request("ping")
        assert pong["success"] and pong["action"] == "ping"
        early = await sock.request("list_chats")
        assert early["success"] is False and early["payload"]["error"]["type"] == "authentication"
        bad = await sock.request("login", {"token": "Bearer dal:forged.token"})
        assert bad["payload"]["error"]["type"] == "authentication"
        login = await sock.request("login", {"token": f"Bearer {customer.token}", "customer": {"name": "Bo"}},
                                   author_id="ignored-top-level-key")
        assert login["success"], login
        again = await sock.request("login", {"token": f"Bearer {customer.token}"})
        assert again["payload"]["error"]["type"] == "validation"

        # request ids are echoed exactly: strings stay strings, numbers stay numbers
        await sock.send_raw(json.dumps({"action": "list_chats", "request_id": 42, "payload": {}}))
        reply = await asyncio.wait_for(sock.unmatched.get(), 5)
        assert reply["request_id"] == 42 and reply["success"]

        await sock.send_raw("{not json")
        reply = await asyncio.wait_for(sock.unmatched.get(), 5)
        assert reply["success"] is False and reply["payload"]["error"]["type"] == "validation"
        for payload, kind in ((["x"], "validation"), ({"action": 5}, "validation")):
            await sock.send_raw(json.dumps(payload))
            reply = await asyncio.wait_for(sock.unmatched.get(), 5)
            assert reply["payload"]["error"]["type"] == kind
        unknown = await sock.request("fly_to_moon")
        assert unknown["payload"]["error"]["type"] == "validation"
        web_only = await sock.request("check_goals", {})
        assert web_only["payload"]["error"]["type"] == "validation"
        wrong = await sock.request("get_chat", {"chat_id": 7})
        assert "$.payload.chat_id" in wrong["payload"]["error"]["message"]
        huge = await sock.request("send_event", {"chat_id": "X", "event": {"type": "message", "text": "x" * 300_000}})
        assert huge["payload"]["error"]["type"] == "validation"  # frame limit; the socket stays open
        newer = await sock.request("list_chats", {}, version="3.6")
        assert newer["success"]
        unsupported = await sock.request("list_chats", {}, version="9.9")
        assert unsupported["payload"]["error"]["type"] == "unsupported_version"
        assert (await sock.request("ping"))["success"]
        page = await sock.request("update_customer_page", {"url": "https://shop.example/cart", "title": "Cart"})
        assert page["success"] and page["payload"] == {}
    finally:
        await sock.close()


async def test_the_same_story_over_v35(server, org):
    customer = await CustomerClient(server.url, org, version="3.5").authorize()
    tab = await customer.rtm(pushes={"3.5": ["incoming_chat", "incoming_event"]})
    try:
        started = await tab.request("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": "v35"}]}}})
        chat_id = started["payload"]["chat_id"]
        push = await tab.push("incoming_chat")
        assert push["version"] == "3.5"
        await customer.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "web 3.5"}})
        assert (await tab.push("incoming_event"))["payload"]["event"]["text"] == "web 3.5"
        # not subscribed: no property pushes on this socket
        await customer.ok("update_chat_properties", {"id": chat_id, "properties": {"a": {"b": 1}}})
        await tab.no_push("chat_properties_updated")
        r = await customer.http.post("/v3.5/customer/action/check_goals", params={"organization_id": org},
                                     headers={"Authorization": f"Bearer {customer.token}"},
                                     json={"session_fields": [], "group_id": 0, "page_url": "https://x.example/"})
        assert r.status_code == 200 and r.json() == {}
        threads = await customer.ok("list_threads", {"chat_id": chat_id})
        assert [e["text"] for e in threads["threads"][0]["events"]] == ["v35", "web 3.5"]
    finally:
        await tab.close()
        await customer.aclose()


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory, valkey_url):
    live = LiveServer(tmp_path_factory.mktemp("strict"), valkey_url, env={
        "WIDGET_RTM_LOGIN_TIMEOUT": "1", "WIDGET_TOKEN_TTL": "4", "WIDGET_RTM_MAX_CONNECTIONS_PER_CUSTOMER": "2",
        "WIDGET_RTM_MAX_PENDING": "2",
    }).start()
    yield live
    live.stop()


async def test_socket_without_login_is_closed_after_the_login_timeout(strict_server, org):
    customer = CustomerClient(strict_server.url, org)
    sock = await customer.rtm(login=False)
    try:
        push = await sock.push("customer_disconnected", timeout=5)
        assert push["payload"] == {"reason": "connection_timeout"}
        await asyncio.wait_for(sock.closed.wait(), 5)
    finally:
        await customer.aclose()


async def test_token_expiry_disconnects_and_connection_limit_holds(strict_server, org):
    customer = await CustomerClient(strict_server.url, org).authorize()
    try:
        a = await customer.rtm()
        b = await customer.rtm()
        c = await customer.rtm(login=False)
        # a third socket of the same customer is over the limit of 2: told why, then closed, never logged in
        await c.send_raw(json.dumps({"action": "login", "request_id": "x", "payload": {"token": f"Bearer {customer.token}"}}))
        push = await c.push("customer_disconnected", timeout=5)
        assert push["payload"] == {"reason": "too_many_connections"}
        await asyncio.wait_for(c.closed.wait(), 5)
        assert c.unmatched.empty()
        # silence alone never closes a logged-in socket; the token's expiry does, with LiveChat's reason
        for s in (a, b):
            push = await s.push("customer_disconnected", timeout=8)
            assert push["payload"] == {"reason": "access_token_expired"}
            await asyncio.wait_for(s.closed.wait(), 5)
    finally:
        await customer.aclose()


async def test_at_most_ten_pending_requests_per_socket(customer: CustomerClient, server, valkey):
    sock = await customer.rtm(server.url)
    try:
        chat_id = (await sock.request("start_chat"))["payload"]["chat_id"]
        # While Valkey holds writes back, requests pile up on the socket: the first 10 wait, the rest are refused.
        await valkey.client_pause(700, all=False)
        n = 25
        for i in range(n):
            await sock.send_raw(json.dumps({"action": "send_event", "request_id": f"r{i}", "payload": {
                "chat_id": chat_id, "event": {"type": "message", "text": f"m{i}"}}}))
        replies = {}
        while len(replies) < n:
            frame = await asyncio.wait_for(sock.unmatched.get(), 10)
            replies[frame["request_id"]] = frame
        refused = [rid for rid, r in replies.items() if not r["success"]]
        assert all(replies[r]["payload"]["error"]["type"] == "pending_requests_limit_reached" for r in refused)
        accepted = [rid for rid, r in replies.items() if r["success"]]
        assert len(accepted) == 10, accepted
        # the accepted ones were stored in the order sent; the refused ones were not stored at all
        events = (await sock.request("get_chat", {"chat_id": chat_id}))["payload"]["thread"]["events"]
        assert [e["text"] for e in events] == [f"m{rid[1:]}" for rid in sorted(accepted, key=lambda r: int(r[1:]))]
        assert (await sock.request("list_chats"))["success"]  # the socket is still usable
    finally:
        await sock.close()
