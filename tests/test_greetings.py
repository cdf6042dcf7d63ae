"""Greetings and the welcome message. The owner saves automatic greetings with targeting rules through the
Configuration API; the loader's visit and page-view calls answer a greeting when the page meets a greeting's rules
(and push ``incoming_greeting`` to the visitor's sockets); the visitor accepts or dismisses it and the agents hear
``greeting_accepted`` / ``greeting_canceled``. When the widget opens, ``request_welcome_message`` answers the agent a
chat would likely get and pushes ``incoming_welcome_message``: the group's welcome text, the agents online and the
group's recent median first response."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets

import msgspec
import pytest

from tests.support import AgentClient, CustomerClient, configure, start_valkey
from widget_server import keys
from widget_server.bootstrap import create_license
from widget_server.core import greetings
from widget_server.core.migrations import migrate
from widget_server.protocol.config import GreetingRule, GreetingTemplate, Group, LicenseConfig
from widget_server.valkey import connect

from .test_wizard import field_error, make_owner, read_form

ORIGIN = "https://shop.example"


@pytest.fixture
def team(owner_team):
    """A license's owner (Configuration API), its agent (group 0) and a customer's client."""
    return owner_team




async def loader_call(client: CustomerClient, kind: str, url: str, token: str | None = None, **extra) -> dict:
    """The loader's visit / page view, as the snippet on ``ORIGIN`` sends it."""
    body = {"type": kind, "cfg": {"organization_id": client.org, "group": 0}, "url": url, **extra}
    if token:
        body["token"] = token
    r = await client.http.post("/v1/widget/visit", headers={"Origin": ORIGIN, "Content-Type": "text/plain"},
                               content=json.dumps(body))
    assert r.status_code == 200, r.text
    return r.json()


PRICING = {"name": "Pricing help", "text": "Questions about our plans?", "group": 0, "rules": [
    {"type": "url_current", "operator": "matches", "value": "https://shop.example/pricing*"},
    {"type": "url_current", "operator": "doesnt_contain", "value": "enterprise"},
    {"type": "visit_time_page", "operator": "greater_than", "value": "3"},
]}


# LiveChat 3.6's create_greeting as its docs show it (rules, properties, a rich message with a button)
LIVECHAT_GREETING = {
    "type": "normal", "active": True, "name": "Welcome greeting", "group": 0,
    "active_from": "2024-01-01T00:00:00Z", "active_until": "2099-12-31T23:59:59+02:00",
    "rules": [{"condition": "and", "type": "url_current", "operator": "contains", "value": "checkout"},
              {"condition": "and", "type": "visit_time_site", "operator": "greater_than", "value": "30"}],
    "properties": {"addon": "chat_widget", "is_exit_intent": "false"},
    "rich_message": {"template_id": "cards", "elements": [{
        "title": "Welcome!", "subtitle": "How can we help you today?",
        "image": {"url": "https://cdn.shop.example/welcome.png", "alternative_text": "A wave"},
        "buttons": [{"text": "Get Support", "type": "message", "value": "I need support",
                     "postback_id": "support_request"},
                    {"text": "Pricing", "type": "url", "value": "https://shop.example/pricing",
                     "postback_id": "pricing", "button_id": "kept-id", "role": "primary"}]}]},
}


# --- the rules ---------------------------------------------------------------------------------------------------------


def test_patterns_need_no_regular_expressions_and_rules_join_left_to_right():
    match = greetings.wildcard_match
    assert match("https://shop.example/pricing*", "https://shop.example/pricing?plan=pro")
    assert match("*/docs/*/install", "https://a.example/docs/v2/install")
    assert not match("*/docs/*/install", "https://a.example/docs/v2/install/more")
    assert match("*.EXAMPLE/*", "https://shop.example/x") and not match("a*b*c", "acb")
    assert match("(.*)+$", "(.*)+$") and not match("(.*)+$", "anything")  # regex syntax is literal text
    group = Group(id=0, name="General")
    page = greetings.PageContext(url="https://shop.example/cart", referrer="https://news.example/", visits=3,
                                 page_views=7, group=group, now=dt.datetime.now(dt.UTC))
    rule = GreetingRule

    def greeting(*rules: GreetingRule) -> GreetingTemplate:
        return GreetingTemplate(id=1, name="g", text="hi", rules=list(rules))

    assert greetings.matches(greeting(), page)  # no rules: every page
    assert greetings.matches(greeting(rule("returning_visitor", "true"), rule("visits_number", "2", "greater_than"),
                                      rule("referrer", "news.example", "contains"),
                                      rule("business_hours", "open")), page)
    assert not greetings.matches(greeting(rule("pages_view_number", "7", "lower_than")), page)
    # (false and …) or true: joined left to right
    assert greetings.matches(greeting(rule("url_current", "/pricing", "contains"), rule("visits_number", "1"),
                                      rule("url_current", "/cart", "contains", "or")), page)
    assert greetings.delay_of(greeting(rule("visit_time_page", "30", "greater_than"))) == 30


