"""A site moving from LiveChat, in Chromium: LiveChat's own install snippet, verbatim but for the host in its ``src``
and the license number, and LiveChat's ``@livechat/widget-core`` from npm (the core of ``@livechat/widget-react``,
``-vue`` and ``-angular``) bundled into a page, both against our server. A visitor chats with an agent (over the Agent
Chat API) and the page's ``window.LiveChatWidget`` listeners get LiveChat's events with LiveChat's payloads (the
shapes ``@livechat/widget-core``'s type declarations give); ``destroy`` removes everything, and ``init`` brings the
widget back.

``@livechat/widget-core`` hard-codes where it loads LiveChat's script from (``https://cdn.livechatinc.com/tracking.js``),
so, as in ``test_js_customer_sdk.py``, our server runs with TLS and Chromium maps that host onto it
(``--host-resolver-rules``; every other LiveChat name resolves to nothing, so nothing reaches LiveChat). The snippet's
page names our server's own address instead, as a site that moves does. The agent uses the plain-HTTP server of the
session on the same Valkey (the pushes cross servers through the bus)."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserType, Page, expect
from console_people import AgentAccount  # (its fixtures, make_agent among them, come through conftest.py)
from test_js_customer_sdk import JS_DIR, _mtime, _run

from tests.support import LiveServer, serve_http
from widget_server import keys
from widget_server.protocol.config import FormSetting, GreetingRule, GreetingTemplate, LicenseConfig
from widget_server.valkey import connect

CORE_BUNDLE = JS_DIR / "dist" / "widget-core.js"
CDN = "https://cdn.livechatinc.com"

# LiveChat's install snippet (its script part) as LiveChat's JS API documentation gives it, with only the host of
# the script it loads changed: {license} and {src} are filled in
LIVECHAT_SNIPPET = """<script>
    window.__lc = window.__lc || {{}};
    window.__lc.license = {license};
    ;(function(n,t,c){{function i(n){{return e._h?e._h.apply(null,n):e._q.push(n)}}var e={{_q:[],_h:null,_v:"2.0",on:function(){{i(["on",c.call(arguments)])}},once:function(){{i(["once",c.call(arguments)])}},off:function(){{i(["off",c.call(arguments)])}},get:function(){{if(!e._h)throw new Error("[LiveChatWidget] You can't use getters before load.");return i(["get",c.call(arguments)])}},call:function(){{i(["call",c.call(arguments)])}},init:function(){{var n=t.createElement("script");n.async=!0,n.type="text/javascript",n.src="{src}",t.head.appendChild(n)}}}};!n.__lc.asyncInit&&e.init(),n.LiveChatWidget=n.LiveChatWidget||e}}(window,document,[].slice))
</script>"""

EVENTS = ["ready", "availability_changed", "visibility_changed", "customer_status_changed", "new_event",
          "form_submitted", "rating_submitted", "greeting_displayed", "greeting_hidden", "rich_message_button_clicked"]

# every event the page hears, in order, as JSON (payloads copied when they come)
RECORDER = """<script>
window.heard = [];
window.hear = (name) => (payload) => heard.push([name, JSON.parse(JSON.stringify(payload === undefined ? null : payload))]);
</script>"""

PAGES: dict[str, bytes] = {}


class _SiteHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/widget-core.js":
            body, ctype = CORE_BUNDLE.read_bytes(), "text/javascript; charset=utf-8"
        elif path == "/favicon.ico":
            body, ctype = b"", "image/x-icon"
        else:
            body, ctype = PAGES.get(path, b"not found"), "text/html; charset=utf-8"
        self.send_response(200 if path in PAGES or path in ("/widget-core.js", "/favicon.ico") else 404)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def core_bundle() -> Path:
    """``e2e/js/dist/widget-core.js``: ``@livechat/widget-core`` as an IIFE setting ``window.LiveChatWidgetCore``;
    installed and built as ``test_js_customer_sdk.py``'s bundle is (npm is required: a failure errors out)."""
    lock = JS_DIR / "package-lock.json"
    installed = JS_DIR / "node_modules" / ".package-lock.json"
    if not installed.exists() or _mtime(installed) < max(_mtime(JS_DIR / "package.json"), _mtime(lock)):
        _run(["npm", "ci", "--no-audit", "--no-fund"], timeout=300)
    sources = [JS_DIR / "package.json", lock, JS_DIR / "widget-core.js"]
    if not CORE_BUNDLE.exists() or _mtime(CORE_BUNDLE) < max(_mtime(p) for p in sources):
        _run(["npm", "run", "build"], timeout=120)
    assert CORE_BUNDLE.exists(), f"the build wrote no {CORE_BUNDLE}"
    return CORE_BUNDLE


