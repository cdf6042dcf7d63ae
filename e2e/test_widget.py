"""The embeddable widget in Chromium, the way a visitor meets it: a plain page on another origin with nothing but the
install snippet (from ``GET /widget/snippet``), against a real server and Valkey. The agent side answers over the
Agent Chat API (Web actions, and an RTM socket on a background loop to see postbacks).

Every story runs twice (the ``host`` fixture's two sites): the page on another port of ``127.0.0.1`` (another origin,
the same *site* as the API at ``127.0.0.1``), and the page on ``localhost`` (another site: the chat frame is a
third-party frame there). Playwright's browser contexts are off-the-record profiles, in which Chromium blocks
third-party cookies and storage by default. What decides is the profile's cookie controls: a persistent profile
whose preferences say ``profile.cookie_controls_mode: 0`` lets the same frame use its storage, and neither
``--test-third-party-cookie-phaseout`` nor ``--enable-features=TrackingProtection3pcd`` blocks anything there (checked
in Debian's Chromium 156). So in the second run the frame has no cookies and ``sessionStorage``/``localStorage``
throw, as in Chromium with "block third-party cookies", incognito windows, Brave or Safari. ``chat_frame`` checks
that this is so each time a story opens the frame: a story that passes there passed without third-party storage,
and should a Chromium ever allow it by default, the check fails instead of the run silently proving nothing.

Every test fails on any console error or page error (CSP violations are console errors in Chromium, in the page and
in the frame alike) and on any dialog (an ``alert`` from injected markup)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import FrameLocator, Page, expect

from e2e.console_people import AgentAccount, Background
from tests.support import AgentClient, serve_http
from widget_server.protocol.config import (BusinessHours, FormSetting, GreetingButton, GreetingElement, GreetingImage,
                                          GreetingRichMessage, GreetingRule, GreetingTemplate, Group, LicenseConfig)
from widget_server.protocol.customer import Form, FormFieldSpec

XSS = "<img src=x onerror=alert(1)>"
PAGES: dict[str, tuple[bytes, dict[str, str]]] = {}


class _HostHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        if self.path == "/favicon.ico":
            self.send_response(204)
            self.end_headers()
            return
        body, headers = PAGES.get(self.path.split("?", 1)[0], (b"not found", {}))
        self.send_response(200 if self.path.split("?", 1)[0] in PAGES else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module", params=["same-site", "cross-site"])
def host(request: pytest.FixtureRequest) -> Iterator[str]:
    """The customer's site: ``http://127.0.0.1:<port>`` (same site as the API) or ``http://localhost:<port>`` (the
    same server by another name: another site, and still a secure context like the HTTPS sites that embed the
    widget, which ``http://shop.test`` mapped by ``--host-resolver-rules`` would not be)."""
    with serve_http(_HostHandler, "e2e-widget-host") as origin:
        yield origin if request.param == "same-site" else origin.replace("//127.0.0.1:", "//localhost:", 1)


def host_page(host: str, api: str, org: str, *, nonce: str | None = None, csp: str | None = None,
              extra: str = "") -> str:
    """Publish a page with the license's snippet, exactly as the server hands it out; returns its URL."""
    params = {"organization_id": org, **({"nonce": nonce} if nonce else {})}
    snippet = httpx.get(f"{api}/widget/snippet", params=params, timeout=10)
    assert snippet.status_code == 200, snippet.text
    path = f"/shop-{secrets.token_hex(4)}.html"
    html = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Shop</title></head><body>"
            f"<h1>A shop</h1>{extra}{snippet.text}</body></html>").encode()
    PAGES[path] = (html, {"Content-Security-Policy": csp} if csp else {})
    return host + path


