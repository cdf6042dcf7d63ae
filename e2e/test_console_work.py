"""Working in the agent console (issue 18) in Chromium against the real server: signing in with e-mail and password
(no credential in the browser's storage, a reload keeps the session, signing out ends it), canned responses, and
working a chat (files, tags, transfer, ban, close, whisper, customer details). axe finds 0 violations on each new
screen."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
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
    expect(page.get_by_label("For", exact=True)).to_be_hidden()
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
    assert event_from(customer, agent.id)["text"] == "Hello Dana! I am Dee."
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


def event_from(customer: CustomerSide, author_id: str, timeout: float = 10.0) -> dict:
    """The next event pushed to the customer that ``author_id`` wrote (system messages, which have no author, and
    the customer's own echoes skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        event = customer.push("incoming_event", max(0.1, deadline - time.monotonic()))["event"]
        if event.get("author_id") == author_id:
            return event


def _configure(agent: AgentAccount, action: str, payload: dict) -> httpx.Response:
    return httpx.post(f"{agent.api}/v3.6/configuration/action/{action}", json=payload,
                      headers={"Authorization": f"Bearer {agent.token}"}, timeout=10)


def test_an_agent_works_a_chat_tags_whisper_customer_details_ban_and_close(
        watched: Page, api: str, make_license: Callable[..., str],
        make_password_agent: Callable[..., PasswordAgent], customer_of: Callable[[str], CustomerSide]) -> None:
    page = watched
    org = make_license()
    admin = make_password_agent(org, "Fay", "administrator")
    for name in ("billing", "shipping"):
        assert _configure(admin, "create_tag", {"name": name, "group_ids": [0]}).status_code == 200
    customer = customer_of(org)
    customer.ok("update_customer", {"name": "Gus", "email": "gus@example.com"})
    customer.bg.run(customer.socket.request("update_customer_page", {"url": "https://shop.example/pricing",
                                                                     "title": "Pricing"}))
    # an earlier chat, closed; then the one going on
    first = customer.ok("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": "Earlier question"}]}}})
    admin.ok("deactivate_chat", {"id": first["chat_id"]})
    customer.ok("resume_chat", {"chat": {"id": first["chat_id"], "thread": {"events": [
        {"type": "message", "text": "Back again"}]}}})
    password_sign_in(page, api, admin)
    open_chat(page, first["chat_id"])
    expect(page.locator("#messages")).to_contain_text("Back again")

    # customer details: the page visited and the previous chat
    panel = page.locator("aside.customer")
    expect(panel.get_by_role("link", name="Pricing")).to_have_attribute("href", "https://shop.example/pricing")
    expect(page.locator("#previous-chats")).to_contain_text("Earlier question")
    expect(page.locator("#previous-chats")).not_to_contain_text("Back again")

    # tags from the license's list, and untagged
    page.locator("summary", has_text="Tags").click()
    expect(page.locator("#tag-options option")).to_have_count(2)
    page.get_by_label("Add a tag").fill("billing")
    page.get_by_role("button", name="Add tag").click()
    expect(page.locator("#tag-list")).to_contain_text("billing")
    thread = admin.ok("get_chat", {"chat_id": first["chat_id"]})["thread"]
    assert thread["tags"] == ["billing"]
    page.get_by_label("Add a tag").fill("not-a-license-tag")
    page.get_by_role("button", name="Add tag").click()
    expect(page.get_by_role("alert")).to_be_visible()  # the license's list only
    expect(page.locator("#tag-list .tag")).to_have_count(1)
    assert_no_violations(page)  # a chat with tags, customer details and the ban form
    page.get_by_role("button", name="Remove tag billing").click()
    expect(page.locator("#no-tags")).to_be_visible()
    assert admin.ok("get_chat", {"chat_id": first["chat_id"]})["thread"].get("tags", []) == []

    # a whisper reaches agents only: the customer's next event from the agent is the reply after it
    reply = page.get_by_label("Reply")
    page.get_by_label("Only agents see it").check()
    reply.fill("Note for colleagues")
    reply.press("Enter")
    expect(page.locator("#messages .whisper")).to_contain_text("Note for colleagues")
    page.get_by_label("Only agents see it").uncheck()
    reply.fill("How can I help?")
    reply.press("Enter")
    assert event_from(customer, admin.id)["text"] == "How can I help?"

    # ban, then lift the ban (administrators)
    page.get_by_label("Ban for (days)").fill("2")
    page.get_by_role("button", name="Ban customer").click()
    expect(page.locator("#status")).to_contain_text("banned for 2 days")
    assert [b["customer_id"] for b in _configure(admin, "list_customer_bans", {}).json()] == [customer.id]
    page.get_by_role("button", name="Lift the ban").click()
    expect(page.locator("#status")).to_have_text("The ban was lifted.")
    assert _configure(admin, "list_customer_bans", {}).json() == []

    # the Transfer tool offers the agents the chat may go to
    colleague = make_password_agent(org, "Kim")
    colleague.ok("set_routing_status", {"status": "accepting_chats"})
    page.locator("summary", has_text="Transfer").click()
    expect(page.locator(f'#transfer-options option[value="{colleague.id}"]')).to_have_count(1)
    page.get_by_label("Transfer to").select_option("agent")
    page.get_by_label("Agent id (e-mail) or group id").fill(colleague.id)
    page.get_by_role("button", name="Transfer", exact=True).click()
    expect(page.locator("#status")).to_contain_text(f"Chat transferred to agent {colleague.id}")
    assert colleague.id in [u["id"] for u in admin.ok("get_chat", {"chat_id": first["chat_id"]})["users"]]

    # close
    page.get_by_role("button", name="Close chat").click()
    expect(page.locator("#chat-state")).to_contain_text("Closed")


