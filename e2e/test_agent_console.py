"""The agent console (``GET /agent``) in Chromium: an agent signs in with a personal access token and answers a
customer who is driven from Python over the real Customer Chat API (``tests.support.CustomerClient`` on an
asyncio loop of its own in a background thread, since the sync Playwright API owns the main thread's loop).

The page runs under its strict Content-Security-Policy the whole time; any CSP violation, console error, page error
or dialog (an ``alert`` from injected markup) fails the test."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from e2e.console_people import CSP, XSS, AgentAccount, Background, CustomerSide, sign_in, wait_for
from tests.support import CustomerClient, Socket
from widget_server.widget.build import read_manifest

# --- stories ---------------------------------------------------------------------------------------------------------


def test_agent_answers_a_customer_from_the_console(watched: Page, api: str, make_license: Callable[..., str],
                                                   make_agent: Callable[..., AgentAccount],
                                                   customer_of: Callable[[str], CustomerSide],
                                                   output_path: str) -> None:
    page = watched
    org = make_license()
    agent = make_agent(org, "Ann")
    sign_in(page, api, agent)

    # signing in made her available; she switches off and on again, and the server agrees each time
    switch = page.get_by_role("switch", name="Accepting chats")
    expect(switch).to_be_checked()
    switch.uncheck()
    assert wait_for(lambda: agent.routing_status() == "not_accepting_chats")
    switch.check()
    assert wait_for(lambda: agent.routing_status() == "accepting_chats")

    customer = customer_of(org)
    customer.ok("update_customer", {"name": "Dana <b>Bold</b>", "email": "dana@example.com",
                                    "session_fields": [{"plan": "pro"}, {"cart": "2 items"}]})
    started = customer.ok("start_chat", {"chat": {"thread": {"events": [
        {"type": "message", "text": "Hi, where is order 42?"}]}}})
    chat_id = started["chat_id"]

    # routing gives the chat to Ann: it appears in her list, marked as hers
    item = page.locator(f'#chat-list [data-chat-id="{chat_id}"]')
    expect(item).to_contain_text("Dana <b>Bold</b>")
    expect(item).to_contain_text("Mine")
    item.click()
    messages = page.get_by_role("log", name="Messages")
    expect(messages).to_contain_text("Hi, where is order 42?")
    expect(page.locator("#customer-details")).to_contain_text("dana@example.com")
    expect(page.locator("#session-fields")).to_contain_text("plan")
    expect(page.locator("#session-fields")).to_contain_text("2 items")
    expect(page.get_by_role("button", name="Join")).to_be_hidden()

    # she types (the customer sees her typing), then Enter sends
    reply = page.get_by_label("Reply")
    reply.press_sequentially("It ships today.", delay=5)
    typing = customer.push("incoming_typing_indicator")
    assert typing["typing_indicator"]["author_id"] == agent.id and typing["typing_indicator"]["is_typing"] is True
    reply.press("Enter")
    expect(reply).to_have_value("")
    assert customer.event_from(agent.id)["text"] == "It ships today."
    expect(messages).to_contain_text("It ships today.")
    threads = customer.ok("list_threads", {"chat_id": chat_id})["threads"]
    assert {"text": "It ships today.", "author_id": agent.id} in [
        {"text": e.get("text"), "author_id": e["author_id"]} for e in threads[0]["events"]]

    # the customer's sneak peek shows live under the history, and goes when the message arrives
    peek = page.locator("#sneak-peek")
    customer.ok("send_sneak_peek", {"chat_id": chat_id, "sneak_peek_text": "Great, can I <i>change</i> the addr"})
    expect(peek).to_be_visible()
    expect(peek).to_contain_text("Great, can I <i>change</i> the addr")
    customer.ok("send_event", {"chat_id": chat_id, "event": {"type": "message",
                                                             "text": "Great, can I change the address?"}})
    expect(messages).to_contain_text("Great, can I change the address?")
    expect(peek).to_be_hidden()

    # markup in a message is text, never markup
    reply.fill(XSS)
    reply.press("Enter")
    assert customer.event_from(agent.id)["text"] == XSS
    expect(messages.locator("p.text", has_text=XSS)).to_have_count(1)
    assert page.locator("img").count() == 0
    assert page.locator("#chat-list b, #messages i, #sneak-peek i").count() == 0

    # quick replies with postback ids
    page.locator("summary", has_text="Quick replies or a card").click()
    page.get_by_label("Title", exact=True).fill("Was this helpful?")
    page.get_by_label("Buttons", exact=True).fill("Yes | helpful_yes\nNo")
    page.get_by_role("button", name="Send rich message").click()
    rich = customer.event_from(agent.id)
    assert rich["type"] == "rich_message" and rich["template_id"] == "quick_replies"
    assert [(b["text"], b["postback_id"]) for b in rich["elements"][0]["buttons"]] == [
        ("Yes", "helpful_yes"), ("No", "no_2")]
    expect(messages).to_contain_text("Was this helpful?")

    page.locator("summary", has_text="Quick replies or a card").click()  # fold the form for the screenshot
    out = Path(output_path)
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / "agent-console.png"), full_page=True)

    # closing ends the chat for both sides
    page.get_by_role("button", name="Close chat").click()
    assert customer.push("chat_deactivated")["user_id"] == agent.id
    expect(page.locator("#chat-state")).to_have_text("Closed")
    expect(item).to_contain_text("Closed")
    expect(reply).to_be_disabled()


def test_agent_joins_a_queued_chat_and_transfers_it(watched: Page, api: str, make_license: Callable[..., str],
                                                    make_agent: Callable[..., AgentAccount],
                                                    customer_of: Callable[[str], CustomerSide]) -> None:
    page = watched
    org = make_license()
    ann, bob = make_agent(org, "Ann"), make_agent(org, "Bob")
    sign_in(page, api, ann)
    page.get_by_role("switch", name="Accepting chats").uncheck()
    assert wait_for(lambda: ann.routing_status() == "not_accepting_chats")

    # nobody accepts chats: the chat waits in the queue, and Ann's console shows it as queued
    customer = customer_of(org)
    chat_id = customer.ok("start_chat", {"chat": {"thread": {"events": [
        {"type": "message", "text": "Anyone there?"}]}}})["chat_id"]
    item = page.locator(f'#chat-list [data-chat-id="{chat_id}"]')
    expect(item).to_contain_text("Queued #1")
    expect(item).to_be_hidden()  # the list shows her own chats; the queue is a filter away, and counts one
    queued = page.get_by_role("button", name=re.compile(r"^Queued"))
    expect(queued).to_have_text(re.compile(r"Queued\s*1$"))
    queued.click()
    expect(queued).to_have_attribute("aria-pressed", "true")
    item.click()
    expect(page.get_by_role("log", name="Messages")).to_contain_text("Anyone there?")

    page.get_by_role("button", name="Join").click()
    assert customer.push("user_added_to_chat")["user"]["id"] == ann.id
    expect(item).to_contain_text("Mine")
    expect(page.get_by_role("button", name="Join")).to_be_hidden()

    # she hands the chat to Bob
    bob.ok("set_routing_status", {"status": "accepting_chats"})
    page.locator("summary", has_text="Transfer").click()
    page.get_by_label("Transfer to").select_option("agent")
    page.get_by_label("Agent id (e-mail) or group id").fill(bob.id)
    page.get_by_role("button", name="Transfer", exact=True).click()
    transferred = customer.push("chat_transferred")
    assert transferred["transferred_to"]["agent_ids"] == [bob.id]
    assert customer.push("user_added_to_chat")["user"]["id"] == bob.id
    expect(item).to_contain_text("Bob")
    expect(item).not_to_contain_text("Mine")
    expect(page.locator("#chat-state")).to_contain_text("transferred to")
    expect(page.get_by_role("button", name="Join")).to_be_visible()

    # the token stays for the tab: a reload signs her in again; signing out forgets it
    page.reload()
    expect(page.locator("#me")).to_contain_text(ann.id)
    expect(item).to_be_hidden()  # not hers any more: under "All active"
    page.get_by_role("button", name=re.compile(r"^All active")).click()
    expect(item).to_contain_text("Bob")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Personal access token")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('widget_server.agent_token')") is None


def test_the_console_marks_a_silent_chat_inactive_until_the_next_message(
        watched: Page, api: str, make_license: Callable[..., str], make_agent: Callable[..., AgentAccount],
        customer_of: Callable[[str], CustomerSide]) -> None:
    """The license's chat_inactive_after_min (3 s here; the other timers off): the chat's routing.idle property
    shows as an "Inactive" badge in the list, and the customer's next message takes it away."""
    page = watched
    org = make_license()
    owner = make_agent(org, "Owen", "owner")
    r = httpx.post(f"{api}/v3.6/configuration/action/update_license_properties", timeout=10,
                   headers={"Authorization": f"Bearer {owner.token}"},
                   json={"properties": {"chats": {"transfer_chat_after_min": 0, "chat_inactive_after_min": 0.05,
                                                  "archive_chat_after_min": 0}}})
    assert r.status_code == 200, r.text
    ann = make_agent(org, "Ann")
    sign_in(page, api, ann)
    customer = customer_of(org)
    chat_id = customer.ok("start_chat", {"chat": {"thread": {"events": [
        {"type": "message", "text": "Hello"}]}}})["chat_id"]
    item = page.locator(f'#chat-list [data-chat-id="{chat_id}"]')
    expect(item).to_contain_text("Mine")
    expect(item).to_contain_text("Inactive", timeout=20_000)
    customer.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "still there?"}})
    expect(item).not_to_contain_text("Inactive")
    expect(item).to_contain_text("still there?")
    # a reload reads the mark from list_chats' properties
    expect(item).to_contain_text("Inactive", timeout=20_000)
    page.reload()
    expect(page.locator(f'#chat-list [data-chat-id="{chat_id}"]')).to_contain_text("Inactive")
    # the Inactive filter lists such chats
    inactive = page.get_by_role("group", name="Show").get_by_role("button", name=re.compile("^Inactive"))
    expect(inactive).to_have_text(re.compile(r"Inactive\s*1$"))
    inactive.click()
    expect(page.locator("#chat-list .chat-item:visible")).to_have_count(1)
    expect(page.locator(f'#chat-list [data-chat-id="{chat_id}"]')).to_be_visible()


