"""LiveChat's official JS SDK, **@livechat/customer-sdk 4.0.2**, unchanged, talks to our server in a real Chromium.

The SDK hard-codes its hosts (PROTOCOL.md §10.3): the cookie grant goes to ``https://accounts.livechatinc.com/v2/
customer/token`` and the socket to ``wss://api.livechatinc.com/v3.5/customer/rtm/ws?organization_id=…``. So our server
runs with TLS (a self-signed certificate) on ``127.0.0.1:<port>``, and Chromium is started with
``--host-resolver-rules`` mapping both names onto it and ``--ignore-certificate-errors``. Every other
``*.livechatinc.com``/``*.livechat.com`` name (the SDK's Graylog beacon to ``queue.livechatinc.com``) resolves to
nothing, so the test can never reach the real LiveChat.

The customer's site is a page on ``http://127.0.0.1:<site port>`` that loads the SDK bundle (built from ``e2e/js/``
by esbuild; the ``sdk_bundle`` fixture runs ``npm ci`` and the build when the bundle is missing or stale). The
identity cookies ``__lc_cid``/``__lc_cst`` therefore belong to ``accounts.livechatinc.com`` and travel cross-site:
``SameSite=None; Secure``, as the server sets them on TLS.

The npm tool chain is a hard requirement: if npm or the build fails, the test errors out; nothing is skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserType, Page

from tests.support import LiveServer, serve_http

JS_DIR = Path(__file__).resolve().parent / "js"
BUNDLE = JS_DIR / "dist" / "customer-sdk.js"
ACCOUNTS = "https://accounts.livechatinc.com"


# --- the SDK bundle --------------------------------------------------------------------------------------------------


def _run(cmd: list[str], timeout: float) -> None:
    try:
        done = subprocess.run(cmd, cwd=JS_DIR, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"`{' '.join(cmd)}` in {JS_DIR} could not run: {exc!r}", pytrace=False)
    if done.returncode != 0:
        pytest.fail(f"`{' '.join(cmd)}` in {JS_DIR} failed with exit code {done.returncode}\n"
                    f"--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}", pytrace=False)


def _mtime(path: Path) -> float:
    return path.stat().st_mtime if path.exists() else 0.0


@pytest.fixture(scope="session")
def sdk_bundle() -> Path:
    """``e2e/js/dist/customer-sdk.js``: the SDK as an IIFE that sets ``window.CustomerSDK``.

    Installs the pinned packages (``npm ci`` with the lock file, else ``npm install``) when node_modules is missing
    or older than the lock, and builds when the bundle is missing or older than its sources."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is required to build the @livechat/customer-sdk bundle (e2e/js/), and it is not on PATH",
                    pytrace=False)
    lock = JS_DIR / "package-lock.json"
    installed = JS_DIR / "node_modules" / ".package-lock.json"  # written by npm ci / npm install
    sources = [JS_DIR / "package.json", lock, JS_DIR / "entry.js"]
    if not installed.exists() or _mtime(installed) < max(_mtime(JS_DIR / "package.json"), _mtime(lock)):
        _run([npm, "ci", "--no-audit", "--no-fund"] if lock.exists() else [npm, "install", "--no-audit", "--no-fund"],
             timeout=300)
    if not BUNDLE.exists() or _mtime(BUNDLE) < max(_mtime(p) for p in sources):
        _run([npm, "run", "build"], timeout=120)
    if not BUNDLE.exists():
        pytest.fail(f"the build reported success but wrote no {BUNDLE}", pytrace=False)
    return BUNDLE


# --- our server, with TLS --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory, valkey_url: str) -> Iterator[LiveServer]:
    """``python -m widget_server serve`` with a self-signed certificate (its names: the two LiveChat hosts and
    127.0.0.1). ``.url`` is ``https://127.0.0.1:<port>``; ``.cafile`` verifies it from Python."""
    live = LiveServer(tmp_path_factory.mktemp("sdk-tls-server"), valkey_url,
                      tls_names=["api.livechatinc.com", "accounts.livechatinc.com"]).start()
    yield live
    live.stop()


def server_action(server: LiveServer, org: str, token: str, name: str, payload: dict | None = None,
                  version: str = "3.6") -> dict[str, Any]:
    """A Customer Web API call straight from Python (not through the browser or the SDK)."""
    r = httpx.post(f"{server.url}/v{version}/customer/action/{name}", params={"organization_id": org},
                   json=payload or {}, headers={"Authorization": f"Bearer {token}"},
                   verify=ssl.create_default_context(cafile=server.cafile), timeout=10)  # type: ignore[attr-defined]
    assert r.status_code == 200, (name, r.status_code, r.text)
    return r.json()


