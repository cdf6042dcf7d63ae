"""The widget over HTTP against the live server: the build's files and their caching, the snippet, the frame page's
CSP, the loader's visit calls (identity, tracking, tokens) and the per-visitor configuration; plus themes and texts."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import hmac
import json
import secrets
import time
from pathlib import Path

import brotli
import httpx
import pytest

from tests.support import AgentClient
from widget_server import keys
from widget_server.bootstrap import create_agent, create_license
from widget_server.core.store import Store
from widget_server.protocol.config import Appearance, LicenseConfig
from widget_server.widget.build import DIST_DIR, read_manifest
from widget_server.widget.locales import TEXTS, negotiate
from widget_server.widget.themes import load_themes

from .conftest import new_license

ORIGIN = "https://shop.example"


@pytest.fixture
async def http(server):
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        yield client


def visit_body(org: str, kind: str = "visit", **extra) -> bytes:
    body = {"type": kind, "cfg": {"organization_id": org, "group": 0}, "url": "https://shop.example/",
            "title": "Home", **extra}
    return json.dumps(body).encode()


async def visit(http, org: str, kind: str = "visit", headers: dict | None = None, **extra) -> httpx.Response:
    # the loader posts a text/plain body (a CORS-simple request)
    return await http.post("/v1/widget/visit", content=visit_body(org, kind, **extra),
                           headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": ORIGIN, **(headers or {})})


# --- the build and the files ------------------------------------------------------------------------------------------


def test_the_build_writes_hashed_files_with_compressed_siblings_and_a_manifest(server):
    manifest = read_manifest()
    assert manifest is not None
    assert {"loader.js", "host.js", "launcher.css", "widget.js", "widget.css", "theme-classic.css"} <= set(manifest.files)
    for logical, built in manifest.files.items():
        body = (DIST_DIR / built.file).read_bytes()
        stem, ext = logical.rsplit(".", 1)
        assert built.file == f"{stem}.{hashlib.sha256(body).hexdigest()[:12]}.{ext}"
        assert gzip.decompress((DIST_DIR / f"{built.file}.gz").read_bytes()) == body
        assert brotli.decompress((DIST_DIR / f"{built.file}.br").read_bytes()) == body
    # the budgets the widget issue sets: a tiny loader, and everything an open chat needs well under 25 KB
    assert manifest.files["loader.js"].gzip <= 1024
    open_chat = ("loader.js", "host.js", "widget.js", "widget.css", "theme-classic.css")
    assert sum(manifest.files[name].gzip for name in open_chat) <= 25 * 1024


async def test_assets_are_precompressed_immutable_and_revalidate(http):
    manifest = read_manifest()
    name = manifest.files["widget.js"].file
    body = (DIST_DIR / name).read_bytes()

    br = await http.get(f"/widget/assets/{name}", headers={"Accept-Encoding": "gzip, br"})
    assert br.status_code == 200 and br.headers["content-encoding"] == "br"
    assert br.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert br.headers["content-type"].startswith("text/javascript") and br.headers["vary"] == "Accept-Encoding"
    assert br.content == body  # httpx decodes it

    gz = await http.get(f"/widget/assets/{name}", headers={"Accept-Encoding": "gzip"})
    assert gz.headers["content-encoding"] == "gzip" and gz.content == body
    plain = await http.get(f"/widget/assets/{name}", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == body
    refused = await http.get(f"/widget/assets/{name}", headers={"Accept-Encoding": "br;q=0, gzip"})
    assert refused.headers["content-encoding"] == "gzip"
    assert len({br.headers["etag"], gz.headers["etag"], plain.headers["etag"]}) == 3

    again = await http.get(f"/widget/assets/{name}", headers={"Accept-Encoding": "gzip, br",
                                                             "If-None-Match": br.headers["etag"]})
    assert again.status_code == 304 and again.content == b""

    missing = await http.get("/widget/assets/widget.000000000000.js")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found"


async def test_the_loader_keeps_its_url_with_a_short_max_age(http):
    r = await http.get("/widget/loader.js", headers={"Accept-Encoding": "br"})
    assert r.status_code == 200 and r.headers["content-encoding"] == "br"
    assert r.headers["cache-control"].startswith("public, max-age=300")
    assert r.content == (DIST_DIR / read_manifest().files["loader.js"].file).read_bytes()
    assert (await http.get("/widget/loader.js", headers={"Accept-Encoding": "br",
                                                        "If-None-Match": r.headers["etag"]})).status_code == 304


# --- snippet and frame ------------------------------------------------------------------------------------------------


async def test_the_snippet_names_the_license_and_takes_a_nonce(http, server, org):
    r = await http.get("/widget/snippet", params={"organization_id": org, "nonce": "abc123+/="})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert f'window.__ws.organization_id = "{org}";' in r.text
    assert f'<script async src="{server.url}/widget/loader.js" nonce="abc123+/="></script>' in r.text
    assert r.text.count('nonce="abc123+/="') == 2
    bad = await http.get("/widget/snippet", params={"organization_id": org, "nonce": '"><script>'})
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "validation"
    unknown = await http.get("/widget/snippet", params={"organization_id": "nope"})
    assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "license_not_found"


async def test_the_frame_page_has_a_strict_csp_limited_to_the_allowed_origins(http, valkey):
    org = await new_license(valkey, LicenseConfig(allowed_origins=[ORIGIN]))
    r = await http.get("/widget/frame", params={"organization_id": org}, headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp
    assert f"frame-ancestors {ORIGIN};" in csp
    assert "<script" in r.text and "<script>" not in r.text and " style=" not in r.text  # no inline script or style
    manifest = read_manifest()
    assert f"/widget/assets/{manifest.files['widget.js'].file}" in r.text
    anywhere = await http.get("/widget/frame", params={"organization_id": await new_license(valkey)})
    assert "frame-ancestors *;" in anywhere.headers["content-security-policy"]


# --- the loader's visit ------------------------------------------------------------------------------------------------


async def test_a_visit_gives_identity_token_launcher_and_counts_the_page(http, server, org, valkey):
    r = await visit(http, org)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["availability"] == "offline" and body["active_chat"] is False
    launcher = body["launcher"]
    assert launcher["vars"]["--c"] == "#1d4ed8" and launcher["cls"] == "w icon" and ":host" in launcher["css"]
    assert launcher["frame"].startswith(f"{server.url}/widget/frame?organization_id={org}")
    assert launcher["host"].startswith(f"{server.url}/widget/assets/host.")
    cid = body["customer_id"]

    # the same browser comes back: by its cookie, or (cookies blocked) by the stored signed identity
    again = await visit(http, org)
    assert again.json()["customer_id"] == cid
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as cookieless:
        stored = await visit(cookieless, org, cst=body["cst"])
        assert stored.json()["customer_id"] == cid
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as cookieless:
        stranger = await visit(cookieless, org, cst="forged.value")
        assert stranger.json()["customer_id"] != cid

    # heartbeats and SPA page views carry the token; the tracker has them all
    beat = await visit(http, org, "heartbeat", token=body["token"])
    assert beat.status_code == 200 and beat.json()["token"] == body["token"]
    spa = await visit(http, org, "page_view", token=body["token"], url="https://shop.example/cart", title="Cart")
    assert spa.status_code == 200
    from widget_server.tracking import Tracker

    visitor = await Tracker(valkey).visitor(org, cid)
    assert visitor.statistics.page_views_count == 4  # 3 loads of the same browser (a heartbeat is no page view) + 1
    assert visitor.last_pages[-1].url == "https://shop.example/cart"

    expired = await visit(http, org, "heartbeat", token="dal:forged")
    assert expired.status_code == 401 and expired.json()["error"]["type"] == "authentication"


async def test_visit_bad_input_gets_typed_errors(http, org):
    r = await http.post("/v1/widget/visit", content=b"{not json")
    assert r.status_code == 400 and r.json()["error"]["type"] == "validation"
    r = await http.post("/v1/widget/visit", content=visit_body(org, "dance"))
    assert r.status_code == 400 and "type" in r.json()["error"]["message"]
    r = await http.post("/v1/widget/visit", content=visit_body("no-such-license"))
    assert r.status_code == 404 and r.json()["error"]["type"] == "license_not_found"
    r = await http.post("/v1/widget/visit", content=json.dumps(
        {"type": "visit", "cfg": {"organization_id": org, "group": 7}, "url": "https://x.example/"}).encode())
    assert r.status_code == 404 and r.json()["error"]["type"] == "group_not_found"


async def test_tracking_calls_answer_with_the_app_s_cors_headers_and_its_limits(http, org):
    """Page views and heartbeats are answered before Litestar's request path (``api/fast_assets.py``): a page on
    another origin must still read the answer with credentials, and errors keep their types."""
    token = (await visit(http, org)).json()["token"]
    cors = {"access-control-allow-origin": ORIGIN, "access-control-allow-credentials": "true", "vary": "Origin"}
    for kind in ("heartbeat", "page_view"):
        r = await visit(http, org, kind, token=token)
        assert r.status_code == 200 and {k: r.headers.get(k) for k in cors} == cors, r.headers
        assert r.headers["content-type"] == "application/json" and r.json()["customer_id"]
    tracked = await http.post("/v1/track", params={"organization_id": org}, headers={"Origin": ORIGIN},
                              json={"type": "page_view", "url": "https://shop.example/", "token": token})
    assert tracked.status_code == 200 and tracked.json()["tracked"]
    assert {k: tracked.headers.get(k) for k in cors} == cors
    # the same headers on errors, which keep LiveChat's shape
    r = await visit(http, org, "heartbeat", token="dal:forged")
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication"
    assert r.headers["access-control-allow-origin"] == ORIGIN
    r = await visit(http, org, "page_view", token=token, url="https://shop.example/" + "x" * 20_000)
    assert r.status_code == 413 and r.json()["error"]["type"] == "entity_too_large"
    r = await http.post("/v1/track", params={"organization_id": org}, content=b"{" * 40_000,
                        headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 413 and r.json()["error"]["type"] == "entity_too_large"
    # a body sent in pieces is read whole
    async def pieces():
        body = visit_body(org, "page_view", token=token, url="https://shop.example/chunked")
        for i in range(0, len(body), 50):
            yield body[i:i + 50]
    r = await http.post("/v1/widget/visit", content=pieces(), headers={"Content-Type": "text/plain;charset=UTF-8"})
    assert r.status_code == 200, r.text
    # a page load sets the identity cookies; each cookie may come in a header field of its own (HTTP/2)
    async with httpx.AsyncClient(base_url=http.base_url, timeout=10) as fresh:
        first = await visit(fresh, org)
        assert first.status_code == 200 and first.json()["launcher"]
        set_cookies = first.headers.get_list("set-cookie")
        assert sorted(c.split("=", 1)[0] for c in set_cookies) == ["__lc_cid", "__lc_cst"]
        assert all("HttpOnly" in c and "Path=/" in c for c in set_cookies)
        pairs = [c.split(";", 1)[0] for c in set_cookies]
    # (from the same site: another site's page gets a visitor of its own, tests/test_least_privilege.py)
    fields = [("content-type", "text/plain;charset=UTF-8"), ("origin", ORIGIN), *(("cookie", pair) for pair in pairs)]
    async with httpx.AsyncClient(base_url=http.base_url, timeout=10) as other:
        again = await other.post("/v1/widget/visit", content=visit_body(org), headers=fields)
    assert again.json()["customer_id"] == first.json()["customer_id"]
    # a preview takes Litestar's path, with the body the front read to learn its type
    r = await http.post("/v1/widget/visit", content=json.dumps({"type": "visit", "url": "https://shop.example/",
                        "cfg": {"organization_id": org, "group": 0, "preview": "expired"}}).encode())
    assert r.status_code == 403 and "preview" in r.json()["error"]["message"]


def test_identity_cookies_are_written_as_litestar_writes_them():
    from litestar.datastructures import Cookie

    from widget_server.web.responses import set_cookie_field

    for cookie in (Cookie(key="__lc_cid", value="0b4f6a43-5b1e-4f32-9d0e-6f8a3c2d1e00", max_age=63072000,
                          httponly=True, secure=False, samesite="lax", path="/"),
                   Cookie(key="__lc_cst", value="ImFiYyI.c2ln-_=", max_age=10, httponly=True, secure=True,
                          samesite="none"),
                   Cookie(key="x", value="needs quoting; yes", path="/"), Cookie(key="y", value="", max_age=0)):
        assert set_cookie_field(cookie) == cookie.to_encoded_header(), cookie


async def test_a_banned_visitor_s_page_load_is_refused_and_changes_nothing(http, org, valkey):
    body = json.loads(visit_body(org))
    first = await http.post("/v1/widget/visit", json=body)
    cid = first.json()["customer_id"]
    await valkey.hset(keys.customer(cid), "banned_until", int(time.time()) + 3600)
    body["cfg"]["customer"] = {"name": "Mallory"}
    r = await http.post("/v1/widget/visit", json=body)
    assert r.status_code == 403 and r.json()["error"]["type"] == "customer_banned"
    assert await valkey.hget(keys.customer(cid), "name") is None
    await valkey.hset(keys.customer(cid), "banned_until", int(time.time()) - 1)  # the ban ended
    assert (await http.post("/v1/widget/visit", json=body)).json()["customer_id"] == cid
    assert await valkey.hget(keys.customer(cid), "name") == b"Mallory"


async def test_identity_verification_links_a_user_across_browsers(server, org, valkey):
    secret = (await valkey.hget(keys.license(org), "identity_secret"))
    if secret is None:  # created on first use
        async with httpx.AsyncClient(base_url=server.url) as warm:
            await visit(warm, org, cfg={"organization_id": org, "user_id": "42", "user_hash": "00"})
        secret = await valkey.hget(keys.license(org), "identity_secret")
    user_hash = hmac.new(secret, b"42", hashlib.sha256).hexdigest()
    ids = []
    for _ in range(2):  # two browsers, no shared cookie
        async with httpx.AsyncClient(base_url=server.url) as browser:
            r = await visit(browser, org, cfg={"organization_id": org, "user_id": "42", "user_hash": user_hash,
                                               "customer": {"name": "Ada", "email": "ada@example.com"}})
            assert r.status_code == 200 and "identity_error" not in r.json()
            ids.append(r.json()["customer_id"])
    assert ids[0] == ids[1]
    async with httpx.AsyncClient(base_url=server.url) as browser:
        forged = await visit(browser, org, cfg={"organization_id": org, "user_id": "42", "user_hash": "0" * 64})
    assert forged.json()["customer_id"] != ids[0] and "user_hash" in forged.json()["identity_error"]


# --- the frame's configuration -------------------------------------------------------------------------------------


async def test_config_has_theme_texts_forms_and_the_visitor_part(http, valkey):
    appearance = Appearance(theme="dark", primary_color="#ff6600", position="bottom-left", title="Talk to Acme")
    org = await new_license(valkey, LicenseConfig(appearance=appearance))
    token = (await visit(http, org)).json()["token"]
    r = await http.get("/v1/widget/config", params={"organization_id": org},
                       headers={"Authorization": f"Bearer {token}", "Accept-Language": "de-AT,de;q=0.9,en;q=0.5"})
    assert r.status_code == 200, r.text
    body = r.json()
    static, visitor = body["static"], body["visitor"]
    assert static["language"] == "de" and static["texts"]["send"] == "Senden"
    assert static["title"] == "Talk to Acme" and static["position"] == "bottom-left"
    assert static["theme"]["name"] == "dark" and static["theme"]["variables"]["--ws-primary"] == "#ff6600"
    assert static["theme"]["variables"]["--ws-on-primary"] == "#111111"  # dark text reads better on orange
    assert static["theme"]["css"].startswith("/widget/assets/theme-dark.")
    assert static["ticket_form"]["id"] == "ticket" and "prechat_form" not in static
    assert visitor == {"online": False, "chats": [], "customer": {"id": (await visit(http, org)).json()["customer_id"]}}
    again = await http.get("/v1/widget/config", params={"organization_id": org},
                           headers={"Authorization": f"Bearer {token}", "Accept-Language": "de",
                                    "If-None-Match": r.headers["etag"]})
    assert again.status_code == 304

    spanish = await http.get("/v1/widget/config", params={"organization_id": org},
                             headers={"Accept-Language": "es-MX,es;q=0.8"})
    assert spanish.json()["static"]["texts"]["send"] == "Enviar" and "customer" not in spanish.json()["visitor"]


async def test_config_shows_online_agents_and_the_visitor_s_chats(http, server, valkey):
    org = await new_license(valkey)
    creds = await create_agent(valkey, org, "ann@example.com", "Ann", "normal")
    agent = AgentClient(server.url, "ann@example.com", creds["personal_access_token"])
    try:
        await agent.ok("set_routing_status", {"status": "accepting_chats"})
        first = (await visit(http, org)).json()
        assert first["availability"] == "online"
        token = first["token"]
        started = await http.post(f"/v3.6/customer/action/start_chat?organization_id={org}", json={
            "chat": {"thread": {"events": [{"type": "message", "text": "hi"}]}}},
            headers={"Authorization": f"Bearer {token}"})
        assert started.status_code == 200, started.text
        r = await http.get("/v1/widget/config", params={"organization_id": org},
                           headers={"Authorization": f"Bearer {token}"})
        visitor = r.json()["visitor"]
        assert visitor["online"] is True
        assert [(c["id"], c["active"]) for c in visitor["chats"]] == [(started.json()["chat_id"], True)]
        assert (await visit(http, org)).json()["active_chat"] is True
    finally:
        await agent.aclose()


async def test_appearance_is_set_and_validated_through_the_configuration_api(http, server, valkey):
    creds = await create_license(valkey, f"owner-{secrets.token_hex(4)}@example.com", "pw")
    org = creds["organization_id"]
    owner = {"Authorization": f"Bearer {creds['owner']['personal_access_token']}"}
    url = "/v3.6/configuration/action/update_license_properties"
    bad = await http.post(url, headers=owner, json={"properties": {"widget": {"appearance": {"primary_color": "red"}}}})
    assert bad.status_code == 400 and "primary_color" in bad.json()["error"]["message"]
    sneaky = await http.post(url, headers=owner, json={"properties": {"widget": {"appearance": {"theme": "../x"}}}})
    assert sneaky.status_code == 400
    good = await http.post(url, headers=owner, json={"properties": {"widget": {"appearance": {
        "theme": "modern", "primary_color": "#0a7d32", "launcher": "text", "launcher_text": "Questions?"}}}})
    assert good.status_code == 200, good.text
    store = Store(valkey)
    assert (await store.license_config(org)).appearance.primary_color == "#0a7d32"
    launcher = (await visit(http, org)).json()["launcher"]
    if launcher["vars"]["--c"] != "#0a7d32":  # another worker's 2 s configuration cache: look again after it
        await asyncio.sleep(2.1)
        launcher = (await visit(http, org)).json()["launcher"]
    assert launcher["vars"]["--c"] == "#0a7d32" and launcher["cls"] == "w text" and launcher["text"] == "Questions?"


async def test_the_anonymous_configuration_is_shared_but_follows_changes(http, server, valkey):
    """Without a visitor's token every visitor of a license, group and language gets the same configuration, which a
    worker keeps and answers from memory (``FastAssets._config``): a saved change and an agent's availability must
    still show as soon as they did before (the bus's invalidation, the availability's one second)."""
    creds = await create_license(valkey, f"owner-{secrets.token_hex(4)}@example.com", "pw")
    org = creds["organization_id"]
    agent_creds = await create_agent(valkey, org, "cara@example.com", "Cara", "normal")
    agent = AgentClient(server.url, "cara@example.com", agent_creds["personal_access_token"])
    params = {"organization_id": org, "group_id": "0"}

    async def config_until(check, headers=None):
        for _ in range(40):  # a change shows within the workers' caches (≤ 2 s)
            r = await http.get("/v1/widget/config", params=params, headers=headers)
            if check(r.json()):
                return r
            await asyncio.sleep(0.1)
        raise AssertionError(r.json())

    try:
        await agent.ok("set_routing_status", {"status": "accepting_chats"})
        first = await config_until(lambda c: c["visitor"]["online"])
        again = await http.get("/v1/widget/config", params=params)
        assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
        cached = await http.get("/v1/widget/config", params=params, headers={"If-None-Match": first.headers["etag"]})
        assert cached.status_code == 304 and cached.headers["etag"] == first.headers["etag"]
        head = await http.head("/v1/widget/config", params=params)
        assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == first.headers["etag"]
        german = await http.get("/v1/widget/config", params=params, headers={"Accept-Language": "de-DE,de;q=0.9"})
        assert german.json()["static"]["language"] == "de" and first.json()["static"]["language"] == "en"

        owner = {"Authorization": f"Bearer {creds['owner']['personal_access_token']}"}
        saved = await http.post("/v3.6/configuration/action/update_license_properties", headers=owner, json={
            "properties": {"widget": {"appearance": {"title": "Talk to Cara"}}}})
        assert saved.status_code == 200, saved.text
        changed = await config_until(lambda c: c["static"]["title"] == "Talk to Cara")
        assert changed.headers["etag"] != first.headers["etag"]

        await agent.ok("set_routing_status", {"status": "not_accepting_chats"})
        await config_until(lambda c: not c["visitor"]["online"])
    finally:
        await agent.aclose()


# --- themes and texts ---------------------------------------------------------------------------------------------------


def test_themes_are_validated_and_a_broken_one_is_reported_by_name(tmp_path, caplog):
    themes = load_themes()
    assert {"classic", "modern", "dark", "minimal"} <= set(themes)
    good = Path(__file__).resolve().parent.parent / "themes" / "classic"
    for name in ("ok", "broken"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "theme.css").write_text(".ws-header { color: var(--ws-text); }")
    (tmp_path / "ok" / "tokens.json").write_text((good / "tokens.json").read_text())
    tokens = json.loads((good / "tokens.json").read_text())
    tokens["colors"]["primary"] = "blue; background: url(x)"
    (tmp_path / "broken" / "tokens.json").write_text(json.dumps(tokens))
    loaded = load_themes(tmp_path)
    assert set(loaded) == {"ok"}
    assert "theme 'broken' is broken" in caplog.text and "colors.primary" in caplog.text


def test_every_locale_has_every_text_and_accept_language_is_negotiated():
    keys = set(TEXTS["en"])
    assert len(TEXTS) >= 3
    for lang, texts in TEXTS.items():
        assert set(texts) == keys, lang
    assert negotiate("fr-CA,fr;q=0.9,en;q=0.8") == "fr"
    assert negotiate("ja,de;q=0.5,es;q=0.7") == "es"
    assert negotiate("ja") == "en" and negotiate(None, "pl") == "pl" and negotiate("de;q=0") == "en"


async def test_the_demo_page_embeds_the_snippet(http, org):
    r = await http.get("/demo", params={"organization_id": org})
    assert r.status_code == 200 and f'window.__ws.organization_id = "{org}";' in r.text
    assert '<script async src="' in r.text and "/widget/loader.js" in r.text
    assert (await http.get("/widget/demo.js")).headers["content-type"].startswith("text/javascript")


async def test_the_json_answers_are_compressed_for_clients_that_take_it(http, org):
    for encoding in ("br", "gzip"):
        r = await visit(http, org, headers={"Accept-Encoding": encoding})
        assert r.headers["content-encoding"] == encoding and r.json()["launcher"]["css"]  # decoded by httpx
        assert r.headers["cache-control"] == "no-store"
    plain = await visit(http, org, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.json()["token"]
    config = await http.get("/v1/widget/config", params={"organization_id": org}, headers={"Accept-Encoding": "br"})
    assert config.headers["content-encoding"] == "br" and config.json()["static"]["texts"]
    assert "Accept-Encoding" in config.headers["vary"]
