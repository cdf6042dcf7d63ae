"""The store's scripts (``core/store.py``), each called with its KEYS and ARGV on the session's real Valkey: what it
returns, and the race or partial write it exists to prevent."""

from __future__ import annotations

import asyncio
import secrets

import msgspec
import pytest
from valkey.exceptions import ResponseError

from widget_server import keys
from widget_server.core import scripts


def _id(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(6)}"


async def _pushes(pubsub, n: int, wait: float = 2.0) -> list[tuple[bytes, bytes]]:
    """The next ``n`` messages (channel, data) a subscriber gets, fewer when ``wait`` seconds pass first."""
    out: list[tuple[bytes, bytes]] = []
    deadline = asyncio.get_running_loop().time() + wait
    while len(out) < n and asyncio.get_running_loop().time() < deadline:
        m = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if m is not None:  # (None also for a subscription's confirmation)
            out.append((m["channel"], m["data"]))
    return out


def _send_keys(chat: str) -> list[str]:
    return [keys.chat(chat), keys.chat_last_events(chat), keys.chat_custom_ids(chat), keys.chat_outbox(chat)]


def _thread_keys(chat: str, tid: str) -> list[str]:
    return [keys.chat(chat), keys.thread(chat, tid), keys.thread_events(chat, tid), keys.chat_last_events(chat)]


async def _chat_with_thread(valkey, active: bool = True, **fields: str) -> tuple[str, str]:
    chat, tid = _id("c"), _id("t")
    await valkey.hset(keys.chat(chat), mapping={"org": "o1", "customer_id": "cust", "agent_ids": '["a@x"]',
                                                "active_thread": tid if active else "", "last_thread_id": tid,
                                                "last_thread_created_at": "2026-01-01T00:00:00Z", **fields})
    await valkey.hset(keys.thread(chat, tid), mapping={"id": tid, "created_at": "2026-01-01T00:00:00Z",
                                                       "active": "1" if active else "0", "seq": 0})
    return chat, tid


async def test_append_events_gives_concurrent_appends_distinct_ids_in_one_sequence(valkey):
    """Two workers appending to one thread at once never hand out the same event id: the sequence number, the event
    and the chat's last event per type are written together."""
    append = scripts.register(valkey, "append_events", CHAT_MAX_EVENTS=1000)
    chat, tid = await _chat_with_thread(valkey)
    firsts = await asyncio.gather(*(
        append(keys=_thread_keys(chat, tid), args=[tid, "active", 1000 + i, "message", f'{{"text":"{i}"}}', "1"])
        for i in range(20)))
    assert sorted(firsts) == list(range(1, 21))
    events = await valkey.hgetall(keys.thread_events(chat, tid))
    assert sorted(int(n) for n in events) == list(range(1, 21))
    assert all(msgspec.json.decode(body)["id"] == f"{tid}_{int(n)}" for n, body in events.items())

    # several events in one call: consecutive numbers, the first returned; a private one is not a "last event"
    n = await append(keys=_thread_keys(chat, tid), args=[tid, "any", 2000, "message", b'{"text":"a"}', "1",
                                                          "system_message", b'{"text":"b"}', "0"])
    assert n == 21
    last = msgspec.json.decode(await valkey.hget(keys.chat_last_events(chat), "message"))
    assert last == {"thread_id": tid, "thread_created_at": "2026-01-01T00:00:00Z",
                    "event": {"id": f"{tid}_21", "text": "a"}}
    assert await valkey.hget(keys.chat_last_events(chat), "system_message") is None
    assert await valkey.hget(keys.chat(chat), "last_event_ms") == b"2000"


async def test_append_events_refuses_a_missing_or_ended_thread_and_writes_nothing(valkey):
    append = scripts.register(valkey, "append_events", CHAT_MAX_EVENTS=1000)
    chat, tid = await _chat_with_thread(valkey, active=False)
    with pytest.raises(ResponseError, match="thread_not_found"):
        await append(keys=_thread_keys(chat, "nope"), args=["nope", "any", 1, "message", "{}", "1"])
    with pytest.raises(ResponseError, match="chat_inactive"):
        await append(keys=_thread_keys(chat, tid), args=[tid, "active", 1, "message", "{}", "1"])
    assert await valkey.hget(keys.thread(chat, tid), "seq") == b"0"
    assert await append(keys=_thread_keys(chat, tid), args=[tid, "any", 1, "message", "{}", "1"]) == 1


