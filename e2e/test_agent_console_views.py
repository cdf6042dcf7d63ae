"""The agent console's views in Chromium, through the real server: closed chats and offline messages that are still
there after a reload, the archives searched and paged, tickets answered and solved.

Customers are driven over the real Customer Chat API (``e2e/console_people.py``); the page runs under its strict CSP
and fails the test on any console error (the ``watched`` fixture)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

import httpx
from playwright.sync_api import Locator, Page, expect

from e2e.console_people import AgentAccount, CustomerSide, sign_in


def offline_message(name: str, email: str, text: str) -> dict:
    """The widget's offline form as it sends it: start_chat with active: false and the filled ticket form."""
    return {"active": False, "chat": {"thread": {"events": [{
        "type": "filled_form", "form_id": "ticket", "form_type": "ticket", "fields": [
            {"type": "name", "id": "name", "label": "Name:", "answer": name},
            {"type": "email", "id": "email", "label": "E-mail:", "answer": email},
            {"type": "textarea", "id": "message", "label": "Message:", "answer": text}]}]}}}


def filter_button(page: Page, name: str) -> Locator:
    return page.get_by_role("group", name="Show").get_by_role("button", name=re.compile(f"^{name}"))


def test_closed_chats_and_offline_messages_are_still_there_after_a_reload(
        watched: Page, api: str, make_license: Callable[..., str], make_agent: Callable[..., AgentAccount],
        customer_of: Callable[[str], CustomerSide]) -> None:
    page = watched
    org = make_license()
    ann = make_agent(org, "Ann")
    sign_in(page, api, ann)
    dana = customer_of(org)
    dana.ok("update_customer", {"name": "Dana"})
    chat_id = dana.ok("start_chat", {"chat": {"thread": {"events": [
        {"type": "message", "text": "Thanks, that was all"}]}}})["chat_id"]
    item = page.locator(f'#chat-list [data-chat-id="{chat_id}"]')
    expect(item).to_contain_text("Mine")
    item.click()
    page.get_by_role("button", name="Close chat").click()
    expect(item).to_contain_text("Closed")

    erin = customer_of(org)  # the widget's offline form saves her name and address first (its saveIdentity)
    erin.ok("update_customer", {"name": "Erin", "email": "erin@example.com"})
    offline = erin.ok("start_chat", offline_message("Erin", "erin@example.com", "Call me back, please"))

    page.reload()
    expect(page.locator("#me")).to_contain_text(ann.id)
    closed = filter_button(page, "Closed")
    expect(closed).to_have_text(re.compile(r"Closed\s*2$"))  # both, read with list_chats after the reload
    expect(item).to_be_hidden()
    closed.click()
    expect(item).to_contain_text("Dana")
    expect(item).to_contain_text("closed by the agent")  # its last event
    offline_item = page.locator(f'#chat-list [data-chat-id="{offline["chat_id"]}"]')
    expect(offline_item).to_contain_text("Erin")
    expect(offline_item).to_contain_text("Form filled")
    offline_item.click()
    expect(page.get_by_role("log", name="Messages")).to_contain_text("Call me back, please")
    expect(page.get_by_label("Reply", exact=True)).to_be_disabled()


