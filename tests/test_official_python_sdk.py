"""LiveChat's official Python SDK (lc-sdk-python 0.4.2), unchanged, against our server over TLS.

The SDK hard-codes ``https://<base_url>`` and ``wss://<base_url>`` (PROTOCOL §10.1), so the server runs with a
self-signed certificate. The Web client is built with ``verify=False``; the RTM client never checks certificates.
Customer tokens come from our ``POST /v2/customer/token`` (cookie grant, and the agent_token grant a backend uses).
"""

from __future__ import annotations

import base64
import secrets
import ssl
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

pytest.importorskip("livechat", reason="lc-sdk-python is not installed")

from livechat.customer.rtm.base import CustomerRTM  # noqa: E402
from livechat.customer.web.base import CustomerWeb  # noqa: E402

from tests.support import LiveServer  # noqa: E402
from widget_server.bootstrap import create_license  # noqa: E402


class TlsServer:
    def __init__(self, live: LiveServer, ctx: ssl.SSLContext) -> None:
        self.live, self.ctx = live, ctx
        self.host = f"127.0.0.1:{live.port}"  # what the SDK calls base_url
        self.url = f"https://{self.host}"

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=self.ctx, timeout=10)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory, valkey_url) -> Iterator[TlsServer]:
    live = LiveServer(tmp_path_factory.mktemp("sdk-tls"), valkey_url, tls_names=[]).start()
    try:
        yield TlsServer(live, live.ssl_context)  # type: ignore[arg-type]
    finally:
        live.stop()


@pytest.fixture
async def creds(valkey) -> dict:
    """A fresh license with its owner's credentials (personal access token, account id)."""
    return await create_license(valkey, f"sdk-{secrets.token_hex(6)}@example.com", "pw")


def cookie_grant(server: TlsServer, org: str) -> tuple[str, str]:
    """(``Bearer dal:…``, customer id) the way the widget gets them: the accounts cookie grant."""
    with server.http() as http:
        r = http.post("/v2/customer/token", json={"grant_type": "cookie", "response_type": "token",
                                                  "client_id": "lc-sdk-python", "organization_id": org})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer"
    return f"{body['token_type']} {body['access_token']}", body["entity_id"]


def agent_token_grant(server: TlsServer, creds: dict) -> tuple[str, str]:
    """The same through the agent_token grant (an agent PAT as Basic ``account_id:pat``), as a backend would."""
    owner = creds["owner"]
    basic = base64.b64encode(f"{owner['account_id']}:{owner['personal_access_token']}".encode()).decode()
    with server.http() as http:
        r = http.post("/v2/customer/token", headers={"Authorization": f"Basic {basic}"},
                      json={"grant_type": "agent_token", "response_type": "token", "client_id": "lc-sdk-python",
                            "organization_id": creds["organization_id"]})
    assert r.status_code == 200, r.text
    body = r.json()
    return f"{body['token_type']} {body['access_token']}", body["entity_id"]


def ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, (response.request.method, str(response.request.url), response.status_code,
                                         response.text)
    return response.json()


