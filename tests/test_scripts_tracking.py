"""The tracking scripts (``tracking/tracker.py``, ``tracking/index.py``) with their KEYS and ARGV on the session's real
Valkey: the layout they write and read, and the races they exist to prevent."""

from __future__ import annotations

import asyncio
import secrets
import struct
import time
import uuid

import msgspec

from widget_server import keys
from widget_server.core import scripts
from widget_server.tracking.tracker import RECORD, RECORD_SIZE, pack_visitor_id, utc_day

PER, RETENTION, SLOT, PAGES = 4, 86400, 60, 2
SETTINGS = dict(PER=PER, GAP=1800, RETENTION=RETENTION, SLOT=SLOT, BITMAP_TTL=210, DAY_TTL=3600, PAGES=PAGES)
# close to the real time, on a minute boundary: the live servers' sweepers on the same Valkey leave these records be
T0 = int(time.time()) // SLOT * SLOT


class Visitors:
    """A license of its own and the track_activity script called as the tracker calls it (identity bucket 0)."""

    def __init__(self, valkey) -> None:
        self.r = valkey
        self.org = f"s{secrets.token_hex(6)}"
        self.script = scripts.register(valkey, "track_activity", **SETTINGS)

    def track(self, vid: str, mode: str = "view", now: int = T0, url: str = "https://shop.example/",
              user_agent: str = "", invitation_of: str = "", wall: int | None = None):
        visit = msgspec.json.encode({"ua": f"{now // RETENTION}.d1"} if user_agent else {})
        return self.script(keys=[keys.tracking_ids(self.org, 0)],
                           args=[mode, pack_visitor_id(vid), now, utc_day(now), visit,
                                 msgspec.json.encode((now, url, "")), user_agent, "d1" if user_agent else "",
                                 invitation_of, int(time.time()) if wall is None else wall])

    def records_args(self) -> list:
        return [keys.tracking_records_prefix(self.org), PER]


def _vid() -> str:
    return str(uuid.uuid4())


