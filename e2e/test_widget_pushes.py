"""The chat frame keeps up with the Customer Chat API 3.6 pushes (issue 21), in Chromium against a real server: an
agent (``AgentClient`` from tests/support, on a background loop) previews a message, shows a bot's "thinking" line
and updates a card; the visitor deletes a message and every open tab drops it; the frame keeps LiveChat's
``customer_side_storage`` and sends it back when it logs in.

Like ``e2e/test_widget.py``, every story runs on the API's site and on another site (where the frame's storage
throws: ``chat_frame`` checks), and fails on any console error, page error or dialog."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Frame, Page, expect

from e2e.axe import assert_no_violations
from e2e.console_people import Background
from e2e.test_widget import agent_online, chat_frame, customer_chat, host, host_page, launcher, wait_for, watch  # noqa: F401
from tests.support import AgentClient


class Agent:
    """The agent's Web API calls through ``AgentClient`` (async) on the test's background loop."""

    def __init__(self, background: Background, api: str, account: Any) -> None:
        self.background = background
        self.client = AgentClient(api, account.id, account.token)
        self.account = account

    def ok(self, action: str, payload: Any = None) -> Any:
        return self.background.run(self.client.ok(action, payload))

    def close(self) -> None:
        self.background.run(self.client.aclose())


def start_chatting(page: Page, text: str) -> Any:
    """Opens the widget and sends the visitor's first message; returns the chat frame's locator."""
    launcher(page).click()
    frame = chat_frame(page)
    box = frame.get_by_role("textbox", name="Write a message…")
    box.fill(text)
    box.press("Enter")
    expect(frame.locator(".ws-msg.customer:not(.ws-pending)").filter(has_text=text)).to_have_count(1)
    return frame


def until(page: Page, predicate: Any, what: str) -> None:
    """Waits for ``predicate()`` while Playwright delivers the page's events (``time.sleep`` would hold them)."""
    for _ in range(100):
        if predicate():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"timed out waiting for {what}")


def frame_of(page: Page) -> Frame:
    frame = page.locator("iframe[title='Open chat']").element_handle().content_frame()
    assert frame is not None
    return frame


def test_a_message_the_visitor_deletes_leaves_every_open_tab(page: Page, host: str, api: str,  # noqa: F811
                                                               make_license: Any, make_agent: Any) -> None:
    org = make_license()
    agent = agent_online(make_agent, org)
    problems = watch(page)
    url = host_page(host, api, org)
    page.goto(url)
    first = start_chatting(page, "My card number is 4111 oops")
    box = first.get_by_role("textbox", name="Write a message…")
    box.fill("Where is my parcel?")
    box.press("Enter")
    chat_id = customer_chat(agent)["id"]

    def both_sent() -> Any:
        chat = agent.ok("get_chat", {"chat_id": chat_id})
        return chat if sum(e["type"] == "message" for e in chat["thread"]["events"]) == 2 else None

    chat = wait_for(both_sent, what="both messages to reach the agent")
    oops = next(e for e in chat["thread"]["events"] if e.get("text") == "My card number is 4111 oops")

    # the same visitor in a second tab: the same chat, connected (it is active)
    second_page = page.context.new_page()
    problems += watch(second_page)
    second_page.goto(url)
    launcher(second_page).click()
    second = chat_frame(second_page)
    for frame in (first, second):
        expect(frame.get_by_text("My card number is 4111 oops")).to_have_count(1)
        expect(frame.get_by_text("Where is my parcel?")).to_have_count(1)

    # the visitor deletes the message (the Customer API's delete_event, from the first tab's connection)
    first.locator("body").evaluate("(_, ids) => window.__wsRtm.request('delete_event', ids)", {
        "chat_id": chat_id, "thread_id": chat["thread"]["id"], "event_id": oops["id"]})
    for frame in (first, second):
        expect(frame.get_by_text("My card number is 4111 oops")).to_have_count(0)
        expect(frame.get_by_text("Where is my parcel?")).to_have_count(1)

    # a tab whose socket was down when a deletion happened (a sleeping laptop) drops it when it reconnects
    box.fill("Sorry, my address is 1 Secret Lane")
    box.press("Enter")
    expect(second.get_by_text("Sorry, my address is 1 Secret Lane")).to_have_count(1)
    secret = wait_for(lambda: next((e for e in agent.ok("get_chat", {"chat_id": chat_id})["thread"]["events"]
                                    if e.get("text") == "Sorry, my address is 1 Secret Lane"), None),
                      what="the third message to reach the agent")
    second.locator("body").evaluate("() => { window.__wsRtm.closed = true; window.__wsRtm.drop(); }")
    expect(second.get_by_role("status").filter(has_text="Reconnecting")).to_be_visible()
    first.locator("body").evaluate("(_, ids) => window.__wsRtm.request('delete_event', ids)", {
        "chat_id": chat_id, "thread_id": chat["thread"]["id"], "event_id": secret["id"]})
    expect(first.get_by_text("Sorry, my address is 1 Secret Lane")).to_have_count(0)
    expect(second.get_by_text("Sorry, my address is 1 Secret Lane")).to_have_count(1)  # it heard nothing
    second.locator("body").evaluate("() => { window.__wsRtm.closed = false; window.__wsRtm.connectNow(); }")
    expect(second.get_by_text("Sorry, my address is 1 Secret Lane")).to_have_count(0)
    expect(second.get_by_text("Where is my parcel?")).to_have_count(1)
    # and a reloaded tab does not bring it back
    second_page.reload()
    launcher(second_page).click()
    second = chat_frame(second_page)
    expect(second.get_by_text("Where is my parcel?")).to_have_count(1)
    expect(second.get_by_text("My card number is 4111 oops")).to_have_count(0)
    assert problems == []


