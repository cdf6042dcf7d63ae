"""Configuration API v3.6, part 1, through the real server: tags, customer bans, properties and auto access, the
pushes an agent's RTM socket hears and the webhooks a license registered for them; then the same methods through
LiveChat's official Python SDK (``ConfigurationApiV36``) over TLS."""

from __future__ import annotations

import json

from tests.support import CustomerClient, WebhookReceiver, configure
from widget_server import keys


def error_of(r) -> str:
    return r.json()["error"]["type"]


async def ok(owner, action: str, payload: dict | None = None):
    r = await configure(owner, action, payload)
    assert r.status_code == 200, (action, r.status_code, r.text)
    return r.json()


async def page_view(visitor: CustomerClient, url: str):
    """The loader's page view (what the tracker knows of a visit: its pages, address and location)."""
    return await visitor.http.post("/v1/track", params={"organization_id": visitor.org},
                                   json={"type": "page_view", "url": url, "token": visitor.token})


async def accepting(agent) -> None:
    await agent.ok("set_routing_status", {"status": "accepting_chats", "agent_id": agent.id})


# --- tags ------------------------------------------------------------------------------------------------------------

async def test_owner_manages_tags_agents_hear_of_them_and_tag_thread_takes_only_known_tags_of_the_chats_group(
        owner_team):
    owner, agent, customer = owner_team
    sales = (await ok(owner, "create_group", {"name": "Sales"}))["id"]
    agent_rtm = await agent.rtm()
    with WebhookReceiver() as receiver:
        for action in ("tag_created", "tag_updated", "tag_deleted"):
            await ok(owner, "register_webhook", {"action": action, "secret_key": "s", "url": receiver.url})
        try:
            assert await ok(owner, "create_tag", {"name": "refund", "group_ids": [0]}) == {}
            created = (await agent_rtm.push("tag_created"))["payload"]
            assert {k: created[k] for k in ("name", "group_ids", "author_id")} == {
                "name": "refund", "group_ids": [0], "author_id": owner.id}
            assert created["created_at"].endswith("Z")
            await ok(owner, "create_tag", {"name": "pricing", "group_ids": [sales]})
            await ok(owner, "create_tag", {"name": "later"})  # no groups yet: LiveChat allows it

            # LiveChat's rules: a name is unique whatever its case; groups must exist; update/delete match exactly
            assert error_of(await configure(owner, "create_tag", {"name": "REFUND"})) == "already_exists"
            assert error_of(await configure(owner, "create_tag", {"name": "x", "group_ids": [77]})) == "group_not_found"
            assert error_of(await configure(owner, "update_tag", {"name": "Refund", "group_ids": [0]})) == "not_found"
            assert error_of(await configure(owner, "delete_tag", {"name": "nope"})) == "not_found"
            assert error_of(await configure(owner, "create_tag", {"name": ""})) == "validation"
            assert error_of(await configure(owner, "create_tag", {"name": "y" * 65})) == "validation"
            # an agent is not an administrator
            assert (await configure(agent, "create_tag", {"name": "mine"})).status_code == 403

            listed = await ok(owner, "list_tags")
            assert [(t["name"], t["group_ids"]) for t in listed] == [("refund", [0]), ("pricing", [sales]),
                                                                      ("later", [])]
            by_group = await ok(owner, "list_tags", {"filters": {"group_ids": [sales]}})
            assert [t["name"] for t in by_group] == ["pricing"]

            await ok(owner, "update_tag", {"name": "later", "group_ids": [0, sales]})
            assert (await agent_rtm.push("tag_updated"))["payload"] == {"name": "later", "group_ids": [0, sales]}

            # a chat of group 0: only tags of group 0 mark its thread
            await accepting(agent)
            started = await customer.ok("start_chat", {"chat": {"thread": {"events": [
                {"type": "message", "text": "I want my money back"}]}}})
            chat_id, thread_id = started["chat_id"], started["thread_id"]
            ids = {"chat_id": chat_id, "thread_id": thread_id}
            await agent.ok("tag_thread", {**ids, "tag": "refund"})
            await agent.ok("tag_thread", {**ids, "tag": "later"})
            for tag in ("pricing", "unknown", "Refund"):  # another group's tag, no such tag, not the exact name
                r = await agent.call("tag_thread", {**ids, "tag": tag})
                assert r.status_code == 400 and error_of(r) == "validation", (tag, r.text)

            await ok(owner, "delete_tag", {"name": "refund"})
            assert (await agent_rtm.push("tag_deleted"))["payload"] == {"name": "refund"}
            assert [t["name"] for t in await ok(owner, "list_tags")] == ["pricing", "later"]
            assert (await agent.call("tag_thread", {**ids, "tag": "refund"})).status_code == 400
            # the thread keeps a tag deleted since, and it still comes off
            thread = (await agent.ok("get_chat", {"chat_id": chat_id}))["thread"]
            assert thread["tags"] == ["refund", "later"]
            await agent.ok("untag_thread", {**ids, "tag": "refund"})
            assert (await agent.ok("get_chat", {"chat_id": chat_id}))["thread"]["tags"] == ["later"]

            hooks = await receiver.wait_for(5)
            delivered = [json.loads(body) for _, body in hooks]
            assert sorted(d["action"] for d in delivered) == sorted(
                ["tag_created"] * 3 + ["tag_updated", "tag_deleted"])
            assert {"name": "refund"} in [d["payload"] for d in delivered if d["action"] == "tag_deleted"]
        finally:
            await agent_rtm.close()


