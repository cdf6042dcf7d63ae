"""Validation at the door (issue 17): every free-form JSON value a client sends is bounded in depth, count and
string size before it is stored; reads serve what is already stored without crashing; customers' writes are rate
limited per customer and per address; properties and a chat's events have a total cap; a Web body over its limit is
refused before it is read to the end.

Story: a hostile customer tries to lock the agents out or fill the store; the agents go on working."""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import websockets

from tests.support import AgentClient, CustomerClient, LiveServer
from widget_server import keys
from widget_server.bootstrap import create_agent

from .conftest import new_license

DEEP_OK = 25
"""Deep enough for any real payload, under the default ``json_max_depth`` (32) with the field's own levels."""
TOO_DEEP = 40
LEGACY_DEEP = 980
"""What main stored before the limit (a request nested ~1000 levels deep decoded, so a value this deep was kept)."""


def deep(n: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(n):
        value = [value]
    return value


def deep_json(n: int) -> str:
    return "[" * n + "1" + "]" * n


# every free-form field of the Customer Chat API's storing actions: (action, payload with a value of depth n)
def _free_form_payloads(n: int, chat_id: str, thread_id: str, event_id: str) -> list[tuple[str, dict]]:
    v = deep(n)
    return [
        ("start_chat", {"chat": {"properties": {"ns": {"k": v}}}}),
        ("start_chat", {"chat": {"thread": {"properties": {"ns": {"k": v}}}}}),
        ("start_chat", {"chat": {"thread": {"events": [{"type": "custom", "content": v}]}}}),
        ("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": "hi",
                                                        "properties": {"ns": {"k": v}}}]}}}),
        ("start_chat", {"chat": {"thread": {"events": [{"type": "rich_message", "template_id": "cards",
                                                        "elements": [{"title": "t", "ecommerce": {"x": v}}]}]}}}),
        ("start_chat", {"chat": {"thread": {"events": [{"type": "filled_form", "form_id": "f", "fields": [
            {"type": "question", "id": "q", "answer": v}]}]}}}),
        ("start_chat", {"chat": {"thread": {"events": [{"type": "filled_form", "form_id": "f", "fields": [
            {"type": "checkbox", "id": "q", "answers": [v]}]}]}}}),
        ("resume_chat", {"chat": {"id": chat_id, "properties": {"ns": {"k": v}}}}),
        ("send_event", {"chat_id": chat_id, "event": {"type": "custom", "content": {"a": v}}}),
        ("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "x", "properties": {"n": {"k": v}}}}),
        ("send_rich_message_postback", {"chat_id": chat_id, "thread_id": thread_id, "event_id": event_id,
                                        "postback": {"id": "p", "toggled": True, "ecommerce": {"x": v}}}),
        ("update_chat_properties", {"id": chat_id, "properties": {"ns": {"k": v}}}),
        ("update_thread_properties", {"chat_id": chat_id, "thread_id": thread_id, "properties": {"ns": {"k": v}}}),
        ("update_event_properties", {"chat_id": chat_id, "thread_id": thread_id, "event_id": event_id,
                                     "properties": {"ns": {"k": v}}}),
        ("update_customer", {"omnichannel": {"x": v}}),
    ]


async def _chat_with_message(customer: CustomerClient) -> tuple[str, str, str]:
    started = await customer.ok("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": "hi"}]}}})
    return started["chat_id"], started["thread_id"], started["event_ids"][0]


@pytest.fixture
async def admin(server, valkey, org) -> AsyncIterator[AgentClient]:
    email = f"admin-{secrets.token_hex(4)}@example.com"
    creds = await create_agent(valkey, org, email, "Ada", "administrator")
    agent = AgentClient(server.url, email, creds["personal_access_token"])
    yield agent
    await agent.aclose()


# --- 1. one depth, size and count limit on every free-form value --------------------------------------------------