def watch(page: Page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("response", lambda r: problems.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

    def on_dialog(d: Any) -> None:
        problems.append(f"dialog: {d.message}")
        d.dismiss()

    page.on("dialog", on_dialog)
    return problems


def launcher(page: Page) -> Any:
    return page.get_by_role("button", name="Open chat")


# In the frame: whether its storage throws, whether it has its cookies (the Storage Access API's answer), and whether a
# cookie it sets sticks. The cookie is Secure (allowed on 127.0.0.1, a potentially trustworthy origin) and
# SameSite=None: the kind a cross-site frame would need.
FRAME_STORAGE_JS = """async () => {
    let storage = "usable";
    try { sessionStorage.setItem("ws_probe", "1"); sessionStorage.removeItem("ws_probe"); }
    catch (e) { storage = e.name; }
    document.cookie = "ws_probe=1; SameSite=None; Secure; Max-Age=5";
    return {storage, access: await document.hasStorageAccess(), cookie: document.cookie.includes("ws_probe=1")};
}"""


def chat_frame(page: Page) -> FrameLocator:
    """The chat frame, once it is there; first checks that it has third-party storage exactly when the page is on the
    API's site (the ``host`` fixture's two runs), so no story passes in the cross-site run with storage available."""
    locator = page.locator("iframe[title='Open chat']")
    frame = page.frame_locator("iframe[title='Open chat']")
    expect(locator).to_have_count(1, timeout=15000)  # (an invitation opens it at the next heartbeat)
    frame_host = urlsplit(locator.get_attribute("src") or "").hostname
    same_site = urlsplit(page.url).hostname == frame_host
    probe = frame.locator("body").evaluate(FRAME_STORAGE_JS)
    if same_site:
        assert probe == {"storage": "usable", "access": True, "cookie": True}, probe
    else:
        assert probe == {"storage": "SecurityError", "access": False, "cookie": False}, probe
        assert page.evaluate("localStorage.length") >= 1  # the host page's own storage: the loader's identity
    return frame


def agent_online(make_agent: Callable[..., AgentAccount], org: str) -> AgentAccount:  # noqa: F811
    agent = make_agent(org, "Ann")
    agent.ok("set_routing_status", {"status": "accepting_chats"})
    return agent


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def customer_chat(agent: AgentAccount) -> dict:
    """The chat the agent sees (the test's license has one customer chatting)."""
    def find() -> Any:
        chats = agent.ok("list_chats", {})["chats_summary"]
        return chats[0] if chats else None
    summary = wait_for(find, what="the customer's chat to reach the agent")
    return agent.ok("get_chat", {"chat_id": summary["id"]})


def texts_of(chat: dict) -> list[str]:
    return [e.get("text", "") for e in chat["thread"]["events"] if e["type"] == "message"]


def agent_sees(agent: AgentAccount, chat_id: str, text: str) -> None:
    wait_for(lambda: text in texts_of(agent.ok("get_chat", {"chat_id": chat_id})), what=f"agent to see {text!r}")


def test_a_visitor_chats_with_an_agent_through_the_snippet(page: Page, host: str, api: str, make_license: Any,
                                                           make_agent: Any, background: Background) -> None:  # noqa: F811
    prechat = FormSetting(enabled=True)
    org = make_license(LicenseConfig(prechat=prechat))
    agent = agent_online(make_agent, org)
    problems = watch(page)
    page.goto(host_page(host, api, org))

    page.evaluate("window.__events = []; WidgetServer.on('new_event', (e) => window.__events.push(e));"
                  "WidgetServer.on('visibility_changed', (e) => window.__events.push(e))")
    expect(launcher(page)).to_be_visible()
    launcher(page).click()
    frame = chat_frame(page)

    # the pre-chat survey, then the first message
    frame.get_by_label("Name").fill("Jane Visitor")
    frame.get_by_label("E-mail").fill("jane@example.com")
    frame.get_by_role("button", name="Start the chat").click()
    box = frame.get_by_role("textbox", name="Write a message…")
    expect(box).to_be_focused()
    box.fill("Hello, I need help with my order")
    box.press("Enter")
    expect(frame.get_by_text("Hello, I need help with my order")).to_be_visible()

    chat = customer_chat(agent)
    chat_id = chat["id"]
    agent_sees(agent, chat_id, "Hello, I need help with my order")
    assert any(e["type"] == "filled_form" and e.get("form_type") == "prechat" for e in chat["thread"]["events"])
    customer_id = next(u["id"] for u in chat["users"] if u["type"] == "customer")
    assert agent.ok("get_customer", {"id": customer_id})["name"] == "Jane Visitor"

    # the agent answers, also with markup that must stay text
    agent.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "Hi Jane, happy to help"}})
    expect(frame.get_by_text("Hi Jane, happy to help")).to_be_visible()
    agent.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": XSS}})
    expect(frame.get_by_text(XSS, exact=True)).to_be_visible()
    assert frame.locator("img[src='x']").count() == 0

    # the agent types, then reads: the customer sees both
    agent.ok("send_typing_indicator", {"chat_id": chat_id, "is_typing": True})
    expect(frame.get_by_text("Ann is typing…")).to_be_visible()
    agent.ok("mark_events_as_seen", {"chat_id": chat_id, "seen_up_to": "2100-01-01T00:00:00.000000Z"})
    expect(frame.locator(".ws-msg.customer .ws-seen").filter(has_text="Seen")).to_have_count(1)

    # a quick reply: the click reaches the agent as a postback (and as the reply's text)
    agent_rtm = background.run(AgentClient(api, agent.id, agent.token).rtm())
    try:
        agent.ok("send_event", {"chat_id": chat_id, "event": {
            "type": "rich_message", "template_id": "quick_replies",
            "elements": [{"title": "Was this about a delivery?", "buttons": [
                {"text": "Yes, delivery", "type": "message", "value": "Yes, delivery", "postback_id": "pb_yes"},
                {"text": "No", "type": "message", "value": "No", "postback_id": "pb_no"}]}]}})
        frame.get_by_role("button", name="Yes, delivery").click()
        postback = background.run(agent_rtm.push("incoming_rich_message_postback", timeout=10), 15)["payload"]
        assert postback["postback"]["id"] == "pb_yes" and postback["chat_id"] == chat_id
        # the agent sees what the customer is typing before it is sent
        typed = "Where is my parc"
        frame.get_by_role("textbox", name="Write a message…").press_sequentially(typed)
        # peeks follow the typing (throttled): each one what was typed so far, until it reaches a word
        for _ in range(len(typed) + 1):
            peek = background.run(agent_rtm.push("incoming_sneak_peek", timeout=10), 15)["payload"]
            assert typed.startswith(peek["sneak_peek"]["text"]), peek
            if peek["sneak_peek"]["text"].startswith("Where"):
                break
        else:
            raise AssertionError("no sneak peek reached what was typed")
    finally:
        background.run(agent_rtm.close())
    agent_sees(agent, chat_id, "Yes, delivery")

    # the host page's JS API saw the agent's messages and the window opening
    events = page.evaluate("window.__events")
    assert any(e.get("visibility") == "maximized" for e in events)
    assert sum(1 for e in events if e.get("type") == "message" and e["author"]["type"] == "agent") >= 2
    assert page.evaluate("WidgetServer.get('state').visibility") == "maximized"
    assert page.evaluate("WidgetServer.get('chat_data').chatId") == chat_id

    # a reload keeps the history (the same browser identity, the active chat reconnects); on another site the
    # identity cookies are third-party and never sent: the loader's copy in the page's own storage carries it
    page.reload()
    expect(launcher(page)).to_be_visible()
    assert page.evaluate("new Promise((done) => WidgetServer.on('ready', (d) => done(d.customerData.id)))") == customer_id
    launcher(page).click()
    frame = chat_frame(page)
    expect(frame.get_by_text("Hi Jane, happy to help")).to_be_visible()
    expect(frame.get_by_text("Hello, I need help with my order")).to_be_visible()

    # the socket dies mid-chat; what the agent sends meanwhile arrives once, after the reconnection
    frame.locator("body").evaluate("() => { window.__wsRtm.closed = true; window.__wsRtm.drop(); }")
    expect(frame.get_by_role("status").filter(has_text="Reconnecting")).to_be_visible()
    agent.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "Sent while you were away"}})
    frame.locator("body").evaluate("() => { window.__wsRtm.closed = false; window.__wsRtm.connectNow(); }")
    expect(frame.get_by_text("Sent while you were away")).to_have_count(1)
    box = frame.get_by_role("textbox", name="Write a message…")
    box.fill("Back again")
    box.press("Enter")
    agent_sees(agent, chat_id, "Back again")
    expect(frame.get_by_text("Hi Jane, happy to help")).to_have_count(1)

    # minimizing from the frame closes the window on the host page
    frame.get_by_role("button", name="Minimize chat").click()
    assert wait_for(lambda: page.evaluate("WidgetServer.get('state').visibility") == "minimized", what="minimize")
    assert problems == []