# --- customer bans ---------------------------------------------------------------------------------------------------

async def test_bans_agents_make_are_listed_for_the_owner_and_lifted_by_customer_id_or_by_address(
        server, owner_team, valkey):
    owner, agent, customer = owner_team
    other = await CustomerClient(server.url, owner.org).authorize()
    try:
        for visitor in (customer, other):  # a page view: the tracker knows each visit's address
            assert (await page_view(visitor, "https://shop.example/")).status_code == 200
        await agent.ok("ban_customer", {"id": customer.id, "ban": {"days": 1}})
        await agent.ok("ban_customer", {"id": other.id, "ban": {"days": 0}})  # without end
        assert (await customer.call("list_chats")).status_code == 403
        assert await valkey.ttl(keys.customer(other.id)) == -1  # a ban keeps the record

        bans = await ok(owner, "list_customer_bans")
        assert [b["customer_id"] for b in bans] == [customer.id, other.id]
        timed, forever = bans
        assert timed["agent_id"] == agent.id and timed["created_at"].endswith("Z") and "expires_at" in timed
        assert "expires_at" not in forever
        assert (await configure(agent, "list_customer_bans")).status_code == 403  # administrators only

        for bad in ({}, {"ip": "10.0.0.1", "customer_id": customer.id}):
            assert error_of(await configure(owner, "unban_customer", bad)) == "validation"
        assert error_of(await configure(owner, "unban_customer", {"customer_id": "nobody"})) == "not_found"

        assert await ok(owner, "unban_customer", {"customer_id": customer.id}) == {}
        assert (await customer.call("list_chats")).status_code == 200
        assert (await page_view(customer, "https://shop.example/")).status_code == 200  # the tracker's ban is gone too
        assert [b["customer_id"] for b in await ok(owner, "list_customer_bans")] == [other.id]

        # by the address of the banned visit (LiveChat's other form): both visitors came from this test's address
        assert forever["ip"]
        await ok(owner, "unban_customer", {"ip": forever["ip"]})
        assert await ok(owner, "list_customer_bans") == []
        assert (await other.call("list_chats")).status_code == 200
        assert 0 < await valkey.ttl(keys.customer(other.id))  # a browsing visitor's record expires again
    finally:
        await other.aclose()
