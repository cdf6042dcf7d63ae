"""Accessibility (issue 18): axe-core (``e2e/axe.py``: WCAG 2.x A/AA and best practices) finds 0 violations on what a
visitor and a site owner meet — the widget (closed: the launcher on a site page; and in its frame: the pre-chat form,
an open chat with an agent's message and a rich message, the rating card after the chat, the offline form), the demo
page, and every page of the wizard, its live preview included.

axe runs inside the chat frame itself (the frame is a document of its own on the server's origin): a nested landmark,
a faded label in a bubble or a control without a name there is the widget's fault, not the site's."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest
from playwright.sync_api import Frame, Page, expect
from test_wizard import Owner, make_owner, sign_in  # noqa: F401 (fixtures)

from e2e.axe import assert_no_violations
from e2e.console_people import AgentAccount
from tests.support import serve_http
from widget_server.protocol.config import Appearance, FormSetting, LicenseConfig

PAGES: dict[str, bytes] = {}


class _ShopHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = PAGES.get(self.path.split("?", 1)[0])
        if self.path == "/favicon.ico":
            self.send_response(204)
            self.end_headers()
            return
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body or b"not found")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    """A site that embeds the widget: another origin than the API, a page that passes axe on its own (one main
    landmark, a heading, a language), so whatever axe finds there is the widget's."""
    with serve_http(_ShopHandler, "e2e-a11y-shop") as origin:
        yield origin


def shop_page(shop: str, api: str, org: str) -> str:
    snippet = httpx.get(f"{api}/widget/snippet", params={"organization_id": org}, timeout=10).text
    path = f"/a11y-{org}.html"
    PAGES[path] = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Shop</title></head><body>"
                   f"<main><h1>A shop</h1><p>Things to buy.</p></main>{snippet}</body></html>").encode()
    return shop + path


def open_chat(page: Page) -> Frame:
    """Clicks the launcher and returns the chat frame (a Playwright Frame: axe runs inside it)."""
    page.get_by_role("button", name="Open chat").click()
    iframe = page.locator("iframe[title='Open chat']")
    expect(iframe).to_have_count(1, timeout=15000)
    frame = iframe.element_handle().content_frame()
    assert frame is not None
    return frame


def watch(page: Page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    return problems


def first_chat(agent: AgentAccount) -> str:
    for _ in range(100):
        chats = agent.ok("list_chats", {})["chats_summary"]
        if chats:
            return chats[0]["id"]
        time.sleep(0.1)
    raise AssertionError("the visitor's chat never reached the agent")


def test_the_widget_has_no_violations_closed_in_the_pre_chat_form_in_a_chat_and_at_the_rating(
        page: Page, api: str, shop: str, make_license: Callable[..., str],
        make_agent: Callable[..., AgentAccount]) -> None:
    org = make_license(LicenseConfig(prechat=FormSetting(enabled=True),
                                     appearance=Appearance(agent_name="Ann from Support")))
    agent = make_agent(org, "Ann")
    agent.ok("set_routing_status", {"status": "accepting_chats"})
    problems = watch(page)
    page.goto(shop_page(shop, api, org))
    expect(page.get_by_role("button", name="Open chat")).to_be_visible()
    assert_no_violations(page)  # closed: the site page with the launcher

    frame = open_chat(page)
    expect(frame.get_by_role("button", name="Start the chat")).to_be_visible()
    assert_no_violations(frame)  # the pre-chat form
    frame.get_by_role("button", name="Start the chat").click()
    expect(frame.get_by_text("This field is required.").first).to_be_visible()
    assert_no_violations(frame)  # the form with its errors shown

    frame.get_by_label("Name:").fill("Vera")
    frame.get_by_label("E-mail:").fill("vera@example.com")
    frame.get_by_role("button", name="Start the chat").click()
    box = frame.get_by_role("textbox", name="Write a message…")
    expect(box).to_be_visible()
    box.fill("Where is my parcel?")
    box.press("Enter")
    chat_id = first_chat(agent)
    agent.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "It left the depot today."}})
    agent.ok("send_event", {"chat_id": chat_id, "event": {
        "type": "rich_message", "template_id": "cards",
        "elements": [{"title": "Track your parcel", "subtitle": "Updated every hour", "buttons": [
            {"text": "Open tracking", "type": "url", "value": "https://example.com/track", "postback_id": "pb_track"},
            {"text": "Thanks", "type": "message", "value": "Thanks", "postback_id": "pb_thanks"}]}]}})
    expect(frame.get_by_role("button", name="Open tracking")).to_be_visible()
    expect(frame.get_by_role("log")).to_contain_text("It left the depot today.")
    assert_no_violations(frame)  # a chat open: the pre-chat answers, both sides' messages, a card

    agent.ok("deactivate_chat", {"id": chat_id})
    expect(frame.get_by_role("group", name="How was this chat?")).to_be_visible()
    assert_no_violations(frame)  # the rating card
    frame.get_by_role("button", name="Good").click()
    expect(frame.get_by_role("button", name="Send rating")).to_be_visible()
    assert_no_violations(frame)  # a choice made, the comment box open
    assert problems == []