async def test_a_too_deep_value_in_any_free_form_field_is_refused_over_web_and_rtm_and_nothing_is_stored(customer):
    chat_id, thread_id, event_id = await _chat_with_message(customer)
    await customer.ok("deactivate_chat", {"id": chat_id})  # so resume_chat reaches its checks
    before = await customer.ok("get_chat", {"chat_id": chat_id})
    sock = await customer.rtm()
    try:
        for action, payload in _free_form_payloads(TOO_DEEP, chat_id, thread_id, event_id):
            r = await customer.call(action, payload)
            assert r.status_code == 400 and r.json()["error"]["type"] == "validation", (action, r.text)
            assert "nested deeper than 32 levels" in r.json()["error"]["message"], (action, r.text)
            reply = await sock.request(action, payload)
            assert not reply["success"] and reply["payload"]["error"]["type"] == "validation", (action, reply)
        # the login's customer_side_storage is free-form too
        frame = await CustomerClient(customer.base_url, customer.org).authorize()
        try:
            login = await (await frame.rtm(login=False)).request(
                "login", {"token": f"Bearer {frame.token}", "customer_side_storage": {"x": deep(TOO_DEEP)}})
            assert not login["success"] and login["payload"]["error"]["type"] == "validation"
        finally:
            await frame.aclose()
    finally:
        await sock.close()
    assert await customer.ok("get_chat", {"chat_id": chat_id}) == before
    assert len((await customer.ok("list_chats"))["chats_summary"]) == 1


async def test_real_payloads_within_the_limits_are_stored_as_sent(customer):
    chat_id, _, _ = await _chat_with_message(customer)
    value = deep(DEEP_OK, "leaf")
    await customer.ok("update_chat_properties", {"id": chat_id, "properties": {"ns": {"k": value}}})
    sent = await customer.ok("send_event", {"chat_id": chat_id, "event": {"type": "custom", "content": value}})
    chat = await customer.ok("get_chat", {"chat_id": chat_id})
    assert chat["properties"]["ns"]["k"] == value
    assert [e["content"] for e in chat["thread"]["events"] if e["id"] == sent["event_id"]] == [value]


async def test_too_many_values_or_a_too_long_string_in_a_free_form_field_is_refused(customer):
    chat_id, _, _ = await _chat_with_message(customer)
    many = {"chat_id": chat_id, "event": {"type": "custom", "content": [0] * 10001}}
    long_key = {"id": chat_id, "properties": {"ns": {"k" * 16385: 1}}}
    long_value = {"chat_id": chat_id, "event": {"type": "custom", "content": {"a": "x" * 16385}}}
    long_typed = {"chat_id": chat_id, "event": {"type": "message", "text": "hi",
                                                "postback": {"id": "p", "value": "x" * 16385}}}
    for action, payload, words in (("send_event", many, "more than 10000 values"),
                                   ("update_chat_properties", long_key, "key is longer than 16384"),
                                   ("send_event", long_value, "longer than 16384 characters"),
                                   ("send_event", long_typed, "longer than 16384 characters")):
        r = await customer.call(action, payload)
        assert r.status_code == 400 and r.json()["error"]["type"] == "validation", r.text
        assert words in r.json()["error"]["message"]
    assert len((await customer.ok("get_chat", {"chat_id": chat_id}))["thread"]["events"]) == 1


async def test_agents_get_the_same_free_form_limits_on_web_and_rtm(customer, admin):
    chat_id, thread_id, _ = await _chat_with_message(customer)
    await customer.ok("deactivate_chat", {"id": chat_id})  # so resume_chat reaches its checks
    rich = {"type": "rich_message", "template_id": "cards", "elements": [{"title": "t", "ecommerce": {"x": deep(40)}}]}
    payloads = [("send_event", {"chat_id": chat_id, "event": {"type": "custom", "content": deep(TOO_DEEP)}}),
                ("send_event", {"chat_id": chat_id, "event": rich, "attach_to_last_thread": True}),
                ("resume_chat", {"chat": {"id": chat_id, "properties": {"ns": {"k": deep(TOO_DEEP)}}}}),
                ("update_chat_properties", {"id": chat_id, "properties": {"ns": {"k": deep(TOO_DEEP)}}}),
                ("update_thread_properties", {"chat_id": chat_id, "thread_id": thread_id,
                                              "properties": {"ns": {"k": deep(TOO_DEEP)}}})]
    sock = await admin.rtm()
    try:
        for action, payload in payloads:
            r = await admin.call(action, payload)
            assert r.status_code == 400 and r.json()["error"]["type"] == "validation", r.text
            reply = await sock.request(action, payload)
            assert not reply["success"] and reply["payload"]["error"]["type"] == "validation", reply
    finally:
        await sock.close()


