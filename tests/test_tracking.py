"""Visitor tracking: the Tracker on the session's real Valkey with a clock the test moves, and the loader's
``/v1/track`` endpoint and the Customer API through the live server."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid

import pytest

from tests.support import CustomerClient
from widget_server import keys
from widget_server.protocol.errors import ApiError
from widget_server.tracking import Tracker
from widget_server.tracking.tracker import pack_visitor_id, unpack_visitor_id

from .conftest import new_license

DAY = 86400
# A minute past today's midnight (UTC): a minute boundary, so "a minute later" is exact, early in a day, so tests that
# move an hour on count in one day, and close to the real time: live servers on the same Valkey run the real sweeper,
# which would reclaim records stamped long ago as past retention in the middle of a test.
T0 = int(time.time()) // DAY * DAY + 60


class Clock:
    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: int) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tracker(valkey, clock) -> Tracker:
    return Tracker(valkey, clock=clock)


@pytest.fixture
def lic() -> str:
    """A license id of its own per test: the tracker needs no license record, only the hash tag."""
    return f"t{secrets.token_hex(6)}"


def visitor_ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


# --- the tracker --------------------------------------------------------------------------------------------------


async def test_page_views_update_the_record_the_online_index_and_the_counters(tracker, clock, lic):
    vid = str(uuid.uuid4())
    first = await tracker.page_view(lic, vid, "https://shop.example/", "Home", "https://search.example/?q=shoes",
                                    "Mozilla/5.0", "203.0.113.7")
    assert first.new_visit and first.statistics.page_views_count == 1 and first.statistics.visits_count == 1
    clock.advance(20)
    second = await tracker.page_view(lic, vid, "https://shop.example/shoes", "Shoes")
    assert not second.new_visit and second.dense_id == first.dense_id

    v = await tracker.visitor(lic, vid)
    assert v is not None and v.online
    assert (v.first_seen, v.last_seen) == (T0, T0 + 20)
    assert (v.statistics.visits_count, v.statistics.page_views_count, v.statistics.chats_count) == (1, 2, 0)
    assert (v.visit.started_at, v.visit.referrer, v.visit.user_agent, v.visit.ip) == (
        T0, "https://search.example/?q=shoes", "Mozilla/5.0", "203.0.113.7")
    assert [(p.url, p.title, p.opened_at) for p in v.last_pages] == [
        ("https://shop.example/", "Home", T0), ("https://shop.example/shoes", "Shoes", T0 + 20)]

    online = await tracker.online(lic)
    assert (online.total, online.visitor_ids, online.next_cursor) == (1, [vid], None)
    day = await tracker.counters(lic)
    assert (day.page_views, day.visits, day.chats, day.unique_visitors) == (2, 1, 0, 1)

    await tracker.chat_started(lic, vid)
    assert (await tracker.visitor(lic, vid)).statistics.chats_count == 1
    assert (await tracker.counters(lic)).chats == 1


async def test_a_visitor_goes_offline_after_the_online_window_unless_the_page_sends_heartbeats(tracker, clock, lic):
    leaving, staying = visitor_ids(2)
    clock.advance(30)
    for vid in (leaving, staying):
        await tracker.page_view(lic, vid, "https://shop.example/", None)
    clock.advance(tracker.online_seconds)  # 60 s later: still within the window
    assert (await tracker.online(lic)).total == 2
    assert await tracker.heartbeat(lic, staying) is not None
    clock.advance(60)  # the window (and the minute it is rounded to) has passed for the one who left
    page = await tracker.online(lic)
    assert (page.total, page.visitor_ids) == (1, [staying])
    assert not (await tracker.visitor(lic, leaving)).online
    # a heartbeat never creates a visitor: the loader is told to send a page view instead
    assert await tracker.heartbeat(lic, str(uuid.uuid4())) is None
    assert (await tracker.online(lic)).total == 1


async def test_a_new_visit_starts_after_30_minutes_of_inactivity(tracker, clock, lic):
    vid = str(uuid.uuid4())
    await tracker.page_view(lic, vid, "https://shop.example/a", "A", "https://ads.example/")
    clock.advance(29 * 60)
    assert not (await tracker.page_view(lic, vid, "https://shop.example/b", "B")).new_visit
    clock.advance(30 * 60 + 1)
    again = await tracker.page_view(lic, vid, "https://shop.example/c", "C", "https://mail.example/")
    assert again.new_visit and again.visit_started == clock.now
    v = await tracker.visitor(lic, vid)
    assert (v.statistics.visits_count, v.statistics.page_views_count) == (2, 3)
    assert v.first_seen == T0 and v.visit.referrer == "https://mail.example/"
    assert [p.url for p in v.last_pages] == ["https://shop.example/c"]  # only the current visit's pages
    assert (await tracker.counters(lic)).visits == 2


async def test_the_pages_of_a_visit_are_bounded(tracker, clock, lic):
    vid = str(uuid.uuid4())
    for i in range(tracker.pages_per_visit + 5):
        clock.advance(1)
        await tracker.page_view(lic, vid, f"https://shop.example/{i}", f"Page {i}", "https://ref.example/")
    v = await tracker.visitor(lic, vid)
    assert [p.url for p in v.last_pages] == [f"https://shop.example/{i}" for i in range(5, tracker.pages_per_visit + 5)]
    assert v.visit.referrer == "https://ref.example/" and v.statistics.page_views_count == tracker.pages_per_visit + 5


async def test_user_agents_are_interned_once_per_license_and_period(tracker, clock, valkey, lic):
    ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0"
    a, b, c = visitor_ids(3)
    ids = [(await tracker.page_view(lic, vid, "https://shop.example/", "Home", None, ua, "203.0.113.7")).dense_id
           for vid in (a, b)]
    await tracker.touch(lic, c, user_agent="curl/8.5")
    period = keys.tracking_user_agents(lic, T0 // tracker.retention)
    assert sorted(await valkey.hvals(period)) == [b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                                                  b"(KHTML, like Gecko) Chrome/131.0.0.0", b"curl/8.5"]
    assert 2 * tracker.retention < await valkey.ttl(period) <= 3 * tracker.retention
    details = await valkey.lindex(keys.tracking_visit(lic, ids[0]), 0)
    assert ua.encode() not in details and b'"ua":' in details
    first = await tracker.visitor(lic, a)
    assert [v.visit.user_agent for v in await tracker.visitors(lic, [a, b, c])] == [ua, ua, "curl/8.5"]
    assert (first.visit.user_agent, first.visit.ip) == (ua, "203.0.113.7")

    # details written before interning (the string inline) read the same; a string gone reads as none
    await valkey.lset(keys.tracking_visit(lic, ids[0]), 0, b'{"user_agent":"Old/1.0","ip":"198.51.100.1"}')
    await valkey.delete(period)
    assert [v.visit.user_agent for v in await tracker.visitors(lic, [a, b])] == ["Old/1.0", ""]


async def test_visitors_expire_after_retention_and_the_sweep_reclaims_them(tracker, clock, valkey, lic):
    gone, back, kept = visitor_ids(3)
    for vid in (gone, back):
        await tracker.page_view(lic, vid, "https://shop.example/", None)
    clock.advance(20 * DAY)
    kept_id = (await tracker.page_view(lic, kept, "https://shop.example/", None)).dense_id
    clock.advance(10 * DAY + 1)  # 30 days and a second since gone and back were last seen

    # expiry is exact before any sweep: the records read as absent, and a returning visitor starts over
    assert await tracker.visitor(lic, gone) is None
    assert await tracker.heartbeat(lic, gone) is None
    returned = await tracker.page_view(lic, back, "https://shop.example/again", None)
    assert returned.new_visit and returned.first_seen == clock.now
    assert (returned.statistics.visits_count, returned.statistics.page_views_count) == (1, 1)

    gone_id = int(await valkey.hget(keys.tracking_ids(lic, tracker.id_bucket(pack_visitor_id(gone))),
                                    pack_visitor_id(gone)))
    removed, next_bucket = await tracker.sweep(lic)
    assert (removed, next_bucket) == (1, 0)
    assert await valkey.hget(keys.tracking_ids(lic, tracker.id_bucket(pack_visitor_id(gone))),
                             pack_visitor_id(gone)) is None
    assert not await valkey.exists(keys.tracking_visit(lic, gone_id))
    assert await tracker.visitor(lic, kept) is not None and (await tracker.visitor(lic, back)) is not None
    assert (await tracker.sweep(lic))[0] == 0  # idempotent

    # the freed dense id goes to the next new visitor, so the id space (and the online bitmaps) stay dense
    newcomer = await tracker.page_view(lic, str(uuid.uuid4()), "https://shop.example/", None)
    assert newcomer.dense_id == gone_id != kept_id
    # a sweep in slices (as the background sweeper runs it) covers every bucket once per pass
    clock.advance(30 * DAY + 1)
    half = tracker.id_buckets // 2
    removed_first, cursor = await tracker.sweep(lic, start=0, count=half)
    assert cursor == half
    removed_second, cursor = await tracker.sweep(lic, start=cursor, count=half)
    assert (removed_first + removed_second, cursor) == (3, 0)  # kept, back and the newcomer
    assert await valkey.llen(keys.tracking_free_ids(lic)) == 3


async def test_unique_visitors_per_day_come_from_hyperloglog(tracker, clock, lic):
    first_day = visitor_ids(3)
    for _ in range(3):
        for vid in first_day:
            await tracker.page_view(lic, vid, "https://shop.example/", None)
            clock.advance(1)
    day1 = await tracker.counters(lic)
    clock.advance(DAY)
    for vid in first_day[:1] + visitor_ids(1):
        await tracker.page_view(lic, vid, "https://shop.example/", None)
    day2 = await tracker.counters(lic)
    assert day1.day != day2.day
    assert (day1.page_views, day1.visits, day1.unique_visitors) == (9, 3, 3)
    assert (day2.page_views, day2.visits, day2.unique_visitors) == (2, 2, 2)
    assert (await tracker.counters(lic, day1.day)).unique_visitors == 3
    assert (await tracker.counters(lic, "1999-01-01")).page_views == 0


async def test_another_license_never_sees_a_license_s_visitors(tracker, lic):
    other = f"t{secrets.token_hex(6)}"
    vid = str(uuid.uuid4())
    await tracker.page_view(lic, vid, "https://shop.example/", None)
    assert await tracker.visitor(other, vid) is None
    assert (await tracker.online(other)).total == 0
    assert (await tracker.counters(other)).page_views == 0
    assert await tracker.heartbeat(other, vid) is None
    # the same visitor id in another license is another visitor
    assert (await tracker.page_view(other, vid, "https://other.example/", None)).statistics.page_views_count == 1
    assert (await tracker.visitor(lic, vid)).last_pages[0].url == "https://shop.example/"


async def test_thousands_of_visitors_are_counted_and_listed_online(tracker, clock, lic):
    ids = visitor_ids(5000)
    for i in range(0, len(ids), 1000):
        await tracker.page_views(lic, [(vid, "https://shop.example/", "Home") for vid in ids[i:i + 1000]])
    first = await tracker.online(lic, limit=1000)
    assert first.total == 5000 and len(first.visitor_ids) == 1000
    seen, cursor = set(first.visitor_ids), first.next_cursor
    while cursor is not None:
        page = await tracker.online(lic, cursor=cursor, limit=1000)
        seen.update(page.visitor_ids)
        cursor = page.next_cursor
    assert seen == set(ids)

    clock.advance(tracker.online_seconds + 60)
    assert (await tracker.online(lic)).total == 0
    for vid in ids[:2500]:
        await tracker.heartbeat(lic, vid)
    page = await tracker.online(lic, limit=10)
    assert page.total == 2500 and set(page.visitor_ids) <= set(ids[:2500])
    day = await tracker.counters(lic)
    assert day.page_views == 5000 and abs(day.unique_visitors - 5000) <= 5000 * 0.02


async def test_a_banned_visitor_is_refused_in_the_same_round_trip_and_not_recorded(tracker, clock, lic):
    vid, other = visitor_ids(2)
    await tracker.page_view(lic, vid, "https://shop.example/")
    await tracker.ban(lic, vid, int(time.time()) + 3600)
    for refused in (tracker.page_view(lic, vid, "https://shop.example/again"), tracker.heartbeat(lic, vid)):
        with pytest.raises(ApiError) as caught:
            await refused
        assert caught.value.type == "customer_banned" and caught.value.data["until"] > time.time()
    assert (await tracker.visitor(lic, vid)).statistics.page_views_count == 1
    assert (await tracker.page_view(lic, other, "https://shop.example/")).statistics.page_views_count == 1

    await tracker.ban(lic, vid, int(time.time()) - 1)  # a ban that has ended counts for nothing and is dropped
    assert (await tracker.page_view(lic, vid, "https://shop.example/back")).statistics.page_views_count == 2
    assert await tracker.r.hlen(keys.tracking_bans(lic)) == 0


async def test_a_heartbeat_takes_an_agent_s_invitation_only_when_asked(tracker, valkey, lic):
    vid = str(uuid.uuid4())
    await tracker.page_view(lic, vid, "https://shop.example/")
    await valkey.set(keys.invitation(lic, vid), "CHAT1")
    assert (await tracker.heartbeat(lic, vid)).invitation is None  # e.g. /v1/track's heartbeat: left for the loader
    assert (await tracker.heartbeat(lic, vid, take_invitation=True)).invitation == "CHAT1"
    assert await valkey.exists(keys.invitation(lic, vid)) == 0
    assert (await tracker.heartbeat(lic, vid, take_invitation=True)).invitation is None


async def test_concurrent_page_views_leave_together_and_each_gets_its_own_answer(tracker, clock, lic, monkeypatch):
    batches: list[int] = []
    send = tracker._calls._send

    async def counting(batch):
        batches.append(len(batch))
        await send(batch)

    monkeypatch.setattr(tracker._calls, "_send", counting)
    ids = visitor_ids(300)
    await tracker.page_view(lic, ids[0], "https://shop.example/")  # one alone leaves at once, from its caller
    assert batches == []
    # a burst of requests on one worker: one page view of every visitor, a second of the first 50
    views = [tracker.page_view(lic, vid, f"https://shop.example/{n}") for n, vid in enumerate(ids)]
    views += [tracker.page_view(lic, vid, "https://shop.example/more") for vid in ids[:50]]
    activities = await asyncio.gather(*views)
    # the first of the burst left at once, the other 349 behind it in a few pipelines, not 349 round trips
    assert sum(batches) == 349 and len(batches) < 10
    first, second = activities[:300], activities[300:]
    assert [a.statistics.page_views_count for a in first[1:]] == [1] * 299
    assert [a.statistics.page_views_count for a in second[1:]] == [2] * 49
    # (the first call left alone, the rest behind it at once: its visitor's two views may have run in either order)
    assert {first[0].statistics.page_views_count, second[0].statistics.page_views_count} == {2, 3}
    assert len({a.dense_id for a in first}) == 300
    assert [a.dense_id for a in second] == [a.dense_id for a in first[:50]]
    assert (await tracker.counters(lic)).page_views == 351

    # a caller that goes away does not disturb the others of its batch, and its page view is recorded all the same
    await tracker.ban(lic, ids[1], int(time.time()) + 60)
    lone = asyncio.ensure_future(tracker.page_view(lic, ids[4], "https://shop.example/lone"))  # leaves at once
    gone = asyncio.ensure_future(tracker.page_view(lic, ids[2], "https://shop.example/gone"))  # (these wait for it)
    banned = asyncio.ensure_future(tracker.page_view(lic, ids[1], "https://shop.example/banned"))
    fine = asyncio.ensure_future(tracker.page_view(lic, ids[3], "https://shop.example/fine"))
    await asyncio.sleep(0)
    gone.cancel()
    results = await asyncio.gather(gone, banned, fine, lone, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError)
    assert isinstance(results[1], ApiError) and results[1].type == "customer_banned"
    assert results[2].statistics.page_views_count == 3 and results[3].statistics.page_views_count == 3
    assert (await tracker.visitor(lic, ids[2])).statistics.page_views_count == 3


def test_the_tracking_script_names_the_keys_as_keys_py_does():
    """The page-view script derives a license's keys from the identity bucket it is given (fewer arguments per call):
    the names must stay those of ``keys.py``, which every other reader uses."""
    base = keys.tracking_ids("L", 7).removesuffix("id:7")
    assert (keys.tracking_seq("L"), keys.tracking_free_ids("L"), keys.tracking_records("L", 2),
            keys.tracking_visit("L", 5), keys.tracking_online("L", 9), keys.tracking_day("L", "2026-01-02"),
            keys.tracking_uniques("L", "2026-01-02"), keys.tracking_user_agents("L", 3), keys.tracking_watch("L"),
            keys.tracking_bans("L")) == tuple(base + k for k in (
        "seq", "free", "rec:2", "visit:5", "on:9", "day:2026-01-02", "uv:2026-01-02", "ua:3", "watch", "bans"))
    assert keys.invitation("L", "c1") == base.removesuffix("tr:") + "invite:c1"


def test_visitor_ids_pack_compactly_and_back():
    u = str(uuid.uuid4())
    assert len(pack_visitor_id(u)) == 16 and unpack_visitor_id(pack_visitor_id(u)) == u
    for other in ("x" * 16, "customer-42", u.upper(), "é" * 8):
        assert unpack_visitor_id(pack_visitor_id(other)) == other
    assert pack_visitor_id("x" * 16) != pack_visitor_id(u)


# --- through the server -------------------------------------------------------------------------------------------


@pytest.fixture
def live_tracker(valkey) -> Tracker:
    """Reads what the server's tracker wrote (same layout, the real clock)."""
    return Tracker(valkey)