# --- the Configuration API ---------------------------------------------------------------------------------------------


async def test_owner_creates_reads_updates_and_deletes_greetings(team):
    owner, agent, _ = team
    created = await configure(owner, "create_greeting", {**PRICING, "agent_id": agent.id})
    assert created.status_code == 200, created.text
    gid = created.json()["id"]
    got = (await configure(owner, "get_greeting", {"id": gid})).json()
    assert got["id"] == gid and got["name"] == PRICING["name"] and got["active"] is True
    assert got["text"] == PRICING["text"] and len(got["rules"]) == 3 and got["agent_id"] == agent.id
    other = (await configure(owner, "create_greeting", {"name": "Everyone", "text": "Hello!"})).json()["id"]
    assert other != gid
    assert [g["id"] for g in (await configure(owner, "list_greetings")).json()["greetings"]] == [gid, other]

    r = await configure(owner, "update_greeting", {"id": gid, "active": False, "text": "Need a hand with plans?"})
    assert r.status_code == 200, r.text
    got = (await configure(owner, "get_greeting", {"id": gid})).json()
    assert got["active"] is False and got["text"] == "Need a hand with plans?" and len(got["rules"]) == 3

    assert (await configure(owner, "delete_greeting", {"id": gid})).status_code == 200
    r = await configure(owner, "get_greeting", {"id": gid})
    assert r.status_code == 404 and r.json()["error"]["type"] == "greeting_not_found"
    assert [g["id"] for g in (await configure(owner, "list_greetings")).json()["greetings"]] == [other]

    # a group's greetings go with it
    group = (await configure(owner, "create_group", {"name": "Sales"})).json()["id"]
    await configure(owner, "create_greeting", {"name": "Sales", "text": "Hi from sales", "group": group})
    assert (await configure(owner, "delete_group", {"id": group})).status_code == 200
    assert [g["id"] for g in (await configure(owner, "list_greetings")).json()["greetings"]] == [other]