async def test_send_event_stores_then_publishes_to_who_may_see_it_in_event_order(valkey):
    """A message is checked, stored and pushed in one step: concurrent messages of a chat reach every subscriber in
    the order of their ids, and a private event reaches the agents only."""
    send = scripts.register(valkey, "send_event", CHAT_MAX_EVENTS=1000)
    chat, tid = await _chat_with_thread(valkey)
    pubsub = valkey.pubsub()
    await pubsub.subscribe(keys.user_channel("cust"), keys.user_channel("a@x"))
    try:
        def args(i: int, public: str = "1") -> list:
            return ["o1", "cust", "", "0", 5000 + i, "H", "|", "T", "", "", "message", f'{{"text":"{i}"}}', public]

        replies = await asyncio.gather(*(send(keys=_send_keys(chat), args=args(i))
                                         for i in range(10)))
        assert sorted(r[0] for r in replies) == list(range(1, 11))
        assert {(r[1], r[2], r[3]) for r in replies} == {(tid.encode(), b"cust", b'["a@x"]')}
        got: dict[bytes, list[bytes]] = {}
        for channel, data in await _pushes(pubsub, 20):
            got.setdefault(channel, []).append(data)
        assert sorted(map(len, got.values())) == [10, 10]
        for pushes in got.values():
            ids = [msgspec.json.decode(p[len(b"H") + len(tid) + 1:-1])["id"] for p in pushes]
            assert ids == [f"{tid}_{n}" for n in range(1, 11)]
        assert got[keys.user_channel("cust").encode()][0].startswith(f"H{tid}|".encode())

        await send(keys=_send_keys(chat), args=args(99, public="0"))
        assert [channel for channel, _ in await _pushes(pubsub, 2, wait=0.5)] == [keys.user_channel("a@x").encode()]
    finally:
        await pubsub.aclose()
    assert await valkey.hlen(keys.thread_events(chat, tid)) == 11


async def test_send_event_refuses_who_may_not_write_and_a_chat_without_a_thread(valkey):
    send = scripts.register(valkey, "send_event", CHAT_MAX_EVENTS=1000)
    chat, tid = await _chat_with_thread(valkey)
    k = _send_keys(chat)

    def args(org="o1", customer="cust", agent="", attach="0") -> list:
        return [org, customer, agent, attach, 1, "", "", "", "", "", "message", "{}", "1"]

    for bad, error in ((args(org="o2"), "not_found"), (args(customer="other"), "authorization"),
                       (args(customer="", agent="b@x"), "not_member")):
        with pytest.raises(ResponseError, match=error):
            await send(keys=k, args=bad)
    assert await valkey.hlen(keys.thread_events(chat, tid)) == 0
    assert (await send(keys=k, args=args(customer="", agent="a@x")))[0] == 1

    await valkey.hset(keys.chat(chat), "active_thread", "")
    with pytest.raises(ResponseError, match="chat_inactive"):
        await send(keys=k, args=args())
    seq, thread_id, *_ = await send(keys=k, args=args(attach="1"))  # e.g. a rating after the chat ended
    assert (seq, thread_id) == (2, tid.encode())


