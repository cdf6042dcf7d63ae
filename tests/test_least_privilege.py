"""Least privilege (issue 17): an agent reaches only the chats of their groups, whatever door they try (archives, a
customer's token, a customer's details); a deleted or demoted agent loses their power at once, on every socket of
every server; and a site that is not the license's cannot get a visitor's token or read their chats."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support import AgentClient, CustomerClient, LiveServer, configure
from widget_server.bootstrap import create_agent, create_license
from widget_server.protocol.config import Group, LicenseConfig

SHOP = "https://shop.example"
EVIL = "https://evil.example"


class Team:
    """A license with groups 0 and 1: its owner, ann (group 0) and cid (group 1), both normal agents."""

    def __init__(self, org: str, owner: AgentClient, ann: AgentClient, cid: AgentClient) -> None:
        self.org, self.owner, self.ann, self.cid = org, owner, ann, cid


@pytest.fixture
async def team(server, valkey) -> AsyncIterator[Team]:
    creds = await create_license(valkey, f"owner-{secrets.token_hex(4)}@example.com", "pw",
                                 LicenseConfig(groups=[Group(id=0, name="General"), Group(id=1, name="Sales")]))
    org = creds["organization_id"]
    owner = AgentClient(server.url, creds["owner"]["account_id"], creds["owner"]["personal_access_token"])
    agents = []
    for name, group in (("ann", 0), ("cid", 1)):
        email = f"{name}-{secrets.token_hex(4)}@example.com"
        made = await create_agent(valkey, org, email, name.title(), "normal", 3, [(group, "normal")])
        agents.append(AgentClient(server.url, email, made["personal_access_token"]))
    yield Team(org, owner, *agents)
    for agent in (owner, *agents):
        await agent.aclose()




async def archived_chat(server: LiveServer, org: str, text: str) -> tuple[CustomerClient, str]:
    """A customer's chat in group 0 with ``text`` in it, closed (so it is in the archives)."""
    customer = await CustomerClient(server.url, org).authorize()
    chat_id = (await customer.ok("start_chat", {"chat": {"thread": {"events": [
        {"type": "message", "text": text}]}}}))["chat_id"]
    await customer.ok("deactivate_chat", {"id": chat_id})
    return customer, chat_id


def agent_grant(org: str, entity_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"grant_type": "agent_token", "organization_id": org, "client_id": "bridge",
                            "response_type": "token"}
    if entity_id:
        body["entity_id"] = entity_id
    return body


# --- group boundaries ----------------------------------------------------------------------------------------------

async def test_an_agent_of_another_group_finds_nothing_in_the_archives(server, team):
    customer, chat_id = await archived_chat(server, team.org, "my card number is 4111")
    try:
        r = await team.cid.call("get_chat", {"chat_id": chat_id})
        assert r.status_code == 403  # the door that was already shut
        found = await team.cid.ok("list_archives", {"filters": {"query": "card number"}})
        assert found["chats"] == [] and found["found_chats"] == 0
        found = await team.cid.ok("list_archives", {"filters": {"customer_id": customer.id}})
        assert found["chats"] == []
        # the agent of the chat's group and the owner still find it
        for agent in (team.ann, team.owner):
            found = await agent.ok("list_archives", {"filters": {"query": "card number"}})
            assert [c["id"] for c in found["chats"]] == [chat_id]
    finally:
        await customer.aclose()


async def test_the_agent_token_grant_gives_only_customers_whose_chats_the_agent_may_read(server, team):
    customer, _ = await archived_chat(server, team.org, "private")
    async with httpx.AsyncClient(base_url=server.url) as http:
        try:
            refused = await http.post("/v2/customer/token", json=agent_grant(team.org, customer.id),
                                      headers={"Authorization": f"Bearer {team.cid.token}"})
            assert refused.status_code == 403 and refused.json()["oauth_exception"] == "access_denied", refused.text
            # an agent of the chat's group (and an administrator) may act as that customer
            for agent in (team.ann, team.owner):
                r = await http.post("/v2/customer/token", json=agent_grant(team.org, customer.id),
                                    headers={"Authorization": f"Bearer {agent.token}"})
                assert r.status_code == 200 and r.json()["entity_id"] == customer.id, r.text
            # a new customer of their own is anyone's to make
            r = await http.post("/v2/customer/token", json=agent_grant(team.org),
                                headers={"Authorization": f"Bearer {team.cid.token}"})
            assert r.status_code == 200 and r.json()["entity_id"] != customer.id
        finally:
            await customer.aclose()


