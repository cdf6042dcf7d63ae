"""The service as a newcomer runs it: embedded Valkey, restarts, credentials, probes, uploads, limits, TLS."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import httpx

from widget_server.testing import Customer, LiveServer

PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000000500010d0a2db40000000049454e44ae426082"
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def _valkey_pid(data_dir: Path) -> int:
    return int((data_dir / "valkey" / "valkey.pid").read_text())


async def test_first_start_creates_credentials_and_data_survives_a_restart(tmp_path):
    data = tmp_path / "data"
    live = LiveServer(data).start()  # no WIDGET_VALKEY_URL: the embedded Valkey
    try:
        creds = live.credentials
        assert stat.S_IMODE((data / "credentials.json").stat().st_mode) == 0o600
        assert creds["owner"]["password"] and creds["owner"]["personal_access_token"]
        assert creds["agent"]["personal_access_token"]
        assert "organization_id" in live.log() and creds["owner"]["password"] in live.log()
        assert httpx.get(live.url + "/healthz").json() == {"status": "ok"}
        schema = httpx.get(live.url + "/schema/openapi.json").json()
        op = schema["paths"]["/v3.6/customer/action/send_event"]["post"]
        assert op["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/SendEventRequest"}
        assert "event" in schema["components"]["schemas"]["SendEventRequest"]["properties"]

        customer = await Customer(live.url, creds["organization_id"]).authorize()
        chat = await customer.ok("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": "keep me"}]}}})
        valkey_pid = _valkey_pid(data)
        assert _alive(valkey_pid)
    finally:
        code = live.stop()
    assert code == 0
    deadline = time.monotonic() + 5
    while _alive(valkey_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(valkey_pid), "the embedded Valkey must stop with the server"

    again = LiveServer(data, port=live.port).start()
    try:
        assert again.credentials == creds  # later starts reuse the license and its credentials
        got = await customer.ok("get_chat", {"chat_id": chat["chat_id"]})  # the same token still works
        assert [e["text"] for e in got["thread"]["events"]] == ["keep me"]
        await customer.aclose()
    finally:
        again.stop()


async def test_a_valkey_orphaned_by_a_killed_server_is_stopped_on_the_next_start(tmp_path):
    data = tmp_path / "data"
    live = LiveServer(data).start()
    creds = live.credentials
    orphan = _valkey_pid(data)
    children = subprocess.run(["pgrep", "-P", str(live.proc.pid)], capture_output=True, text=True).stdout.split()
    live.proc.kill()  # SIGKILL: no cleanup runs
    live.proc.wait()
    for pid in children:
        if int(pid) != orphan:
            os.kill(int(pid), signal.SIGKILL)
    assert _alive(orphan)
    again = LiveServer(data).start()
    try:
        assert not _alive(orphan)
        assert _valkey_pid(data) != orphan
        assert again.credentials["organization_id"] == creds["organization_id"]
    finally:
        again.stop()


async def test_upload_a_file_and_send_it_in_a_chat(customer: Customer):
    chat_id = (await customer.ok("start_chat"))["chat_id"]
    h = {"Authorization": f"Bearer {customer.token}"}
    url = f"/v3.6/customer/action/upload_file?organization_id={customer.org}"
    r = await customer.http.post(url, headers=h, files={"file": ("../../etc/dot.png", PNG_1x1, "text/html")})
    assert r.status_code == 200, r.text
    file_url = r.json()["url"]
    assert file_url.startswith(customer.base_url + "/files/") and file_url.endswith("/dot.png")

    served = await customer.http.get(file_url)
    assert served.status_code == 200 and served.content == PNG_1x1
    assert served.headers["content-type"] == "image/png"  # sniffed, not what the client claimed
    assert served.headers["x-content-type-options"] == "nosniff"

    sent = await customer.ok("send_event", {"chat_id": chat_id, "event": {"type": "file", "url": file_url}})
    event = (await customer.ok("get_chat", {"chat_id": chat_id}))["thread"]["events"][0]
    assert event["id"] == sent["event_id"]
    assert (event["name"], event["content_type"], event["size"], event["width"], event["height"]) == (
        "dot.png", "image/png", len(PNG_1x1), 1, 1)

    html = await customer.http.post(url, headers=h, files={"file": ("page.html", b"<script>alert(1)</script>")})
    served = await customer.http.get(html.json()["url"])
    assert served.headers["content-disposition"].startswith("attachment")

    for name, body in (("run.exe", b"MZ\x90\x00"), ("tool.sh", b"#!/bin/sh\n"), ("x.txt", b"\x7fELF\x02")):
        r = await customer.http.post(url, headers=h, files={"file": (name, body)})
        assert r.status_code == 400 and r.json()["error"]["type"] == "validation", name
    async with httpx.AsyncClient(base_url=customer.base_url, timeout=30) as own_connection:
        r = await own_connection.post(url, headers=h, files={"file": ("big.bin", b"\0" * (10 * 1024 * 1024 + 1))})
        assert r.status_code == 413 and r.json()["error"]["type"] == "entity_too_large"
    r = await customer.http.post(url, files={"file": ("a.png", PNG_1x1)})
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication"
    r = await customer.http.post(url, headers=h, json={"file": "nope"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "validation"

    r = await customer.call("send_event", {"chat_id": chat_id, "event": {"type": "file", "url": "https://evil.example/x.png"}})
    assert r.status_code == 400 and r.json()["error"]["type"] == "validation"
    assert (await customer.http.get(f"/files/{customer.org}/nope/x.png")).status_code == 404


async def test_web_api_is_rate_limited_per_client(tmp_path):
    # its own (embedded) Valkey: the counters are shared by every worker and host on one Valkey
    live = LiveServer(tmp_path, env={"WIDGET_RATE_LIMIT_PER_MINUTE": "5"}).start()
    try:
        customer = await Customer(live.url, live.credentials["organization_id"]).authorize()
        statuses = [(await customer.call("list_chats")).status_code for _ in range(6)]
        assert statuses[:4] == [200] * 4 and statuses[-1] == 429
        r = await customer.call("list_chats")
        assert r.json()["error"]["type"] == "too_many_requests"
        assert (await customer.http.get("/healthz")).status_code == 200  # probes are never limited
        await customer.aclose()
    finally:
        live.stop()


async def test_tls_and_secure_cross_site_cookies(tmp_path, valkey_url, org):
    live = LiveServer(tmp_path, valkey_url, tls_names=[]).start()
    ctx = live.ssl_context
    try:
        async with httpx.AsyncClient(base_url=live.url, verify=ctx) as http:
            r = await http.post("/v2/customer/token", json={"grant_type": "cookie", "organization_id": org,
                                                            "client_id": "c", "response_type": "token"})
            assert r.status_code == 200
            cookies = [v.lower() for k, v in r.headers.multi_items() if k == "set-cookie"]
            assert cookies and all("secure" in c and "samesite=none" in c and "httponly" in c for c in cookies)
            again = await http.post("/v2/customer/token", json={"grant_type": "cookie", "organization_id": org})
            assert again.json()["entity_id"] == r.json()["entity_id"]
    finally:
        live.stop()
