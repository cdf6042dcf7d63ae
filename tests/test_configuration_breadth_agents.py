"""Configuration API, part 2 (issue 21): the owner suspends, approves and batches agents, keeps bot templates and
bots' secrets, administers webhooks and the license; every agent hears of configuration changes, and every webhook
action registration accepts is really sent."""

from __future__ import annotations

import asyncio
import json
import secrets

import pytest
from livechat.webhooks.parser import parse_webhook
from livechat.webhooks.v36 import action_to_data_class_mapping_v_36 as SDK_WEBHOOKS

from tests.support import AgentClient, CustomerClient, LiveServer, Socket, WebhookReceiver, configure
from widget_server.bootstrap import create_license
from widget_server.protocol.configuration import BATCH_LIMIT, WEBHOOK_ACTIONS


def email(prefix: str = "a") -> str:
    return f"{prefix}-{secrets.token_hex(4)}@example.com"


async def ok(agent: AgentClient, action: str, payload=None):
    r = await configure(agent, action, payload)
    assert r.status_code == 200, (action, r.status_code, r.text)
    return r.json()


async def error(agent: AgentClient, action: str, payload=None) -> tuple[int, str]:
    r = await configure(agent, action, payload)
    assert r.status_code >= 400, (action, r.text)
    return r.status_code, r.json()["error"]["type"]


async def new_agent(owner: AgentClient, server, **fields) -> AgentClient:
    agent_id = email()
    created = await ok(owner, "create_agent", {"id": agent_id, "name": "Zed", **fields})
    return AgentClient(server.url, agent_id, created["personal_access_token"])


async def login_error(server, token: str) -> dict:
    sock = await Socket.open(f"{server.ws_url}/v3.6/agent/rtm/ws", None, {})
    try:
        reply = await sock.request("login", {"token": f"Bearer {token}"})
        assert reply["success"] is False, reply
        return reply["payload"]["error"]
    finally:
        await sock.close()


async def test_a_suspended_agent_is_cut_off_everywhere_until_unsuspended(owner_team, server, server2):
    owner, _, _ = owner_team
    zed = await new_agent(owner, server)
    watcher = await owner.rtm()
    zed_socket = await zed.rtm()
    elsewhere = await zed.rtm(server2.url)  # another server process on the same Valkey (another host)
    try:
        assert await ok(owner, "suspend_agent", {"id": zed.id}) == {}
        # every agent hears it; zed's own socket hears it, then why it closes, and closes
        assert (await watcher.push("agent_suspended"))["payload"] == {"id": zed.id}
        assert (await zed_socket.push("agent_suspended"))["payload"] == {"id": zed.id}
        goodbye = await zed_socket.push("agent_disconnected")
        assert goodbye["payload"]["reason"] == "agent_disconnected_by_server"
        await asyncio.wait_for(zed_socket.closed.wait(), 5)
        assert (await elsewhere.push("agent_disconnected"))["payload"]["reason"] == "agent_disconnected_by_server"
        await asyncio.wait_for(elsewhere.closed.wait(), 5)

        # the same token is refused on the Web API and at sign-in
        r = await zed.call("list_routing_statuses")
        assert r.status_code == 403 and r.json()["error"]["type"] == "requester_suspended"
        assert (await login_error(server, zed.token))["type"] == "requester_suspended"
        assert (await ok(owner, "get_agent", {"id": zed.id}))["suspended"] is True
        suspended = await ok(owner, "list_agents", {"filters": {"suspended": True}})
        assert [a["id"] for a in suspended] == [zed.id]
        assert zed.id not in [a["id"] for a in await ok(owner, "list_agents", {"filters": {"suspended": False}})]
        statuses = {s["agent_id"]: s["status"] for s in await owner.ok("list_routing_statuses")}
        assert statuses[zed.id] == "offline"
        # nobody routes chats to them meanwhile: an administrator cannot make them accept chats
        r = await owner.call("set_routing_status", {"agent_id": zed.id, "status": "accepting_chats"})
        assert r.status_code == 400 and r.json()["error"]["type"] == "validation"

        # suspending again changes nothing and tells nobody
        assert await ok(owner, "suspend_agent", {"id": zed.id}) == {}
        await watcher.no_push("agent_suspended")

        # the one call a suspended agent may make; without a mail server it cannot be delivered
        assert await error(zed, "request_agent_unsuspension") == (503, "service_unavailable")
        assert await error(owner, "request_agent_unsuspension") == (400, "validation")  # (not suspended)

        assert await ok(owner, "unsuspend_agent", {"id": zed.id}) == {}
        assert (await watcher.push("agent_unsuspended"))["payload"] == {"id": zed.id}
        assert await zed.ok("list_routing_statuses")
        again = await zed.rtm()
        await again.close()
        assert "suspended" not in await ok(owner, "get_agent", {"id": zed.id})
    finally:
        await watcher.close()
        await zed_socket.close()
        await elsewhere.close()
        await zed.aclose()