async def test_send_event_with_a_custom_id_stores_it_once(valkey):
    """A client that lost the answer sends the same message again with the same custom_id, even many times at once:
    it is stored and published once, and every try gets the stored event's id. Another author may use the same
    custom_id, the custom ids live as long as the chat, and a retry still gets its id after the thread closed."""
    send = scripts.register(valkey, "send_event", CHAT_MAX_EVENTS=1000)
    chat, tid = await _chat_with_thread(valkey)
    await valkey.expire(keys.chat(chat), 3600)  # a chat with a lifetime
    pubsub = valkey.pubsub()
    await pubsub.subscribe(keys.user_channel("a@x"))
    try:
        def args(text: str, dedup: str, customer: str = "cust", agent: str = "") -> list:
            return ["o1", customer, agent, "0", 1, "H", "|", "T", dedup, "", "message", f'{{"text":"{text}"}}', "1"]

        replies = await asyncio.gather(*(send(keys=_send_keys(chat), args=args("hi", "cust m-1")) for _ in range(10)))
        assert {(r[0], r[1]) for r in replies} == {(1, tid.encode())}
        assert sorted(r[4] for r in replies) == [0] + [1] * 9  # one stored it, nine were answered from the store
        assert len(await _pushes(pubsub, 10, wait=0.5)) == 1
        assert await valkey.hlen(keys.thread_events(chat, tid)) == 1
        assert await valkey.hget(keys.chat_custom_ids(chat), "cust m-1") == f"{tid}_1".encode()
        assert 0 < await valkey.ttl(keys.chat_custom_ids(chat)) <= 3600

        # the agent's own m-1 is another message; events without a custom_id are never merged
        agent = await send(keys=_send_keys(chat), args=args("agent's", "a@x m-1", customer="", agent="a@x"))
        plain = [await send(keys=_send_keys(chat), args=args("same", "")) for _ in range(2)]
        assert (agent[0], agent[4], [r[0] for r in plain]) == (2, 0, [3, 4])

        await valkey.hset(keys.chat(chat), "active_thread", "")  # the thread closed before the retry came
        assert (await send(keys=_send_keys(chat), args=args("hi", "cust m-1")))[:2] == [1, tid.encode()]
        with pytest.raises(ResponseError, match="chat_inactive"):
            await send(keys=_send_keys(chat), args=args("new", "cust m-2"))
        # access is checked before the stored ids are looked at: nobody else learns them
        with pytest.raises(ResponseError, match="authorization"):
            await send(keys=_send_keys(chat), args=args("hi", "cust m-1", customer="other"))
    finally:
        await pubsub.aclose()
    assert await valkey.hlen(keys.thread_events(chat, tid)) == 4


async def test_send_event_keeps_a_stored_event_in_the_webhook_outbox_in_the_same_step(valkey):
    """The event and the outbox entry that stands for its webhook deliveries are written together (a worker that
    dies after the script leaves the entry for the repair pass); a repeated custom_id writes no second entry."""
    send = scripts.register(valkey, "send_event", CHAT_MAX_EVENTS=1000)
    chat, tid = await _chat_with_thread(valkey)

    def args(dedup: str, outbox: str) -> list:
        return ["o1", "cust", "", "0", 1, "", "", "", dedup, outbox, "message", '{"text":"hi"}', "1"]

    assert (await send(keys=_send_keys(chat), args=args("cust m-1", "e1")))[0] == 1
    assert (await send(keys=_send_keys(chat), args=args("cust m-1", "e2")))[4] == 1  # a retry: stored before
    assert (await send(keys=_send_keys(chat), args=args("", "")))[0] == 2  # a license without webhooks
    assert await valkey.hgetall(keys.chat_outbox(chat)) == {b"e1": f"{tid}_1".encode()}


async def test_a_chat_stores_at_most_its_limit_of_events_over_all_its_threads(valkey):
    """Messages and the events a chat starts or resumes with count against one per-chat limit; the closing events
    of a thread are stored even at the limit (a chat can always end). Nothing is written by a refused call."""
    send = scripts.register(valkey, "send_event", CHAT_MAX_EVENTS=3)
    append = scripts.register(valkey, "append_events", CHAT_MAX_EVENTS=3)
    close = scripts.register(valkey, "close_thread")
    chat, tid = await _chat_with_thread(valkey)
    k = _send_keys(chat)
    message = ["o1", "cust", "", "0", 1, "", "", "", "", "", "message", "{}", "1"]
    assert await append(keys=_thread_keys(chat, tid), args=[tid, "any", 1, "message", "{}", "1",
                                                           "message", "{}", "1"]) == 1
    assert (await send(keys=k, args=message))[0] == 3
    with pytest.raises(ResponseError, match="limit_reached"):
        await send(keys=k, args=message)
    with pytest.raises(ResponseError, match="limit_reached"):
        await append(keys=_thread_keys(chat, tid), args=[tid, "any", 1, "message", "{}", "1"])
    assert await valkey.hlen(keys.thread_events(chat, tid)) == 3
    assert await close(keys=_thread_keys(chat, tid), args=[tid, 2, "system_message", "{}", "1"]) == 4
    assert await valkey.hget(keys.chat(chat), "events_count") == b"4"


