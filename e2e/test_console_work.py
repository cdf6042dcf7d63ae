"""Working in the agent console (issue 18) in Chromium against the real server: signing in with e-mail and password
(no credential in the browser's storage, a reload keeps the session, signing out ends it), canned responses, and
working a chat (files, tags, transfer, ban, close, whisper, customer details). axe finds 0 violations on each new
screen."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Page, expect

from e2e.axe import assert_no_violations
from e2e.console_people import AgentAccount
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