def test_an_agents_preview_and_thinking_line_give_way_to_the_message(page: Page, host: str, api: str,  # noqa: F811
                                                                     make_license: Any, make_agent: Any,
                                                                     background: Background) -> None:
    org = make_license()
    agent = Agent(background, api, agent_online(make_agent, org))
    problems = watch(page)
    # a controllable clock (time still runs): the indicator's lifetime is reached by jumping, not by sleeping
    page.clock.install()
    page.goto(host_page(host, api, org))
    frame = start_chatting(page, "Has my parcel left?")
    chat_id = customer_chat(agent.account)["id"]
    previews = frame.locator(".ws-log .ws-preview")
    thinking = frame.get_by_role("status").filter(has_text="Checking your order")
    try:
        # a preview grows as the agent writes: one bubble, its text replaced, inside the conversation's log
        agent.ok("send_event_preview", {"chat_id": chat_id, "event": {"type": "message", "text": "Let me ch"}})
        expect(previews).to_have_count(1)
        expect(previews).to_contain_text("Ann is typing…")
        expect(previews).to_contain_text("Let me ch")
        agent.ok("send_event_preview", {"chat_id": chat_id, "event": {"type": "message",
                                                                      "text": "Let me check the <b>carrier</b>"}})
        expect(previews).to_have_count(1)
        expect(previews.locator(".ws-bubble")).to_have_text("Let me check the <b>carrier</b>")
        assert frame.locator(".ws-log b").count() == 0  # text, never markup

        # a bot's "thinking" line: its title and description in a polite status line
        agent.ok("send_thinking_indicator", {"chat_id": chat_id, "title": "Checking your order",
                                             "description": "Asking the carrier"})
        expect(thinking).to_be_visible()
        expect(thinking).to_contain_text("Asking the carrier")
        assert thinking.get_attribute("aria-live") == "polite"
        assert frame.locator(".ws-log").get_attribute("aria-live") == "polite"  # where the preview is
        assert_no_violations(frame_of(page))

        # the real message replaces both
        agent.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "It left this morning"}})
        expect(frame.locator(".ws-msg.agent:not(.ws-preview)").filter(has_text="It left this morning")).to_have_count(1)
        expect(previews).to_have_count(0)
        expect(thinking).to_have_count(0)

        # a thinking line no message follows goes after its lifetime (30 s), not before
        agent.ok("send_thinking_indicator", {"chat_id": chat_id, "title": "Checking your order"})
        expect(thinking).to_be_visible()
        page.clock.run_for(20000)
        expect(thinking).to_be_visible()
        page.clock.run_for(11000)
        expect(thinking).to_have_count(0)
        # so does a preview the agent never sends
        agent.ok("send_event_preview", {"chat_id": chat_id, "event": {"type": "message", "text": "One more th"}})
        expect(previews).to_have_count(1)
        page.clock.run_for(31000)
        expect(previews).to_have_count(0)
        # and the chat's end takes both away at once
        agent.ok("send_event_preview", {"chat_id": chat_id, "event": {"type": "message", "text": "Bye for n"}})
        agent.ok("send_thinking_indicator", {"chat_id": chat_id, "title": "Checking your order"})
        expect(previews).to_have_count(1)
        expect(thinking).to_be_visible()
        agent.ok("deactivate_chat", {"id": chat_id})
        expect(frame.get_by_text("How was this chat?")).to_be_visible()
        expect(previews).to_have_count(0)
        expect(thinking).to_have_count(0)
    finally:
        agent.close()
    assert problems == []


