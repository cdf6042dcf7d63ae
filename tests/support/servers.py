"""Real server processes and local HTTP servers: the widget server run as ``python -m widget_server serve``, a
static "customer site" on another origin, and a webhook receiver."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from .ports import free_port


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
                 port: int | None = None, tls_names: list[str] | None = None, checkout: Path | None = None,
                 command: list[str] | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.checkout = checkout
        self.command = command or [sys.executable, "-m", "widget_server"]
        """How the CLI is run: this interpreter's ``widget_server``, or e.g. an installed wheel's ``widget-server``."""
        """Serve this checkout's ``widget_server`` (another commit's, in a worktree) instead of the installed one."""
        self.port = port or free_port()
        tls = tls_names is not None
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.ws_url = f"{'wss' if tls else 'ws'}://127.0.0.1:{self.port}"
        self.tls_names = tls_names
        """With TLS: the DNS names a self-signed certificate (made with the openssl CLI) covers, besides 127.0.0.1."""
        self.cafile: Path | None = None
        self.ssl_context: ssl.SSLContext | bool = True
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("WIDGET_")}
        # every server of a test session reads the same webhook stream, and the tests' receivers listen on
        # 127.0.0.1: all of them must be allowed to deliver there (a test of the refusal uses a Valkey of its own);
        # tests and benchmarks make many visitors, calls and messages from one address (and some tests many messages
        # as one customer): the per-address and per-customer limits are tested where they are set lower
        self.env.update({"WIDGET_RATE_LIMIT_PER_MINUTE": "100000", "WIDGET_NEW_VISITORS_PER_MINUTE": "1000000",
                         "WIDGET_TRACKING_CALLS_PER_MINUTE": "1000000", "WIDGET_TOKEN_GRANTS_PER_MINUTE": "1000000",
                         "WIDGET_CUSTOMER_EVENTS_PER_MINUTE": "100000", "WIDGET_ADDRESS_EVENTS_PER_MINUTE": "100000",
                         "WIDGET_LOG_LEVEL": "warning",
                         "WIDGET_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32",
                         "WIDGET_CUSTOMER_URL_ALLOWED_NETWORKS": "127.0.0.1/32"})
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
                [*self.command, "serve", "--host", "127.0.0.1", "--port", str(self.port),
                 "--workers", str(self.workers), "--data-dir", str(self.data_dir), *tls],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.checkout,
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


class WebhookReceiver:
    """A small local HTTP server that records webhook deliveries; it answers 500 to the first ``fail`` requests.

    ``host`` is the loopback address it listens on (127.0.0.2 is another host as far as an address check can tell);
    with ``hold`` each request waits for that event before it is answered (a hanging endpoint), and with
    ``redirect`` every answer is a 302 to that URL."""

    def __init__(self, fail: int = 0, port: int | None = None, host: str = "127.0.0.1",
                 hold: Any = None, redirect: str | None = None) -> None:
        import http.server
        import threading

        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.answered = 0
        self.fail = fail
        self.port = port or free_port()
        self.url = f"http://{host}:{self.port}/hook"
        receiver = self
        lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    status = 500 if len(receiver.requests) <= receiver.fail else 200
                if hold is not None:
                    hold.wait()
                if redirect is not None:
                    self.send_response(302)
                    self.send_header("Location", redirect)
                else:
                    self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with lock:
                    receiver.answered += 1

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer((host, self.port), Handler)
        self.server.daemon_threads = True
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