async def test_who_may_suspend_whom(owner_team, server):
    owner, agent, _ = owner_team
    assert await error(owner, "suspend_agent", {"id": owner.id}) == (403, "authorization")  # the owner: never
    assert await error(owner, "suspend_agent", {"id": email("nobody")}) == (404, "not_found")
    assert await error(agent, "suspend_agent", {"id": owner.id}) == (403, "authorization")  # a normal agent
    assert await error(owner, "suspend_agent", {}) == (400, "validation")
    admin = await new_agent(owner, server, role="administrator")
    try:
        assert await error(admin, "suspend_agent", {"id": admin.id}) == (400, "validation")  # not themself
        assert await ok(admin, "suspend_agent", {"id": agent.id}) == {}
        r = await agent.call("list_chats")
        assert r.json()["error"]["type"] == "requester_suspended"
        assert await ok(owner, "reactivate_email", {"agent_id": agent.id}) == {}
        assert await error(owner, "reactivate_email", {"agent_id": email()}) == (404, "not_found")
    finally:
        await admin.aclose()


async def test_an_agent_awaiting_approval_works_once_approved(owner_team, server):
    owner, _, _ = owner_team
    watcher = await owner.rtm()
    newbie = await new_agent(owner, server, awaiting_approval=True)
    try:
        created = (await watcher.push("agent_created"))["payload"]
        assert created == {"id": newbie.id, "name": "Zed", "role": "normal", "avatar": None, "job_title": None,
                           "mobile": None, "max_chats_count": 6, "awaiting_approval": True,
                           "groups": [{"id": 0, "priority": "normal"}], "notifications": [],
                           "email_subscriptions": [], "work_scheduler": {}}
        r = await newbie.call("list_chats")
        assert r.status_code == 403 and r.json()["error"]["type"] == "requester_awaiting_approval"
        assert (await login_error(server, newbie.token))["type"] == "requester_awaiting_approval"
        r = await owner.call("set_routing_status", {"agent_id": newbie.id, "status": "accepting_chats"})
        assert r.status_code == 400 and r.json()["error"]["type"] == "validation"
        assert await ok(owner, "approve_agent", {"id": newbie.id}) == {}
        assert (await watcher.push("agent_approved"))["payload"] == {"id": newbie.id}
        assert await newbie.ok("list_chats")
    finally:
        await watcher.close()
        await newbie.aclose()