async def test_an_agent_changes_or_bans_only_customers_of_their_groups(server, team):
    customer, _ = await archived_chat(server, team.org, "hello")
    try:
        for action, payload in (("update_customer", {"id": customer.id, "name": "Mallory was here"}),
                                ("ban_customer", {"id": customer.id, "ban": {"days": 1}})):
            r = await team.cid.call(action, payload)
            assert r.status_code == 403 and r.json()["error"]["type"] == "authorization", (action, r.text)
        assert (await customer.ok("get_customer")).get("name") != "Mallory was here"
        await customer.ok("list_chats")  # not banned
        await team.ann.ok("update_customer", {"id": customer.id, "name": "Ann's note"})
        assert (await customer.ok("get_customer"))["name"] == "Ann's note"
    finally:
        await customer.aclose()


async def test_an_agent_starts_chats_only_in_their_own_groups(server, team):
    customer = await CustomerClient(server.url, team.org).authorize()
    try:
        users = [{"id": customer.id, "type": "customer"}]
        r = await team.cid.call("start_chat", {"chat": {"users": users, "access": {"group_ids": [0]}}})
        assert r.status_code == 403 and r.json()["error"]["type"] == "authorization", r.text
        # with no group named, the chat goes to the agent's own group
        started = await team.cid.ok("start_chat", {"chat": {"users": users}})
        chat = await team.cid.ok("get_chat", {"chat_id": started["chat_id"]})
        assert chat["access"]["group_ids"] == [1]
    finally:
        await customer.aclose()


async def test_an_administrator_logs_out_only_agents_of_their_license(server, team, valkey):
    other = await create_license(valkey, f"owner-{secrets.token_hex(4)}@example.com", "pw")
    victim = AgentClient(server.url, other["agent"]["account_id"], other["agent"]["personal_access_token"])
    sock = await victim.rtm()
    try:
        r = await team.owner.call("logout", {"agent_id": victim.id})
        assert r.status_code == 400 and r.json()["error"]["type"] == "validation", r.text
        await sock.no_push("agent_disconnected")
        assert (await sock.request("list_routing_statuses"))["success"]
    finally:
        await sock.close()
        await victim.aclose()


# --- deleted and changed agents ------------------------------------------------------------------------------------

async def test_a_deleted_administrator_is_cut_off_everywhere_and_their_token_never_comes_back(server, server2, team):
    email = f"admin-{secrets.token_hex(4)}@example.com"
    made = await configure(team.owner, "create_agent", {"id": email, "name": "Admin", "role": "administrator"})
    assert made.status_code == 200, made.text
    admin = AgentClient(server.url, email, made.json()["personal_access_token"])
    here, there = await admin.rtm(), await admin.rtm(server2.url)
    try:
        assert (await there.request("list_archives"))["success"]
        assert (await configure(team.owner, "delete_agent", {"id": email})).status_code == 200
        for sock in (here, there):  # this server's socket and the other server's, through the bus
            pushed = await sock.push("agent_disconnected")
            assert pushed["payload"]["reason"] == "agent_deleted"
            await asyncio.wait_for(sock.closed.wait(), 5)
        # re-created with the same e-mail: the new token works, the old one stays dead
        again = await configure(team.owner, "create_agent", {"id": email, "name": "Admin", "role": "normal"})
        assert again.status_code == 200, again.text
        r = await admin.call("list_archives")
        assert r.status_code == 401 and r.json()["error"]["type"] == "authentication", r.text
        async with httpx.AsyncClient(base_url=server.url) as http:
            r = await http.post("/v2/customer/token", json=agent_grant(team.org),
                                headers={"Authorization": f"Bearer {admin.token}"})
            assert r.status_code == 401, r.text
        renewed = AgentClient(server.url, email, again.json()["personal_access_token"])
        assert (await renewed.ok("list_routing_statuses"))
        await renewed.aclose()
    finally:
        await here.close()
        await there.close()
        await admin.aclose()


