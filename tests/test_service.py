"""The service as a newcomer runs it: embedded Valkey, restarts, credentials, probes, uploads, limits, TLS; and as
it scales out: several processes on one Valkey, one of them killed or stopped mid-chat."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support import AgentClient, CustomerClient, LiveServer
from widget_server.bootstrap import create_agent

from .conftest import new_license

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
        assert "organization_id" in live.log() and creds["owner"]["password"] in live.log()  # shown once, at creation
        assert httpx.get(live.url + "/healthz").json() == {"status": "ok"}
        schema = httpx.get(live.url + "/schema/openapi.json").json()
        op = schema["paths"]["/v3.6/customer/action/send_event"]["post"]
        assert op["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/SendEventRequest"}
        assert "event" in schema["components"]["schemas"]["SendEventRequest"]["properties"]

        customer = await CustomerClient(live.url, creds["organization_id"]).authorize()
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

    _assert_private(data)  # the AOF holds every secret and chat: the owner's alone
    first_log = live.log_path.stat().st_size
    again = LiveServer(data, port=live.port).start()
    try:
        assert again.credentials == creds  # later starts reuse the license and its credentials
        output = again.log_path.read_bytes()[first_log:].decode()  # (the same port: the same log file, appended)
        secrets_ = [creds["owner"]["password"], creds["owner"]["personal_access_token"],
                    creds["agent"]["personal_access_token"]]
        assert creds["organization_id"] in output and "credentials --data-dir" in output
        assert not [s for s in secrets_ if s in output], "secrets are shown on the first start only"
        shown = subprocess.run([sys.executable, "-m", "widget_server", "credentials", "--data-dir", str(data)],
                               capture_output=True, text=True, check=True).stdout
        assert json.loads(shown) == creds
        got = await customer.ok("get_chat", {"chat_id": chat["chat_id"]})  # the same token still works
        assert [e["text"] for e in got["thread"]["events"]] == ["keep me"]
        await customer.aclose()
    finally:
        again.stop()


def _assert_private(data: Path) -> None:
    """The data dir and every directory below it 0700, every file in it 0600 or stricter."""
    checked = 0
    for root, dirs, files in os.walk(data):
        assert stat.S_IMODE(Path(root).stat().st_mode) == 0o700, root
        for name in files:
            path = Path(root) / name
            if path.is_socket() or name.startswith("server-"):  # (server-*.log: the test harness's, not the server's)
                continue
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, f"{path} is readable by others"
            checked += 1
    assert checked >= 3, "credentials.json and the embedded Valkey's files were checked"


async def test_a_data_dir_left_readable_by_an_older_version_is_made_private(tmp_path):
    data = tmp_path / "data"
    live = LiveServer(data).start()
    live.stop()
    for root, dirs, files in os.walk(data):  # as the umask of earlier versions left it
        os.chmod(root, 0o755)
        for name in files:
            if not (Path(root) / name).is_socket() and not name.startswith("server-"):
                os.chmod(Path(root) / name, 0o644)
    again = LiveServer(data, port=live.port).start()
    try:
        _assert_private(data)
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


async def test_upload_a_file_and_send_it_in_a_chat(customer: CustomerClient):
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
        customer = await CustomerClient(live.url, live.credentials["organization_id"]).authorize()
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


# --- many processes -----------------------------------------------------------------------------------------------

FAST_PRESENCE = {"WIDGET_AGENT_HEARTBEAT_SECONDS": "0.5", "WIDGET_AGENT_GRACE_SECONDS": "1"}
"""Agent sockets refreshed twice a second and a one-second grace period: a dead process's agents go away quickly."""


def _kill_with_its_workers(live: LiveServer) -> None:
    """SIGKILL the server's main process and its granian workers (killing the parent alone leaves them running)."""
    assert live.proc is not None
    workers = subprocess.run(["pgrep", "-P", str(live.proc.pid)], capture_output=True, text=True).stdout.split()
    live.proc.kill()
    live.proc.wait()
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)
    live.proc = None


async def _incoming(sock, author_id: str) -> dict:
    """The next event pushed to ``sock`` that ``author_id`` wrote (a sender gets its own events pushed too)."""
    while True:
        event = (await sock.push("incoming_event"))["payload"]["event"]
        if event["author_id"] == author_id:
            return event


async def _texts(sock, chat_id: str) -> list[tuple[str, str]]:
    reply = await sock.request("get_chat", {"chat_id": chat_id})
    assert reply["success"], reply
    return [(e["id"], e["text"]) for e in reply["payload"]["thread"]["events"] if e["type"] == "message"]


