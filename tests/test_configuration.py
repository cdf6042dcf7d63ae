"""The owner configures agents, groups, bots and webhooks; a bot answers first; webhooks are delivered and signed."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

import pytest

from tests.support import AgentClient, CustomerClient, LiveServer, WebhookReceiver
from widget_server.bootstrap import create_license


@pytest.fixture
async def owner(server, valkey):
    creds = await create_license(valkey, f"owner-{secrets.token_hex(4)}@example.com", "pw")
    owner = AgentClient(server.url, creds["owner"]["account_id"], creds["owner"]["personal_access_token"])
    owner.org = creds["organization_id"]  # type: ignore[attr-defined]
    owner.normal = AgentClient(  # type: ignore[attr-defined]
        server.url, creds["agent"]["account_id"], creds["agent"]["personal_access_token"])
    yield owner
    await owner.aclose()
    await owner.normal.aclose()  # type: ignore[attr-defined]


async def config(agent: AgentClient, action: str, payload=None):
    return await agent.http.post(f"/v3.6/configuration/action/{action}", json=payload or {},
                                 headers={"Authorization": f"Bearer {agent.token}"})


async def test_owner_manages_agents_and_groups(owner, server):
    email = f"new-{secrets.token_hex(4)}@example.com"
    r = await config(owner, "create_agent", {"id": email, "name": "New", "max_chats_count": 2})
    assert r.status_code == 200, r.text
    created = r.json()
    assert created["id"] == email and created["personal_access_token"]
    again = await config(owner, "create_agent", {"id": email, "name": "New"})
    assert again.status_code == 409 and again.json()["error"]["type"] == "already_exists"

    group = (await config(owner, "create_group", {"name": "Billing", "agent_priorities": {email: "normal"}})).json()
    groups = (await config(owner, "list_groups")).json()
    assert {"id": group["id"], "name": "Billing", "language_code": "en", "agent_priorities": {email: "normal"}} in groups
    await config(owner, "update_agent", {"id": email, "name": "Renamed", "max_chats_count": 4})
    agent = (await config(owner, "get_agent", {"id": email})).json()
    assert agent["name"] == "Renamed" and agent["max_chats_count"] == 4
    assert {g["id"] for g in agent["groups"]} == {0, group["id"]}
    assert email in [a["id"] for a in (await config(owner, "list_agents")).json()]

    # the new agent works with its token, and a normal agent may not configure anything
    new_agent = AgentClient(server.url, email, created["personal_access_token"])
    assert (await new_agent.ok("list_routing_statuses"))
    r = await config(owner.normal, "create_group", {"name": "Nope"})
    assert r.status_code == 403 and r.json()["error"]["type"] == "authorization"
    r = await config(owner, "create_agent", {"id": "not-an-email", "name": "x"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "validation"
    r = await config(owner, "create_agent", {"id": f"g-{email}", "name": "x", "groups": [{"id": 77}]})
    assert r.json()["error"]["type"] == "group_not_found"

    await config(owner, "delete_agent", {"id": email})
    r = await new_agent.call("list_routing_statuses")
    assert r.status_code == 401  # its token died with it
    assert (await config(owner, "delete_group", {"id": group["id"]})).status_code == 200
    await new_agent.aclose()


async def test_a_bot_takes_chats_first_and_hands_over_to_humans(owner, server):
    bot = (await config(owner, "create_bot", {"name": "Helper", "groups": [{"id": 0, "priority": "first"}],
                                                "timezone": "Europe/Warsaw", "owner_client_id": "cid"})).json()
    token = (await config(owner, "issue_bot_token", {"bot_id": bot["id"], "bot_secret": bot["secret"],
                                                     "client_id": "cid", "organization_id": owner.org})).json()["token"]
    r = await config(owner, "issue_bot_token", {"bot_id": bot["id"], "bot_secret": "wrong", "client_id": "cid",
                                                "organization_id": owner.org})
    assert r.status_code == 403
    as_bot = AgentClient(server.url, bot["id"], token)
    human = owner.normal
    await as_bot.ok("set_routing_status", {"status": "accepting_chats"})
    await human.ok("set_routing_status", {"status": "accepting_chats"})
    customer = await CustomerClient(server.url, owner.org).authorize()
    sock = await customer.rtm()
    try:
        chat_id = (await customer.ok("start_chat"))["chat_id"]
        added = await sock.push("user_added_to_chat")
        assert added["payload"]["user"]["id"] == bot["id"]  # priority "first" beats the human
        await as_bot.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "Hi, I'm a bot"}})
        assert (await sock.push("incoming_event"))["payload"]["event"]["author_id"] == bot["id"]
        # the older way: the owner's token acting as the bot
        r = await owner.http.post("/v3.6/agent/action/send_event", headers={
            "Authorization": f"Bearer {owner.token}", "X-Author-Id": bot["id"]},
            json={"chat_id": chat_id, "event": {"type": "message", "text": "Still the bot"}})
        assert r.status_code == 200, r.text
        assert (await sock.push("incoming_event"))["payload"]["event"]["author_id"] == bot["id"]
        r = await human.http.post("/v3.6/agent/action/send_event", headers={
            "Authorization": f"Bearer {human.token}", "X-Author-Id": bot["id"]},
            json={"chat_id": chat_id, "event": {"type": "message", "text": "x"}})
        assert r.status_code == 403

        await as_bot.ok("transfer_chat", {"id": chat_id, "target": {"type": "agent", "ids": [human.id]}})
        assert (await sock.push("user_added_to_chat"))["payload"]["user"]["id"] == human.id
        bots = (await config(owner, "list_bots")).json()
        assert [b["id"] for b in bots] == [bot["id"]]
    finally:
        await sock.close()
        await customer.aclose()
        await as_bot.aclose()


@pytest.fixture(scope="module")
def quick_retry_server(tmp_path_factory, valkey_url):
    live = LiveServer(tmp_path_factory.mktemp("webhooks"), valkey_url, env={"WIDGET_WEBHOOK_RETRY_BASE": "0.2"})
    yield live.start()
    live.stop()


async def test_webhooks_are_signed_and_retried_until_delivered(quick_retry_server, valkey):
    creds = await create_license(valkey, f"hooks-{secrets.token_hex(4)}@example.com", "pw")
    owner = AgentClient(quick_retry_server.url, creds["owner"]["account_id"], creds["owner"]["personal_access_token"])
    with WebhookReceiver(fail=2) as receiver:
        r = await config(owner, "register_webhook", {
            "action": "incoming_event", "secret_key": "s3cret", "url": receiver.url, "owner_client_id": "cid",
            "type": "license", "additional_data": ["chat_presence_user_ids"], "filters": {"author_type": "customer"}})
        assert r.status_code == 200, r.text
        hook_id = r.json()["id"]
        bad = await config(owner, "register_webhook", {"action": "fly", "secret_key": "s", "url": receiver.url})
        assert bad.json()["error"]["type"] == "validation"

        customer = await CustomerClient(quick_retry_server.url, creds["organization_id"]).authorize()
        chat_id = (await customer.ok("start_chat"))["chat_id"]
        sent = await customer.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "hook me"}})
        deliveries = await receiver.wait_for(3)
        bodies = {body for _, body in deliveries}
        assert len(bodies) == 1  # the same bytes every attempt
        headers, body = deliveries[-1]
        envelope = json.loads(body)
        assert envelope["webhook_id"] == hook_id and envelope["secret_key"] == "s3cret"
        assert envelope["action"] == "incoming_event" and envelope["organization_id"] == creds["organization_id"]
        assert envelope["payload"]["event"]["id"] == sent["event_id"]
        assert envelope["additional_data"] == {"chat_presence_user_ids": [customer.id]}
        expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        assert headers["x-widget-signature"] == expected
        assert [h["x-widget-attempt"] for h, _ in deliveries[:3]] == ["1", "2", "3"]

        log = (await config(owner, "list_webhook_deliveries", {"id": hook_id})).json()
        assert [(d["attempt"], d["ok"]) for d in log[:3]] == [(3, True), (2, False), (1, False)]
        listed = (await config(owner, "list_webhooks", {"owner_client_id": "cid"})).json()
        assert [w["id"] for w in listed] == [hook_id]
        assert listed[0]["type"] == "license"  # LiveChat 3.6 names the kind of every webhook listed
        await customer.aclose()
        await config(owner, "unregister_webhook", {"id": hook_id})
    await owner.aclose()


async def test_a_pending_delivery_survives_a_server_restart(tmp_path, valkey_url, valkey):
    creds = await create_license(valkey, f"restart-{secrets.token_hex(4)}@example.com", "pw")
    env = {"WIDGET_WEBHOOK_RETRY_BASE": "0.3"}
    first = LiveServer(tmp_path / "a", valkey_url, env=env).start()
    owner = AgentClient(first.url, creds["owner"]["account_id"], creds["owner"]["personal_access_token"])
    receiver = WebhookReceiver()
    await config(owner, "register_webhook", {"action": "incoming_chat", "secret_key": "k", "url": receiver.url})
    customer = await CustomerClient(first.url, creds["organization_id"]).authorize()
    chat_id = (await customer.ok("start_chat"))["chat_id"]
    first.stop()  # the receiver is not even listening yet: the delivery is waiting for a retry in Valkey
    with receiver:
        second = LiveServer(tmp_path / "b", valkey_url, env=env).start()
        try:
            deliveries = await receiver.wait_for(1, timeout=30)
            assert json.loads(deliveries[0][1])["payload"]["chat"]["id"] == chat_id
        finally:
            second.stop()
    await owner.aclose()
    await customer.aclose()


async def test_the_rule_bot_greets_answers_keywords_and_hands_over_to_a_human(owner, server):
    rules = {"greeting": "Hello! I'm the shop bot.", "menu": ["Shipping", "Returns"],
             "answers": [{"keywords": ["shipping", "deliver"], "answer": "We ship within 2 days."}]}
    bot = (await config(owner, "create_bot", {"name": "Shop bot", "groups": [{"id": 0, "priority": "first"}],
                                                "rules": rules})).json()
    token = (await config(owner, "issue_bot_token", {"bot_id": bot["id"], "bot_secret": bot["secret"],
                                                     "client_id": "c", "organization_id": owner.org})).json()["token"]
    as_bot = AgentClient(server.url, bot["id"], token)
    await as_bot.ok("set_routing_status", {"status": "accepting_chats"})
    await owner.normal.ok("set_routing_status", {"status": "accepting_chats"})
    customer = await CustomerClient(server.url, owner.org).authorize()
    sock = await customer.rtm()
    try:
        started = await customer.ok("start_chat")
        chat_id, thread_id = started["chat_id"], started["thread_id"]
        assert (await sock.push("user_added_to_chat"))["payload"]["user"]["id"] == bot["id"]
        greeting = (await sock.push("incoming_event", timeout=10))["payload"]["event"]
        assert greeting["type"] == "rich_message" and greeting["template_id"] == "quick_replies"
        assert greeting["elements"][0]["title"] == "Hello! I'm the shop bot."
        assert [b["text"] for b in greeting["elements"][0]["buttons"]] == ["Shipping", "Returns", "Talk to a human"]

        await customer.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "Do you deliver to Oslo?"}})
        await sock.push("incoming_event")  # the customer's own message
        answer = (await sock.push("incoming_event", timeout=10))["payload"]["event"]
        assert answer["text"] == "We ship within 2 days." and answer["author_id"] == bot["id"]

        await customer.ok("send_rich_message_postback", {"chat_id": chat_id, "thread_id": thread_id,
                                                          "event_id": greeting["id"],
                                                          "postback": {"id": "handover", "toggled": True}})
        handover = (await sock.push("incoming_event", timeout=10))["payload"]["event"]
        assert handover["text"] == "Connecting you with a person…"
        assert (await sock.push("chat_transferred", timeout=10))["payload"]["requester_id"] == bot["id"]
        human = await sock.push("user_added_to_chat", timeout=10)
        assert human["payload"]["user"]["id"] == owner.normal.id  # a person, never the bot again
    finally:
        await sock.close()
        await customer.aclose()
        await as_bot.aclose()


async def test_the_owner_sets_the_widgets_forms_and_greeting(owner, server):
    prechat = {"enabled": True, "form": {"id": "pre", "fields": [
        {"id": "n", "type": "name", "label": "Your name", "required": True},
        {"id": "t", "type": "radio", "label": "Topic", "options": [{"id": "1", "label": "Billing"}]}]}}
    r = await config(owner, "update_license_properties", {"properties": {
        "widget": {"prechat_form": prechat, "greeting": "Welcome to our shop!"}, "acme": {"plan": "gold"}}})
    assert r.status_code == 200, r.text
    customer = await CustomerClient(server.url, owner.org).authorize()
    try:
        form = await customer.ok("get_form", {"group_id": 0, "type": "prechat"})
        assert form == {"enabled": True, "form": prechat["form"] | {"fields": [
            {"id": "n", "type": "name", "label": "Your name", "required": True},
            {"id": "t", "type": "radio", "label": "Topic", "options": [{"id": "1", "label": "Billing"}]}]}}
        static = (await customer.http.get("/v3.6/customer/action/get_configuration",
                                          params={"organization_id": owner.org})).json()
        assert static["prechat_form"]["id"] == "pre"
        assert static["properties"]["license"]["widget"]["greeting"] == "Welcome to our shop!"
        assert static["properties"]["license"]["acme"] == {"plan": "gold"}
    finally:
        await customer.aclose()
    listed = (await config(owner, "list_license_properties", {"namespace": "widget"})).json()
    assert listed["widget"]["prechat_form"]["enabled"] is True
    bad = await config(owner, "update_license_properties", {"properties": {"widget": {"ticket_form": {"enabled": "x"}}}})
    assert bad.status_code == 400 and "ticket_form" in bad.json()["error"]["message"]
