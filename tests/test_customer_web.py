"""Customer Chat API over HTTP: a customer holds a conversation and reads it back, through a real server."""

from __future__ import annotations

import time

from tests.support import CustomerClient
from widget_server.auth.signing import Signer
from widget_server.auth.tokens import issue_token


async def test_customer_starts_a_chat_and_sees_messages_in_list_threads(customer: CustomerClient):
    started = await customer.ok("start_chat", {"chat": {"thread": {"events": [
        {"type": "message", "text": "Hello, is anybody there?", "custom_id": "draft-1"}]}}})
    chat_id, thread_id = started["chat_id"], started["thread_id"]
    assert started["event_ids"] == [f"{thread_id}_1"]

    sent = await customer.ok("send_event", {"chat_id": chat_id, "event": {
        "type": "message", "text": "I have a question about my order", "custom_id": "draft-2"}})
    assert sent == {"event_id": f"{thread_id}_2"}

    threads = await customer.ok("list_threads", {"chat_id": chat_id})
    assert threads["found_threads"] == 1
    [thread] = threads["threads"]
    assert thread["id"] == thread_id and thread["active"] is True
    assert [(e["text"], e["custom_id"], e["author_id"]) for e in thread["events"]] == [
        ("Hello, is anybody there?", "draft-1", customer.id),
        ("I have a question about my order", "draft-2", customer.id),
    ]
    assert all(e["created_at"].endswith("Z") for e in thread["events"])

    chats = await customer.ok("list_chats")
    assert chats["total_chats"] == 1
    [summary] = chats["chats_summary"]
    assert summary["id"] == chat_id and summary["active"] is True
    assert summary["last_event_per_type"]["message"]["event"]["text"] == "I have a question about my order"
    assert summary["users"][0]["id"] == customer.id

    chat = await customer.ok("get_chat", {"chat_id": chat_id})
    assert chat["thread"]["id"] == thread_id and len(chat["thread"]["events"]) == 2


async def test_every_event_type_a_customer_may_send(customer: CustomerClient):
    chat_id = (await customer.ok("start_chat"))["chat_id"]
    events = [
        {"type": "filled_form", "form_id": "prechat", "fields": [
            {"type": "name", "id": "name", "label": "Name", "answer": "Ann"},
            {"type": "radio", "id": "topic", "label": "Topic", "answer": {"id": "1", "label": "Billing"}}]},
        {"type": "rich_message", "template_id": "quick_replies", "elements": [
            {"title": "Pick one", "buttons": [{"text": "Yes", "type": "message", "value": "yes", "postback_id": "y"}]}]},
        {"type": "custom", "content": {"cart": [1, 2, 3]}},
    ]
    for ev in events:
        await customer.ok("send_event", {"chat_id": chat_id, "event": ev})
    got = (await customer.ok("get_chat", {"chat_id": chat_id}))["thread"]["events"]
    assert [e["type"] for e in got] == ["filled_form", "rich_message", "custom"]
    assert got[0]["fields"][1]["answer"] == {"id": "1", "label": "Billing"}
    assert got[2]["content"] == {"cart": [1, 2, 3]}


async def test_resume_after_deactivate_makes_a_new_thread_and_history_has_both(customer: CustomerClient):
    first = await customer.ok("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": "one"}]}}})
    chat_id = first["chat_id"]
    assert await customer.ok("deactivate_chat", {"id": chat_id}) == {}

    r = await customer.call("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "late"}})
    assert r.status_code == 400 and r.json()["error"]["type"] == "chat_inactive"
    # ...but a customer may still add to the closed thread when asking for it explicitly
    late = await customer.ok("send_event", {"chat_id": chat_id, "attach_to_last_thread": True,
                                            "event": {"type": "message", "text": "late"}})
    assert late["event_id"].startswith(first["thread_id"])

    second = await customer.ok("resume_chat", {"chat": {"id": chat_id, "thread": {"events": [
        {"type": "message", "text": "two"}]}}})
    assert second["thread_id"] != first["thread_id"]
    r = await customer.call("resume_chat", {"chat": {"id": chat_id}})
    assert r.status_code == 400 and r.json()["error"]["type"] == "validation"

    history = await customer.ok("list_threads", {"chat_id": chat_id, "sort_order": "asc"})
    assert history["found_threads"] == 2
    old, new = history["threads"]
    assert [e["type"] for e in old["events"]] == ["message", "system_message", "message"]
    assert old["active"] is False and old["next_thread_id"] == new["id"]
    assert new["previous_thread_id"] == old["id"] and new["active"] is True
    assert [e["text"] for e in new["events"]] == ["two"]

    customer_record = await customer.ok("get_customer")
    assert customer_record["id"] == customer.id


async def test_history_is_paginated_across_threads(customer: CustomerClient):
    chat_id = (await customer.ok("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": "t0"}]}}}))["chat_id"]
    for i in range(1, 5):
        await customer.ok("deactivate_chat", {"id": chat_id})
        await customer.ok("resume_chat", {"chat": {"id": chat_id, "thread": {"events": [{"type": "message", "text": f"t{i}"}]}}})
    page = await customer.ok("list_threads", {"chat_id": chat_id, "limit": 2})
    seen = [t["events"][0]["text"] for t in page["threads"]]
    assert seen == ["t4", "t3"] and page["found_threads"] == 5
    while "next_page_id" in page:
        r = await customer.call("list_threads", {"chat_id": chat_id, "page_id": page["next_page_id"], "limit": 2})
        assert r.status_code == 400  # a page_id carries its own limit and order
        page = await customer.ok("list_threads", {"chat_id": chat_id, "page_id": page["next_page_id"]})
        seen += [t["events"][0]["text"] for t in page["threads"]]
    assert seen == ["t4", "t3", "t2", "t1", "t0"]

    by_events = await customer.ok("list_threads", {"chat_id": chat_id, "min_events_count": 3})
    assert sum(len(t["events"]) for t in by_events["threads"]) >= 3