@pytest.mark.parametrize("payload, error", [
    ({**PRICING, "rules": [{"type": "visits_number", "operator": "contains", "value": "2"}]}, "validation"),
    ({**PRICING, "rules": [{"type": "visits_number", "operator": "greater_than", "value": "two"}]}, "validation"),
    ({**PRICING, "rules": [{"type": "url_current", "operator": "greater_than", "value": "/x"}]}, "validation"),
    ({**PRICING, "rules": [{"type": "visit_time_page", "operator": "greater_than", "value": "86400"}]}, "validation"),
    ({**PRICING, "rules": [{"type": "returning_visitor", "value": "maybe"}]}, "validation"),
    ({**PRICING, "rules": [{"type": "url_regex", "value": "(a+)+$"}]}, "validation"),
    ({**PRICING, "rules": [{"type": "url_current", "value": "/x"}] * 21}, "validation"),
    ({**PRICING, "text": "x" * 501}, "validation"),
    ({**PRICING, "text": ""}, "validation"),
    ({**PRICING, "hacked": True}, "validation"),
    ({**PRICING, "group": 42}, "group_not_found"),
    ({**PRICING, "agent_id": "nobody@example.com"}, "validation"),
    # LiveChat 3.6's fields, bounded and checked
    ({**LIVECHAT_GREETING, "type": "popup"}, "validation"),
    ({**LIVECHAT_GREETING, "active_from": "tomorrow"}, "validation"),
    ({**LIVECHAT_GREETING, "active_from": "2030-01-01T00:00:00"}, "validation"),  # no offset: whose time?
    ({**LIVECHAT_GREETING, "active_from": "0001-01-01T00:00:00+01:00"}, "validation"),  # before UTC's year 1
    ({**LIVECHAT_GREETING, "active_until": "2023-01-01T00:00:00Z"}, "validation"),  # before active_from
    ({**LIVECHAT_GREETING, "properties": {"colour": "red"}}, "validation"),
    ({**LIVECHAT_GREETING, "properties": {"greeting-message_text": "x" * 1025}}, "validation"),
    ({**PRICING, "properties": {"greeting-message_text": "Something else"}}, "validation"),  # two texts
    ({"name": "Says nothing", "rules": []}, "validation"),
    ({**LIVECHAT_GREETING, "rules": [{"type": "url_current", "operator": "greater_or_equal", "value": "/x"}]},
     "validation"),
    ({**LIVECHAT_GREETING, "rules": [{"type": "visit_time_site", "operator": "lower_than", "value": "9"}]},
     "validation"),
    ({**LIVECHAT_GREETING, "rules": [{"type": "url_current", "operator": "contains", "value": "/x"},
                                     {"type": "visit_time_site", "operator": "greater_than", "value": "9",
                                      "condition": "or"}]}, "validation"),
    ({**LIVECHAT_GREETING, "rules": [{"type": "geolocation", "operator": "equals", "value": "PL"}]}, "validation"),
    ({**LIVECHAT_GREETING, "rich_message": {"template_id": "cards", "elements": []}}, "validation"),
    ({**LIVECHAT_GREETING, "rich_message": {"template_id": "carousel", "elements": [{"title": "x"}]}}, "validation"),
    ({**LIVECHAT_GREETING, "rich_message": {"template_id": "cards", "elements": [{}]}}, "validation"),
    ({**LIVECHAT_GREETING, "rich_message": {"template_id": "cards", "elements": [{"title": "x"}] * 11}},
     "validation"),
    ({**LIVECHAT_GREETING, "rich_message": {"template_id": "cards", "elements": [{"title": "x", "buttons": [
        {"text": "b", "type": "message", "value": "v", "postback_id": "p"}] * 14}]}}, "validation"),
    ({**LIVECHAT_GREETING, "rich_message": {"template_id": "cards", "elements": [{"title": "x", "buttons": [
        {"text": "b", "type": "url", "value": "javascript:alert(1)", "postback_id": "p"}]}]}}, "validation"),
    ({**LIVECHAT_GREETING, "rich_message": {"template_id": "cards", "elements": [{"title": "x", "buttons": [
        {"text": "b", "type": "webview", "value": "data:text/html,<b>hi</b>", "postback_id": "p"}]}]}}, "validation"),
    ({**LIVECHAT_GREETING, "rich_message": {"template_id": "cards", "elements": [
        {"image": {"url": "javascript:alert(1)"}}]}}, "validation"),
    ({**LIVECHAT_GREETING, "rich_message": {"template_id": "sticker", "elements": [{"title": "no image"}]}},
     "validation"),
    ({**LIVECHAT_GREETING, "rich_message": {"template_id": "cards", "elements": [{"title": "x" * 1025}]}},
     "validation"),
    ({**LIVECHAT_GREETING, "rich_message": {"template_id": "cards", "elements": [{"title": "x", "buttons": [
        {"text": "b", "type": "message", "value": "v"}]}]}}, "validation"),  # no postback_id
])
async def test_bad_greetings_get_typed_errors_and_change_nothing(team, payload, error):
    owner, _, _ = team
    r = await configure(owner, "create_greeting", payload)
    assert r.status_code in (400, 404) and r.json()["error"]["type"] == error, r.text
    assert (await configure(owner, "list_greetings")).json()["greetings"] == []