def test_agent_searches_the_archives_and_pages_through_them(
        watched: Page, api: str, make_license: Callable[..., str], make_agent: Callable[..., AgentAccount],
        customer_of: Callable[[str], CustomerSide]) -> None:
    page = watched
    org = make_license()
    ann = make_agent(org, "Ann")
    ann.ok("set_routing_status", {"status": "accepting_chats"})
    # Dana's chat has 11 ended threads (a page holds 10), the first mentions a pineapple; Erin has one
    dana = customer_of(org)
    dana.ok("update_customer", {"name": "Dana", "email": "dana@example.com"})
    chat_id = dana.ok("start_chat", {"chat": {"thread": {"events": [
        {"type": "message", "text": "Thread 1: a pineapple order"}]}}})["chat_id"]
    ann.ok("deactivate_chat", {"id": chat_id})
    for n in range(2, 12):
        dana.ok("resume_chat", {"chat": {"id": chat_id, "thread": {"events": [
            {"type": "message", "text": f"Thread {n}: still about my order"}]}}})
        ann.ok("deactivate_chat", {"id": chat_id})
    erin = customer_of(org)
    erin.ok("update_customer", {"name": "Erin", "email": "erin@example.com"})
    erin_started = erin.ok("start_chat", {"chat": {"thread": {"events": [
        {"type": "message", "text": "A refund, please"}]}}})
    erin_chat = erin_started["chat_id"]
    # the license's tag "refund" (an administrator's Configuration API call), on Erin's thread
    boss = make_agent(org, "Boss", "administrator")
    made = httpx.post(f"{api}/v3.6/configuration/action/create_tag", json={"name": "refund", "group_ids": [0]},
                      headers={"Authorization": f"Bearer {boss.token}"}, timeout=10)
    assert made.status_code == 200, made.text
    ann.ok("tag_thread", {"chat_id": erin_chat, "thread_id": erin_started["thread_id"], "tag": "refund"})
    ann.ok("deactivate_chat", {"id": erin_chat})

    sign_in(page, api, ann)
    page.get_by_role("tab", name="Archives").click()
    summary = page.locator("#archive-summary")
    results = page.locator("#archive-results .result-item")
    expect(summary).to_contain_text("12 archived chats found; 1–10 shown")  # the newest first, unfiltered
    expect(results).to_have_count(10)
    expect(results.first).to_contain_text("Erin")

    def search(**fields: str) -> None:
        for label in ("Words", "Customer name", "Customer e-mail", "Agent (e-mail)", "Tag", "From", "To"):
            page.get_by_label(label, exact=True).fill(fields.get(label, ""))
        page.get_by_role("button", name="Search", exact=True).click()

    search(Words="pineapple")
    expect(summary).to_contain_text("1 archived chat found")
    expect(results).to_have_count(1)
    results.first.click()
    expect(page.get_by_role("log", name="Transcript")).to_contain_text("Thread 1: a pineapple order")
    expect(page.locator("#archive-detail-meta")).to_contain_text("dana@example.com")

    search(**{"Customer e-mail": "ERIN@example.com"})  # (as LiveChat's filters: case does not matter)
    expect(summary).to_contain_text("1 archived chat found")
    expect(results.first).to_contain_text("Erin")

    search(**{"Customer e-mail": "nobody@example.com"})
    expect(summary).to_have_text("No archived chats match.")
    expect(results).to_have_count(0)
    search(**{"Customer name": "Nobody"})
    expect(summary).to_have_text("No customer has that name or e-mail address.")

    search(Tag="refund")  # the archive index's tags
    expect(summary).to_contain_text("1 archived chat found")
    expect(results.first).to_contain_text("Erin")
    search(Tag="shipping")
    expect(summary).to_have_text("No archived chats match.")

    # by name: Dana's 11 threads, two pages
    search(**{"Customer name": "dana"})
    expect(summary).to_contain_text("11 archived chats found; 1–10 shown")
    expect(results).to_have_count(10)
    older, newer = page.get_by_role("button", name="Older"), page.get_by_role("button", name="Newer")
    expect(newer).to_be_hidden()
    older.click()
    expect(summary).to_contain_text("11–11 shown")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("pineapple")
    expect(older).to_be_hidden()
    newer.click()
    expect(results).to_have_count(10)
    expect(summary).to_contain_text("1–10 shown")

    # by agent and by date
    search(**{"Agent (e-mail)": ann.id, "Words": "refund"})
    expect(summary).to_contain_text("1 archived chat found")
    search(**{"Agent (e-mail)": "someone-else@example.com"})
    expect(summary).to_have_text("No archived chats match.")
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    search(From=tomorrow)
    expect(summary).to_have_text("No archived chats match.")
    search(From=yesterday, To=tomorrow)
    expect(summary).to_contain_text("12 archived chats found")


