"""The ASGI apps ``rtm_load.py`` serves beside ``python -m widget_server serve``. Not a test, not the product.

- ``socketio_app``: the chat relay a Python team would build instead: python-socketio (``AsyncServer``, ASGI) with its
  ``AsyncRedisManager`` on Valkey (``BENCH_VALKEY_URL``, a ``valkey://`` URL), served by uvicorn. Same pattern as the
  Node server in ``socketio_node/server.js`` (keep the two in step):

  * connect with ``auth = {"role": "customer" | "agent", "id": …}``; an agent's socket joins the room ``agent:<id>``;
  * ``start_chat`` (ack ``{"chat_id"}``): picks the connected agent with the fewest chats, stores the chat
    (``HSET chat:<id>``), puts the customer's and the agent's sockets in the room ``<chat id>`` and emits
    ``incoming_chat`` to the agent;
  * ``send_event {chat_id, text}`` (ack ``{"event_id"}``): refused unless the socket is in that chat's room (a set per
    socket: python-socketio's ``rooms(sid)`` walks every room of the namespace, O(chats) per message), stores the
    event (``RPUSH chat:<id>:events``) and emits ``incoming_event {chat_id, event}`` to the room (the author's socket
    gets it too, as our server's author does);
  * heartbeats: engine.io's ping/pong every ``BENCH_PING_INTERVAL`` seconds.

  Routing is in memory (one process), the rest goes through Valkey as a multi-process deployment needs. It checks
  nothing else (no tokens, no validation of the text) and stores far less than ours does per event.
- ``floor_app``: the smallest websocket app: accept, then answer each text frame ``ping`` with ``pong``. Served by
  granian with our flags, its RSS per idle socket is granian's own cost, the floor under ours.
- ``traced_widget_app``: our app factory (``widget_server.app:create_app``, unchanged) with ``tracemalloc`` started in
  the worker before the app is built, behind a tiny ASGI wrapper that answers ``GET /__bench/heap`` (``?mark=1`` takes
  the baseline snapshot; without it: the traced bytes since the baseline, grouped by package, and the worker's socket
  count). Used only to measure our own per-connection Python state; tracemalloc slows everything down.
"""

from __future__ import annotations

import itertools
import json
import os
import time
import uuid
from collections import Counter
from typing import Any

# --- python-socketio -------------------------------------------------------------------------------------------------


def _build_socketio() -> Any:
    import socketio

    url = os.environ["BENCH_VALKEY_URL"]
    ping = float(os.environ.get("BENCH_PING_INTERVAL", "25"))
    manager = socketio.AsyncRedisManager(url)
    sio = socketio.AsyncServer(async_mode="asgi", client_manager=manager, transports=["websocket"],
                               ping_interval=ping, ping_timeout=20, cors_allowed_origins=[],
                               logger=False, engineio_logger=False)
    users: dict[str, tuple[str, str]] = {}  # sid -> (role, id)
    chats_of: dict[str, set[str]] = {}  # sid -> its chats' rooms (sio.rooms(sid) walks every room of the namespace)
    agent_sids: dict[str, set[str]] = {}
    load: Counter[str] = Counter()
    seq = itertools.count(1)
    store: Any = None

    def valkey() -> Any:
        nonlocal store
        if store is None:
            import valkey.asyncio as av

            store = av.Valkey.from_url(url.replace("valkey://", "redis://", 1))
        return store

    @sio.event
    async def connect(sid: str, environ: dict, auth: Any) -> bool:
        if not isinstance(auth, dict) or auth.get("role") not in ("customer", "agent") or not auth.get("id"):
            return False
        role, uid = auth["role"], str(auth["id"])
        users[sid] = (role, uid)
        chats_of[sid] = set()
        if role == "agent":
            agent_sids.setdefault(uid, set()).add(sid)
            load.setdefault(uid, 0)
            await sio.enter_room(sid, f"agent:{uid}")
        return True

    @sio.event
    async def disconnect(sid: str, *args: Any) -> None:
        role, uid = users.pop(sid, ("", ""))
        chats_of.pop(sid, None)
        if role == "agent":
            sids = agent_sids.get(uid, set())
            sids.discard(sid)
            if not sids:
                agent_sids.pop(uid, None)
                load.pop(uid, None)

    @sio.event
    async def start_chat(sid: str, data: Any) -> dict:
        role, uid = users.get(sid, ("", ""))
        if role != "customer":
            return {"error": "customers only"}
        if not load:
            return {"error": "no agent"}
        agent = min(load, key=load.__getitem__)
        load[agent] += 1
        chat_id = uuid.uuid4().hex[:10]
        await valkey().hset(f"chat:{chat_id}", mapping={"customer_id": uid, "agent_id": agent,
                                                         "created_at": time.time()})
        for member in (sid, *agent_sids.get(agent, ())):
            await sio.enter_room(member, chat_id)
            chats_of[member].add(chat_id)
        await sio.emit("incoming_chat", {"chat_id": chat_id, "customer_id": uid}, room=f"agent:{agent}")
        return {"chat_id": chat_id}

    @sio.event
    async def send_event(sid: str, data: Any) -> dict:
        role, uid = users.get(sid, ("", ""))
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            return {"error": "validation"}
        chat_id = data.get("chat_id")
        if not isinstance(chat_id, str) or chat_id not in chats_of.get(sid, ()):
            return {"error": "not in this chat"}
        event = {"id": f"{chat_id}_{next(seq)}", "type": "message", "author_id": uid, "text": data["text"],
                 "created_at": time.time()}
        await valkey().rpush(f"chat:{chat_id}:events", json.dumps(event))
        await sio.emit("incoming_event", {"chat_id": chat_id, "event": event}, room=chat_id)
        return {"event_id": event["id"]}

    return socketio.ASGIApp(sio, socketio_path="socket.io", other_asgi_app=_ready)