@pytest.fixture(scope="module")
def shop(core_bundle: Path) -> Iterator[str]:
    with serve_http(_SiteHandler, "e2e-livechat-site") as origin:
        yield origin


@pytest.fixture(scope="module")
def lc_server(tmp_path_factory: pytest.TempPathFactory, valkey_url: str) -> Iterator[LiveServer]:
    """Our server with TLS under LiveChat's CDN name; visitors count as online for 4 s, so the loader's heartbeat
    comes every 2 s (the destroy story counts them)."""
    live = LiveServer(tmp_path_factory.mktemp("lc-server"), valkey_url, tls_names=["cdn.livechatinc.com"],
                      env={"WIDGET_TRACKING_ONLINE_SECONDS": "4"}).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def lc_browser(browser_type: BrowserType, browser_type_launch_args: dict[str, Any],
               lc_server: LiveServer) -> Iterator[Browser]:
    rules = ", ".join([f"MAP cdn.livechatinc.com 127.0.0.1:{lc_server.port}", "MAP *.livechatinc.com ~NOTFOUND",
                       "MAP *.livechat.com ~NOTFOUND", "MAP *.livechatinc.net ~NOTFOUND"])
    args = [*browser_type_launch_args.get("args", []), f"--host-resolver-rules={rules}", "--ignore-certificate-errors"]
    browser = browser_type.launch(**{**browser_type_launch_args, "args": args})
    yield browser
    browser.close()


@pytest.fixture
def lc_page(lc_browser: Browser) -> Iterator[Page]:
    context = lc_browser.new_context(ignore_https_errors=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def license_number(valkey_url: str, org: str) -> int:
    async def read() -> int:
        client = connect(valkey_url)
        try:
            return int(await client.hget(keys.license(org), "license_id"))
        finally:
            await client.aclose()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result(timeout=30)


def publish(name: str, body: str) -> str:
    path = f"/{name}-{secrets.token_hex(4)}.html"
    PAGES[path] = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Shop</title></head><body>"
                   f"<h1>A shop that used LiveChat</h1>{RECORDER}{body}</body></html>").encode()
    return path