def test_a_wrong_token_is_refused(watched: Page, api: str) -> None:
    page = watched
    page.goto(f"{api}/agent")
    page.get_by_label("Personal access token").fill("not-a-token")
    page.get_by_role("button", name="Use token").click()
    expect(page.get_by_role("alert")).to_have_text("That token was not accepted.")
    expect(page.get_by_label("Personal access token")).to_be_focused()
    expect(page.locator("#console-view")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('widget_server.agent_token')") is None


def test_console_page_and_bundles_are_served_from_memory_hashed_and_precompressed(api: str) -> None:
    """The page names the build's content-hashed bundles (esbuild, like the widget's): they are immutable and come
    precompressed (brotli, gzip); the page itself is revalidated. Nothing else of the build, and no path, is served."""
    page = httpx.get(f"{api}/agent")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["content-security-policy"] == CSP and page.headers["cache-control"] == "no-cache"
    again = httpx.get(f"{api}/agent", headers={"If-None-Match": page.headers["etag"],
                                                "Accept-Encoding": page.headers.get("content-encoding", "identity")})
    assert again.status_code == 304
    for stem, ext, media_type in (("console", "js", "text/javascript"), ("console", "css", "text/css")):
        match = re.search(rf'"(/agent/assets/{stem}\.[0-9a-f]{{12}}\.{ext})"', page.text)
        assert match, page.text
        url = api + match.group(1)
        plain = httpx.get(url, headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 200 and plain.headers["content-type"] == f"{media_type}; charset=utf-8"
        assert plain.headers["cache-control"] == "public, max-age=31536000, immutable"
        for encoding in ("br", "gzip"):
            packed = httpx.get(url, headers={"Accept-Encoding": encoding})
            assert packed.headers["content-encoding"] == encoding
            assert len(packed.headers["content-length"]) and int(packed.headers["content-length"]) < len(plain.content)
            assert packed.content == plain.content  # (httpx decodes)
            revalidated = httpx.get(url, headers={"Accept-Encoding": encoding, "If-None-Match": packed.headers["etag"]})
            assert revalidated.status_code == 304 and revalidated.content == b""
    for name in ("../app.py", "agent.html", "agent.js", "manifest.json"):
        assert httpx.get(f"{api}/agent/assets/{name}").status_code == 404, name
    manifest = read_manifest()  # the server's build (it runs from this checkout)
    assert manifest is not None
    # the widget's bundle lives in the same build but is not the console's to serve
    assert httpx.get(f"{api}/agent/assets/{manifest.files['widget.js'].file}").status_code == 404


def test_agent_sees_a_visitor_arrive_and_starts_a_chat_from_the_visitors_view(
        watched: Page, api: str, make_license: Callable[..., str], make_agent: Callable[..., AgentAccount],
        background: Background, output_path: str) -> None:
    page = watched
    org = make_license()
    agent = make_agent(org, "Ann")
    sign_in(page, api, agent)
    visitors_tab = page.get_by_role("tab", name="Visitors")
    visitors_tab.click()
    expect(visitors_tab).to_have_attribute("aria-selected", "true")
    expect(page.locator("#no-visitors")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile(r"^Today: 0 visitors"))).to_be_attached()

    # a visitor lands on the shop: the loader reports the page view over plain HTTP (no socket)
    customer = CustomerClient(api, org)
    background.run(customer.authorize())
    background.run(customer.ok("update_customer", {"name": "Dana <b>Bold</b>"}))

    def page_view(url: str, title: str) -> None:
        r = background.run(customer.http.post("/v1/track", params={"organization_id": org},
                                              json={"type": "page_view", "url": url, "title": title},
                                              headers={"Authorization": f"Bearer {customer.token}"}))
        assert r.status_code == 200, r.text

    socket: Socket | None = None
    try:
        page_view("https://shop.example/pricing", "Pricing <i>plans</i>")
        row = page.locator(f'#visitor-rows tr[data-visitor-id="{customer.id}"]')
        expect(row).to_contain_text("Dana <b>Bold</b>")
        expect(row).to_contain_text("Pricing <i>plans</i>")
        expect(row).to_contain_text("https://shop.example/pricing")
        expect(row).to_contain_text("under a minute")
        expect(row).to_contain_text("Browsing")
        expect(visitors_tab).to_contain_text("1")
        expect(page.locator("#no-visitors")).to_be_hidden()
        page_view("https://shop.example/checkout", "Checkout")  # she moves on: the row follows
        expect(row).to_contain_text("Checkout")
        expect(row).not_to_contain_text("Pricing")
        assert page.locator("#visitor-rows i, #visitor-rows b").count() == 0

        # the chart counts her once the view is shown again (it reads the counters when shown)
        page.get_by_role("tab", name="Chats").click()
        visitors_tab.click()
        expect(page.get_by_role("img", name=re.compile(r"^Today: 1 visitor and 0 chats"))).to_be_attached()
        page.get_by_role("button", name="Last 7 days").click()
        expect(page.get_by_role("img", name=re.compile(r"^The last 7 days: 1 visitor"))).to_be_attached()
        assert page.locator("#traffic-chart rect.bar-visitors").count() >= 24 * 7
        page.get_by_role("button", name="Today").click()

        # she opens the widget (its socket is what gets the chat); Ann starts a chat from her row
        socket = background.run(customer.rtm())
        row.get_by_role("button", name=re.compile("^Start chat with Dana")).click()
        incoming = background.run(socket.push("incoming_chat"))["payload"]["chat"]
        assert agent.id in [u["id"] for u in incoming["users"]]
        expect(page.get_by_role("tab", name="Chats")).to_have_attribute("aria-selected", "true")
        item = page.locator(f'#chat-list [data-chat-id="{incoming["id"]}"]')
        expect(item).to_contain_text("Mine")
        expect(page.locator("#chat-title")).to_have_text("Dana <b>Bold</b>")
        reply = page.get_by_label("Reply")
        expect(reply).to_be_focused()
        reply.fill("Hi Dana, questions about checkout?")
        reply.press("Enter")
        deadline = time.monotonic() + 5
        while True:
            event = background.run(socket.push("incoming_event", timeout=max(0.1, deadline - time.monotonic())))
            if event["payload"]["event"]["author_id"] == agent.id:
                break
        assert event["payload"]["event"]["text"] == "Hi Dana, questions about checkout?"

        # back in the visitors view she shows as chatting (and the chart counts the chat); the button opens it
        visitors_tab.click()
        expect(row).to_contain_text("Chatting")
        expect(page.get_by_role("img", name=re.compile(r"^Today: 1 visitor and 1 chat\b"))).to_be_attached()
        out = Path(output_path)
        out.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out / "agent-visitors.png"), full_page=True)
        row.get_by_role("button", name=re.compile("^Open chat with Dana")).click()
        expect(page.get_by_role("tab", name="Chats")).to_have_attribute("aria-selected", "true")
        expect(page.locator("#chat-title")).to_have_text("Dana <b>Bold</b>")
        expect(page.get_by_role("log", name="Messages")).to_contain_text("Hi Dana, questions about checkout?")
    finally:
        if socket is not None:
            background.run(socket.close())
        background.run(customer.aclose())