async def test_close_thread_closes_once(valkey):
    """Two agents closing a chat at the same time: one close is stored with its events, the other is refused and
    adds nothing (no second "chat closed" event)."""
    close = scripts.register(valkey, "close_thread")
    chat, tid = await _chat_with_thread(valkey)
    results = await asyncio.gather(*(close(keys=_thread_keys(chat, tid), args=[tid, 7000, "system_message",
                                                                              b'{"text":"closed"}', "1"])
                                     for _ in range(2)), return_exceptions=True)
    assert sorted(map(str, results)) == ["1", "chat_inactive"]
    assert await valkey.hmget(keys.chat(chat), ["active_thread"]) == [b""]
    assert await valkey.hget(keys.thread(chat, tid), "active") == b"0"
    assert await valkey.hlen(keys.thread_events(chat, tid)) == 1


async def test_open_thread_starts_a_chat_once_and_resumes_only_an_inactive_one(valkey):
    """Starting a chat twice, or resuming it twice at once, never opens two active threads."""
    open_thread = scripts.register(valkey, "open_thread")
    chat = _id("c")

    def call(mode: str, tid: str):
        return open_thread(keys=[keys.chat(chat), keys.chat_threads(chat), keys.thread(chat, tid)],
                           args=[mode, tid, f"at-{tid}", 100, "1", "{}", "{}", '["cust"]', keys.thread(chat, ""),
                                 "id", chat, "org", "o1"])

    assert await call("start", "t1") == b""
    with pytest.raises(ResponseError, match="chat_exists"):
        await call("start", "t0")
    with pytest.raises(ResponseError, match="chat_active"):
        await call("resume", "t2")
    await valkey.hset(keys.chat(chat), "active_thread", "")
    results = await asyncio.gather(call("resume", "t2"), call("resume", "t3"), return_exceptions=True)
    assert sorted(map(str, results)) == ["b't1'", "chat_active"]
    winner = "t2" if results[0] == b"t1" else "t3"
    assert await valkey.lrange(keys.chat_threads(chat), 0, -1) == [b"t1", winner.encode()]
    assert await valkey.hget(keys.thread(chat, "t1"), "next_thread_id") == winner.encode()
    assert await valkey.hmget(keys.chat(chat), ["active_thread", "last_thread_id", "org"]) == [
        winner.encode(), winner.encode(), b"o1"]
    with pytest.raises(ResponseError, match="chat_not_found"):
        await open_thread(keys=[keys.chat("nope"), keys.chat_threads("nope"), keys.thread("nope", "t")],
                          args=["resume", "t", "", 0, "1", "{}", "{}", "[]", keys.thread("nope", "")])


async def test_put_hash_writes_the_fields_and_their_expiry_together(valkey):
    """An uploaded file never exists without its 24 h expiry (a crash between HSET and EXPIRE would keep it)."""
    put = scripts.register(valkey, "put_hash")
    key = keys.file("o1", _id("f"))
    assert await put(keys=[key], args=[60, "name", "a.png", "data", b"\x89PNG"]) == 1
    assert await valkey.hgetall(key) == {b"name": b"a.png", b"data": b"\x89PNG"}
    assert 0 < await valkey.ttl(key) <= 60
    forever = keys.file("o1", _id("f"))
    await put(keys=[forever], args=["", "name", "b"])
    assert await valkey.ttl(forever) == -1


async def test_update_hash_sets_keeps_and_counts_in_one_step(valkey):
    """A customer's update on a cluster, where a MULTI cannot be sent: set, set-if-absent and increments at once, so
    concurrent updates add up and a first-seen field is never overwritten."""
    update = scripts.register(valkey, "update_hash")
    key = keys.customer(_id("cust"))
    await asyncio.gather(*(update(keys=[key], args=[1, 1, "name", f"n{i}", "created_at", f"c{i}", "chats_count", 1])
                           for i in range(10)))
    first = await valkey.hgetall(key)
    assert first[b"chats_count"] == b"10" and first[b"created_at"] in {f"c{i}".encode() for i in range(10)}
    await update(keys=[key], args=[1, 1, "name", "Ann", "created_at", "later", "chats_count", -1])
    assert await valkey.hgetall(key) == {b"name": b"Ann", b"created_at": first[b"created_at"], b"chats_count": b"9"}