def watch(page: Page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    return problems


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def heard(page: Page, name: str) -> list[Any]:
    return [payload for event, payload in page.evaluate("window.heard") if event == name]


def hears(page: Page, name: str, count: int = 1) -> list[Any]:
    return wait_for(lambda: len(heard(page, name)) >= count and heard(page, name), what=f"{name} x{count}: "
                    + json.dumps(page.evaluate("window.heard"))[-2000:])


def launcher(page: Page) -> Any:
    return page.get_by_role("button", name="Open chat")


def agent_chat(agent: AgentAccount) -> dict:
    summary = wait_for(lambda: (agent.ok("list_chats", {})["chats_summary"] or [None])[0], what="the visitor's chat")
    return agent.ok("get_chat", {"chat_id": summary["id"]})


def agent_sees(agent: AgentAccount, chat_id: str, text: str) -> None:
    wait_for(lambda: text in [e.get("text") for e in agent.ok("get_chat", {"chat_id": chat_id})["thread"]["events"]],
             what=f"the agent to see {text!r}")


def visits_sent(page: Page) -> list[str]:
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/v1/widget/visit") else None)
    return sent


def test_livechat_s_snippet_with_our_host_chats_and_speaks_livechat_s_js_api(
        lc_page: Page, shop: str, lc_server: LiveServer, make_license: Any, make_agent: Any,  # noqa: F811
        valkey_url: str) -> None:
    page = lc_page
    org = make_license(LicenseConfig(prechat=FormSetting(enabled=True)))
    number = license_number(valkey_url, org)
    agent = make_agent(org, "Ann")
    agent.ok("set_routing_status", {"status": "accepting_chats"})
    problems = watch(page)
    snippet = LIVECHAT_SNIPPET.format(license=number, src=f"{lc_server.url}/tracking.js")
    # LiveChat's documented settings, and listeners registered before the script loaded (they wait in the stub's _q)
    settings = ("<script>window.__lc = {visitor: {name: 'Joe Shopper', email: 'joe@example.com'},"
                " params: [{name: 'plan', value: 'pro'}]};"
                " window.loaded = 0; window.LC_API = {on_after_load: () => { window.loaded += 1; }};</script>")
    listeners = "<script>" + "".join(f"LiveChatWidget.on('{n}', hear('{n}'));" for n in EVENTS) + "</script>"
    sent = visits_sent(page)
    page.goto(shop + publish("snippet", settings + snippet + listeners))

    # ready, with the state and the customer LiveChat describes; the getters answer from then on
    [ready] = hears(page, "ready")
    assert ready["state"] == {"availability": "online", "visibility": "minimized"}
    customer = ready["customerData"]
    assert customer == {"id": customer["id"], "name": "Joe Shopper", "email": "joe@example.com", "isReturning": False,
                        "status": "browsing", "sessionVariables": {"plan": "pro"}}
    assert page.evaluate("window.loaded") == 1  # LiveChat's v1 callback of a loaded widget
    assert page.evaluate("LiveChatWidget.get('state')") == ready["state"]
    assert page.evaluate("LiveChatWidget.get('chat_data')") == {}
    assert page.evaluate("LiveChatWidget.get('customer_data')") == customer
    assert sent[0] == f"{lc_server.url}/v1/widget/visit"

    # maximize opens the window on the pre-chat survey; the visitor starts the chat
    page.evaluate("LiveChatWidget.call('maximize')")
    assert hears(page, "visibility_changed") == [{"visibility": "maximized"}]
    frame = page.frame_locator("iframe[title='Open chat']")
    frame.get_by_label("Name").fill("Joe Shopper")
    frame.get_by_label("E-mail").fill("joe@example.com")
    frame.get_by_role("button", name="Start the chat").click()
    assert hears(page, "form_submitted") == [{"type": "prechat"}]
    box = frame.get_by_role("textbox", name="Write a message…")
    box.fill("Is the blue sweater in stock?")
    box.press("Enter")
    chat = agent_chat(agent)
    chat_id, thread_id = chat["id"], chat["thread"]["id"]
    agent_sees(agent, chat_id, "Is the blue sweater in stock?")
    assert {"status": "chatting"} in hears(page, "customer_status_changed")
    wait_for(lambda: page.evaluate("LiveChatWidget.get('chat_data')") == {"chatId": chat_id, "threadId": thread_id},
             what="chat_data")
    assert page.evaluate("LiveChatWidget.get('customer_data').status") == "chatting"
    mine = hears(page, "new_event")[0]
    assert set(mine) == {"timestamp", "type", "author"} and mine["type"] == "message"
    assert mine["author"] == {"id": customer["id"], "type": "customer"} and isinstance(mine["timestamp"], int)

    # the agent answers: a message, then a rich message whose button the visitor clicks
    agent.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "Yes, in every size"}})
    expect(frame.get_by_text("Yes, in every size")).to_be_visible()
    answer = wait_for(lambda: [e for e in heard(page, "new_event") if e["author"]["type"] == "agent"])[0]
    assert answer["author"] == {"id": agent.id, "type": "agent"} and answer["type"] == "message"
    sent_event = agent.ok("send_event", {"chat_id": chat_id, "event": {
        "type": "rich_message", "template_id": "quick_replies",
        "elements": [{"title": "Which size?", "buttons": [
            {"text": "Medium", "type": "message", "value": "Medium", "postback_id": "size_m"},
            {"text": "Large", "type": "message", "value": "Large", "postback_id": "size_l"}]}]}})
    frame.get_by_role("button", name="Medium").click()
    [clicked] = hears(page, "rich_message_button_clicked")
    assert clicked == {"eventId": sent_event["event_id"], "postbackId": "size_m"}
    agent_sees(agent, chat_id, "Medium")

    # customer data and session variables: update merges, set replaces; the agent sees them on the customer
    page.evaluate("LiveChatWidget.call('update_session_variables', {cart: '3 items'})")
    page.evaluate("LiveChatWidget.call('set_customer_name', 'Joseph Shopper')")
    assert page.evaluate("LiveChatWidget.get('customer_data').sessionVariables") == {"plan": "pro", "cart": "3 items"}
    wait_for(lambda: agent.ok("get_customer", {"id": customer["id"]})["name"] == "Joseph Shopper", what="the name")
    wait_for(lambda: agent.ok("get_customer", {"id": customer["id"]}).get("session_fields") ==
             [{"plan": "pro"}, {"cart": "3 items"}], what="merged session fields")
    page.evaluate("LiveChatWidget.call('set_session_variables', {plan: 'enterprise'})")
    wait_for(lambda: agent.ok("get_customer", {"id": customer["id"]}).get("session_fields") ==
             [{"plan": "enterprise"}], what="replaced session fields")
    page.evaluate("LiveChatWidget.call('trigger_sales_tracker', {trackerId: 't1', orderPrice: '49.90', orderId: 'A7'})")
    wait_for(lambda: agent.ok("get_customer", {"id": customer["id"]}).get("session_fields") == [
        {"plan": "enterprise"}, {"sales_tracker_id": "t1"}, {"order_id": "A7"}, {"order_price": "49.90"}],
        what="the sale beside the session variables")

    # the group goes offline and back: availability_changed
    agent.ok("set_routing_status", {"status": "not_accepting_chats"})
    wait_for(lambda: heard(page, "availability_changed") == [{"availability": "offline"}], what="offline")
    agent.ok("set_routing_status", {"status": "accepting_chats"})
    wait_for(lambda: heard(page, "availability_changed")[-1:] == [{"availability": "online"}], what="online")

    # the agent closes the chat; the visitor rates it
    agent.ok("deactivate_chat", {"id": chat_id})
    frame.get_by_role("button", name="Good").click()
    frame.get_by_role("button", name="Send rating").click()
    assert hears(page, "rating_submitted") == ["good"]

    # minimize, hide: visibility_changed each time, and hidden means no launcher
    page.evaluate("LiveChatWidget.call('minimize')")
    page.evaluate("LiveChatWidget.call('hide')")
    assert [v["visibility"] for v in hears(page, "visibility_changed", 3)] == ["maximized", "minimized", "hidden"]
    expect(launcher(page)).to_be_hidden()
    assert page.evaluate("LiveChatWidget.get('state').visibility") == "hidden"

    # destroy: everything leaves the page, the heartbeats stop, the getters throw as before the load
    page.evaluate("LiveChatWidget.call('destroy')")
    assert page.evaluate("document.querySelectorAll('body > div').length") == 0
    assert page.locator("iframe").count() == 0
    assert page.evaluate("() => { try { LiveChatWidget.get('state'); return 'answered'; }"
                         " catch (e) { return e.message; } }") == "[LiveChatWidget] You can't use getters before load."
    before = len(sent)
    page.wait_for_timeout(5000)  # two heartbeat periods of this server (2 s)
    assert len(sent) == before, sent[before:]

    # init() loads it anew: the same visitor, back in the chat
    page.evaluate("window.heard = []; LiveChatWidget.once('ready', hear('ready')); LiveChatWidget.init()")
    [again] = hears(page, "ready")
    assert again["customerData"]["id"] == customer["id"]
    assert page.evaluate("window.loaded") == 2
    expect(launcher(page)).to_be_visible()
    assert problems == []


