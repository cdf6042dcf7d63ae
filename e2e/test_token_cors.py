"""A customer site on another origin gets a token and chats through the API, in a real Chromium.

The page is served from ``http://127.0.0.1:<site port>`` and the API from ``http://127.0.0.1:<api port>``: a different
origin (so every call is CORS, and a JSON body or an Authorization header forces a preflight) but the same site (so
the SameSite=Lax, httpOnly ``__lc_cid``/``__lc_cst`` cookies are stored and sent back with ``credentials: "include"``).

Preflights are invisible to Playwright's ``page.on("request")``, so the network is also watched through a Chrome
DevTools Protocol session, which reports them as requests of type ``Preflight`` along with the raw request headers
(the Cookie header actually sent) and any cookies the browser refused to store. (The preflight's request event says
type ``Other``; its response event says ``Preflight``.)
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page

from widget_server.protocol.config import LicenseConfig

# Page-side fetch: returns what a site's script would see (status and JSON), never throws on an HTTP error status.
FETCH_JS = """async ([url, init]) => {
    let response;
    try {
        response = await fetch(url, init);
    } catch (err) {
        return {network_error: String(err)};
    }
    const text = await response.text();
    let body = text;
    try { body = JSON.parse(text); } catch (_) {}
    return {status: response.status, body};
}"""


class Network:
    """Requests seen by Chromium's network stack (CDP ``Network`` domain), preflights included, keyed by request id."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.requests: dict[str, dict[str, Any]] = {}
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.on("Network.requestWillBeSent", self._sent)
        self.cdp.on("Network.requestWillBeSentExtraInfo", self._sent_extra)
        self.cdp.on("Network.responseReceived", self._received)
        self.cdp.on("Network.responseReceivedExtraInfo", self._received_extra)
        self.cdp.send("Network.enable")

    def _entry(self, request_id: str) -> dict[str, Any]:
        return self.requests.setdefault(request_id, {"id": request_id})

    def _sent(self, ev: dict) -> None:
        e = self._entry(ev["requestId"])
        e.update(url=ev["request"]["url"], method=ev["request"]["method"], type=ev.get("type"),
                 headers=_lower(ev["request"]["headers"]), seq=len(self.requests))

    def _sent_extra(self, ev: dict) -> None:
        e = self._entry(ev["requestId"])
        e["raw_headers"] = _lower(ev["headers"])  # what went on the wire, Cookie included
        e["associated_cookies"] = ev.get("associatedCookies", [])

    def _received(self, ev: dict) -> None:
        e = self._entry(ev["requestId"])
        e.update(status=ev["response"]["status"], response_headers=_lower(ev["response"]["headers"]),
                 response_type=ev.get("type"))

    def _received_extra(self, ev: dict) -> None:
        e = self._entry(ev["requestId"])
        e["raw_response_headers"] = _lower(ev["headers"])
        e["blocked_cookies"] = ev.get("blockedCookies", [])

    def matching(self, method: str, url_part: str) -> list[dict[str, Any]]:
        found = [e for e in self.requests.values() if e.get("method") == method and url_part in e.get("url", "")]
        return sorted(found, key=lambda e: e.get("seq", 0))

    def wait_for(self, check: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Events arrive asynchronously (extra-info ones may trail the fetch's result): poll while letting them in."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"network condition not met; requests seen: {list(self.requests.values())}")
            self.page.wait_for_timeout(50)


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def fetch(page: Page, url: str, **init: Any) -> dict[str, Any]:
    result = page.evaluate(FETCH_JS, [url, init])
    assert "network_error" not in result, f"fetch {url} failed in the browser (CORS?): {result['network_error']}"
    return result


def token_init(org: str, page: Page) -> dict[str, Any]:
    """The cookie grant as the widget posts it: JSON, so not a CORS-simple request."""
    body = {"grant_type": "cookie", "client_id": "c", "response_type": "token", "organization_id": org,
            "redirect_uri": page.url}
    return {"method": "POST", "credentials": "include", "headers": {"Content-Type": "application/json"},
            "body": json.dumps(body)}


def get_token(page: Page, api: str, org: str) -> dict[str, Any]:
    return fetch(page, api + "/v2/customer/token", **token_init(org, page))


def action(page: Page, api: str, org: str, name: str, token: str, payload: dict | None = None) -> dict[str, Any]:
    return fetch(page, f"{api}/v3.6/customer/action/{name}?organization_id={org}", method="POST",
                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
                 body=json.dumps(payload or {}))


def assert_preflight(net: Network, url_part: str, site: str, *request_headers: str) -> dict[str, Any]:
    """An OPTIONS preflight for ``url_part`` from ``site``, answered with that exact origin and credentials allowed."""
    preflight = net.wait_for(lambda: next((e for e in net.matching("OPTIONS", url_part)
                                           if e.get("response_type") == "Preflight"), None))
    sent = preflight["headers"]
    assert sent["origin"] == site
    assert sent["access-control-request-method"] == "POST"
    asked = {h.strip() for h in sent.get("access-control-request-headers", "").lower().split(",")}
    assert set(request_headers) <= asked, (request_headers, asked)
    got = preflight["response_headers"]
    assert 200 <= preflight["status"] < 300, preflight
    assert got["access-control-allow-origin"] == site, got
    assert got["access-control-allow-credentials"] == "true", got
    assert "POST" in got["access-control-allow-methods"].upper() or got["access-control-allow-methods"] == "*"
    allowed = {h.strip() for h in got.get("access-control-allow-headers", "").lower().split(",")}
    # "*" does not cover credentialed requests nor Authorization: each header must be named.
    assert set(request_headers) <= allowed, (request_headers, allowed)
    return preflight


def test_cross_origin_token_with_credentials_returns_the_same_customer_twice(
        page: Page, site: str, api: str, org: str, output_path: str) -> None:
    net = Network(page)
    page.goto(site + "/shop.html")
    assert page.evaluate("location.origin") == site != api

    # First visit: the JSON body forces a preflight; the response sets the browser-identity cookies.
    with page.expect_response(lambda r: r.url == api + "/v2/customer/token" and r.request.method == "POST") as info:
        first = get_token(page, api, org)
    assert first["status"] == 200, first
    assert first["body"]["token_type"] == "Bearer"
    assert first["body"]["access_token"].startswith("dal:")
    assert first["body"]["organization_id"] == org
    cors = info.value.headers
    assert cors["access-control-allow-origin"] == site
    assert cors["access-control-allow-credentials"] == "true"

    assert_preflight(net, "/v2/customer/token", site, "content-type")
    [post1] = net.wait_for(lambda: [e for e in net.matching("POST", "/v2/customer/token")
                                    if "raw_headers" in e and "blocked_cookies" in e])
    assert post1["raw_headers"]["origin"] == site
    assert "__lc_cid" not in post1["raw_headers"].get("cookie", ""), "a fresh browser has no identity yet"
    assert post1["blocked_cookies"] == [], "the browser refused to store the identity cookies"

    cookies = {c["name"]: c for c in page.context.cookies(api)}
    for name in ("__lc_cid", "__lc_cst"):
        assert cookies[name]["httpOnly"] is True
        assert cookies[name]["sameSite"] == "Lax"
    assert page.evaluate("document.cookie") == "", "httpOnly cookies must not be readable by the site's script"

    # Second visit (after a reload): the cookies go back with the credentialed request -> the same customer.
    page.reload()
    second = get_token(page, api, org)
    assert second["status"] == 200, second
    assert second["body"]["token_type"] == "Bearer"
    assert second["body"]["entity_id"] == first["body"]["entity_id"]

    def two_posts_on_the_wire() -> list[dict[str, Any]] | None:
        posts = [e for e in net.matching("POST", "/v2/customer/token") if "raw_headers" in e]
        return posts if len(posts) >= 2 else None

    post2 = net.wait_for(two_posts_on_the_wire)[1]
    sent_cookie = post2["raw_headers"].get("cookie", "")
    assert f"__lc_cid={cookies['__lc_cid']['value']}" in sent_cookie
    assert f"__lc_cst={cookies['__lc_cst']['value']}" in sent_cookie
    assert all(not c.get("blockedReasons") for c in post2["associated_cookies"]), post2["associated_cookies"]

    # With the token, the site's script starts a chat cross-origin (Authorization forces another preflight) ...
    token = second["body"]["access_token"]
    started = action(page, api, org, "start_chat", token, {"chat": {"thread": {"events": [
        {"type": "message", "text": "Hello from the shop", "custom_id": "e2e-1"}]}}})
    assert started["status"] == 200, started
    chat_id = started["body"]["chat_id"]
    assert chat_id and started["body"]["thread_id"]
    assert_preflight(net, "/v3.6/customer/action/start_chat", site, "authorization", "content-type")

    # ... and reads it back.
    listed = action(page, api, org, "list_chats", token)
    assert listed["status"] == 200, listed
    assert listed["body"]["total_chats"] == 1
    [summary] = listed["body"]["chats_summary"]
    assert summary["id"] == chat_id
    assert summary["users"][0]["id"] == first["body"]["entity_id"]
    assert summary["last_event_per_type"]["message"]["event"]["text"] == "Hello from the shop"

    page.evaluate("id => document.body.insertAdjacentHTML('beforeend', `<p id=chat>chat ${id}</p>`)", chat_id)
    page.screenshot(path=os.path.join(output_path, "chat-started.png"))

    # Without its cookies, the same browser is a new customer: the sameness above came from the cookie round trip.
    page.context.clear_cookies()
    page.reload()
    stranger = get_token(page, api, org)
    assert stranger["status"] == 200, stranger
    assert stranger["body"]["entity_id"] != first["body"]["entity_id"]


def test_license_allowed_origins_refuse_other_sites_and_admit_the_listed_one(
        page: Page, site: str, api: str, make_license: Callable[..., str]) -> None:
    other_port = site.rsplit(":", 1)[0] + ":1"  # same host, another port: another origin
    closed = make_license(LicenseConfig(allowed_origins=["https://shop.example", other_port]))
    listed = make_license(LicenseConfig(allowed_origins=["https://shop.example", site]))

    page.goto(site + "/shop.html")

    refused = get_token(page, api, closed)
    assert refused["status"] == 403, refused
    assert refused["body"]["oauth_exception"] == "access_denied"
    assert site in refused["body"]["exception_details"]

    admitted = get_token(page, api, listed)
    assert admitted["status"] == 200, admitted
    assert admitted["body"]["token_type"] == "Bearer"
    token = admitted["body"]["access_token"]

    started = action(page, api, listed, "start_chat", token)
    assert started["status"] == 200, started
    chats = action(page, api, listed, "list_chats", token)
    assert chats["status"] == 200, chats
    assert [c["id"] for c in chats["body"]["chats_summary"]] == [started["body"]["chat_id"]]