def test_an_agent_sends_files_by_button_drop_and_paste(
        watched: Page, api: str, make_license: Callable[..., str],
        make_password_agent: Callable[..., PasswordAgent], customer_of: Callable[[str], CustomerSide]) -> None:
    page = watched
    org = make_license()
    agent = make_password_agent(org, "Hal")
    customer = customer_of(org)
    chat = customer.ok("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": "A picture?"}]}}})
    password_sign_in(page, api, agent)
    open_chat(page, chat["chat_id"])
    png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
           b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
    # the button
    page.locator("#attach").set_input_files([{"name": "dot.png", "mimeType": "image/png", "buffer": png}])
    event = event_from(customer, agent.id)
    assert event["type"] == "file" and event["name"] == "dot.png"
    # dropped on the reply box, and pasted into it
    for kind in ("drop", "paste"):
        page.evaluate("""([kind, bytes]) => {
            const file = new File([new Uint8Array(bytes)], `${kind}.png`, { type: "image/png" });
            const data = new DataTransfer();
            data.items.add(file);
            const target = kind === "drop" ? document.getElementById("reply-form") : document.getElementById("reply");
            if (kind === "drop") {
                target.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }));
                target.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
            } else {
                target.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
            }
        }""", [kind, list(png)])
        event = event_from(customer, agent.id)
        assert event["type"] == "file" and event["name"] == f"{kind}.png"
    expect(page.locator("#messages a", has_text="paste.png")).to_be_visible()


def test_the_new_screens_on_a_phone_have_no_axe_violations(
        watched: Page, api: str, make_license: Callable[..., str],
        make_password_agent: Callable[..., PasswordAgent], customer_of: Callable[[str], CustomerSide]) -> None:
    page = watched
    page.set_viewport_size({"width": 390, "height": 844})
    org = make_license()
    agent = make_password_agent(org, "Ivy", "administrator")
    page.goto(f"{api}/agent")
    assert_no_violations(page)  # sign-in at 390 px
    customer = customer_of(org)
    customer.ok("update_customer", {"name": "Jo"})
    customer.bg.run(customer.socket.request("update_customer_page", {"url": "https://shop.example/", "title": "Home"}))
    chat = customer.ok("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": "Hello?"}]}}})
    password_sign_in(page, api, agent)
    open_chat(page, chat["chat_id"])
    page.locator("summary", has_text="Tags").click()
    assert_no_violations(page)  # the chat screen with its tools
    page.get_by_role("button", name="Customer details ›").click()
    expect(page.locator("aside.customer").get_by_role("link", name="Home")).to_be_visible()
    expect(page.get_by_role("button", name="Ban customer")).to_be_visible()
    assert_no_violations(page)  # the details screen: visit, ban
    page.get_by_role("button", name="‹ Back to the chat").click()
    page.get_by_role("button", name="‹ All chats").click()
    page.get_by_role("tab", name="Canned responses").click()
    expect(page.get_by_label("For", exact=True)).to_be_visible()  # an administrator may add the license's
    assert_no_violations(page)  # the canned responses view