async def test_a_greeting_in_livechats_36_shape_reads_back_as_livechat_answers_it(team):
    owner, _, _ = team
    created = await configure(owner, "create_greeting", LIVECHAT_GREETING)
    assert created.status_code == 200, created.text
    gid = created.json()["id"]
    got = (await configure(owner, "get_greeting", {"id": gid})).json()
    assert got["type"] == "normal" and got["active"] is True and got["name"] == "Welcome greeting"
    assert got["group"] == 0 and got["text"] == ""
    assert got["active_from"] == "2024-01-01T00:00:00Z" and got["active_until"] == "2099-12-31T21:59:59Z"  # UTC
    assert got["rules"] == LIVECHAT_GREETING["rules"]
    assert got["properties"] == {"addon": "chat_widget", "is_exit_intent": "false"}
    [element] = got["rich_message"]["elements"]
    assert got["rich_message"]["template_id"] == "cards" and element["title"] == "Welcome!"
    made, kept = element["buttons"]
    assert made["button_id"] and made["postback_id"] == "support_request"  # a button_id is made when none is given
    assert kept["button_id"] == "kept-id" and kept["role"] == "primary"

    # update: LiveChat's text property becomes the greeting's text; buttons passed back keep their ids
    rich = got["rich_message"]
    r = await configure(owner, "update_greeting", {
        "id": gid, "type": "announcement", "properties": {"greeting-message_text": "Hello there", "addon": "x"},
        "rich_message": rich})
    assert r.status_code == 200, r.text
    got = (await configure(owner, "get_greeting", {"id": gid})).json()
    assert got["type"] == "announcement" and got["text"] == "Hello there"
    assert got["properties"] == {"addon": "x", "greeting-message_text": "Hello there"}
    assert [b["button_id"] for b in got["rich_message"]["elements"][0]["buttons"]] == [made["button_id"], "kept-id"]
    # this server's older referrer rule is LiveChat's url_referrer
    r = await configure(owner, "update_greeting", {"id": gid, "rules": [
        {"type": "referrer", "operator": "contains", "value": "news.example"}]})
    assert r.status_code == 200, r.text
    assert (await configure(owner, "get_greeting", {"id": gid})).json()["rules"] == [
        {"type": "url_referrer", "value": "news.example", "operator": "contains", "condition": "and"}]


async def test_list_greetings_pages_as_livechat_does(team):
    owner, _, _ = team
    sales = (await configure(owner, "create_group", {"name": "Sales"})).json()["id"]
    ids = [(await configure(owner, "create_greeting", {"name": f"g{i}", "text": "hi", "group": 0 if i % 2 else sales}
                            )).json()["id"] for i in range(7)]
    everything = (await configure(owner, "list_greetings")).json()
    assert [g["id"] for g in everything["greetings"]] == ids and everything["found_greetings"] == 7
    assert "next_page_id" not in everything
    assert all(g["type"] == "normal" and g["properties"] == {"greeting-message_text": "hi"}
               for g in everything["greetings"])

    # groups and limit; then each page_id alone, until none is given
    seen, page = [], (await configure(owner, "list_greetings", {"groups": [0], "limit": 2})).json()
    while True:
        assert page["found_greetings"] == 3
        seen += [g["id"] for g in page["greetings"]]
        if "next_page_id" not in page:
            break
        page = (await configure(owner, "list_greetings", {"page_id": page["next_page_id"]})).json()
    assert seen == [i for n, i in enumerate(ids) if n % 2]
    assert [g["id"] for g in (await configure(owner, "list_greetings", {"group": sales})).json()["greetings"]] == [
        i for n, i in enumerate(ids) if not n % 2]  # (this server's one-group filter from before 3.6)

    first = (await configure(owner, "list_greetings", {"limit": 1})).json()
    for payload in ({"page_id": first["next_page_id"], "limit": 5}, {"page_id": first["next_page_id"][:-3] + "AAA"},
                    {"limit": 0}, {"limit": 101}, {"groups": [-1]}, {"page": 2}):
        r = await configure(owner, "list_greetings", payload)
        assert r.status_code == 400 and r.json()["error"]["type"] == "validation", (payload, r.text)


