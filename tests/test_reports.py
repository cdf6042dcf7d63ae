"""Reports: a day of chats (two answered and rated, one missed, an offline message that becomes a ticket, an agent
accepting chats for a while), then LiveChat's own SDK (``ReportsApiV36``) reads the Reports API over TLS and the
owner's dashboard reads its data endpoint and CSV: both agree with each other and with what happened. Counters are
kept as chats happen (``core/reports.py``): nothing here scans a chat."""

from __future__ import annotations

import base64
import csv
import io
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

pytest.importorskip("livechat", reason="lc-sdk-python is not installed")

from livechat.reports.base import ReportsApi

from tests.support import LiveServer
from tests.support.clients import AgentClient, CustomerClient, configure
from tests.test_wizard import Owner
from widget_server.bootstrap import create_license


@pytest.fixture(scope="module")
def tls_host(tmp_path_factory, valkey_url) -> Iterator[str]:
    """A second server over TLS on the same Valkey (the SDK only speaks https): what the SDK calls base_url."""
    live = LiveServer(tmp_path_factory.mktemp("reports-tls"), valkey_url, tls_names=[]).start()
    try:
        yield f"127.0.0.1:{live.port}"
    finally:
        live.stop()


def sdk(host: str, agent: AgentClient) -> ReportsApi:
    basic = base64.b64encode(f"{agent.id}:{agent.token}".encode()).decode()
    return ReportsApi.get_client(token=f"Basic {basic}", version="3.6", base_url=host, verify=False)


def today_range() -> dict:
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return {"from": start.isoformat(), "to": (start + timedelta(days=1)).isoformat()}


async def answered_chat(customer: CustomerClient, agent: AgentClient, text: str) -> tuple[str, str]:
    started = await customer.ok("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": text}]}}})
    chat = await customer.ok("get_chat", {"chat_id": started["chat_id"]})
    assert agent.id in [u["id"] for u in chat["users"]], "routed to the accepting agent"
    await agent.ok("send_event", {"chat_id": started["chat_id"], "event": {"type": "message", "text": "Hello!"}})
    return started["chat_id"], started["thread_id"]


def body(response: httpx.Response) -> dict:
    assert response.status_code == 200, (str(response.request.url), response.status_code, response.text)
    return response.json()