# --- the customer's site: a page that loads the bundle ---------------------------------------------------------------

SDK_PAGE = b"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Shop with the official customer SDK</title></head>
<body>
<h1>A shop that embeds @livechat/customer-sdk</h1>
<script src="/customer-sdk.js"></script>
<script>
// Everything the SDK emits is recorded, so a failure shows what it saw.
window.sdkLog = [];
const record = (name, payload) => {
  let copy = null;
  try { copy = JSON.parse(JSON.stringify(payload === undefined ? null : payload)); } catch (e) { copy = String(payload); }
  window.sdkLog.push({name, payload: copy});
};
const SDK_EVENTS = ["connected", "disconnected", "connection_unstable", "connection_recovered", "customer_id",
                    "user_data", "availability_updated", "thread_properties_updated"];

// init() as a site calls it; resolves with the `connected` event's payload, rejects on `disconnected`/timeout.
window.startSdk = (organizationId) => new Promise((resolve, reject) => {
  const sdk = CustomerSDK.init({organizationId, clientId: "test"});
  window.sdk = sdk;
  const names = new Set([...SDK_EVENTS, ...Object.values(CustomerSDK.serverPushActions)]);
  names.forEach((name) => sdk.on(name, (payload) => record(name, payload)));
  const timer = setTimeout(
    () => reject(new Error("no `connected` event within 20 s; SDK events: " + JSON.stringify(window.sdkLog))), 20000);
  sdk.once("connected", (payload) => {
    clearTimeout(timer);
    resolve({customer: payload.customer, availability: payload.availability, hasGreeting: "greeting" in payload});
  });
  sdk.once("disconnected", (payload) => {
    clearTimeout(timer);
    reject(new Error("SDK disconnected: " + JSON.stringify(payload) + "; SDK events: " + JSON.stringify(window.sdkLog)));
  });
});

// SDK method calls: SDK errors come back as data (code + message) instead of an opaque exception.
window.callSdk = async (method, ...args) => {
  try {
    return {ok: true, value: JSON.parse(JSON.stringify(await window.sdk[method](...args)))};
  } catch (err) {
    return {ok: false, error: {code: err && err.code, message: String(err && err.message || err)}};
  }
};
</script>
</body>
</html>
"""


class _SdkSiteHandler(BaseHTTPRequestHandler):
    bundle: Path

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        path = self.path.split("?", 1)[0]
        if path in ("/", "/sdk.html"):
            body, status, ctype = SDK_PAGE, 200, "text/html; charset=utf-8"
        elif path == "/customer-sdk.js":
            body, status, ctype = self.bundle.read_bytes(), 200, "text/javascript; charset=utf-8"
        elif path == "/favicon.ico":  # no 404 in the console
            body, status, ctype = b"", 204, "image/x-icon"
        else:
            body, status, ctype = b"not found", 404, "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if status != 204:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def sdk_site(sdk_bundle: Path) -> Iterator[str]:
    """The shop: ``http://127.0.0.1:<port>/sdk.html`` plus the bundle at ``/customer-sdk.js``. Yields its origin."""
    handler = type("Handler", (_SdkSiteHandler,), {"bundle": sdk_bundle})
    with serve_http(handler, "e2e-sdk-site") as origin:
        yield origin


# --- a Chromium whose LiveChat hosts are our server ------------------------------------------------------------------


@pytest.fixture(params=["h2", "http1.1"])
def http_version(request: pytest.FixtureRequest) -> str:
    """How Chromium talks to our TLS server: HTTP/2 (its default, negotiated by ALPN) or HTTP/1.1 (``--disable-http2``,
    as behind a proxy that downgrades). Over HTTP/2 Chromium sends each cookie as a separate ``cookie`` header field
    ("cookie crumbs", RFC 9113 §8.2.3), which the server must join back together."""
    return request.param