def test_a_reloaded_chat_frame_gets_its_token_from_the_page_and_keeps_the_chat(
        page: Page, host: str, api: str, make_license: Any, make_agent: Any) -> None:  # noqa: F811
    org = make_license()
    agent = agent_online(make_agent, org)
    problems = watch(page)
    page.goto(host_page(host, api, org))
    launcher(page).click()
    frame = chat_frame(page)
    box = frame.get_by_role("textbox", name="Write a message…")
    box.fill("Before the frame reloads")
    box.press("Enter")
    chat_id = customer_chat(agent)["id"]
    agent_sees(agent, chat_id, "Before the frame reloads")
    # the frame's URL lost its token fragment at the start; a reload finds no token in sessionStorage where third-party
    # storage is blocked, and asks the page's loader for it
    with page.expect_event("framenavigated", lambda f: f.parent_frame is not None):
        frame.locator("body").evaluate("() => location.reload()")
    frame = chat_frame(page)
    expect(frame.get_by_text("Before the frame reloads")).to_be_visible()
    box = frame.get_by_role("textbox", name="Write a message…")
    box.fill("After the frame reloaded")
    box.press("Enter")
    agent_sees(agent, chat_id, "After the frame reloaded")
    assert problems == []


def test_a_host_page_with_a_strict_csp_runs_the_widget_without_violations(
        page: Page, host: str, api: str, make_license: Any, make_agent: Any) -> None:  # noqa: F811
    org = make_license()
    agent = agent_online(make_agent, org)
    nonce = secrets.token_urlsafe(16)
    csp = (f"default-src 'none'; script-src 'nonce-{nonce}' {api}; connect-src {api}; frame-src {api}; "
           f"style-src 'self'; img-src 'self'; base-uri 'none'")
    problems = watch(page)
    page.add_init_script("window.__violations = [];"
                         "document.addEventListener('securitypolicyviolation', (e) => "
                         "window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));")
    page.goto(host_page(host, api, org, nonce=nonce, csp=csp))
    expect(launcher(page)).to_be_visible()
    page.evaluate("WidgetServer.call('maximize')")  # the JS API opens the widget
    frame = chat_frame(page)
    box = frame.get_by_role("textbox", name="Write a message…")
    box.fill("Hi from a strict page")
    box.press("Enter")
    chat = customer_chat(agent)
    agent_sees(agent, chat["id"], "Hi from a strict page")
    agent.ok("send_event", {"chat_id": chat["id"], "event": {"type": "message", "text": "Strict pages welcome"}})
    expect(frame.get_by_text("Strict pages welcome")).to_be_visible()
    assert page.evaluate("window.__violations") == []
    assert problems == []


