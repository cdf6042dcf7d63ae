"""What an anonymous caller can make, and for how long: every record a page load, a cookie grant, a tracking call
or an RTM login without a chat makes expires (a visitor who never chats is forgotten), while a visitor who starts a
chat keeps their record as long as chats are kept; and new visitors and tracking calls have a budget per address."""

from __future__ import annotations

import http.server
import json
import time

import httpx
import pytest

from tests.support import CustomerClient, LiveServer, serve_http
from widget_server import keys

from .conftest import new_license

ORIGIN = "https://shop.example"


async def _visit(server_url: str, org: str, cookies: httpx.Cookies | None = None) -> httpx.Response:
    """A page load from a browser with ``cookies`` (None: a browser the server has never seen)."""
    async with httpx.AsyncClient(base_url=server_url, timeout=10, cookies=cookies) as http:
        return await http.post("/v1/widget/visit", content=json.dumps(
            {"type": "visit", "cfg": {"organization_id": org, "group": 0}, "url": "https://shop.example/"}),
            headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": ORIGIN})


async def _keys(valkey) -> set[bytes]:
    return {k async for k in valkey.scan_iter(count=1000)}


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<title>t</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


LICENSE_INDEX = ("tr:id:", "tr:rec:", "tr:seq", "tr:free")
"""The tracker's per-license index of visitors (dense ids and their records, in shared buckets): entries are removed
by the tracker's retention sweep, not by key expiry."""


async def test_every_record_an_anonymous_caller_makes_expires(server, valkey):
    org = await new_license(valkey)
    await _visit(server.url, org)  # (the license's tracker index exists from its first visitor on)
    before = await _keys(valkey)

    tokens = []
    for _ in range(12):  # page loads of browsers never seen before, then an SPA page view and a heartbeat each
        r = await _visit(server.url, org)
        assert r.status_code == 200, r.text
        tokens.append(r.json()["token"])
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        for token in tokens:
            for kind in ("page_view", "heartbeat"):
                r = await http.post(f"/v1/track?organization_id={org}", headers={"Authorization": f"Bearer {token}"},
                                    json={"type": kind, "url": "https://shop.example/cart"})
                assert r.status_code == 200, r.text
    for _ in range(3):  # cookie grants (the customer SDK's), and an RTM login without a chat
        customer = await CustomerClient(server.url, org).authorize()
        socket = await customer.rtm(customer_page={"url": "https://shop.example/help"})
        await socket.close()
        await customer.aclose()
    # a link preview (its cache and the customer's per-minute count) and the other 3.6 calls that make nothing
    with serve_http(_Page) as site:
        customer = await CustomerClient(server.url, org).authorize()
        assert (await customer.ok("get_url_info", {"url": f"{site}/?{time.time()}"}))["title"] == "t"
        await customer.call("get_predicted_agent")
        await customer.call("send_greeting_button_clicked", {"greeting_unique_id": "x", "button_id": "y"})
        await customer.aclose()

    made = await _keys(valkey) - before
    customers = [k for k in made if k.endswith(b":cust")]
    assert len(customers) == 16
    assert [k for k in made if k.startswith(b"ws:urlinfo:")]  # (the preview was kept, with an expiry)
    forever = [k for k in made if await valkey.ttl(k) == -1
               and not any(part.encode() in k for part in LICENSE_INDEX)]
    assert forever == []
    # the customer records live as long as the tracker remembers the visitor (WIDGET_TRACKING_RETENTION_DAYS)
    ttls = [await valkey.ttl(k) for k in customers]
    assert all(29 * 86400 < ttl <= 30 * 86400 for ttl in ttls), ttls


async def test_a_visitor_who_starts_a_chat_keeps_their_record_for_good(server, valkey):
    org = await new_license(valkey)
    first = await _visit(server.url, org)
    cid, token = first.json()["customer_id"], first.json()["token"]
    assert await valkey.ttl(keys.customer(cid)) > 0

    customer = CustomerClient(server.url, org)
    customer.token, customer.id = token, cid
    started = await customer.ok("start_chat", {"chat": {"thread": {"events": [
        {"type": "message", "text": "hello"}]}}})
    assert started["chat_id"]
    assert await valkey.ttl(keys.customer(cid)) == -1
    assert await valkey.ttl(keys.customer_chats(cid)) == -1

    # coming back later does not put an expiry on it again
    again = await _visit(server.url, org, cookies=first.cookies)
    assert again.json()["customer_id"] == cid
    assert await valkey.ttl(keys.customer(cid)) == -1
    assert (await customer.ok("get_customer"))["id"] == cid
    await customer.aclose()


def _not_at_a_minute_s_end() -> None:
    """The budgets count in one-minute windows: start where the test's calls all fall in one."""
    if time.time() % 60 > 40:
        time.sleep(61 - time.time() % 60)


@pytest.fixture
def limited(tmp_path, valkey_url):
    live = LiveServer(tmp_path, valkey_url, env={"WIDGET_NEW_VISITORS_PER_MINUTE": "3",
                                                 "WIDGET_TRACKING_CALLS_PER_MINUTE": "10"}).start()
    yield live
    live.stop()


async def test_new_visitors_and_tracking_calls_have_a_budget_per_address(limited, valkey):
    org = await new_license(valkey)
    _not_at_a_minute_s_end()
    before = len([k for k in await _keys(valkey) if k.endswith(b":cust")])

    loads = [await _visit(limited.url, org) for _ in range(4)]  # 4 tracking calls, 4 new visitors
    assert [r.status_code for r in loads] == [200, 200, 200, 429]
    assert loads[3].json()["error"]["type"] == "too_many_requests"
    assert 0 < int(loads[3].headers["retry-after"]) <= 60
    assert len([k for k in await _keys(valkey) if k.endswith(b":cust")]) == before + 3  # the refused one made none

    # a returning visitor is no new one (5 tracking calls); the cookie grant shares the new visitors' budget
    back = await _visit(limited.url, org, cookies=loads[0].cookies)
    assert back.status_code == 200 and back.json()["customer_id"] == loads[0].json()["customer_id"]
    async with httpx.AsyncClient(base_url=limited.url, timeout=10) as http:
        grant = await http.post("/v2/customer/token", json={"grant_type": "cookie", "organization_id": org})
        assert grant.status_code == 429 and grant.json()["error"]["type"] == "too_many_requests"
        # tracking calls: 5 more fit in the address's 10
        token = loads[0].json()["token"]
        statuses = []
        for _ in range(7):
            r = await http.post(f"/v1/track?organization_id={org}", headers={"Authorization": f"Bearer {token}"},
                                json={"type": "heartbeat"})
            statuses.append(r.status_code)
        assert statuses == [200] * 5 + [429] * 2
        assert r.json()["error"]["type"] == "too_many_requests" and "retry-after" in r.headers