async def track(customer: CustomerClient, body: dict, token: str | None = None):
    token = customer.token if token is None else token
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await customer.http.post("/v1/track", params={"organization_id": customer.org}, json=body, headers=headers)


async def test_the_loader_reports_page_views_and_heartbeats_over_http(customer, live_tracker):
    r = await track(customer, {"type": "heartbeat"})
    assert r.status_code == 200 and r.json() == {"tracked": False, "new_visit": False}
    r = await track(customer, {"type": "page_view", "url": "https://shop.example/", "title": "Home",
                               "referrer": "https://search.example/"})
    assert r.status_code == 200 and r.json() == {"tracked": True, "new_visit": True}
    assert (await track(customer, {"type": "heartbeat"})).json() == {"tracked": True, "new_visit": False}

    v = await live_tracker.visitor(customer.org, customer.id)
    assert v is not None and v.online and v.statistics.page_views_count == 1
    assert v.visit.referrer == "https://search.example/" and v.visit.ip == "127.0.0.1"
    assert v.visit.user_agent.startswith("python-httpx")
    assert [p.title for p in v.last_pages] == ["Home"]
    assert (await live_tracker.online(customer.org)).visitor_ids == [customer.id]
    assert (await live_tracker.counters(customer.org)).page_views == 1


async def test_send_beacon_carries_the_token_in_the_body(customer, live_tracker):
    r = await track(customer, {"type": "page_view", "url": "https://shop.example/", "token": customer.token}, token="")
    assert r.status_code == 200 and r.json()["tracked"]
    assert (await live_tracker.visitor(customer.org, customer.id)).statistics.page_views_count == 1