def test_livechat_s_widget_core_from_npm_runs_its_whole_lifecycle_against_our_server(
        lc_page: Page, shop: str, lc_server: LiveServer, make_license: Any, make_agent: Any,  # noqa: F811
        valkey_url: str) -> None:
    page = lc_page
    greeting = GreetingTemplate(id=5, name="Help", text="Need a hand with sizes?",
                                rules=[GreetingRule(type="url_current", operator="contains", value="/core-")])
    org = make_license(LicenseConfig(greetings=[greeting]))
    number = license_number(valkey_url, org)
    agent = make_agent(org, "Ann")
    agent.ok("set_routing_status", {"status": "accepting_chats"})
    problems = watch(page)
    handlers = {"onReady": "ready", "onAvailabilityChanged": "availability_changed",
                "onVisibilityChanged": "visibility_changed", "onCustomerStatusChanged": "customer_status_changed",
                "onNewEvent": "new_event", "onFormSubmitted": "form_submitted", "onRatingSubmitted": "rating_submitted",
                "onGreetingDisplayed": "greeting_displayed", "onGreetingHidden": "greeting_hidden",
                "onRichMessageButtonClicked": "rich_message_button_clicked"}
    # the page builds the widget as @livechat/widget-react's component does: createWidget(config), init() on mount,
    # destroy() on unmount
    app = ("<script src='/widget-core.js'></script><script>"
           "window.mount = (extra) => { window.widget = LiveChatWidgetCore.createWidget({license: '" + str(number)
           + "', group: '0', customerName: 'Ada', customerEmail: 'ada@example.com', sessionVariables: {plan: 'gold'}, "
           + ", ".join(f"{k}: hear('{v}')" for k, v in handlers.items()) + ", ...extra}); widget.init(); };"
           "</script>")
    sent = visits_sent(page)
    page.goto(shop + publish("core", app))
    page.evaluate("mount({})")

    # LiveChat's tracking.js is our server's (the CDN name maps to it); ready with what the adapter configured
    [ready] = hears(page, "ready")
    assert sent[0] == f"{CDN}/v1/widget/visit"
    assert page.evaluate("window.__lc") == {"license": number, "group": 0, "params": [{"name": "plan", "value": "gold"}],
                                            "integration_name": "@livechat/widget-core"}
    assert ready["state"] == {"availability": "online", "visibility": "minimized"}
    assert ready["customerData"]["sessionVariables"] == {"plan": "gold"} and ready["customerData"]["name"] == "Ada"
    customer_id = ready["customerData"]["id"]
    wait_for(lambda: agent.ok("get_customer", {"id": customer_id}).get("email") == "ada@example.com",
             what="the adapter's customer data to reach the customer")
    assert page.evaluate("LiveChatWidgetCore.getData('customer')")["email"] == "ada@example.com"

    # the page matches a greeting: displayed (the visitor is "invited"), then the adapter hides it
    [shown] = hears(page, "greeting_displayed")
    assert shown["id"] == 5 and isinstance(shown["uniqueId"], str) and set(shown) == {"id", "uniqueId"}
    assert {"status": "invited"} in hears(page, "customer_status_changed")
    page.evaluate("widget.hideGreeting()")
    assert hears(page, "greeting_hidden") == [shown]
    wait_for(lambda: page.evaluate("LiveChatWidgetCore.getData('customer').status") == "browsing", what="browsing")

    # updates: session variables merge, visibility
    page.evaluate("widget.updateSessionVariables({cart: '2'})")
    assert page.evaluate("LiveChatWidgetCore.getData('customer').sessionVariables") == {"plan": "gold", "cart": "2"}
    page.evaluate("widget.updateVisibility('maximized')")
    assert hears(page, "visibility_changed") == [{"visibility": "maximized"}]
    frame = page.frame_locator("iframe[title='Open chat']")
    box = frame.get_by_role("textbox", name="Write a message…")
    box.fill("Hello from a React shop")
    box.press("Enter")
    chat = agent_chat(agent)
    agent_sees(agent, chat["id"], "Hello from a React shop")
    agent.ok("send_event", {"chat_id": chat["id"], "event": {"type": "message", "text": "Hi Ada!"}})
    wait_for(lambda: [e for e in heard(page, "new_event") if e["author"]["type"] == "agent"], what="agent's event")
    assert page.evaluate("LiveChatWidgetCore.getData('chat')") == {"chatId": chat["id"],
                                                                    "threadId": chat["thread"]["id"]}
    wait_for(lambda: agent.ok("get_customer", {"id": customer_id}).get("session_fields") ==
             [{"plan": "gold"}, {"cart": "2"}], what="merged session fields")

    # unmount: destroy() removes the widget; the heartbeats stop
    page.evaluate("widget.destroy()")
    assert page.evaluate("document.querySelectorAll('body > div').length") == 0
    before = len(sent)
    page.wait_for_timeout(5000)
    assert len(sent) == before, sent[before:]

    # a remount that unmounts before LiveChat's script has loaded (React's strict mode does that): widget-core waits
    # for LC_API.on_after_load, then destroys; nothing is left on the page
    page.evaluate("window.heard = []; mount({}); widget.destroy()")
    hears(page, "ready")
    wait_for(lambda: page.evaluate("window.LiveChatWidget._h === null"), what="the deferred destroy")
    assert page.evaluate("document.querySelectorAll('body > div').length") == 0
    assert page.locator("iframe").count() == 0

    # and a plain remount brings the same visitor back, with the chat
    page.evaluate("window.heard = []; mount({})")
    [back] = hears(page, "ready")
    assert back["customerData"]["id"] == customer_id and back["customerData"]["status"] == "chatting"
    expect(launcher(page)).to_be_visible()
    assert problems == []