def test_without_agents_the_visitor_leaves_a_message(page: Page, host: str, api: str, make_license: Any,
                                                     make_agent: Any) -> None:  # noqa: F811
    org = make_license()
    agent = make_agent(org, "Offline Olga")  # exists, but not accepting chats
    problems = watch(page)
    page.goto(host_page(host, api, org))
    launcher(page).click()
    frame = chat_frame(page)
    expect(frame.get_by_text("We are away right now")).to_be_visible()
    frame.get_by_role("button", name="Send message").click()
    expect(frame.get_by_text("This field is required.").first).to_be_visible()  # nothing sent yet
    frame.get_by_label("Name").fill("Late Visitor")
    frame.get_by_label("E-mail").fill("late@example.com")
    frame.get_by_label("Message:").fill("Please call me back tomorrow")
    frame.get_by_role("button", name="Send message").click()
    expect(frame.get_by_role("status").filter(has_text="Thank you")).to_be_visible()
    chat = customer_chat(agent)
    form = next(e for e in chat["thread"]["events"] if e["type"] == "filled_form")
    assert form["form_type"] == "ticket"
    assert any(f.get("answer") == "Please call me back tomorrow" for f in form["fields"])
    assert problems == []


def test_outside_business_hours_the_widget_is_offline_though_an_agent_accepts_chats(
        page: Page, host: str, api: str, make_license: Any, make_agent: Any) -> None:  # noqa: F811
    # group 0's hours have no opening at all: closed whatever its agents do
    closed = Group(id=0, name="General", business_hours=BusinessHours(timezone="Europe/Warsaw"))
    org = make_license(LicenseConfig(groups=[closed]))
    agent = agent_online(make_agent, org)
    problems = watch(page)
    page.goto(host_page(host, api, org))
    launcher(page).click()
    frame = chat_frame(page)
    expect(frame.get_by_text("We are away right now")).to_be_visible()
    frame.get_by_label("Name").fill("Night Owl")
    frame.get_by_label("E-mail").fill("owl@example.com")
    frame.get_by_label("Message:").fill("Are you open tomorrow?")
    frame.get_by_role("button", name="Send message").click()
    expect(frame.get_by_role("status").filter(has_text="Thank you")).to_be_visible()
    chat = customer_chat(agent)
    assert chat["thread"]["active"] is False and agent.id not in [u["id"] for u in chat["users"]]
    assert problems == []


def test_the_page_hears_when_the_group_goes_offline_and_online_during_a_chat(
        page: Page, host: str, api: str, make_license: Any, make_agent: Any) -> None:  # noqa: F811
    org = make_license()
    agent = agent_online(make_agent, org)
    problems = watch(page)
    page.goto(host_page(host, api, org))
    page.evaluate("window.__availability = [];"
                  "WidgetServer.on('availability_changed', (e) => window.__availability.push(e.availability))")
    launcher(page).click()
    frame = chat_frame(page)
    box = frame.get_by_role("textbox", name="Write a message…")
    box.fill("Are you still there?")
    box.press("Enter")
    agent_sees(agent, customer_chat(agent)["id"], "Are you still there?")  # the chat's socket is open
    # groups_status_updated reaches the open frame, which tells the page
    agent.ok("set_routing_status", {"status": "not_accepting_chats"})
    wait_for(lambda: page.evaluate("window.__availability") == ["offline"], what="availability_changed offline")
    assert page.evaluate("WidgetServer.get('state').availability") == "offline"
    agent.ok("set_routing_status", {"status": "accepting_chats"})
    wait_for(lambda: page.evaluate("window.__availability") == ["offline", "online"], what="back online")
    assert problems == []


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360f8cfc0f01f0005"
    "0001ff5a0d2f1f0000000049454e44ae426082")


