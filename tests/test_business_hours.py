"""Business hours per group: the owner sets weekly ranges, a time zone and dated exceptions (Configuration API and
wizard); outside them the group is offline whatever its agents do — in the widget, the customer API and routing —
and connected customers hear ``groups_status_updated`` whenever a group's availability changes, because an agent's
status changed or because the clock crossed an opening or closing time (one timer across all servers)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
from zoneinfo import ZoneInfo

import msgspec
import pytest

from tests.support import AgentClient, CustomerClient, LiveServer, configure, start_valkey
from widget_server import keys
from widget_server.bootstrap import create_license
from widget_server.core import hours
from widget_server.protocol.config import BusinessHours
from widget_server.protocol.errors import ApiError
from widget_server.valkey import connect

from .test_wizard import field_error, make_owner, read_form

ORIGIN = "https://shop.example"
ALWAYS_CLOSED = {"timezone": "UTC", "weekly": []}


@pytest.fixture
def team(owner_team):
    """A license's owner (Configuration API) and its agent, both in group 0, and a customer's client."""
    return owner_team




async def set_hours(owner: AgentClient, business_hours: dict | None, group_id: int = 0) -> None:
    r = await configure(owner, "update_group_business_hours", {"group_id": group_id, "business_hours": business_hours})
    assert r.status_code == 200, r.text


def parse(raw: dict) -> BusinessHours:
    h = msgspec.convert(raw, BusinessHours)
    hours.check(h)
    return h


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


# --- the schedule's maths ----------------------------------------------------------------------------------------------


def test_weekly_ranges_are_read_in_the_hours_time_zone_across_dst_and_midnight():
    h = parse({"timezone": "Europe/Warsaw", "weekly": [
        {"day": "friday", "open": "09:00", "close": "17:00"},
        {"day": "friday", "open": "22:00", "close": "24:00"},
        {"day": "saturday", "open": "00:00", "close": "02:00"},
        {"day": "sunday", "open": "09:00", "close": "17:00"},
    ]})
    # Friday 2026-12-04, Warsaw is UTC+1
    assert hours.is_open(h, utc(2026, 12, 4, 8, 0)) and not hours.is_open(h, utc(2026, 12, 4, 7, 59, 59))
    assert hours.next_change(h, utc(2026, 12, 4, 12, 0)) == utc(2026, 12, 4, 16, 0)
    # 22:00 Friday to 02:00 Saturday is one opening: its end is the next change, not midnight
    assert hours.is_open(h, utc(2026, 12, 4, 23, 30))
    assert hours.next_change(h, utc(2026, 12, 4, 21, 30)) == utc(2026, 12, 5, 1, 0)
    # Sunday 2026-03-29: clocks go forward at 02:00, 09:00 local is 07:00 UTC (the Sunday before: 08:00)
    assert hours.next_change(h, utc(2026, 3, 29, 0, 0)) == utc(2026, 3, 29, 7, 0)
    assert hours.next_change(h, utc(2026, 3, 22, 0, 0)) == utc(2026, 3, 22, 8, 0)


def test_a_dated_exception_replaces_that_day_and_disabled_hours_are_always_open():
    h = parse({"timezone": "UTC", "weekly": [{"day": day, "open": "09:00", "close": "17:00"}
                                             for day in ("thursday", "friday")],
               "exceptions": [{"date": "2026-12-24"}, {"date": "2026-12-25", "ranges": [{"open": "10:00", "close": "12:00"}]}]})
    assert not hours.is_open(h, utc(2026, 12, 24, 12, 0))  # a Thursday, closed by the exception
    assert hours.next_change(h, utc(2026, 12, 24, 12, 0)) == utc(2026, 12, 25, 10, 0)
    assert hours.is_open(h, utc(2026, 12, 25, 11, 0)) and not hours.is_open(h, utc(2026, 12, 25, 13, 0))
    assert hours.is_open(h, utc(2026, 12, 31, 16, 59, 59))  # an ordinary Thursday
    disabled = parse({"enabled": False, "timezone": "UTC", "weekly": []})
    assert hours.is_open(disabled, utc(2026, 12, 24, 3, 0)) and hours.next_change(disabled, utc(2026, 12, 24)) is None
    assert hours.is_open(None, utc(2026, 12, 24)) and hours.next_change(None, utc(2026, 12, 24)) is None


def test_saved_hours_whose_zone_the_system_no_longer_knows_are_read_in_utc():
    # (checked when saved; time zone data can still lose a name later, and no availability check may fail then)
    h = msgspec.convert({"timezone": "Gone/Away", "weekly": [{"day": "friday", "open": "09:00", "close": "17:00"}]},
                        BusinessHours)
    assert hours.is_open(h, utc(2026, 12, 4, 9, 0)) and not hours.is_open(h, utc(2026, 12, 4, 8, 59))
    assert hours.next_change(h, utc(2026, 12, 4, 9, 0)) == utc(2026, 12, 4, 17, 0)


@pytest.mark.parametrize("raw, message", [
    ({"timezone": "Mars/Olympus"}, "unknown time zone"),
    ({"timezone": "../../etc/passwd"}, "unknown time zone"),
    ({"weekly": [{"day": "monday", "open": "17:00", "close": "09:00"}]}, "must be after open"),
    ({"exceptions": [{"date": "2026-02-30"}]}, "is not a date"),
    ({"exceptions": [{"date": "2026-12-24"}, {"date": "2026-12-24"}]}, "listed twice"),
])
def test_hours_that_cannot_mean_anything_are_refused(raw, message):
    with pytest.raises(ApiError) as exc:
        parse(raw)
    assert exc.value.type == "validation" and message in exc.value.message


# --- the Configuration API ---------------------------------------------------------------------------------------------


async def test_owner_sets_and_reads_a_groups_business_hours(team):
    owner, _, _ = team
    week = {"timezone": "America/New_York", "weekly": [{"day": "monday", "open": "09:00", "close": "17:30"},
                                                        {"day": "saturday", "open": "10:00:30", "close": "24:00"}],
            "exceptions": [{"date": "2026-12-25"}, {"date": "2026-12-31", "ranges": [{"open": "09:00", "close": "13:00"}]}]}
    await set_hours(owner, week)
    got = (await configure(owner, "get_group_business_hours", {"group_id": 0})).json()
    assert got["group_id"] == 0 and got["business_hours"] == {**week, "exceptions": [
        {"date": "2026-12-25", "ranges": []}, week["exceptions"][1]]}
    assert isinstance(got["open_now"], bool) and got["online"] is False  # nobody accepts chats
    assert got["next_change"].endswith("Z")
    await set_hours(owner, None)
    got = (await configure(owner, "get_group_business_hours", {"group_id": 0})).json()
    assert got["business_hours"] is None and got["open_now"] is True and got["next_change"] is None


@pytest.mark.parametrize("payload, error", [
    ({"group_id": 0, "business_hours": {"timezone": "Nowhere/Land"}}, "validation"),
    ({"group_id": 0, "business_hours": {"weekly": [{"day": "funday", "open": "09:00", "close": "10:00"}]}}, "validation"),
    ({"group_id": 0, "business_hours": {"weekly": [{"day": "monday", "open": "25:00", "close": "26:00"}]}}, "validation"),
    ({"group_id": 0, "business_hours": {"weekly": [{"day": "monday", "open": "10:00", "close": "10:00"}]}}, "validation"),
    ({"group_id": 0, "business_hours": {"weekly": [{"day": "monday", "open": "09:00", "close": "10:00"}] * 71}},
     "validation"),
    ({"group_id": 0, "business_hours": {"hacked": True}}, "validation"),
    ({"group_id": 0}, "validation"),
    ({"group_id": 42, "business_hours": None}, "group_not_found"),
])
async def test_bad_business_hours_get_typed_errors_and_change_nothing(team, payload, error):
    owner, _, _ = team
    await set_hours(owner, ALWAYS_CLOSED)
    r = await configure(owner, "update_group_business_hours", payload)
    assert r.status_code in (400, 404) and r.json()["error"]["type"] == error, r.text
    kept = (await configure(owner, "get_group_business_hours", {"group_id": 0})).json()["business_hours"]
    assert kept == {"timezone": "UTC"}


async def test_a_normal_agent_may_not_set_business_hours(team):
    _, agent, _ = team
    r = await configure(agent, "update_group_business_hours", {"group_id": 0, "business_hours": ALWAYS_CLOSED})
    assert r.status_code == 403 and r.json()["error"]["type"] == "authorization"


# --- offline outside the hours -----------------------------------------------------------------------------------------


async def test_outside_its_hours_a_group_is_offline_everywhere_and_routes_nothing(server, team):
    owner, agent, customer = team
    org = owner.org  # type: ignore[attr-defined]
    await agent.ok("set_routing_status", {"status": "accepting_chats"})
    assert await customer.ok("list_group_statuses", {"all": True}) == {"groups_status": {"0": "online"}}
    await set_hours(owner, ALWAYS_CLOSED)

    # the customer API
    assert await customer.ok("list_group_statuses", {"all": True}) == {"groups_status": {"0": "offline"}}
    r = await customer.http.get("/v3.6/customer/action/get_dynamic_configuration", params={"organization_id": org})
    assert r.status_code == 200 and r.json()["livechat"]["online_group_ids"] == []
    sock = await customer.rtm()
    try:
        assert sock.login["__priv_dynamic_config"]["online_groups_ids"] == []

        # the widget: the loader's visit and the frame's configuration (first asked now: no cached answer)
        visit = await customer.http.post(
            "/v1/widget/visit", headers={"Origin": ORIGIN, "Content-Type": "text/plain"},
            content=json.dumps({"type": "visit", "cfg": {"organization_id": org, "group": 0}, "url": f"{ORIGIN}/"}))
        assert visit.status_code == 200 and visit.json()["availability"] == "offline"
        frame = await customer.http.get("/v1/widget/config", params={"organization_id": org, "group_id": 0},
                                        headers={"Origin": ORIGIN})
        assert frame.status_code == 200 and frame.json()["visitor"]["online"] is False

        # a chat started anyway is kept as an offline message: not routed to the accepting agent, not queued
        started = await customer.ok("start_chat", {"chat": {"thread": {"events": [
            {"type": "message", "text": "anyone there?"}]}}})
        chat = await customer.ok("get_chat", {"chat_id": started["chat_id"]})
        assert chat["thread"]["active"] is False and "queue" not in chat["thread"]
        assert [u["id"] for u in chat["users"]] == [customer.id]
        assert [e["text"] for e in chat["thread"]["events"] if e["type"] == "message"] == ["anyone there?"]
        active = await agent.ok("list_chats", {"filters": {"active": True}})
        assert started["chat_id"] not in [c["id"] for c in active["chats_summary"]]
        # resuming it outside the hours does not route it either
        await customer.ok("resume_chat", {"chat": {"id": started["chat_id"]}, "active": True})
        chat = await customer.ok("get_chat", {"chat_id": started["chat_id"]})
        assert chat["thread"]["active"] is False and [u["id"] for u in chat["users"]] == [customer.id]

        # hours removed: the same agent gets the next chat
        await set_hours(owner, None)
        assert await customer.ok("list_group_statuses", {"all": True}) == {"groups_status": {"0": "online"}}
        routed = await customer.ok("start_chat")
        chat = await customer.ok("get_chat", {"chat_id": routed["chat_id"]})
        assert chat["thread"]["active"] is True and agent.id in [u["id"] for u in chat["users"]]
    finally:
        await sock.close()


async def test_an_agent_cannot_transfer_a_chat_to_a_group_outside_its_hours(team):
    owner, agent, customer = team
    r = await configure(owner, "create_group", {"name": "Night shift", "agent_priorities": {agent.id: "normal"}})
    night = r.json()["id"]
    await set_hours(owner, ALWAYS_CLOSED, group_id=night)
    await agent.ok("set_routing_status", {"status": "accepting_chats"})
    chat_id = (await customer.ok("start_chat"))["chat_id"]
    assert agent.id in [u["id"] for u in (await customer.ok("get_chat", {"chat_id": chat_id}))["users"]]
    r = await agent.call("transfer_chat", {"id": chat_id, "target": {"type": "group", "ids": [night]}})
    assert r.status_code == 400 and r.json()["error"]["type"] == "group_offline", r.text
    assert agent.id in [u["id"] for u in (await customer.ok("get_chat", {"chat_id": chat_id}))["users"]]
    await set_hours(owner, None, group_id=night)
    await agent.ok("transfer_chat", {"id": chat_id, "target": {"type": "group", "ids": [night]}})


# --- groups_status_updated ---------------------------------------------------------------------------------------------


async def test_customers_hear_when_agents_make_a_group_available_or_not(server, server2, team):
    owner, agent, customer = team
    here, there = await customer.rtm(), await customer.rtm(server2.url)
    try:
        await agent.ok("set_routing_status", {"status": "accepting_chats"})
        for sock in (here, there):
            assert (await sock.push("groups_status_updated"))["payload"] == {"groups": [{"id": 0, "status": "online"}]}
        await agent.ok("set_routing_status", {"status": "not_accepting_chats"})
        for sock in (here, there):
            assert (await sock.push("groups_status_updated"))["payload"] == {"groups": [{"id": 0, "status": "offline"}]}
        # closing hours on a group nobody accepts chats in changes nothing customers were told
        await set_hours(owner, ALWAYS_CLOSED)
        await agent.ok("set_routing_status", {"status": "accepting_chats"})
        await here.no_push("groups_status_updated", wait=1.0)
    finally:
        await here.close()
        await there.close()


async def _local_clock_with_room(tz: ZoneInfo, room: int) -> dt.datetime:
    """Now in ``tz``, at least ``room`` seconds before its midnight (waits past midnight if needed)."""
    now = dt.datetime.now(tz)
    left = 86400 - (now.hour * 3600 + now.minute * 60 + now.second)
    if left <= room:
        await asyncio.sleep(left + 1)
        now = dt.datetime.now(tz)
    return now


async def test_the_clock_opening_and_closing_a_group_reaches_connected_customers_once(server, server2, team):
    """Two servers on one Valkey both run the business-hours timer: each transition is pushed once per socket."""
    owner, agent, customer = team
    tz = ZoneInfo("Pacific/Kiritimati")  # UTC+14: the hours are read in their zone, not the server's
    await agent.ok("set_routing_status", {"status": "accepting_chats"})
    here, there = await customer.rtm(), await customer.rtm(server2.url)
    try:
        now = await _local_clock_with_room(tz, 30)
        day = now.strftime("%A").lower()
        opens, closes = now + dt.timedelta(seconds=3), now + dt.timedelta(seconds=5)
        await set_hours(owner, {"timezone": tz.key, "weekly": [
            {"day": day, "open": opens.strftime("%H:%M:%S"), "close": closes.strftime("%H:%M:%S")}]})
        seen = {id(sock): [] for sock in (here, there)}
        for sock in (here, there):
            # saved while closed (offline at once), then the clock opens the group and closes it again
            for _ in range(3):
                frame = await sock.push("groups_status_updated", timeout=15)
                seen[id(sock)].append(frame["payload"]["groups"])
        expected = [[{"id": 0, "status": s}] for s in ("offline", "online", "offline")]
        assert seen[id(here)] == expected and seen[id(there)] == expected
        assert await customer.ok("list_group_statuses", {"all": True}) == {"groups_status": {"0": "offline"}}
        await here.no_push("groups_status_updated", wait=1.5)
        await there.no_push("groups_status_updated", wait=0.1)
    finally:
        await here.close()
        await there.close()


async def test_a_transition_scheduled_before_a_restart_is_pushed_after_it(tmp_path):
    """The next opening time lives in Valkey: a server started after the one that saw the hours saved opens the group
    on time (a Valkey of the test's own, so no other server's timer can do it)."""
    store = start_valkey()
    valkey = connect(store.connection_url)
    creds = await create_license(valkey, f"owner-{secrets.token_hex(4)}@example.com", "pw")
    org = creds["organization_id"]
    first = LiveServer(tmp_path / "first", store.connection_url).start()
    second = None
    owner = AgentClient(first.url, creds["owner"]["account_id"], creds["owner"]["personal_access_token"])
    try:
        agent = AgentClient(first.url, creds["agent"]["account_id"], creds["agent"]["personal_access_token"])
        await agent.ok("set_routing_status", {"status": "accepting_chats"})
        await agent.aclose()
        now = await _local_clock_with_room(ZoneInfo("UTC"), 60)
        opens = now + dt.timedelta(seconds=15)
        await set_hours(owner, {"timezone": "UTC", "weekly": [
            {"day": now.strftime("%A").lower(), "open": opens.strftime("%H:%M:%S"), "close": "24:00"}]})
        assert json.loads(await valkey.get(keys.group_statuses(org))) == {"0": "offline"}
        first.stop()

        second = LiveServer(tmp_path / "second", store.connection_url).start()
        customer = await CustomerClient(second.url, org).authorize()
        sock = await customer.rtm()
        try:
            assert sock.login["__priv_dynamic_config"]["online_groups_ids"] == []  # still before the opening
            pushed = await sock.push("groups_status_updated", timeout=40)
            assert pushed["payload"] == {"groups": [{"id": 0, "status": "online"}]}
            assert await customer.ok("list_group_statuses", {"all": True}) == {"groups_status": {"0": "online"}}
            # and the next transition (the day's end) is scheduled
            due = await valkey.zscore(keys.HOURS_DUE, org)
            midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
            assert due == midnight.timestamp() * 1000
        finally:
            await sock.close()
            await customer.aclose()
    finally:
        await owner.aclose()
        first.stop()
        if second is not None:
            second.stop()
        await valkey.aclose()
        store.stop()


# --- the wizard --------------------------------------------------------------------------------------------------------


async def test_owner_edits_a_groups_hours_in_the_wizard(valkey, server):
    owner = await make_owner(valkey, server.url)
    try:
        assert (await owner.sign_in()).status_code == 303
        page = await owner.http.get("/wizard/hours")
        assert page.status_code == 200
        values = read_form(page.text, "hours")
        assert values["group_id"] == "0" and values["timezone"] == "UTC" and "enabled" not in values

        bad = {**values, "enabled": "on", "timezone": "Europe/Nowhere", "monday": "9-17",
               "tuesday": "17:00-09:00", "exceptions": "2026-12-24 closed\nnot a date"}
        r = await owner.http.post("/wizard/hours", data=bad)
        assert r.status_code == 400
        assert "time zone name" in field_error(r.text, "timezone")
        assert "not a time range" in field_error(r.text, "monday")
        assert "after the opening time" in field_error(r.text, "tuesday")
        assert "Line 2" in field_error(r.text, "exceptions")
        assert field_error(r.text, "wednesday") == ""
        assert read_form(r.text, "hours")["monday"] == "9-17"  # what was typed stays, to be corrected
        assert await saved_hours(owner, server) is None  # nothing saved

        good = {**values, "enabled": "on", "timezone": "Europe/Warsaw", "monday": "09:00-12:30, 13:30-17:00",
                "friday": "10:00-16:00", "exceptions": "2026-12-24 closed\n2026-12-31 09:00-13:00"}
        r = await owner.http.post("/wizard/hours", data=good)
        assert r.status_code == 303 and r.headers["location"] == "/wizard/hours?group=0&saved=1"
        assert await saved_hours(owner, server) == {"timezone": "Europe/Warsaw", "weekly": [
            {"open": "09:00", "close": "12:30", "day": "monday"}, {"open": "13:30", "close": "17:00", "day": "monday"},
            {"open": "10:00", "close": "16:00", "day": "friday"}], "exceptions": [
            {"date": "2026-12-24", "ranges": []}, {"date": "2026-12-31", "ranges": [{"open": "09:00", "close": "13:00"}]}]}
        again = read_form((await owner.http.get("/wizard/hours?group=0")).text, "hours")
        assert again["enabled"] == "on" and again["timezone"] == "Europe/Warsaw"
        assert again["monday"] == "09:00-12:30, 13:30-17:00" and again["tuesday"] == ""
        assert again["exceptions"] == "2026-12-24 closed\n2026-12-31 09:00-13:00"

        # unticked and emptied: the group has no hours again
        r = await owner.http.post("/wizard/hours", data={"csrf": values["csrf"], "group_id": "0", "timezone": "UTC"})
        assert r.status_code == 303
        assert await saved_hours(owner, server) is None
        assert (await owner.http.get("/wizard/hours?group=9")).status_code == 404
        r = await owner.http.post("/wizard/hours", data={**good, "csrf": "forged"})
        assert r.status_code == 403
    finally:
        await owner.aclose()


async def saved_hours(owner, server) -> dict | None:
    """The group 0 hours as the Configuration API reads them, with the wizard owner's personal access token."""
    api = AgentClient(server.url, owner.email, owner.token)
    try:
        r = await configure(api, "get_group_business_hours", {"group_id": 0})
        assert r.status_code == 200, r.text
        return r.json()["business_hours"]
    finally:
        await api.aclose()
