"""The widget's part of tickets in Chromium: a visitor whose queued chat nobody takes in time (a missed chat) is
asked for their e-mail address in the chat frame, and the address they type reaches the ticket. Runs on both of
``test_widget.py``'s host sites (same-site, and cross-site without third-party storage)."""

from __future__ import annotations

import asyncio
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from playwright.sync_api import Page, expect
from test_widget import chat_frame, host, host_page, launcher, wait_for, watch  # noqa: F401 (host: a fixture)

from e2e.console_people import AgentAccount
from widget_server.bootstrap import create_agent
from widget_server.protocol.config import LicenseConfig
from widget_server.protocol.tickets import TicketSettings
from widget_server.valkey import connect


def test_a_missed_chat_asks_the_visitor_for_their_email_and_the_ticket_gets_it(
        page: Page, host: str, api: str, valkey_url: str, make_license: Any) -> None:  # noqa: F811
    org = make_license(LicenseConfig(tickets=TicketSettings(queue_timeout_seconds=1)))

    async def create() -> AgentAccount:
        client = connect(valkey_url)
        try:
            email = f"busy-{secrets.token_hex(4)}@example.com"
            creds = await create_agent(client, org, email, "Busy", "normal", max_chats=0)
        finally:
            await client.aclose()
        return AgentAccount(api, email, creds["personal_access_token"])

    with ThreadPoolExecutor(1) as pool:
        busy = pool.submit(asyncio.run, create()).result(timeout=30)
    busy.ok("set_routing_status", {"status": "accepting_chats"})  # online, but no room: the chat waits in the queue
    problems = watch(page)
    page.goto(host_page(host, api, org))
    launcher(page).click()
    frame = chat_frame(page)
    box = frame.get_by_role("textbox", name="Write a message…")
    box.fill("Can you help me with my order?")
    box.press("Enter")
    ask = frame.locator(".ws-ask-email")
    expect(ask).to_be_visible(timeout=15000)
    expect(ask).to_contain_text("Leave your email address")
    ask.get_by_role("textbox").fill("not-an-address")
    ask.get_by_role("button", name="Send").click()
    expect(frame.get_by_text("Please enter a valid email address.").first).to_be_visible()
    ask.get_by_role("textbox").fill("queued@visitor.example")
    ask.get_by_role("button", name="Send").click()
    expect(ask.get_by_role("status")).to_have_text("Thank you! We will reply to queued@visitor.example.")
    ticket = wait_for(lambda: next((t for t in busy.ok("list_tickets", {})["tickets"]
                                    if t["email"] == "queued@visitor.example"), None), what="the ticket's e-mail")
    assert ticket["source"] == "missed_chat" and ticket["subject"] == "Can you help me with my order?"
    assert problems == []
