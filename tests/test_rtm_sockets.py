"""The RTM transport in-process: the app is spoken to over ASGI as granian speaks to it, so a test can hold requests
in the core and look at what a socket keeps. (The other RTM tests drive a real server over real websockets.)"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support import CustomerClient
from widget_server.api.fast_rtm import RtmSocket
from widget_server.api.rtm import RtmConnection
from widget_server.api.shutdown import drain
from widget_server.app import create_app
from widget_server.settings import load_settings


class AsgiSocket:
    """A websocket client that is the ASGI server's side of one socket: what it sends is ``websocket.receive``."""

    def __init__(self, app: Any, path: str, query: str = "") -> None:
        self.to_app: asyncio.Queue[dict] = asyncio.Queue()
        self.from_app: asyncio.Queue[dict] = asyncio.Queue()
        scope = {"type": "websocket", "asgi": {"version": "3.0"}, "http_version": "1.1", "scheme": "ws",
                 "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
                 "headers": [(b"host", b"chat.example.com"), (b"origin", b"https://shop.example.com"),
                             (b"user-agent", b"test")],
                 "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80), "subprotocols": [], "state": {}}
        self.task = asyncio.create_task(app(scope, self.to_app.get, self.from_app.put))
        self.to_app.put_nowait({"type": "websocket.connect"})
        self.n = 0

    async def next(self, timeout: float = 5.0) -> dict:
        return await asyncio.wait_for(self.from_app.get(), timeout)

    async def frame(self) -> dict:
        message = await self.next()
        assert message["type"] == "websocket.send", message
        return json.loads(message["text"])

    def send(self, action: str, payload: Any = None, request_id: str | None = None) -> str:
        self.n += 1
        rid = request_id or f"r{self.n}"
        self.to_app.put_nowait({"type": "websocket.receive",
                                "text": json.dumps({"action": action, "request_id": rid, "payload": payload or {}})})
        return rid

    async def login(self, token: str) -> dict:
        assert (await self.next())["type"] == "websocket.accept"
        rid = self.send("login", {"token": f"Bearer {token}"})
        reply = await self.frame()
        assert reply["request_id"] == rid and reply["success"], reply
        # a login that brought no customer_side_storage is told what to keep, right after its answer
        assert (await self.frame())["action"] == "customer_side_storage_updated"
        return reply


@pytest.fixture
async def app(tmp_path, valkey_url, server) -> AsyncIterator[Any]:
    """Our app in this process, on the live server's Valkey (so its customer tokens are good here too)."""
    app = create_app(load_settings({}, valkey_url=valkey_url, data_dir=str(tmp_path)))
    to_app: asyncio.Queue[dict] = asyncio.Queue()
    from_app: asyncio.Queue[dict] = asyncio.Queue()
    lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                       to_app.get, from_app.put))
    to_app.put_nowait({"type": "lifespan.startup"})
    assert (await asyncio.wait_for(from_app.get(), 30))["type"] == "lifespan.startup.complete"
    yield app
    to_app.put_nowait({"type": "lifespan.shutdown"})
    await asyncio.wait_for(lifespan, 30)


def only_socket(app: Any) -> RtmConnection:
    (conn,) = app.services.worker.sockets
    return conn


async def test_an_idle_logged_in_socket_keeps_one_task_and_nothing_of_litestar(app, customer: CustomerClient):
    sock = AsgiSocket(app, "/v3.6/customer/rtm/ws", f"organization_id={customer.org}")
    await sock.login(customer.token)
    sock.send("ping", request_id="p")
    assert (await sock.frame())["request_id"] == "p"
    await asyncio.sleep(0.05)  # the writer task ends once the outbox is empty
    conn = only_socket(app)
    assert type(conn.socket) is RtmSocket  # served before Litestar's routing and middleware
    assert not hasattr(conn, "__dict__")
    mine = [t for t in asyncio.all_tasks() if getattr(t.get_coro(), "cr_frame", None) is not None
            and t.get_coro().cr_frame.f_locals.get("self") is conn]
    # the reader, waiting for the next frame; no writer, processor or timer task while there is nothing to do
    assert [t.get_coro().__name__ for t in mine] == ["_read"]
    sock.to_app.put_nowait({"type": "websocket.disconnect", "code": 1001})
    await asyncio.wait_for(sock.task, 5)
    assert not app.services.worker.sockets