async def test_batches_answer_each_request_in_order(owner_team, server):
    owner, _, _ = owner_team
    first, second = email("b1"), email("b2")
    created = await ok(owner, "batch_create_agents", {"requests": [
        {"id": first, "name": "One"}, {"id": "not-an-email", "name": "x"}, {"id": first, "name": "Again"},
        {"id": second, "name": "Two", "groups": [{"id": 99}]}, {}]})
    responses = created["responses"]
    assert len(responses) == 5
    assert responses[0]["id"] == first and responses[0]["personal_access_token"]
    assert responses[1]["error"]["type"] == "validation"
    assert responses[2]["error"]["type"] == "already_exists"
    assert responses[3]["error"]["type"] == "group_not_found"
    assert responses[4]["error"]["type"] == "validation" and "id" in responses[4]["error"]["message"]

    assert (await ok(owner, "batch_update_agents", {"requests": [{"id": first, "name": "Uno"}, {"id": second}]})) \
        == {"responses": [{}, {"error": {"type": "not_found", "message": f"Agent {second} not found"}}]}
    assert (await ok(owner, "get_agent", {"id": first}))["name"] == "Uno"
    for verb in ("suspend", "unsuspend", "approve"):
        answer = await ok(owner, f"batch_{verb}_agents", {"requests": [{"id": first}, {"id": owner.id}][:2]})
        assert answer["responses"][0] == {}, (verb, answer)
    assert (await ok(owner, "batch_suspend_agents", {"requests": [{"id": owner.id}]}))["responses"][0]["error"][
        "type"] == "authorization"

    bots = (await ok(owner, "batch_create_bots", {"requests": [{"name": "B1"}, {"name": ""}]}))["responses"]
    assert bots[0]["id"] and bots[0]["secret"] and bots[1]["error"]["type"] == "validation"
    assert (await ok(owner, "batch_update_bots", {"requests": [{"id": bots[0]["id"], "name": "B2"}]})) == \
        {"responses": [{}]}
    assert (await ok(owner, "get_bot", {"id": bots[0]["id"]}))["name"] == "B2"
    deleted = await ok(owner, "batch_delete_bots", {"requests": [{"id": bots[0]["id"]}, {"id": "nope"}]})
    assert deleted["responses"][0] == {} and deleted["responses"][1]["error"]["type"] == "not_found"
    deleted = await ok(owner, "batch_delete_agents", {"requests": [{"id": first}]})
    assert deleted == {"responses": [{}]}

    # bounded: one request too many is refused whole, and so is a batch that is not a list
    assert await error(owner, "batch_delete_agents", {"requests": [{"id": first}] * (BATCH_LIMIT + 1)}) == \
        (400, "validation")
    assert await error(owner, "batch_delete_agents", {"requests": {"id": first}}) == (400, "validation")
    assert await error(owner, "batch_delete_agents", {}) == (400, "validation")


async def test_every_agent_hears_configuration_changes(owner_team, server):
    owner, agent, _ = owner_team
    listener = await agent.rtm()  # a normal agent hears them too
    try:
        zed = await new_agent(owner, server, job_title="Support")
        created = (await listener.push("agent_created"))["payload"]
        assert created["id"] == zed.id and created["job_title"] == "Support" and created["notifications"] == []
        await ok(owner, "update_agent", {"id": zed.id, "name": "Zed Two", "avatar_path": "https://a.example/z.png"})
        assert (await listener.push("agent_updated"))["payload"] == {"id": zed.id, "name": "Zed Two",
                                                                     "avatar": "https://a.example/z.png"}
        await ok(owner, "delete_agent", {"id": zed.id})
        assert (await listener.push("agent_deleted"))["payload"] == {"id": zed.id}
        await zed.aclose()

        group = await ok(owner, "create_group", {"name": "Billing", "agent_priorities": {agent.id: "last"}})
        assert (await listener.push("group_created"))["payload"] == {
            "id": group["id"], "name": "Billing", "language_code": "en", "agent_priorities": {agent.id: "last"}}
        await ok(owner, "update_group", {"id": group["id"], "name": "Invoices", "welcome_message": "Hi"})
        assert (await listener.push("group_updated"))["payload"] == {"id": group["id"], "name": "Invoices"}
        await ok(owner, "delete_group", {"id": group["id"]})
        assert (await listener.push("group_deleted"))["payload"] == {"id": group["id"]}

        bot = await ok(owner, "create_bot", {"name": "Helper", "default_group_priority": "first",
                                             "owner_client_id": "app"})
        assert (await listener.push("bot_created"))["payload"] == {
            "id": bot["id"], "name": "Helper", "avatar": None, "job_title": None, "max_chats_count": 6,
            "default_group_priority": "first", "groups": [{"id": 0, "priority": "first"}],
            "owner_client_id": "app", "timezone": None}
        await ok(owner, "update_bot", {"id": bot["id"], "name": "Helper 2", "rules": {"greeting": "Hello"}})
        assert (await listener.push("bot_updated"))["payload"] == {"id": bot["id"], "name": "Helper 2"}
        await ok(owner, "delete_bot", {"id": bot["id"]})
        assert (await listener.push("bot_deleted"))["payload"] == {"id": bot["id"]}
    finally:
        await listener.close()