async def test_set_if_unchanged_lets_one_of_two_read_modify_writes_win(valkey):
    """Two writers read the same value and write their change: the second is told (0) instead of overwriting the
    first's, and reads again."""
    cas = scripts.register(valkey, "set_if_unchanged")
    key = keys.chat(_id("c"))
    with pytest.raises(ResponseError, match="not_found"):
        await cas(keys=[key], args=["tags", "0", "", "[]"])
    await valkey.hset(key, "tags", "[1]")
    assert await cas(keys=[key], args=["tags", "1", "[1]", "[1,2]"]) == 1
    assert await cas(keys=[key], args=["tags", "1", "[1]", "[1,3]"]) == 0
    assert await cas(keys=[key], args=["new", "0", "", "a"]) == 1
    assert await cas(keys=[key], args=["new", "0", "", "b"]) == 0  # absent when read, present now
    assert await valkey.hmget(key, ["tags", "new"]) == [b"[1,2]", b"a"]


async def test_add_connection_never_lets_a_customer_exceed_the_socket_limit(valkey):
    """Sockets opened at once on several workers: exactly ``limit`` are let in; sockets older than the max age (a
    worker died without removing them) no longer count."""
    add = scripts.register(valkey, "add_connection")
    key = keys.customer_connections(_id("cust"))
    added = await asyncio.gather(*(add(keys=[key], args=[f"conn{i}", 1000, 300, 3]) for i in range(10)))
    assert sorted(added) == [0] * 7 + [1] * 3
    assert await valkey.zcard(key) == 3 and 0 < await valkey.ttl(key) <= 300
    assert await add(keys=[key], args=["later", 1000 + 301, 300, 3]) == 1
    assert await valkey.zrange(key, 0, -1) == [b"later"]


async def test_customer_visit_creates_the_customer_and_refuses_a_banned_one(valkey):
    """A page load's customer work: the record made if missing (never overwritten), fields set and the latest chat
    ids read, unless a ban is in force, in which case nothing is written."""
    visit = scripts.register(valkey, "customer_visit", TTL=1000)
    cid = _id("cust")
    k = [keys.customer(cid), keys.customer_chats(cid)]
    await valkey.zadd(keys.customer_chats(cid), {"old": 1, "new": 3, "mid": 2})
    assert await visit(keys=k, args=[cid, "o1", "2026-01-01", 2, 100, "ip", "1.2.3.4"]) == [b"", [b"new", b"mid"]]
    assert await visit(keys=k, args=[cid, "o2", "2027-01-01", 2, 100]) == [b"", [b"new", b"mid"]]
    assert await valkey.hmget(keys.customer(cid), ["id", "org", "created_at", "ip"]) == [
        cid.encode(), b"o1", b"2026-01-01", b"1.2.3.4"]

    await valkey.hset(keys.customer(cid), "banned_until", 200)
    assert await visit(keys=k, args=[cid, "o1", "x", 2, 150, "ip", "5.6.7.8"]) == [b"200", []]
    assert await valkey.hget(keys.customer(cid), "ip") == b"1.2.3.4"
    assert (await visit(keys=k, args=[cid, "o1", "x", 2, 250, "ip", "5.6.7.8"]))[0] == b""  # the ban is over


async def test_customer_visit_makes_a_record_that_expires_unless_it_is_kept(valkey):
    """Anyone can make a customer record with a page load: it expires TTL seconds after the last call, which
    refreshes the expiry; a record made permanent (a chat started, a ban) stays permanent."""
    visit = scripts.register(valkey, "customer_visit", TTL=1000)
    cid = _id("cust")
    k = [keys.customer(cid), keys.customer_chats(cid)]
    await visit(keys=k, args=[cid, "o1", "2026-01-01", 2, 100])
    assert 990 < await valkey.ttl(keys.customer(cid)) <= 1000
    await valkey.expire(keys.customer(cid), 5)
    await visit(keys=k, args=[cid, "o1", "2026-01-01", 2, 100, "name", "Ann"])
    assert 990 < await valkey.ttl(keys.customer(cid)) <= 1000  # refreshed
    await valkey.persist(keys.customer(cid))  # (what starting a chat does)
    await visit(keys=k, args=[cid, "o1", "2026-01-01", 2, 100])
    assert await valkey.ttl(keys.customer(cid)) == -1


