"""Routing's scripts (``core/routing.py``) with their KEYS and ARGV on the session's real Valkey: who gets a chat, and
that capacity is never handed out twice when workers route at the same time."""

from __future__ import annotations

import asyncio
import secrets

from widget_server import keys
from widget_server.core import scripts
from widget_server.core.routing import PRIORITIES


async def _license(valkey, agents: dict[str, tuple[str, int]], status: str = "accepting_chats") -> str:
    """A license whose group 0 has these agents: id -> (priority, max chats)."""
    org = f"r{secrets.token_hex(6)}"
    for agent, (priority, max_chats) in agents.items():
        await valkey.sadd(keys.group_members(org, 0, priority), agent)
        await valkey.hset(keys.routing_status(org), agent, status)
        await valkey.hset(keys.routing_max(org), agent, max_chats)
    return org


def _keys(org: str) -> list[str]:
    return [keys.routing_status(org), keys.routing_load(org), keys.routing_max(org), keys.routing_last(org),
            *(keys.group_members(org, 0, p) for p in PRIORITIES), keys.bots(org)]


async def _operations(valkey, org: str) -> list[str]:
    return sorted(m.decode() for m in await valkey.zrange(keys.chat_operations(org), 0, -1))


async def test_route_chat_never_exceeds_an_agents_limit_under_concurrent_calls(valkey):
    """Twenty chats routed at once to two agents who take two each: four are assigned, two per agent, and the load
    counts them; the rest find nobody (and are queued by the caller)."""
    route = scripts.register(valkey, "route_chat")
    org = await _license(valkey, {"a@x": ("normal", 2), "b@x": ("normal", 2)})
    got = await asyncio.gather(*(route(keys=[*_keys(org), keys.chat_operations(org)], args=[1000 + i, "", f"c{i}", "t"])
                                 for i in range(20)))
    assigned = [a for a in got if a is not None]
    assert sorted(assigned) == [b"a@x", b"a@x", b"b@x", b"b@x"]
    assert await valkey.hgetall(keys.routing_load(org)) == {b"a@x": b"2", b"b@x": b"2"}
    # in the same step: each chat is in its agent's chats, and its join is noted as in flight
    chats = {a: {m.decode() for m in await valkey.smembers(keys.agent_chats(org, a))} for a in ("a@x", "b@x")}
    assert sorted(len(c) for c in chats.values()) == [2, 2]
    assert await _operations(valkey, org) == sorted(f"join {c} t {a}" for a, cs in chats.items() for c in cs)


async def test_route_chat_prefers_priority_then_the_least_busy_then_the_longest_waiting(valkey):
    script = scripts.register(valkey, "route_chat")

    async def route(keys: list[str], args: list) -> bytes | None:
        return await script(keys=[*keys, f"ops{secrets.token_hex(4)}{{{org}}}"], args=[*args, "c", "t"])

    org = await _license(valkey, {"bot@x": ("first", 1), "a@x": ("normal", 5), "b@x": ("normal", 5),
                                  "z@x": ("last", 5)})
    await valkey.sadd(keys.bots(org), "bot@x")
    assert await route(keys=_keys(org), args=[1, "h"]) == b"a@x"  # humans only: the bot is skipped
    assert await route(keys=_keys(org), args=[2, ""]) == b"bot@x"  # priority first, while it has room
    assert await route(keys=_keys(org), args=[3, ""]) == b"b@x"  # fewest chats
    assert await route(keys=_keys(org), args=[4, ""]) == b"a@x"  # equal load: who got one least recently
    assert await valkey.hget(keys.routing_last(org), "a@x") == b"4"
    await valkey.hset(keys.routing_status(org), mapping={"a@x": "not_accepting_chats", "b@x": "offline"})
    assert await route(keys=_keys(org), args=[5, ""]) == b"z@x"