async def test_bot_templates_and_bot_secrets(owner_team, server):
    owner, _, _ = owner_team

    async def token(bot_id: str, secret: str):
        return await configure(owner, "issue_bot_token", {"bot_id": bot_id, "bot_secret": secret, "client_id": "app",
                                                          "organization_id": owner.org})

    made = await ok(owner, "create_bot_template", {"name": "Tmpl", "owner_client_id": "app", "job_title": "Bot"})
    assert set(made) == {"id", "secret"}
    assert await ok(owner, "list_bot_templates", {"owner_client_id": "app"}) == [
        {"id": made["id"], "name": "Tmpl", "owner_client_id": "app", "job_title": "Bot", "max_chats_count": 6}]
    assert await ok(owner, "list_bot_templates", {"owner_client_id": "other"}) == []
    assert await error(owner, "create_bot_template", {"name": "No client"}) == (400, "validation")
    # no installation here without affect_existing_installations: the template makes no bot
    assert await error(owner, "get_bot", {"id": made["id"]}) == (404, "not_found")
    assert await ok(owner, "update_bot_template", {"id": made["id"], "owner_client_id": "app", "name": "T2"}) == {}
    assert (await ok(owner, "list_bot_templates", {"owner_client_id": "app"}))[0]["name"] == "T2"
    assert await error(owner, "update_bot_template", {"id": made["id"], "owner_client_id": "other"}) == \
        (404, "not_found")

    # with affect_existing_installations this license counts as an installation: the bot has the template's id
    installed = await ok(owner, "create_bot_template", {"name": "Installed", "owner_client_id": "app",
                                                        "affect_existing_installations": True})
    assert (await ok(owner, "get_bot", {"id": installed["id"]}))["name"] == "Installed"
    assert (await token(installed["id"], installed["secret"])).status_code == 200
    reset = await ok(owner, "reset_bot_template_secret", {"id": installed["id"], "owner_client_id": "app",
                                                          "affect_existing_installations": True})
    assert (await token(installed["id"], installed["secret"])).status_code == 403
    assert (await token(installed["id"], reset["secret"])).status_code == 200
    await ok(owner, "update_bot_template", {"id": installed["id"], "owner_client_id": "app", "name": "Renamed",
                                            "affect_existing_installations": True})
    assert (await ok(owner, "get_bot", {"id": installed["id"]}))["name"] == "Renamed"

    # reset_bot_secret: the new secret is shown once and the old one issues no token
    bot = await ok(owner, "create_bot", {"name": "Solo", "owner_client_id": "app"})
    new = await ok(owner, "reset_bot_secret", {"id": bot["id"], "owner_client_id": "app"})
    assert set(new) == {"secret"} and new["secret"] != bot["secret"]
    assert (await token(bot["id"], bot["secret"])).status_code == 403
    assert (await token(bot["id"], new["secret"])).status_code == 200
    assert await error(owner, "reset_bot_secret", {"id": bot["id"], "owner_client_id": "stranger"}) == \
        (404, "not_found")
    assert await error(owner, "reset_bot_secret", {"id": owner.id}) == (404, "not_found")  # an agent is no bot

    # five templates per client, and deleting one with affect_existing_installations deletes its bot
    for n in range(3):
        await ok(owner, "create_bot_template", {"name": f"T{n}", "owner_client_id": "app"})
    assert await error(owner, "create_bot_template", {"name": "Sixth", "owner_client_id": "app"}) == \
        (429, "limit_reached")
    assert await ok(owner, "delete_bot_template", {"id": installed["id"], "owner_client_id": "app",
                                                   "affect_existing_installations": True}) == {}
    assert await error(owner, "get_bot", {"id": installed["id"]}) == (404, "not_found")
    assert await error(owner, "delete_bot_template", {"id": installed["id"], "owner_client_id": "app"}) == \
        (404, "not_found")
    assert len(await ok(owner, "list_bot_templates", {"owner_client_id": "app"})) == 4
    # bounded per license too, whatever the number of client ids: 100 templates in all
    for n in range(96):
        await ok(owner, "create_bot_template", {"name": f"T{n}", "owner_client_id": f"client-{n}"})
    assert await error(owner, "create_bot_template", {"name": "Over", "owner_client_id": "fresh"}) == \
        (429, "limit_reached")


