"""LiveChat's side of the widget over HTTP, against the live server: ``GET /tracking.js`` (LiveChat's loader name),
numeric license ids (LiveChat's ``window.__lc.license``) and the loader's visit with ``window.__lc``'s settings.
The browser side (LiveChat's snippet and ``@livechat/widget-core`` in Chromium) is ``e2e/test_livechat_snippet.py``."""

from __future__ import annotations

import json
import secrets

import httpx
import pytest

from tests.support import start_valkey
from widget_server import keys
from widget_server.bootstrap import create_license
from widget_server.core.licenses import LICENSE_NUMBER_BASE, assign_license_number
from widget_server.core.migrations import migrate
from widget_server.valkey import connect
from widget_server.widget.build import DIST_DIR, read_manifest

ORIGIN = "https://shop.example"


@pytest.fixture
async def http(server):
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        yield client


async def lc_visit(http, lc: dict, **extra) -> httpx.Response:
    """The visit tracking.js sends: ``window.__lc`` as it is (``static/src/loader.js`` built with ``LIVECHAT``)."""
    body = {"type": "visit", "cfg": lc, "url": "https://shop.example/", "title": "Home", **extra}
    return await http.post("/v1/widget/visit", content=json.dumps(body).encode(),
                           headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": ORIGIN})


async def test_tracking_js_is_the_loader_under_livechat_s_name_within_its_budget(http):
    manifest = read_manifest()
    built = manifest.files["tracking.js"]
    body = (DIST_DIR / built.file).read_bytes()
    for path in ("/tracking.js",):
        r = await http.get(path, headers={"Accept-Encoding": "br"})
        assert r.status_code == 200 and r.headers["content-encoding"] == "br"
        assert r.headers["cache-control"].startswith("public, max-age=300")  # as the loader: a stable URL
        assert r.headers["access-control-allow-origin"] == "*"
        assert r.headers["content-type"].startswith("text/javascript")
        assert r.content == body
        again = await http.get(path, headers={"Accept-Encoding": "br", "If-None-Match": r.headers["etag"]})
        assert again.status_code == 304
    head = await http.head("/tracking.js", headers={"Accept-Encoding": "gzip"})
    assert head.status_code == 200 and head.content == b""
    # the loader's own code built for window.__lc and window.LiveChatWidget, within the loader's kilobyte
    assert b"LiveChatWidget" in body and b"__lc" in body and b"/v1/widget/visit" in body
    assert b"WidgetServer" not in body and b"WidgetServer" in (DIST_DIR / manifest.files["loader.js"].file).read_bytes()
    assert built.gzip <= 1024


async def test_each_license_gets_a_numeric_id_that_names_it_wherever_an_organization_id_does(http, server, valkey):
    first = await create_license(valkey, f"a-{secrets.token_hex(4)}@example.com", "pw")
    second = await create_license(valkey, f"b-{secrets.token_hex(4)}@example.com", "pw")
    number, org = first["license_id"], first["organization_id"]
    # eight digits, drawn at random: another license's number is not this one's plus one
    assert all(LICENSE_NUMBER_BASE <= n < 10 * LICENSE_NUMBER_BASE for n in (number, second["license_id"]))
    assert second["license_id"] != number
    assert await assign_license_number(valkey, org) == number  # idempotent: the same number ever after

    # LiveChat's license_id (and organization_id given a number) reaches the license: the frame, its configuration
    frame = await http.get("/widget/frame", params={"license_id": number})
    assert frame.status_code == 200
    config = await http.get("/v1/widget/config", params={"organization_id": str(number), "group_id": 0})
    assert config.status_code == 200 and config.json()["static"]["organization_id"] == org
    unknown = await http.get("/v1/widget/config", params={"license_id": LICENSE_NUMBER_BASE - 1})
    assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "license_not_found"
    too_long = await http.get("/v1/widget/config", params={"license_id": "9" * 40})
    assert too_long.status_code == 404 and too_long.json()["error"]["type"] == "license_not_found"


async def test_a_visit_with_livechat_s_settings_names_the_visitor_and_their_session_variables(http, valkey):
    creds = await create_license(valkey, f"lc-{secrets.token_hex(4)}@example.com", "pw")
    number, org = creds["license_id"], creds["organization_id"]
    lc = {"license": number, "group": 0, "visitor": {"name": "Joe", "email": "joe@example.com"},
          "params": [{"name": "plan", "value": "pro"}, {"name": "seats", "value": 12}, {"name": "trial", "value": True}],
          "chat_between_groups": False, "integration_name": "@livechat/widget-core", "asyncInit": True,
          "ga_version": "gtag"}
    r = await lc_visit(http, lc)
    assert r.status_code == 200, r.text
    body = r.json()
    # the launcher's frame is the license's, by its organization id
    assert f"organization_id={org}" in body["launcher"]["frame"]
    record = await valkey.hgetall(keys.customer(body["customer_id"]))
    assert record[b"name"] == b"Joe" and record[b"email"] == b"joe@example.com"
    assert json.loads(record[b"session_fields"]) == [{"plan": "pro"}, {"seats": "12"}, {"trial": "true"}]
    # by its organizationId too, and a later visit of the same browser is "returning"
    again = await lc_visit(http, {"organizationId": org})
    assert again.status_code == 200 and again.json()["customer_id"] == body["customer_id"]

    # hostile settings get typed errors, not a widget on the wrong license
    bad = await lc_visit(http, {"license": number, "params": [{"name": "x" * 300, "value": "y"}]})
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "validation"
    many = await lc_visit(http, {"license": number, "params": [{"name": f"p{i}", "value": "v"} for i in range(51)]})
    assert many.status_code == 400 and many.json()["error"]["type"] == "validation"
    nothing = await lc_visit(http, {})  # neither license nor organizationId
    assert nothing.status_code == 400 and nothing.json()["error"]["type"] == "validation"
    as_text = await lc_visit(http, {"license": str(number)})  # (an adapter's license is a number, a page's may be text)
    assert as_text.status_code == 200 and f"organization_id={org}" in as_text.json()["launcher"]["frame"]


async def test_the_migration_numbers_the_licenses_made_before_numbers():
    server = start_valkey()  # a store of its own: this one is made to look like an older release's
    valkey = connect(server.connection_url)
    try:
        made = []
        for i in range(3):
            creds = await create_license(valkey, f"old-{i}-{secrets.token_hex(4)}@example.com", "pw")
            made.append(creds["organization_id"])
        # as a store from before numbers: no license_id anywhere, schema version 1
        for org in made:
            await valkey.hdel(keys.license(org), "license_id")
        await valkey.delete(keys.LICENSE_NUMBERS)
        await valkey.set(keys.SCHEMA_VERSION, 1)
        assert (await migrate(valkey, 3600))[:1] == ["number_licenses"]  # (then the later migrations)
        numbers = [int(await valkey.hget(keys.license(org), "license_id")) for org in made]
        assert len(set(numbers)) == 3
        assert all(LICENSE_NUMBER_BASE <= n < 10 * LICENSE_NUMBER_BASE for n in numbers)
        for org, number in zip(made, numbers, strict=True):
            assert (await valkey.hget(keys.LICENSE_NUMBERS, str(number))).decode() == org
        assert await migrate(valkey, 3600) == []  # done once
    finally:
        await valkey.aclose()
        server.stop()


async def test_a_number_another_license_holds_is_replaced_when_a_license_is_restored(valkey):
    held = await create_license(valkey, f"h-{secrets.token_hex(4)}@example.com", "pw")
    restored = await create_license(valkey, f"r-{secrets.token_hex(4)}@example.com", "pw")
    # a license restored from another store's backup brings a number that names another license here
    await valkey.hset(keys.license(restored["organization_id"]), "license_id", held["license_id"])
    number = await assign_license_number(valkey, restored["organization_id"])
    assert number != held["license_id"]
    assert (await valkey.hget(keys.LICENSE_NUMBERS, str(held["license_id"]))).decode() == held["organization_id"]
    assert (await valkey.hget(keys.LICENSE_NUMBERS, str(number))).decode() == restored["organization_id"]


async def test_a_customer_of_a_license_named_by_its_number_gets_a_token_and_calls_the_api(http, valkey):
    creds = await create_license(valkey, f"n-{secrets.token_hex(4)}@example.com", "pw")
    number, org = creds["license_id"], creds["organization_id"]
    grant = await http.post("/v2/customer/token", json={"grant_type": "cookie", "response_type": "token",
                                                        "license_id": number, "redirect_uri": ORIGIN + "/"},
                            headers={"Origin": ORIGIN})
    assert grant.status_code == 200, grant.text
    token = grant.json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    # the Web API named by the number, as LiveChat's clients name it with license_id
    r = await http.post("/v3.6/customer/action/list_chats", params={"license_id": number}, json={}, headers=auth)
    assert r.status_code == 200, r.text
    r = await http.post("/v3.6/customer/action/get_customer", params={"organization_id": str(number)}, json={},
                        headers=auth)
    assert r.status_code == 200 and r.json()["id"] == grant.json()["entity_id"]
    other = await create_license(valkey, f"o-{secrets.token_hex(4)}@example.com", "pw")
    r = await http.post("/v3.6/customer/action/list_chats", params={"license_id": other["license_id"]}, json={},
                        headers=auth)
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication"
    assert org != other["organization_id"]