def test_files_rating_and_a_new_thread_keep_one_conversation(page: Page, host: str, api: str, make_license: Any,
                                                             make_agent: Any) -> None:  # noqa: F811
    org = make_license()
    agent = agent_online(make_agent, org)
    problems = watch(page)
    page.goto(host_page(host, api, org))
    launcher(page).click()
    frame = chat_frame(page)
    box = frame.get_by_role("textbox", name="Write a message…")
    box.fill("Here is a screenshot")
    box.press("Enter")
    chat_id = customer_chat(agent)["id"]

    # a file through the attach button: uploaded, sent as a file event, shown as an image
    frame.locator("input[type=file]").set_input_files(
        files=[{"name": "shot.png", "mimeType": "image/png", "buffer": PNG}])
    expect(frame.locator(".ws-msg.customer img.ws-image[alt='shot.png']").last).to_be_visible()
    event = wait_for(lambda: next((e for e in agent.ok("get_chat", {"chat_id": chat_id})["thread"]["events"]
                                   if e["type"] == "file"), None), what="the file event")
    assert event["name"] == "shot.png" and event["content_type"] == "image/png"
    assert httpx.get(event["url"], timeout=10).content == PNG

    # the agent closes the chat: the customer rates it
    thread_id = agent.ok("get_chat", {"chat_id": chat_id})["thread"]["id"]
    agent.ok("deactivate_chat", {"id": chat_id})
    expect(frame.get_by_text("How was this chat?")).to_be_visible()
    frame.get_by_role("button", name="Good").click()
    frame.get_by_role("textbox", name="Anything you would like to add?").fill("Quick and kind")
    frame.get_by_role("button", name="Send rating").click()
    expect(frame.get_by_text("Thank you for your feedback!")).to_be_visible()
    thread = agent.ok("get_chat", {"chat_id": chat_id, "thread_id": thread_id})["thread"]
    assert thread["properties"]["rating"] == {"score": 1, "comment": "Quick and kind"}

    # writing again continues the same chat in a new thread; after a reload both threads are there
    box.fill("One more question")
    box.press("Enter")
    agent_sees(agent, chat_id, "One more question")
    assert agent.ok("get_chat", {"chat_id": chat_id})["thread"]["id"] != thread_id
    page.reload()
    launcher(page).click()
    frame = chat_frame(page)
    expect(frame.get_by_text("Here is a screenshot")).to_be_visible()
    expect(frame.get_by_text("One more question")).to_be_visible()
    assert problems == []


POSTCHAT = Form(id="postchat", fields=[
    FormFieldSpec(id="rating_1", type="rating", label="How did we do?", required=True),
    FormFieldSpec(id="choice_2", type="radio", label="Was your question answered?",
                  options=[{"label": "Yes"}, {"label": "No"}]),
    FormFieldSpec(id="question_3", type="question", label="Anything we could do better?")])


def test_a_closed_chat_shows_the_post_chat_survey_and_its_rating_counts(
        page: Page, host: str, api: str, make_license: Any, make_agent: Any) -> None:  # noqa: F811
    org = make_license(LicenseConfig(postchat=FormSetting(enabled=True, form=POSTCHAT)))
    agent = agent_online(make_agent, org)
    problems = watch(page)
    page.goto(host_page(host, api, org))
    page.evaluate("window.__events = [];"
                  "for (const name of ['rating_submitted', 'form_submitted'])"
                  "  WidgetServer.on(name, (e) => window.__events.push([name, e]))")
    launcher(page).click()
    frame = chat_frame(page)
    box = frame.get_by_role("textbox", name="Write a message…")
    box.fill("Where is my parcel?")
    box.press("Enter")
    chat_id = customer_chat(agent)["id"]
    thread_id = agent.ok("get_chat", {"chat_id": chat_id})["thread"]["id"]

    # the agent closes the chat: the owner's survey shows instead of the plain good / bad card
    agent.ok("deactivate_chat", {"id": chat_id})
    survey = frame.locator(".ws-form-postchat")
    expect(survey.get_by_text("How did we do?")).to_be_visible()
    expect(frame.get_by_role("button", name="Send rating")).to_have_count(0)
    survey.get_by_role("button", name="Send").click()
    expect(survey.get_by_text("This field is required.")).to_be_visible()  # the rating is required: nothing sent
    survey.get_by_role("radio", name="Bad").check()
    survey.get_by_role("radio", name="No").check()
    survey.get_by_label("Anything we could do better?").fill("Answer sooner")
    survey.get_by_role("button", name="Send").click()
    expect(frame.get_by_role("status").filter(has_text="Thank you for your feedback!")).to_be_visible()

    # stored in the closed thread as LiveChat's postchat filled_form, and counted as the chat's rating
    thread = agent.ok("get_chat", {"chat_id": chat_id, "thread_id": thread_id})["thread"]
    [form] = [e for e in thread["events"] if e["type"] == "filled_form"]
    assert form["form_type"] == "postchat" and form["form_id"] == "postchat"
    assert [(f["id"], f.get("answer")) for f in form["fields"]] == [
        ("rating_1", {"id": "bad", "label": "Bad"}), ("choice_2", "No"), ("question_3", "Answer sooner")]
    assert thread["properties"]["rating"] == {"score": 0, "comment": "Answer sooner"}
    events = page.evaluate("window.__events")
    assert ["rating_submitted", "bad"] in events and ["form_submitted", {"type": "postchat"}] in events
    assert problems == []