async def test_a_demoted_administrators_open_socket_loses_the_role_at_once(server, team):
    email = f"admin-{secrets.token_hex(4)}@example.com"
    made = await configure(team.owner, "create_agent", {"id": email, "name": "Admin", "role": "administrator",
                                                        "groups": [{"id": 1}]})
    assert made.status_code == 200, made.text
    admin = AgentClient(server.url, email, made.json()["personal_access_token"])
    customer, chat_id = await archived_chat(server, team.org, "group 0 business")
    sock = await admin.rtm()
    try:
        assert (await sock.request("get_chat", {"chat_id": chat_id}))["success"]  # an administrator sees every chat
        r = await configure(team.owner, "update_agent", {"id": email, "role": "normal"})
        assert r.status_code == 200, r.text
        reply = await sock.request("get_chat", {"chat_id": chat_id})
        assert not reply["success"] and reply["payload"]["error"]["type"] == "authorization", reply
        found = await sock.request("list_archives", {"filters": {"query": "business"}})
        assert found["success"] and found["payload"]["chats"] == []
    finally:
        await sock.close()
        await admin.aclose()
        await customer.aclose()


@pytest.fixture(scope="module")
def quick_heartbeat_server(tmp_path_factory, valkey_url) -> Any:
    live = LiveServer(tmp_path_factory.mktemp("heartbeat"), valkey_url,
                      env={"WIDGET_AGENT_HEARTBEAT_SECONDS": "0.3"}).start()
    yield live
    live.stop()


async def test_an_idle_socket_of_a_removed_agent_closes_within_a_heartbeat_even_without_the_bus(
        quick_heartbeat_server, valkey):
    from widget_server import keys

    creds = await create_license(valkey, f"owner-{secrets.token_hex(4)}@example.com", "pw")
    agent = AgentClient(quick_heartbeat_server.url, creds["agent"]["account_id"],
                        creds["agent"]["personal_access_token"])
    sock = await agent.rtm()
    try:
        # the record goes with no goodbye on the bus (as if its message were lost): the socket sends nothing more
        await valkey.hdel(keys.agents(creds["organization_id"]), agent.id)
        pushed = await sock.push("agent_disconnected", timeout=10)
        assert pushed["payload"]["reason"] == "access_token_revoked"
        await asyncio.wait_for(sock.closed.wait(), 5)
    finally:
        await sock.close()
        await agent.aclose()


# --- other sites ---------------------------------------------------------------------------------------------------

async def cookie_grant(http: httpx.AsyncClient, org: str, origin: str | None, cookies: dict[str, str],
                       redirect_uri: str | None = None) -> httpx.Response:
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    if origin:
        headers["Origin"] = origin
    body = {"grant_type": "cookie", "client_id": "c", "response_type": "token", "organization_id": org}
    if redirect_uri:
        body["redirect_uri"] = redirect_uri
    return await http.post("/v2/customer/token", json=body, headers=headers)