async def test_customer_with_chat_ids_reads_the_record_and_the_latest_chats_together(valkey):
    read = scripts.register(valkey, "customer_with_chat_ids")
    cid = _id("cust")
    await valkey.hset(keys.customer(cid), mapping={"id": cid, "name": "Ann"})
    await valkey.zadd(keys.customer_chats(cid), {"a": 1, "b": 2, "c": 3})
    flat, ids = await read(keys=[keys.customer(cid), keys.customer_chats(cid)], args=[2])
    assert dict(zip(flat[::2], flat[1::2])) == {b"id": cid.encode(), b"name": b"Ann"} and ids == [b"c", b"b"]
    assert await read(keys=[keys.customer("nobody"), keys.customer_chats("nobody")], args=[5]) == [[], []]


def _upload_keys(org: str, file_id: str, cid: str, address: str) -> list[str]:
    return [keys.file(org, file_id), keys.uploads_pending(org), keys.uploads_pending_bytes(org),
            keys.uploads_by_customer(org, cid, 1), keys.uploads_by_address(org, address, 1)]


async def test_put_upload_lets_no_two_concurrent_uploads_pass_a_quota_together(valkey):
    """Ten uploads of 100 bytes at once against a customer quota of 350 bytes: exactly three are stored, and the
    counters hold exactly their bytes (a check and a write in separate calls would let more through)."""
    put = scripts.register(valkey, "put_upload")
    org, cid = _id("o"), _id("cust")
    ids = [_id("f") for _ in range(10)]
    results = await asyncio.gather(*(put(keys=_upload_keys(org, f, cid, "1.2.3.4"),
                                         args=[1000, 60, 100, 350, 0, 0, f, "name", "a.txt", "data", b"x" * 100])
                                     for f in ids))
    assert sorted(results) == [b"customer"] * 7 + [b"ok"] * 3
    assert await valkey.get(keys.uploads_by_customer(org, cid, 1)) == b"300"
    assert await valkey.get(keys.uploads_pending_bytes(org)) == b"300"
    stored = [f for f, r in zip(ids, results) if r == b"ok"]
    assert [await valkey.exists(keys.file(org, f)) for f in ids] == [int(f in stored) for f in ids]
    assert 0 < await valkey.ttl(keys.file(org, stored[0])) <= 60


async def test_pending_uploads_leave_the_license_total_when_used_or_expired(valkey):
    """The license's quota counts uploads not used in an event: keep_file (an event uses it) and expiry (seen by
    the next upload) take their bytes off, so the license can upload again."""
    put = scripts.register(valkey, "put_upload")
    keep = scripts.register(valkey, "keep_file")
    org = _id("o")
    a, b, c, d = (_id("f") for _ in range(4))

    def upload(file_id: str, now: int, cid: str) -> object:
        return put(keys=_upload_keys(org, file_id, cid, "1.2.3.4"),
                   args=[now, 60, 100, 0, 0, 200, file_id, "data", b"x" * 100])

    assert [await upload(a, 1000, "c1"), await upload(b, 1000, "c2"), await upload(c, 1000, "c3")] == [
        b"ok", b"ok", b"license"]
    assert await keep(keys=[keys.file(org, a), keys.uploads_pending(org), keys.uploads_pending_bytes(org)]) == 1
    assert await valkey.ttl(keys.file(org, a)) == -1 and await valkey.hget(keys.file(org, a), "pending") is None
    assert await valkey.get(keys.uploads_pending_bytes(org)) == b"100"
    assert await upload(c, 1000, "c3") == b"ok"
    assert await upload(d, 1030, "c4") == b"license"
    # b and c expired at 1060: the next upload after that frees their bytes first
    assert await upload(d, 1061, "c4") == b"ok"
    assert await valkey.get(keys.uploads_pending_bytes(org)) == b"100"
    assert await valkey.zcard(keys.uploads_pending(org)) == 1


async def test_set_string_if_unchanged_lets_one_of_two_configuration_writes_win(valkey):
    """Two writers read the same license configuration and write their change (two greetings added at once): the
    second is told (0) instead of overwriting the first's, and reads again."""
    cas = scripts.register(valkey, "set_string_if_unchanged")
    key = keys.license_config(_id("org"))
    assert await cas(keys=[key], args=["0", "", '{"a":1}']) == 1
    assert await cas(keys=[key], args=["0", "", '{"b":1}']) == 0  # absent when read, present now
    assert await cas(keys=[key], args=["1", '{"a":1}', '{"a":2}']) == 1
    assert await cas(keys=[key], args=["1", '{"a":1}', '{"a":3}']) == 0
    assert await valkey.get(key) == b'{"a":2}'