async def _ready(scope: dict, receive: Any, send: Any) -> None:
    """``GET /readyz`` for the orchestrator; anything else 404."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    status = 200 if scope["path"] == "/readyz" else 404
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok" if status == 200 else b"no"})


def socketio_app() -> Any:
    """uvicorn factory (``--factory rtm_apps:socketio_app``)."""
    return _build_socketio()


# --- the floor: granian with the smallest websocket app ------------------------------------------------------------


async def floor_app(scope: dict, receive: Any, send: Any) -> None:
    if scope["type"] != "websocket":
        await _ready(scope, receive, send)
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") == "ping":
            await send({"type": "websocket.send", "text": "pong"})


# --- our app with tracemalloc ----------------------------------------------------------------------------------------


def _package_of(filename: str) -> str:
    if filename == "<unknown>":
        return "no Python frame (granian's Rust side)"
    for marker in ("/widget_server/", "/litestar/", "/valkey/", "/granian/", "/msgspec/", "/asyncio/"):
        if marker in filename:
            return marker.strip("/")
    return filename.rsplit("/", 1)[-1]


def traced_widget_app() -> Any:
    """granian factory (``--factory rtm_apps:traced_widget_app``): our app, its allocations traced from the start."""
    import tracemalloc

    tracemalloc.start(int(os.environ.get("BENCH_TRACE_FRAMES", "1")))
    import logging

    from widget_server.app import create_app

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")  # as serve

    app = create_app()
    baseline: list[Any] = []

    async def wrapper(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/__bench/heap":
            import gc
            import linecache

            gc.collect()
            # linecache: source lines read to format a logged traceback, a process-wide cache, not per socket
            snapshot = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, linecache.__file__), tracemalloc.Filter(False, tracemalloc.__file__),
                 tracemalloc.Filter(False, __file__)])  # (and this wrapper's own frame per connection)
            if b"mark=1" in scope.get("query_string", b"") or not baseline:
                baseline[:] = [snapshot]
            by_package: Counter[str] = Counter()
            top = []
            for stat in snapshot.compare_to(baseline[0], "filename"):
                by_package[_package_of(stat.traceback[-1].filename)] += stat.size_diff
            for stat in snapshot.compare_to(baseline[0], "traceback")[:25]:
                frame = stat.traceback[-1]  # the most recent frame (tracebacks run oldest first)
                top.append({"where": f"{frame.filename.split('site-packages/')[-1]}:{frame.lineno}",
                            "bytes": stat.size_diff, "count": stat.count_diff,
                            "traceback": [f"{f.filename.split('site-packages/')[-1]}:{f.lineno}"
                                          for f in stat.traceback]})
            services = getattr(app, "services", None)  # our app's services (the ASGI front in front of Litestar holds them)
            sockets = services.worker.sockets if services is not None else app.state.sockets
            body = json.dumps({"traced_bytes_since_mark": sum(by_package.values()),
                               "by_package": {k: v for k, v in by_package.items() if v},
                               "top": top, "rtm_sockets": len(sockets),
                               "traced_now": tracemalloc.get_traced_memory()[0]}).encode()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    return wrapper
