"""Deployment (issue 19): Debian's nginx with ``deploy/nginx.conf`` (the README's configuration, this very file) in
front of a server, over TLS: a customer and an agent chat through it (the Web API, and RTM websockets upgraded by
nginx), nginx serves the built widget files itself (the gzip sibling, the same caching headers), the server takes the
visitor's address and the request id from nginx and not from the client, and hands out URLs of its public name.

nginx runs unprivileged (as ``nobody`` when the tests run as root), on 127.0.0.1 only, with its configuration, pid
file, logs and temporary files in a directory of its own. Skipped where nginx is not installed (``.ci/run`` installs
it)."""

from __future__ import annotations

import json
import os
import re
import shutil
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.support import LiveServer, Socket, free_port
from widget_server.bootstrap import create_license
from widget_server.widget.assets import DIST_DIR

SPOOFED = {"CF-Connecting-IP": "93.184.216.34", "True-Client-IP": "93.184.216.34", "X-Real-IP": "93.184.216.34",
           "X-Forwarded-For": "93.184.216.34"}
ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
# (no skip: `.ci/run` installs Debian's nginx, and a story that did not run proves nothing)
assert os.path.exists(NGINX), "nginx is not installed: bash .ci/run installs it (apt-get install -y nginx)"


class Nginx:
    def __init__(self, upstream: str, dist: Path) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="widget-nginx-"))
        os.chmod(self.dir, 0o755)
        root = os.geteuid() == 0
        if root:  # nginx runs as nobody: its directory is nobody's (it writes its logs and temporary files there)
            os.chown(self.dir, 65534, 65534)
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        cert, key = self.dir / "cert.pem", self.dir / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                        "-out", str(cert)], check=True, capture_output=True)
        os.chmod(key, 0o644)  # (read by the unprivileged nginx; the directory is the test's)
        self.cert = cert
        site = (ROOT / "deploy" / "nginx.conf").read_text()
        for name, value in {"@SERVER_NAME@": "127.0.0.1", "@LISTEN@": f"127.0.0.1:{self.port} ssl",
                            "@UPSTREAM@": upstream, "@DIST@": str(dist), "@CERT@": str(cert),
                            "@KEY@": str(key)}.items():
            site = site.replace(name, value)
        assert not re.search(r"@[A-Z_]+@", site), "a placeholder of deploy/nginx.conf was not filled in"
        (self.dir / "site.conf").write_text(site)
        temp = "\n".join(f"    {kind}_temp_path {self.dir}/{kind};" for kind in
                         ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (self.dir / "nginx.conf").write_text(f"""
worker_processes 1;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    access_log {self.dir}/access.log;
{temp}
    include {self.dir}/site.conf;
}}
""")
        drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if root else []
        self.proc = subprocess.Popen([*drop, NGINX, "-p", str(self.dir), "-c", str(self.dir / "nginx.conf"),
                                     "-g", "daemon off;"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.context = ssl.create_default_context(cafile=str(cert))
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(self.url + "/healthz", verify=self.context, timeout=1)
                return
            except httpx.HTTPError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"nginx did not start: {self.error_log()}") from None
                time.sleep(0.1)

    def error_log(self) -> str:
        path = self.dir / "error.log"
        return path.read_text() if path.exists() else (self.proc.stdout.read().decode() if self.proc.stdout else "")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def proxied(tmp_path: Path, valkey_url: str) -> Iterator[tuple[LiveServer, Nginx]]:
    port = free_port()
    live = LiveServer(tmp_path / "server", valkey_url, port=port, env={"WIDGET_TRUSTED_PROXY_HEADERS": "true",
                                                                      "WIDGET_LOG_LEVEL": "info"})
    # (the public URL names nginx's port: the proxy is made first, the server answers it once started)
    nginx = Nginx(f"127.0.0.1:{port}", DIST_DIR)
    live.env["WIDGET_PUBLIC_URL"] = nginx.url
    live.start()
    try:
        yield live, nginx
    finally:
        live.stop()
        nginx.stop()


async def test_a_customer_and_an_agent_chat_through_nginx(proxied, valkey, monkeypatch) -> None:
    live, nginx = proxied
    monkeypatch.setenv("SSL_CERT_FILE", str(nginx.cert))  # (the websockets client's default TLS context)
    creds = await create_license(valkey, f"owner-{os.urandom(4).hex()}@example.com", "pw")
    org, agent = creds["organization_id"], creds["agent"]
    wss = nginx.url.replace("https", "wss", 1)
    async with httpx.AsyncClient(base_url=nginx.url, verify=nginx.context, timeout=10) as http:
        # a visitor's token and chat over the Web API, through nginx; a spoofed address header does not reach the app
        r = await http.post("/v2/customer/token", json={"grant_type": "cookie", "client_id": "t",
                                                        "response_type": "token", "organization_id": org},
                            headers=SPOOFED)
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        assert len(r.headers["x-request-id"]) == 32  # nginx's $request_id, kept by the server

        agent_socket = await Socket.open(f"{wss}/v3.6/agent/rtm/ws", f"Bearer {agent['personal_access_token']}", {})
        # the customer's socket claims another address in every header a proxy could set: nginx replaces them
        customer_socket = Socket(await websockets.connect(f"{wss}/v3.6/customer/rtm/ws?organization_id={org}",
                                                          additional_headers=SPOOFED))
        assert (await customer_socket.request("login", {"token": f"Bearer {token}"}))["success"]
        try:
            started = await customer_socket.request("start_chat", {"chat": {"thread": {"events": [
                {"type": "message", "text": "hello through nginx"}]}}})
            assert started["success"], started
            chat_id = started["payload"]["chat_id"]
            pushed = await agent_socket.push("incoming_chat")
            assert pushed["payload"]["chat"]["id"] == chat_id
            joined = await agent_socket.request("add_user_to_chat", {"chat_id": chat_id, "user_id": agent["account_id"],
                                                                    "user_type": "agent"})
            assert joined["success"] or "already" in json.dumps(joined), joined
            reply = await agent_socket.request("send_event", {"chat_id": chat_id, "event": {
                "type": "message", "text": "hi, through nginx too"}})
            assert reply["success"], reply
            event = await customer_socket.push("incoming_event")
            assert event["payload"]["event"]["text"] == "hi, through nginx too"
        finally:
            await customer_socket.close()
            await agent_socket.close()

        # the visitor as the server recorded them: nginx's address (the test's), not the spoofed one
        visitor = await http.post("/v3.6/agent/action/get_customer", json={"id": r.json()["entity_id"]},
                                  headers={"Authorization": f"Bearer {agent['personal_access_token']}"})
        assert visitor.status_code == 200, visitor.text
        assert visitor.json()["visit"]["ip"] == "127.0.0.1"

        # the widget's files come from nginx, gzip sibling and caching headers as the server sends them
        name = next(p.name for p in DIST_DIR.glob("widget.*.js") if re.fullmatch(r"widget\.[0-9a-f]{12}\.js", p.name))
        direct = await http.get(f"/widget/assets/{name}", headers={"Accept-Encoding": "gzip"})
        assert direct.status_code == 200
        assert direct.headers["content-encoding"] == "gzip" and direct.headers["vary"] == "Accept-Encoding"
        assert direct.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert direct.headers["access-control-allow-origin"] == "*"
        assert direct.headers["x-content-type-options"] == "nosniff"
        assert "x-request-id" not in direct.headers  # (nginx answered: the server adds one to every answer)
        assert direct.content == (DIST_DIR / name).read_bytes()  # (httpx decoded the .gz sibling)
        plain = await http.get(f"/widget/assets/{name}", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.content == direct.content
        assert (await http.get("/widget/assets/manifest.json")).status_code == 404  # (the server's answer)

        # URLs the server hands out name its public origin (WIDGET_PUBLIC_URL), not the upstream's address
        snippet = await http.get("/widget/snippet", params={"organization_id": org})
        assert nginx.url in snippet.text and live.url not in snippet.text

    access = (nginx.dir / "access.log").read_text()
    assert f"/widget/assets/{name}" in access
    log = live.log_path.read_text()
    served = [json.loads(line) for line in log.splitlines() if line.startswith("{") and "widget_server.access" in line]
    assets = [(r["route"], r["status"]) for r in served if r["route"].startswith("/widget/assets/")]
    assert assets == [("/widget/assets/{name}", 404)]  # only the name nginx does not serve reached the server
    assert "93.184.216.34" not in log
