"""Configuration API v3.6, part 1, through the real server: tags, customer bans, properties and auto access, the
pushes an agent's RTM socket hears and the webhooks a license registered for them; then the same methods through
LiveChat's official Python SDK (``ConfigurationApiV36``) over TLS."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import pytest

from tests.support import AgentClient, CustomerClient, LiveServer, WebhookReceiver, configure
from widget_server import keys
from widget_server.bootstrap import create_license


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
            # an agent lists the tags of their groups (LiveChat's tags--groups:ro), to offer them for tag_thread
            assert [t["name"] for t in await ok(agent, "list_tags")] == ["refund", "later"]
            of_sales = await ok(agent, "list_tags", {"filters": {"group_ids": [sales]}})
            assert [(t["name"], t["group_ids"]) for t in of_sales] == [("later", [0, sales])]  # not "pricing"

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


# --- properties ------------------------------------------------------------------------------------------------------

MOOD = {"name": "mood", "owner_client_id": "crm", "type": "string", "domain": ["happy", "sad"],
        "access": {"chat": {"agent": ["read", "write"], "customer": ["read"]}}}
SCORE = {"name": "score", "owner_client_id": "crm", "type": "int", "range": {"from": 1, "to": 5},
         "access": {"thread": {"agent": ["read", "write"], "customer": ["read", "write"]}}}
PLAN = {"name": "plan", "owner_client_id": "crm", "type": "string", "default_value": "free",
        "access": {"license": {"agent": ["read", "write"]}}}
TIER = {"name": "tier", "owner_client_id": "crm", "type": "int", "default_value": 1,
        "access": {"group": {"agent": ["read", "write"]}}}


async def test_registered_properties_check_what_is_written_and_license_and_group_values_reach_agents(owner_team):
    owner, agent, customer = owner_team
    agent_rtm = await agent.rtm()
    try:
        for definition in (MOOD, SCORE, PLAN, TIER):
            assert await ok(owner, "register_property", definition) == {}
        assert error_of(await configure(owner, "register_property", MOOD)) == "already_exists"
        for bad in ({**MOOD, "name": "m2", "default_value": "happy"},  # a default only for license/group properties
                    {**MOOD, "name": "m3", "range": {"from": 1}},  # a range only for an int
                    {**SCORE, "name": "s2", "domain": [1, 2]},  # domain and range together
                    {**SCORE, "name": "s3", "range": None, "domain": [1, "two"]},  # a domain of another type
                    {**PLAN, "name": "p2", "default_value": 7},  # a default of another type
                    {**MOOD, "name": "m4", "type": "float"},
                    {**MOOD, "name": "m5", "access": {"chat": {}}},
                    {**MOOD, "name": "m6", "access": {}}):
            r = await configure(owner, "register_property", {k: v for k, v in bad.items() if v is not None})
            assert error_of(r) == "validation", (bad, r.text)
        assert (await configure(agent, "register_property", {**MOOD, "name": "m7"})).status_code == 403

        listed = await ok(owner, "list_properties", {"owner_client_id": "crm"})
        assert set(listed) == {"mood", "score", "plan", "tier"}
        assert listed["mood"] == {"type": "string", "description": "", "domain": ["happy", "sad"],
                                  "access": {"chat": {"agent": ["read", "write"], "customer": ["read"]}}}
        assert listed["score"]["range"] == {"from": 1, "to": 5}
        assert await ok(owner, "list_properties", {"owner_client_id": "someone-else"}) == {}

        await ok(owner, "publish_property", {"name": "mood", "owner_client_id": "crm", "access_type": ["read"]})
        assert (await ok(owner, "list_properties", {"owner_client_id": "crm"}))["mood"]["public_access"] == ["read"]
        r = await configure(owner, "unregister_property", {"name": "mood", "owner_client_id": "crm"})
        assert error_of(r) == "validation"  # published properties stay
        r = await configure(owner, "unregister_property", {"name": "nope", "owner_client_id": "crm"})
        assert error_of(r) == "not_found"
        await ok(owner, "register_property", {**SCORE, "name": "gone"})
        await ok(owner, "unregister_property", {"name": "gone", "owner_client_id": "crm"})
        assert "gone" not in await ok(owner, "list_properties", {"owner_client_id": "crm"})

        # license values: checked, pushed to agents, listed with the defaults of what is not set, deleted
        assert error_of(await configure(owner, "update_license_properties", {"properties": {"crm": {"plan": 5}}})) \
            == "validation"
        assert error_of(await configure(owner, "update_license_properties", {"properties": {"crm": {"tier": 2}}})) \
            == "validation"  # a group property is no license property
        assert await ok(owner, "list_license_properties", {"namespace": "crm"}) == {"crm": {"plan": "free"}}
        await ok(owner, "update_license_properties", {"properties": {"crm": {"plan": "pro"}, "free": {"x": [1]}}})
        pushed = await agent_rtm.push("license_properties_updated")
        assert pushed["payload"] == {"properties": {"crm": {"plan": "pro"}, "free": {"x": [1]}}}
        assert await ok(owner, "list_license_properties", {"namespace": "crm"}) == {"crm": {"plan": "pro"}}
        await ok(owner, "delete_license_properties", {"properties": {"crm": ["plan"], "free": ["x"]}})
        after = await ok(owner, "list_license_properties")
        assert after["crm"] == {"plan": "free"} and "free" not in after

        # group values
        sales = (await ok(owner, "create_group", {"name": "Sales"}))["id"]
        await ok(owner, "update_group_properties", {"group_id": sales, "properties": {"crm": {"tier": 3}}})
        assert (await agent_rtm.push("group_properties_updated"))["payload"] == {
            "group_id": sales, "properties": {"crm": {"tier": 3}}}
        r = await configure(owner, "update_group_properties", {"group_id": sales, "properties": {"crm": {"tier": "3"}}})
        assert error_of(r) == "validation"
        r = await configure(owner, "update_group_properties", {"group_id": 99, "properties": {"crm": {"tier": 3}}})
        assert error_of(r) == "group_not_found"
        assert await ok(owner, "list_groups_properties", {"group_ids": [sales]}) == [
            {"id": sales, "properties": {"crm": {"tier": 3}}}]
        everyone = await ok(owner, "list_groups_properties", {"group_ids": []})
        assert everyone == [{"id": 0, "properties": {"crm": {"tier": 1}}},
                            {"id": sales, "properties": {"crm": {"tier": 3}}}]
        await ok(owner, "delete_group_properties", {"id": sales, "properties": {"crm": ["tier"]}})
        assert (await ok(owner, "list_groups_properties", {"group_ids": [sales]}))[0]["properties"] == {
            "crm": {"tier": 1}}

        # chat, thread and event values written through the chat APIs
        await accepting(agent)
        r = await customer.call("start_chat", {"chat": {"properties": {"crm": {"mood": "sad"}}}})
        assert error_of(r) == "validation"  # customers may only read it
        started = await customer.ok("start_chat", {"chat": {"thread": {"properties": {"crm": {"score": 4}}}}})
        chat_id, thread_id = started["chat_id"], started["thread_id"]
        await agent.ok("update_chat_properties", {"id": chat_id, "properties": {"crm": {"mood": "happy"}}})
        for who, action, payload in (
                (agent, "update_chat_properties", {"id": chat_id, "properties": {"crm": {"mood": "angry"}}}),
                (customer, "update_chat_properties", {"id": chat_id, "properties": {"crm": {"mood": "sad"}}}),
                (customer, "update_thread_properties", {"chat_id": chat_id, "thread_id": thread_id,
                                                        "properties": {"crm": {"score": 6}}}),
                (customer, "update_thread_properties", {"chat_id": chat_id, "thread_id": thread_id,
                                                        "properties": {"crm": {"score": True}}}),
                (agent, "update_thread_properties", {"chat_id": chat_id, "thread_id": thread_id,
                                                     "properties": {"crm": {"mood": "happy"}}})):  # not a thread one
            r = await who.call(action, payload)
            assert r.status_code == 400 and error_of(r) == "validation", (action, payload, r.text)
        await customer.ok("update_thread_properties", {"chat_id": chat_id, "thread_id": thread_id,
                                                       "properties": {"crm": {"score": 5}, "rating": {"any": "x"}}})
        # an event's own properties, sent with it
        await ok(owner, "register_property", {"name": "sentiment", "owner_client_id": "crm", "type": "bool",
                                              "access": {"event": {"agent": ["write"], "customer": ["write"]}}})
        r = await customer.call("send_event", {"chat_id": chat_id, "event": {
            "type": "message", "text": "meh", "properties": {"crm": {"sentiment": "bad"}}}})
        assert error_of(r) == "validation"
        await customer.ok("send_event", {"chat_id": chat_id, "event": {
            "type": "message", "text": "great", "properties": {"crm": {"sentiment": True}}}})
        chat = await agent.ok("get_chat", {"chat_id": chat_id})
        assert chat["properties"]["crm"] == {"mood": "happy"}
        assert chat["thread"]["properties"]["crm"] == {"score": 5}
    finally:
        await agent_rtm.close()


# --- auto access -----------------------------------------------------------------------------------------------------

def rule(groups: list[int], description: str = "", **conditions) -> dict:
    return {"access": {"groups": groups}, "conditions": conditions, "description": description}


async def test_auto_access_rules_keep_livechats_order_and_agents_hear_every_change(owner_team):
    owner, agent, _ = owner_team
    sales = (await ok(owner, "create_group", {"name": "Sales"}))["id"]
    agent_rtm = await agent.rtm()
    with WebhookReceiver() as receiver:
        for action in ("auto_accesses_updated", "auto_access_added", "auto_access_updated", "auto_access_deleted"):
            await ok(owner, "register_webhook", {"action": action, "secret_key": "s", "url": receiver.url})
        try:
            pricing = rule([sales], "pricing pages", url={"values": [{"value": "/pricing", "exact_match": False}]})
            a = (await ok(owner, "add_auto_access", pricing))["id"]
            added = (await agent_rtm.push("auto_accesses_updated"))["payload"]
            assert added == [{"id": a, "description": "pricing pages", "access": {"groups": [sales]},
                              "conditions": pricing["conditions"], "next_id": "", "status": "added"}]
            c = (await ok(owner, "add_auto_access", rule([0], geolocation={"values": [{"country_code": "DE"}]})))["id"]
            await agent_rtm.push("auto_accesses_updated")
            docs = rule([0], domain={"values": [{"value": "docs.example", "exact_match": True}]})
            b = (await ok(owner, "add_auto_access", {**docs, "next_id": c}))["id"]
            pushed = (await agent_rtm.push("auto_accesses_updated"))["payload"]
            assert [(p["id"], p["status"], p.get("next_id")) for p in pushed] == [(a, "updated", b), (b, "added", c)]

            listed = await ok(owner, "list_auto_accesses")
            assert [(r["id"], r["next_id"]) for r in listed] == [(a, b), (b, c), (c, "")]
            assert listed[1]["conditions"] == docs["conditions"] and listed[1]["description"] == ""

            # LiveChat's example: A -> B -> C with {"id": C, "next_id": B} becomes A -> C -> B
            await ok(owner, "update_auto_access", {"id": c, "next_id": b, "description": "germany"})
            pushed = (await agent_rtm.push("auto_accesses_updated"))["payload"]
            assert {p["id"]: (p.get("next_id"), p.get("description")) for p in pushed} == {
                a: (c, None), c: (b, "germany"), b: ("", None)}
            assert [r["id"] for r in await ok(owner, "list_auto_accesses")] == [a, c, b]
            await ok(owner, "update_auto_access", {"id": a, "next_id": ""})  # to the end
            assert [r["id"] for r in await ok(owner, "list_auto_accesses")] == [c, b, a]
            await agent_rtm.push("auto_accesses_updated")

            for bad in (rule([0]),  # no condition
                        rule([0], url={"values": [{"value": "x"}], "exclude_values": [{"value": "y"}]}),
                        rule([0], url={}),
                        rule([0], geolocation={"values": [{}]}),
                        rule([], url={"values": [{"value": "x"}]}),
                        {"conditions": {"url": {"values": [{"value": "x"}]}}}):
                assert error_of(await configure(owner, "add_auto_access", bad)) == "validation", bad
            assert error_of(await configure(owner, "add_auto_access", rule([99], url={"values": [{"value": "x"}]}))) \
                == "group_not_found"
            r = await configure(owner, "add_auto_access", {**pricing, "next_id": "nope"})
            assert error_of(r) == "not_found"
            assert error_of(await configure(owner, "update_auto_access", {"id": "nope", "description": "x"})) \
                == "not_found"
            assert error_of(await configure(owner, "update_auto_access", {"id": a, "next_id": a})) == "validation"
            assert error_of(await configure(owner, "delete_auto_access", {"id": "nope"})) == "not_found"
            assert (await configure(agent, "list_auto_accesses")).status_code == 403
            assert [r["id"] for r in await ok(owner, "list_auto_accesses")] == [c, b, a]  # nothing changed

            await ok(owner, "delete_auto_access", {"id": b})
            pushed = (await agent_rtm.push("auto_accesses_updated"))["payload"]
            assert {p["id"]: p["status"] for p in pushed} == {c: "updated", b: "deleted"}
            assert [p.get("next_id") for p in pushed if p["id"] == c] == [a]

            # every call's change list as one auto_accesses_updated webhook (6 calls changed something), and each
            # change on its own: 3 added, 1 + 1 + 3 + 2 + 1 updated (a moved rule, the neighbours whose next_id moved)
            delivered = [json.loads(body) for _, body in await receiver.wait_for(6 + 3 + 8 + 1)]
            by_action: dict[str, list] = {}
            for d in delivered:
                by_action.setdefault(d["action"], []).append(d["payload"])
            assert len(by_action["auto_accesses_updated"]) == 6
            assert sorted(p["id"] for p in by_action["auto_access_added"]) == sorted([a, b, c])
            assert len(by_action["auto_access_updated"]) == 8
            assert {"id": c, "description": "germany", "next_id": b} in by_action["auto_access_updated"]
            assert by_action["auto_access_deleted"] == [{"id": b}]
        finally:
            await agent_rtm.close()


async def test_a_customers_new_chat_goes_to_the_group_of_the_first_rule_their_page_matches(server, owner_team):
    owner, _, customer = owner_team
    sales = (await ok(owner, "create_group", {"name": "Sales"}))["id"]
    docs = (await ok(owner, "create_group", {"name": "Docs"}))["id"]
    created = await ok(owner, "create_agent", {"id": f"seller-{owner.org[:8]}@example.com", "name": "Seller",
                                                "groups": [{"id": sales, "priority": "normal"}]})
    seller = AgentClient(server.url, f"seller-{owner.org[:8]}@example.com", created["personal_access_token"])
    await ok(owner, "add_auto_access", rule([sales], url={"values": [{"value": "/pricing"}]}))
    await ok(owner, "add_auto_access", rule([docs], domain={"values": [{"value": "DOCS.example", "exact_match": True}]}))
    await ok(owner, "add_auto_access", rule([docs], url={"exclude_values": [{"value": "shop.example"}]}))
    seller_rtm = await seller.rtm()
    visitors = []
    try:
        await accepting(seller)
        # on a pricing page (the RTM login reports it), with the widget's own group: the rule wins
        sock = await customer.rtm(customer_page={"url": "https://shop.example/pricing?plan=pro", "title": "Pricing"})
        visitors.append(sock)
        started = await customer.ok("start_chat", {"chat": {"access": {"group_ids": [0]}, "thread": {"events": [
            {"type": "message", "text": "How much is it?"}]}}})
        incoming = (await seller_rtm.push("incoming_chat"))["payload"]["chat"]
        assert incoming["id"] == started["chat_id"] and incoming["access"]["group_ids"] == [sales]
        chat = await customer.ok("get_chat", {"chat_id": started["chat_id"]})
        assert chat["access"] == {"group_ids": [sales]}

        async def chat_groups(page: str, access: dict | None = None) -> list[int]:
            visitor = await CustomerClient(server.url, owner.org).authorize()
            visitors.append(visitor)
            assert (await page_view(visitor, page)).status_code == 200
            spec = {"chat": {"access": access}} if access else {}
            chat_id = (await visitor.ok("start_chat", spec))["chat_id"]
            return (await visitor.ok("get_chat", {"chat_id": chat_id}))["access"]["group_ids"]

        assert await chat_groups("https://docs.example/start") == [docs]  # the domain, letter case aside
        assert await chat_groups("https://blog.example/") == [docs]  # not on the shop: the exclusion rule
        assert await chat_groups("https://shop.example/cart") == [0]  # no rule: the customer's own group
        assert await chat_groups("https://shop.example/pricing", {"group_ids": [docs]}) == [docs]  # another group: kept
    finally:
        await seller_rtm.close()
        for v in visitors:
            await (v.close() if hasattr(v, "ws") else v.aclose())
        await seller.aclose()


@pytest.fixture(scope="module")
def geo_server(tmp_path_factory, valkey_url) -> Iterator[LiveServer]:
    """A server behind a trusted proxy: it takes the visitor's location from the proxy's headers (``web/client.py``)."""
    live = LiveServer(tmp_path_factory.mktemp("geo"), valkey_url, env={"WIDGET_TRUSTED_PROXY_HEADERS": "1"}).start()
    yield live
    live.stop()


async def test_auto_access_by_the_customers_location_behind_a_trusted_proxy(geo_server, valkey):
    creds = await create_license(valkey, f"owner-{secrets.token_hex(4)}@example.com", "pw")
    owner = AgentClient(geo_server.url, creds["owner"]["account_id"], creds["owner"]["personal_access_token"])
    visitors: list[CustomerClient] = []
    try:
        germany = (await ok(owner, "create_group", {"name": "Germany"}))["id"]
        bavaria = (await ok(owner, "create_group", {"name": "Bavaria"}))["id"]
        await ok(owner, "add_auto_access", rule([bavaria], geolocation={"values": [
            {"country_code": "de", "region": "Bavaria"}, {"city": "Vienna"}]}))
        await ok(owner, "add_auto_access", rule([germany], geolocation={"values": [{"country": "Germany"}]},
                                                domain={"values": [{"value": "shop.example"}]}))

        async def chat_groups(headers: dict[str, str], page: str = "https://shop.example/") -> list[int]:
            visitor = await CustomerClient(geo_server.url, creds["organization_id"]).authorize()
            visitors.append(visitor)
            r = await visitor.http.post("/v1/track", params={"organization_id": visitor.org}, headers=headers,
                                        json={"type": "page_view", "url": page, "token": visitor.token})
            assert r.status_code == 200, r.text
            chat_id = (await visitor.ok("start_chat"))["chat_id"]
            return (await visitor.ok("get_chat", {"chat_id": chat_id}))["access"]["group_ids"]

        munich = {"CF-IPCountry": "DE", "X-Country": "Germany", "X-Region": "Bavaria", "X-City": "Munich"}
        berlin = {"CF-IPCountry": "DE", "X-Country": "Germany", "X-Region": "Berlin", "X-City": "Berlin"}
        assert await chat_groups(munich) == [bavaria]  # every field of one value, letter case aside
        assert await chat_groups({"CF-IPCountry": "AT", "X-City": "Vienna"}) == [bavaria]  # or of another value
        assert await chat_groups(berlin) == [germany]
        assert await chat_groups(berlin, "https://blog.example/") == [0]  # both conditions of a rule must hold
        assert await chat_groups({"CF-IPCountry": "FR", "X-Country": "France"}) == [0]
    finally:
        for visitor in visitors:
            await visitor.aclose()
        await owner.aclose()


# --- the same methods through LiveChat's official Python SDK ----------------------------------------------------------

@pytest.fixture(scope="module")
def tls_server(tmp_path_factory, valkey_url) -> Iterator[LiveServer]:
    """The SDK speaks only https (PROTOCOL.md §10.1): a server with a self-signed certificate."""
    live = LiveServer(tmp_path_factory.mktemp("sdk-config"), valkey_url, tls_names=[]).start()
    yield live
    live.stop()


def test_every_method_of_this_part_through_the_official_sdk(tls_server, valkey_url):
    import asyncio
    import base64

    import httpx

    livechat = pytest.importorskip("livechat.configuration.base", reason="lc-sdk-python is not installed")
    from widget_server.valkey import connect

    async def new_license() -> dict:
        client = connect(valkey_url)
        try:
            return await create_license(client, f"sdk-{secrets.token_hex(4)}@example.com", "pw")
        finally:
            await client.aclose()

    creds = asyncio.run(new_license())
    owner, agent = creds["owner"], creds["agent"]
    basic = base64.b64encode(f"{owner['account_id']}:{owner['personal_access_token']}".encode()).decode()
    api = livechat.ConfigurationApi.get_client(token=f"Basic {basic}", version="3.6",
                                               base_url=f"127.0.0.1:{tls_server.port}", verify=False)

    def sdk(response: httpx.Response):
        assert response.status_code == 200, (str(response.request.url), response.status_code, response.text)
        return response.json()

    assert sdk(api.create_tag(name="vip", group_ids=[0])) == {}
    assert [t["name"] for t in sdk(api.list_tags(filters={"group_ids": [0]}))] == ["vip"]
    assert sdk(api.update_tag(name="vip", group_ids=[])) == {}
    assert sdk(api.delete_tag(name="vip")) == {}
    assert sdk(api.list_tags()) == []

    first = sdk(api.add_auto_access(access={"groups": [0]}, description="shop",
                                    conditions={"domain": {"values": [{"value": "shop.example", "exact_match": True}]}}))
    second = sdk(api.add_auto_access(access={"groups": [0]}, next_id=first["id"],
                                     conditions={"url": {"values": [{"value": "/cart"}]}}))
    assert [(r["id"], r["next_id"]) for r in sdk(api.list_auto_accesses())] == [
        (second["id"], first["id"]), (first["id"], "")]
    assert sdk(api.update_auto_access(id=first["id"], next_id=second["id"], description="first now")) == {}
    assert sdk(api.delete_auto_access(id=second["id"])) == {}
    assert [r["description"] for r in sdk(api.list_auto_accesses())] == ["first now"]

    assert sdk(api.register_property(name="level", owner_client_id="sdk", type="int", range={"from": 0, "to": 9},
                                     access={"license": {"agent": ["read", "write"]}, "group": {"agent": ["read"]}},
                                     default_value=1)) == {}
    assert sdk(api.register_property(name="note", owner_client_id="sdk", type="string",
                                     access={"chat": {"agent": ["read", "write"]}})) == {}
    assert sdk(api.publish_property(name="level", owner_client_id="sdk", access_type=["read"])) == {}
    assert sdk(api.unregister_property(name="note", owner_client_id="sdk")) == {}
    assert set(sdk(api.list_properties(owner_client_id="sdk"))) == {"level"}
    assert sdk(api.update_license_properties(properties={"sdk": {"level": 7}})) == {}
    assert sdk(api.list_license_properties(namespace="sdk")) == {"sdk": {"level": 7}}
    assert sdk(api.delete_license_properties(properties={"sdk": ["level"]})) == {}
    assert sdk(api.list_license_properties(namespace="sdk", name_prefix="lev")) == {"sdk": {"level": 1}}
    assert sdk(api.update_group_properties(group_id=0, properties={"sdk": {"level": 3}})) == {}
    assert sdk(api.list_groups_properties(group_ids=[0], namespace="sdk")) == [
        {"id": 0, "properties": {"sdk": {"level": 3}}}]
    assert sdk(api.delete_group_properties(id=0, properties={"sdk": ["level"]})) == {}
    assert sdk(api.list_groups_properties()) == [{"id": 0, "properties": {"sdk": {"level": 1}}}]

    # a ban made through the Agent API, listed and lifted through the SDK
    with httpx.Client(base_url=tls_server.url, verify=tls_server.ssl_context, timeout=10) as http:
        grant = http.post("/v2/customer/token", json={"grant_type": "cookie", "response_type": "token",
                                                      "client_id": "lc-sdk-python",
                                                      "organization_id": creds["organization_id"]}).json()
        customer_id = grant["entity_id"]
        r = http.post("/v3.6/agent/action/ban_customer", json={"id": customer_id, "ban": {"days": 2}},
                      headers={"Authorization": f"Bearer {agent['personal_access_token']}"})
        assert r.status_code == 200, r.text
    bans = sdk(api.list_customer_bans())
    assert [(b["customer_id"], b["agent_id"]) for b in bans] == [(customer_id, agent["account_id"])]
    assert sdk(api.unban_customer(customer_id=customer_id)) == {}
    assert sdk(api.list_customer_bans()) == []


async def test_license_property_writes_at_once_all_stay(owner_team):
    """update_license_properties writes by compare-and-set: writes at once (and a registration among them) all stay,
    none writes over another's."""
    import asyncio

    owner, _, _ = owner_team
    writes = [configure(owner, "update_license_properties", {"properties": {"shop": {f"p{i}": i}}}) for i in range(12)]
    writes.append(configure(owner, "register_property", {**PLAN, "default_value": None, "owner_client_id": "shop2"}))
    assert [r.status_code for r in await asyncio.gather(*writes)] == [200] * 13
    assert (await ok(owner, "list_license_properties", {"namespace": "shop"}))["shop"] == {f"p{i}": i for i in range(12)}
    assert "plan" in await ok(owner, "list_properties", {"owner_client_id": "shop2"})