async def test_a_day_of_chats_in_the_reports_api_and_the_dashboard(server, valkey, tls_host):
    creds = await create_license(valkey, f"owner-{secrets.token_hex(4)}@example.com", "a long password 1")
    org = creds["organization_id"]
    owner = AgentClient(server.url, creds["owner"]["account_id"], creds["owner"]["personal_access_token"])
    agent = AgentClient(server.url, creds["agent"]["account_id"], creds["agent"]["personal_access_token"])
    customers = [await CustomerClient(server.url, org).authorize() for _ in range(4)]
    wizard = Owner(server.url, creds["owner"]["account_id"], "a long password 1", org)
    try:
        await agent.ok("set_routing_status", {"status": "accepting_chats"})
        # 1: answered, rated good with a comment, closed by the agent
        a_chat, a_thread = await answered_chat(customers[0], agent, "Do you ship to Norway?")
        await customers[0].ok("update_thread_properties", {"chat_id": a_chat, "thread_id": a_thread, "properties": {
            "rating": {"score": 1, "comment": "Quick and kind"}}})
        await agent.ok("deactivate_chat", {"id": a_chat})
        # 2: answered, closed, then rated: good, changed to bad, bad again (counted once, as bad)
        b_chat, b_thread = await answered_chat(customers[1], agent, "Where is my order?")
        await agent.ok("deactivate_chat", {"id": b_chat})
        for score in (1, 0, 0):
            await customers[1].ok("update_thread_properties", {"chat_id": b_chat, "thread_id": b_thread,
                                                              "properties": {"rating": {"score": score}}})
        # 3: nobody accepts: queued, the customer gives up: a missed chat
        await agent.ok("set_routing_status", {"status": "not_accepting_chats"})
        c = await customers[2].ok("start_chat", {"chat": {"thread": {"events": [
            {"type": "message", "text": "Hello?"}]}}})
        await customers[2].ok("deactivate_chat", {"id": c["chat_id"]})
        # 4: an offline message: a ticket, not a chat
        await customers[3].ok("start_chat", {"active": False, "chat": {"thread": {"events": [
            {"type": "message", "text": "Call me back"}]}}})

        # LiveChat's SDK, as an owner
        reports = sdk(tls_host, owner)
        filters = today_range()
        total = body(reports.total_chats(filters=filters))
        assert total["name"] == "total-chats-report" and total["total"] == 3
        [(day, record)] = total["records"].items()
        assert day == filters["from"][:10] and record == {"total": 3}
        frt = body(reports.first_response_time(filters=filters))
        assert frt["total"] == 2 and frt["records"][day]["count"] == 2
        assert frt["records"][day]["first_response_time"] >= 0
        duration = body(reports.duration(filters=filters))
        assert duration["total"] == 3 and duration["records"][day]["count"] == 3
        ratings = body(reports.ratings(filters=filters))
        assert ratings["records"][day] == {"good": 1, "bad": 1, "chats": 3, "comments": 1}
        hourly = body(reports.total_chats(distribution="hour", filters=filters))
        assert len(hourly["records"]) == 24 and sum(r["total"] for r in hourly["records"].values()) == 3
        # in the caller's time zone (UTC+14): the last seven days of that zone, today being its own date
        kiribati = body(reports.total_chats(timezone="Pacific/Kiritimati"))
        local_today = datetime.now(ZoneInfo("Pacific/Kiritimati")).date().isoformat()
        assert list(kiribati["records"])[-1] == local_today and kiribati["records"][local_today] == {"total": 3}
        assert kiribati["total"] == 3 and len(kiribati["records"]) in (7, 8)
        # the agent accepted chats for a while (however short: counted in ms)
        available = body(reports.availability(filters={**filters, "agents": {"values": [agent.id]}}))
        assert available["name"] == "availability-report" and available["total"] >= 0
        assert list(available["records"]) == [day]
        # this server's extras: missed chats and tickets
        missed = body(reports.session.post(f"{reports.api_url}/chats/missed", json={"filters": filters}))
        assert missed["total"] == 1 and missed["records"][day] == {"missed": 1, "chats": 3}
        tickets = body(reports.session.post(f"{reports.api_url}/chats/tickets", json={"filters": filters}))
        assert tickets["records"][day] == {"total": 1, "missed_chat": 0, "offline_message": 1}
        # per agent: the two chats they answered (the missed one never reached them)
        mine = body(reports.total_chats(filters={**filters, "agents": {"values": [agent.id]}}))
        assert mine["total"] == 2

        # the agent (group 0, normal role) reads their group, and only it
        as_agent = sdk(tls_host, agent)
        assert body(as_agent.total_chats(filters=filters))["total"] == 3
        await configure(owner, "create_group", {"name": "Sales", "agent_priorities": {}})
        assert body(reports.total_chats(filters={**filters, "groups": {"values": [1]}}))["total"] == 0
        assert body(reports.total_chats(filters={**filters, "groups": {"values": [0, 1]}}))["total"] == 3
        refused = as_agent.total_chats(filters={**filters, "groups": {"values": [1]}})
        assert refused.status_code == 403 and refused.json()["error"]["type"] == "authorization"
        refused = as_agent.total_chats(filters={**filters, "agents": {"values": [owner.id]}})
        assert refused.status_code == 403
        bad = reports.total_chats(filters={"from": "yesterday"})
        assert bad.status_code == 400 and bad.json()["error"]["type"] == "validation"
        bad = reports.total_chats(timezone="Mars/Olympus")
        assert bad.status_code == 400 and bad.json()["error"]["type"] == "validation"
        bad = reports.total_chats(filters={"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"})
        assert bad.status_code == 400, "a range longer than WIDGET_REPORTS_MAX_DAYS"
        assert reports.session.post(f"{reports.api_url}/chats/nothing", json={}).status_code == 404

        # the dashboard's data: the same numbers
        assert (await wizard.sign_in()).status_code == 303
        page = await wizard.http.get("/wizard/dashboard")
        assert page.status_code == 200 and 'id="chart-chats"' in page.text
        assert '<dd id="report-chats">3</dd>' in page.text
        data = (await wizard.http.get("/wizard/reports/data", params={"from": day, "to": day})).json()
        t = data["total"]
        assert (t["chats"], t["missed"], t["tickets"], t["good"], t["bad"], t["comments"]) == (3, 1, 1, 1, 1, 1)
        assert t["first_responses"] == frt["total"]
        assert t["first_response_avg"] == frt["records"][day]["first_response_time"]
        assert t["first_response_median"] == frt["records"][day]["median"]
        assert t["first_response_p90"] == frt["records"][day]["percentile_90"]
        assert t["duration_avg"] == duration["records"][day]["duration"]
        [period] = data["periods"]
        assert period["period"] == day and period["chats"] == total["records"][day]["total"]
        [row] = [a for a in data["agents"] if a["id"] == agent.id]
        assert row["chats"] == mine["total"] and row["good"] == 1 and row["bad"] == 1
        assert row["available_hours"] == available["total"]
        assert [c["comment"] for c in data["comments"]] == ["Quick and kind"]
        assert "Quick and kind" in page.text
        [group] = data["groups"]
        assert group["id"] == 0 and group["chats"] == 3 and group["missed"] == 1 and group["tickets"] == 1
        # availability (nobody accepts now, so it holds still): the agent's group's, as the agent reads it
        assert body(as_agent.availability(filters=filters))["total"] == group["available_hours"]
        assert body(reports.availability(filters=filters))["total"] == data["total"]["available_hours"]

        # CSV export of the same rows
        exported = await wizard.http.get("/wizard/reports.csv", params={"from": day, "to": day, "table": "periods"})
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert [(r["period"], r["chats"], r["missed"], r["good"], r["bad"]) for r in rows] == [(day, "3", "1", "1", "1")]
        agents_csv = await wizard.http.get("/wizard/reports.csv", params={"from": day, "to": day, "table": "agents"})
        assert agent.id in agents_csv.text
        for params in ({"from": "soon"}, {"distribution": "weekly"}, {"from": day, "to": day, "table": "x"}):
            path = "/wizard/reports.csv" if "table" in params else "/wizard/reports/data"
            r = await wizard.http.get(path, params=params)
            assert r.status_code == 400 and r.json()["error"]["type"] == "validation", (params, r.text)
        assert total["request"] == {"distribution": "day", "filters": filters}

        # a new chat shows at once in both
        await agent.ok("set_routing_status", {"status": "accepting_chats"})
        await answered_chat(customers[0], agent, "One more thing")
        assert body(reports.total_chats(filters=filters))["total"] == 4
        data = (await wizard.http.get("/wizard/reports/data", params={"from": day, "to": day})).json()
        assert data["total"]["chats"] == 4
    finally:
        for client in (owner, agent, *customers):
            await client.aclose()
        await wizard.http.aclose()


