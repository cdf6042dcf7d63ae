"""The agent console gets the agent's attention, in Chromium through the real server: a beep (Web Audio) and a desktop
notification for a new chat, a message in a chat not in view, a chat waiting in the queue and a chat transferred to
them; unread counts per chat and in the tab's title; a per-agent mute kept over a reload. And the console on a 390 px
phone: list → chat → details as screens, the Reply box in reach.

The page's own Web Audio oscillator starts and Notification constructions are counted by wrapping those browser APIs
in an init script (they still run); the browser context is granted the notification permission, as an agent who
clicked "Turn on desktop notifications" would have."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from e2e.console_people import AgentAccount, CustomerSide, sign_in, wait_for

COUNT_ALERTS = """
    window.__beeps = 0;
    const start = OscillatorNode.prototype.start;
    OscillatorNode.prototype.start = function (...args) {
        window.__beeps += 1;
        return start.apply(this, args);
    };
    window.__notes = [];
    window.__shown = [];
    if ("Notification" in window) {
        window.Notification = class extends window.Notification {
            constructor(title, options) {
                window.__notes.push({ title, body: options?.body ?? "" });
                super(title, options);
                window.__shown.push(this);
            }
        };
    }
"""


def beeps(page: Page) -> int:
    return page.evaluate("window.__beeps")


def notes(page: Page) -> list[dict[str, Any]]:
    return page.evaluate("window.__notes")


def test_alerts_unread_counts_and_mute(watched: Page, api: str, make_license: Callable[..., str],
                                       make_agent: Callable[..., AgentAccount],
                                       customer_of: Callable[[str], CustomerSide]) -> None:
    page = watched
    page.context.grant_permissions(["notifications"], origin=api)
    page.add_init_script(COUNT_ALERTS)
    org = make_license()
    ann, bob = make_agent(org, "Ann"), make_agent(org, "Bob")
    sign_in(page, api, ann)
    expect(page.get_by_role("button", name="Turn on desktop notifications")).to_be_hidden()  # (already allowed)
    attention = page.locator("#attention")
    assert beeps(page) == 0

    # a new chat: routed to Ann
    dana = customer_of(org)
    dana.ok("update_customer", {"name": "Dana"})
    chat_id = dana.ok("start_chat", {"chat": {"thread": {"events": [
        {"type": "message", "text": "Hello"}]}}})["chat_id"]
    expect(attention).to_have_text("New chat: Dana")
    assert wait_for(lambda: beeps(page) == 1)
    assert notes(page) == [{"title": "New chat", "body": "Dana"}]

    # a message while she looks elsewhere: unread on the chat and in the title, a beep and a notification
    dana.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "Are you there?"}})
    item = page.locator(f'#chat-list [data-chat-id="{chat_id}"]')
    expect(item).to_contain_text("1 unread")
    expect(page).to_have_title("(1) Agent console")
    expect(page.get_by_role("tab", name=re.compile("^Chats"))).to_contain_text("1 unread")
    assert wait_for(lambda: beeps(page) == 2)
    assert notes(page)[-1] == {"title": "New message from Dana", "body": "Are you there?"}
    dana.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "Hello??"}})
    expect(item).to_contain_text("2 unread")
    expect(page).to_have_title("(2) Agent console")

    # she opens it: read; a message in the chat she is looking at needs no alert
    item.click()
    expect(item).not_to_contain_text("unread")
    expect(page).to_have_title("Agent console")
    dana.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "Ah, there you are"}})
    expect(page.get_by_role("log", name="Messages")).to_contain_text("Ah, there you are")
    assert beeps(page) == 3 and len(notes(page)) == 3

    # a chat waiting in the queue (nobody accepts chats)
    page.get_by_role("switch", name="Accepting chats").uncheck()
    assert wait_for(lambda: ann.routing_status() == "not_accepting_chats")
    erin = customer_of(org)
    erin.ok("update_customer", {"name": "Erin"})
    erin_chat = erin.ok("start_chat", {"chat": {"thread": {"events": [
        {"type": "message", "text": "Anyone?"}]}}})["chat_id"]
    expect(attention).to_have_text("Chat waiting in the queue: Erin")
    assert wait_for(lambda: beeps(page) == 4)
    assert notes(page)[-1] == {"title": "Chat waiting in the queue", "body": "Erin"}

    # Bob takes it from the queue, then hands it to Ann
    bob.ok("set_routing_status", {"status": "accepting_chats"})
    assert wait_for(lambda: bob.id in [u["id"] for u in bob.ok("get_chat", {"chat_id": erin_chat})["users"]],
                    timeout=10)
    page.get_by_role("switch", name="Accepting chats").check()
    assert wait_for(lambda: ann.routing_status() == "accepting_chats")
    bob.ok("transfer_chat", {"id": erin_chat, "target": {"type": "agent", "ids": [ann.id]}})
    expect(attention).to_have_text("Chat transferred to you: Erin")
    assert wait_for(lambda: beeps(page) == 5)
    assert notes(page)[-1] == {"title": "Chat transferred to you", "body": "Erin"}
    # clicking the notification opens that chat
    page.evaluate("window.__shown.at(-1).onclick()")
    expect(page.locator("#chat-title")).to_have_text("Erin")
    expect(page.get_by_role("log", name="Messages")).to_contain_text("Anyone?")

    # muted: counts go on, the beep and the notifications stop; the choice outlives a reload
    mute = page.get_by_role("switch", name="Mute alerts")
    mute.check()
    dana.ok("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "One more thing"}})
    expect(item).to_contain_text("1 unread")
    expect(page).to_have_title("(1) Agent console")
    assert beeps(page) == 5 and len(notes(page)) == 5
    page.reload()
    expect(page.locator("#me")).to_contain_text(ann.id)
    expect(mute).to_be_checked()
    # it is Ann's: Bob, signing in on the same browser, is not muted
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, api, bob)
    expect(page.get_by_role("switch", name="Mute alerts")).not_to_be_checked()


def test_a_resumed_chat_is_announced_again(watched: Page, api: str, make_license: Callable[..., str],
                                          make_agent: Callable[..., AgentAccount],
                                          customer_of: Callable[[str], CustomerSide]) -> None:
    page = watched
    page.add_init_script(COUNT_ALERTS)
    org = make_license()
    ann = make_agent(org, "Ann")
    sign_in(page, api, ann)
    dana = customer_of(org)
    dana.ok("update_customer", {"name": "Dana"})
    chat_id = dana.ok("start_chat", {"chat": {"thread": {"events": [
        {"type": "message", "text": "Hello"}]}}})["chat_id"]
    attention = page.locator("#attention")
    expect(attention).to_have_text("New chat: Dana")
    assert wait_for(lambda: beeps(page) == 1)
    item = page.locator(f'#chat-list [data-chat-id="{chat_id}"]')
    item.click()
    page.get_by_role("button", name="Close chat").click()
    expect(item).to_contain_text("Closed")
    assert beeps(page) == 1  # (closing is no news)
    page.evaluate("document.getElementById('attention').textContent = ''")
    # she comes back the next day: the same chat, a new thread, Ann's again
    dana.ok("resume_chat", {"chat": {"id": chat_id, "thread": {"events": [{"type": "message", "text": "Me again"}]}}})
    expect(attention).to_have_text("New chat: Dana")
    assert wait_for(lambda: beeps(page) == 2)


def test_notifications_are_turned_on_from_a_button(watched: Page, api: str, make_license: Callable[..., str],
                                                   make_agent: Callable[..., AgentAccount]) -> None:
    """Browsers ask for the permission only on a user gesture: the console asks from a button, shown while the
    browser has not been asked."""
    page = watched
    org = make_license()
    sign_in(page, api, make_agent(org, "Ann"))
    button = page.get_by_role("button", name="Turn on desktop notifications")
    expect(button).to_be_visible()
    assert page.evaluate("Notification.permission") == "default"
    page.context.grant_permissions(["notifications"], origin=api)
    button.click()
    expect(button).to_be_hidden()
    assert page.evaluate("Notification.permission") == "granted"


def test_the_console_works_on_a_390px_phone(watched: Page, api: str, make_license: Callable[..., str],
                                            make_agent: Callable[..., AgentAccount],
                                            customer_of: Callable[[str], CustomerSide]) -> None:
    page = watched
    page.set_viewport_size({"width": 390, "height": 844})
    org = make_license()
    ann = make_agent(org, "Ann")
    sign_in(page, api, ann)
    dana = customer_of(org)
    dana.ok("update_customer", {"name": "Dana", "email": "dana@example.com"})
    chat_id = dana.ok("start_chat", {"chat": {"thread": {"events": [
        {"type": "message", "text": "Hi from my phone"}]}}})["chat_id"]

    def fits() -> bool:  # nothing wider than the phone: no sideways scrolling
        return page.evaluate("document.documentElement.scrollWidth") <= 390

    # the list screen
    item = page.locator(f'#chat-list [data-chat-id="{chat_id}"]')
    reply = page.get_by_label("Reply", exact=True)
    expect(item).to_be_visible()
    expect(page.locator("#chat-empty")).to_be_hidden()
    assert fits()

    # the chat screen: the list gives way, the Reply box is in reach (Playwright clicks only what is not covered)
    item.click()
    expect(item).to_be_hidden()
    expect(page.locator("#chat-title")).to_be_focused()  # where the content went
    expect(page.get_by_role("log", name="Messages")).to_contain_text("Hi from my phone")
    reply.click()
    expect(reply).to_be_focused()
    reply.press_sequentially("Hello Dana", delay=5)
    reply.press("Enter")
    assert dana.event_from(ann.id)["text"] == "Hello Dana"
    page.get_by_role("button", name="Send").click()  # (empty: nothing is sent, but the button is reachable)
    assert fits()

    # the details screen, and back
    page.get_by_role("button", name="Customer details ›").click()
    expect(page.locator("#customer-details")).to_contain_text("dana@example.com")
    expect(reply).to_be_hidden()
    page.get_by_role("button", name="‹ Back to the chat").click()
    expect(reply).to_be_visible()
    page.get_by_role("button", name="‹ All chats").click()
    expect(item).to_be_visible()
    expect(item).to_be_focused()
    expect(reply).to_be_hidden()
