"""The theming wizard over HTTP, as a site owner's browser uses it: sign-in and sessions, CSRF and other sites refused,
sign-in attempts limited, settings saved as versions and restored, bad input refused field by field, the avatar
upload, the pre-chat survey builder, the live preview's drafts, saved settings reaching another server at once, the
install page and the visitors dashboard."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import struct
import zlib
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from tests.support import CustomerClient
from widget_server import keys
from widget_server.bootstrap import create_license
from widget_server.protocol.config import LicenseConfig
from widget_server.auth.sessions import MAX_FAILURES_PER_EMAIL, MAX_FAILURES_PER_IP

ORIGIN = "https://shop.example"
CLASSIC_PRIMARY = "#1d4ed8"


# --- an owner's browser ------------------------------------------------------------------------------------------------


class FormReader(HTMLParser):
    """The values a browser would submit from one form of a page (text, hidden, number, checked boxes and radios,
    selected options, textareas); file inputs are left out."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.values: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None
        self._template = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "template":
            self._template += 1
        if self._template or "name" not in a:
            return
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.values[a["name"]] = a.get("value", "on")
            elif kind != "file":
                self.values[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a["name"]
        elif tag == "textarea":
            self._textarea = a["name"]
            self.values[a["name"]] = ""

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "template":
            self._template -= 1
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea and not self._template:
            self.values[self._textarea] += data


def read_form(page: str, form_id: str = "settings") -> dict[str, str]:
    reader = FormReader(form_id)
    reader.feed(page)
    values = reader.values
    # selects: the selected option, else the first (a browser submits one either way)
    form = page[page.index(f'id="{form_id}"'):]
    form = re.sub(r"<template.*?</template>", "", form, flags=re.S)
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, flags=re.S):
        options = re.findall(r'<option value="([^"]*)"([^>]*)>', body)
        chosen = next((v for v, rest in options if "selected" in rest), options[0][0] if options else "")
        values[name] = chosen
    return values


def field_error(page: str, name: str) -> str:
    """The message shown next to a field (empty when there is none)."""
    m = re.search(rf'<p class="field-error" id="{re.escape(name)}-error"( hidden)?>(.*?)</p>', page, flags=re.S)
    assert m is not None, f"no error slot for {name}"
    return "" if m.group(1) else m.group(2)


class Owner:
    def __init__(self, url: str, email: str, password: str, org: str, token: str = "") -> None:
        self.http = httpx.AsyncClient(base_url=url, timeout=10)
        self.email, self.password, self.org = email, password, org
        self.token = token
        """The owner's personal access token (the Configuration API)."""
        self.csrf = ""

    async def login_form(self) -> str:
        page = await self.http.get("/wizard/login")
        assert page.status_code == 200
        return read_form(page.text, "login")["csrf"]

    async def sign_in(self, password: str | None = None, email: str | None = None) -> httpx.Response:
        token = await self.login_form()
        return await self.http.post("/wizard/login", data={"email": email or self.email, "csrf": token,
                                                             "password": self.password if password is None else password})

    async def settings(self) -> tuple[str, dict[str, str]]:
        page = await self.http.get("/wizard")
        assert page.status_code == 200, page.text[:500]
        values = read_form(page.text)
        self.csrf = values["csrf"]
        return page.text, values

    async def save(self, files: dict[str, Any] | None = None, **changes: str | None) -> httpx.Response:
        _, values = await self.settings()
        for name, value in changes.items():
            if value is None:
                values.pop(name, None)
            else:
                values[name] = value
        return await self.http.post("/wizard/settings", data=values, files=files)

    async def aclose(self) -> None:
        await self.http.aclose()


async def make_owner(valkey, url: str, config: LicenseConfig | None = None) -> Owner:
    email, password = f"owner-{secrets.token_hex(5)}@example.com", secrets.token_urlsafe(10)
    creds = await create_license(valkey, email, password, config)
    return Owner(url, email, password, creds["organization_id"], creds["owner"]["personal_access_token"])


@pytest.fixture
async def owner(valkey, server):
    o = await make_owner(valkey, server.url)
    r = await o.sign_in()
    assert r.status_code == 303 and r.headers["location"] == "/wizard"
    yield o
    await o.aclose()