async def _plant_deep_values(valkey, customer: CustomerClient, chat_id: str, thread_id: str) -> None:
    """What an older version stored from a hostile customer: chat properties, an event and its last event with
    values ~1000 levels deep (too deep to decode at all), thread properties with one value 300 levels deep (decodes,
    too deep to serve). The rest of the chat as it was."""
    deep_props = '{"ns":{"deep":' + deep_json(LEGACY_DEEP) + ',"plain":"kept"}}'
    thread_props = '{"ns":{"deep":' + deep_json(300) + ',"plain":"kept"}}'
    event = '{"id":"' + thread_id + '_1","type":"custom","created_at":"2026-01-01T00:00:00.000000Z",' \
            '"author_id":"' + customer.id + '","recipients":"all","content":' + deep_json(LEGACY_DEEP) + '}'
    last = '{"thread_id":"' + thread_id + '","thread_created_at":"2026-01-01T00:00:00.000000Z","event":' + event + '}'
    await valkey.hset(keys.chat(chat_id), "properties", deep_props)
    await valkey.hset(keys.thread(chat_id, thread_id), "properties", thread_props)
    await valkey.hset(keys.thread_events(chat_id, thread_id), "1", event)
    await valkey.hset(keys.chat_last_events(chat_id), "custom", last)


async def test_agents_can_log_in_and_list_chats_with_deep_values_stored_before_the_limit(server, valkey, customer,
                                                                                        admin):
    """Chats stored (by an older version) with values nested ~1000 levels deep, one active and one archived: agents
    and the customer still log in, list and read them; the deep values are left out of the answers, the rest is
    served: properties that cannot be decoded as {}, a value too deep to serve without its name, an event that
    cannot be decoded as an agents-only custom event without content."""
    archived, archived_thread, _ = await _chat_with_message(customer)
    await customer.ok("send_event", {"chat_id": archived, "event": {"type": "message", "text": "second"}})
    await customer.ok("deactivate_chat", {"id": archived})
    await _plant_deep_values(valkey, customer, archived, archived_thread)
    active, active_thread, _ = await _chat_with_message(customer)
    await _plant_deep_values(valkey, customer, active, active_thread)

    sock = await admin.rtm()  # login lists the active chats, with their last events and properties
    try:
        summary = [c for c in sock.login["chats_summary"] if c["id"] == active]
        assert summary and summary[0]["properties"] == {}
        listed = await sock.request("list_chats", {})
        assert listed["success"], listed
        assert {active, archived} <= {c["id"] for c in listed["payload"]["chats_summary"]}
    finally:
        await sock.close()
    chat = await admin.ok("get_chat", {"chat_id": archived, "thread_id": archived_thread})
    assert chat["properties"] == {} and chat["thread"]["properties"] == {"ns": {"plain": "kept"}}
    events = chat["thread"]["events"]
    assert events[0]["id"] == f"{archived_thread}_1" and "content" not in events[0]
    assert [e.get("text") for e in events[1:-1]] == ["second"] and events[-1]["type"] == "system_message"
    assert archived in [c["id"] for c in (await admin.ok("list_archives", {}))["chats"]]
    assert {active, archived} <= {c["id"] for c in (await admin.ok("list_chats"))["chats_summary"]}
    # the customer's own reads too (the unreadable event is not shown to them)
    assert {c["id"] for c in (await customer.ok("list_chats"))["chats_summary"]} == {active, archived}
    mine = await customer.ok("get_chat", {"chat_id": active})
    assert mine["thread"]["properties"] == {"ns": {"plain": "kept"}} and mine["thread"]["events"] == []
    customer_sock = await customer.rtm()
    assert customer_sock.login["has_active_thread"] is True
    await customer_sock.close()


# --- 2. write rates, properties and events caps (a server with small limits) -----------------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory, valkey_url) -> Iterator[LiveServer]:
    """A server whose limits a test reaches in a few requests; clients name their address in ``X-Forwarded-For``
    (trusted here) so each test has addresses of its own."""
    live = LiveServer(tmp_path_factory.mktemp("small"), valkey_url, env={
        "WIDGET_CUSTOMER_EVENTS_PER_MINUTE": "5", "WIDGET_ADDRESS_EVENTS_PER_MINUTE": "8",
        "WIDGET_PROPERTIES_MAX_BYTES": "2048", "WIDGET_CHAT_MAX_EVENTS": "4", "WIDGET_TRUSTED_PROXY_HEADERS": "1",
        "WIDGET_WEB_MAX_BODY_BYTES": "65536"}).start()
    yield live
    live.stop()