@pytest.fixture
def sdk_page(browser_type: BrowserType, browser_type_launch_args: dict[str, Any], tls_server: LiveServer,
             http_version: str, tmp_path: Path, output_path: str) -> Iterator[Page]:
    """A page in a Chromium of its own (the session's ``browser`` cannot take per-server flags), launched with the e2e
    conftest's arguments plus the host mapping. First matching rule wins: the two SDK hosts go to our server, any other
    LiveChat name fails to resolve.

    The context is a persistent profile whose preferences allow third-party cookies, as a default desktop Chrome does.
    Playwright's usual contexts are off-the-record profiles, where Chromium blocks third-party cookies by default (the
    identity cookies are then refused with reason ``UserPreferences``), and the identity cookies of
    ``accounts.livechatinc.com`` are third-party to the shop."""
    target = f"127.0.0.1:{tls_server.port}"
    rules = ", ".join([f"MAP accounts.livechatinc.com {target}", f"MAP api.livechatinc.com {target}",
                       "MAP *.livechatinc.com ~NOTFOUND", "MAP *.livechat.com ~NOTFOUND"])
    args = [*browser_type_launch_args.get("args", []), f"--host-resolver-rules={rules}", "--ignore-certificate-errors"]
    if http_version == "http1.1":
        args.append("--disable-http2")
    profile = tmp_path / "profile"
    (profile / "Default").mkdir(parents=True)
    (profile / "Default" / "Preferences").write_text(json.dumps(
        {"profile": {"cookie_controls_mode": 0, "block_third_party_cookies": False}}))
    context = browser_type.launch_persistent_context(profile, **{**browser_type_launch_args, "args": args})
    page = context.pages[0] if context.pages else context.new_page()
    page.set_default_timeout(20_000)
    yield page
    try:
        page.screenshot(path=os.path.join(output_path, "sdk-page.png"))
    except Exception:
        pass
    context.close()


class Console:
    """The page's console messages and uncaught errors."""

    # The SDK's Graylog beacon (an <img> to queue.livechatinc.com on startChat), which the host rules send nowhere.
    EXPECTED = "https://queue.livechatinc.com/"

    def __init__(self, page: Page) -> None:
        self.messages: list[dict[str, str]] = []
        page.on("console", lambda m: self.messages.append(
            {"type": m.type, "text": m.text, "url": (m.location or {}).get("url", "")}))
        page.on("pageerror", lambda e: self.messages.append({"type": "pageerror", "text": str(e), "url": ""}))

    def errors(self) -> list[dict[str, str]]:
        return [m for m in self.messages if m["type"] in ("error", "pageerror") and
                not m["url"].startswith(self.EXPECTED)]


