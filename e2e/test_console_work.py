"""Working in the agent console (issue 18) in Chromium against the real server: signing in with e-mail and password
(no credential in the browser's storage, a reload keeps the session, signing out ends it), canned responses, and
working a chat (files, tags, transfer, ban, close, whisper, customer details). axe finds 0 violations on each new
screen."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Page, expect

from e2e.axe import assert_no_violations
from e2e.console_people import AgentAccount, CustomerSide
from widget_server.auth.console import set_agent_password
from widget_server.bootstrap import create_agent
from widget_server.valkey import connect

PASSWORD = "a console password"


class PasswordAgent(AgentAccount):
    def __init__(self, api: str, agent_id: str, token: str, password: str) -> None:
        super().__init__(api, agent_id, token)
        self.password = password


@pytest.fixture
def make_password_agent(valkey_url: str, api: str) -> Callable[..., PasswordAgent]:
    """``make_password_agent(org, name, role) -> PasswordAgent``: an agent with a personal access token (for the
    test's own API calls) and a console password, as ``widget-server create-agent`` makes them."""

    async def _create(org: str, name: str, role: str) -> PasswordAgent:
        client = connect(valkey_url)
        try:
            email = f"{name.lower()}-{secrets.token_hex(4)}@example.com"
            creds = await create_agent(client, org, email, name, role)
            await set_agent_password(client, email, PASSWORD)
        finally:
            await client.aclose()
        return PasswordAgent(api, email, creds["personal_access_token"], PASSWORD)

    def make(org: str, name: str, role: str = "normal") -> PasswordAgent:
        with ThreadPoolExecutor(1, thread_name_prefix="e2e-agent") as pool:
            return pool.submit(asyncio.run, _create(org, name, role)).result(timeout=30)

    return make


def password_sign_in(page: Page, api: str, agent: PasswordAgent) -> None:
    page.goto(f"{api}/agent")
    page.get_by_label("E-mail", exact=True).fill(agent.id)
    page.get_by_label("Password", exact=True).fill(agent.password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("#me")).to_contain_text(agent.id)


def open_chat(page: Page, chat_id: str) -> None:
    """Opens the chat from the "All active" list, and joins it unless routing gave it to the agent already."""
    page.get_by_role("group", name="Show").get_by_role("button", name=re.compile("^All active")).click()
    page.locator(f'#chat-list [data-chat-id="{chat_id}"]').click()
    expect(page.locator("#chat-title")).to_be_visible()
    if page.get_by_role("button", name="Join").is_visible():
        page.get_by_role("button", name="Join").click()


def test_an_agent_signs_in_with_email_and_password_and_keeps_no_credential_in_the_browser(
        watched: Page, api: str, make_license: Callable[..., str],
        make_password_agent: Callable[..., PasswordAgent]) -> None:
    page = watched
    org = make_license()
    agent = make_password_agent(org, "Ann")
    page.goto(f"{api}/agent")
    expect(page.get_by_label("E-mail", exact=True)).to_be_focused()
    assert_no_violations(page)  # the sign-in screen, both forms
    password_sign_in(page, api, agent)
    storage = page.evaluate("[JSON.stringify(sessionStorage), JSON.stringify(localStorage), document.cookie]")
    assert agent.token not in "".join(storage) and "ws_agent=" not in storage[2]  # HttpOnly: the page cannot read it
    expect(page.get_by_text("Change password")).to_be_visible()
    assert_no_violations(page)
    # a reload keeps the session: the console asks the server for a token again
    page.reload()
    expect(page.locator("#me")).to_contain_text(agent.id)
    # the agent is online over the session's token
    page.get_by_role("switch", name="Accepting chats").check()
    expect(page.get_by_role("switch", name="Accepting chats")).to_be_checked()
    assert agent.routing_status() == "accepting_chats"
    # signing out ends the session: a reload shows the sign-in form
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("E-mail", exact=True)).to_be_visible()
    page.reload()
    expect(page.get_by_label("E-mail", exact=True)).to_be_visible()
    expect(page.locator("#console-view")).to_be_hidden()


def test_a_wrong_password_is_refused(page: Page, api: str, make_license: Callable[..., str],
                                     make_password_agent: Callable[..., PasswordAgent]) -> None:
    # (not ``watched``: Chromium logs the 401 answer as a console error)
    agent = make_password_agent(make_license(), "Cy")
    page.goto(f"{api}/agent")
    page.get_by_label("E-mail", exact=True).fill(agent.id)
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("Wrong e-mail address or password.")
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    expect(page.locator("#console-view")).to_be_hidden()
    assert page.context.cookies() == [] or all(c["name"] != "ws_agent" for c in page.context.cookies())


