"""list_archives through its index (core/archives.py): filters, words, pages, the caller's scope, threads archived
before the index, and a search that reads only the chats of its page."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from tests.support import AgentClient, CustomerClient
from widget_server import keys
from widget_server.bootstrap import create_agent
from widget_server.core import scripts
from widget_server.protocol.config import Group, LicenseConfig

from .conftest import new_license

# --- the search script, on the session's Valkey ----------------------------------------------------------------------


async def _search(valkey, org: str, clauses: list[list[str]], lo="-inf", hi="+inf", desc=True, offset=0, limit=10):
    search = scripts.register(valkey, "archive_search")
    flat = [k for c in clauses for k in c]
    got = await search(keys=[*flat, keys.archive_scratch(org, secrets.token_hex(4))],
                       args=[lo, hi, "1" if desc else "0", offset, limit, len(clauses), *(len(c) for c in clauses)])
    return int(got[0]), [m.decode() for m in got[1:]]


async def test_the_search_script_intersects_clauses_unions_within_one_and_pages_by_close_time(valkey):
    org = f"o{secrets.token_hex(4)}"
    every, red, blue, ann = (keys.archive_index(org, k, v) for k, v in (("x", "all"), ("w", "red"), ("w", "blue"),
                                                                         ("a", "ann")))
    members = {f"c{i} t{i}": 1000 + i for i in range(10)}
    await valkey.zadd(every, members)
    await valkey.zadd(red, {m: s for m, s in members.items() if (s - 1000) % 2 == 0})  # c0 c2 c4 c6 c8
    await valkey.zadd(blue, {m: s for m, s in members.items() if (s - 1000) % 3 == 0})  # c0 c3 c6 c9
    await valkey.zadd(ann, {"c6 t6": 1006, "c7 t7": 1007})

    assert await _search(valkey, org, [[every]], limit=3) == (10, ["c9 t9", "c8 t8", "c7 t7"])
    assert await _search(valkey, org, [[every]], offset=9, limit=3) == (10, ["c0 t0"])
    assert await _search(valkey, org, [[every]], desc=False, offset=2, limit=2) == (10, ["c2 t2", "c3 t3"])
    assert await _search(valkey, org, [[every], [red], [blue]]) == (2, ["c6 t6", "c0 t0"])  # both words
    assert await _search(valkey, org, [[every], [red, blue]], limit=3) == (7, ["c9 t9", "c8 t8", "c6 t6"])  # either
    assert await _search(valkey, org, [[every], [red, blue], [ann]]) == (1, ["c6 t6"])
    assert await _search(valkey, org, [[every], [red]], lo=1003, hi=1007, desc=False) == (2, ["c4 t4", "c6 t6"])
    assert await _search(valkey, org, [[every], [red]], lo="(1004", hi="(1008") == (1, ["c6 t6"])
    assert await _search(valkey, org, [[every], [red], [blue]], offset=1, limit=5) == (2, ["c0 t0"])
    assert await _search(valkey, org, [[every], [keys.archive_index(org, "w", "none")]]) == (0, [])
    # a many-set clause walked as a union (it is the smallest) leaves no scratch key behind
    assert await _search(valkey, org, [[every], [ann, keys.archive_index(org, "g", "9")]]) == (2, ["c7 t7", "c6 t6"])
    assert [k async for k in valkey.scan_iter(match=f"{keys.P}:{{{org}}}:arch:tmp:*")] == []


# --- list_archives through the server ----------------------------------------------------------------------------------


@pytest.fixture
async def desk(server, valkey) -> AsyncIterator[tuple[str, AgentClient, AgentClient, AgentClient]]:
    """A license with groups 0 and 1: an administrator, ann (group 0) and cid (group 1)."""
    org = await new_license(valkey, LicenseConfig(groups=[Group(id=0, name="General"), Group(id=1, name="Sales")]))
    clients = []
    for name, role, group in (("boss", "administrator", 0), ("ann", "normal", 0), ("cid", "normal", 1)):
        email = f"{name}-{secrets.token_hex(4)}@example.com"
        creds = await create_agent(valkey, org, email, name.title(), role, 3, [(group, "normal")])
        clients.append(AgentClient(server.url, email, creds["personal_access_token"]))
    yield org, *clients
    for client in clients:
        await client.aclose()


async def _archived_chat(server, org: str, group: int, text: str, customer: CustomerClient | None = None) -> str:
    """A chat in ``group`` that its customer started with ``text`` and ended (nobody accepting: it was queued)."""
    own = customer is None
    customer = customer or await CustomerClient(server.url, org).authorize()
    try:
        started = await customer.ok("start_chat", {"chat": {"access": {"group_ids": [group]},
                                                            "thread": {"events": [{"type": "message", "text": text}]}}})
        await customer.ok("deactivate_chat", {"id": started["chat_id"]})
        return started["chat_id"]
    finally:
        if own:
            await customer.aclose()


async def _ids(agent: AgentClient, **payload) -> list[str]:
    return [c["id"] for c in (await agent.ok("list_archives", payload))["chats"]]


async def test_an_agent_finds_only_the_archives_of_their_groups_whatever_the_filter(server, desk):
    org, boss, ann, cid = desk
    general = await _archived_chat(server, org, 0, "Where is my parcel?")
    sales = await _archived_chat(server, org, 1, "Secret discount code for my parcel")
    assert await _ids(boss) == [sales, general]  # an administrator reads them all, newest first
    assert await _ids(ann) == [general]
    assert await _ids(cid) == [sales]
    for filters in ({"query": "secret discount"}, {"group_ids": [1]}, {"query": "parcel"}):
        got = await ann.ok("list_archives", {"filters": filters})
        assert sales not in [c["id"] for c in got["chats"]] and got["found_chats"] == (1 if "parcel" in str(filters) else 0)
    sales_customer = (await boss.ok("get_chat", {"chat_id": sales}))["users"]
    customer_id = next(u["id"] for u in sales_customer if u["type"] == "customer")
    assert await _ids(ann, filters={"customer_id": customer_id}) == []
    assert await _ids(cid, filters={"customer_id": customer_id}) == [sales]


async def test_filters_words_and_pages(server, desk, valkey):
    org, boss, _, _ = desk
    customer = await CustomerClient(server.url, org).authorize()
    try:
        mine = [await _archived_chat(server, org, 0, f"order number {i} is late", customer) for i in range(5)]
    finally:
        await customer.aclose()
    other = await _archived_chat(server, org, 0, "The ORDER arrived, thanks")

    assert await _ids(boss, filters={"query": "order"}) == [other, *reversed(mine)]
    assert await _ids(boss, filters={"query": "Order LATE"}) == list(reversed(mine))  # every word, any case
    assert await _ids(boss, filters={"query": "number 3"}) == [mine[3]]
    assert await _ids(boss, filters={"query": "order shipped"}) == []
    assert await _ids(boss, filters={"customer_id": customer.id}, sort_order="asc") == mine

    first = await boss.ok("list_archives", {"filters": {"customer_id": customer.id}, "limit": 2})
    assert [c["id"] for c in first["chats"]] == [mine[4], mine[3]] and first["found_chats"] == 5
    second = await boss.ok("list_archives", {"page_id": first["next_page_id"]})
    third = await boss.ok("list_archives", {"page_id": second["next_page_id"]})
    assert [c["id"] for c in second["chats"]] == [mine[2], mine[1]]
    assert [c["id"] for c in third["chats"]] == [mine[0]] and "next_page_id" not in third

    closed = [(await valkey.zscore(keys.org_archives(org), f"{c} {(await boss.ok('get_chat', {'chat_id': c}))['thread']['id']}"))
              for c in (mine[1], mine[3])]
    def at(ms: float) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")

    got = await _ids(boss, filters={"customer_id": customer.id, "from": at(closed[0]), "to": at(closed[1])})
    assert got == [mine[3], mine[2], mine[1]]


async def test_threads_archived_before_the_index_existed_are_found(server, desk, valkey):
    org, boss, ann, _ = desk
    chats = [await _archived_chat(server, org, 0, f"legacy question {i}") for i in range(3)]
    assert await _ids(boss, filters={"query": "legacy"}) == list(reversed(chats))
    index = [k async for k in valkey.scan_iter(match=f"{keys.P}:{{{org}}}:arch:*")]
    assert keys.archives_indexed(org).encode() in index
    await valkey.delete(*index)  # as an earlier version left the store: the archives, no index
    assert await valkey.zcard(keys.org_archives(org)) == 3
    assert await _ids(ann, filters={"query": "legacy question"}) == list(reversed(chats))
    assert await valkey.exists(keys.archives_indexed(org))


async def test_a_search_reads_the_chats_of_its_page_not_the_whole_archive(server, desk, valkey):
    org, boss, _, _ = desk
    for i in range(24):
        await _archived_chat(server, org, 0, f"question {i}")
    needle = await _archived_chat(server, org, 0, "a needle in the haystack")
    await boss.ok("list_archives", {"filters": {"query": "needle"}})  # (the license's first search: indexed)

    async def reads() -> int:
        stats = await valkey.info("commandstats")
        return sum(stats.get(f"cmdstat_{c}", {}).get("calls", 0) for c in ("hgetall", "hget", "hmget"))

    before = await reads()
    assert await _ids(boss, filters={"query": "needle"}) == [needle]
    needle_reads = await reads() - before
    before = await reads()
    assert len(await _ids(boss, limit=2)) == 2
    page_reads = await reads() - before
    # a chat and its thread read for each chat shown (plus the caller's record), never one per archived thread
    assert needle_reads < 12 and page_reads < 16, (needle_reads, page_reads)