async def test_list_chats_pages_through_concurrent_chats(customer: CustomerClient):
    ids = [(await customer.ok("start_chat"))["chat_id"] for _ in range(5)]
    page = await customer.ok("list_chats", {"limit": 2})
    assert page["total_chats"] == 5
    listed = [c["id"] for c in page["chats_summary"]]
    while "next_page_id" in page:
        page = await customer.ok("list_chats", {"page_id": page["next_page_id"]})
        listed += [c["id"] for c in page["chats_summary"]]
    assert listed == list(reversed(ids))
    r = await customer.call("list_chats", {"page_id": "forged.page"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "validation"


async def test_properties_of_chats_threads_and_events(customer: CustomerClient):
    started = await customer.ok("start_chat", {"chat": {"properties": {"shop": {"cart": 3}}}})
    chat_id, thread_id = started["chat_id"], started["thread_id"]
    event_id = (await customer.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "x"}}))["event_id"]
    await customer.ok("update_chat_properties", {"id": chat_id, "properties": {"shop": {"cart": 4, "vip": True}}})
    await customer.ok("update_thread_properties", {"chat_id": chat_id, "thread_id": thread_id,
                                                   "properties": {"rating": {"score": 1, "comment": "great"}}})
    await customer.ok("update_event_properties", {"chat_id": chat_id, "thread_id": thread_id, "event_id": event_id,
                                                  "properties": {"reactions": {"like": 2}}})
    chat = await customer.ok("get_chat", {"chat_id": chat_id})
    assert chat["properties"] == {"shop": {"cart": 4, "vip": True}}
    assert chat["thread"]["properties"] == {"rating": {"score": 1, "comment": "great"}}
    assert chat["thread"]["events"][0]["properties"] == {"reactions": {"like": 2}}

    await customer.ok("delete_chat_properties", {"id": chat_id, "properties": {"shop": ["vip"]}})
    await customer.ok("delete_thread_properties", {"chat_id": chat_id, "thread_id": thread_id,
                                                   "properties": {"rating": ["comment"]}})
    await customer.ok("delete_event_properties", {"chat_id": chat_id, "thread_id": thread_id, "event_id": event_id,
                                                  "properties": {"reactions": ["like"]}})
    chat = await customer.ok("get_chat", {"chat_id": chat_id})
    assert chat["properties"] == {"shop": {"cart": 4}}
    assert chat["thread"]["properties"] == {"rating": {"score": 1}}
    assert "properties" not in chat["thread"]["events"][0]

    r = await customer.call("update_event_properties", {"chat_id": chat_id, "thread_id": thread_id,
                                                        "event_id": f"{thread_id}_99", "properties": {"a": {"b": 1}}})
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found"


async def test_customer_data_session_fields_and_forms(customer: CustomerClient):
    await customer.ok("update_customer", {"name": "Ann", "email": "ann@example.com"})
    await customer.ok("set_customer_session_fields", {"session_fields": [{"plan": "pro"}, {"cart": "450"}]})
    me = await customer.ok("get_customer")
    assert me["name"] == "Ann" and me["email"] == "ann@example.com"
    assert me["session_fields"] == [{"plan": "pro"}, {"cart": "450"}]
    r = await customer.call("update_customer", {})
    assert r.status_code == 400 and r.json()["error"]["type"] == "validation"

    assert await customer.ok("get_form", {"group_id": 0, "type": "prechat"}) == {"enabled": False}
    r = await customer.call("get_form", {"group_id": 7, "type": "prechat"})
    assert r.json()["error"]["type"] == "group_not_found"
    assert await customer.ok("list_group_statuses", {"all": True}) == {"groups_status": {"0": "offline"}}
    assert await customer.ok("list_group_statuses", {"group_ids": [0, 5]}) == {"groups_status": {"0": "offline"}}
    assert await customer.ok("check_goals", {"session_fields": [{"a": "b"}], "group_id": 0,
                                             "page_url": "https://shop.example/"}) == {}
    assert await customer.ok("activate_customer_page") == {}
    assert await customer.ok("deactivate_customer_page") == {}


