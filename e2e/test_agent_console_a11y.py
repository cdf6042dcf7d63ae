"""The agent console passes axe-core (``e2e/axe.py``: WCAG 2.x A/AA and best practices) with 0 violations on each
screen an agent works in: sign-in, the chat list, an open chat, the archives (with results and a transcript open),
the tickets (one open) and the visitors, on a desktop and on a 390 px phone."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from e2e.axe import assert_no_violations, violations
from e2e.console_people import AgentAccount, CustomerSide, sign_in

PHONE = {"width": 390, "height": 844}


def _story(page: Page, api: str, make_license: Callable[..., str], make_agent: Callable[..., AgentAccount],
           customer_of: Callable[[str], CustomerSide], phone: bool) -> None:
    org = make_license()
    agent = make_agent(org, "Ann")
    page.goto(f"{api}/agent")
    expect(page.get_by_label("Personal access token")).to_be_visible()
    assert_no_violations(page)  # sign-in

    sign_in(page, api, agent)
    customer = customer_of(org)
    customer.ok("update_customer", {"name": "Dana", "email": "dana@example.com"})
    # an ended chat for the archives, an offline message for the tickets, and a chat going on
    done = customer.ok("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": "Old question"}]}}})
    agent.ok("deactivate_chat", {"id": done["chat_id"]})
    customer.ok("start_chat", {"active": False, "chat": {"thread": {"events": [{
        "type": "filled_form", "form_id": "ticket", "form_type": "ticket", "fields": [
            {"type": "name", "id": "name", "label": "Name:", "answer": "Dana"},
            {"type": "email", "id": "email", "label": "E-mail:", "answer": "dana@example.com"},
            {"type": "textarea", "id": "message", "label": "Message:", "answer": "Please call me"}]}]}}})
    live = customer.ok("resume_chat", {"chat": {"id": done["chat_id"], "thread": {"events": [
        {"type": "message", "text": "Me again"}]}}})
    item = page.locator(f'#chat-list [data-chat-id="{done["chat_id"]}"]')
    expect(item).to_contain_text("Me again")
    assert_no_violations(page)  # the chat list

    item.click()
    expect(page.get_by_role("log", name="Messages")).to_contain_text("Me again")
    assert live["thread_id"]
    assert_no_violations(page)  # a chat open
    if phone:
        page.get_by_role("button", name="Customer details ›").click()
        expect(page.locator("#customer-details")).to_contain_text("dana@example.com")
        assert_no_violations(page)  # the details screen
        page.get_by_role("button", name="‹ Back to the chat").click()

    page.get_by_role("tab", name="Archives").click()
    result = page.locator("#archive-results .result-item").first
    expect(result).to_contain_text("Dana")
    result.click()
    expect(page.get_by_role("log", name="Transcript")).to_contain_text("Old question")
    assert_no_violations(page)  # archives, a transcript open

    page.get_by_role("tab", name="Tickets").click()
    ticket = page.locator("#ticket-list .result-item").first
    expect(ticket).to_contain_text("Dana")
    ticket.click()
    expect(page.get_by_role("log", name="Ticket messages")).to_contain_text("Please call me")
    assert_no_violations(page)  # tickets, one open

    page.get_by_role("tab", name="Visitors").click()
    expect(page.locator("#visitors-summary")).to_contain_text("online now")
    assert_no_violations(page)  # visitors


def test_the_console_has_no_accessibility_violations_on_a_desktop(
        watched: Page, api: str, make_license: Callable[..., str], make_agent: Callable[..., AgentAccount],
        customer_of: Callable[[str], CustomerSide]) -> None:
    watched.set_viewport_size({"width": 1280, "height": 900})
    _story(watched, api, make_license, make_agent, customer_of, phone=False)


def test_the_console_has_no_accessibility_violations_in_the_dark_colour_scheme(
        watched: Page, api: str, make_license: Callable[..., str], make_agent: Callable[..., AgentAccount],
        customer_of: Callable[[str], CustomerSide]) -> None:
    """The stylesheet's dark palette (prefers-color-scheme: dark) keeps every contrast."""
    watched.emulate_media(color_scheme="dark")
    watched.set_viewport_size({"width": 1280, "height": 900})
    _story(watched, api, make_license, make_agent, customer_of, phone=False)


def test_the_console_has_no_accessibility_violations_on_a_phone(
        watched: Page, api: str, make_license: Callable[..., str], make_agent: Callable[..., AgentAccount],
        customer_of: Callable[[str], CustomerSide]) -> None:
    watched.set_viewport_size(PHONE)
    _story(watched, api, make_license, make_agent, customer_of, phone=True)


def test_the_axe_helper_reports_what_it_finds(page: Page) -> None:
    """The check can fail: an image without a text alternative and a button without a name are reported."""
    page.set_content("<!doctype html><html lang='en'><title>t</title><main><h1>t</h1>"
                     "<img src='data:,'><button></button></main></html>")
    assert {"image-alt", "button-name"} <= {v["id"] for v in violations(page)}


def test_the_views_are_tabs_a_keyboard_moves_between(watched: Page, api: str, make_license: Callable[..., str],
                                                     make_agent: Callable[..., AgentAccount]) -> None:
    """The ARIA tabs pattern: arrow keys move to the next or previous view (wrapping), Home and End to the first and
    last; the chosen tab is selected, focused and the only one in the tab order."""
    page = watched
    sign_in(page, api, make_agent(make_license(), "Ann"))
    chats = page.get_by_role("tab", name="Chats")
    chats.focus()
    for key, name in (("ArrowRight", "Archives"), ("ArrowRight", "Tickets"), ("ArrowRight", "Visitors"),
                      ("End", "Canned responses"), ("ArrowRight", "Chats"), ("ArrowLeft", "Canned responses"),
                      ("Home", "Chats")):
        page.keyboard.press(key)
        tab = page.get_by_role("tab", name=re.compile(f"^{name}"))
        expect(tab).to_be_focused()
        expect(tab).to_have_attribute("aria-selected", "true")
        expect(page.get_by_role("tabpanel")).to_have_count(1)
        expect(page.get_by_role("tabpanel")).to_have_attribute("aria-labelledby", f"tab-{name.split()[0].lower()}")
        assert page.locator('[role="tab"][tabindex="0"]').count() == 1