async def test_track_activity_records_a_page_view_in_the_licenses_keys_only(valkey):
    """One call writes the record, the visit, the online bitmap, the counters and the interned user agent, all named
    from the identity bucket's hash tag: the one slot a cluster runs the script on."""
    v = Visitors(valkey)
    vid = _vid()
    first = await v.track(vid, user_agent="Mozilla/5.0")
    assert first == [0, 1, T0, T0, T0, 1, 1, 0, 0, 0, b""]
    second = await v.track(vid, now=T0 + 10, url="https://shop.example/b")
    assert second == [0, 0, T0, T0 + 10, T0, 2, 1, 0, T0, 0, b""]

    day, org = utc_day(T0), v.org
    assert {k async for k in valkey.scan_iter(match=f"*{org}*")} == {k.encode() for k in (
        keys.tracking_ids(org, 0), keys.tracking_seq(org), keys.tracking_records(org, 0), keys.tracking_visit(org, 0),
        keys.tracking_user_agents(org, T0 // RETENTION), keys.tracking_online(org, T0 // SLOT),
        keys.tracking_day(org, day), keys.tracking_uniques(org, day))}
    rec = await valkey.hget(keys.tracking_records(org, 0), 0)
    assert struct.unpack(RECORD, rec[:RECORD_SIZE]) == (T0, T0 + 10, T0, 2, 1, 0)
    assert rec[RECORD_SIZE:] == pack_visitor_id(vid)
    assert await valkey.hget(keys.tracking_user_agents(org, T0 // RETENTION), "d1") == b"Mozilla/5.0"
    assert await valkey.getbit(keys.tracking_online(org, T0 // SLOT), 0) == 1
    assert await valkey.hgetall(keys.tracking_day(org, day)) == {
        b"v" + str(T0 // 3600 % 24).encode(): b"1", b"visits": b"1", b"page_views": b"2",
        b"p" + str(T0 // 3600 % 24).encode(): b"2"}

    await v.track(vid, now=T0 + 20, url="https://shop.example/c")  # PAGES = 2: the oldest page goes
    visit = await valkey.lrange(keys.tracking_visit(org, 0), 0, -1)
    assert visit[0].startswith(b'{"ua"') and [msgspec.json.decode(p)[1] for p in visit[1:]] == [
        "https://shop.example/b", "https://shop.example/c"]


async def test_track_activity_gives_each_visitor_one_dense_id_under_concurrent_first_views(valkey):
    """A visitor's first page views arriving at once on several workers make one visitor, not several; visitors
    arriving together get distinct ids."""
    v = Visitors(valkey)
    same = _vid()
    replies = await asyncio.gather(*(v.track(same) for _ in range(10)), *(v.track(_vid()) for _ in range(10)))
    assert {r[0] for r in replies[:10]} == {0} and max(r[5] for r in replies[:10]) == 10
    assert sorted(r[0] for r in replies[10:]) == list(range(1, 11))
    assert await valkey.hlen(keys.tracking_ids(v.org, 0)) == 11


async def test_track_activity_refuses_a_banned_visitor_and_a_heartbeat_of_an_unknown_one(valkey):
    v = Visitors(valkey)
    vid = _vid()
    assert await v.track(vid, mode="beat") is None  # never seen: nothing to keep online
    await valkey.hset(keys.tracking_bans(v.org), pack_visitor_id(vid), 5000)
    assert await v.track(vid, wall=4999) == [-1, b"5000"]
    assert await valkey.exists(keys.tracking_ids(v.org, 0)) == 0  # nothing recorded
    assert (await v.track(vid, wall=5001))[0] == 0  # the ban ended: dropped, and the view counts
    assert await valkey.hlen(keys.tracking_bans(v.org)) == 0


async def test_track_activity_hands_an_agents_invitation_to_one_heartbeat_and_reports_a_watch(valkey):
    """The loader's heartbeats from two tabs at once: the invitation opens the widget in one of them."""
    v = Visitors(valkey)
    vid = _vid()
    await v.track(vid)
    await valkey.set(keys.invitation(v.org, vid), "chat-1")
    await valkey.set(keys.tracking_watch(v.org), "1")
    replies = await asyncio.gather(*(v.track(vid, mode="beat", invitation_of=vid) for _ in range(2)))
    assert sorted(r[10] for r in replies) == [b"", b"chat-1"]
    assert {r[9] for r in replies} == {1}


async def test_read_visitor_returns_the_record_the_visit_and_its_user_agent(valkey):
    read = scripts.register(valkey, "read_visitor")
    v = Visitors(valkey)
    vid = _vid()
    await v.track(vid, user_agent="Mozilla/5.0")
    args = [keys.tracking_records_prefix(v.org), keys.tracking_visit_prefix(v.org), PER,
            keys.tracking_user_agents_prefix(v.org)]
    ids = [keys.tracking_ids(v.org, 0)]
    dense_id, rec, items, user_agent = await read(keys=ids, args=[pack_visitor_id(vid), *args])
    assert (dense_id, rec[RECORD_SIZE:], len(items), user_agent) == (0, pack_visitor_id(vid), 2, b"Mozilla/5.0")
    assert await read(keys=ids, args=[pack_visitor_id(_vid()), *args]) is None


async def test_list_online_pages_through_the_online_visitors_and_leaves_no_scratch_key(valkey):
    online = scripts.register(valkey, "list_online")
    v = Visitors(valkey)
    vids = [_vid() for _ in range(3)]
    for vid in vids:
        await v.track(vid)
    k = [keys.tracking_online_union(v.org), keys.tracking_online(v.org, T0 // SLOT - 1),
         keys.tracking_online(v.org, T0 // SLOT)]
    total, cursor, *recs = await online(keys=k, args=[0, 2, *v.records_args()])
    assert (total, cursor, [r[RECORD_SIZE:] for r in recs]) == (3, 2, [pack_visitor_id(x) for x in vids[:2]])
    third = await valkey.hget(keys.tracking_records(v.org, 0), 2)
    assert await online(keys=k, args=[cursor, 2, *v.records_args()]) == [3, -1, third]
    assert await valkey.exists(keys.tracking_online_union(v.org)) == 0


async def test_sweep_visitors_forgets_visitors_past_retention_once_and_frees_their_ids(valkey):
    """Sweepers of several workers on one bucket at once: a stale visitor is removed and its id freed once (a free
    id listed twice would give two new visitors one record)."""
    sweep = scripts.register(valkey, "sweep_visitors")
    v = Visitors(valkey)
    stale, fresh = _vid(), _vid()
    await v.track(stale, now=T0 - RETENTION - 10)
    await v.track(fresh)
    org = v.org
    k = [keys.tracking_ids(org, 0), keys.tracking_free_ids(org)]
    args = [T0, RETENTION, keys.tracking_records_prefix(org), keys.tracking_visit_prefix(org), PER]
    assert sorted(await asyncio.gather(*(sweep(keys=k, args=args) for _ in range(3)))) == [0, 0, 1]
    assert await valkey.hkeys(keys.tracking_ids(org, 0)) == [pack_visitor_id(fresh)]
    assert await valkey.hkeys(keys.tracking_records(org, 0)) == [b"1"]
    assert await valkey.exists(keys.tracking_visit(org, 0)) == 0
    assert await valkey.lrange(keys.tracking_free_ids(org), 0, -1) == [b"0"]
    assert (await v.track(_vid()))[0] == 0  # the next new visitor reuses the freed id


async def test_scan_visitors_walks_dense_ids_either_way_over_all_or_the_online_ones(valkey):
    scan = scripts.register(valkey, "scan_visitors")
    v = Visitors(valkey)
    vids = [_vid() for _ in range(5)]
    for i, vid in enumerate(vids):  # 0 and 2 were here ten minutes ago, the others are online now
        await v.track(vid, now=T0 - 600 if i in (0, 2) else T0)
    org = v.org
    base = [keys.tracking_seq(org), keys.tracking_free_ids(org), keys.tracking_scratch(org, 0)]
    now_slot = [keys.tracking_online(org, T0 // SLOT)]

    def ids(reply) -> list[int]:
        return reply[2::2]

    every = await scan(keys=base, args=["all", 0, 1, 2, *v.records_args()])
    assert every[:2] == [2, 5] and ids(every) == [0, 1]
    assert every[3][RECORD_SIZE:] == pack_visitor_id(vids[0])
    backwards = await scan(keys=base, args=["all", 99, -1, 2, *v.records_args()])
    assert backwards[:2] == [2, 5] and ids(backwards) == [4, 3]
    online = await scan(keys=[*base, *now_slot], args=["online", 0, 1, 10, *v.records_args()])
    assert online[:2] == [-1, 3] and ids(online) == [1, 3, 4]
    online_back = await scan(keys=[*base, *now_slot], args=["online", 99, -1, 2, *v.records_args()])
    assert online_back[:2] == [1, 3] and ids(online_back) == [4, 3]
    assert await valkey.exists(keys.tracking_scratch(org, 0)) == 0


async def test_visitor_departures_lists_who_left_since_the_last_slot_and_keeps_the_watch(valkey):
    departures = scripts.register(valkey, "visitor_departures")
    v = Visitors(valkey)
    gone, stays, other = _vid(), _vid(), _vid()
    await v.track(gone, now=T0 - SLOT)
    await v.track(other, now=T0 - SLOT)
    await v.track(stays, now=T0 - SLOT)
    await v.track(stays, now=T0)
    org = v.org
    scratch = [keys.tracking_watch(org), *(keys.tracking_scratch(org, n) for n in (1, 2, 3))]
    current, previous = [keys.tracking_online(org, T0 // SLOT)], [keys.tracking_online(org, T0 // SLOT - 1)]
    both = [*scratch, *current, *previous]
    online, overflow, *left = await departures(keys=both, args=[1, 1, 30, 10, *v.records_args()])
    assert (online, overflow, sorted(r[RECORD_SIZE:] for r in left)) == (
        1, 0, sorted([pack_visitor_id(gone), pack_visitor_id(other)]))
    assert 0 < await valkey.ttl(keys.tracking_watch(org)) <= 30
    assert (await departures(keys=both, args=[1, 1, 30, 1, *v.records_args()]))[:2] == [1, 1]  # more left than wanted
    assert await departures(keys=[*scratch, *current], args=[1, 0, 30, 10, *v.records_args()]) == [1, 0]
    assert await valkey.exists(*scratch[1:]) == 0