async def test_greetings_are_the_owners_business_and_bounded_per_license(team):
    owner, agent, _ = team
    r = await configure(agent, "create_greeting", PRICING)
    assert r.status_code == 403 and r.json()["error"]["type"] == "authorization"
    for i in range(greetings.MAX_GREETINGS):
        assert (await configure(owner, "create_greeting", {"name": f"g{i}", "text": "hi"})).status_code == 200
    r = await configure(owner, "create_greeting", {"name": "one too many", "text": "hi"})
    assert r.json()["error"]["type"] == "limit_reached", r.text
    r = await configure(owner, "update_greeting", {"id": 1, "rules": [{"type": "url_current", "operator": "lower_than",
                                                                       "value": "/"}]})
    assert r.json()["error"]["type"] == "validation", r.text
    assert (await configure(owner, "get_greeting", {"id": 1})).json()["rules"] == []


# --- delivery ----------------------------------------------------------------------------------------------------------


async def test_a_greeting_is_given_on_matching_pages_and_its_agents_hear_the_answer(server, team, valkey):
    owner, agent, customer = team
    gid = (await configure(owner, "create_greeting", PRICING)).json()["id"]
    await agent.ok("set_routing_status", {"status": "accepting_chats"})
    agent_sock = await agent.rtm()
    visitor = CustomerClient(server.url, customer.org)
    try:
        home = await loader_call(visitor, "visit", f"{ORIGIN}/")
        assert home["availability"] == "online" and "greeting" not in home
        visitor.token, visitor.id = home["token"], home["customer_id"]
        sock = await visitor.rtm()

        # an app's navigation to a page that is not it, then to one that is
        assert "greeting" not in await loader_call(visitor, "page_view", f"{ORIGIN}/pricing/enterprise",
                                                   visitor.token)
        pricing = await loader_call(visitor, "page_view", f"{ORIGIN}/pricing?plan=pro", visitor.token)
        greeting = pricing["greeting"]
        assert greeting["id"] == gid and greeting["text"] == PRICING["text"] and greeting["delay"] == 3
        pushed = (await sock.push("incoming_greeting"))["payload"]
        assert pushed["id"] == gid and pushed["unique_id"] == greeting["unique_id"]
        assert pushed["event"]["text"] == PRICING["text"] and pushed["event"]["type"] == "message"
        assert set(pushed["agent"]) >= {"id", "name", "avatar"}

        # shown in this visit already: not again; a fresh page load of the same visitor names it too
        shown = f"{gid}.{int(dt.datetime.now(dt.UTC).timestamp())}"
        assert "greeting" not in await loader_call(visitor, "page_view", f"{ORIGIN}/pricing", visitor.token,
                                                   seen=shown)
        # storage the page broke stops nothing: the widget still loads
        assert "token" in await loader_call(visitor, "page_view", f"{ORIGIN}/pricing", visitor.token,
                                            seen="garbage,,1.x")

        # someone else's, a forged or a mismatched unique_id is no greeting of this customer's
        r = await customer.call("accept_greeting", {"greeting_id": gid, "unique_id": greeting["unique_id"]})
        assert r.status_code == 404 and r.json()["error"]["type"] == "greeting_not_found"
        forged = greeting["unique_id"][:-4] + ("AAAA" if not greeting["unique_id"].endswith("AAAA") else "BBBB")
        r = await visitor.call("cancel_greeting", {"unique_id": forged})
        assert r.json()["error"]["type"] == "greeting_not_found"
        r = await visitor.call("accept_greeting", {"greeting_id": gid + 1, "unique_id": greeting["unique_id"]})
        assert r.json()["error"]["type"] == "greeting_not_found"
        await agent_sock.no_push("greeting_accepted", wait=0.3)

        # accepted over the socket, like LiveChat's widget does it: the group's agent hears it
        reply = await sock.request("accept_greeting", {"greeting_id": gid, "unique_id": greeting["unique_id"]})
        assert reply["success"] is True, reply
        accepted = (await agent_sock.push("greeting_accepted"))["payload"]
        assert accepted == {"unique_id": greeting["unique_id"], "customer_id": visitor.id}
        statistics = (await agent.ok("get_customer", {"id": visitor.id}))["statistics"]
        assert statistics["greetings_accepted_count"] == 1
        # a visitor who never chats is still forgotten in time: the count lives in their expiring record
        assert await valkey.ttl(keys.customer(visitor.id)) > 0

        # a greeting the visitor dismisses (Web API, as the host page's bubble does)
        again = await loader_call(visitor, "page_view", f"{ORIGIN}/pricing", visitor.token)
        await visitor.ok("cancel_greeting", {"unique_id": again["greeting"]["unique_id"]})
        canceled = (await agent_sock.push("greeting_canceled"))["payload"]
        assert canceled == {"unique_id": again["greeting"]["unique_id"], "customer_id": visitor.id}
        await sock.close()
    finally:
        await agent_sock.close()
        await visitor.aclose()


