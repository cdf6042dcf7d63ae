"""Operations (issue 19): ``/metrics`` in Prometheus' text format summed over granian's workers, JSON log lines with
request ids, one access line per request, no secret in any line, and OpenTelemetry traces."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import CustomerClient, LiveServer, start_valkey
from tests.support.clients import AgentClient
from tests.test_wizard import Owner
from widget_server.auth.operator import may_scrape
from widget_server.bootstrap import create_agent, create_license
from widget_server.valkey import connect

CUSTOMER_ACTION = "/v3.6/customer/action/{action}"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape by (name, sorted labels)."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(scrape: dict, name: str, **labels: str) -> float:
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(http: httpx.AsyncClient, **headers: str) -> dict:
    r = await http.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return samples(r.text)


def test_who_may_scrape():
    assert may_scrape("127.0.0.1", None, "") and may_scrape("::1", None, "") and may_scrape("10.1.2.3", None, "")
    assert may_scrape("192.168.0.9", None, "t") and may_scrape("fd00::1", None, "")
    assert not may_scrape("93.184.216.34", None, "")  # no token set: nobody from outside
    assert not may_scrape("93.184.216.34", "Bearer ", "")
    assert not may_scrape("93.184.216.34", "Bearer wrong", "right")
    assert may_scrape("93.184.216.34", "Bearer right", "right") and may_scrape("93.184.216.34", "bearer right", "right")
    assert not may_scrape(None, None, "right") and not may_scrape("not an address", "Basic right", "right")


@pytest.fixture
async def own_valkey() -> AsyncIterator[tuple[str, Any]]:
    """A Valkey of the story's own: the gauges (online visitors, queued chats) count every license of the store."""
    server = start_valkey()
    client = connect(server.connection_url)
    yield server.connection_url, client
    await client.aclose()
    server.stop()