async def test_webhook_administration(owner_team, server):
    owner, agent, _ = owner_team
    # list_webhook_names needs no authorization and names exactly the actions registration accepts
    r = await owner.http.post("/v3.6/configuration/action/list_webhook_names", json={"version": "3.6"})
    assert r.status_code == 200, r.text
    names = {n["action"]: n for n in r.json()}
    assert set(names) == WEBHOOK_ACTIONS
    assert names["agent_deleted"] == {"action": "agent_deleted", "filters": ["source_type"]}
    assert names["incoming_event"]["filters"] == ["chat_presence", "author_type", "only_my_chats", "source_type"]
    assert names["incoming_event"]["additional_data"] == ["chat_properties", "chat_presence_user_ids"]

    assert await ok(owner, "get_license_webhooks_state", {"owner_client_id": "app"}) == \
        {"license_webhooks_enabled": True}
    with WebhookReceiver() as receiver:
        await ok(owner, "register_webhook", {"action": "group_created", "secret_key": "s", "url": receiver.url,
                                             "owner_client_id": "app", "type": "license"})
        assert await ok(owner, "disable_license_webhooks", {"owner_client_id": "app"}) == {}
        assert await ok(owner, "get_license_webhooks_state", {"owner_client_id": "app"}) == \
            {"license_webhooks_enabled": False}
        assert await ok(owner, "get_license_webhooks_state", {"owner_client_id": "other"}) == \
            {"license_webhooks_enabled": True}
        await ok(owner, "create_group", {"name": "Quiet"})  # disabled: not sent, not kept for later
        assert await ok(owner, "enable_license_webhooks", {"owner_client_id": "app"}) == {}
        await ok(owner, "create_group", {"name": "Loud"})
        [(_, body)] = await receiver.wait_for(1)
        await asyncio.sleep(0.5)  # (a late first delivery would show up here)
        assert len(receiver.requests) == 1
        delivered = json.loads(body)
        assert delivered["action"] == "group_created" and delivered["payload"]["name"] == "Loud"
    assert await error(agent, "disable_license_webhooks", {"owner_client_id": "app"}) == (403, "authorization")
    # bounded: a license disables at most 100 clients' webhooks (disabling one again is no new entry)
    for n in range(100):
        await ok(owner, "disable_license_webhooks", {"owner_client_id": f"c{n}"})
    assert await ok(owner, "disable_license_webhooks", {"owner_client_id": "c0"}) == {}
    assert await error(owner, "disable_license_webhooks", {"owner_client_id": "one-too-many"}) == \
        (429, "limit_reached")
    assert await ok(owner, "enable_license_webhooks", {"owner_client_id": "c0"}) == {}
    assert await ok(owner, "disable_license_webhooks", {"owner_client_id": "one-too-many"}) == {}


async def test_the_license_channels_company_and_product(owner_team, server):
    owner, agent, _ = owner_team
    [channel] = await ok(owner, "list_channels")
    assert channel["channel_type"] == "code" and channel["channel_subtype"] == ""
    assert channel["first_activity_timestamp"].endswith("Z")
    assert await ok(owner, "check_product_limits_for_plan", {"plan": "starter"}) == []
    assert await error(owner, "check_product_limits_for_plan", {"plan": "gold"}) == (400, "validation")
    assert await ok(owner, "get_product_source") == {"source_id": "widget_server", "source_type": "self_hosted",
                                                     "source_url": ""}
    assert await ok(owner, "get_company_details") == {}
    assert await ok(owner, "update_company_details", {"enrich": True, "company": "Acme", "url": "acme.example"}) == {}
    assert await ok(owner, "update_company_details", {"city": "Oslo"}) == {}
    assert await ok(owner, "get_company_details") == {"company": "Acme", "url": "acme.example", "city": "Oslo"}
    assert await error(owner, "update_company_details", {"company": "x" * 257}) == (400, "validation")
    assert await error(agent, "update_company_details", {"company": "Mine"}) == (403, "authorization")