async def test_another_site_gets_no_token_for_the_visitors_identity_and_cannot_read_their_chats(server, org):
    async with httpx.AsyncClient(base_url=server.url) as http:
        # the visitor on the license's site: a token, the identity cookies, a chat
        first = await cookie_grant(http, org, SHOP, {})
        assert first.status_code == 200, first.text
        jar = {c.name: c.value for c in http.cookies.jar}
        assert set(jar) == {"__lc_cid", "__lc_cst"}
        victim = CustomerClient(server.url, org)
        victim.token, victim.id = first.json()["access_token"], first.json()["entity_id"]
        chat_id = (await victim.ok("start_chat", {"chat": {"thread": {"events": [
            {"type": "message", "text": "my address is 1 Main St"}]}}}))["chat_id"]
        again = await cookie_grant(http, org, SHOP, jar)
        assert again.json()["entity_id"] == victim.id  # the same site keeps its visitor

        # another site's script, with the visitor's cookies (a browser sends them): another customer altogether
        stolen = await cookie_grant(http, org, EVIL, jar)
        assert stolen.status_code == 200, stolen.text
        assert stolen.json()["entity_id"] != victim.id
        thief = CustomerClient(server.url, org)
        thief.token = stolen.json()["access_token"]
        assert (await thief.ok("list_chats"))["chats_summary"] == []
        r = await thief.call("get_chat", {"chat_id": chat_id})
        assert r.status_code == 403, r.text

        # the widget's loader on that site: the same refusal, even with the visitor's stored identity (cst)
        cfg = {"organization_id": org, "group": 0}
        visit = await http.post("/v1/widget/visit", json={"type": "visit", "url": f"{SHOP}/", "cfg": cfg},
                                headers={"Origin": SHOP})
        assert visit.json()["customer_id"] == victim.id
        cst = visit.json()["cst"]
        evil_visit = await http.post("/v1/widget/visit", json={"type": "visit", "url": f"{EVIL}/", "cst": cst,
                                                                "cfg": cfg}, headers={"Origin": EVIL})
        assert evil_visit.status_code == 200 and evil_visit.json()["customer_id"] != victim.id

        # our chat frame on the shop's page renews the shop visitor's token (it names the page it is on) ...
        frame = await cookie_grant(http, org, server.url, jar, redirect_uri=SHOP)
        assert frame.json()["entity_id"] == victim.id
        # ... and only the shop may frame a frame made for the shop
        page = await http.get("/widget/frame", params={"organization_id": org, "group_id": 0, "origin": SHOP})
        assert f"frame-ancestors {SHOP};" in page.headers["content-security-policy"]
        # ... while another site naming the shop is still another site
        r = await cookie_grant(http, org, EVIL, jar, redirect_uri=SHOP)
        assert r.json()["entity_id"] != victim.id
        await victim.aclose()
        await thief.aclose()


async def test_a_license_that_lists_its_sites_keeps_one_visitor_across_them_and_refuses_others(server, valkey):
    from .conftest import new_license

    org = await new_license(valkey, LicenseConfig(allowed_origins=[SHOP, "https://blog.example"]))
    async with httpx.AsyncClient(base_url=server.url) as http:
        first = await cookie_grant(http, org, SHOP, {})
        jar = {c.name: c.value for c in http.cookies.jar}
        blog = await cookie_grant(http, org, "https://blog.example", jar)
        assert blog.json()["entity_id"] == first.json()["entity_id"]
        refused = await cookie_grant(http, org, EVIL, jar)
        assert refused.status_code == 403 and refused.json()["oauth_exception"] == "access_denied"


@pytest.fixture(scope="module")
def slow_grants_server(tmp_path_factory, valkey_url) -> Any:
    # (behind a trusted proxy, so that each test address is a client of its own: counts live in the shared Valkey)
    live = LiveServer(tmp_path_factory.mktemp("grants"), valkey_url,
                      env={"WIDGET_TOKEN_GRANTS_PER_MINUTE": "5", "WIDGET_TRUSTED_PROXY_HEADERS": "1"}).start()
    yield live
    live.stop()


async def test_token_grants_are_limited_per_address(slow_grants_server, valkey):
    from .conftest import new_license

    org = await new_license(valkey)
    address, neighbour = (f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}" for _ in range(2))
    async with httpx.AsyncClient(base_url=slow_grants_server.url) as http:
        body = {"grant_type": "cookie", "organization_id": org}
        answers = [await http.post("/v2/customer/token", json=body, headers={"X-Forwarded-For": address})
                   for _ in range(6)]
        assert [r.status_code for r in answers] == [200] * 5 + [429]
        refused = answers[-1]
        assert refused.json()["error"]["type"] == "too_many_requests"
        assert int(refused.headers["retry-after"]) > 0
        # another address is not held to this one's count, nor is the rest of the API to the grants' pace
        r = await http.post("/v2/customer/token", json=body, headers={"X-Forwarded-For": neighbour})
        assert r.status_code == 200, r.text
        r = await http.get("/v3.6/customer/action/get_dynamic_configuration", params={"organization_id": org},
                           headers={"X-Forwarded-For": address})
        assert r.status_code == 200, r.text