async def test_a_chat_and_a_page_view_move_the_metrics_of_two_workers_and_the_log_keeps_no_secret(
        tmp_path, own_valkey):
    valkey_url, valkey = own_valkey
    metrics_token = secrets.token_urlsafe(16)
    live = LiveServer(tmp_path / "server", valkey_url, workers=2, env={
        "WIDGET_LOG_LEVEL": "info", "WIDGET_METRICS_TOKEN": metrics_token, "WIDGET_TRUSTED_PROXY_HEADERS": "1"}).start()
    email, password = f"owner-{secrets.token_hex(5)}@example.com", secrets.token_urlsafe(12)
    creds = await create_license(valkey, email, password)
    org, agent_creds = creds["organization_id"], creds["agent"]
    text = f"my card is 4111 1111 {secrets.token_hex(6)}"
    answer = f"thanks, noted {secrets.token_hex(6)}"
    customer = await CustomerClient(live.url, org).authorize()
    waiting = await CustomerClient(live.url, org).authorize()
    agent = AgentClient(live.url, agent_creds["account_id"], agent_creds["personal_access_token"])
    owner = Owner(live.url, email, password, org)
    try:
        async with httpx.AsyncClient(base_url=live.url, timeout=10) as http:
            before = await scrape(http)

            # from outside (as a proxy reports the client): a token is needed, and only the right one works
            outside = {"X-Forwarded-For": "93.184.216.35"}
            assert (await http.get("/metrics", headers=outside)).status_code == 404
            wrong = {**outside, "Authorization": "Bearer " + metrics_token[:-1] + "x"}
            assert (await http.get("/metrics", headers=wrong)).status_code == 404
            await scrape(http, **outside, Authorization=f"Bearer {metrics_token}")

            # an agent goes online, a customer chats, the agent answers, the visitor views a page, the owner signs in
            socket = await agent.rtm()
            # the license's agent takes no chat, another takes one at a time: the customer's chat is theirs, a second
            # customer's waits in the queue
            assert (await socket.request("set_routing_status", {"status": "not_accepting_chats"}))["success"]
            busy = await create_agent(valkey, org, f"busy-{secrets.token_hex(4)}@example.com", "Busy", "normal", 1)
            busy_socket = await AgentClient(live.url, busy["account_id"], busy["personal_access_token"]).rtm()
            assert (await busy_socket.request("set_routing_status", {"status": "accepting_chats"}))["success"]
            started = await customer.ok("start_chat", {"chat": {"thread": {"events": [
                {"type": "message", "text": text}]}}})
            await agent.ok("send_event", {"chat_id": started["chat_id"], "event": {"type": "message", "text": answer}})
            await customer.ok("send_event", {"chat_id": started["chat_id"], "event": {"type": "message", "text": text}})
            waited = await waiting.ok("start_chat")
            assert (await waiting.ok("get_chat", {"chat_id": waited["chat_id"]}))["thread"]["queue"]["position"] == 1
            view = await http.post("/v1/widget/visit", content=json.dumps({
                "type": "visit", "cfg": {"organization_id": org, "group": 0}, "url": "https://shop.example/",
                "title": "Home"}).encode(), headers={"Content-Type": "text/plain;charset=UTF-8",
                                                     "Origin": "https://shop.example"})
            assert view.status_code == 200, view.text
            assert (await owner.sign_in()).status_code == 303
            health = [await http.get("/healthz") for _ in range(7)]  # (whichever worker each one reaches)

            # both workers' counts are in one scrape, whichever worker answers it (a worker moves its request counts
            # into the shared files every second: the scrape is repeated until they are all there, or 5 s passed)
            expected = [(2, "widget_chat_events_total", {"author": "customer"}),
                        (1, "widget_chat_events_total", {"author": "agent"}),
                        (1, "widget_page_views_total", {}),
                        (7, "widget_http_request_duration_seconds_count",
                         {"method": "GET", "route": "/healthz", "status": "200"}),
                        (4, "widget_http_request_duration_seconds_count",
                         {"method": "POST", "route": CUSTOMER_ACTION, "status": "200"}),
                        (1, "widget_http_request_duration_seconds_count",
                         {"method": "POST", "route": "/v1/widget/visit", "status": "200"})]
            for _ in range(50):
                during = await scrape(http)
                moved = [value(during, name, **labels) - value(before, name, **labels) for _, name, labels in expected]
                if moved == [n for n, _, _ in expected]:
                    break
                await asyncio.sleep(0.1)
            assert moved == [n for n, _, _ in expected], list(zip(moved, expected, strict=True))
            assert value(during, "widget_rtm_sockets_open", api="agent") == 2
            assert value(during, "widget_rtm_connections_total", api="agent") - value(
                before, "widget_rtm_connections_total", api="agent") == 2
            # the store's state at the scrape: the two customers and the page's visitor online, one chat queued
            assert value(during, "widget_online_visitors") == 3
            assert value(during, "widget_queued_chats") == 1
            health_series = {"method": "GET", "route": "/healthz", "status": "200"}
            count = value(during, "widget_http_request_duration_seconds_count", **health_series)
            assert value(during, "widget_http_request_duration_seconds_bucket", **health_series, le="+Inf") == count
            assert value(during, "widget_http_request_duration_seconds_sum", **health_series) > 0

            await socket.close()
            await busy_socket.close()
            for _ in range(50):  # the socket's end is noted when the server sees the close
                after = await scrape(http)
                if value(after, "widget_rtm_sockets_open", api="agent") == 0:
                    break
                await asyncio.sleep(0.1)
            assert value(after, "widget_rtm_sockets_open", api="agent") == 0
    finally:
        await customer.aclose()
        await waiting.aclose()
        await agent.aclose()
        await owner.aclose()
        live.stop()

    log = live.log_path.read_text()
    for secret in (password, agent_creds["personal_access_token"], busy["personal_access_token"], customer.token,
                   waiting.token, text, answer, metrics_token):
        assert secret not in log
    # the CLI prints its start-up banner (not a log); from granian's start on, every line is one JSON object
    lines = log.splitlines()
    first = next(i for i, line in enumerate(lines) if "Starting granian" in line)
    records = [json.loads(line) for line in lines[first:]]
    assert all(json.loads(line) for line in lines[:first] if line.startswith("{"))
    access = [r for r in records if r["logger"] == "widget_server.access" and r.get("kind") == "http"]
    assert all(r["request_id"] and r["status"] and r["route"] and "duration_ms" in r for r in access)
    # one access line per request (granian's own access log is off), carrying the id the answer gave
    ids = {r.headers["x-request-id"] for r in health}
    assert len(ids) == 7
    assert sorted(r["request_id"] for r in access if r["route"] == "/healthz") == sorted(ids)
    assert [r["status"] for r in access if r["route"] == CUSTOMER_ACTION] == [200] * 4
    assert any(r.get("kind") == "websocket" and r["route"] == "/v3.6/agent/rtm/ws" for r in records)