async def test_route_queued_chat_pops_the_oldest_entry_only_when_someone_takes_it(valkey):
    """A queued chat leaves the queue in the same step as an agent gets it: drains racing for the last free place
    pop one entry, and nothing is lost when nobody has room."""
    drain = scripts.register(valkey, "route_queued_chat")
    org = await _license(valkey, {"a@x": ("normal", 1), "bot@x": ("first", 3)})
    await valkey.sadd(keys.bots(org), "bot@x")
    queue = keys.group_queue(org, 0)
    k = [*_keys(org), queue, keys.chat_operations(org)]
    assert await drain(keys=k, args=[1]) is None  # an empty queue
    await valkey.rpush(queue, "c1 t1 h", "c2 t2", "c3 t3")
    got = await asyncio.gather(*(drain(keys=k, args=[2]) for _ in range(5)))
    # oldest first, each to whoever may take it: the entry a bot handed over goes to the human
    assert sorted(g for g in got if g) == [[b"c1 t1 h", b"a@x"], [b"c2 t2", b"bot@x"], [b"c3 t3", b"bot@x"]]
    assert await valkey.hgetall(keys.routing_load(org)) == {b"a@x": b"1", b"bot@x": b"2"}
    # popped, counted and noted together: a worker that dies now leaves the joins to the repair pass
    assert set(await valkey.smembers(keys.agent_chats(org, "bot@x"))) == {b"c2", b"c3"}
    assert await _operations(valkey, org) == ["join c1 t1 a@x", "join c2 t2 bot@x", "join c3 t3 bot@x"]
    # the only human is full: a bot's hand-over waits, though the bot has room
    await valkey.rpush(queue, "c4 t4 h", "c5 t5")
    assert await drain(keys=k, args=[3]) is None
    assert await valkey.lrange(queue, 0, -1) == [b"c4 t4 h", b"c5 t5"]


async def test_route_queued_chat_leaves_the_queue_alone_when_nobody_has_room(valkey):
    drain = scripts.register(valkey, "route_queued_chat")
    org = await _license(valkey, {"a@x": ("normal", 1)})
    await valkey.hset(keys.routing_load(org), "a@x", 1)
    queue = keys.group_queue(org, 0)
    await valkey.rpush(queue, "c1 t1")
    assert await drain(keys=[*_keys(org), queue, keys.chat_operations(org)], args=[1]) is None
    assert await valkey.lrange(queue, 0, -1) == [b"c1 t1"]
    assert await _operations(valkey, org) == []


async def test_take_chat_counts_a_hand_join_once_and_notes_it(valkey):
    """An agent added to a chat twice at once (two administrators, or a retry) holds one place of their capacity."""
    take = scripts.register(valkey, "take_chat")
    org = f"r{secrets.token_hex(6)}"
    k = [keys.routing_load(org), keys.agent_chats(org, "a@x"), keys.chat_operations(org)]
    await asyncio.gather(*(take(keys=k, args=["a@x", "c1", "t1", 5]) for _ in range(3)))
    assert await valkey.hget(keys.routing_load(org), "a@x") == b"1"
    assert set(await valkey.smembers(keys.agent_chats(org, "a@x"))) == {b"c1"}
    assert await _operations(valkey, org) == ["join c1 t1 a@x"]


async def test_recount_load_sets_each_agents_load_to_their_chats(valkey):
    """A load that drifted from the chats the agent is in (data written before loads and chat sets were kept in one
    step, or by hand) is corrected: a lost place is given back, a missing one taken."""
    recount = scripts.register(valkey, "recount_load")
    org = f"r{secrets.token_hex(6)}"
    await valkey.hset(keys.routing_load(org), mapping={"a@x": 3, "b@x": 0, "c@x": 1})
    await valkey.sadd(keys.agent_chats(org, "b@x"), "c1", "c2")
    await valkey.sadd(keys.agent_chats(org, "c@x"), "c3")
    assert await recount(keys=[keys.routing_load(org)]) == 2
    assert await valkey.hgetall(keys.routing_load(org)) == {b"a@x": b"0", b"b@x": b"2", b"c@x": b"1"}
    assert await recount(keys=[keys.routing_load(org)]) == 0


