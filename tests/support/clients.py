"""Clients speaking the real APIs over HTTP and websockets: a customer (Customer Chat API), an agent (Agent API)
and an RTM socket that separates responses from pushes."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx


class CustomerClient:
    """A customer of one license: a cookie-grant token and Web API calls, plus RTM sockets on any server."""

    def __init__(self, base_url: str, org: str, version: str = "3.6") -> None:
        self.base_url = base_url
        self.org = org
        self.version = version
        self.http = httpx.AsyncClient(base_url=base_url, timeout=10)
        self.token = ""
        self.id = ""

    async def authorize(self, group: int | None = None) -> "CustomerClient":
        path = "/v2/customer/token" if group is None else f"/v2/customer/{self.org}/{group}/token"
        r = await self.http.post(path, json={"grant_type": "cookie", "client_id": "test", "response_type": "token",
                                             "organization_id": self.org})
        r.raise_for_status()
        body = r.json()
        self.token, self.id = body["access_token"], body["entity_id"]
        return self

    async def call(self, action: str, payload: Any = None, *, token: str | None = None,
                   version: str | None = None) -> httpx.Response:
        token = self.token if token is None else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.http.post(f"/v{version or self.version}/customer/action/{action}",
                                    params={"organization_id": self.org}, json=payload or {}, headers=headers)

    async def ok(self, action: str, payload: Any = None, **kw: Any) -> Any:
        r = await self.call(action, payload, **kw)
        assert r.status_code == 200, (action, r.status_code, r.text)
        return r.json()

    async def rtm(self, base_url: str | None = None, version: str | None = None, login: bool = True,
                  **login_payload: Any) -> "Socket":
        base = (base_url or self.base_url).replace("http", "ws", 1)
        url = f"{base}/v{version or self.version}/customer/rtm/ws?organization_id={self.org}"
        return await Socket.open(url, f"Bearer {self.token}" if login else None, login_payload)

    async def aclose(self) -> None:
        await self.http.aclose()


class Socket:
    """An RTM connection that separates responses (by request_id) from pushes."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.pushes: asyncio.Queue[dict] = asyncio.Queue()
        self.responses: dict[str, asyncio.Future] = {}
        self.unmatched: asyncio.Queue[dict] = asyncio.Queue()
        self.login: dict = {}
        self._n = 0
        self._reader = asyncio.create_task(self._read())
        self.closed = asyncio.Event()

    @classmethod
    async def open(cls, url: str, token: str | None, login_payload: dict[str, Any]) -> "Socket":
        """Connect, and log in with ``token`` unless it is None."""
        import websockets

        sock = cls(await websockets.connect(url, max_size=None))
        if token is not None:
            reply = await sock.request("login", {"token": token, **login_payload})
            assert reply["success"], reply
            sock.login = reply["payload"]
        return sock

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                if frame.get("type") == "push":
                    self.pushes.put_nowait(frame)
                    continue
                fut = self.responses.pop(str(frame.get("request_id")), None)
                if fut is not None and not fut.done():
                    fut.set_result(frame)
                else:
                    self.unmatched.put_nowait(frame)
        except Exception:
            pass
        finally:
            self.closed.set()

    async def send_raw(self, data: str | bytes) -> None:
        await self.ws.send(data)

    async def request(self, action: str, payload: Any = None, timeout: float = 10.0, **frame: Any) -> dict:
        self._n += 1
        rid = str(self._n)
        fut = asyncio.get_running_loop().create_future()
        self.responses[rid] = fut
        await self.ws.send(json.dumps({"action": action, "request_id": rid, "payload": payload or {}, **frame}))
        return await asyncio.wait_for(fut, timeout)

    async def push(self, action: str | None = None, timeout: float = 5.0) -> dict:
        """The next push (of ``action``, skipping others)."""
        deadline = time.monotonic() + timeout
        while True:
            frame = await asyncio.wait_for(self.pushes.get(), max(0.01, deadline - time.monotonic()))
            if action is None or frame["action"] == action:
                return frame

    async def no_push(self, action: str, wait: float = 0.5) -> None:
        try:
            frame = await self.push(action, timeout=wait)
        except asyncio.TimeoutError:
            return
        raise AssertionError(f"unexpected push {frame}")

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()


class AgentClient:
    """An agent with a personal access token: Agent Web API calls and RTM sockets."""

    def __init__(self, base_url: str, agent_id: str, token: str) -> None:
        self.base_url = base_url
        self.id = agent_id
        self.token = token
        self.http = httpx.AsyncClient(base_url=base_url, timeout=10)

    async def call(self, action: str, payload: Any = None, version: str = "3.6") -> httpx.Response:
        return await self.http.post(f"/v{version}/agent/action/{action}", json=payload or {},
                                    headers={"Authorization": f"Bearer {self.token}"})

    async def ok(self, action: str, payload: Any = None) -> Any:
        r = await self.call(action, payload)
        assert r.status_code == 200, (action, r.status_code, r.text)
        return r.json()

    async def rtm(self, base_url: str | None = None, **login_payload: Any) -> Socket:
        base = (base_url or self.base_url).replace("http", "ws", 1)
        return await Socket.open(f"{base}/v3.6/agent/rtm/ws", f"Bearer {self.token}", login_payload)

    async def aclose(self) -> None:
        await self.http.aclose()


async def configure(agent: AgentClient, action: str, payload: Any = None) -> httpx.Response:
    """A Configuration API call (``/v3.6/configuration/action/<action>``) with the agent's personal access token."""
    return await agent.http.post(f"/v3.6/configuration/action/{action}", json=payload or {},
                                 headers={"Authorization": f"Bearer {agent.token}"})
