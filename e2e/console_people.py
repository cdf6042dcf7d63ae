"""The agent console's people and page for the browser tests (``e2e/test_agent_console*.py``): agents with personal
access tokens, customers driven over the real Customer Chat API from a background asyncio loop (the sync Playwright
API owns the main thread's loop), and the page watched for CSP violations, console errors, page errors and dialogs."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support import CustomerClient, Socket
from widget_server.bootstrap import create_agent
from widget_server.valkey import connect

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; "
       "img-src 'self' data:; frame-ancestors 'none'")
XSS = "<img src=x onerror=alert(1)>"
T = TypeVar("T")


# --- the people ------------------------------------------------------------------------------------------------------


class AgentAccount:
    def __init__(self, api: str, agent_id: str, token: str) -> None:
        self.api, self.id, self.token = api, agent_id, token

    def ok(self, action: str, payload: Any = None) -> Any:
        r = httpx.post(f"{self.api}/v3.6/agent/action/{action}", json=payload or {},
                       headers={"Authorization": f"Bearer {self.token}"}, timeout=10)
        assert r.status_code == 200, (action, r.status_code, r.text)
        return r.json()

    def routing_status(self) -> str:
        statuses = self.ok("list_routing_statuses")
        return next(s["status"] for s in statuses if s["agent_id"] == self.id)


@pytest.fixture
def make_agent(valkey_url: str, api: str) -> Callable[..., AgentAccount]:
    """``make_agent(org, name) -> AgentAccount``: an agent of group 0 with a fresh personal access token, written
    the way ``make_license`` writes licenses (own asyncio loop in a worker thread)."""

    async def _create(org: str, name: str, role: str) -> AgentAccount:
        client = connect(valkey_url)
        try:
            email = f"{name.lower()}-{secrets.token_hex(4)}@example.com"
            creds = await create_agent(client, org, email, name, role)
        finally:
            await client.aclose()
        return AgentAccount(api, email, creds["personal_access_token"])

    def make(org: str, name: str, role: str = "normal") -> AgentAccount:
        with ThreadPoolExecutor(1, thread_name_prefix="e2e-agent") as pool:
            return pool.submit(asyncio.run, _create(org, name, role)).result(timeout=30)

    return make


class Background:
    """An asyncio loop in a daemon thread: the customer's HTTP client and RTM socket live on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="e2e-customer", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 15) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def background() -> Iterator[Background]:
    bg = Background()
    yield bg
    bg.stop()


class CustomerSide:
    """A customer of ``org`` with an RTM socket for pushes, called synchronously from the test."""

    def __init__(self, bg: Background, api: str, org: str) -> None:
        self.bg = bg
        self.customer = CustomerClient(api, org)
        bg.run(self.customer.authorize())
        self.id = self.customer.id
        self.socket: Socket = bg.run(self.customer.rtm())

    def ok(self, action: str, payload: Any = None) -> Any:
        return self.bg.run(self.customer.ok(action, payload))

    def push(self, action: str, timeout: float = 5.0) -> dict:
        return self.bg.run(self.socket.push(action, timeout=timeout), timeout + 5)["payload"]

    def event_from(self, author_id: str, timeout: float = 5.0) -> dict:
        """The next event pushed to the customer that ``author_id`` wrote (skipping the customer's own echoes)."""
        deadline = time.monotonic() + timeout
        while True:
            event = self.push("incoming_event", max(0.1, deadline - time.monotonic()))["event"]
            if event["author_id"] == author_id:
                return event

    def close(self) -> None:
        self.bg.run(self.socket.close())
        self.bg.run(self.customer.aclose())


@pytest.fixture
def customer_of(background: Background, api: str) -> Iterator[Callable[[str], CustomerSide]]:
    made: list[CustomerSide] = []

    def make(org: str) -> CustomerSide:
        made.append(CustomerSide(background, api, org))
        return made[-1]

    yield make
    for side in made:
        side.close()


# --- the page --------------------------------------------------------------------------------------------------------


@pytest.fixture
def watched(page: Page) -> Iterator[Page]:
    """The page, failing the test on console errors, page errors, dialogs and CSP violations."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))

    def on_dialog(dialog: Any) -> None:
        problems.append(f"dialog: {dialog.type} {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.add_init_script("""
        window.__cspViolations = [];
        document.addEventListener("securitypolicyviolation",
            (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
    """)
    yield page
    violations = page.evaluate("window.__cspViolations")
    assert violations == [], violations
    assert problems == [], problems


def sign_in(page: Page, api: str, agent: AgentAccount) -> None:
    response = page.goto(f"{api}/agent")
    assert response is not None and response.status == 200
    assert response.headers["content-security-policy"] == CSP
    page.get_by_label("Personal access token").fill(agent.token)
    page.get_by_role("button", name="Use token").click()
    expect(page.locator("#me")).to_contain_text(agent.id)
    assert agent.token not in page.url
    assert page.evaluate("sessionStorage.getItem('widget_server.agent_token')") == agent.token


def wait_for(check: Callable[[], T], timeout: float = 5.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)