async def test_the_repair_lock_is_released_only_by_its_holder_and_a_license_unlisted_only_when_stale(valkey):
    unlock = scripts.register(valkey, "release_lock")
    lock = f"lock{{{secrets.token_hex(4)}}}"
    await valkey.set(lock, "mine")
    assert await unlock(keys=[lock], args=["theirs"]) == 0
    assert await unlock(keys=[lock], args=["mine"]) == 1
    assert await valkey.get(lock) is None

    drop = scripts.register(valkey, "drop_repair_license")
    listed = f"orgs{{{secrets.token_hex(4)}}}"
    await valkey.zadd(listed, {"old": 100, "fresh": 5000})
    assert await drop(keys=[listed], args=["fresh", 1000]) == 0  # listed again since: about to note an operation
    assert await drop(keys=[listed], args=["old", 1000]) == 1
    assert await drop(keys=[listed], args=["gone", 1000]) == 0
    assert await valkey.zrange(listed, 0, -1) == [b"fresh"]


async def test_release_chat_counts_a_chat_out_once_and_never_below_zero(valkey):
    """An agent leaving a chat and its thread ending at the same time: the load drops by one, not two."""
    release = scripts.register(valkey, "release_chat")
    org = f"r{secrets.token_hex(6)}"
    k = [keys.routing_load(org), keys.agent_chats(org, "a@x"), keys.agent_idle_chats(org, "a@x")]
    await valkey.hset(keys.routing_load(org), "a@x", 2)
    await valkey.sadd(keys.agent_chats(org, "a@x"), "c1", "c2")
    assert sorted(await asyncio.gather(*(release(keys=k, args=["a@x", "c1"]) for _ in range(3)))) == [0, 0, 1]
    assert await valkey.hget(keys.routing_load(org), "a@x") == b"1"
    await valkey.hset(keys.routing_load(org), "a@x", 0)  # (counted out by hand already)
    assert await release(keys=k, args=["a@x", "c2"]) == 1
    assert await valkey.hget(keys.routing_load(org), "a@x") == b"0"


async def test_an_idle_chat_leaves_the_load_once_comes_back_once_and_the_recount_agrees(valkey):
    """The inactivity timer (core/inactivity.py) and a message racing it: idle and wake each count once however often
    they are asked, a release of an idle chat does not count it out twice, and the repair pass's recount leaves idle
    chats out of the load."""
    idle, wake = scripts.register(valkey, "idle_chat"), scripts.register(valkey, "wake_chat")
    release, recount = scripts.register(valkey, "release_chat"), scripts.register(valkey, "recount_load")
    org = f"r{secrets.token_hex(6)}"
    k = [keys.routing_load(org), keys.agent_chats(org, "a@x"), keys.agent_idle_chats(org, "a@x")]
    await valkey.hset(keys.routing_load(org), "a@x", 2)
    await valkey.sadd(keys.agent_chats(org, "a@x"), "c1", "c2")
    assert sorted(await asyncio.gather(*(idle(keys=k, args=["a@x", "c1"]) for _ in range(3)))) == [0, 0, 1]
    assert await idle(keys=k, args=["a@x", "gone"]) == 0  # not the agent's chat: nothing to count out
    assert await valkey.hget(keys.routing_load(org), "a@x") == b"1"
    assert await recount(keys=[keys.routing_load(org)]) == 0  # two chats, one idle: a load of 1 is right
    assert sorted(await asyncio.gather(*(wake(keys=k, args=["a@x", "c1"]) for _ in range(3)))) == [0, 0, 1]
    assert await valkey.hget(keys.routing_load(org), "a@x") == b"2"
    await idle(keys=k, args=["a@x", "c2"])
    assert await release(keys=k, args=["a@x", "c2"]) == 1  # an idle chat ends: it was counted out already
    assert await valkey.hget(keys.routing_load(org), "a@x") == b"1"
    assert not await valkey.sismember(keys.agent_idle_chats(org, "a@x"), "c2")
    assert await wake(keys=k, args=["a@x", "c2"]) == 0  # a late wake of an ended chat counts nothing
    assert await valkey.hget(keys.routing_load(org), "a@x") == b"1"


