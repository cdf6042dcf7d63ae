"""The accounts token endpoint as LiveChat's SDKs and servers call it."""

from __future__ import annotations

import base64

import httpx

from tests.support import CustomerClient
from widget_server.bootstrap import create_license


async def test_cookie_grant_in_every_body_shape_gives_the_same_customer(server, org):
    async with httpx.AsyncClient(base_url=server.url) as http:
        first = await http.post("/v2/customer/token", json={"grant_type": "cookie", "organization_id": org,
                                                            "client_id": "c", "response_type": "token"})
        assert first.status_code == 200
        body = first.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 28800 and body["organization_id"] == org
        assert body["access_token"].startswith("dal:")
        # the JS SDK posts JSON without a JSON content type; older integrations post a form
        as_text = await http.post("/v2/customer/token", headers={"Content-Type": "text/plain;charset=UTF-8"},
                                  content=f'{{"grant_type":"cookie","organization_id":"{org}","client_id":"c",'
                                          f'"redirect_uri":"https://shop.example/a/b?c=d"}}')
        as_form = await http.post("/v2/customer/token", data={"grant_type": "cookie", "license_id": org,
                                                               "client_id": "c", "response_type": "token"})
        assert as_text.json()["entity_id"] == as_form.json()["entity_id"] == body["entity_id"]

        # per-group identity: another customer for the same browser, stable per group
        g1 = await http.post(f"/v2/customer/{org}/1/token", json={"grant_type": "cookie", "client_id": "c"})
        g1b = await http.post(f"/v2/customer/{org}/1/token", json={"grant_type": "cookie", "client_id": "c"})
        assert g1.status_code == 200 and g1.json()["entity_id"] == g1b.json()["entity_id"] != body["entity_id"]

    async with httpx.AsyncClient(base_url=server.url) as other_browser:
        other = await other_browser.post("/v2/customer/token", json={"grant_type": "cookie", "organization_id": org})
        assert other.json()["entity_id"] != body["entity_id"]
        sig = {c.name: c.value for c in other_browser.cookies.jar}["__lc_cst"]
    # a tampered identity cookie is not trusted: it gets a fresh identity instead
    async with httpx.AsyncClient(base_url=server.url) as tamperer:
        forged = await tamperer.post("/v2/customer/token", headers={"Cookie": f"__lc_cid=someone-else; __lc_cst={sig}"},
                                     json={"grant_type": "cookie", "organization_id": org})
        assert forged.json()["entity_id"] not in (body["entity_id"], other.json()["entity_id"])


async def test_token_errors_are_what_the_js_sdk_reads(server, org):
    async with httpx.AsyncClient(base_url=server.url) as http:
        cases = [
            ({"grant_type": "cookie"}, 400, "invalid_request"),
            ({"grant_type": "cookie", "organization_id": "no-such-license"}, 404, "invalid_request"),
            ({"grant_type": "password", "organization_id": org}, 400, "unsupported_grant_type"),
            ({"grant_type": 5, "organization_id": org}, 400, "invalid_request"),
            ({"grant_type": "agent_token", "organization_id": org}, 401, "unauthorized_client"),
        ]
        for payload, status, code in cases:
            r = await http.post("/v2/customer/token", json=payload)
            assert r.status_code == status and r.json()["oauth_exception"] == code, (payload, r.text)
        r = await http.post("/v2/customer/token", content=b"\xff\xfe{")
        assert r.json()["oauth_exception"] == "invalid_request"


async def test_agent_token_grant_lets_a_server_act_as_a_visitor(server, valkey):
    creds = await create_license(valkey, "owner-grant@example.com", "pw")
    org, pat, account = creds["organization_id"], creds["owner"]["personal_access_token"], creds["owner"]["account_id"]
    basic = "Basic " + base64.b64encode(f"{account}:{pat}".encode()).decode()
    async with httpx.AsyncClient(base_url=server.url) as http:
        r = await http.post("/v2/customer/token", headers={"Authorization": basic},
                            json={"grant_type": "agent_token", "organization_id": org, "client_id": "bridge",
                                  "response_type": "token"})
        assert r.status_code == 200, r.text
        issued = r.json()
        assert issued["client_id"] == "bridge"
        bot = CustomerClient(server.url, org)
        bot.token = issued["access_token"]
        chat = await bot.ok("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": "from a server"}]}}})

        # re-issue for the same customer with entity_id (Bearer works too)
        again = await http.post("/v2/customer/token", headers={"Authorization": f"Bearer {pat}"},
                                json={"grant_type": "agent_token", "organization_id": org,
                                      "entity_id": issued["entity_id"]})
        assert again.json()["entity_id"] == issued["entity_id"]
        bot.token = again.json()["access_token"]
        assert (await bot.ok("get_chat", {"chat_id": chat["chat_id"]}))["id"] == chat["chat_id"]
        await bot.aclose()

        other = await create_license(valkey, "owner-grant-2@example.com", "pw")
        r = await http.post("/v2/customer/token", headers={"Authorization": f"Bearer {pat}"},
                            json={"grant_type": "agent_token", "organization_id": other["organization_id"]})
        assert r.status_code == 401  # an agent of one license cannot mint customers of another


async def test_urls_follow_the_host_the_request_came_to(customer: CustomerClient):
    r = await customer.http.post(f"/v3.6/customer/action/upload_file?organization_id={customer.org}",
                                 headers={"Authorization": f"Bearer {customer.token}", "Host": "chat.example.com"},
                                 files={"file": ("a.txt", b"hello")})
    assert r.status_code == 200 and r.json()["url"].startswith("http://chat.example.com/files/")


async def test_websocket_control_frame_pings_are_answered(customer: CustomerClient, server):
    sock = await customer.rtm(server.url)
    try:
        pong = await sock.ws.ping()
        latency = await pong
        assert latency >= 0
        assert (await sock.request("ping"))["success"]
    finally:
        await sock.close()


async def test_cookies_split_over_several_header_fields_are_joined(server, org):
    """HTTP/2 browsers send each cookie in its own field; the identity must survive that."""
    async with httpx.AsyncClient(base_url=server.url) as http:
        first = await http.post("/v2/customer/token", json={"grant_type": "cookie", "organization_id": org})
        jar = {c.name: c.value for c in http.cookies.jar}
    raw = [("cookie", f"__lc_cid={jar['__lc_cid']}"), ("cookie", f"__lc_cst={jar['__lc_cst']}"),
           ("content-type", "application/json")]
    async with httpx.AsyncClient(base_url=server.url) as fresh:
        again = await fresh.post("/v2/customer/token", headers=raw,
                                 content=f'{{"grant_type":"cookie","organization_id":"{org}"}}')
    assert again.json()["entity_id"] == first.json()["entity_id"]
