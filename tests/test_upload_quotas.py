"""Uploads are held in Valkey's memory until they expire, and anyone with a cookie-grant token can upload: quotas per
customer, per client address and per license bound what that costs, and a Valkey that is full (``maxmemory`` with
``noeviction``, as the embedded one is started) answers ``service_unavailable``, not ``internal``."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support import CustomerClient, LiveServer, start_valkey
from widget_server.bootstrap import create_license
from widget_server.valkey import connect

from .conftest import new_license

KB = b"a" * 1000


async def _upload(customer: CustomerClient, address: str, data: bytes = KB):
    return await customer.http.post("/v3.6/customer/action/upload_file", params={"organization_id": customer.org},
                                    headers={"Authorization": f"Bearer {customer.token}", "X-Forwarded-For": address},
                                    files={"file": ("note.txt", data, "text/plain")})


def _not_at_an_hour_s_end() -> None:
    """The per-hour quotas count in clock hours: start where the test's uploads all fall in one."""
    if time.time() % 3600 > 3590:
        time.sleep(3601 - time.time() % 3600)


@pytest.fixture
def quota_server(tmp_path, valkey_url):
    live = LiveServer(tmp_path, valkey_url, env={
        "WIDGET_TRUSTED_PROXY_HEADERS": "1",  # (each test client claims its address with X-Forwarded-For)
        "WIDGET_UPLOAD_CUSTOMER_BYTES_PER_HOUR": "3000", "WIDGET_UPLOAD_ADDRESS_BYTES_PER_HOUR": "5000",
        "WIDGET_UPLOAD_LICENSE_PENDING_BYTES": "8000"}).start()
    yield live
    live.stop()


async def test_uploads_are_bounded_per_customer_per_address_and_per_license(quota_server, valkey):
    _not_at_an_hour_s_end()
    org = await new_license(valkey)
    ann, bob, cid, dan, eve = [await CustomerClient(quota_server.url, org).authorize() for _ in range(5)]
    try:
        # a customer: 3 KB an hour
        uploads = [await _upload(ann, "10.0.0.1") for _ in range(4)]
        assert [r.status_code for r in uploads] == [200, 200, 200, 429]
        refused = await _upload(ann, "10.0.0.1")
        assert refused.json()["error"]["type"] == "too_many_requests"
        assert 0 < int(refused.headers["retry-after"]) <= 3600

        # an address: 5 KB an hour, whichever customers it claims to be (3 KB of Ann's already)
        assert [(await _upload(bob, "10.0.0.1")).status_code for _ in range(3)] == [200, 200, 429]
        assert (await _upload(bob, "10.0.0.2")).status_code == 200  # the same customer from elsewhere

        # the license: 8 KB of files not sent yet (6 KB so far)
        assert (await _upload(cid, "10.0.0.3")).status_code == 200
        assert (await _upload(dan, "10.0.0.4")).status_code == 200
        full = await _upload(eve, "10.0.0.5")
        assert full.status_code == 429 and full.json()["error"]["type"] == "limit_reached"

        # a file sent in a chat no longer counts against the license: one more fits
        await ann.ok("start_chat", {"chat": {"thread": {"events": [{"type": "file", "url": uploads[0].json()["url"]}]}}})
        assert (await _upload(eve, "10.0.0.5")).status_code == 200
        assert (await _upload(eve, "10.0.0.5")).json()["error"]["type"] == "limit_reached"
    finally:
        for c in (ann, bob, cid, dan, eve):
            await c.aclose()


def test_the_embedded_valkey_is_capped_and_evicts_nothing(tmp_path):
    from widget_server.valkey import maxmemory_bytes, start_embedded

    server = start_embedded(tmp_path, "64mb")
    try:
        client = server.client()
        assert client.config_get("maxmemory") == {"maxmemory": str(64 * 1024 * 1024)}
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        client.close()
    finally:
        server.stop()
    assert 0 < maxmemory_bytes("50%") < maxmemory_bytes("100%") and maxmemory_bytes("0") == 0
    assert maxmemory_bytes("2gb") == 2 * 1024**3


@pytest.fixture
async def full_valkey(tmp_path):
    """A Valkey of the test's own with ``noeviction``, a license in it, and a server on it with no upload quotas."""
    store = start_valkey(**{"maxmemory-policy": "noeviction"})
    client = connect(store.connection_url)
    org = (await create_license(client, "owner-full@example.com", "pw"))["organization_id"]
    live = LiveServer(tmp_path, store.connection_url, env={
        "WIDGET_UPLOAD_CUSTOMER_BYTES_PER_HOUR": "0", "WIDGET_UPLOAD_ADDRESS_BYTES_PER_HOUR": "0",
        "WIDGET_UPLOAD_LICENSE_PENDING_BYTES": "0"}).start()
    try:
        yield live, org, client
    finally:
        live.stop()
        await client.aclose()
        store.stop()


async def test_a_full_valkey_gives_service_unavailable_not_internal(full_valkey):
    live, org, valkey = full_valkey
    customer = await CustomerClient(live.url, org).authorize()
    chat = await customer.ok("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": "hi"}]}}})
    socket = await customer.rtm()  # (logged in while there is room: a login writes the visit)
    used = int((await valkey.info("memory"))["used_memory"])
    await valkey.config_set("maxmemory", used + 3 * 1024 * 1024)  # room for about three 1 MB files
    try:
        statuses = []
        for _ in range(8):
            r = await _upload(customer, "10.0.0.1", b"b" * 1024 * 1024)
            statuses.append((r.status_code, r.json().get("error", {}).get("type")))
        assert statuses[0] == (200, None) and statuses[-1] == (503, "service_unavailable")
        assert set(statuses) == {(200, None), (503, "service_unavailable")}

        # full to the brim (less than a message left): every write is refused alike, on the Web API, the RTM socket
        # (a request, a login) and the token endpoint
        await valkey.config_set("maxmemory", int((await valkey.info("memory"))["used_memory"]) // 2)
        message = {"chat_id": chat["chat_id"], "event": {"type": "message", "text": "more"}}
        r = await customer.call("send_event", message)
        assert (r.status_code, r.json()["error"]["type"]) == (503, "service_unavailable")
        reply = await socket.request("send_event", message)
        assert not reply["success"] and reply["payload"]["error"]["type"] == "service_unavailable"
        login = await (await customer.rtm(login=False)).request("login", {"token": f"Bearer {customer.token}"})
        assert not login["success"] and login["payload"]["error"]["type"] == "service_unavailable"
        await socket.close()
        async with httpx.AsyncClient(base_url=live.url, timeout=10) as browser:
            new = await browser.post("/v2/customer/token", json={"grant_type": "cookie", "organization_id": org})
        assert (new.status_code, new.json()["error"]["type"]) == (503, "service_unavailable")
    finally:
        await valkey.config_set("maxmemory", 0)
        await customer.aclose()
    assert "Traceback" not in live.log()
