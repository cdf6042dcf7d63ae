"""The widget in the visitor's language, direction and colour scheme, and the wizard's preview (issue 18), in
Chromium against a real server:

* a German browser gets the default message form's labels in German; an Arabic one gets Arabic texts and a mirrored
  window (``dir="rtl"``: the minimize button and the send button at the left end, the visitor's bubbles on the left);
* the ``auto`` theme follows ``prefers-color-scheme`` (Playwright emulates it), also when it changes while the chat
  is open, and passes axe in both schemes;
* the wizard's live preview shows a sample conversation (welcome, the visitor's and the agent's messages, a card),
  not the chats the owner's own browser had on the site, and what the owner types there is sent nowhere."""

from __future__ import annotations

import time
from collections.abc import Callable

from playwright.sync_api import Browser, Frame, Page, expect
from test_accessibility import open_chat, shop, shop_page  # noqa: F401 (fixtures)
from test_wizard import Owner, make_owner, sign_in  # noqa: F401 (fixtures)

from e2e.axe import assert_no_violations
from e2e.console_people import AgentAccount
from widget_server.protocol.config import Appearance, FormSetting, LicenseConfig

BACKGROUND_JS = "getComputedStyle(document.body).backgroundColor"
WHITE, DARK = "rgb(255, 255, 255)", "rgb(15, 23, 42)"  # the auto theme's two backgrounds (#ffffff, #0f172a)


def box(frame: Frame, selector: str) -> dict[str, float]:
    """Where an element is inside the frame (the frame's own coordinates)."""
    found = frame.evaluate("""(s) => { const el = document.querySelector(s);
        if (!el) return null; const r = el.getBoundingClientRect(); return {x: r.x, width: r.width}; }""", selector)
    assert found is not None, selector
    return found


def test_a_german_browser_gets_the_message_form_in_german(browser: Browser, api: str, shop: str,  # noqa: F811
                                                          make_license: Callable[..., str]) -> None:
    context = browser.new_context(locale="de-DE")
    try:
        page = context.new_page()
        page.goto(shop_page(shop, api, make_license()))
        page.get_by_role("button", name="Chat öffnen").click()
        chat = page.frame_locator("iframe[title='Chat öffnen']")
        expect(chat.get_by_text("Wir sind gerade nicht da")).to_be_visible()
        expect(chat.get_by_label("E-Mail:")).to_be_visible()
        expect(chat.get_by_label("Nachricht:")).to_be_visible()
        expect(chat.get_by_text("Message:")).to_have_count(0)
        chat.get_by_role("button", name="Nachricht senden").click()
        expect(chat.get_by_text("Dieses Feld ist erforderlich.").first).to_be_visible()
    finally:
        context.close()


def test_an_arabic_visitor_gets_a_mirrored_widget(browser: Browser, api: str, shop: str,  # noqa: F811
                                                  make_license: Callable[..., str],
                                                  make_agent: Callable[..., AgentAccount]) -> None:
    org = make_license(LicenseConfig(prechat=FormSetting(enabled=True)))
    agent = make_agent(org, "Ann")
    agent.ok("set_routing_status", {"status": "accepting_chats"})
    context = browser.new_context(locale="ar-EG")
    try:
        page = context.new_page()
        page.goto(shop_page(shop, api, org))
        page.get_by_role("button", name="افتح المحادثة").click()
        iframe = page.locator("iframe[title='افتح المحادثة']")
        expect(iframe).to_have_count(1, timeout=15000)
        frame = iframe.element_handle().content_frame()
        assert frame is not None
        expect(frame.get_by_role("button", name="ابدأ المحادثة")).to_be_visible()
        assert frame.evaluate("[document.documentElement.dir, document.documentElement.lang]") == ["rtl", "ar"]
        expect(frame.get_by_label("البريد الإلكتروني:")).to_be_visible()
        assert_no_violations(frame)  # the pre-chat form, right to left

        # the header mirrored: the minimize button at the left end, the title right of it
        assert box(frame, ".ws-header .ws-icon-button")["x"] < box(frame, "#ws-title")["x"]
        frame.get_by_label("الاسم:").fill("ليلى")
        frame.get_by_label("البريد الإلكتروني:").fill("layla@example.com")
        frame.get_by_role("button", name="ابدأ المحادثة").click()
        message = frame.get_by_role("textbox", name="اكتب رسالة…")
        expect(message).to_be_visible()
        message.fill("مرحبا")
        message.press("Enter")
        for _ in range(100):
            chats = agent.ok("list_chats", {})["chats_summary"]
            if chats:
                break
            time.sleep(0.1)
        chat_id = chats[0]["id"]
        agent.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "أهلًا، كيف أساعدك؟"}})
        expect(frame.get_by_role("log")).to_contain_text("أهلًا، كيف أساعدك؟")
        # the composer mirrored: send at the left end, attach at the right; the visitor's bubble on the left,
        # the agent's on the right
        assert box(frame, ".ws-send")["x"] < box(frame, ".ws-input")["x"] < box(frame, ".ws-composer .ws-icon-button")["x"] + 1
        mine, theirs = box(frame, ".ws-msg.customer .ws-bubble"), box(frame, ".ws-msg.agent .ws-bubble")
        width = frame.evaluate("innerWidth")
        assert mine["x"] < width / 2 and theirs["x"] + theirs["width"] > width / 2
        assert mine["x"] < theirs["x"]
        assert_no_violations(frame)  # a chat, right to left
    finally:
        context.close()