async def test_a_rich_greeting_reaches_the_page_and_the_sockets_within_its_active_window(server, team):
    owner, agent, customer = team
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    r = await configure(owner, "create_greeting", {**LIVECHAT_GREETING, "name": "Not yet", "active_from": later,
                                                   "active_until": None, "rules": []})
    assert r.status_code == 200, r.text
    gid = (await configure(owner, "create_greeting", LIVECHAT_GREETING)).json()["id"]
    await agent.ok("set_routing_status", {"status": "accepting_chats"})
    visitor = CustomerClient(server.url, customer.org)
    try:
        home = await loader_call(visitor, "visit", f"{ORIGIN}/")
        assert "greeting" not in home  # the greeting of every page is not active until tomorrow
        visitor.token, visitor.id = home["token"], home["customer_id"]
        sock = await visitor.rtm()
        answer = (await loader_call(visitor, "page_view", f"{ORIGIN}/checkout", visitor.token))["greeting"]
        assert answer["id"] == gid and answer["text"] == ""
        assert 25 <= answer["delay"] <= 30  # what is left of the 30 s on the site the rule asks for
        assert answer["rich_message"]["elements"][0]["buttons"][1]["value"] == "https://shop.example/pricing"
        pushed = (await sock.push("incoming_greeting"))["payload"]
        assert pushed["id"] == gid and pushed["unique_id"] == answer["unique_id"]
        event = pushed["event"]
        assert event["type"] == "rich_message" and event["template_id"] == "cards"
        assert event["elements"] == answer["rich_message"]["elements"]
        await sock.close()
    finally:
        await visitor.aclose()


async def test_the_migration_gives_stored_referrer_rules_livechats_name():
    server = start_valkey()  # a store of its own, made to look like an older release's
    valkey = connect(server.connection_url)
    try:
        org = (await create_license(valkey, f"mig-{secrets.token_hex(4)}@example.com", "pw"))["organization_id"]
        old = {"greetings": [{"id": 1, "name": "From news", "text": "Hi, reader", "rules": [
            {"type": "referrer", "value": "news.example", "operator": "contains"},
            {"type": "url_current", "value": "/blog", "operator": "contains", "condition": "or"}]},
            {"id": 2, "name": "Plain", "text": "Hello"}], "language": "de"}
        await valkey.set(keys.license_config(org), json.dumps(old))
        await valkey.set(keys.SCHEMA_VERSION, 2)
        assert await migrate(valkey, 3600) == ["greeting_rules_in_36_names"]
        config = msgspec.json.decode(await valkey.get(keys.license_config(org)), type=LicenseConfig)
        assert [r.type for r in config.greetings[0].rules] == ["url_referrer", "url_current"]
        assert config.greetings[0].rules[1].condition == "or" and config.language == "de"  # the rest as it was
        page = greetings.PageContext(url="https://shop.example/", referrer="https://news.example/a", visits=1,
                                     page_views=1, group=config.groups[0], now=dt.datetime.now(dt.UTC))
        assert greetings.pick(config.greetings, page, set()).id == 1  # and it still matches
        assert await migrate(valkey, 3600) == []
    finally:
        await valkey.aclose()
        server.stop()


# --- the welcome message -----------------------------------------------------------------------------------------------