async def test_track_refuses_bad_requests_in_livechat_s_error_shape(customer, valkey):
    r = await track(customer, {"type": "page_view", "url": "https://shop.example/"}, token="")
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication"
    r = await track(customer, {"type": "scroll"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "validation"
    r = await track(customer, {"type": "page_view"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "validation"
    r = await customer.http.post("/v1/track", params={"organization_id": customer.org}, content=b"{not json",
                                 headers={"Authorization": f"Bearer {customer.token}"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "validation"
    # a token of one license is no good for another
    other = await new_license(valkey)
    r = await customer.http.post("/v1/track", params={"organization_id": other}, json={"type": "heartbeat"},
                                 headers={"Authorization": f"Bearer {customer.token}"})
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication"


async def test_customer_api_page_updates_login_and_chats_are_tracked(server, org, live_tracker):
    customer = await CustomerClient(server.url, org).authorize()
    try:
        sock = await customer.rtm(customer_page={"url": "https://shop.example/", "title": "Home"})
        try:
            assert sock.login["customer"]["statistics"]["page_views_count"] == 1
            assert sock.login["customer"]["statistics"]["visits_count"] == 1
            reply = await sock.request("update_customer_page", {"url": "https://shop.example/cart", "title": "Cart"})
            assert reply["success"], reply
        finally:
            await sock.close()
        await customer.ok("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": "hi"}]}}})
        v = await live_tracker.visitor(org, customer.id)
        assert v is not None
        assert (v.statistics.visits_count, v.statistics.page_views_count, v.statistics.chats_count) == (1, 2, 1)
        assert [p.url for p in v.last_pages] == ["https://shop.example/", "https://shop.example/cart"]
        # a second login within the visit is not a new visit; its statistics come from the tracker
        sock = await customer.rtm()
        try:
            stats = sock.login["customer"]["statistics"]
            assert (stats["visits_count"], stats["page_views_count"], stats["chats_count"]) == (1, 2, 1)
        finally:
            await sock.close()
    finally:
        await customer.aclose()


async def test_the_background_sweeper_reclaims_every_tracked_license(valkey, clock, lic):
    tracker = Tracker(valkey, clock=clock, id_buckets=64)
    ids = visitor_ids(200)
    await tracker.page_views(lic, [(vid, "https://shop.example/", None) for vid in ids])
    clock.advance(30 * DAY + 1)
    task = asyncio.create_task(tracker.run_sweeper(interval=0.001, buckets_per_round=16))
    try:
        for _ in range(500):  # a full pass is 4 rounds of 16 buckets
            if await valkey.llen(keys.tracking_free_ids(lic)) == 200:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
    assert await valkey.llen(keys.tracking_free_ids(lic)) == 200
    assert not await valkey.exists(*(keys.tracking_ids(lic, b) for b in range(64)))