# the page's JS API listeners, queued the way the snippet's stub queues calls (so none can miss an early event)
GREETING_EVENTS = ("<script>window.seen = []; window.WidgetServer = {_q: ["
                   "['on', ['greeting_displayed', (e) => seen.push(['displayed', e.id, e.uniqueId])]],"
                   "['on', ['greeting_hidden', (e) => seen.push(['hidden', e.id, e.uniqueId])]]]};</script>")


def test_a_greeting_shows_only_on_matching_pages_and_accepting_it_opens_the_chat(
        page: Page, host: str, api: str, make_license: Any, make_agent: Any) -> None:  # noqa: F811
    pricing = GreetingTemplate(id=7, name="Pricing", text="Questions about our plans?",
                               rules=[GreetingRule(type="url_current", operator="contains", value="/pricing-")])
    general = Group(id=0, name="General", welcome_message="Hello from the shop team!")
    org = make_license(LicenseConfig(groups=[general], greetings=[pricing]))
    agent = agent_online(make_agent, org)
    problems = watch(page)
    shop = host_page(host, api, org, extra=GREETING_EVENTS)
    path = urlsplit(shop).path
    PAGES[path.replace("/shop-", "/pricing-")] = PAGES[path]  # the same page under a matching address

    # not a pricing page: the visit's answer carries no greeting (the JS API's use loaded host.js: nothing pending)
    page.goto(shop)
    expect(launcher(page)).to_be_visible()
    wait_for(lambda: page.evaluate("!!(window.WidgetServer._l && window.WidgetServer._p)"), what="host.js")
    assert page.evaluate("window.WidgetServer._l.boot.greeting") is None
    expect(page.locator(".greeting")).to_have_count(0)

    # the pricing page: the bubble, in the agent's name, and the page hears it
    page.goto(shop.replace("/shop-", "/pricing-"))
    bubble = page.get_by_role("button", name="Questions about our plans?")
    expect(bubble).to_be_visible()
    displayed = wait_for(lambda: page.evaluate("window.seen"), what="greeting_displayed")
    assert displayed[0][:2] == ["displayed", 7] and displayed[0][2]
    customer_id = page.evaluate("WidgetServer.get('customer_data').id")

    # accepting it opens the chat, on the group's welcome message with the agent online; the server counts the
    # accepted greeting for the agents
    bubble.click()
    frame = chat_frame(page)
    welcome = frame.locator(".ws-welcome")
    expect(welcome).to_contain_text("Hello from the shop team!")
    expect(welcome.locator(".ws-welcome-agent")).to_have_text(["Ann"])
    expect(welcome.locator(".ws-welcome-reply")).to_have_count(0)  # no answered chats yet: no typical reply
    expect(page.locator(".greeting")).to_have_count(0)
    assert wait_for(lambda: [e for e in page.evaluate("window.seen") if e[0] == "hidden"])[0][1] == 7
    wait_for(lambda: agent.ok("get_customer", {"id": customer_id})["statistics"]["greetings_accepted_count"] == 1,
             what="the accepted greeting to count")

    # shown in this visit already: the next pricing page does not greet again
    page.goto(shop.replace("/shop-", "/pricing-"))
    expect(launcher(page)).to_be_visible()
    wait_for(lambda: page.evaluate("!!(window.WidgetServer._l && window.WidgetServer._p)"), what="host.js")
    assert page.evaluate("window.WidgetServer._l.boot.greeting") is None
    assert problems == []


