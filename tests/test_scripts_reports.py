"""The report counters' scripts (``core/reports.py``), each called with its KEYS and ARGV on the session's real
Valkey: a thread counted once however often it is archived, a rating counted once however often it is set or changed,
and availability split over the hours it spans."""

from __future__ import annotations

import json
import secrets

from widget_server import keys
from widget_server.core import scripts
from widget_server.core.reports import HOUR_MS, Reports, ThreadFacts, frt_bin


def _org() -> str:
    return f"rep{secrets.token_hex(6)}"


async def _bucket(valkey, org: str, hour: int) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in (await valkey.hgetall(keys.report_hour(org, hour))).items()}


async def test_a_thread_archived_again_is_counted_once(valkey):
    """The repair pass or a re-index archives a thread again: its ZADD adds nothing, so nothing is counted twice."""
    org, reports = _org(), Reports(valkey, retention_days=2)
    add = scripts.register(valkey, "archive_add")
    start = 1_800_000_000_000
    facts = ThreadFacts(start_ms=start, closed_ms=start + 90_000, group=3, agents=["ann@x.example"],
                        asked_ms=start, answered_ms=start + 12_000)
    for _ in range(3):
        await add(keys=[keys.org_archives(org), keys.archive_index(org, "c", "cust")],
                  args=["chat1 thread1", start + 90_000, *reports.archive_args(facts)])
    hour = start // HOUR_MS
    counts = await _bucket(valkey, org, hour)
    bin_ = f"frt_b{frt_bin(12)}"
    assert counts["ended"] == 1 and counts["dur_sum"] == 90 and counts["frt_n"] == 1 and counts["frt_sum"] == 12
    assert counts[bin_] == 1 and counts["g:3:ended"] == 1 and counts["a:ann@x.example:chats"] == 1
    assert counts["adur_sum"] == 78 and "missed" not in counts
    # the bucket expires the retention after its hour
    assert await valkey.expiretime(keys.report_hour(org, hour)) == (hour + 1) * 3600 + 2 * 86400
    # a thread nobody answered is a missed chat (for the agent it reached too)
    missed = ThreadFacts(start_ms=start, closed_ms=start + 5000, group=3, agents=["ann@x.example"], asked_ms=start)
    await add(keys=[keys.org_archives(org)], args=["chat2 thread2", start + 5000, *reports.archive_args(missed)])
    counts = await _bucket(valkey, org, hour)
    assert counts["missed"] == 1 and counts["g:3:missed"] == 1 and counts["a:ann@x.example:missed"] == 1
    assert counts["frt_n"] == 1 and counts["ended"] == 2


async def test_a_rating_set_again_or_changed_moves_the_counters_once(valkey):
    org, reports = _org(), Reports(valkey, retention_days=1)
    start = 1_800_000_000_000
    hour = start // HOUR_MS

    async def rate(rating: dict | None) -> None:
        await reports.rate(org, "thread1", start, 2, ["ann@x.example", "bob@x.example"], rating)

    await rate({"score": 1, "comment": "Nice <b>work</b>"})
    await rate({"score": 1, "comment": "Nice <b>work</b>"})  # a client resending its survey
    counts = await _bucket(valkey, org, hour)
    assert (counts["good"], counts["comments"], counts["g:2:good"], counts["a:bob@x.example:good"]) == (1, 1, 1, 1)
    [comment] = await reports.comments(org, 0, 2**62)  # kept once, as given (the page escapes it)
    assert comment["comment"] == "Nice <b>work</b>" and comment["score"] == 1 and comment["group"] == 2
    assert 0 < await valkey.ttl(keys.report_comments(org)) <= 86400  # a visitor's words expire too
    await rate({"score": 0})  # changed its mind, comment dropped
    counts = await _bucket(valkey, org, hour)
    assert (counts["good"], counts["bad"], counts["comments"], counts["a:ann@x.example:bad"]) == (0, 1, 0, 1)
    await rate(None)  # the rating deleted
    counts = await _bucket(valkey, org, hour)
    assert (counts["good"], counts["bad"], counts["comments"]) == (0, 0, 0)
    assert not await valkey.hexists(keys.report_rated(org, hour), "thread1")
    assert await valkey.expiretime(keys.report_hour(org, hour)) == (hour + 1) * 3600 + 86400


async def test_availability_is_split_over_the_hours_it_spans(valkey):
    """Two agents accept chats, overlapping: each one's time lands in the hours it spans, a group's and the license's
    is the time at least one of their agents accepted; setting the same status again changes nothing, and a group
    the agent left meanwhile is counted down as it was counted up."""
    org, reports = _org(), Reports(valkey, retention_days=1)
    await valkey.hset(keys.agents(org), mapping={
        "ann": json.dumps({"id": "ann", "groups": [{"id": 1, "priority": "normal"}]}),
        "bob": json.dumps({"id": "bob", "groups": [{"id": 1, "priority": "normal"}, {"id": 2, "priority": "last"}]})})
    h = 500_000  # an hour number
    t0 = h * HOUR_MS + 30 * 60_000  # hh:30
    await reports.set_status(org, "ann", "accepting_chats", t0)
    await reports.set_status(org, "ann", "accepting_chats", t0 + 60_000)  # again: still since t0
    await reports.set_status(org, "bob", "accepting_chats", t0 + HOUR_MS)
    # bob leaves group 2 while accepting: the group he was counted in still ends with him
    await valkey.hset(keys.agents(org), "bob", json.dumps({"id": "bob", "groups": []}))
    await reports.set_status(org, "ann", "not_accepting_chats", t0 + 90 * 60_000)  # (h+2):00
    assert await valkey.hget(keys.routing_status(org), "ann") == b"not_accepting_chats"
    await reports.set_status(org, "bob", "offline", t0 + 150 * 60_000)  # (h+3):00
    first, second, third = [await _bucket(valkey, org, h + i) for i in range(3)]
    assert first["a:ann:avail_ms"] == 30 * 60_000 and second["a:ann:avail_ms"] == HOUR_MS
    assert second["a:bob:avail_ms"] == 30 * 60_000 and third["a:bob:avail_ms"] == HOUR_MS
    # the license: from ann's start to bob's end, counted once though both overlapped
    assert first["avail_ms"] + second["avail_ms"] + third["avail_ms"] == 150 * 60_000
    assert first["g:1:avail_ms"] + second["g:1:avail_ms"] + third["g:1:avail_ms"] == 150 * 60_000
    assert "g:2:avail_ms" not in first and second["g:2:avail_ms"] + third["g:2:avail_ms"] == 90 * 60_000
    assert await valkey.hgetall(keys.report_groups_accepting(org)) == {}
    assert not await valkey.exists(keys.report_license_accepting(org))
    # a status change without accepting before it counts nothing
    await reports.set_status(org, "cat", "offline", t0)
    assert "a:cat:avail_ms" not in await _bucket(valkey, org, h)