class Wire:
    """What the page sent to the LiveChat hosts: HTTP requests (with the Cookie header actually sent, Playwright's
    ``all_headers``), cookies Chromium blocked, the RTM frames in both directions, and the console."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console = Console(page)
        self.requests: list[dict[str, Any]] = []
        self.frames: list[tuple[str, str, dict[str, Any]]] = []  # (ws url, "sent"|"received", frame)
        self.sockets: list[str] = []
        # Cookies the browser refused to store or send (with Chromium's reasons), from the DevTools protocol.
        self.blocked: list[dict[str, Any]] = []
        self._urls: dict[str, str] = {}
        cdp = page.context.new_cdp_session(page)
        cdp.on("Network.requestWillBeSent", lambda ev: self._urls.__setitem__(ev["requestId"], ev["request"]["url"]))
        cdp.on("Network.responseReceivedExtraInfo", lambda ev: self.blocked.extend(
            {"request": ev["requestId"], "when": "set", **c} for c in ev.get("blockedCookies", [])))
        cdp.on("Network.requestWillBeSentExtraInfo", lambda ev: self.blocked.extend(
            {"request": ev["requestId"], "when": "send", **c} for c in ev.get("associatedCookies", [])
            if c.get("blockedReasons")))
        cdp.send("Network.enable")
        self.cdp = cdp
        page.on("requestfinished", self._finished)
        page.on("requestfailed", lambda r: self.requests.append(
            {"url": r.url, "method": r.method, "failure": r.failure}))
        page.on("websocket", self._websocket)

    def _finished(self, request: Any) -> None:
        if "livechat" not in request.url:
            return
        response = request.response()
        self.requests.append({"url": request.url, "method": request.method, "headers": request.all_headers(),
                              "body": request.post_data,
                              "status": response.status if response else None,
                              "response_headers": response.all_headers() if response else {}})

    def _websocket(self, ws: Any) -> None:
        self.sockets.append(ws.url)

        def keep(direction: str, payload: str | bytes) -> None:
            try:
                frame = json.loads(payload)
            except (TypeError, ValueError):
                frame = {"raw": repr(payload)}
            self.frames.append((ws.url, direction, frame))

        ws.on("framesent", lambda p: keep("sent", p))
        ws.on("framereceived", lambda p: keep("received", p))

    def wait_for(self, check: Any, timeout: float = 5.0) -> Any:
        """Playwright delivers network events asynchronously: poll (letting them in) until ``check()`` is truthy."""
        deadline = time.monotonic() + timeout
        while not (result := check()):
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met in {timeout} s\n{self.dump()}")
            self.page.wait_for_timeout(50)
        return result

    def token_posts(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == "POST" and r["url"] == ACCOUNTS + "/v2/customer/token"]

    def sent(self, action: str) -> list[dict[str, Any]]:
        return [f for _, d, f in self.frames if d == "sent" and f.get("action") == action]

    def responses(self, action: str) -> list[dict[str, Any]]:
        return [f for _, d, f in self.frames if d == "received" and f.get("action") == action
                and f.get("type") == "response"]

    def blocked_cookies(self) -> list[dict[str, Any]]:
        return [{**b, "url": self._urls.get(b["request"])} for b in self.blocked]

    def dump(self) -> str:
        return "wire: " + json.dumps({"requests": self.requests, "blocked_cookies": self.blocked_cookies(),
                                      "sockets": self.sockets, "frames": self.frames}, default=str)[-12000:] + \
            "\nconsole: " + json.dumps(self.console.messages)[-4000:]


def start_sdk(page: Page, wire: Wire, org: str) -> dict[str, Any]:
    try:
        return page.evaluate("org => window.startSdk(org)", org)
    except Exception as exc:
        raise AssertionError(f"{exc}\n{wire.dump()}") from None


def call_sdk(page: Page, wire: Wire, method: str, *args: Any) -> Any:
    result = page.evaluate("([method, args]) => window.callSdk(method, ...args)", [method, list(args)])
    assert result["ok"], f"sdk.{method}{tuple(args)} failed: {result['error']}\n{wire.dump()}"
    return result["value"]


def sdk_token(page: Page) -> dict[str, Any]:
    """The token the SDK holds (``sdk.auth.getToken()``: accessToken, entityId, tokenType, expiresIn ms, ...)."""
    return page.evaluate("() => window.sdk.auth.getToken()")


# --- the test --------------------------------------------------------------------------------------------------------


def test_official_customer_sdk_connects_chats_and_keeps_its_identity_across_reloads(
        sdk_page: Page, sdk_site: str, tls_server: LiveServer, org: str, http_version: str) -> None:
    page = sdk_page
    wire = Wire(page)
    page.goto(sdk_site + "/sdk.html")
    assert page.evaluate("typeof window.CustomerSDK.init") == "function"

    # 1. init() -> cookie grant at accounts.livechatinc.com -> socket to api.livechatinc.com/v3.5 -> login -> connected.
    connected = start_sdk(page, wire, org)
    customer_id = connected["customer"]["id"]
    assert customer_id
    assert connected["customer"]["statistics"]["chatsCount"] == 0
    assert connected["availability"] in ("online", "offline")

    [grant] = wire.wait_for(wire.token_posts)
    assert (":authority" in grant["headers"]) == (http_version == "h2"), grant["headers"]  # h2 pseudo-headers
    assert grant["status"] == 200, grant
    assert grant["headers"]["origin"] == sdk_site
    assert "__lc_cid" not in grant["headers"].get("cookie", ""), "a fresh browser has no identity yet"
    assert json.loads(grant["body"]) == {"response_type": "token", "grant_type": "cookie", "client_id": "test",
                                         "organization_id": org, "redirect_uri": sdk_site + "/sdk.html"}
    assert grant["response_headers"]["access-control-allow-origin"] == sdk_site
    assert grant["response_headers"]["access-control-allow-credentials"] == "true"
    token = sdk_token(page)
    assert token["tokenType"] == "Bearer" and token["entityId"] == customer_id
    assert token["expiresIn"] == 28800 * 1000

    cookies = {c["name"]: c for c in page.context.cookies(ACCOUNTS)}
    for name in ("__lc_cid", "__lc_cst"):
        assert name in cookies, f"{name} not stored for {ACCOUNTS}; blocked: {wire.blocked_cookies()}"
        assert cookies[name]["sameSite"] == "None" and cookies[name]["secure"] and cookies[name]["httpOnly"]

    assert wire.sockets == [f"wss://api.livechatinc.com/v3.5/customer/rtm/ws?organization_id={org}"]
    [login] = wire.sent("login")
    assert login["version"] == "3.5"
    assert login["payload"]["token"] == f"Bearer {token['accessToken']}"
    assert "incoming_event" in login["payload"]["pushes"]["3.5"]
    [login_reply] = wire.responses("login")
    assert login_reply["success"] is True and login_reply["request_id"] == login["request_id"]

    # 2. startChat with a first message.
    started = call_sdk(page, wire, "startChat", {"chat": {"thread": {"events": [
        {"type": "message", "text": "hello from sdk"}]}}})
    chat = started["chat"]
    chat_id, thread_id = chat["id"], chat["thread"]["id"]
    assert chat_id and thread_id
    assert [e["text"] for e in chat["thread"]["events"] if e["type"] == "message"] == ["hello from sdk"]
    assert customer_id in [u["id"] for u in chat["users"]]

    # 3. sendEvent into the running chat.
    sent = call_sdk(page, wire, "sendEvent", {"chatId": chat_id, "event": {"type": "message", "text": "second line"}})
    assert sent["id"] and sent["type"] == "message" and sent["text"] == "second line"
    assert sent["authorId"] == customer_id and sent["threadId"] == thread_id

    # 4. listChats through the SDK.
    listed = call_sdk(page, wire, "listChats")
    assert listed["totalChats"] == 1
    [summary] = listed["chatsSummary"]
    assert summary["id"] == chat_id and summary["active"] is True and summary["lastThreadId"] == thread_id
    assert summary["lastEventsPerType"]["message"]["text"] == "second line"

    # 5. The server's own view, read from Python (not through the browser) with the SDK's token, on 3.5 and 3.6.
    for version in ("3.5", "3.6"):
        chats = server_action(tls_server, org, token["accessToken"], "list_chats", version=version)
        assert [c["id"] for c in chats["chats_summary"]] == [chat_id]
        assert customer_id in [u["id"] for u in chats["chats_summary"][0]["users"]]
    threads = server_action(tls_server, org, token["accessToken"], "list_threads", {"chat_id": chat_id})
    messages = [e for t in threads["threads"] for e in t["events"] if e["type"] == "message"]
    assert [e["text"] for e in messages] == ["hello from sdk", "second line"]
    assert {e["author_id"] for e in messages} == {customer_id}

    # 6. A plain reload: the SDK reuses the token it cached in localStorage (no new grant), so the same customer.
    page.reload()
    cached = start_sdk(page, wire, org)
    assert cached["customer"]["id"] == customer_id
    assert len(wire.token_posts()) == 1

    # 7. A reload without that cache: the identity can only come from the cookie grant -> still the same customer.
    page.evaluate("() => localStorage.clear()")
    page.reload()
    again = start_sdk(page, wire, org)
    grants = wire.wait_for(lambda: len(wire.token_posts()) == 2 and wire.token_posts())
    sent_cookie = grants[1]["headers"].get("cookie", "")
    assert f"__lc_cid={cookies['__lc_cid']['value']}" in sent_cookie, wire.dump()
    assert f"__lc_cst={cookies['__lc_cst']['value']}" in sent_cookie, wire.dump()
    assert again["customer"]["id"] == customer_id, (
        f"the cookie grant answered another customer although the browser sent both identity cookies "
        f"(over {http_version})\n{wire.dump()}")
    assert sdk_token(page)["entityId"] == customer_id
    assert again["customer"]["statistics"]["chatsCount"] == 1
    relisted = call_sdk(page, wire, "listChats")
    assert [c["id"] for c in relisted["chatsSummary"]] == [chat_id]
    assert relisted["chatsSummary"][0]["lastEventsPerType"]["message"]["text"] == "second line"

    # 8. Control: without the cookies (and the cached token) the same browser is a new customer.
    page.context.clear_cookies()
    page.evaluate("() => localStorage.clear()")
    page.reload()
    stranger = start_sdk(page, wire, org)
    assert stranger["customer"]["id"] != customer_id
    assert call_sdk(page, wire, "listChats")["totalChats"] == 0

    assert wire.console.errors() == [], wire.dump()
    assert wire.blocked_cookies() == [], wire.dump()