async def test_send_event_returns_a_threads_first_response_once(valkey):
    """The first agent message after the customer began waiting is the thread's first response (its delay and the
    chat's access, for the group's list); later agent messages, an agent writing before any customer message and
    private or non-message events are not."""
    send = scripts.register(valkey, "send_event", CHAT_MAX_EVENTS=1000)
    chat, _ = await _chat_with_thread(valkey, access='{"group_ids":[3]}')

    def args(customer: str, ms: int, etype: str = "message", public: str = "1") -> list:
        return ["o1", customer, "", "0", ms, "", "", "", "", "", etype, '{"text":"x"}', public]

    # an agent (no customer check) writes first: nobody waited for it
    assert (await send(keys=_send_keys(chat), args=args("", 1000)))[5:7] == [-1, b""]
    assert (await send(keys=_send_keys(chat), args=args("cust", 2000)))[5:7] == [-1, b""]  # the customer asks
    assert (await send(keys=_send_keys(chat), args=args("cust", 2500)))[5:7] == [-1, b""]  # (still from 2000)
    assert (await send(keys=_send_keys(chat), args=args("", 3000, public="0")))[5:7] == [-1, b""]  # a whisper
    assert (await send(keys=_send_keys(chat), args=args("", 3100, etype="custom")))[5:7] == [-1, b""]
    replies = await asyncio.gather(*(send(keys=_send_keys(chat), args=args("", 9000 + i)) for i in range(5)))
    firsts = [r[5:7] for r in replies if r[5] != -1]
    assert len(firsts) == 1 and firsts[0][0] >= 7000 and firsts[0][1] == b'{"group_ids":[3]}'
    assert (await send(keys=_send_keys(chat), args=args("", 20000)))[5:7] == [-1, b""]


async def test_expire_browsing_customer_spares_a_chat_started_before_its_persist(valkey):
    """Migration 1's step (``expire_browsing_customer.lua``): only a record without expiry, chat or ban gets one. A
    chat that listed itself (``index_chat``'s ZADD) but has not yet PERSISTed the record is seen in the same step."""
    expire = scripts.register(valkey, "expire_browsing_customer")
    browsing, chatting, banned, expiring = (_id("cust-") for _ in range(4))
    for cid in (browsing, chatting, banned, expiring):
        await valkey.hset(keys.customer(cid), "id", cid)
    await valkey.zadd(keys.customer_chats(chatting), {"chat": 1})  # (index_chat's first step, before its PERSIST)
    await valkey.hset(keys.customer(banned), "banned_until", "9999999999")
    await valkey.expire(keys.customer(expiring), 40)
    done = [await expire(keys=[keys.customer(c), keys.customer_chats(c)], args=[3600])
            for c in (browsing, chatting, banned, expiring)]
    assert done == [1, 0, 0, 0]
    assert 3500 < await valkey.ttl(keys.customer(browsing)) <= 3600
    assert await valkey.ttl(keys.customer(chatting)) == -1 and await valkey.ttl(keys.customer(banned)) == -1
    assert await valkey.ttl(keys.customer(expiring)) <= 40


async def test_send_event_keeps_the_inactivity_fields_and_wakes_an_idle_chat_once(valkey):
    """core/inactivity.py reads what send_event keeps in the chat: the customer's first unanswered message (later
    ones leave it), '0' once an agent answers (for good), and the idle mark, which the next message clears, saying
    so once (the caller then counts the chat in its agents' loads again)."""
    send = scripts.register(valkey, "send_event", CHAT_MAX_EVENTS=1000)
    chat, _ = await _chat_with_thread(valkey)

    def args(now: int, customer: str = "cust", agent: str = "") -> list:
        return ["o1", customer, agent, "0", now, "", "", "", "", "", "message", '{"text":"x"}', "1"]

    assert (await send(keys=_send_keys(chat), args=args(1000)))[7] == 0
    await send(keys=_send_keys(chat), args=args(2000))
    assert await valkey.hget(keys.chat(chat), "awaiting_ms") == b"1000"  # the first unanswered one
    await send(keys=_send_keys(chat), args=args(3000, customer="", agent="a@x"))
    await send(keys=_send_keys(chat), args=args(4000))
    assert await valkey.hget(keys.chat(chat), "awaiting_ms") == b"0"  # answered: no transfer in this thread
    assert await valkey.hget(keys.chat(chat), "last_event_ms") == b"4000"
    await valkey.hset(keys.chat(chat), "idle", "1")
    replies = await asyncio.gather(*(send(keys=_send_keys(chat), args=args(5000 + i)) for i in range(5)))
    assert sorted(r[7] for r in replies) == [0, 0, 0, 0, 1]
    assert await valkey.hget(keys.chat(chat), "idle") is None