def test_widget_core_takes_the_snippet_s_stub_so_a_site_points_it_at_our_host(
        lc_page: Page, shop: str, lc_server: LiveServer, make_license: Any, valkey_url: str) -> None:
    page = lc_page
    org = make_license()
    number = license_number(valkey_url, org)
    problems = watch(page)
    # the page shell has LiveChat's snippet with asyncInit (nothing loads yet) and our host; the adapter then uses
    # that window.LiveChatWidget, whose init loads our tracking.js, not LiveChat's CDN address it has built in
    shell = ("<script>window.__lc = {asyncInit: true};</script>"
             + LIVECHAT_SNIPPET.format(license=number, src=f"{lc_server.url}/tracking.js")
             + "<script src='/widget-core.js'></script><script>window.mount = () => { window.widget = "
             "LiveChatWidgetCore.createWidget({license: '" + str(number) + "', onReady: hear('ready')}); "
             "widget.init(); };</script>")
    sent = visits_sent(page)
    page.goto(shop + publish("shell", shell))
    page.wait_for_timeout(500)
    assert sent == [] and page.locator("script[src$='/tracking.js']").count() == 0  # asyncInit: nothing yet
    page.evaluate("mount()")
    [ready] = hears(page, "ready")
    assert ready["state"]["visibility"] == "minimized"
    assert sent[0] == f"{lc_server.url}/v1/widget/visit"
    assert not [url for url in sent if url.startswith(CDN)]
    # off removes a listener, on and once add one (once: told once)
    page.evaluate("window.gone = hear('gone'); LiveChatWidget.on('visibility_changed', gone);"
                  "LiveChatWidget.off('visibility_changed', gone); LiveChatWidget.once('visibility_changed', hear('once'));"
                  "LiveChatWidget.on('visibility_changed', hear('every'))")
    page.evaluate("LiveChatWidget.call('maximize'); LiveChatWidget.call('minimize')")
    assert [v["visibility"] for v in hears(page, "every", 2)] == ["maximized", "minimized"]
    assert heard(page, "once") == [{"visibility": "maximized"}] and heard(page, "gone") == []
    # nobody accepts chats on this license: the visitor leaves a message with the ticket form
    assert ready["state"]["availability"] == "offline"
    page.evaluate("LiveChatWidget.on('form_submitted', hear('form_submitted')); LiveChatWidget.call('maximize')")
    frame = page.frame_locator("iframe[title='Open chat']")
    frame.get_by_label("Name").fill("Late Visitor")
    frame.get_by_label("E-mail").fill("late@example.com")
    frame.get_by_label("Message:").fill("Please call me back")
    frame.get_by_role("button", name="Send message").click()
    assert hears(page, "form_submitted") == [{"type": "ticket"}]
    page.evaluate("widget.destroy()")
    assert page.evaluate("document.querySelectorAll('body > div').length") == 0
    assert problems == []