async def test_what_many_calls_would_pile_into_the_configuration_is_bounded(owner_team):
    """Each request is within the JSON limits, yet registrations, rules and group values all ride in the configuration
    every page view reads: past their bound the next one is ``limit_reached`` and nothing is written."""
    owner, _, _ = owner_team
    big = ["x" * 2000 + str(i) for i in range(20)]  # ~40 KB a definition
    await ok(owner, "register_property", {"name": "big1", "owner_client_id": "crm", "type": "string", "domain": big,
                                          "access": {"chat": {"agent": ["write"]}}})
    r = await configure(owner, "register_property", {"name": "big2", "owner_client_id": "crm", "type": "string",
                                                     "domain": big, "access": {"chat": {"agent": ["write"]}}})
    assert r.status_code == 429 and error_of(r) == "limit_reached"
    assert set(await ok(owner, "list_properties", {"owner_client_id": "crm"})) == {"big1"}

    values = [{"value": "y" * 2000 + str(i)} for i in range(20)]
    await ok(owner, "add_auto_access", rule([0], url={"values": values}))
    r = await configure(owner, "add_auto_access", rule([0], url={"values": values}))
    assert error_of(r) == "limit_reached"
    assert len(await ok(owner, "list_auto_accesses")) == 1

    for gid in range(3):
        if gid:
            await ok(owner, "create_group", {"name": f"g{gid}"})
    blob = {"crm": {f"v{i}": "z" * 1000 for i in range(30)}}  # ~30 KB: within one group's bound
    await ok(owner, "update_group_properties", {"group_id": 0, "properties": blob})
    await ok(owner, "update_group_properties", {"group_id": 1, "properties": blob})
    r = await configure(owner, "update_group_properties", {"group_id": 2, "properties": blob})
    assert error_of(r) == "limit_reached"
    assert (await ok(owner, "list_groups_properties", {"group_ids": [2]}))[0]["properties"] == {}