def test_an_agent_changes_their_password_in_the_console(
        watched: Page, api: str, make_license: Callable[..., str],
        make_password_agent: Callable[..., PasswordAgent]) -> None:
    page = watched
    agent = make_password_agent(make_license(), "Ben")
    password_sign_in(page, api, agent)
    page.get_by_text("Change password").click()
    page.get_by_label("Current password").fill(agent.password)
    page.get_by_label("New password", exact=True).fill("my new password 1")
    page.get_by_label("New password again").fill("my new password 1")
    assert_no_violations(page, include="#account")
    page.get_by_role("button", name="Save password").click()
    expect(page.locator("#status")).to_have_text("Your password was changed.")
    page.get_by_role("button", name="Sign out").click()
    agent.password = "my new password 1"
    password_sign_in(page, api, agent)


def test_canned_responses_are_managed_in_the_console_and_completed_with_a_shortcut(
        watched: Page, api: str, make_license: Callable[..., str],
        make_password_agent: Callable[..., PasswordAgent], customer_of: Callable[[str], CustomerSide]) -> None:
    page = watched
    org = make_license()
    agent = make_password_agent(org, "Dee")
    admin = make_password_agent(org, "Eve", "administrator")
    admin.ok("create_canned_response", {"shortcut": "refund", "text": "Refunds take 5 days, {{customer.name}}.",
                                        "scope": "license"})
    password_sign_in(page, api, agent)
    page.get_by_role("tab", name="Canned responses").click()
    canned = page.locator("#canned-list")
    expect(canned).to_contain_text("#refund")
    expect(canned.get_by_role("button", name="Delete #refund")).to_have_count(0)  # the license's: admins only
    expect(page.get_by_label("For")).to_be_hidden()
    page.get_by_label("Shortcut").fill("hello")
    page.get_by_label("Text", exact=True).fill("Hello {{customer.name}}, I am {{agent.name}}.")
    page.get_by_role("button", name="Add canned response").click()
    expect(canned).to_contain_text("#hello")
    assert_no_violations(page)  # the canned responses view
    # edited in place
    canned.get_by_role("button", name="Edit #hello").click()
    page.get_by_label("Text", exact=True).fill("Hello {{customer.name}}! I am {{agent.name}}.")
    page.get_by_role("button", name="Save changes").click()
    expect(canned).to_contain_text("Hello {{customer.name}}! I am {{agent.name}}.")
    assert [c["text"] for c in agent.ok("list_canned_responses", {"scope": "agent"})["canned_responses"]] == [
        "Hello {{customer.name}}! I am {{agent.name}}."]

    # a customer writes; the agent answers with "#hel" completed, the name filled in
    customer = customer_of(org)
    customer.ok("update_customer", {"name": "Dana"})
    chat = customer.ok("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": "Hi there"}]}}})
    page.get_by_role("tab", name="Chats").click()
    open_chat(page, chat["chat_id"])
    reply = page.get_by_label("Reply")
    reply.fill("")
    reply.press_sequentially("#hel")
    options = page.get_by_role("listbox", name="Canned responses")
    expect(options.get_by_role("option")).to_have_count(1)
    expect(options.get_by_role("option").first).to_contain_text("#hello")
    assert_no_violations(page, include=".reply")
    reply.press("Enter")  # inserts (does not send)
    expect(reply).to_have_value("Hello Dana! I am Dee.")
    expect(options).to_be_hidden()
    reply.press("Enter")  # sends
    assert customer.event_from(agent.id)["text"] == "Hello Dana! I am Dee."
    # the license's response too, chosen with the arrow keys among several
    reply.press_sequentially("#")
    expect(options.get_by_role("option")).to_have_count(2)
    reply.press("ArrowDown")
    expect(options.get_by_role("option", selected=True)).to_contain_text("#refund")
    reply.press("Tab")
    expect(reply).to_have_value("Refunds take 5 days, Dana.")
    # Escape closes the list and keeps what was typed
    reply.fill("")
    reply.press_sequentially("see #h")
    expect(options).to_be_visible()
    reply.press("Escape")
    expect(options).to_be_hidden()
    expect(reply).to_have_value("see #h")
    # deleted in the view
    page.get_by_role("tab", name="Canned responses").click()
    canned.get_by_role("button", name="Delete #hello").click()
    expect(canned).not_to_contain_text("#hello")
    assert agent.ok("list_canned_responses", {"scope": "agent"})["canned_responses"] == []