def test_the_offline_form_has_no_violations(page: Page, api: str, shop: str,
                                            make_license: Callable[..., str]) -> None:
    org = make_license()
    problems = watch(page)
    page.goto(shop_page(shop, api, org))
    frame = open_chat(page)
    expect(frame.get_by_text("We are away right now")).to_be_visible()
    assert_no_violations(frame)
    frame.get_by_role("button", name="Send message").click()
    expect(frame.get_by_text("This field is required.").first).to_be_visible()
    assert_no_violations(frame)
    assert problems == []


def test_the_demo_page_has_no_violations(page: Page, api: str, make_license: Callable[..., str]) -> None:
    org = make_license()
    page.goto(f"{api}/demo?organization_id={org}")
    expect(page.get_by_role("heading", name="Demo shop")).to_be_visible()
    expect(page.get_by_role("button", name="Open chat")).to_be_visible()
    assert_no_violations(page)


def test_every_wizard_page_has_no_violations(page: Page, api: str, make_owner: Callable[..., Owner]) -> None:  # noqa: F811
    owner = make_owner()
    page.goto(f"{api}/wizard/login")
    assert_no_violations(page)
    sign_in(page, api, owner, password="not the password")
    expect(page.get_by_role("alert")).to_be_visible()
    assert_no_violations(page)  # a refused sign-in
    sign_in(page, api, owner)
    expect(page.get_by_role("heading", name="Your chat widget")).to_be_visible()
    expect(page.locator("#survey-prechat [data-move]").first).to_be_visible()  # the script renumbered the rows
    assert_no_violations(page)  # the settings, with the form builders' buttons
    page.get_by_label("Primary colour", exact=True).fill("#12345")
    page.get_by_role("button", name="Save and publish").click()
    expect(page.locator("#error-summary")).to_be_focused()
    assert_no_violations(page)  # the settings refused, the error summary and a field's message
    page.get_by_label("Primary colour", exact=True).fill("#e11d48")
    page.get_by_role("button", name="Save and publish").click()
    expect(page.get_by_role("status").filter(has_text="Saved as version 2")).to_be_visible()
    assert_no_violations(page)  # saved
    preview = page.frame(name="preview")
    assert preview is not None
    expect(page.frame_locator("#preview").get_by_role("button", name="Open chat")).to_be_visible()
    assert_no_violations(preview)  # the preview page, the launcher on it
    for path in ("/wizard/history", "/wizard/hours", "/wizard/greetings", "/wizard/tickets", "/wizard/timeouts",
                 "/wizard/install", "/wizard/dashboard"):
        page.goto(api + path)
        expect(page.get_by_role("main")).to_be_visible()
        assert_no_violations(page)
    page.goto(f"{api}/wizard/preview?open=1")
    frame = page.frame_locator("iframe[title='Open chat']")
    expect(frame.get_by_role("heading", name="Chat with us")).to_be_visible()
    assert_no_violations(page)
    chat = page.locator("iframe[title='Open chat']").element_handle().content_frame()
    assert chat is not None
    assert_no_violations(chat)  # the preview's chat window


@pytest.mark.parametrize(("theme", "scheme"), [("classic", "light"), ("modern", "light"), ("dark", "light"),
                                               ("minimal", "light"), ("auto", "light"), ("auto", "dark")])
def test_every_theme_passes_with_a_chat_open(page: Page, api: str, shop: str, theme: str, scheme: str,
                                             make_license: Callable[..., str],
                                             make_agent: Callable[..., AgentAccount]) -> None:
    """Colour contrast is the theme's: each one, with both sides' bubbles, a card, the composer and the header (the
    auto theme in the visitor's light and dark scheme)."""
    org = make_license(LicenseConfig(appearance=Appearance(theme=theme, agent_name="Ann from Support")))
    agent = make_agent(org, "Ann")
    agent.ok("set_routing_status", {"status": "accepting_chats"})
    page.emulate_media(color_scheme=scheme)
    page.goto(shop_page(shop, api, org))
    frame = open_chat(page)
    box = frame.get_by_role("textbox", name="Write a message…")
    box.fill("Do you ship abroad?")
    box.press("Enter")
    chat_id = first_chat(agent)
    agent.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "We do, see https://example.com"}})
    agent.ok("send_event", {"chat_id": chat_id, "event": {
        "type": "rich_message", "template_id": "quick_replies",
        "elements": [{"title": "Which one?", "buttons": [
            {"text": "Standard", "type": "message", "value": "Standard", "postback_id": "pb_standard"},
            {"text": "Express", "type": "message", "value": "Express", "postback_id": "pb_express"}]}]}})
    expect(frame.get_by_role("button", name="Express")).to_be_visible()
    expect(frame.locator(".ws-pending")).to_have_count(0)  # (a message on its way is faded on purpose)
    assert frame.evaluate("document.documentElement.dataset.scheme") == scheme
    assert_no_violations(frame)