async def test_routing_skips_the_agents_a_chat_moved_on_from(valkey):
    org = await _license(valkey, {"a@x": ("normal", 3), "b@x": ("normal", 3)})
    route = scripts.register(valkey, "route_chat")
    ops = keys.chat_operations(org)
    assert await route(keys=[*_keys(org), ops], args=[1, "", "c1", "t1", '["a@x"]']) == b"b@x"
    assert await route(keys=[*_keys(org), ops], args=[2, "", "c2", "t2", '["a@x","b@x"]']) is None
    assert await route(keys=[*_keys(org), ops], args=[3, "", "c3", "t3"]) == b"a@x"  # no list: anyone


async def test_mark_idle_loses_to_a_message_or_a_closed_thread(valkey):
    mark = scripts.register(valkey, "mark_idle")
    chat = keys.chat(f"c{secrets.token_hex(6)}")
    await valkey.hset(chat, mapping={"active_thread": "t1", "last_event_ms": 1000})
    assert await mark(keys=[chat], args=["t1", 999]) == 0  # a message came after the timer looked
    assert await mark(keys=[chat], args=["t0", 1000]) == 0  # another thread is the active one
    assert await valkey.hget(chat, "idle") is None
    assert await mark(keys=[chat], args=["t1", 1000]) == 1
    assert await valkey.hget(chat, "idle") == b"1"
    await valkey.delete(chat)


async def test_claim_transfer_loses_to_an_answer_a_new_agent_or_a_closed_thread(valkey):
    """The inactivity timer moves a chat on only as it saw it: an agent who answered (or started typing) in between,
    another change of agents, or another thread keep it where it is."""
    claim = scripts.register(valkey, "claim_transfer")
    chat = keys.chat(f"c{secrets.token_hex(6)}")
    await valkey.hset(chat, mapping={"active_thread": "t1", "agent_ids": '["a@x"]', "awaiting_ms": "1000"})
    assert await claim(keys=[chat], args=["t1", '["a@x"]', "999", '["a@x"]']) == 0  # awaiting changed
    assert await claim(keys=[chat], args=["t1", '["b@x"]', "1000", '["b@x"]']) == 0  # other agents by now
    assert await claim(keys=[chat], args=["t0", '["a@x"]', "1000", '["a@x"]']) == 0  # another thread
    assert await valkey.hget(chat, "agent_ids") == b'["a@x"]'
    assert sorted(await asyncio.gather(*(claim(keys=[chat], args=["t1", '["a@x"]', "1000", '["a@x"]'])
                                         for _ in range(3)))) == [0, 0, 1]  # two workers: one moves it
    assert await valkey.hmget(chat, ["agent_ids", "tried_agents"]) == [b"[]", b'["a@x"]']
    await valkey.delete(chat)


async def test_predict_agent_names_route_chats_choice_and_writes_nothing(valkey):
    """``get_predicted_agent``'s script: the agent ``route_chat`` would pick next, asked again and again without it
    ever counting (no load, no chat set, no join in flight), so a prediction never takes an agent's capacity."""
    predict = scripts.register(valkey, "predict_agent")
    route = scripts.register(valkey, "route_chat")
    org = await _license(valkey, {"a@x": ("normal", 1), "b@x": ("normal", 2)})
    await valkey.hset(keys.routing_last(org), mapping={"a@x": 5, "b@x": 9})
    before = {k: await valkey.dump(k) for k in _keys(org)}
    assert [await predict(keys=_keys(org), args=[]) for _ in range(5)] == [b"a@x"] * 5
    assert {k: await valkey.dump(k) for k in _keys(org)} == before
    assert await valkey.exists(keys.agent_chats(org, "a@x"), keys.chat_operations(org)) == 0
    # and it is route_chat's choice: that agent gets the chat, and the next prediction follows the new loads
    assert await route(keys=[*_keys(org), keys.chat_operations(org)], args=[10, "", "c1", "t"]) == b"a@x"
    assert await predict(keys=_keys(org), args=[]) == b"b@x"
    await route(keys=[*_keys(org), keys.chat_operations(org)], args=[11, "", "c2", "t"])
    await route(keys=[*_keys(org), keys.chat_operations(org)], args=[12, "", "c3", "t"])
    assert await predict(keys=_keys(org), args=[]) is None  # everyone at their limit: the chat would queue