async def test_the_welcome_message_names_the_agents_online_and_the_groups_typical_reply(server, team, valkey):
    owner, agent, customer = team
    org = owner.org  # type: ignore[attr-defined]
    r = await configure(owner, "update_group", {"id": 0, "welcome_message": "Welcome to the shop! Ask us anything."})
    assert r.status_code == 200, r.text
    await configure(owner, "update_agent", {"id": agent.id, "name": "Ann", "avatar_path": "https://cdn.example/a.png"})
    await agent.ok("set_routing_status", {"status": "accepting_chats"})

    # two chats answered: each thread's first agent message is one first response; later messages add nothing
    for _ in range(2):
        other = await CustomerClient(server.url, org).authorize()
        chat_id = (await other.ok("start_chat", {"chat": {"thread": {"events": [
            {"type": "message", "text": "hello?"}]}}}))["chat_id"]
        for text in ("Hi, Ann here", "How can I help?"):
            await agent.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": text}})
        await other.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "thanks"}})
        await agent.ok("deactivate_chat", {"id": chat_id})
        await other.aclose()
    kept = [int(x) for x in await valkey.lrange(keys.first_responses(org, 0), 0, -1)]
    assert len(kept) == 2 and all(x >= 0 for x in kept)

    sock = await customer.rtm()
    try:
        reply = await sock.request("request_welcome_message", {"group_id": 0})
        assert reply["success"] is True, reply
        answer = reply["payload"]
        assert answer["queue"] is False and answer["predicted_agent"]["id"] == agent.id
        assert answer["predicted_agent"]["name"] == "Ann"
        welcome = (await sock.push("incoming_welcome_message"))["payload"]
        assert welcome["id"] == answer["id"]
        assert welcome["event"]["text"] == "Welcome to the shop! Ask us anything."
        assert welcome["event"]["type"] == "message" and welcome["event"]["author_id"] == agent.id
        assert welcome["agents"] == [{"id": agent.id, "name": "Ann", "avatar": "https://cdn.example/a.png"}]
        assert welcome["typical_reply_seconds"] == min(kept)

        # nobody accepting chats: the default text, no agents, no predicted agent
        await agent.ok("set_routing_status", {"status": "not_accepting_chats"})
        reply = await sock.request("request_welcome_message", {"id": "w1"})
        assert reply["payload"] == {"id": "w1", "queue": False}
        welcome = (await sock.push("incoming_welcome_message"))["payload"]
        assert welcome["id"] == "w1" and welcome["agents"] == [] and welcome["event"]["text"]
        assert welcome["typical_reply_seconds"] == min(kept)  # the group's history stays
        r = await customer.call("request_welcome_message", {"group_id": 9})
        assert r.json()["error"]["type"] == "group_not_found"
    finally:
        await sock.close()


def test_the_median_is_the_lower_middle():
    assert greetings.median([]) is None and greetings.median([5]) == 5
    assert greetings.median([30, 10, 20]) == 20 and greetings.median([40, 10, 30, 20]) == 20


# --- the wizard --------------------------------------------------------------------------------------------------------


async def test_owner_makes_a_greeting_and_a_welcome_message_in_the_wizard(valkey, server):
    owner = await make_owner(valkey, server.url)
    api = AgentClient(server.url, owner.email, owner.token)
    try:
        assert (await owner.sign_in()).status_code == 303
        page = await owner.http.get("/wizard/greetings")
        assert page.status_code == 200 and "No greetings yet." in page.text
        values = read_form(page.text, "greeting")
        assert values["url_operator"] == "any" and values["active"] == "on"

        bad = {**values, "name": "", "url_operator": "contains", "url_value": "", "time_on_page": "forever",
               "group": "9"}
        r = await owner.http.post("/wizard/greetings", data=bad)
        assert r.status_code == 400
        assert field_error(r.text, "name") and field_error(r.text, "url_value")
        assert "seconds" in field_error(r.text, "time_on_page") and field_error(r.text, "group")
        assert read_form(r.text, "greeting")["time_on_page"] == "forever"  # what was typed stays
        assert (await configure(api, "list_greetings")).json()["greetings"] == []

        good = {**values, "name": "Docs", "text": "Stuck on the docs?", "url_operator": "matches",
                "url_value": "https://shop.example/docs/*", "time_on_page": "20", "min_visits": "2",
                "visitor": "returning", "hours": "open"}
        r = await owner.http.post("/wizard/greetings", data=good)
        assert r.status_code == 303 and r.headers["location"] == "/wizard/greetings?saved=greeting"
        [saved] = (await configure(api, "list_greetings")).json()["greetings"]
        assert saved["name"] == "Docs" and saved["text"] == "Stuck on the docs?" and saved["active"] is True
        assert [(x["type"], x["operator"], x["value"]) for x in saved["rules"]] == [
            ("url_current", "matches", "https://shop.example/docs/*"), ("visit_time_page", "greater_than", "20"),
            ("visits_number", "greater_than", "1"), ("returning_visitor", "equals", "true"),
            ("business_hours", "equals", "open")]
        listed = (await owner.http.get("/wizard/greetings")).text
        assert "Docs" in listed and "after 20 s on the page" in listed

        r = await owner.http.post("/wizard/welcome", data={"csrf": values["csrf"], "group_id": "0",
                                                           "welcome_message": "Hi! We answer in minutes."})
        assert r.status_code == 303
        group = (await configure(api, "get_group", {"id": 0})).json()
        assert group["welcome_message"] == "Hi! We answer in minutes."
        assert "Hi! We answer in minutes." in (await owner.http.get("/wizard/greetings")).text

        r = await owner.http.post("/wizard/greetings/delete", data={"csrf": values["csrf"], "id": str(saved["id"])})
        assert r.status_code == 303
        assert (await configure(api, "list_greetings")).json()["greetings"] == []
        r = await owner.http.post("/wizard/greetings/delete", data={"csrf": values["csrf"], "id": "77"})
        assert r.status_code == 404
        r = await owner.http.post("/wizard/greetings", data={**good, "csrf": "forged"})
        assert r.status_code == 403
    finally:
        await api.aclose()
        await owner.aclose()