@pytest.mark.parametrize(("version", "grant"), [("3.6", "cookie"), ("3.5", "agent_token")])
def test_customer_web_api_through_the_sdk(request, tls_server: TlsServer, creds: dict, version: str, grant: str):
    org = creds["organization_id"]
    token, customer_id = cookie_grant(tls_server, org) if grant == "cookie" else agent_token_grant(tls_server, creds)
    web = CustomerWeb.get_client(access_token=token, version=version, base_url=tls_server.host, organization_id=org,
                                 verify=False, disable_logging=True)
    request.addfinalizer(web.session.close)
    assert web.api_url == f"https://{tls_server.host}/v{version}/customer/action"

    started = ok(web.start_chat(chat={"thread": {"events": [
        {"type": "message", "text": "Hello from lc-sdk-python", "custom_id": "sdk-1"}]}}))
    chat_id, thread_id = started["chat_id"], started["thread_id"]
    assert started["event_ids"] == [f"{thread_id}_1"]

    sent = ok(web.send_event(chat_id=chat_id, event={"type": "message", "text": "A second line", "custom_id": "sdk-2"}))
    assert sent == {"event_id": f"{thread_id}_2"}

    chats = ok(web.list_chats())
    assert chats["total_chats"] == 1 and chats["chats_summary"][0]["id"] == chat_id
    assert chats["chats_summary"][0]["last_event_per_type"]["message"]["event"]["text"] == "A second line"

    threads = ok(web.list_threads(chat_id=chat_id))
    assert threads["found_threads"] == 1
    [thread] = threads["threads"]
    assert [(e["text"], e["custom_id"], e["author_id"]) for e in thread["events"]] == [
        ("Hello from lc-sdk-python", "sdk-1", customer_id), ("A second line", "sdk-2", customer_id)]

    chat = ok(web.get_chat(chat_id=chat_id, thread_id=thread_id))
    assert chat["id"] == chat_id and chat["thread"]["id"] == thread_id and len(chat["thread"]["events"]) == 2

    # customer data: 3.6 adds phone_number and name_is_default to the SDK's update_customer
    extra = {"phone_number": "+48 123 456 789", "name_is_default": False} if version == "3.6" else {}
    assert ok(web.update_customer(name="Ann Example", email="ann@example.com",
                                  session_fields=[{"plan": "pro"}], **extra)) == {}
    assert ok(web.set_customer_session_fields(session_fields=[{"plan": "pro"}, {"cart": "3"}])) == {}
    me = ok(web.get_customer())
    assert me["id"] == customer_id and me["name"] == "Ann Example" and me["email"] == "ann@example.com"
    assert me["session_fields"] == [{"plan": "pro"}, {"cart": "3"}]
    if version == "3.6":
        assert me["phone_number"] == "+48 123 456 789"

    # a file: multipart upload (the SDK passes `file` straight to httpx's files=), then a file event naming it
    uploaded = ok(web.upload_file(file={"file": ("notes.txt", b"order #1234", "text/plain")}))
    assert uploaded["url"].startswith(f"https://{tls_server.host}/files/{org}/")
    file_event = ok(web.send_event(chat_id=chat_id, event={"type": "file", "url": uploaded["url"]}))
    got = ok(web.get_chat(chat_id=chat_id))["thread"]["events"][-1]
    assert got["id"] == file_event["event_id"] and got["type"] == "file"
    assert (got["name"], got["content_type"], got["size"]) == ("notes.txt", "text/plain", len(b"order #1234"))
    with tls_server.http() as http:
        assert http.get(uploaded["url"]).content == b"order #1234"

    assert ok(web.deactivate_chat(id=chat_id)) == {}
    late = web.send_event(chat_id=chat_id, event={"type": "message", "text": "too late"})
    assert late.status_code == 400 and late.json()["error"]["type"] == "chat_inactive"
    resumed = ok(web.resume_chat(chat={"id": chat_id, "thread": {"events": [{"type": "message", "text": "Back again"}]}}))
    assert resumed["thread_id"] != thread_id
    history = ok(web.list_threads(chat_id=chat_id, sort_order="asc"))
    assert history["found_threads"] == 2
    assert [e["text"] for e in history["threads"][1]["events"]] == ["Back again"]

    # greetings: a unique_id the server never handed out is no greeting (LiveChat's typed error); the welcome message
    refused = web.cancel_greeting(unique_id="not-a-greeting")
    assert refused.status_code == 404 and refused.json()["error"]["type"] == "greeting_not_found"
    refused = web.accept_greeting(greeting_id=1, unique_id="not-a-greeting")
    assert refused.status_code == 404 and refused.json()["error"]["type"] == "greeting_not_found"
    if version == "3.6":
        welcome = ok(web.request_welcome_message(payload={"group_id": 0}))
        assert welcome["id"] and welcome["queue"] is False

    # the no-auth GETs: the SDK sends its Authorization header anyway, which must be accepted and ignored
    assert web.get_headers()["authorization"] == token
    dynamic = ok(web.get_dynamic_configuration())
    assert dynamic["organization_id"] == org
    live = dynamic["livechat"] if version == "3.6" else dynamic  # flat in 3.5 (PROTOCOL §10.3)
    assert live["group_id"] == 0 and live["domain_allowed"] is True
    config = ok(web.get_configuration(group_id=live["group_id"], version=live["config_version"]))
    assert config["buttons"] and "properties" in config
    localization = ok(web.get_localization(group_id=0, language=live["language"], version=live["localization_version"]))
    assert localization
    web.modify_header({"Authorization": "Bearer dal:forged"})
    assert ok(web.get_dynamic_configuration())["organization_id"] == org  # ignored on the no-auth GETs...
    denied = web.get_customer()  # ...but not where a token is required
    assert denied.status_code == 401 and denied.json()["error"]["type"] == "authentication"