def test_our_own_snippet_s_widget_server_api_gains_once_and_destroy(
        lc_page: Page, shop: str, lc_server: LiveServer, make_license: Any) -> None:
    page = lc_page
    org = make_license()
    problems = watch(page)
    snippet = httpx.get(f"{lc_server.url}/widget/snippet", params={"organization_id": org}, timeout=10,
                        verify=lc_server.ssl_context).text
    # listeners queued by our snippet's stub before the loader ran, once among them
    listeners = ("<script>WidgetServer.once('visibility_changed', hear('once'));"
                 "WidgetServer.on('visibility_changed', hear('every')); WidgetServer.on('ready', hear('ready'));"
                 "</script>")
    sent = visits_sent(page)
    page.goto(shop + publish("ours", snippet + listeners))
    hears(page, "ready")
    page.evaluate("WidgetServer.call('maximize'); WidgetServer.call('minimize')")
    assert [v["visibility"] for v in hears(page, "every", 2)] == ["maximized", "minimized"]
    assert heard(page, "once") == [{"visibility": "maximized"}]
    assert sent[0] == f"{lc_server.url}/v1/widget/visit"
    page.evaluate("WidgetServer.call('destroy')")
    assert page.evaluate("document.querySelectorAll('body > div').length") == 0
    assert page.evaluate("WidgetServer.get('state')") is None  # (our stub's getter: nothing before a load)
    assert problems == []