async def test_reports_refuse_hostile_requests_with_typed_errors(valkey, tls_host):
    """No token, a bad token, unknown fields, too many groups, a range too long for hourly records, a body that is
    not JSON: each a typed error, never a 500."""
    creds = await create_license(valkey, f"owner-{secrets.token_hex(4)}@example.com", "pw")
    basic = base64.b64encode(f"{creds['owner']['account_id']}:{creds['owner']['personal_access_token']}".encode())
    auth = {"Authorization": f"Basic {basic.decode()}"}
    url = "/v3.6/reports/chats/total_chats"
    with httpx.Client(base_url=f"https://{tls_host}", verify=False) as http:
        r = http.post(url, json={})
        assert r.status_code == 401 and r.json()["error"]["type"] == "authentication"
        r = http.post(url, headers={"Authorization": "Bearer nope"}, json={})
        assert r.status_code == 401 and r.json()["error"]["type"] == "authentication"
        assert http.post(url, headers=auth, json={}).json()["total"] == 0
        for payload in ({"distribution": "weekly"}, {"filters": {"tags": {"values": ["vip"]}}},
                        {"filters": {"groups": {"values": list(range(101))}}},
                        {"filters": {"agents": {"values": ["x" * 300]}}},
                        {"distribution": "hour", "filters": {"from": "2026-01-01T00:00:00Z",
                                                             "to": "2026-03-01T00:00:00Z"}},
                        {"filters": {"from": "2026-03-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}},
                        {"filters": {"groups": {"values": [0]}, "agents": {"values": ["a@b.c"]}}}):
            r = http.post(url, headers=auth, json=payload)
            assert r.status_code == 400 and r.json()["error"]["type"] == "validation", (payload, r.text)
        r = http.post(url, headers={**auth, "Content-Type": "application/json"}, content=b"{not json")
        assert r.status_code == 400 and r.json()["error"]["type"] == "validation"