def test_the_auto_theme_follows_the_visitor_s_colour_scheme(browser: Browser, api: str, shop: str,  # noqa: F811
                                                             make_license: Callable[..., str]) -> None:
    org = make_license(LicenseConfig(appearance=Appearance(theme="auto")))
    context = browser.new_context(color_scheme="dark")
    try:
        page = context.new_page()
        page.goto(shop_page(shop, api, org))
        frame = open_chat(page)
        expect(frame.get_by_text("We are away right now")).to_be_visible()
        assert frame.evaluate(BACKGROUND_JS) == DARK
        assert frame.evaluate("document.documentElement.dataset.scheme") == "dark"
        assert_no_violations(frame)  # the offline form, dark

        page.emulate_media(color_scheme="light")  # the visitor's system switches while the chat is open
        expect(frame.locator("html")).to_have_attribute("data-scheme", "light")
        assert frame.evaluate(BACKGROUND_JS) == WHITE
        assert_no_violations(frame)  # and light
        page.emulate_media(color_scheme="dark")
        expect(frame.locator("html")).to_have_attribute("data-scheme", "dark")
        assert frame.evaluate(BACKGROUND_JS) == DARK
    finally:
        context.close()


def test_a_fixed_theme_ignores_the_colour_scheme(browser: Browser, api: str, shop: str,  # noqa: F811
                                                 make_license: Callable[..., str]) -> None:
    org = make_license()  # classic
    context = browser.new_context(color_scheme="dark")
    try:
        page = context.new_page()
        page.goto(shop_page(shop, api, org))
        frame = open_chat(page)
        expect(frame.get_by_text("We are away right now")).to_be_visible()
        assert frame.evaluate(BACKGROUND_JS) == WHITE
    finally:
        context.close()


def test_the_wizard_preview_shows_a_sample_conversation_not_the_owner_s_own_chats(
        page: Page, api: str, make_owner: Callable[..., Owner],  # noqa: F811
        make_agent: Callable[..., AgentAccount]) -> None:
    owner = make_owner(LicenseConfig(appearance=Appearance(agent_name="Ann from Support")))
    agent = make_agent(owner.org, "Ann")
    agent.ok("set_routing_status", {"status": "accepting_chats"})
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

    # the owner tries the widget on the server's demo page first: this browser is a visitor with a chat there
    page.goto(f"{api}/demo?organization_id={owner.org}")
    demo = open_chat(page)
    box_ = demo.get_by_role("textbox", name="Write a message…")
    box_.fill("The owner's own test message")
    box_.press("Enter")
    expect(demo.get_by_role("log")).to_contain_text("The owner's own test message")
    for _ in range(100):
        if agent.ok("list_chats", {})["chats_summary"]:
            break
        time.sleep(0.1)

    sign_in(page, api, owner)
    expect(page.get_by_role("heading", name="Your chat widget")).to_be_visible()
    chat = page.frame_locator("#preview").frame_locator("iframe[title='Open chat']")
    log = chat.get_by_role("log")
    expect(log).to_contain_text("Hello! Do you ship abroad?")  # the visitor's sample message
    expect(log).to_contain_text("We do: to most countries, within 3 to 5 days.")  # the agent's
    expect(log).to_contain_text("Hi! How can we help you today?")  # the welcome message
    expect(chat.get_by_role("button", name="Express")).to_be_visible()  # a card with buttons
    expect(log.locator(".ws-author").filter(has_text="Ann from Support").first).to_be_visible()
    expect(log).not_to_contain_text("The owner's own test message")

    # what the owner types in the preview shows there and goes nowhere
    chat.get_by_role("textbox", name="Write a message…").fill("Trying the composer")
    chat.get_by_role("textbox", name="Write a message…").press("Enter")
    expect(log).to_contain_text("Trying the composer")
    chat.get_by_role("button", name="Express").click()
    expect(log.locator(".ws-msg.customer").filter(has_text="Express")).to_have_count(1)
    chats = agent.ok("list_chats", {})["chats_summary"]
    assert len(chats) == 1
    texts = [e.get("text") for e in agent.ok("get_chat", {"chat_id": chats[0]["id"]})["thread"]["events"]]
    assert "Trying the composer" not in texts and "Express" not in texts
    preview_frame = page.frame(name="preview")
    assert preview_frame is not None
    inner = preview_frame.locator("iframe[title='Open chat']").element_handle().content_frame()
    assert inner is not None
    assert_no_violations(inner)  # the sample conversation
    assert problems == []
