"""Proxy mode: an edge server (``WIDGET_UPSTREAM_URL``) in front of a core server. The customer stories of the other
modules are imported as they are and run through the edge: this module's ``server`` is the edge, ``server2`` the core
itself (a customer's tab straight on the core sees what a tab on the edge does), agents work on the core (``team``),
and ``org`` / ``live_tracker`` make each license known to the edge too, which keeps the visitor tracking.

The two servers cannot share one Valkey: key names have no per-server prefix (``keys.py``), so the edge's tracker would
count into the core's visitors and the edge would find the core's signing key. The edge gets a Valkey of its own."""

from __future__ import annotations

import asyncio
import http.server
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import ClassVar
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support import AgentClient, CustomerClient, LiveServer, free_port, serve_http, start_valkey
from widget_server.bootstrap import create_agent, create_license
from widget_server.protocol.config import Group, LicenseConfig
from widget_server.tracking import Tracker
from widget_server.valkey import connect

from .conftest import new_license

# The stories, run here through the edge (pytest collects what a module holds, imported or not).
from .test_agents import test_customer_chat_goes_to_the_least_busy_agent_who_answers  # noqa: F401
from .test_customer_rtm import (  # noqa: F401
    test_at_most_ten_pending_requests_per_socket,
    test_pushes_for_properties_seen_marks_and_customer_updates,
    test_socket_protocol_rules,
    test_the_same_story_over_v35,
    test_two_tabs_on_two_servers_see_each_others_events,
)
from .test_customer_web import (  # noqa: F401
    test_configuration_endpoints_need_no_token_and_accept_one,
    test_customer_data_session_fields_and_forms,
    test_customer_starts_a_chat_and_sees_messages_in_list_threads,
    test_expired_token_is_refused,
    test_properties_of_chats_threads_and_events,
    test_resume_after_deactivate_makes_a_new_thread_and_history_has_both,
)
from .test_tracking import (  # noqa: F401
    test_send_beacon_carries_the_token_in_the_body,
    test_the_loader_reports_page_views_and_heartbeats_over_http,
    test_track_refuses_bad_requests_in_livechat_s_error_shape,
)


@pytest.fixture(scope="module")
def edge_valkey_server() -> Iterator:
    server = start_valkey()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def edge_valkey(edge_valkey_server):
    client = connect(edge_valkey_server.connection_url)
    yield client
    await client.aclose()


@pytest.fixture(scope="module")
def core(tmp_path_factory, valkey_url) -> Iterator[LiveServer]:
    """The upstream: a plain server on the session's Valkey (where ``new_license`` creates licenses)."""
    live = LiveServer(tmp_path_factory.mktemp("upstream-core"), valkey_url).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, edge_valkey_server, core) -> Iterator[LiveServer]:
    """The edge, which the stories talk to."""
    live = LiveServer(tmp_path_factory.mktemp("upstream-edge"), edge_valkey_server.connection_url,
                      env={"WIDGET_UPSTREAM_URL": core.url, "WIDGET_UPSTREAM_RETRY_MAX": "0.5"}).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def server2(core) -> LiveServer:
    return core


@pytest.fixture
async def org(valkey, edge_valkey) -> str:
    """A license of the core, known to the edge under the same organization id (its widget and tracking)."""
    org = await new_license(valkey)
    await create_license(edge_valkey, f"owner-{secrets.token_hex(6)}@example.com", "pw", org=org)
    return org


@pytest.fixture
def live_tracker(edge_valkey) -> Tracker:
    """The edge keeps the visitor tracking."""
    return Tracker(edge_valkey)


@pytest.fixture
async def team(core, valkey) -> AsyncIterator[tuple[str, list[AgentClient]]]:
    """``test_agents.team`` with its agents on the core, where the chats are."""
    org = await new_license(valkey, LicenseConfig(groups=[Group(id=0, name="General"), Group(id=1, name="Sales")]))
    agents = []
    for name, max_chats, group in (("ann", 1, 0), ("bob", 3, 0), ("cid", 2, 1)):
        email = f"{name}-{secrets.token_hex(4)}@example.com"
        creds = await create_agent(valkey, org, email, name.title(), "normal", max_chats, [(group, "normal")])
        agents.append(AgentClient(core.url, email, creds["personal_access_token"]))
    yield org, agents
    for agent in agents:
        await agent.aclose()