async def test_configuration_endpoints_need_no_token_and_accept_one(customer: CustomerClient):
    for version, nested in (("3.6", True), ("3.5", False)):
        r = await customer.http.get(f"/v{version}/customer/action/get_dynamic_configuration",
                                    params={"organization_id": customer.org, "url": "https://shop.example/"},
                                    headers={"Authorization": "Bearer whatever"})
        assert r.status_code == 200, r.text
        body = r.json()
        cfg = body["livechat"] if nested else body
        assert body["organization_id"] == customer.org and cfg["domain_allowed"] is True
        assert cfg["online_group_ids"] == [] and cfg["group_id"] == 0
    r = await customer.http.get("/v3.6/customer/action/get_configuration",
                                params={"license_id": customer.org, "group_id": "0"})
    assert r.status_code == 200 and r.json()["ticket_form"]["fields"]
    r = await customer.http.get("/v3.6/customer/action/get_localization", params={"organization_id": customer.org})
    assert r.status_code == 200 and "Chat_now" in r.json()
    r = await customer.http.get("/v3.6/customer/action/get_configuration",
                                params={"organization_id": "00000000-0000-0000-0000-000000000000"})
    assert r.status_code == 404 and r.json()["error"]["type"] == "license_not_found"


async def test_errors_have_livechat_shape_and_status(customer: CustomerClient, server, org):
    chat_id = (await customer.ok("start_chat"))["chat_id"]
    h = {"Authorization": f"Bearer {customer.token}"}
    url = "/v3.6/customer/action/{}?organization_id=" + org

    async def err(r, status, type_):
        assert r.status_code == status, r.text
        body = r.json()
        assert body["error"]["type"] == type_ and body["error"]["message"], body

    await err(await customer.http.post(url.format("send_event"), content=b"{nope", headers=h), 400, "validation")
    await err(await customer.http.post(url.format("no_such_action"), json={}, headers=h), 400, "validation")
    await err(await customer.http.post(url.format("login"), json={"token": "x"}, headers=h), 400, "validation")
    r = await customer.call("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": 5}})
    await err(r, 400, "validation")
    assert "$.event.text" in r.json()["error"]["message"]
    await err(await customer.call("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "x" * 16385}}),
              400, "validation")
    await err(await customer.call("send_event", {"chat_id": chat_id, "event": {"type": "system_message", "text": "x",
                                                                              "system_message_type": "x"}}), 400, "validation")
    await err(await customer.http.post(url.format("send_event"), content=b"[" * 2_000_000, headers=h), 413, "entity_too_large")
    await err(await customer.call("get_chat", {"chat_id": "NOSUCHCHAT"}), 404, "not_found")
    await err(await customer.call("get_chat", {"chat_id": chat_id}, token=""), 401, "authentication")
    await err(await customer.call("get_chat", {"chat_id": chat_id}, token="dal:forged.token"), 401, "authentication")

    signer = Signer(b"not the server's key")
    await err(await customer.call("get_chat", {"chat_id": chat_id}, token=issue_token(signer, org, customer.id, 60)),
              401, "authentication")

    other = await CustomerClient(server.url, org).authorize()
    try:
        await err(await other.call("get_chat", {"chat_id": chat_id}), 403, "authorization")
        await err(await other.call("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "hi"}}),
                  403, "authorization")
        await err(await other.call("deactivate_chat", {"id": chat_id}), 403, "authorization")
    finally:
        await other.aclose()

    await customer.ok("deactivate_chat", {"id": chat_id})
    await err(await customer.call("deactivate_chat", {"id": chat_id}), 400, "chat_inactive")
    # nothing stored was changed by any of the above
    thread = (await customer.ok("get_chat", {"chat_id": chat_id}))["thread"]
    assert [e["type"] for e in thread["events"]] == ["system_message"]

    await err(await customer.http.post("/v3.6/customer/action/get_chat?organization_id=nope", json={}, headers=h),
              401, "authentication")
    await err(await customer.http.get("/no/such/path"), 404, "not_found")


async def test_expired_token_is_refused(server, valkey, org):
    import hashlib

    from widget_server import keys

    secret = await valkey.get(keys.SECRET)
    signer = Signer(hashlib.sha256(b"widget_server\0" + secret).digest())
    c = CustomerClient(server.url, org)
    try:
        expired = issue_token(signer, org, "c-1", -1)
        r = await c.call("list_chats", token=expired)
        assert r.status_code == 401 and r.json()["error"] == {"type": "authentication", "message": "Access token expired"}
        fresh = issue_token(signer, org, "c-1", 60)
        assert (await c.call("list_chats", token=fresh)).status_code == 200
    finally:
        await c.aclose()
    assert time.time()  # the clock is real; no sleeping was needed