def _address() -> str:
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


async def _customer_at(server: LiveServer, org: str, address: str) -> CustomerClient:
    c = CustomerClient(server.url, org)
    c.http.headers["X-Forwarded-For"] = address
    return await c.authorize()


async def _rtm_at(customer: CustomerClient, address: str):
    from tests.support.clients import Socket

    url = f"{customer.base_url.replace('http', 'ws', 1)}/v3.6/customer/rtm/ws?organization_id={customer.org}"
    sock = Socket(await websockets.connect(url, additional_headers={"X-Forwarded-For": address}))
    reply = await sock.request("login", {"token": f"Bearer {customer.token}"})
    assert reply["success"], reply
    return sock


async def test_one_customer_sending_messages_fast_is_told_too_many_requests_on_rtm_and_web_alike(small, valkey):
    """Within a minute a customer may write 5 times, over both APIs together; a refused message is not stored. (A
    burst may straddle two one-minute windows, so 15 tries store at most twice the limit.)"""
    org = await new_license(valkey)
    address = _address()
    customer = await _customer_at(small, org, address)
    try:
        started = await customer.call("start_chat", {})
        assert started.status_code in (200, 429), started.text
        chat_id = started.json().get("chat_id") if started.status_code == 200 else None
        assert chat_id is not None
        sock = await _rtm_at(customer, address)
        stored, refused_rtm, refused_web = 0, 0, 0
        try:
            for i in range(7):
                reply = await sock.request("send_event", {"chat_id": chat_id,
                                                          "event": {"type": "message", "text": f"r{i}"}})
                if reply["success"]:
                    stored += 1
                else:
                    assert reply["type"] == "response" and reply["action"] == "send_event"
                    assert reply["payload"]["error"]["type"] == "too_many_requests", reply
                    refused_rtm += 1
                r = await customer.call("send_event", {"chat_id": chat_id, "event": {"type": "message",
                                                                                     "text": f"w{i}"}})
                if r.status_code == 200:
                    stored += 1
                else:
                    assert r.status_code == 429 and r.json()["error"]["type"] == "too_many_requests", r.text
                    refused_web += 1
            assert sock.ws.state.name == "OPEN"  # refused, not disconnected
        finally:
            await sock.close()
        assert refused_rtm and refused_web and stored <= 2 * 5 - 1
        r = await customer.call("get_chat", {"chat_id": chat_id})  # reads are not writes: never refused
        assert r.status_code == 200
        assert len(r.json()["thread"]["events"]) == stored
    finally:
        await customer.aclose()


async def test_many_customers_at_one_address_share_its_limit(small, valkey):
    org = await new_license(valkey)
    address = _address()
    customers = [await _customer_at(small, org, address) for _ in range(6)]
    try:
        statuses = [(await c.call("start_chat", {})).status_code for c in customers for _ in range(3)]
        assert set(statuses) == {200, 429} and statuses.count(200) <= 2 * 8
        assert statuses[:3] == [200, 200, 200]  # each under its own limit: the address's limit refused them
        elsewhere = await _customer_at(small, org, _address())
        assert (await elsewhere.call("start_chat", {})).status_code == 200
        await elsewhere.aclose()
    finally:
        for c in customers:
            await c.aclose()