async def test_a_customer_and_an_agent_on_two_processes_chat_and_a_killed_process_loses_nothing(
        tmp_path, valkey_url, valkey):
    """A customer on process A talks to Ann on process B; Bob, on A, has a chat with another customer on B. A is
    killed (SIGKILL, no cleanup). The customer reconnects to B and gets every event, including the one Ann sent while
    they were gone; Bob, whose process died with his socket, goes offline and his chat goes back to routing, done by
    B, which never held his socket."""
    a = LiveServer(tmp_path / "a", valkey_url, env=FAST_PRESENCE).start()
    b = LiveServer(tmp_path / "b", valkey_url, env=FAST_PRESENCE).start()
    org = await new_license(valkey)
    ann_id, bob_id = (f"{n}-{secrets.token_hex(4)}@example.com" for n in ("ann", "bob"))
    ann = AgentClient(b.url, ann_id,
                      (await create_agent(valkey, org, ann_id, "Ann", "normal", 5))["personal_access_token"])
    bob = AgentClient(a.url, bob_id,
                      (await create_agent(valkey, org, bob_id, "Bob", "normal", 5))["personal_access_token"])
    first, second = CustomerClient(a.url, org), CustomerClient(b.url, org)
    await first.authorize()
    await second.authorize()
    sockets = []
    try:
        ann_rtm = await ann.rtm()  # on B, accepting chats
        bob_rtm = await bob.rtm(away=True)  # on A, not yet
        on_a = await first.rtm()
        sockets += [ann_rtm, bob_rtm, on_a]

        started = await on_a.request("start_chat", {"chat": {"thread": {"events": [{"type": "message",
                                                                                    "text": "hello"}]}}})
        chat_id = started["payload"]["chat_id"]
        assert (await ann_rtm.push("incoming_chat"))["payload"]["chat"]["id"] == chat_id
        assert (await on_a.push("user_added_to_chat"))["payload"]["user"]["id"] == ann.id
        reply = await ann_rtm.request("send_event", {"chat_id": chat_id, "event": {"type": "message",
                                                                                  "text": "How can I help?"}})
        assert reply["success"], reply
        assert (await _incoming(on_a, ann.id))["text"] == "How can I help?"
        sent = await on_a.request("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "late order"}})
        assert sent["success"], sent
        assert (await _incoming(ann_rtm, first.id))["id"] == sent["payload"]["event_id"]

        # Bob (on A) takes the next chat, of a customer on B
        assert (await bob_rtm.request("set_routing_status", {"status": "accepting_chats"}))["success"]
        assert (await ann_rtm.request("set_routing_status", {"status": "not_accepting_chats"}))["success"]
        on_b = await second.rtm()
        sockets.append(on_b)
        other = await on_b.request("start_chat")
        assert (await on_b.push("user_added_to_chat"))["payload"]["user"]["id"] == bob.id
        before = await _texts(ann_rtm, chat_id)

        _kill_with_its_workers(a)  # a host dies: no cleanup runs anywhere on it
        await asyncio.wait_for(on_a.closed.wait(), 10)
        away = await ann_rtm.request("send_event", {"chat_id": chat_id, "event": {"type": "message",
                                                                                 "text": "Still there?"}})
        assert away["success"], away

        again = await first.rtm(b.url)  # the same token, another process
        sockets.append(again)
        assert again.login["has_active_thread"] and [c["chat_id"] for c in again.login["chats"]] == [chat_id]
        history = await _texts(again, chat_id)
        assert history == [*before, (away["payload"]["event_id"], "Still there?")]
        assert [t for _, t in history] == ["hello", "How can I help?", "late order", "Still there?"]
        back = await again.request("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "yes!"}})
        assert (await _incoming(ann_rtm, first.id))["id"] == back["payload"]["event_id"]

        removed = await on_b.push("user_removed_from_chat", timeout=30)
        assert removed["payload"]["chat_id"] == other["payload"]["chat_id"]
        assert removed["payload"]["user_id"] == bob.id
        statuses = (await ann_rtm.request("list_routing_statuses"))["payload"]
        assert {s["agent_id"]: s["status"] for s in statuses}[bob.id] == "offline"
    finally:
        for sock in sockets:
            await sock.close()
        for client in (first, second, ann, bob):
            await client.aclose()
        a.stop()
        b.stop()


async def test_sigterm_answers_the_requests_in_flight_and_closes_sockets_with_a_reconnect_hint(
        tmp_path, valkey_url, server, org):
    live = LiveServer(tmp_path, valkey_url).start()
    customer = await CustomerClient(live.url, org).authorize()
    sock = await customer.rtm()
    chat_id = (await sock.request("start_chat"))["payload"]["chat_id"]
    for i in range(10):  # sent without waiting: the stop arrives while the process is working through them
        await sock.send_raw(json.dumps({"action": "send_event", "request_id": f"m{i}",
                                        "payload": {"chat_id": chat_id, "event": {"type": "message", "text": str(i)}}}))
    replies = [await asyncio.wait_for(sock.unmatched.get(), 10)]
    live.proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(sock.closed.wait(), 30)
        assert (sock.ws.close_code, sock.ws.close_reason) == (1012, "service restart")
        pushes = []
        while not sock.pushes.empty():
            pushes.append(sock.pushes.get_nowait())
        assert pushes[-1]["action"] == "customer_disconnected"
        assert pushes[-1]["payload"]["reason"] == "service_temporarily_unavailable"
        while not sock.unmatched.empty():
            replies.append(sock.unmatched.get_nowait())
        assert all(r["success"] for r in replies), replies
        assert live.proc.wait(30) == 0
    finally:
        live.stop()

    # every request the process answered is stored, and nothing it did not answer
    elsewhere = await customer.rtm(server.url)
    try:
        stored = [event_id for event_id, _ in await _texts(elsewhere, chat_id)]
        assert stored == [r["payload"]["event_id"] for r in sorted(replies, key=lambda r: int(r["request_id"][1:]))]
    finally:
        await elsewhere.close()
        await customer.aclose()