def rtm_client(server: TlsServer, org: str, version: str = "3.6"):
    """``CustomerRTM.get_client`` plus an event set when the SDK's websocket thread has run its on_close."""
    rtm = CustomerRTM.get_client(version=version, base_url=server.host, organization_id=org)
    rtm.closed = threading.Event()
    sdk_on_close = rtm.ws.on_close

    def on_close(ws, code, msg):
        sdk_on_close(ws, code, msg)
        rtm.closed.set()

    rtm.ws.on_close = on_close
    return rtm


def close_rtm(rtm) -> None:
    rtm.close_connection()
    assert rtm.closed.wait(5), "the SDK's websocket thread did not finish"
    assert rtm.ws.sock is None


def rtm_ok(reply):
    """A successful RtmResponse (the SDK returns None when no reply with its request_id came within 3 s)."""
    assert reply is not None, "no reply with the request's request_id within the SDK's response timeout"
    assert reply.type == "response" and reply.success is True, reply.rtm_response
    assert isinstance(reply.request_id, str)
    return reply


def wait_for_push(rtm, action: str, match=lambda payload: True, timeout: float = 5.0) -> dict:
    """The SDK keeps every frame it receives in ``ws.messages`` (newest first); pushes are read from there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with rtm.ws._messages_lock:
            frames = list(rtm.ws.messages)
        for frame in reversed(frames):
            if frame.get("type") == "push" and frame.get("action") == action and match(frame.get("payload") or {}):
                return frame
        time.sleep(0.05)
    raise AssertionError(f"no {action} push within {timeout}s; got {[f.get('action') for f in rtm.ws.messages]}")


@pytest.mark.parametrize("version", ["3.6", "3.5"])
def test_customer_rtm_through_the_sdk(tls_server: TlsServer, creds: dict, version: str):
    org = creds["organization_id"]
    token, customer_id = cookie_grant(tls_server, org)
    rtm = rtm_client(tls_server, org, version)
    assert rtm.ws.url == f"wss://{tls_server.host}/v{version}/customer/rtm/ws?organization_id={org}"
    # 3.6 runs on the SDK's defaults (control-frame pings every 5 s with a 3 s pong timeout; websocket-client 1.9
    # sends the first one only after two intervals, i.e. 10 s in); 3.5 pings every second to go through a few rounds
    ping = {} if version == "3.6" else {"ping_interval": 1, "ping_timeout": 0.8}
    rtm.open_connection(**ping)
    opened = time.monotonic()
    try:
        login = rtm_ok(rtm.login(token=token))
        assert login.type == "response" and login.action == "login"
        assert login.payload["customer"]["id"] == customer_id and login.payload["chats"] == []
        assert isinstance(login.request_id, str)

        started = rtm_ok(rtm.start_chat(chat={"thread": {"events": [{"type": "message", "text": "hi over RTM"}]}}))
        chat_id = started.payload["chat_id"]
        incoming_chat = wait_for_push(rtm, "incoming_chat", lambda p: p["chat"]["id"] == chat_id)
        assert incoming_chat["payload"]["chat"]["thread"]["events"][0]["text"] == "hi over RTM"

        sent = rtm_ok(rtm.send_event(chat_id=chat_id, event={"type": "message", "text": "from the SDK",
                                                             "custom_id": "r-1"}))
        event_id = sent.payload["event_id"]
        echo = wait_for_push(rtm, "incoming_event", lambda p: p["event"]["id"] == event_id)
        assert echo["payload"]["chat_id"] == chat_id and echo["payload"]["event"]["text"] == "from the SDK"
        assert echo["payload"]["event"]["custom_id"] == "r-1" and echo["payload"]["event"]["author_id"] == customer_id
        assert echo["version"] == version

        # an event from another transport (the Web API, same customer) reaches the SDK's socket as a push
        web = CustomerWeb.get_client(access_token=token, version=version, base_url=tls_server.host,
                                     organization_id=org, verify=False, disable_logging=True)
        with web.session:
            other = ok(web.send_event(chat_id=chat_id, event={"type": "message", "text": "from the web"}))
        pushed = wait_for_push(rtm, "incoming_event", lambda p: p["event"]["id"] == other["event_id"])
        assert pushed["payload"]["event"]["text"] == "from the web"

        assert rtm_ok(rtm.update_customer(name="Rita", session_fields=[{"source": "sdk"}])).payload == {}
        me = rtm_ok(rtm.get_customer())
        assert me.payload["name"] == "Rita" and me.payload["session_fields"] == [{"source": "sdk"}]
        chat = rtm_ok(rtm.get_chat(chat_id=chat_id))
        assert [e["text"] for e in chat.payload["thread"]["events"]] == ["hi over RTM", "from the SDK", "from the web"]
        if version == "3.6":  # SDK 0.4.2 only, undocumented: answered with {} (PROTOCOL §10.2)
            assert rtm_ok(rtm.deactivate_customer_page()).payload == {}
            assert rtm_ok(rtm.activate_customer_page()).payload == {}
        rtm_ok(rtm.deactivate_chat(id=chat_id))

        # the SDK's control-frame pings are answered, and the socket stays up and usable
        first_pong = 2 * rtm.ws.ping_interval
        while rtm.ws.last_pong_tm == 0 and time.monotonic() - opened < first_pong + 3:
            time.sleep(0.1)
        assert rtm.ws.last_pong_tm > 0, "no pong to the SDK's control-frame ping"
        if version == "3.5":
            time.sleep(max(0.0, first_pong + 1.5 - (time.monotonic() - opened)))  # one more ping round
        assert rtm.ws.sock is not None and rtm.ws.sock.connected and not rtm.closed.is_set()
        chats = rtm_ok(rtm.list_chats())
        assert chats.payload["total_chats"] == 1 and chats.payload["chats_summary"][0]["active"] is False
    finally:
        close_rtm(rtm)


@pytest.fixture
async def restricted_creds(valkey) -> dict:
    from widget_server.protocol.config import LicenseConfig

    return await create_license(valkey, f"sdk-{secrets.token_hex(6)}@example.com", "pw",
                                LicenseConfig(allowed_origins=["https://shop.example"]))


def test_rtm_origin_on_a_license_that_restricts_origins(tls_server: TlsServer, restricted_creds: dict):
    """websocket-client sends ``Origin: https://<base_url>`` unless told otherwise; the SDK's ``open_connection(origin=)``
    sets it, which is how a backend speaks for a site on a license that lists its allowed origins."""
    org = restricted_creds["organization_id"]
    token, customer_id = cookie_grant(tls_server, org)
    rtm = rtm_client(tls_server, org)
    rtm.open_connection(origin="https://shop.example")
    try:
        login = rtm_ok(rtm.login(token=token))
        assert login.payload["customer"]["id"] == customer_id
    finally:
        close_rtm(rtm)


def test_the_3_6_customer_methods_through_the_sdk(tls_server: TlsServer, creds: dict):
    """One call of each customer method 3.6 added or this server added since (issue 21), as the SDK's CustomerWeb and
    CustomerRTM v3.6 send them. ``send_greeting_button_clicked`` is not in the SDK (PROTOCOL §10.2)."""
    import http.server

    from tests.support import serve_http

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'<html><head><meta property="og:title" content="SDK page"></head><body></body></html>'
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    org = creds["organization_id"]
    token, customer_id = cookie_grant(tls_server, org)
    web = CustomerWeb.get_client(access_token=token, version="3.6", base_url=tls_server.host, organization_id=org,
                                 verify=False, disable_logging=True)
    owner = creds["owner"]
    with tls_server.http() as http_client, serve_http(Page) as site, web.session:
        assert ok(web.get_customer())["type"] == "customer"
        started = ok(web.start_chat(continuous=True, chat={"thread": {"events": [{"type": "message", "text": "a"}]}}))
        chat_id, thread_id, [event_id] = started["chat_id"], started["thread_id"], started["event_ids"]
        assert ok(web.delete_event(chat_id=chat_id, thread_id=thread_id, event_id=event_id)) == {}
        assert ok(web.get_chat(chat_id=chat_id))["thread"]["events"] == []
        assert ok(web.get_url_info(url=f"{site}/a"))["title"] == "SDK page"
        assert ok(web.list_license_properties(namespace="nothing")) == {}
        assert ok(web.list_group_properties(group_id=0)) == {}
        refused = web.get_predicted_agent()
        assert refused.status_code == 400 and refused.json()["error"]["type"] == "group_offline"
        r = http_client.post("/v3.6/agent/action/set_routing_status", json={"status": "accepting_chats"},
                             headers={"Authorization": f"Bearer {owner['personal_access_token']}"})
        assert r.status_code == 200, r.text
        predicted = ok(web.get_predicted_agent())
        assert predicted["queue"] is False and predicted["agent"]["id"] == owner["account_id"]
        # no e-mail address known yet: LiveChat's validation error (the story with a mail server is in
        # tests/test_customer_api_breadth.py)
        no_address = web.request_email_verification(callback_uri="https://example.com/verified")
        assert no_address.status_code == 400 and no_address.json()["error"]["type"] == "validation"

        rtm = rtm_client(tls_server, org)
        rtm.open_connection()
        try:
            rtm_ok(rtm.login(token=token))
            sent = rtm_ok(rtm.send_event(chat_id=chat_id, event={"type": "message", "text": "b"}))
            assert rtm_ok(rtm.delete_event(chat_id=chat_id, thread_id=thread_id,
                                           event_id=sent.payload["event_id"])).payload == {}
            deleted = wait_for_push(rtm, "event_deleted", lambda p: p["event_id"] == sent.payload["event_id"])
            assert deleted["payload"] == {"chat_id": chat_id, "thread_id": thread_id,
                                          "event_id": sent.payload["event_id"]}
            assert rtm_ok(rtm.get_predicted_agent()).payload["agent"]["id"] == owner["account_id"]
            assert rtm_ok(rtm.get_url_info(url=f"{site}/a")).payload["title"] == "SDK page"
            assert rtm_ok(rtm.get_customer()).payload["type"] == "customer"
        finally:
            close_rtm(rtm)
    assert customer_id
# --- the Agent Chat API v3.6 methods beyond answering chats, through the SDK's AgentWeb and AgentRTM -------------------


def _customer_chat(server: TlsServer, org: str, text: str) -> tuple[str, str, str]:
    """(token, chat id, thread id) of a customer's chat started through the SDK's CustomerWeb."""
    token, _ = cookie_grant(server, org)
    web = CustomerWeb.get_client(access_token=token, version="3.6", base_url=server.host, organization_id=org,
                                 verify=False, disable_logging=True)
    with web.session:
        started = ok(web.start_chat(chat={"thread": {"events": [{"type": "message", "text": text}]}}))
    return token, started["chat_id"], started["thread_id"]


def test_agent_web_v36_breadth_through_the_sdk(request, tls_server: TlsServer, creds: dict):
    from livechat.agent.web.base import AgentWeb

    org = creds["organization_id"]
    owner = AgentWeb.get_client(access_token=f"Bearer {creds['owner']['personal_access_token']}", version="3.6",
                                base_url=tls_server.host, verify=False, disable_logging=True)
    request.addfinalizer(owner.session.close)
    assert owner.api_url == f"https://{tls_server.host}/v3.6/agent/action"
    ok(owner.set_routing_status(status="accepting_chats"))
    _, chat_id, thread_id = _customer_chat(tls_server, org, "Where is order 77?")
    agent_id = creds["agent"]["account_id"]

    assert ok(owner.send_event_preview(chat_id=chat_id, event={"type": "message", "text": "Looking"})) == {}
    assert ok(owner.send_thinking_indicator(chat_id=chat_id, title="Thinking...", description="Orders API",
                                            visibility="all", custom_id="t-1")) == {}
    assert ok(owner.multicast(recipients={"agents": {"all": True}}, content={"note": "vip"}, type="alert")) == {}
    ok(owner.set_routing_status(status="not_accepting_chats", agent_id=agent_id))
    listed = ok(owner.list_agents_for_transfer(chat_id=chat_id))
    assert listed == [{"agent_id": agent_id, "total_active_chats": 0, "active_chats": 0}]
    assert ok(owner.request_thread_summary(chat_id=chat_id, thread_id=thread_id)) == {}
    transcript = ok(owner.get_thread_transcript(chat_id=chat_id, thread_id=thread_id))
    assert "Where is order 77?" in transcript["transcript"]
    uploaded = ok(owner.upload_file(file={"file": ("notes.txt", b"order #77", "text/plain")}))
    assert uploaded["url"].startswith(f"https://{tls_server.host}/files/{org}/")

    agent = AgentWeb.get_client(access_token=f"Bearer {creds['agent']['personal_access_token']}", version="3.6",
                                base_url=tls_server.host, verify=False, disable_logging=True)
    request.addfinalizer(agent.session.close)
    assert ok(agent.follow_chat(id=chat_id)) == {}
    assert ok(agent.unfollow_chat(id=chat_id)) == {}
    ok(owner.deactivate_chat(id=chat_id))
    with tls_server.http() as http:  # (tag_thread takes the license's tags only)
        ok(http.post("/v3.6/configuration/action/create_tag", json={"name": "orders", "group_ids": [0]},
                     headers={"Authorization": f"Bearer {creds['owner']['personal_access_token']}"}))
    ok(owner.tag_thread(chat_id=chat_id, thread_id=thread_id, tag="orders"))
    archives = ok(owner.list_archives(filters={"tags": {"values": ["orders"]}, "chat_ids": [chat_id],
                                               "customer_email": "nobody@example.com"}))
    assert archives["found_chats"] == 0  # (the customer left no address)
    archives = ok(owner.list_archives(filters={"tags": {"values": ["orders"]}, "chat_ids": [chat_id],
                                               "event_types": {"values": ["message"]}}))
    assert [c["id"] for c in archives["chats"]] == [chat_id]
    assert ok(agent.logout()) == {}


def test_agent_rtm_v36_breadth_through_the_sdk(tls_server: TlsServer, creds: dict):
    from livechat.agent.rtm.base import AgentRTM

    org = creds["organization_id"]
    owner_token = f"Bearer {creds['owner']['personal_access_token']}"
    rtm = AgentRTM.get_client(version="3.6", base_url=tls_server.host)
    rtm.open_connection()
    try:
        login = rtm_ok(rtm.login(token=owner_token))
        assert login.payload["my_profile"]["id"] == creds["owner"]["account_id"]
        rtm_ok(rtm.set_routing_status(status="accepting_chats"))
        _, chat_id, thread_id = _customer_chat(tls_server, org, "Hello agents")
        wait_for_push(rtm, "incoming_chat", lambda p: p["chat"]["id"] == chat_id)

        assert rtm_ok(rtm.send_event_preview(chat_id=chat_id, event={"type": "message", "text": "Typing a"})).payload == {}
        assert rtm_ok(rtm.send_thinking_indicator(chat_id=chat_id, title="Thinking...")).payload == {}
        assert rtm_ok(rtm.multicast(recipients={"agents": {"ids": [creds["owner"]["account_id"]]}},
                                    content={"hello": "me"})).payload == {}
        got = wait_for_push(rtm, "incoming_multicast")
        assert got["payload"] == {"author_id": creds["owner"]["account_id"], "content": {"hello": "me"}}
        assert isinstance(rtm_ok(rtm.list_agents_for_transfer(chat_id=chat_id)).payload, list)
        rtm_ok(rtm.request_thread_summary(chat_id=chat_id, thread_id=thread_id))
        summary = wait_for_push(rtm, "thread_summary_set")["payload"]
        assert summary["thread_id"] == thread_id and 'First customer message: "Hello agents"' in summary["summary"]["text"]
        transcript = rtm_ok(rtm.get_thread_transcript(chat_id=chat_id, thread_id=thread_id)).payload
        assert "Hello agents" in transcript["transcript"]
        assert rtm_ok(rtm.set_away_status(away=True)).payload == {}
        assert rtm_ok(rtm.set_away_status(away=False)).payload == {}
        assert rtm_ok(rtm.update_session(token=owner_token)).payload == {}
        assert rtm_ok(rtm.change_push_notifications(firebase_token="t", platform="ios", enabled=False)).payload == {}
        assert rtm_ok(rtm.follow_chat(id=chat_id)).payload == {}  # (a member: nothing to do)
        assert rtm_ok(rtm.list_archives(filters={"agents": {"exists": True}})).payload["found_chats"] >= 0
        assert rtm_ok(rtm.logout()).payload == {}  # answered before the goodbye
        wait_for_push(rtm, "agent_disconnected")
    finally:
        rtm.close_connection()