async def test_every_webhook_action_registration_accepts_is_sent(owner_team, server):
    """Register a webhook for every action ``register_webhook`` accepts, provoke each, and receive each."""
    owner, agent, customer = owner_team
    provoked: set[str] = set()
    with WebhookReceiver() as receiver:
        for action in sorted(WEBHOOK_ACTIONS):
            await ok(owner, "register_webhook", {"action": action, "secret_key": "k", "url": receiver.url,
                                                 "owner_client_id": "all", "type": "license"})
        r = await configure(owner, "register_webhook", {"action": "agent_status_changed", "secret_key": "k",
                                                        "url": receiver.url, "owner_client_id": "all"})
        assert r.status_code == 400  # an action this server never sends is refused
        # tags and auto access (core/tags.py, core/auto_access.py); tag_thread then finds "vip" among the license's tags
        await ok(owner, "create_tag", {"name": "vip", "group_ids": [0]})
        await ok(owner, "update_tag", {"name": "vip", "group_ids": [0]})
        await ok(owner, "create_tag", {"name": "gone", "group_ids": [0]})
        await ok(owner, "delete_tag", {"name": "gone"})
        provoked |= {"tag_created", "tag_updated", "tag_deleted"}
        access = await ok(owner, "add_auto_access", {
            "description": "docs", "access": {"groups": [0]},
            "conditions": {"url": {"values": [{"value": "https://shop.example/docs", "exact_match": False}]}}})
        await ok(owner, "update_auto_access", {"id": access["id"], "description": "docs pages"})
        await ok(owner, "delete_auto_access", {"id": access["id"]})
        provoked |= {"auto_accesses_updated", "auto_access_added", "auto_access_updated", "auto_access_deleted"}

        await agent.ok("set_routing_status", {"status": "accepting_chats"})
        provoked.add("routing_status_set")
        await owner.ok("set_routing_status", {"status": "accepting_chats"})
        started = await customer.ok("start_chat", {"chat": {"thread": {"events": [
            {"type": "message", "text": "Hello"}]}}})
        provoked |= {"incoming_chat", "user_added_to_chat"}
        chat_id, thread_id = started["chat_id"], started["thread_id"]
        await customer.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "anyone?"}})
        provoked.add("incoming_event")
        await customer.ok("set_customer_session_fields", {"session_fields": [{"plan": "pro"}]})
        provoked.add("customer_session_fields_updated")
        rich = await agent.ok("send_event", {"chat_id": chat_id, "event": {
            "type": "rich_message", "template_id": "quick_replies", "elements": [{"title": "Pick", "buttons": [
                {"text": "Yes", "type": "message", "value": "yes", "postback_id": "yes"}]}]}})
        await customer.ok("send_rich_message_postback", {"chat_id": chat_id, "thread_id": thread_id,
                                                         "event_id": rich["event_id"],
                                                         "postback": {"id": "yes", "toggled": True}})
        provoked |= {"incoming_rich_message_postback", "event_updated"}  # (the button now lists the customer)
        await customer.ok("delete_event", {"chat_id": chat_id, "thread_id": thread_id, "event_id": (
            await customer.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "oops"}}))[
            "event_id"]})
        provoked.add("event_deleted")
        await agent.ok("mark_events_as_seen", {"chat_id": chat_id, "seen_up_to": "2099-01-01T00:00:00.000000Z"})
        provoked.add("events_marked_as_seen")
        for kind, ids in (("chat", {"id": chat_id}), ("thread", {"chat_id": chat_id, "thread_id": thread_id}),
                          ("event", {"chat_id": chat_id, "thread_id": thread_id, "event_id": rich["event_id"]})):
            await agent.ok(f"update_{kind}_properties", {**ids, "properties": {"ns": {"k": 1}}})
            await agent.ok(f"delete_{kind}_properties", {**ids, "properties": {"ns": ["k"]}})
            provoked |= {f"{kind}_properties_updated", f"{kind}_properties_deleted"}
        await agent.ok("tag_thread", {"chat_id": chat_id, "thread_id": thread_id, "tag": "vip"})
        await agent.ok("untag_thread", {"chat_id": chat_id, "thread_id": thread_id, "tag": "vip"})
        provoked |= {"thread_tagged", "thread_untagged"}
        await agent.ok("transfer_chat", {"id": chat_id, "target": {"type": "agent", "ids": [owner.id]}})
        provoked.add("chat_transferred")
        await owner.ok("add_user_to_chat", {"chat_id": chat_id, "user_id": agent.id, "user_type": "agent",
                                            "visibility": "all"})
        await owner.ok("remove_user_from_chat", {"chat_id": chat_id, "user_id": agent.id, "user_type": "agent"})
        provoked.add("user_removed_from_chat")
        await owner.ok("deactivate_chat", {"id": chat_id})
        provoked.add("chat_deactivated")

        zed = await new_agent(owner, server, awaiting_approval=True)
        await ok(owner, "approve_agent", {"id": zed.id})
        await ok(owner, "update_agent", {"id": zed.id, "name": "Zed 2"})
        await ok(owner, "suspend_agent", {"id": zed.id})
        await ok(owner, "unsuspend_agent", {"id": zed.id})
        await ok(owner, "delete_agent", {"id": zed.id})
        await zed.aclose()
        group = await ok(owner, "create_group", {"name": "G"})
        # (agent-api) a summary of the ended thread, and the chat moved to the new group by an agent's resume_chat
        await owner.ok("request_thread_summary", {"chat_id": chat_id, "thread_id": thread_id})
        await owner.ok("resume_chat", {"chat": {"id": chat_id, "access": {"group_ids": [group["id"]]}}})
        await owner.ok("deactivate_chat", {"id": chat_id})
        provoked |= {"thread_summary_set", "chat_access_updated"}
        await ok(owner, "update_group", {"id": group["id"], "name": "G2"})
        await ok(owner, "delete_group", {"id": group["id"]})
        bot = await ok(owner, "create_bot", {"name": "B", "owner_client_id": "all"})
        await ok(owner, "update_bot", {"id": bot["id"], "name": "B2"})
        await ok(owner, "delete_bot", {"id": bot["id"]})
        provoked |= {"agent_created", "agent_approved", "agent_updated", "agent_suspended", "agent_unsuspended",
                     "agent_deleted", "group_created", "group_updated", "group_deleted", "bot_created",
                     "bot_updated", "bot_deleted"}

        assert provoked == WEBHOOK_ACTIONS  # a newly accepted action needs its provocation here
        deadline = asyncio.get_running_loop().time() + 20
        while True:
            sent = {json.loads(body)["action"] for _, body in receiver.requests}
            if sent >= WEBHOOK_ACTIONS or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.1)
        assert WEBHOOK_ACTIONS - sent == set()
        bad = []
        for _, body in receiver.requests:
            delivered = json.loads(body)
            assert delivered["organization_id"] == owner.org and delivered["secret_key"] == "k"
            assert "secret" not in json.dumps(delivered["payload"])  # a bot's secret is never sent anywhere
            # every payload has the shape LiveChat's own SDK parses (it refuses any field it does not know)
            if delivered["action"] not in SDK_WEBHOOKS:
                continue  # (the SDK's 3.6 map lacks some documented actions, e.g. auto_accesses_updated: §10.1)
            if delivered["action"] in ("user_added_to_chat", "user_removed_from_chat"):
                # the SDK wants requester_id, which LiveChat sends only when someone made the change (PROTOCOL §10.1)
                delivered["payload"].setdefault("requester_id", None)
            try:
                parse_webhook(delivered, "3.6")
            except ValueError:
                bad.append((delivered["action"], sorted(delivered["payload"])))
        assert bad == [], bad