async def test_chat_and_thread_properties_stop_growing_at_their_size_cap(small, valkey):
    org = await new_license(valkey)
    customer = await _customer_at(small, org, _address())
    try:
        chat_id = (await customer.ok("start_chat", {}))["chat_id"]
        thread_id = (await customer.ok("get_chat", {"chat_id": chat_id}))["thread"]["id"]
        await customer.ok("update_chat_properties", {"id": chat_id, "properties": {"a": {"x": "1" * 1500}}})
        r = await customer.call("update_chat_properties", {"id": chat_id, "properties": {"b": {"y": "2" * 1500}}})
        assert r.status_code == 429 and r.json()["error"]["type"] == "limit_reached", r.text
        r = await customer.call("update_thread_properties", {"chat_id": chat_id, "thread_id": thread_id,
                                                             "properties": {"b": {"y": "2" * 3000}}})
        assert r.status_code == 429 and r.json()["error"]["type"] == "limit_reached", r.text
        chat = await customer.ok("get_chat", {"chat_id": chat_id})
        assert chat["properties"] == {"a": {"x": "1" * 1500}} and chat["thread"]["properties"] == {}
        r = await customer.call("start_chat", {"chat": {"properties": {"big": {"v": "3" * 3000}}}})
        assert r.status_code == 429 and r.json()["error"]["type"] == "limit_reached", r.text
        assert len((await customer.ok("list_chats"))["chats_summary"]) == 1
    finally:
        await customer.aclose()


async def test_a_chat_stores_at_most_its_limit_of_events_and_can_still_be_closed(small, valkey):
    org = await new_license(valkey)
    email = f"admin-{secrets.token_hex(4)}@example.com"
    creds = await create_agent(valkey, org, email, "Ada", "administrator")
    agent = AgentClient(small.url, email, creds["personal_access_token"])
    customer = await _customer_at(small, org, _address())
    try:
        started = await customer.ok("start_chat", {"chat": {"thread": {"events": [
            {"type": "message", "text": "one"}, {"type": "message", "text": "two"}]}}})
        chat_id = started["chat_id"]
        for text in ("three", "four"):
            await agent.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": text}})
        r = await agent.call("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "five"}})
        assert r.status_code == 429 and r.json()["error"]["type"] == "limit_reached", r.text
        r = await customer.call("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "five"}})
        assert r.status_code == 429 and r.json()["error"]["type"] == "limit_reached", r.text
        await agent.ok("deactivate_chat", {"id": chat_id})
        events = (await agent.ok("get_chat", {"chat_id": chat_id}))["thread"]["events"]
        assert [e.get("text") for e in events if e["type"] == "message"] == ["one", "two", "three", "four"]
        assert events[-1]["type"] == "system_message"
    finally:
        await customer.aclose()
        await agent.aclose()


# --- 3. a Web body over its limit is refused before it is read to its end --------------------------------------------


def _raw_post(server: LiveServer, org: str, headers: str, body_parts: list[bytes]) -> bytes:
    """Send a request's head and ``body_parts`` (never the rest of the body) on a plain socket; the answer's bytes.
    A server that waits for the whole body never answers: the socket's timeout ends the wait with nothing."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as s:
        s.sendall((f"POST /v3.6/customer/action/send_event?organization_id={org} HTTP/1.1\r\n"
                   f"Host: {host}\r\nContent-Type: application/json\r\nX-Forwarded-For: {_address()}\r\n"
                   f"{headers}\r\n").encode())
        for part in body_parts:
            s.sendall(part)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return answer


async def test_a_body_announced_larger_than_the_limit_is_refused_without_reading_it(small, valkey):
    org = await new_license(valkey)
    answer = await asyncio.to_thread(_raw_post, small, org, "Content-Length: 5000000\r\n", [b"{" * 1000])
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"type":"entity_too_large"' in answer


async def test_a_chunked_body_is_refused_as_soon_as_it_crosses_the_limit(small, valkey):
    """64 KB limit, 80 KB sent in chunks, and the rest (the server cannot know how much) never sent: the answer
    comes all the same."""
    org = await new_license(valkey)
    chunk = b"a" * 8192
    parts = [b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(10)]
    answer = await asyncio.to_thread(_raw_post, small, org, "Transfer-Encoding: chunked\r\n", parts)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"entity_too_large" in answer


async def test_the_loader_s_visit_call_with_a_value_nested_1000_levels_deep_is_a_validation_error(server, org):
    """(Found by the widget fuzz: the fast path's look at the call's type raised RecursionError, a 500.)"""
    body = '{"type":"visit","cfg":' + deep_json(990) + ',"url":"https://shop.example/"}'
    customer = CustomerClient(server.url, org)
    try:
        r = await customer.http.post("/v1/widget/visit", content=body, headers={"Content-Type": "text/plain"})
    finally:
        await customer.aclose()
    assert r.status_code == 400 and r.json()["error"]["type"] == "validation", r.text[:300]