async def test_the_wizard_lists_greetings_made_with_livechats_36_rules(valkey, server):
    owner = await make_owner(valkey, server.url)
    api = AgentClient(server.url, owner.email, owner.token)
    try:
        assert (await owner.sign_in()).status_code == 303
        r = await configure(api, "create_greeting", {**LIVECHAT_GREETING, "rules": [
            {"type": "url_referrer", "operator": "contains", "value": "news.example"},
            {"type": "pages_view_number", "operator": "greater_or_equal", "value": "3"},
            {"type": "visit_time_site", "operator": "greater_or_equal", "value": "30"}]})
        assert r.status_code == 200, r.text
        page = await owner.http.get("/wizard/greetings")
        assert page.status_code == 200 and "Welcome greeting" in page.text
        assert "page views ≥ 3" in page.text and "after 30 s on the site" in page.text
    finally:
        await api.aclose()
        await owner.aclose()


async def test_greetings_created_at_once_all_stay_with_their_own_ids(team):
    owner, _, _ = team
    created = await asyncio.gather(*(configure(owner, "create_greeting", {"name": f"g{i}", "text": f"hi {i}"})
                                     for i in range(12)))
    ids = [r.json()["id"] for r in created]
    assert len(set(ids)) == 12
    listed = (await configure(owner, "list_greetings")).json()["greetings"]
    assert sorted(g["id"] for g in listed) == sorted(ids)
    assert sorted(g["text"] for g in listed) == sorted(f"hi {i}" for i in range(12))


async def test_a_heartbeat_brings_a_greeting_once_the_group_comes_online(server, team):
    owner, agent, customer = team
    gid = (await configure(owner, "create_greeting", {"name": "Everyone", "text": "Hello there!"})).json()["id"]
    visitor = CustomerClient(server.url, customer.org)
    try:
        home = await loader_call(visitor, "visit", f"{ORIGIN}/")
        assert home["availability"] == "offline" and "greeting" not in home  # nobody to greet them
        visitor.token, visitor.id = home["token"], home["customer_id"]
        sock = await visitor.rtm()
        await agent.ok("set_routing_status", {"status": "accepting_chats"})
        answer: dict = {}
        for _ in range(100):  # (each worker keeps a group's availability for a moment)
            answer = await loader_call(visitor, "heartbeat", f"{ORIGIN}/", visitor.token)
            if "greeting" in answer:
                break
            await asyncio.sleep(0.1)
        assert answer["greeting"]["id"] == gid and answer["greeting"]["text"] == "Hello there!"
        # the heartbeat's answer carries it to the page; sockets heard of no new greeting
        await sock.no_push("incoming_greeting", wait=0.3)
        await sock.close()
    finally:
        await visitor.aclose()