@pytest.fixture(scope="module")
def grace_server(tmp_path_factory, valkey_url):
    live = LiveServer(tmp_path_factory.mktemp("grace-suspend"), valkey_url, env={"WIDGET_AGENT_GRACE_SECONDS": "1"})
    yield live.start()
    live.stop()


async def test_a_suspended_agents_chat_goes_to_a_colleague(grace_server, valkey):
    """Suspending an agent in a chat strands nothing: after the grace period the chat is routed to a colleague."""
    creds = await create_license(valkey, f"owner-{secrets.token_hex(4)}@example.com", "pw")
    owner = AgentClient(grace_server.url, creds["owner"]["account_id"], creds["owner"]["personal_access_token"])
    zed = await new_agent(owner, grace_server)
    zed_socket = await zed.rtm()  # logging in makes zed accept chats
    customer = await CustomerClient(grace_server.url, creds["organization_id"]).authorize()
    sock = await customer.rtm()
    try:
        chat_id = (await customer.ok("start_chat"))["chat_id"]
        assert (await sock.push("user_added_to_chat"))["payload"]["user"]["id"] == zed.id
        await owner.ok("set_routing_status", {"status": "accepting_chats"})
        await ok(owner, "suspend_agent", {"id": zed.id})
        await asyncio.wait_for(zed_socket.closed.wait(), 5)
        assert (await sock.push("user_removed_from_chat", timeout=10))["payload"]["user_id"] == zed.id
        assert (await sock.push("user_added_to_chat", timeout=10))["payload"]["user"]["id"] == owner.id
        chat = await owner.ok("get_chat", {"chat_id": chat_id})
        assert [u["id"] for u in chat["users"] if u["type"] == "agent"] == [owner.id]
    finally:
        await sock.close()
        await zed_socket.close()
        for c in (customer, zed, owner):
            await c.aclose()