async def test_requests_past_the_pending_limit_are_refused_and_a_drain_answers_the_rest_then_closes_with_1012(
        app, customer: CustomerClient, monkeypatch):
    services = app.services
    gate = asyncio.Event()
    list_chats = services.chats.list_chats

    async def held(caller: Any, req: Any) -> Any:
        await gate.wait()
        return await list_chats(caller, req)

    monkeypatch.setattr(services.chats, "list_chats", held)
    sock = AsgiSocket(app, "/v3.6/customer/rtm/ws", f"organization_id={customer.org}")
    await sock.login(customer.token)
    limit = services.settings.rtm_max_pending
    accepted = [sock.send("list_chats") for _ in range(limit)]
    refused = [sock.send("list_chats") for _ in range(2)]
    for rid in refused:  # answered at once, while the first ones wait in the core
        reply = await sock.frame()
        assert reply["request_id"] == rid and reply["payload"]["error"]["type"] == "pending_requests_limit_reached"

    draining = asyncio.create_task(drain(services.worker, timeout=10))
    await asyncio.sleep(0.05)
    sock.send("list_chats", request_id="after the drain began")  # not read any more
    late = AsgiSocket(app, "/v3.6/customer/rtm/ws", f"organization_id={customer.org}")
    assert (await late.next())["type"] == "websocket.accept"  # a socket opened while draining is sent away at once
    assert await late.next() == {"type": "websocket.close", "code": 1012, "reason": "service restart"}
    assert not draining.done()  # the requests read before the drain are still being handled

    gate.set()
    assert [(await sock.frame())["request_id"] for _ in accepted] == accepted  # answered, in order
    goodbye = await sock.frame()
    assert (goodbye["action"], goodbye["payload"]) == ("customer_disconnected",
                                                     {"reason": "service_temporarily_unavailable"})
    assert await sock.next() == {"type": "websocket.close", "code": 1012, "reason": "service restart"}
    await asyncio.wait_for(draining, 5)
    assert not services.worker.sockets and sock.task.done() and late.task.done()


async def test_a_drain_closes_a_socket_that_never_logged_in_without_a_goodbye(app, customer: CustomerClient):
    sock = AsgiSocket(app, "/v3.5/agent/rtm/ws")
    assert (await sock.next())["type"] == "websocket.accept"
    assert only_socket(app).version == "3.5"
    await asyncio.wait_for(drain(app.services.worker, timeout=10), 5)
    assert await sock.next() == {"type": "websocket.close", "code": 1012, "reason": "service restart"}
    assert sock.from_app.empty() and not app.services.worker.sockets


async def test_a_draining_worker_waits_for_an_http_request_whose_body_is_still_arriving(app, customer: CustomerClient):
    """Every HTTP request is counted where it enters the app (the fast layer in front of Litestar), so a drain waits
    for a page view whose body is still on its way, and it is answered before the worker stops."""
    worker = app.services.worker
    arrived = asyncio.Event()
    sent: list[dict] = []

    async def receive() -> dict:
        await arrived.wait()
        return {"type": "http.request", "more_body": False,
                "body": json.dumps({"type": "page_view", "url": "https://shop.example.com/", "token": customer.token})
                .encode()}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "scheme": "http", "method": "POST",
             "path": "/v1/track", "raw_path": b"/v1/track", "query_string": f"organization_id={customer.org}".encode(),
             "root_path": "", "headers": [(b"host", b"chat.example.com"), (b"content-type", b"text/plain")],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80), "state": {}}
    request = asyncio.create_task(app(scope, receive, send))
    for _ in range(1000):  # the request reaches the point where it waits for its body
        assert not request.done(), request
        await asyncio.sleep(0)
    assert worker.in_flight == 1
    draining = asyncio.create_task(drain(worker, timeout=60))
    for _ in range(20):
        await asyncio.sleep(0)
    assert worker.draining and not draining.done()  # it cannot finish while the request is in flight
    arrived.set()
    await request
    await asyncio.wait_for(draining, 5)
    assert worker.in_flight == 0 and sent[0]["status"] == 200
