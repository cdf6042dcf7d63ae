"""The owner's dashboard in Chromium: the chat reports' charts are drawn (SVG, under the wizard's strict CSP), and a
chat that happens while the page is open shows in the numbers and the chart without a reload; the CSV export
downloads the same numbers. A screenshot goes to ``test-results/reports/``."""

from __future__ import annotations

import asyncio
import csv
import io
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support import LiveServer
from widget_server.bootstrap import create_license
from widget_server.valkey import connect

SHOTS = Path(__file__).resolve().parent.parent / "test-results" / "reports"


class Owner:
    def __init__(self, email: str, password: str, org: str) -> None:
        self.email, self.password, self.org = email, password, org


def watch(page: Page) -> list[str]:
    """Console errors (CSP violations among them), page errors and HTTP errors."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
    return problems


def sign_in(page: Page, api: str, owner: Owner) -> None:
    page.goto(f"{api}/wizard/login")
    page.get_by_label("E-mail address").fill(owner.email)
    page.get_by_label("Password").fill(owner.password)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture(scope="module")
def reports_server(tmp_path_factory: pytest.TempPathFactory, valkey_url: str) -> Iterator[str]:
    """A server whose dashboard asks for its numbers every second (the default is every 10 s)."""
    live = LiveServer(tmp_path_factory.mktemp("e2e-reports"), valkey_url,
                      env={"WIDGET_REPORTS_POLL_SECONDS": "1"}).start()
    try:
        yield live.url
    finally:
        live.stop()


def _license(valkey_url: str) -> tuple[Owner, dict[str, Any]]:
    async def create() -> tuple[Owner, dict[str, Any]]:
        client = connect(valkey_url)
        try:
            email, password = f"owner-{secrets.token_hex(5)}@example.com", secrets.token_urlsafe(12)
            creds = await create_license(client, email, password)
        finally:
            await client.aclose()
        return Owner(email, password, creds["organization_id"]), creds

    with ThreadPoolExecutor(1) as pool:  # (Playwright's sync API keeps this thread's event loop busy)
        return pool.submit(asyncio.run, create()).result(timeout=30)


def chat_happens(api: str, creds: dict[str, Any]) -> None:
    """A visitor starts a chat, the accepting agent answers it: the way the widget and the console would, over HTTP."""
    org, agent = creds["organization_id"], creds["agent"]
    with httpx.Client(base_url=api, timeout=10) as http:
        auth = {"Authorization": f"Bearer {agent['personal_access_token']}"}
        r = http.post("/v3.6/agent/action/set_routing_status", json={"status": "accepting_chats"}, headers=auth)
        assert r.status_code == 200, r.text
        token = http.post("/v2/customer/token", json={"grant_type": "cookie", "client_id": "e2e",
                                                      "response_type": "token", "organization_id": org}).json()
        r = http.post("/v3.6/customer/action/start_chat", params={"organization_id": org},
                      headers={"Authorization": f"Bearer {token['access_token']}"},
                      json={"chat": {"thread": {"events": [{"type": "message", "text": "Hi there"}]}}})
        assert r.status_code == 200, r.text
        r = http.post("/v3.6/agent/action/send_event", headers=auth,
                      json={"chat_id": r.json()["chat_id"], "event": {"type": "message", "text": "Hello!"}})
        assert r.status_code == 200, r.text


def test_the_dashboard_draws_the_chat_reports_and_updates_when_a_chat_happens(
        page: Page, reports_server: str, valkey_url: str) -> None:
    owner, creds = _license(valkey_url)
    problems = watch(page)
    page.set_viewport_size({"width": 1280, "height": 1000})
    sign_in(page, reports_server, owner)
    expect(page.get_by_role("heading", name="Your chat widget")).to_be_visible()
    page.goto(f"{reports_server}/wizard/dashboard")
    expect(page.get_by_role("heading", name="Chats", exact=True)).to_be_visible()
    expect(page.locator("#report-chats")).to_have_text("0")
    # seven days, three series each (chats, missed, tickets): a bar per value, drawn by the page's own script
    bars = page.locator("#chart-chats rect.s0")
    expect(bars).to_have_count(7)
    for chart in ("#chart-frt", "#chart-duration", "#chart-ratings"):
        expect(page.locator(f"{chart} rect").first).to_be_attached()
    expect(page.get_by_role("img", name="Chats, missed chats and tickets")).to_be_visible()
    assert bars.last.get_attribute("data-value") == "0"

    chat_happens(reports_server, creds)
    # no reload: the page asks again by itself
    expect(page.locator("#report-chats")).to_have_text("1", timeout=15_000)
    expect(bars.last).to_have_attribute("data-value", "1", timeout=15_000)
    # the agent accepts chats now: they are listed with their time so far (their chats count when chats end)
    expect(page.locator("#report-agents tbody tr th")).to_have_text([creds["agent"]["account_id"]])
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dashboard-reports.png"), full_page=True)

    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
    assert len(rows) == 7 and rows[-1]["chats"] == "1" and sum(int(r["chats"]) for r in rows) == 1
    assert problems == []