async def visit(url: str, org: str, preview: str | None = None, origin: str = ORIGIN) -> httpx.Response:
    cfg: dict[str, Any] = {"organization_id": org, "group": 0}
    if preview is not None:
        cfg["preview"] = preview
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        return await http.post("/v1/widget/visit", headers={"Origin": origin, "Content-Type": "text/plain"},
                               content=json.dumps({"type": "visit", "cfg": cfg, "url": f"{origin}/"}))


async def launcher(url: str, org: str, preview: str | None = None) -> dict[str, Any]:
    r = await visit(url, org, preview)
    assert r.status_code == 200, r.text
    return r.json()["launcher"]


async def versions(valkey, org: str) -> dict[int, dict]:
    raw = await valkey.hgetall(keys.wizard_versions(org))
    return {int(k): json.loads(v) for k, v in raw.items()}


def png(width: int = 2, height: int = 2, padding: int = 0) -> bytes:
    """A real PNG (zlib-compressed rows of RGB pixels), optionally with a large ancillary chunk."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\xe1\x1d\x48" * width for _ in range(height))
    extra = chunk(b"tEXt", b"c\x00" + b"x" * padding) if padding else b""
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + extra
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


# --- sign-in -----------------------------------------------------------------------------------------------------------


async def test_an_owner_signs_in_sees_the_wizard_and_signs_out(valkey, server):
    owner = await make_owner(valkey, server.url)
    try:
        r = await owner.http.get("/wizard")
        assert r.status_code == 303 and r.headers["location"] == "/wizard/login"
        r = await owner.sign_in(password="not the password")
        assert r.status_code == 400 and "Wrong e-mail address or password" in r.text
        r = await owner.sign_in()
        assert r.status_code == 303 and r.headers["location"] == "/wizard"
        cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("ws_wizard="))
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax") and "Path=/wizard" in cookie
        page, values = await owner.settings()
        assert values["theme"] == "classic" and values["position"] == "bottom-right"
        headers = (await owner.http.get("/wizard")).headers
        assert "script-src 'self'" in headers["content-security-policy"] and "unsafe-inline" not in page
        assert headers["x-frame-options"] == "DENY"
        # every control has a label: a <label for> or, for the colour pickers beside their fields, an aria-label
        for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", page):
            if 'type="hidden"' in tag:
                continue
            control_id = re.search(r'\bid="([^"]+)"', tag)
            assert "aria-label=" in tag or (control_id and f'for="{control_id.group(1)}"' in page), tag
        r = await owner.http.post("/wizard/logout", data={"csrf": owner.csrf})
        assert r.status_code == 303 and r.headers["location"].startswith("/wizard/login")
        assert (await owner.http.get("/wizard")).status_code == 303
        session_keys = [k async for k in valkey.scan_iter(match=f"{keys.P}:wizard:session:*")]
        assert [k for k in session_keys if await valkey.hget(k, "email") == owner.email.encode()] == []
    finally:
        await owner.aclose()


async def test_passwords_are_kept_as_argon2id_and_an_older_hash_is_replaced_on_sign_in(valkey, server):
    owner = await make_owner(valkey, server.url)
    login = keys.owner_login(owner.email)
    try:
        stored = (await valkey.hget(login, "password")).decode()
        assert stored.startswith("$argon2id$") and owner.password not in stored
        m, t, p = (int(v) for v in re.search(r"m=(\d+),t=(\d+),p=(\d+)", stored).groups())
        assert m >= 19 * 1024 and t >= 2 and p >= 1  # OWASP's argon2id floor (19 MiB, 2 iterations, 1 lane)
        # as an earlier version stored it: scrypt at N=2^14
        salt = secrets.token_bytes(16)
        digest = hashlib.scrypt(owner.password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
        await valkey.hset(login, "password", f"scrypt${salt.hex()}${digest.hex()}")
        assert (await owner.sign_in(password="not the password")).status_code == 400
        assert (await valkey.hget(login, "password")).decode().startswith("scrypt$")  # a wrong password changes nothing
        assert (await owner.sign_in()).status_code == 303  # the old hash still signs in ...
        rehashed = (await valkey.hget(login, "password")).decode()
        assert rehashed.startswith("$argon2id$")  # ... and is replaced by argon2id
        await owner.http.post("/wizard/logout", data={"csrf": (await owner.settings())[1]["csrf"]})
        assert (await owner.sign_in()).status_code == 303  # with which the next sign-in works
        assert (await valkey.hget(login, "password")).decode() == rehashed
    finally:
        await owner.aclose()


async def test_a_forged_or_foreign_session_cookie_is_not_a_session(server, owner):
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as other:
        forged = owner.http.cookies.get("ws_wizard", path="/wizard")[:-3] + "AAA"
        other.cookies.set("ws_wizard", forged, path="/wizard")
        assert (await other.get("/wizard")).status_code == 303


async def test_posts_without_the_sessions_csrf_token_are_refused_and_change_nothing(valkey, owner):
    _, values = await owner.settings()
    for csrf in (None, "", "forged-token"):
        data = {**values, "primary_color": "#e11d48"}
        if csrf is None:
            data.pop("csrf")
        else:
            data["csrf"] = csrf
        r = await owner.http.post("/wizard/settings", data=data)
        assert r.status_code == 403 and "did not come from the wizard" in r.text
        r = await owner.http.post("/wizard/draft", data=data)
        assert r.status_code == 403 and "error" in r.json()
    assert (await owner.http.post("/wizard/restore", data={"version": "1"})).status_code == 403
    assert (await owner.http.post("/wizard/logout", data={})).status_code == 403
    assert await versions(valkey, owner.org) == {}
    assert (await launcher(owner.http.base_url.__str__(), owner.org))["vars"]["--c"] == CLASSIC_PRIMARY
    # the sign-in form's own token: a post without it (or with another browser's) is not a sign-in
    async with httpx.AsyncClient(base_url=str(owner.http.base_url), timeout=10) as fresh:
        r = await fresh.post("/wizard/login", data={"email": owner.email, "password": owner.password, "csrf": "x"})
        assert r.status_code == 403 and "expired" in r.text and "ws_wizard=" not in r.headers.get("set-cookie", "")


async def test_other_sites_cannot_read_or_post_to_the_wizard(owner):
    _, values = await owner.settings()
    evil = {"Origin": "https://evil.example"}
    r = await owner.http.get("/wizard", headers=evil)
    assert r.status_code == 403 and owner.csrf not in r.text
    r = await owner.http.post("/wizard/settings", data={**values, "primary_color": "#000000"}, headers=evil)
    assert r.status_code == 403
    r = await owner.http.get("/wizard", headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"})
    assert r.status_code == 403
    # the wizard's own pages (same origin) and top-level navigations are fine
    assert (await owner.http.get("/wizard", headers={"Origin": str(owner.http.base_url).rstrip("/")})).status_code == 200
    assert (await owner.http.get("/wizard", headers={"Sec-Fetch-Site": "cross-site",
                                                      "Sec-Fetch-Mode": "navigate"})).status_code == 200


async def test_repeated_failed_sign_ins_for_an_address_are_refused_for_a_while(valkey, server):
    owner = await make_owner(valkey, server.url)
    try:
        for _ in range(MAX_FAILURES_PER_EMAIL):
            assert (await owner.sign_in(password="guess")).status_code == 400
        r = await owner.sign_in()  # even the right password, now
        assert r.status_code == 429 and f"Too many failed sign-ins for {owner.email}" in r.text
        assert 0 < int(r.headers["retry-after"]) <= 15 * 60
        assert (await owner.http.get("/wizard")).status_code == 303
        # another owner signing in from the same address is not locked out
        other = await make_owner(valkey, server.url)
        assert (await other.sign_in()).status_code == 303
        await other.aclose()
    finally:
        await owner.aclose()


async def test_repeated_failed_sign_ins_from_one_address_are_refused_for_a_while(valkey, server):
    ip_key = keys.wizard_login_failures("ip", "127.0.0.1")
    await valkey.delete(ip_key)
    owner = await make_owner(valkey, server.url)
    try:
        for i in range(MAX_FAILURES_PER_IP):
            r = await owner.sign_in(email=f"nobody-{i}@example.com", password="guess")
            assert r.status_code == 400 and "Wrong e-mail address or password" in r.text
        r = await owner.sign_in()
        assert r.status_code == 429 and "Too many failed sign-ins from your network" in r.text
        assert int(r.headers["retry-after"]) > 0
        assert (await owner.http.post("/wizard/login")).status_code == 403  # no form at all: refused, not a 500
    finally:
        await valkey.delete(ip_key)  # the other tests sign in from this address too
        await owner.aclose()


# --- saving, versions, restore -----------------------------------------------------------------------------------------


async def test_saving_creates_versions_and_restoring_one_brings_its_settings_back(valkey, server, owner):
    r = await owner.save(primary_color="#E11D48", position="bottom-left", title="Talk to Ann")
    assert r.status_code == 303 and r.headers["location"] == "/wizard?saved=2"
    page = (await owner.http.get(r.headers["location"])).text
    assert "Saved as version 2" in page
    _, values = await owner.settings()
    assert values["primary_color"] == "#e11d48" and values["position"] == "bottom-left"

    look = await launcher(server.url, owner.org)
    assert look["vars"]["--c"] == "#e11d48" and " l" in look["cls"]
    saved = await versions(valkey, owner.org)
    assert sorted(saved) == [1, 2] and saved[1]["initial"] is True and saved[2]["by"] == owner.email
    assert saved[2]["settings"]["appearance"]["primary_color"] == "#e11d48"

    history = (await owner.http.get("/wizard/history")).text
    assert "Restore version 1" in history and "Restore version 2" not in history and "current" in history
    r = await owner.http.post("/wizard/restore", data={"csrf": owner.csrf, "version": "1"})
    assert r.status_code == 303 and r.headers["location"] == "/wizard/history?restored=3"
    assert "Restored version 1 as version 3" in (await owner.http.get(r.headers["location"])).text
    look = await launcher(server.url, owner.org)
    assert look["vars"]["--c"] == CLASSIC_PRIMARY and " l" not in look["cls"]
    assert (await versions(valkey, owner.org))[3]["restored_from"] == 1
    # the rest of the configuration (groups, the Configuration API's properties) is not the wizard's to change
    r = await owner.http.post("/wizard/restore", data={"csrf": owner.csrf, "version": "99"})
    assert r.status_code == 404 and "no version 99" in r.text


async def test_the_wizard_keeps_what_it_does_not_edit(valkey, server):
    config = LicenseConfig(license_properties={"shop": {"plan": "gold"}}, language="de")
    owner = await make_owner(valkey, server.url, config)
    try:
        await owner.sign_in()
        assert (await owner.save(agent_name="Ann")).status_code == 303
        stored = json.loads(await valkey.get(keys.license_config(owner.org)))
        assert stored["license_properties"] == {"shop": {"plan": "gold"}} and stored["language"] == "de"
        assert stored["appearance"]["agent_name"] == "Ann"
    finally:
        await owner.aclose()


BAD_INPUT = [
    ("primary_color", "red", "Enter a colour as # and six hexadecimal digits"),
    ("text_color", "#12345g", "Enter a colour as # and six hexadecimal digits"),
    ("theme", "neon", "Unknown theme “neon”: choose one of"),
    ("greeting", "<script>alert(1)</script>", "Use plain text: remove the HTML markup"),
    ("title", "<img src=x onerror=alert(1)>", "Use plain text: remove the HTML markup"),
    ("agent_name", "x" * 81, "Use at most 80 characters (this has 81)"),
    ("width", "2000", "Enter a whole number from 300 to 640"),
    ("offset_x", "twenty", "Enter a whole number from 0 to 200"),
    ("position", "top-left", "Choose one of: Bottom right, Bottom left"),
    ("language", "xx", "Choose one of:"),
    ("allowed_origins", "https://shop.example/cart", "has more than an origin"),
    ("allowed_origins", "shop.example", "is not a web origin"),
]


async def test_bad_input_gets_a_message_next_to_its_field_and_nothing_is_saved(valkey, server, owner):
    for name, value, message in BAD_INPUT:
        r = await owner.save(**{name: value, "agent_name": "Saved?" if name != "agent_name" else value})
        assert r.status_code == 400, (name, r.status_code)
        slot = "theme" if name == "theme" else name
        assert message in field_error(r.text, slot).replace("&#34;", '"'), (name, field_error(r.text, slot))
        assert "Nothing was saved" in r.text
        # the summary at the top links to the field
        anchor = re.search(r'<li><a href="#([^"]+)">', r.text).group(1)
        assert f'id="{anchor}"' in r.text and anchor.startswith(slot), (name, anchor)
        if name not in ("theme", "position", "language"):  # the form shows what was sent, to correct it
            assert 'aria-invalid="true"' in r.text
    # markup is shown back as text, never as markup
    r = await owner.save(greeting="<script>alert(1)</script>")
    assert "<script>alert(1)</script>" not in r.text and "&lt;script&gt;" in r.text
    # the survey: a choice needs options
    r = await owner.save(**{"prechat_enabled": "1", "prechat-0-type": "choice", "prechat-0-label": "Topic?",
                            "prechat-0-options": "Only one"})
    assert r.status_code == 400 and "at least two options" in field_error(r.text, "prechat-0-options")
    # avatars: not an image, too big
    r = await owner.save(files={"avatar_file": ("avatar.png", b"<svg onload=alert(1)>", "image/png")})
    assert r.status_code == 400 and "not a PNG, JPEG, WebP or GIF" in field_error(r.text, "avatar_file")
    r = await owner.save(files={"avatar_file": ("big.png", png(padding=600 * 1024), "image/png")})
    assert r.status_code == 400 and "an avatar may be at most 512 KB" in field_error(r.text, "avatar_file")
    assert await versions(valkey, owner.org) == {}
    stored = json.loads(await valkey.get(keys.license_config(owner.org)))
    assert stored.get("appearance", {}).get("agent_name", "") == ""


async def test_an_avatar_upload_is_checked_kept_and_served_to_the_widget(valkey, server, owner):
    image = png(8, 8)
    r = await owner.save(files={"avatar_file": ("me.png", image, "image/png")}, agent_name="Ann")
    assert r.status_code == 303, r.text[:2000]
    stored = json.loads(await valkey.get(keys.license_config(owner.org)))["appearance"]
    url = stored["agent_avatar"]
    assert re.fullmatch(rf"/widget/avatars/{owner.org}/[0-9a-f]{{32}}\.png", url)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        served = await http.get(url)
        assert served.status_code == 200 and served.content == image
        assert served.headers["content-type"] == "image/png" and served.headers["x-content-type-options"] == "nosniff"
        assert "immutable" in served.headers["cache-control"]
        config = (await http.get("/v1/widget/config", params={"organization_id": owner.org})).json()
        assert config["static"]["agent_avatar"] == url and config["static"]["agent_name"] == "Ann"
        assert (await http.get(f"/widget/avatars/{owner.org}/{'0' * 32}.png")).status_code == 404
        assert (await http.get("/widget/avatars/x/../../etc")).status_code == 404
    name = url.rsplit("/", 1)[1]
    assert await valkey.ttl(keys.avatar(owner.org, name)) == -1  # saved: kept for good
    # the form keeps it on the next save, and can remove it
    assert (await owner.save(title="Hello")).status_code == 303
    assert json.loads(await valkey.get(keys.license_config(owner.org)))["appearance"]["agent_avatar"] == url
    assert (await owner.save(avatar_remove="1")).status_code == 303
    assert "agent_avatar" not in json.loads(await valkey.get(keys.license_config(owner.org)))["appearance"]


async def test_the_survey_builder_saves_the_prechat_form_in_its_order(valkey, server, owner):
    _, values = await owner.settings()
    for name in [n for n in values if n.startswith("prechat-")]:
        values.pop(name)
    rows = [("choice", "What is it about?", True, "Billing\nDelivery\n\nReturns"), ("name", "Your name", False, ""),
            ("email", "Your e-mail", True, ""), ("question", "", False, ""),  # no question: left out
            ("question", "Order number?", False, "")]
    for i, (kind, label, required, options) in enumerate(rows):
        values |= {f"prechat-{i}-type": kind, f"prechat-{i}-label": label, f"prechat-{i}-options": options}
        if required:
            values[f"prechat-{i}-required"] = "1"
    values["prechat_enabled"] = "1"
    r = await owner.http.post("/wizard/settings", data=values)
    assert r.status_code == 303, r.text[:3000]
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        config = (await http.get("/v1/widget/config", params={"organization_id": owner.org})).json()
    fields = config["static"]["prechat_form"]["fields"]
    assert [(f["type"], f["label"], f.get("required", False)) for f in fields] == [
        ("radio", "What is it about?", True), ("name", "Your name", False), ("email", "Your e-mail", True),
        ("question", "Order number?", False)]
    assert fields[0]["options"] == [{"label": "Billing"}, {"label": "Delivery"}, {"label": "Returns"}]
    assert len({f["id"] for f in fields}) == 4
    # the form shows the survey as saved
    _, values = await owner.settings()
    assert values["prechat-0-type"] == "choice" and values["prechat-0-options"].split() == ["Billing", "Delivery",
                                                                                           "Returns"]
    assert values["prechat-3-label"] == "Order number?" and values.get("prechat_enabled") == "1"
    # turned off: the widget asks nothing
    values.pop("prechat_enabled")
    assert (await owner.http.post("/wizard/settings", data=values)).status_code == 303
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        config = (await http.get("/v1/widget/config", params={"organization_id": owner.org})).json()
    assert "prechat_form" not in config["static"]


def with_rows(values: dict[str, str], kind: str, rows: list[tuple[str, str, bool, str]]) -> dict[str, str]:
    """The form's values with ``kind``'s builder holding exactly ``rows`` (type, label, required, options)."""
    values = {k: v for k, v in values.items() if not k.startswith(f"{kind}-")}
    for i, (field, label, required, options) in enumerate(rows):
        values |= {f"{kind}-{i}-type": field, f"{kind}-{i}-label": label, f"{kind}-{i}-options": options}
        if required:
            values[f"{kind}-{i}-required"] = "1"
    return values


async def test_the_wizard_edits_the_postchat_survey_and_the_offline_message_form(valkey, server, owner):
    page, values = await owner.settings()
    # never saved: the builders show the widget's defaults, the post-chat survey off, the message form always on
    assert values["postchat-0-type"] == "rating" and "postchat_enabled" not in values
    assert [values[f"ticket-{i}-type"] for i in range(3)] == ["name", "email", "textarea"]
    assert values.get("ticket-1-required") == "1" and 'id="ticket_enabled"' not in page

    values = with_rows(values, "postchat", [("rating", "How did we do?", True, ""),
                                            ("choice", "Was your question answered?", False, "Yes\nNo"),
                                            ("question", "Anything else?", False, "")])
    values = with_rows(values, "ticket", [("textarea", "What can we help with?", True, ""),
                                          ("email", "Your e-mail", True, ""), ("name", "Your name", False, "")])
    values["postchat_enabled"] = "1"
    r = await owner.http.post("/wizard/settings", data=values)
    assert r.status_code == 303, r.text[:3000]

    customer = await CustomerClient(server.url, owner.org).authorize()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            static = (await http.get("/v1/widget/config", params={"organization_id": owner.org})).json()["static"]
        post, ticket = static["postchat_form"], static["ticket_form"]
        assert post["id"] == "postchat" and [(f["type"], f["label"], f.get("required", False)) for f in
                                             post["fields"]] == [("rating", "How did we do?", True),
                                                                 ("radio", "Was your question answered?", False),
                                                                 ("question", "Anything else?", False)]
        assert ticket["id"] == "ticket" and [(f["type"], f.get("required", False)) for f in ticket["fields"]] == [
            ("textarea", True), ("email", True), ("name", False)]
        # the Customer API serves the same forms
        assert await customer.ok("get_form", {"group_id": 0, "type": "postchat"}) == {"enabled": True, "form": post}
        assert await customer.ok("get_form", {"group_id": 0, "type": "ticket"}) == {"enabled": True, "form": ticket}
    finally:
        await customer.aclose()
    # the page shows them as saved
    _, values = await owner.settings()
    assert values.get("postchat_enabled") == "1" and values["postchat-1-options"].split() == ["Yes", "No"]
    assert [values[f"ticket-{i}-label"] for i in range(3)] == ["What can we help with?", "Your e-mail", "Your name"]

    # refused, field by field, and nothing saved: a message form nobody can answer, two ratings, a rating before
    # the chat, a name asked after it
    for kind, rows, slot, message in [
        ("ticket", [("name", "Name", True, ""), ("email", "E-mail", False, "")], "ticket", "required e-mail field"),
        ("postchat", [("rating", "Good?", False, ""), ("rating", "Really?", False, "")], "postchat", "once"),
        ("prechat", [("rating", "Rate us first", False, "")], "prechat-0-type", "Choose a field type"),
        ("postchat", [("name", "Your name", False, "")], "postchat-0-type", "Choose a field type"),
    ]:
        _, values = await owner.settings()
        r = await owner.http.post("/wizard/settings", data=with_rows(values, kind, rows))
        assert r.status_code == 400 and message in field_error(r.text, slot), (kind, slot)
    assert sorted(await versions(valkey, owner.org)) == [1, 2]  # the initial settings and the one save

    # turned off: the widget shows no survey when a chat ends; the message form stays
    _, values = await owner.settings()
    values.pop("postchat_enabled")
    assert (await owner.http.post("/wizard/settings", data=values)).status_code == 303
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        static = (await http.get("/v1/widget/config", params={"organization_id": owner.org})).json()["static"]
    assert "postchat_form" not in static and static["ticket_form"] == ticket


async def test_contrast_warnings_advise_without_blocking(valkey, owner):
    r = await owner.save(text_color="#cccccc", background_color="#ffffff")
    assert r.status_code == 303
    page, _ = await owner.settings()
    assert "Low contrast: the text colour #cccccc on the background #ffffff reaches 1.6:1" in page
    r = await owner.save(primary_color="#777777", text_color="", background_color="")
    page, _ = await owner.settings()
    # white on #777777 is 4.48:1, shown rounded down: a ratio that just misses is never shown as passing
    assert "Low contrast: text on the primary colour #777777 reaches 4.4:1" in page
    assert "Low contrast: the text colour" not in page


# --- the live preview --------------------------------------------------------------------------------------------------


async def test_the_preview_shows_the_unsaved_draft_only_with_its_token(valkey, server, owner):
    _, values = await owner.settings()
    preview_page = await owner.http.get("/wizard/preview")
    assert preview_page.status_code == 200
    assert "frame-ancestors 'self'" in preview_page.headers["content-security-policy"]
    token = re.search(r'data-preview="([^"]+)"', preview_page.text).group(1)

    r = await owner.http.post("/wizard/draft", data={**values, "primary_color": "#0f766e", "title": "Draft title",
                                                     "preview_agents": "offline"},
                              headers={"X-CSRF-Token": owner.csrf})
    assert r.status_code == 200 and r.json()["errors"] == {}
    draft = await launcher(server.url, owner.org, token)
    assert draft["vars"]["--c"] == "#0f766e" and f"preview={token}" in draft["frame"]
    assert (await launcher(server.url, owner.org))["vars"]["--c"] == CLASSIC_PRIMARY  # visitors: the saved one
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        config = (await http.get("/v1/widget/config", params={"organization_id": owner.org, "preview": token})).json()
        assert config["static"]["title"] == "Draft title" and config["visitor"]["online"] is False
        assert config["static"]["theme"]["variables"]["--ws-primary"] == "#0f766e"
        frame = await http.get(draft["frame"].replace(server.url, ""))
        assert frame.status_code == 200 and "frame-ancestors 'self'" in frame.headers["content-security-policy"]
        saved = (await http.get("/v1/widget/config", params={"organization_id": owner.org})).json()
        assert saved["static"]["title"] == "Chat with us"
        for bad in ("not-a-token", token + "x"):
            r = await http.get("/v1/widget/config", params={"organization_id": owner.org, "preview": bad})
            assert r.status_code == 403 and r.json()["error"]["type"] == "authorization"
    assert (await visit(server.url, owner.org, "forged")).status_code == 403
    other = await make_owner(valkey, server.url)  # a token is only good for its own license
    assert (await visit(server.url, other.org, token)).status_code == 403
    await other.aclose()

    # a bad draft: field errors for the form, and the preview keeps the last good draft
    r = await owner.http.post("/wizard/draft", data={**values, "primary_color": "nope"},
                              headers={"X-CSRF-Token": owner.csrf})
    assert r.status_code == 400 and "six hexadecimal digits" in r.json()["errors"]["primary_color"]
    assert (await launcher(server.url, owner.org, token))["vars"]["--c"] == "#0f766e"
    assert await versions(valkey, owner.org) == {}  # drafts are not versions


async def test_the_preview_is_not_counted_as_a_visitor(valkey, server, owner):
    token = re.search(r'data-preview="([^"]+)"', (await owner.http.get("/wizard/preview")).text).group(1)
    await launcher(server.url, owner.org, token)
    page = (await owner.http.get("/wizard/dashboard")).text
    assert re.search(r'id="stat-page-views">0<', page)


# --- every worker, at once ---------------------------------------------------------------------------------------------


async def test_saved_settings_apply_at_once_on_another_server(valkey, server, server2, owner):
    # server2 has the configuration in its cache (every visit reads it)
    assert (await launcher(server2.url, owner.org))["vars"]["--c"] == CLASSIC_PRIMARY
    assert (await owner.save(primary_color="#7c2d12")).status_code == 303
    # the next visit there already has it: the save was announced to every worker through the bus
    assert (await launcher(server2.url, owner.org))["vars"]["--c"] == "#7c2d12"
    async with httpx.AsyncClient(base_url=server2.url, timeout=10) as http:
        config = (await http.get("/v1/widget/config", params={"organization_id": owner.org})).json()
    assert config["static"]["theme"]["variables"]["--ws-primary"] == "#7c2d12"
    r = await owner.http.post("/wizard/restore", data={"csrf": owner.csrf, "version": "1"})
    assert r.status_code == 303
    assert (await launcher(server2.url, owner.org))["vars"]["--c"] == CLASSIC_PRIMARY
    # a change through the Configuration API is announced the same way
    r = await owner.http.post("/v3.6/configuration/action/update_license_properties",
                              json={"properties": {"widget": {"appearance": {"primary_color": "#365314"}}}},
                              headers={"Authorization": f"Bearer {owner.token}"})
    assert r.status_code == 200, r.text
    assert (await launcher(server2.url, owner.org))["vars"]["--c"] == "#365314"


# --- install and dashboard ---------------------------------------------------------------------------------------------


async def test_the_install_page_has_the_snippet_and_the_identity_secret(valkey, server, owner):
    page = (await owner.http.get("/wizard/install")).text
    assert "/widget/loader.js" in page and owner.org in page and 'data-copy="snippet"' in page
    secret = (await valkey.hget(keys.license(owner.org), "identity_secret")).decode()
    assert f'<code class="secret" id="identity-secret">{secret}</code>' in page
    assert "Single-page apps" in page and "HMAC-SHA256" in page
    # LiveChat's numeric license id, for a site that keeps LiveChat's snippet
    number = int(await valkey.hget(keys.license(owner.org), "license_id"))
    assert f'<strong id="license-number">{number}</strong>' in page and f"{server.url}/tracking.js" in page


async def test_the_dashboard_shows_todays_and_the_weeks_numbers(valkey, server, owner):
    for _ in range(3):  # three browsers (no cookies kept), each a visitor with one page view
        assert (await visit(server.url, owner.org)).status_code == 200
    page = (await owner.http.get("/wizard/dashboard")).text
    for name, value in (("online", 3), ("page-views", 3), ("visits", 3), ("unique-visitors", 3), ("chats", 0)):
        assert re.search(rf'id="stat-{name}">{value}<', page), name
    assert page.count('<th scope="row"><time') == 7 and re.search(r'id="week-page-views">3<', page)