def test_a_card_the_visitor_answers_is_updated_in_place(page: Page, host: str, api: str,  # noqa: F811
                                                        make_license: Any, make_agent: Any,
                                                        background: Background) -> None:
    org = make_license()
    agent = Agent(background, api, agent_online(make_agent, org))
    problems = watch(page)
    page.goto(host_page(host, api, org))
    frame = start_chatting(page, "How fast can you ship?")
    chat_id = customer_chat(agent.account)["id"]
    try:
        agent.ok("send_event", {"chat_id": chat_id, "event": {
            "type": "rich_message", "template_id": "cards", "elements": [{"title": "Shipping", "buttons": [
                {"text": "Standard", "type": "message", "value": "Standard", "postback_id": "pb_standard"},
                {"text": "Express", "type": "message", "value": "Express", "postback_id": "pb_express"}]}]}})
        express = frame.get_by_role("button", name="Express")
        expect(express).to_have_attribute("aria-pressed", "false")
        express.click()
        # event_updated: the same card, now with the visitor's choice pressed; the reply comes after it
        expect(express).to_have_attribute("aria-pressed", "true")
        expect(frame.get_by_role("button", name="Standard")).to_have_attribute("aria-pressed", "false")
        expect(frame.locator(".ws-card")).to_have_count(1)
        reply = frame.locator(".ws-msg.customer:not(.ws-pending)").filter(has_text="Express")
        expect(reply).to_have_count(1)
        order = frame.locator(".ws-log [data-key]").evaluate_all(
            "(nodes) => nodes.map((n) => n.querySelector('.ws-card') ? 'card' : n.textContent)")
        assert order.index("card") < next(i for i, text in enumerate(order) if "Express" in text and text != "card")
        # the agent's view agrees: the visitor is who toggled Express on
        chat = agent.ok("get_chat", {"chat_id": chat_id})
        customer_id = next(u["id"] for u in chat["users"] if u["type"] == "customer")
        card = next(e for e in chat["thread"]["events"] if e["type"] == "rich_message")
        assert [b.get("user_ids") for b in card["elements"][0]["buttons"]] == [None, [customer_id]]
        # a second click takes the choice back
        express.click()
        expect(express).to_have_attribute("aria-pressed", "false")
    finally:
        agent.close()
    assert problems == []


def test_the_frame_keeps_customer_side_storage_and_sends_it_back_at_login(page: Page, host: str,  # noqa: F811
                                                                          api: str, make_license: Any,
                                                                          make_agent: Any) -> None:
    org = make_license()
    agent_online(make_agent, org)
    problems = watch(page)
    logins: list[dict] = []
    kept: list[dict] = []

    def on_socket(ws: Any) -> None:
        def sent(payload: Any) -> None:
            frame = json.loads(payload)
            if frame.get("action") == "login":
                logins.append(frame["payload"])

        def received(payload: Any) -> None:
            frame = json.loads(payload)
            if frame.get("action") == "customer_side_storage_updated":
                kept.append(frame["payload"]["customer_side_storage"])

        ws.on("framesent", sent)
        ws.on("framereceived", received)

    page.on("websocket", on_socket)
    page.goto(host_page(host, api, org))
    frame = start_chatting(page, "Hello")
    until(page, lambda: kept, what="customer_side_storage_updated")
    assert "customer_side_storage" not in logins[0]  # nothing kept yet
    assert kept[-1].get("customer_visits")
    cross_site = "localhost" in page.url
    stored = frame.locator("body").evaluate(
        "(_, org) => { try { return localStorage.getItem('ws_side_' + org); } catch (e) { return e.name; } }", org)
    assert stored == ("SecurityError" if cross_site else json.dumps(kept[-1], separators=(",", ":")))

    # a reconnection logs in with what the server asked to keep (from memory where storage is blocked)
    frame.locator("body").evaluate("() => window.__wsRtm.drop()")
    until(page, lambda: len(logins) >= 2, what="the second login")
    assert logins[-1]["customer_side_storage"] == kept[-1]

    if not cross_site:
        # a new page's frame reads it back from its storage; a corrupt copy is left out, never sent
        page.reload()
        launcher(page).click()
        chat_frame(page)
        until(page, lambda: len(logins) >= 3, what="the reloaded frame's login")
        assert logins[-1]["customer_side_storage"] == kept[-1]
        frame_of(page).evaluate("(org) => localStorage.setItem('ws_side_' + org, '[1,2')", org)
        page.reload()
        launcher(page).click()
        reloaded = chat_frame(page)
        until(page, lambda: len(logins) >= 4, what="the login after the corrupt copy")
        assert "customer_side_storage" not in logins[-1]
        expect(reloaded.get_by_text("Hello")).to_have_count(1)
    assert problems == []
