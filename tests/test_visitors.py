"""Agents see visitors: ``list_customers`` over thousands of tracked visitors, ``get_customer``, live subscriptions
(``subscribe_customers`` and the pushes that follow) through the real HTTP and RTM paths, the hourly chart's counters,
and the visit's location from a trusted proxy's headers."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support import AgentClient, CustomerClient, LiveServer, Socket
from widget_server.bootstrap import create_agent
from widget_server.tracking import Tracker, VisitorIndex

from .conftest import new_license

ONLINE_SECONDS = 4
"""The short-window server's online window: a visitor leaves 4 to 8 seconds after last being seen (the test's steps
about one visitor follow each other well within 4 seconds)."""
PROXY_HEADERS = {"X-Forwarded-For": "203.0.113.9, 10.0.0.2", "CF-IPCountry": "pl", "X-City": "Wroclaw",
                 "CF-Region": "Lower Silesia", "CF-Timezone": "Europe/Warsaw"}


@pytest.fixture(scope="module")
def short_server(tmp_path_factory, valkey_url) -> Iterator[LiveServer]:
    """A server whose visitors go offline within seconds, behind a (pretend) trusted proxy."""
    live = LiveServer(tmp_path_factory.mktemp("visitors"), valkey_url, env={
        "WIDGET_TRACKING_ONLINE_SECONDS": str(ONLINE_SECONDS), "WIDGET_TRUSTED_PROXY_HEADERS": "1"})
    yield live.start()
    live.stop()


async def make_agent(valkey, base_url: str, org: str, name: str = "ann") -> AgentClient:
    email = f"{name}-{secrets.token_hex(4)}@example.com"
    creds = await create_agent(valkey, org, email, name.title(), "normal")
    return AgentClient(base_url, email, creds["personal_access_token"])


@pytest.fixture
async def shop(server, valkey) -> AsyncIterator[tuple[str, AgentClient]]:
    org = await new_license(valkey)
    agent = await make_agent(valkey, server.url, org)
    yield org, agent
    await agent.aclose()


async def track(customer: CustomerClient, url: str, title: str, headers: dict[str, str] | None = None) -> dict:
    r = await customer.http.post("/v1/track", params={"organization_id": customer.org},
                                 json={"type": "page_view", "url": url, "title": title},
                                 headers={"Authorization": f"Bearer {customer.token}", **(headers or {})})
    assert r.status_code == 200, r.text
    return r.json()


async def push_about(sock: Socket, action: str, customer_id: str, timeout: float = 5.0) -> dict:
    """The next ``action`` push about ``customer_id`` (skipping those about other visitors)."""
    deadline = time.monotonic() + timeout
    while True:
        payload = (await sock.push(action, timeout=max(0.01, deadline - time.monotonic())))["payload"]
        if customer_id in (payload.get("id"), payload.get("customer_id")):
            return payload


async def all_pages(agent: AgentClient, first: dict) -> tuple[list[str], list[dict]]:
    """Customer ids of every page of a listing, following next_page_id; and the responses."""
    replies = [await agent.ok("list_customers", first)]
    while "next_page_id" in replies[-1]:
        replies.append(await agent.ok("list_customers", {"page_id": replies[-1]["next_page_id"]}))
    return [c["id"] for r in replies for c in r["customers"]], replies


# --- listing ------------------------------------------------------------------------------------------------------


async def test_list_customers_pages_and_filters_thousands_of_visitors(shop, valkey):
    org, agent = shop
    now = time.time()
    tracker = Tracker(valkey)  # the server's layout, the real clock
    earlier = Tracker(valkey, clock=lambda: now - 7200)
    gone = [str(uuid.uuid4()) for _ in range(20)]  # seen two hours ago only: offline
    back = [str(uuid.uuid4()) for _ in range(10)]  # seen two hours ago, and now again: a second visit
    await earlier.page_views(org, [(vid, "https://shop.example/old", "Old") for vid in gone + back])
    regular = [str(uuid.uuid4()) for _ in range(3000)]
    pricing = set(regular[::3])
    for i in range(0, len(regular), 1000):
        await tracker.page_views(org, [(vid, "https://shop.example/PRICING?plan=pro" if vid in pricing
                                        else "https://shop.example/home", "Shop") for vid in regular[i:i + 1000]])
    await tracker.page_views(org, [(vid, "https://shop.example/home", "Home") for vid in back])
    everyone = gone + back + regular

    # every visitor, newest first, each once, across pages
    listed, replies = await all_pages(agent, {"limit": 100})
    assert len(listed) == len(everyone) and set(listed) == set(everyone)
    assert listed[:3] == regular[-1:-4:-1]
    assert replies[0]["total_customers"] == len(everyone)
    first = replies[0]["customers"][0]
    assert first["id"] == regular[-1] and first["online"] is True and first["state"] == "browsing"
    assert first["statistics"]["page_views_count"] == 1 and first["visit"]["last_pages"][0]["title"] == "Shop"
    oldest = (await agent.ok("list_customers", {"sort_order": "asc", "limit": 5}))["customers"]
    assert [c["id"] for c in oldest] == (gone + back)[:5]

    # what tracking adds: the page a visitor is on, and online now
    listed, replies = await all_pages(agent, {"limit": 100, "filters": {"page_url_contains": "pricing"}})
    assert set(listed) == pricing and len(listed) == len(pricing)
    assert replies[-1]["total_customers"] == len(pricing)
    assert abs(replies[0]["total_customers"] - len(pricing)) <= len(pricing) * 0.3  # an estimate until the end
    listed, replies = await all_pages(agent, {"limit": 100, "filters": {"online": False}})
    assert set(listed) == set(gone) and replies[-1]["total_customers"] == len(gone)
    online = await agent.ok("list_customers", {"filters": {"online": True}, "limit": 1})
    assert online["total_customers"] == len(back + regular)

    # LiveChat's filters
    listed, _ = await all_pages(agent, {"limit": 100, "filters": {"visits_count": {"gte": 2}}})
    assert set(listed) == set(back)
    listed, _ = await all_pages(agent, {"filters": {"customer_id": {"values": [regular[7], gone[3]]}}})
    assert listed == [regular[7], gone[3]]
    excluded, _ = await all_pages(agent, {"limit": 100, "filters": {
        "online": False, "customer_id": {"exclude_values": gone[:5]}}})
    assert set(excluded) == set(gone[5:])
    nobody = await agent.ok("list_customers", {"filters": {"chatting": True, "online": True}})
    assert nobody["customers"] == []

    # wrong requests are LiveChat's validation errors
    for payload in ({"page_id": replies[0].get("next_page_id", "x"), "limit": 5}, {"page_id": "forged"},
                    {"limit": 101}, {"sort_by": "visits_count"},
                    {"filters": {"name": {"values": ["a"], "exclude_values": ["b"]}}},
                    {"filters": {"created_at": {"gte": "yesterday"}}},
                    {"filters": {"agent_last_event_created_at": {"gte": "2024-01-01T00:00:00Z"}}},
                    {"filters": {"visits_count": {"gte": "two"}}}):
        r = await agent.call("list_customers", payload)
        assert r.status_code == 400 and r.json()["error"]["type"] == "validation", (payload, r.text)


async def test_customers_of_another_license_are_never_visible(server, shop, valkey):
    org, agent = shop
    theirs = await new_license(valkey)
    stranger = await CustomerClient(server.url, theirs).authorize()
    try:
        await track(stranger, "https://theirs.example/", "Theirs")
        await Tracker(valkey).page_views(theirs, [(str(uuid.uuid4()), "https://theirs.example/", None)])
        page = await agent.ok("list_customers", {"limit": 100})
        assert page["customers"] == [] and page["total_customers"] == 0 and "next_page_id" not in page
        r = await agent.call("get_customer", {"id": stranger.id})
        assert r.status_code == 404 and r.json()["error"]["type"] == "not_found"
        filtered = await agent.ok("list_customers", {"filters": {"customer_id": {"values": [stranger.id]}}})
        assert filtered["customers"] == []
        # a page_id of their listing is no page_id here
        other_agent = await make_agent(valkey, server.url, theirs, "zed")
        try:
            their_page = await other_agent.ok("list_customers", {"limit": 1})
            assert "next_page_id" in their_page and len(their_page["customers"]) == 1
            r = await agent.call("list_customers", {"page_id": their_page["next_page_id"]})
            assert r.status_code == 400 and r.json()["error"]["type"] == "validation"
        finally:
            await other_agent.aclose()
    finally:
        await stranger.aclose()


async def test_get_customer_shows_visit_statistics_chat_state_and_ignores_untrusted_proxy_headers(server, shop):
    org, agent = shop
    customer = await CustomerClient(server.url, org).authorize()
    try:
        await customer.ok("update_customer", {"name": "Dana", "email": "dana@example.com"})
        await track(customer, "https://shop.example/", "Home", PROXY_HEADERS)
        await track(customer, "https://shop.example/cart", "Cart")
        chat = await customer.ok("start_chat")
        seen = await agent.ok("get_customer", {"id": customer.id})
        assert (seen["name"], seen["email"], seen["online"], seen["state"]) == ("Dana", "dana@example.com", True, "queued")
        assert seen["chat_ids"] == [chat["chat_id"]]
        assert (seen["statistics"]["visits_count"], seen["statistics"]["page_views_count"],
                seen["statistics"]["chats_count"]) == (1, 2, 1)
        assert [p["title"] for p in seen["visit"]["last_pages"]] == ["Home", "Cart"]
        # WIDGET_TRUSTED_PROXY_HEADERS is off here: anyone could have sent those headers
        assert seen["visit"]["ip"] == "127.0.0.1" and "geolocation" not in seen["visit"]
        listed = await agent.ok("list_customers", {"filters": {"chatting": False, "include_customers_without_chats": False}})
        assert [c["id"] for c in listed["customers"]] == [customer.id]  # queued is not chatting yet
        listed = await agent.ok("list_customers", {"filters": {"name": {"values": ["dana"]}, "chats_count": {"eq": 1}}})
        assert [c["id"] for c in listed["customers"]] == [customer.id]
        stats = await agent.ok("get_visitor_statistics", {"days": 2})
        assert len(stats["hours"]) > 24 and len(stats["days"]) == 2
        assert stats["hours"][-1]["hour"] == time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime())
        # summed, so the test holds when it runs across an hour (or a day) boundary
        assert sum(h["page_views"] for h in stats["hours"]) == sum(d["page_views"] for d in stats["days"]) == 2
        assert sum(h["chats"] for h in stats["hours"]) == 1
        assert 1 <= sum(h["visitors"] for h in stats["hours"]) <= 2
    finally:
        await customer.aclose()


# --- live visitors ------------------------------------------------------------------------------------------------


async def test_a_subscribed_agent_sees_visitors_arrive_move_and_leave(short_server, valkey):
    org = await new_license(valkey)
    ann = await make_agent(valkey, short_server.url, org, "ann")
    bob = await make_agent(valkey, short_server.url, org, "bob")
    outsider = await make_agent(valkey, short_server.url, await new_license(valkey), "zed")
    ann_rtm, bob_rtm, outsider_rtm = await ann.rtm(), await bob.rtm(), await outsider.rtm()
    dana = await CustomerClient(short_server.url, org).authorize()
    eli = await CustomerClient(short_server.url, org).authorize()
    try:
        sub = await ann_rtm.request("subscribe_customers", {"limit": 50})
        assert sub["success"] and sub["payload"]["customers"] == [], sub
        small = await bob_rtm.request("subscribe_customers", {"limit": 1})
        assert small["success"], small
        assert (await outsider_rtm.request("subscribe_customers", {}))["success"]

        # a new visitor's page view (the loader's /v1/track, behind the trusted proxy) announces them
        await track(dana, "https://shop.example/shoes", "Shoes", PROXY_HEADERS)
        arrived = await push_about(ann_rtm, "incoming_customer", dana.id)
        assert arrived["online"] is True and arrived["state"] == "browsing"
        assert arrived["visit"]["last_pages"][0]["url"] == "https://shop.example/shoes"
        assert arrived["visit"]["ip"] == "203.0.113.9"
        assert arrived["visit"]["geolocation"] == {"country_code": "PL", "city": "Wroclaw", "region": "Lower Silesia",
                                                   "timezone": "Europe/Warsaw"}
        await push_about(bob_rtm, "incoming_customer", dana.id)

        # she navigates, over /v1/track and over the Customer API (RTM update_customer_page)
        await track(dana, "https://shop.example/shoes/red", "Red shoes")
        moved = await push_about(ann_rtm, "customer_page_updated", dana.id)
        assert (moved["visit_id"], moved["url"], moved["title"]) == (1, "https://shop.example/shoes/red", "Red shoes")
        assert moved["opened_at"].endswith("Z")
        stats = await push_about(ann_rtm, "customer_statistics_updated", dana.id)
        assert stats["statistics"]["page_views_count"] == 2 and stats["statistics"]["visits_count"] == 1
        sock = await dana.rtm()
        try:
            reply = await sock.request("update_customer_page", {"url": "https://shop.example/checkout", "title": "Pay"})
            assert reply["success"], reply
            moved = await push_about(ann_rtm, "customer_page_updated", dana.id)
            assert moved["url"] == "https://shop.example/checkout"
        finally:
            await sock.close()

        # a second visitor: bob's subscription (limit 1) turns to totals, ann's keeps listing
        await track(eli, "https://shop.example/", "Home")
        await push_about(ann_rtm, "incoming_customer", eli.id)
        totals = await bob_rtm.push("subscribed_customers_totals_updated", timeout=10)
        assert totals["payload"] == {small["payload"]["subscription_id"]: 2}
        await track(eli, "https://shop.example/sale", "Sale")
        assert (await push_about(ann_rtm, "customer_page_updated", eli.id))["url"] == "https://shop.example/sale"
        await bob_rtm.no_push("customer_page_updated", wait=0.3)  # totals only
        await outsider_rtm.no_push("incoming_customer", wait=0.1)  # another license's agent hears nothing

        # nobody sends heartbeats: both leave after the online window
        left = {}
        for _ in range(2):
            payload = (await ann_rtm.push("customer_left", timeout=15))["payload"]
            left[payload["id"]] = payload["left_at"]
        assert set(left) == {dana.id, eli.id} and all(at.endswith("Z") for at in left.values())
        # bob's subscription lists again once the visitors fit in it (one of them may still be there then)
        back_to_list = await bob_rtm.push("incoming_customers", timeout=15)
        listed = [c["id"] for c in back_to_list["payload"]["customers"]]
        assert len(listed) <= 1 and set(listed) <= {dana.id, eli.id}
        assert back_to_list["payload"]["subscription_id"] == small["payload"]["subscription_id"]
        gone = await ann.ok("get_customer", {"id": dana.id})
        assert gone["online"] is False and gone["visit"]["ended_at"].endswith("Z") and "state" not in gone

        # a returning visitor is announced again; after unsubscribing, nothing more comes
        await track(eli, "https://shop.example/again", "Again")
        await push_about(ann_rtm, "incoming_customer", eli.id)
        reply = await ann_rtm.request("unsubscribe_customers", {"subscription_id": sub["payload"]["subscription_id"]})
        assert reply["success"], reply
        await track(dana, "https://shop.example/again", "Again")
        await push_about(bob_rtm, "incoming_customer", dana.id)
        await ann_rtm.no_push("incoming_customer", wait=0.3)
        again = await ann_rtm.request("unsubscribe_customers", {"subscription_id": sub["payload"]["subscription_id"]})
        assert not again["success"] and again["payload"]["error"]["type"] == "not_found"
    finally:
        for sock in (ann_rtm, bob_rtm, outsider_rtm):
            await sock.close()
        for client in (ann, bob, outsider, dana, eli):
            await client.aclose()


async def test_subscriptions_are_rtm_only_and_login_can_start_one(server, shop):
    org, agent = shop
    r = await agent.call("subscribe_customers", {})
    assert r.status_code == 400 and r.json()["error"]["type"] == "validation"
    customer = await CustomerClient(server.url, org).authorize()
    try:
        await track(customer, "https://shop.example/", "Home")
        sock = await agent.rtm(customer_monitoring_level="online")
        try:
            pushed = (await sock.push("incoming_customers"))["payload"]
            assert pushed["customer_monitoring_level"] == "online"
            assert [c["id"] for c in pushed["customers"]] == [customer.id]
            for payload, error in (({"group_ids": [7]}, "group_not_found"), ({"limit": 0}, "validation"),
                                   ({"limit": "all"}, "validation")):
                reply = await sock.request("subscribe_customers", payload)
                assert not reply["success"] and reply["payload"]["error"]["type"] == error, reply
            reply = await sock.request("unsubscribe_customers", {})
            assert not reply["success"] and reply["payload"]["error"]["type"] == "validation"
        finally:
            await sock.close()
    finally:
        await customer.aclose()


# --- the index under the listing and the departures ---------------------------------------------------------------


async def test_departures_compare_the_previous_online_window_with_the_current_one(valkey):
    org = f"t{secrets.token_hex(6)}"
    now = [int(time.time()) // 60 * 60 + 5]
    tracker = Tracker(valkey, clock=lambda: now[0])
    index = VisitorIndex(tracker)
    staying, leaving = str(uuid.uuid4()), str(uuid.uuid4())
    await tracker.page_views(org, [(staying, "https://a.example/", None), (leaving, "https://a.example/", None)])
    slot = now[0] // tracker.slot
    assert (await index.departures(org, None, slot, 30)).online == 2
    now[0] += 60
    await tracker.heartbeat(org, staying)
    assert (await index.departures(org, slot, slot + 1, 30)).left == []  # still within the window
    now[0] += 60
    await tracker.heartbeat(org, staying)
    found = await index.departures(org, slot + 1, slot + 2, 30)
    assert found.online == 1 and found.left == [(leaving, now[0] - 120)] and not found.overflow
    capped = await index.departures(org, slot + 1, slot + 2, 30, want=0)
    assert capped.left == [] and capped.online == 1
    # the online scan walks the bitmaps both ways
    forwards = await index.scan(org, 0, descending=False, online_only=True)
    backwards = await index.scan(org, 2**40, descending=True, online_only=True)
    assert [vid for _, vid, _ in forwards.records] == [vid for _, vid, _ in backwards.records] == [staying]
    assert forwards.next_position is None and backwards.next_position is None


async def test_hourly_counters_count_each_visitor_once_an_hour_in_the_same_round_trip(valkey):
    org = f"t{secrets.token_hex(6)}"
    midnight = int(time.time()) // 86400 * 86400
    now = [midnight + 10 * 3600 + 5]  # 10:00:05 UTC today
    tracker = Tracker(valkey, clock=lambda: now[0])
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    await tracker.page_view(org, a, "https://a.example/1")
    await tracker.page_view(org, a, "https://a.example/2")
    await tracker.page_view(org, b, "https://a.example/1")
    await tracker.chat_started(org, b)
    await tracker.chat_offered(org)
    now[0] += 1800
    await tracker.heartbeat(org, a)  # the same hour: no new count
    now[0] += 1800
    await tracker.heartbeat(org, a)  # 11:00:05: a is a visitor of this hour too
    hours = {h.hour - midnight: h for h in await tracker.hourly(org, days=1)}
    assert (hours[10 * 3600].visitors, hours[10 * 3600].page_views, hours[10 * 3600].chats) == (2, 3, 2)
    assert (hours[11 * 3600].visitors, hours[11 * 3600].page_views, hours[11 * 3600].chats) == (1, 0, 0)
    assert max(hours) == 11 * 3600 and hours[9 * 3600].visitors == 0  # up to the current hour, zeros included
    assert (await tracker.counters(org)).chats == 2


def test_client_address_and_location_come_from_proxy_headers_only_when_trusted():
    from widget_server.web.client import client_info

    headers = {"user-agent": "UA", "x-forwarded-for": "not-an-ip, 198.51.100.1", "x-real-ip": "[2001:db8::1]:443",
               "cf-ipcountry": "XX", "x-country-code": "de", "x-city": "Berlin", "cf-region": "\x00bad"}
    untrusted = client_info(headers, "10.0.0.5", False)
    assert (untrusted.ip, untrusted.user_agent, untrusted.geo) == ("10.0.0.5", "UA", None)
    trusted = client_info(headers, "10.0.0.5", True)
    assert trusted.ip == "2001:db8::1"  # X-Real-IP comes before X-Forwarded-For
    assert (trusted.geo.country_code, trusted.geo.city, trusted.geo.region) == ("DE", "Berlin", "")
    assert client_info({"x-forwarded-for": "203.0.113.7:5123, 10.0.0.2"}, "10.0.0.5", True).ip == "203.0.113.7"
    assert client_info({"cf-ipcountry": "T1"}, None, True) == client_info({}, None, False)  # Tor: no country