def test_agent_answers_and_solves_a_ticket(
        watched: Page, api: str, make_license: Callable[..., str], make_agent: Callable[..., AgentAccount],
        customer_of: Callable[[str], CustomerSide]) -> None:
    page = watched
    org = make_license()
    ann = make_agent(org, "Ann")
    erin = customer_of(org)
    erin.ok("update_customer", {"name": "Erin", "email": "erin@example.com"})
    offline = erin.ok("start_chat", offline_message("Erin", "erin@example.com", "My parcel never came"))
    ticket_id = offline["thread_id"]

    sign_in(page, api, ann)
    tab = page.get_by_role("tab", name=re.compile("^Tickets"))
    expect(tab).to_have_text(re.compile(r"Tickets\s*1$"))  # the open tickets' count
    tab.click()
    expect(page.locator("#tickets-summary")).to_have_text("1 open ticket.")
    item = page.locator(f'#ticket-list [data-ticket-id="{ticket_id}"]')
    expect(item).to_contain_text("Erin")
    expect(item).to_contain_text("Offline message")
    item.click()
    expect(page.get_by_role("log", name="Ticket messages")).to_contain_text("My parcel never came")
    expect(page.locator("#ticket-meta")).to_contain_text("Erin <erin@example.com>")

    page.get_by_label("Answer by e-mail").fill("We sent a new one today.")
    page.get_by_label("Mark solved when sent").check()
    page.get_by_role("button", name="Send answer").click()
    expect(page.get_by_role("log", name="Ticket messages")).to_contain_text("We sent a new one today.")
    expect(page.locator("#ticket-meta")).to_contain_text("Solved")
    stored = ann.ok("get_ticket", {"id": ticket_id})
    assert stored["status"] == "solved"
    assert [(m["author_type"], m["text"]) for m in stored["messages"]] == [
        ("customer", "My parcel never came"), ("agent", "We sent a new one today.")]
    # it left the open list (and the tab's count) for the solved one
    expect(page.locator("#tickets-summary")).to_have_text("No open tickets.")
    expect(tab).to_have_text(re.compile(r"Tickets\s*$"))
    page.get_by_role("button", name="Solved", exact=True).click()
    expect(page.locator("#tickets-summary")).to_have_text("1 solved ticket.")
    item.click()
    page.get_by_role("button", name="Reopen").click()
    expect(page.locator("#ticket-meta")).to_contain_text("Open")
    assert ann.ok("get_ticket", {"id": ticket_id})["status"] == "open"
    expect(tab).to_have_text(re.compile(r"Tickets\s*1$"))


def test_older_closed_chats_come_a_page_at_a_time(
        watched: Page, api: str, make_license: Callable[..., str], make_agent: Callable[..., AgentAccount],
        customer_of: Callable[[str], CustomerSide]) -> None:
    """The Closed filter reads 25 closed chats at sign-in, newest first; older ones come on request, below them."""
    page = watched
    org = make_license()
    ann = make_agent(org, "Ann")
    ann.ok("set_routing_status", {"status": "accepting_chats"})
    dana = customer_of(org)
    chat_ids = []
    for n in range(27):
        chat_ids.append(dana.ok("start_chat", {"chat": {"thread": {"events": [
            {"type": "message", "text": f"Question {n}"}]}}})["chat_id"])
        ann.ok("deactivate_chat", {"id": chat_ids[-1]})

    sign_in(page, api, ann)
    closed = filter_button(page, "Closed")
    expect(closed).to_have_text(re.compile(r"Closed\s*25$"))
    closed.click()
    items = page.locator("#chat-list .chat-item")
    expect(items).to_have_count(25)
    listed = [items.nth(i).get_attribute("data-chat-id") for i in range(25)]
    assert listed == chat_ids[::-1][:25]  # the newest first
    more = page.get_by_role("button", name="Show older closed chats")
    more.click()
    expect(items).to_have_count(27)
    assert [items.nth(i).get_attribute("data-chat-id") for i in (25, 26)] == [chat_ids[1], chat_ids[0]]
    expect(closed).to_have_text(re.compile(r"Closed\s*27$"))
    expect(more).to_be_hidden()
