"""First run (issue 19): a new owner opens the demo page on the host, sees that no agent is online, and with one click
is in the agent console, signed in and accepting chats; the demo page then says an agent is online. Nobody else gets
the shortcut: not a request relayed by a proxy, not another site's form."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support import LiveServer


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A first start: its own embedded Valkey, so the default license and credentials.json are made now."""
    live = LiveServer(tmp_path / "first-run").start()
    yield live
    live.stop()


def test_the_local_owner_goes_online_from_the_demo_page_with_one_click(page: Page, fresh_server: LiveServer) -> None:
    live = fresh_server
    creds = live.credentials
    org, token = creds["organization_id"], creds["owner"]["personal_access_token"]
    demo = f"{live.url}/demo?organization_id={org}"

    page.goto(demo)
    expect(page.locator("#agent-status")).to_contain_text("No agent is online")
    with page.context.expect_page() as opened:
        page.locator("#go-online").click()
    console = opened.value
    expect(console.locator("#me")).to_contain_text(creds["owner"]["email"])
    expect(console.locator("#accepting")).to_be_checked()
    assert token not in console.url and "online" not in console.url  # (taken out of the address at once)
    stored = console.evaluate("[JSON.stringify(sessionStorage), JSON.stringify(localStorage)]")
    assert token not in "".join(stored)

    deadline = time.monotonic() + 10  # (a worker keeps a group's status for a second)
    while True:
        page.reload()
        text = page.locator("#agent-status").text_content() or ""
        if "An agent is online" in text or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert "An agent is online" in text
    assert page.locator("#go-online").count() == 0
    console.close()

    # the shortcut is the host's owner's only: a relayed request or another site's form gets nothing
    with httpx.Client(base_url=live.url, timeout=10, follow_redirects=False) as http:
        relayed = {"X-Forwarded-For": "93.184.216.34"}
        assert 'id="go-online"' not in http.get(f"/demo?organization_id={org}", headers=relayed).text
        assert http.post(f"/demo/console?organization_id={org}", headers=relayed).status_code == 404
        cross = {"Sec-Fetch-Site": "cross-site"}
        assert http.post(f"/demo/console?organization_id={org}", headers=cross).status_code == 404
        ok = http.post(f"/demo/console?organization_id={org}", headers={"Sec-Fetch-Site": "same-origin"})
        # a console session for the owner (cookies), no token in the address (issue 18: never the PAT in the browser)
        assert ok.status_code == 303 and ok.headers["location"] == "/agent#online=1"
        assert token not in ok.headers["location"] and "ws_agent=" in ok.headers.get("set-cookie", "")
    assert token not in live.log_path.read_text().split("health          :", 1)[1]  # (after the first-start banner)