# --- proxy mode itself --------------------------------------------------------------------------------------------


async def test_tokens_identity_cookies_and_customer_ids_are_the_upstreams(server, core, org):
    """The edge forwards the token grant: the token works on the core, and the identity cookies the core set (relayed
    by the edge) give the same customer next time."""
    customer = await CustomerClient(server.url, org).authorize()
    direct = CustomerClient(core.url, org)
    try:
        assert {"__lc_cid", "__lc_cst"} <= set(customer.http.cookies.keys())
        direct.token = customer.token
        assert (await direct.ok("get_customer"))["id"] == customer.id
        first_id = customer.id
        await customer.authorize()
        assert customer.id == first_id

        r = await customer.http.post("/v2/customer/token", content=b"{nope")
        assert r.status_code == 400 and r.json()["oauth_exception"] == "invalid_request"
        r = await customer.http.post("/v2/customer/token", json={"grant_type": "cookie", "organization_id": "nope"})
        assert r.status_code == 404 and r.json()["oauth_exception"] == "invalid_request"  # the core's answer
    finally:
        await customer.aclose()
        await direct.aclose()


async def test_errors_keep_their_livechat_shape_and_status_through_the_edge(customer: CustomerClient, server, org):
    """``test_customer_web.test_errors_have_livechat_shape_and_status`` through the edge. The one difference: a
    request both malformed and unauthorized is a ``validation`` error, since the edge validates before anything
    leaves it and cannot judge the upstream's tokens itself."""
    chat_id = (await customer.ok("start_chat"))["chat_id"]
    h = {"Authorization": f"Bearer {customer.token}"}
    url = "/v3.6/customer/action/{}?organization_id=" + org

    async def err(r, status, type_):
        assert r.status_code == status, r.text
        body = r.json()
        assert body["error"]["type"] == type_ and body["error"]["message"], body

    # decided by the edge
    await err(await customer.http.post(url.format("send_event"), content=b"{nope", headers=h), 400, "validation")
    await err(await customer.http.post(url.format("no_such_action"), json={}, headers=h), 400, "validation")
    await err(await customer.http.post(url.format("login"), json={"token": "x"}, headers=h), 400, "validation")
    r = await customer.call("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": 5}})
    await err(r, 400, "validation")
    assert "$.event.text" in r.json()["error"]["message"]
    await err(await customer.call("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "x" * 16385}}),
              400, "validation")
    await err(await customer.http.post(url.format("send_event"), content=b"[" * 2_000_000, headers=h), 413,
              "entity_too_large")
    await err(await customer.http.post("/v3.6/customer/action/get_chat?organization_id=nope", json={}, headers=h),
              400, "validation")
    # decided by the upstream, relayed with its status
    await err(await customer.call("get_chat", {"chat_id": "NOSUCHCHAT"}), 404, "not_found")
    await err(await customer.call("get_chat", {"chat_id": chat_id}, token=""), 401, "authentication")
    await err(await customer.call("get_chat", {"chat_id": chat_id}, token="dal:forged.token"), 401, "authentication")
    await err(await customer.http.post("/v3.6/customer/action/get_chat?organization_id=nope",
                                       json={"chat_id": chat_id}, headers=h), 401, "authentication")
    other = await CustomerClient(server.url, org).authorize()
    try:
        assert other.id != customer.id
        await err(await other.call("get_chat", {"chat_id": chat_id}), 403, "authorization")
    finally:
        await other.aclose()
    await customer.ok("deactivate_chat", {"id": chat_id})
    await err(await customer.call("deactivate_chat", {"id": chat_id}), 400, "chat_inactive")
    await err(await customer.http.get("/no/such/path"), 404, "not_found")


async def test_the_edge_tracks_visitors_with_tokens_it_never_handed_out(server, core, org, live_tracker):
    """A token from the core itself: the edge asks the core whose it is once, then tracks that customer."""
    direct = await CustomerClient(core.url, org).authorize()
    edge = CustomerClient(server.url, org)
    try:
        for _ in range(2):
            r = await edge.http.post("/v1/track", params={"organization_id": org},
                                     json={"type": "page_view", "url": "https://shop.example/"},
                                     headers={"Authorization": f"Bearer {direct.token}"})
            assert r.status_code == 200 and r.json()["tracked"], r.text
        visitor = await live_tracker.visitor(org, direct.id)
        assert visitor is not None and visitor.statistics.page_views_count == 2
        r = await edge.http.post("/v1/track", params={"organization_id": org}, json={"type": "heartbeat"},
                                 headers={"Authorization": "Bearer dal:forged.token"})
        assert r.status_code == 401 and r.json()["error"]["type"] == "authentication"
    finally:
        await direct.aclose()
        await edge.aclose()


async def test_the_widget_on_the_edge_gets_the_upstreams_identity_and_chats(server, core, org, live_tracker):
    """The loader's visit: the edge takes a token from the core with the browser's identity cookies, writes the site's
    customer data there, tracks the page itself, and the frame's configuration lists the core's chats."""
    page = {"cfg": {"organization_id": org, "customer": {"name": "Ann"}}, "url": "https://shop.example/"}
    browser = httpx.AsyncClient(base_url=server.url, timeout=10)
    direct = CustomerClient(core.url, org)
    try:
        r = await browser.post("/v1/widget/visit", json={"type": "visit", **page})
        assert r.status_code == 200, r.text
        visit = r.json()
        cid, token = visit["customer_id"], visit["token"]
        assert visit["active_chat"] is False and visit["launcher"] and visit["cst"]
        assert "__lc_cid" in browser.cookies
        direct.token = token
        me = await direct.ok("get_customer")
        assert me["id"] == cid and me["name"] == "Ann"
        assert (await live_tracker.visitor(org, cid)).statistics.page_views_count == 1

        r = await browser.post("/v1/widget/visit", json={"type": "heartbeat", "token": token, **page})
        assert r.status_code == 200 and r.json()["customer_id"] == cid and r.json()["token"] == token
        r = await browser.get("/v1/widget/config", params={"organization_id": org},
                              headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        assert r.json()["visitor"]["customer"] == {"id": cid, "name": "Ann"} and r.json()["visitor"]["chats"] == []

        chat_id = (await direct.ok("start_chat", {"chat": {"thread": {"events": [
            {"type": "message", "text": "hi"}]}}}))["chat_id"]
        r = await browser.get("/v1/widget/config", params={"organization_id": org},
                              headers={"Authorization": f"Bearer {token}"})
        [chat] = r.json()["visitor"]["chats"]
        assert chat["id"] == chat_id and chat["active"] is True
        # the same browser is the same customer; so is a browser without cookies that kept the identity (cst)
        again = await browser.post("/v1/widget/visit", json={"type": "visit", **page})
        assert again.json()["customer_id"] == cid and again.json()["active_chat"] is True
        for stored, same in ((visit["cst"], True), (None, False)):
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as cookieless:
                r = await cookieless.post("/v1/widget/visit", json={"type": "visit", "cst": stored, **page})
                assert (r.json()["customer_id"] == cid) is same
    finally:
        await browser.aclose()
        await direct.aclose()


async def test_files_are_uploaded_to_the_upstream(customer: CustomerClient, core):
    chat_id = (await customer.ok("start_chat"))["chat_id"]
    r = await customer.http.post(f"/v3.6/customer/action/upload_file?organization_id={customer.org}",
                                 headers={"Authorization": f"Bearer {customer.token}"},
                                 files={"file": ("note.txt", b"hello", "text/plain")})
    assert r.status_code == 200, r.text
    url = r.json()["url"]
    assert url.startswith(core.url + "/files/")  # the upstream's own file URL (its WIDGET_PUBLIC_URL is not set)
    assert (await customer.http.get(url)).content == b"hello"
    assert (await customer.http.get(urlsplit(url).path)).content == b"hello"  # the same path, relayed by the edge
    await customer.ok("send_event", {"chat_id": chat_id, "event": {"type": "file", "url": url}})
    r = await customer.http.post(f"/v3.6/customer/action/upload_file?organization_id={customer.org}",
                                 headers={"Authorization": f"Bearer {customer.token}"},
                                 files={"file": ("run.exe", b"MZ\x90\x00")})
    assert r.status_code == 400 and r.json()["error"]["type"] == "validation"  # the upstream's verdict, relayed


async def _until_ok(customer: CustomerClient, action: str, payload: dict, deadline: float = 30.0) -> dict:
    """Call a Web action until it succeeds: the edge finds out by itself, with backoff, that the upstream is back."""
    end = time.monotonic() + deadline
    while True:
        r = await customer.call(action, payload)
        if r.status_code == 200:
            return r.json()
        assert r.json()["error"]["type"] == "service_unavailable", r.text
        assert time.monotonic() < end, "the edge did not reconnect to the upstream"
        await asyncio.sleep(0.1)


async def test_the_upstream_going_away_and_coming_back(server, core, org):
    """Stopping the core: the customer's socket is told to reconnect and closed, Web actions and logins fail with
    ``service_unavailable``, token grants with ``temporarily_unavailable``. A new core on the same port (same
    Valkey): the edge reconnects by itself, and the old token, chat and socket logins work again."""
    customer = await CustomerClient(server.url, org).authorize()
    try:
        tab = await customer.rtm()
        chat_id = (await tab.request("start_chat", {"chat": {"thread": {"events": [
            {"type": "message", "text": "before"}]}}}))["payload"]["chat_id"]

        core.stop()
        bye = await tab.push("customer_disconnected", timeout=10)
        assert bye["payload"] == {"reason": "service_temporarily_unavailable"}
        await asyncio.wait_for(tab.closed.wait(), 10)
        assert tab.ws.close_code == 1012

        r = await customer.call("send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "lost"}})
        assert r.status_code == 503, r.text
        assert r.json()["error"]["type"] == "service_unavailable" and r.json()["error"]["message"]
        sock = await customer.rtm(login=False)
        login = await sock.request("login", {"token": f"Bearer {customer.token}"})
        assert login["success"] is False and login["payload"]["error"]["type"] == "service_unavailable"
        assert (await sock.request("ping"))["success"]  # the edge itself is fine
        await sock.close()
        r = await customer.http.post("/v2/customer/token", json={"grant_type": "cookie", "organization_id": org})
        assert r.status_code == 503 and r.json()["oauth_exception"] == "temporarily_unavailable"
        # the edge still serves what is its own
        assert (await customer.http.get("/widget/loader.js")).status_code == 200

        core.start()
        await _until_ok(customer, "send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "back"}})
        tab = await customer.rtm()
        try:
            assert tab.login["chats"][0]["chat_id"] == chat_id
            chat = await tab.request("get_chat", {"chat_id": chat_id})
            assert [e["text"] for e in chat["payload"]["thread"]["events"]] == ["before", "back"]
        finally:
            await tab.close()
    finally:
        await customer.aclose()
        if core.proc is None:  # (a failure above must not leave the other tests without their core)
            core.start()


def test_the_upstream_url_must_be_an_http_base_url(tmp_path, valkey_url):
    edge = LiveServer(tmp_path, valkey_url, env={"WIDGET_UPSTREAM_URL": "ftp://example.com"})
    with pytest.raises(RuntimeError):
        edge.start()
    assert "invalid WIDGET_UPSTREAM_URL" in edge.log()


async def test_through_the_edge_another_site_gets_another_visitor_and_the_frame_its_pages(server, core, org):
    """The core keys identities by the requesting site; the edge passes the page's origin on, and for its own chat
    frame (the edge's origin) the page the frame is on, so the frame renews the page's visitor."""
    async def grant(http: httpx.AsyncClient, origin: str, redirect_uri: str | None = None) -> str:
        body = {"grant_type": "cookie", "organization_id": org, **({"redirect_uri": redirect_uri} if redirect_uri
                                                                      else {})}
        r = await http.post("/v2/customer/token", json=body, headers={"Origin": origin})
        assert r.status_code == 200, r.text
        return r.json()["entity_id"]

    async with httpx.AsyncClient(base_url=server.url) as http:
        visitor = await grant(http, "https://shop.example")
        assert await grant(http, "https://shop.example") == visitor
        assert await grant(http, "https://evil.example") != visitor
        assert await grant(http, server.url, redirect_uri="https://shop.example/") == visitor


# --- the /files relay -----------------------------------------------------------------------------------------------

RELAY_MAX = 4096
"""The relay's size limit on the files edge below (``WIDGET_UPSTREAM_FILE_MAX_BYTES``)."""


@pytest.fixture(scope="module")
def files_pair(tmp_path_factory, valkey_url, edge_valkey_server) -> Iterator[tuple[LiveServer, LiveServer]]:
    """(core, edge) where browsers reach only the edge: the core's ``WIDGET_PUBLIC_URL`` is the edge's, so the file
    URLs it hands out point at the edge, which relays them (README, proxy mode)."""
    edge_port = free_port()
    core = LiveServer(tmp_path_factory.mktemp("files-core"), valkey_url,
                      env={"WIDGET_PUBLIC_URL": f"http://127.0.0.1:{edge_port}"}).start()
    try:
        edge = LiveServer(tmp_path_factory.mktemp("files-edge"), edge_valkey_server.connection_url, port=edge_port,
                          env={"WIDGET_UPSTREAM_URL": core.url,
                               "WIDGET_UPSTREAM_FILE_MAX_BYTES": str(RELAY_MAX)}).start()
        try:
            yield core, edge
        finally:
            edge.stop()
    finally:
        core.stop()


def _upload_form(name: str, data: bytes, content_type: str) -> dict:
    return {"file": (name, data, content_type)}


async def test_a_file_goes_through_the_edge_both_ways(files_pair, valkey, edge_valkey):
    """A customer on the edge uploads a file and sends it in a chat; the agent (on the core) sees it and downloads
    it; the customer downloads it through the edge, with the core's headers; what the core does not have, or what
    is larger than the relay takes, is refused in LiveChat's shape."""
    core, edge = files_pair
    creds = await create_license(valkey, f"owner-{secrets.token_hex(6)}@example.com", "pw")
    org = creds["organization_id"]
    await create_license(edge_valkey, f"owner-{secrets.token_hex(6)}@example.com", "pw", org=org)
    owner = creds["owner"]
    agent = AgentClient(core.url, owner["account_id"], owner["personal_access_token"])
    customer = await CustomerClient(edge.url, org).authorize()
    data = b"%PDF-1.4\n" + b"invoice 1234\n" * 100  # ~1.3 KB, under the relay's limit
    try:
        r = await customer.http.post(f"/v3.6/customer/action/upload_file?organization_id={org}",
                                     headers={"Authorization": f"Bearer {customer.token}"},
                                     files=_upload_form("invoice 1234.pdf", data, "application/pdf"))
        assert r.status_code == 200, r.text
        url = r.json()["url"]
        assert url.startswith(f"{edge.url}/files/{org}/"), url  # the edge's URL: browsers need reach only the edge
        started = await customer.ok("start_chat", {"chat": {"thread": {"events": [{"type": "file", "url": url}]}}})
        chat_id = started["chat_id"]

        # the agent, on the core, sees the file event and downloads it (by its URL, and on the core itself)
        chat = await agent.ok("get_chat", {"chat_id": chat_id})
        [event] = [e for e in chat["thread"]["events"] if e["type"] == "file"]
        assert (event["url"], event["name"], event["content_type"], event["size"]) == (
            url, "invoice 1234.pdf", "application/pdf", len(data))
        direct = await agent.http.get(core.url + urlsplit(url).path)
        assert direct.status_code == 200 and direct.content == data
        assert (await agent.http.get(url)).content == data

        # the customer downloads it through the edge: the body and the headers that say how to show it
        relayed = await customer.http.get(url)
        assert relayed.status_code == 200 and relayed.content == data
        for header in ("content-type", "content-disposition", "content-security-policy", "x-content-type-options",
                       "cache-control", "content-length"):
            assert relayed.headers[header] == direct.headers[header], header
        assert "set-cookie" not in relayed.headers

        # refusals keep LiveChat's shape and the core's status
        missing = await customer.http.get(f"/files/{org}/nosuchfile/x.pdf")
        assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found"
        big = b"%PDF-1.4\n" + b"x" * RELAY_MAX
        r = await customer.http.post(f"/v3.6/customer/action/upload_file?organization_id={org}",
                                     headers={"Authorization": f"Bearer {customer.token}"},
                                     files=_upload_form("big.pdf", big, "application/pdf"))
        big_url = r.json()["url"]
        assert (await agent.http.get(core.url + urlsplit(big_url).path)).content == big  # the core has it whole
        refused = await customer.http.get(big_url)
        assert refused.status_code == 502 and refused.json()["error"]["type"] == "internal"
        assert str(RELAY_MAX) in refused.json()["error"]["message"]
    finally:
        await customer.aclose()
        await agent.aclose()


# --- every customer action is forwarded -----------------------------------------------------------------------------


async def test_every_customer_action_of_the_dispatch_table_is_forwarded(core, org):
    """Each entry of ``CUSTOMER_ACTIONS`` (actions other engineers add included) has its method on ``UpstreamCore``
    (declared in ``ChatCore``, so a forwarder is made for it) and reaches the upstream under its own name: sent with
    a forged token, the core answers anything but "Unknown action" (``authentication`` for most)."""
    from widget_server.api.dispatch import CUSTOMER_ACTIONS
    from widget_server.core.interface import Caller
    from widget_server.protocol.customer import Empty
    from widget_server.protocol.errors import ApiError
    from widget_server.settings import Settings
    from widget_server.upstream import Upstream, UpstreamCore

    upstream = Upstream(Settings(upstream_url=core.url))
    proxy = UpstreamCore(upstream)
    caller = Caller(org=org, customer_id="", version="3.6", transport="web", base_url="",
                    credential="Bearer dal:forged.token")
    answers: dict[str, str] = {}
    try:
        for name, spec in CUSTOMER_ACTIONS.items():
            method = getattr(proxy, spec.method, None)
            assert callable(method), (
                f"{name}: UpstreamCore has no {spec.method}(); declare it in ChatCore (core/interface.py) so proxy "
                "mode forwards it, or give UpstreamCore a method of its own")
            if name == "login":  # (opens the connection's upstream socket: the RTM stories above run it)
                continue
            try:
                await method(caller, Empty())  # the body the upstream gets: {} (a required field is its to refuse)
                answers[name] = "ok"
            except ApiError as exc:
                answers[name] = exc.message
        unknown = {name: message for name, message in answers.items() if message.startswith("Unknown action")}
        assert not unknown, f"forwarded under a name the upstream does not know: {unknown}"
        assert answers["send_event"] == answers["get_customer"] != "ok"  # the forged token, refused by the core
        assert answers["get_dynamic_configuration"] == "ok"  # no token needed: answered
    finally:
        await upstream.aclose()


def test_the_edge_sends_the_web_get_actions_as_get():
    """The upstream takes the Web API's GET actions (configuration, and properties since 3.5) only as GET: the edge's
    list (``upstream/client.py``, which may not import ``api/``) must name the same actions as the dispatch table's."""
    from widget_server.api.dispatch import WEB_GET_ACTIONS
    from widget_server.upstream.client import GET_ACTIONS

    assert GET_ACTIONS == WEB_GET_ACTIONS, "add the new GET actions to upstream/client.py GET_ACTIONS as well"


class FileHost(http.server.BaseHTTPRequestHandler):
    """An upstream's file host that sends its files in chunks (``Transfer-Encoding: chunked``, no length up front):
    ``/files/<org>/slow/<name>`` sends a first part and holds the rest until the test has read that part;
    ``/files/<org>/big/<name>`` sends ``4 × RELAY_MAX`` bytes; ``/files/<org>/page/<name>`` is an HTML page it says
    to show inline. ``/`` answers the edge's health probe."""

    protocol_version = "HTTP/1.1"
    release = threading.Event()
    second_part_sent = False

    def do_GET(self) -> None:
        if self.path == "/":
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if "/page/" in self.path:  # an HTML page, said to be shown inline, with nothing to sandbox it
            body = b"<script>document.cookie</script>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Disposition", "inline")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if "/slow/" in self.path:
            self._chunk(b"first part\n")
            FileHost.release.wait(10)
            self._chunk(b"second part\n")
            FileHost.second_part_sent = True
        else:
            for _ in range(4 * RELAY_MAX // 1024):
                self._chunk(b"x" * 1024)
        self._chunk(b"")

    upload_started = threading.Event()
    uploaded: ClassVar[list[int]] = []

    def do_POST(self) -> None:  # the upstream's upload_file: reads the body as it comes, answers how much it got
        size = 0
        chunked = self.headers.get("Transfer-Encoding", "").lower() == "chunked"
        left = int(self.headers.get("Content-Length", "0"))
        while True:
            if chunked:
                n = int(self.rfile.readline().split(b";")[0], 16)
                data = self.rfile.read(n)
                self.rfile.readline()
                if n == 0:
                    break
            else:
                if left <= 0:
                    break
                data = self.rfile.read1(left)
                if not data:
                    break
                left -= len(data)
            size += len(data)
            FileHost.upload_started.set()
        FileHost.uploaded.append(size)
        body = json.dumps({"url": f"http://upstream.example/files/org/up/{size}"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def chunked_edge(tmp_path_factory, edge_valkey_server) -> Iterator[LiveServer]:
    """An edge whose upstream is the chunked file host above."""
    with serve_http(FileHost, "file-host") as origin:
        edge = LiveServer(tmp_path_factory.mktemp("chunked-edge"), edge_valkey_server.connection_url,
                          env={"WIDGET_UPSTREAM_URL": origin, "WIDGET_UPLOAD_MAX_BYTES": str(RELAY_MAX),
                               "WIDGET_UPSTREAM_FILE_MAX_BYTES": str(RELAY_MAX)}).start()
        try:
            yield edge
        finally:
            edge.stop()


async def test_the_relay_streams_and_cuts_off_what_runs_over_its_limit(chunked_edge):
    """A download is passed on as it arrives (the first part reaches the browser while the upstream still holds
    the rest), and one that runs over ``WIDGET_UPSTREAM_FILE_MAX_BYTES`` midway is cut off: the browser never gets
    a download that looks complete."""
    async with httpx.AsyncClient(base_url=chunked_edge.url, timeout=15) as browser:
        FileHost.release.clear()
        FileHost.second_part_sent = False
        async with browser.stream("GET", "/files/org/slow/notes.txt") as r:
            assert r.status_code == 200 and r.headers["content-type"] == "text/plain"
            chunks = r.aiter_raw()
            first = await anext(chunks)
            assert first.startswith(b"first part") and not FileHost.second_part_sent  # not held back by the edge
            FileHost.release.set()
            rest = b"".join([chunk async for chunk in chunks])
        assert first + rest == b"first part\nsecond part\n"

        received = 0
        with pytest.raises(httpx.RemoteProtocolError):  # the stream ends without its last chunk
            async with browser.stream("GET", "/files/org/big/video.bin") as r:
                assert r.status_code == 200
                async for chunk in r.aiter_raw():
                    received += len(chunk)
        assert received <= RELAY_MAX


async def test_what_the_edge_relays_runs_nothing_on_its_origin(chunked_edge):
    """The edge serves the upstream's files on its own origin (its wizard's and widget's): an HTML file the upstream
    says to show inline, with no CSP, still goes out as an attachment, sandboxed and not sniffed."""
    async with httpx.AsyncClient(base_url=chunked_edge.url, timeout=15) as browser:
        r = await browser.get("/files/org/page/offer.html")
    assert r.status_code == 200 and r.content == b"<script>document.cookie</script>"
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["content-disposition"].startswith("attachment;") and "offer.html" in r.headers["content-disposition"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in r.headers["content-security-policy"]


async def test_the_relay_stays_under_the_upstreams_files(chunked_edge):
    """A path part that would climb out of ``/files/`` on the upstream (``..`` in any encoding) is not relayed."""
    async with httpx.AsyncClient(base_url=chunked_edge.url, timeout=15) as browser:
        for path in ("/files/org/%2E%2E/x", "/files/%2e%2e/%2e%2e/x", "/files/org/x/%2E%2E", "/files/./x/y"):
            r = await browser.get(path)
            assert r.status_code == 404 and r.json()["error"]["type"] == "not_found", (path, r.status_code, r.text)


async def test_an_upload_streams_on_to_the_upstream_and_stops_at_its_limit(chunked_edge):
    """``upload_file`` through the edge: the body reaches the upstream while the customer still sends it (the edge does
    not hold it), and one over the upload limit is refused with ``entity_too_large`` once it runs over."""
    boundary = "walkboundary"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="notes.txt"\r\n'
            "Content-Type: text/plain\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    first, rest = head + b"a" * 1000, b"b" * 1000 + tail
    seen_before_the_rest: list[bool] = []

    async def body():
        yield first
        seen_before_the_rest.append(await asyncio.to_thread(FileHost.upload_started.wait, 10))
        yield rest

    FileHost.upload_started.clear()
    FileHost.uploaded.clear()
    headers = {"Authorization": "Bearer dal:any", "Content-Type": f"multipart/form-data; boundary={boundary}"}
    async with httpx.AsyncClient(base_url=chunked_edge.url, timeout=15) as customer:
        r = await customer.post("/v3.6/customer/action/upload_file?organization_id=org", content=body(),
                                headers=headers)
        assert r.status_code == 200, r.text
        assert seen_before_the_rest == [True]  # the upstream had the first part before the customer sent the rest
        assert r.json()["url"].endswith(f"/{len(first) + len(rest)}") and FileHost.uploaded == [len(first) + len(rest)]

        async def too_much():  # over WIDGET_UPLOAD_MAX_BYTES (RELAY_MAX here) and the form's 256 KB besides
            yield head
            for _ in range(RELAY_MAX // 1024 + 300):
                yield b"x" * 1024
            yield tail

        r = await customer.post("/v3.6/customer/action/upload_file?organization_id=org", content=too_much(),
                                headers=headers)
        assert r.status_code == 413 and r.json()["error"]["type"] == "entity_too_large", r.text


async def test_the_3_6_customer_methods_go_through_the_edge(customer: CustomerClient, server, core, org):
    """``delete_event``, ``get_predicted_agent``, the Customer's ``type`` and the properties' GET methods are
    forwarded like every other action (the GET ones as GET, with their query)."""
    started = await customer.ok("start_chat", {"continuous": True, "chat": {"thread": {
        "events": [{"type": "message", "text": "oops"}]}}})
    chat_id, thread_id, [event_id] = started["chat_id"], started["thread_id"], started["event_ids"]
    assert await customer.ok("delete_event", {"chat_id": chat_id, "thread_id": thread_id, "event_id": event_id}) == {}
    assert (await customer.ok("get_chat", {"chat_id": chat_id}))["thread"]["events"] == []
    assert (await customer.ok("get_customer"))["type"] == "customer"
    r = await customer.call("get_predicted_agent")
    assert r.status_code == 400 and r.json()["error"]["type"] == "group_offline"
    r = await customer.http.get("/v3.6/customer/action/list_group_properties",
                                params={"organization_id": org, "id": "0", "namespace": "none"})
    assert r.status_code == 200 and r.json() == {}
    r = await customer.http.get("/v3.6/customer/action/list_group_properties", params={"organization_id": org, "id": "9"})
    assert r.status_code == 404 and r.json()["error"]["type"] == "group_not_found"