def test_a_rich_greeting_shows_its_card_and_its_button_opens_the_chat_with_its_message(
        page: Page, host: str, api: str, make_license: Any, make_agent: Any) -> None:  # noqa: F811
    # a greeting that is only a rich message (LiveChat 3.6's create_greeting); written straight into the store, so
    # the hostile link and image below reach the page the way a greeting saved before today's checks might
    rich = GreetingRichMessage(template_id="cards", elements=[GreetingElement(
        title="Need a hand?", subtitle="We answer in minutes.", image=GreetingImage(url="javascript:alert(1)"),
        buttons=[GreetingButton(text="Talk to sales", type="message", value="I would like a quote",
                                postback_id="sales", button_id="b1", role="primary"),
                 GreetingButton(text="Sneaky", type="url", value="javascript:alert(2)", postback_id="x",
                                button_id="b2")])])
    greeting = GreetingTemplate(id=9, name="Sales card", rich_message=rich)
    org = make_license(LicenseConfig(groups=[Group(id=0, name="General")], greetings=[greeting]))
    agent = agent_online(make_agent, org)
    problems = watch(page)
    page.goto(host_page(host, api, org, extra=GREETING_EVENTS))

    # the bubble: its title opens it, its subtitle and buttons under it, no image for a URL that is not http(s)
    opener = page.get_by_role("button", name="Need a hand?")
    expect(opener).to_be_visible()
    bubble = page.locator(".greeting")
    expect(bubble.locator(".greeting-card")).to_contain_text("We answer in minutes.")
    expect(bubble.locator(".greeting-card strong")).to_have_count(0)  # (the title is the opener's, not said twice)
    expect(bubble.locator("img")).to_have_count(0)
    assert wait_for(lambda: page.evaluate("window.seen"), what="greeting_displayed")[0][:2] == ["displayed", 9]
    customer_id = page.evaluate("WidgetServer.get('customer_data').id")
    page.get_by_role("button", name="Sneaky").click()  # a javascript: link opens nothing and keeps the bubble
    expect(opener).to_be_visible()
    # the click counts in the greeting's statistics (send_greeting_button_clicked, as LiveChat's widget sends it)
    admin = make_agent(org, "Boss", "administrator")

    def clicks() -> int:
        r = httpx.post(f"{api}/v3.6/configuration/action/get_greeting", json={"id": 9},
                       headers={"Authorization": f"Bearer {admin.token}"}, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()["statistics"]["button_clicks"]

    wait_for(lambda: clicks() == 1, what="the click to count")

    # the message button: the chat opens with the button's message ready to send, the greeting counts as accepted
    page.get_by_role("button", name="Talk to sales").click()
    frame = chat_frame(page)
    expect(frame.locator("textarea.ws-input")).to_have_value("I would like a quote")
    expect(bubble).to_have_count(0)
    assert wait_for(lambda: [e for e in page.evaluate("window.seen") if e[0] == "hidden"])[0][1] == 9
    wait_for(lambda: agent.ok("get_customer", {"id": customer_id})["statistics"]["greetings_accepted_count"] == 1,
             what="the accepted greeting to count")
    wait_for(lambda: clicks() == 2, what="the second click to count")
    assert problems == []


def test_the_widget_works_by_keyboard_and_fills_a_narrow_screen(page: Page, host: str, api: str,
                                                                make_license: Any) -> None:
    org = make_license()
    problems = watch(page)
    page.set_viewport_size({"width": 375, "height": 700})
    page.goto(host_page(host, api, org))
    expect(launcher(page)).to_be_visible()
    for _ in range(5):  # Tab from the page's start to the launcher
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement?.shadowRoot?.activeElement?.getAttribute('aria-label')") == "Open chat":
            break
    page.keyboard.press("Enter")
    frame = chat_frame(page)
    expect(frame.get_by_text("We are away right now")).to_be_visible()
    expect(frame.get_by_label("Name:")).to_be_focused()  # focus goes to the first field of the offline form
    box = page.locator("iframe[title='Open chat']").bounding_box()
    assert box is not None and box["width"] == 375 and box["height"] == 700  # full screen on a phone
    page.keyboard.press("Escape")
    assert wait_for(lambda: page.evaluate("WidgetServer.get('state').visibility") == "minimized", what="Escape")
    assert problems == []


@pytest.fixture(scope="module")
def fast_server(tmp_path_factory: pytest.TempPathFactory, valkey_url: str) -> Iterator[Any]:
    """A server whose visitors count as online for 4 s, so the loader's heartbeat comes every 2 s, and whose customer
    tokens live 8 s (renewed by a heartbeat past half their life; sockets are told of their token's expiry from the
    end of the 3 s login timeout on)."""
    from tests.support import LiveServer

    live = LiveServer(tmp_path_factory.mktemp("e2e-fast"), valkey_url,
                      env={"WIDGET_TRACKING_ONLINE_SECONDS": "4", "WIDGET_TOKEN_TTL": "8",
                           "WIDGET_RTM_LOGIN_TIMEOUT": "3"}).start()
    yield live
    live.stop()


def test_an_agent_invites_a_browsing_visitor_and_the_widget_opens(page: Page, host: str, fast_server: Any,
                                                                  make_license: Any, make_agent: Any) -> None:  # noqa: F811
    org = make_license()
    made = agent_online(make_agent, org)
    agent = AgentAccount(fast_server.url, made.id, made.token)
    problems = watch(page)
    page.goto(host_page(host, fast_server.url, org))
    customer_id = page.evaluate("new Promise((done) => WidgetServer.on('ready', (d) => done(d.customerData.id)))")
    assert page.locator("iframe").count() == 0  # browsing: no frame, no socket
    agent.ok("start_chat", {"chat": {"users": [{"id": customer_id, "type": "customer"}], "thread": {
        "events": [{"type": "message", "text": "Hi! Can I help you find something?"}]}}})
    frame = chat_frame(page)
    expect(frame.get_by_text("Hi! Can I help you find something?")).to_be_visible(timeout=15000)
    assert page.evaluate("WidgetServer.get('state').visibility") == "maximized"
    box = frame.get_by_role("textbox", name="Write a message…")
    box.fill("Yes, a blue sweater")
    box.press("Enter")
    chat_id = agent.ok("list_chats", {})["chats_summary"][0]["id"]
    agent_sees(agent, chat_id, "Yes, a blue sweater")
    assert problems == []


def test_a_queued_visitor_sees_the_position_until_an_agent_takes_the_chat(
        page: Page, host: str, api: str, valkey_url: str, make_license: Any) -> None:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from widget_server.bootstrap import create_agent
    from widget_server.valkey import connect

    def agent_with(org: str, name: str, max_chats: int) -> AgentAccount:
        async def create() -> AgentAccount:
            client = connect(valkey_url)
            try:
                email = f"{name.lower()}-{secrets.token_hex(4)}@example.com"
                creds = await create_agent(client, org, email, name, "normal", max_chats=max_chats)
            finally:
                await client.aclose()
            return AgentAccount(api, email, creds["personal_access_token"])
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, create()).result(timeout=30)

    org = make_license()
    busy = agent_with(org, "Busy", 0)  # accepting, but with no room for a chat: the group is online for queueing
    busy.ok("set_routing_status", {"status": "accepting_chats"})
    problems = watch(page)
    page.goto(host_page(host, api, org))
    launcher(page).click()
    frame = chat_frame(page)
    box = frame.get_by_role("textbox", name="Write a message…")
    box.fill("Is anyone there?")
    box.press("Enter")
    expect(frame.get_by_text("You are number 1 in the queue", exact=False)).to_be_visible()
    page.evaluate("new Promise((done) => WidgetServer.on('ready', done))")  # the API is loaded
    wait_for(lambda: page.evaluate("WidgetServer.get('customer_data').status") == "queued", what="status queued")
    free = agent_with(org, "Free", 3)
    free.ok("set_routing_status", {"status": "accepting_chats"})  # the queue drains to the new agent
    expect(frame.get_by_text("You are number 1 in the queue", exact=False)).to_be_hidden()
    chat_id = free.ok("list_chats", {})["chats_summary"][0]["id"]
    free.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "Sorry for the wait!"}})
    expect(frame.get_by_text("Sorry for the wait!")).to_be_visible()
    expect(frame.locator(".ws-author").filter(has_text="Free").first).to_be_visible()
    assert problems == []


def test_the_chat_survives_its_token_expiring(page: Page, host: str, fast_server: Any, make_license: Any,
                                              make_agent: Any) -> None:  # noqa: F811
    org = make_license()
    made = agent_online(make_agent, org)
    agent = AgentAccount(fast_server.url, made.id, made.token)
    problems = watch(page)
    page.goto(host_page(host, fast_server.url, org))
    launcher(page).click()
    frame = chat_frame(page)
    box = frame.get_by_role("textbox", name="Write a message…")
    box.fill("Before the token expires")
    box.press("Enter")
    chat_id = customer_chat(agent)["id"]
    # the server ends the socket when the frame's token expires; the frame gets a fresh one from the page's loader
    expect(frame.get_by_role("status").filter(has_text="Reconnecting")).to_be_visible(timeout=15000)
    expect(frame.get_by_role("status").filter(has_text="Reconnecting")).to_be_hidden(timeout=15000)
    agent.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "Still here?"}})
    expect(frame.get_by_text("Still here?")).to_be_visible()
    box.fill("Yes, still here")
    box.press("Enter")
    agent_sees(agent, chat_id, "Yes, still here")
    assert problems == []