async def test_send_event_publishes_to_the_chats_followers_who_are_not_in_it(valkey):
    """``follow_chat``: the chat's ``followers`` get its messages, private ones too (they are agents), from the same
    script; a follower who is also in the chat gets one copy, and a chat nobody follows costs no extra command."""
    send = scripts.register(valkey, "send_event", CHAT_MAX_EVENTS=1000)
    chat, _ = await _chat_with_thread(valkey, followers='["f@x", "a@x"]')
    plain, _ = await _chat_with_thread(valkey)
    pubsub = valkey.pubsub()
    await pubsub.subscribe(keys.user_channel("cust"), keys.user_channel("a@x"), keys.user_channel("f@x"))

    def args(public: str = "1") -> list:
        return ["o1", "", "a@x", "0", 5000, "H", "|", "T", "", "", "message", '{"text":"x"}', public]

    async def publishes() -> int:
        return (await valkey.info("commandstats")).get("cmdstat_publish", {}).get("calls", 0)

    try:
        reply = await send(keys=_send_keys(chat), args=args("0"))
        assert reply[8] == b'["f@x", "a@x"]'  # (the caller pushes to its own worker's sockets from this)
        got = sorted(channel for channel, _ in await _pushes(pubsub, 3, wait=0.5))
        assert got == sorted([keys.user_channel("a@x").encode(), keys.user_channel("f@x").encode()])

        before = await publishes()
        reply = await send(keys=_send_keys(plain), args=args())
        assert reply[8] == b"" and await publishes() - before == 2  # the customer and the one agent: nothing more
        await _pushes(pubsub, 2, wait=0.5)
    finally:
        await pubsub.aclose()


async def test_archive_search_exclusion_clauses_keep_out_members_of_any_of_their_sets(valkey):
    """A negative clause size makes an exclusion (list_archives' ``exclude_values``): the walk still follows the
    smallest positive clause, and a member in any set of an exclusion is left out of the count and the page."""
    search = scripts.register(valkey, "archive_search")
    org = f"o{secrets.token_hex(4)}"
    every, vip, bug, ann = (keys.archive_index(org, k, v) for k, v in (("x", "all"), ("t", "vip"), ("t", "bug"),
                                                                        ("a", "ann")))
    await valkey.zadd(every, {f"c{i} t{i}": 1000 + i for i in range(6)})
    await valkey.zadd(vip, {"c1 t1": 1001, "c2 t2": 1002})
    await valkey.zadd(bug, {"c2 t2": 1002, "c4 t4": 1004})
    await valkey.zadd(ann, {"c2 t2": 1002, "c3 t3": 1003, "c4 t4": 1004})

    async def run(clauses: list[list[str]], exclusions: list[list[str]]) -> tuple[int, list[str]]:
        flat = [k for c in (*clauses, *exclusions) for k in c]
        got = await search(keys=[*flat, keys.archive_scratch(org, secrets.token_hex(4))],
                           args=["-inf", "+inf", "1", 0, 10, len(clauses) + len(exclusions),
                                 *(len(c) for c in clauses), *(-len(c) for c in exclusions)])
        return int(got[0]), [m.decode() for m in got[1:]]

    assert await run([[every]], [[vip]]) == (4, ["c5 t5", "c4 t4", "c3 t3", "c0 t0"])
    assert await run([[every]], [[vip, bug]]) == (3, ["c5 t5", "c3 t3", "c0 t0"])  # in either: out
    assert await run([[every]], [[vip], [bug]]) == (3, ["c5 t5", "c3 t3", "c0 t0"])
    assert await run([[every], [ann]], [[bug]]) == (1, ["c3 t3"])  # walks Ann's three, keeps one
    assert await run([[every], [ann]], [[every]]) == (0, [])
