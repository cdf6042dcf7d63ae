"""Every public method of LiveChat's official Python SDK (lc-sdk-python 0.4.2) against our server, over TLS.

The SDK's v3.6 classes are enumerated with ``inspect`` (only the transport helpers are left out), so a method a newer
SDK adds fails this walk until it is called here. Each method is called with arguments from LiveChat's docs, in an
order that makes sense (what it needs is created first), and its answer is checked against the documented response
shape (``SPEC``: required keys and their types; ``EMPTY`` for "no response payload"). ``NOT_YET_<CLASS>`` names the
methods that do not answer so yet: the test is strict both ways, so a method outside it must answer with its shape,
and one inside it must still fail; when a branch makes one answer, remove it from the set.

When this walk was written (main at e4254b4) 131 of 216 methods answered with their documented shape (CustomerWebV36
28/35, CustomerRtmV36 27/31, AgentWebV36 27/37, AgentRtmV36 27/40, ConfigurationApiV36 22/73); after the v3.6
branches all 216 do, and every ``NOT_YET`` set is empty. The walk prints each class's count and every failure's
reason (``pytest -rA tests/test_sdk_walk.py``).

The customer classes walk twice: against the server, and through an edge in upstream proxy mode in front of it, with
the same ``NOT_YET`` sets (proxy parity: what the server answers, the edge answers too).
"""

from __future__ import annotations

import asyncio
import base64
import http.server
import inspect
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

pytest.importorskip("livechat", reason="lc-sdk-python is not installed")

from livechat.agent.rtm.api.v36 import AgentRtmV36
from livechat.agent.rtm.base import AgentRTM
from livechat.agent.web.api.v36 import AgentWebV36
from livechat.agent.web.base import AgentWeb
from livechat.configuration.api.v36 import ConfigurationApiV36
from livechat.configuration.base import ConfigurationApi
from livechat.customer.rtm.api.v36 import CustomerRtmV36
from livechat.customer.rtm.base import CustomerRTM
from livechat.customer.web.api.v36 import CustomerWebV36
from livechat.customer.web.base import CustomerWeb

from tests.support import LiveServer, free_port, serve_http, start_valkey
from tests.support.mail import SmtpInbox
from widget_server.bootstrap import create_license
from widget_server.valkey import connect

TRANSPORT_HELPERS = frozenset({"get_headers", "modify_header", "remove_header", "open_connection", "close_connection"})

# What does not answer with its documented shape yet. Remove a name when its branch lands (the test says which).
NOT_YET_CUSTOMER_WEB: frozenset[str] = frozenset()  # (the walk's servers send mail: request_email_verification answers)
NOT_YET_CUSTOMER_RTM: frozenset[str] = frozenset()
NOT_YET_AGENT_WEB: frozenset[str] = frozenset()
NOT_YET_AGENT_RTM: frozenset[str] = frozenset()
NOT_YET_CONFIGURATION: frozenset[str] = frozenset()

# --- response shapes ------------------------------------------------------------------------------------------------

EMPTY: dict = {}
"""LiveChat's "no response payload": exactly ``{}``."""


def opt(key: str) -> str:
    """A key that may be absent (checked when present)."""
    return key + "?"


def mismatch(value: Any, spec: Any, path: str = "$") -> str | None:
    """Why ``value`` does not have the shape ``spec`` (None when it has): ``EMPTY`` is exactly ``{}``, a dict spec
    names required keys (``opt`` ones may be missing) with their specs, ``[spec]`` is a list of such items, a type
    (or tuple of types) is an isinstance check (``int`` is not satisfied by a bool)."""
    if spec is EMPTY:
        return None if value == {} else f"{path}: expected {{}} (no response payload), got {_short(value)}"
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            return f"{path}: expected an object, got {_short(value)}"
        for key, sub in spec.items():
            name = key.removesuffix("?")
            if name not in value:
                if key.endswith("?"):
                    continue
                return f"{path}: missing key {name!r} in {_short(value)}"
            if (why := mismatch(value[name], sub, f"{path}.{name}")) is not None:
                return why
        return None
    if isinstance(spec, list):
        if not isinstance(value, list):
            return f"{path}: expected an array, got {_short(value)}"
        for i, item in enumerate(value):
            if (why := mismatch(item, spec[0], f"{path}[{i}]")) is not None:
                return why
        return None
    types = spec if isinstance(spec, tuple) else (spec,)
    if isinstance(value, bool) and bool not in types:
        return f"{path}: expected {spec}, got {value!r}"
    if not isinstance(value, types):
        return f"{path}: expected {spec}, got {_short(value)}"
    return None


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 300 else text[:300] + "…"


# Shared pieces of the documented shapes (LiveChat's docs: Customer/Agent Chat API and Configuration API v3.6, their
# sample payloads in livechat/livechat-public-docs).
THREAD = {"id": str, "active": bool, "user_ids": [str], "events": [dict], "created_at": str}
CHAT = {"id": str, "thread": THREAD, "users": [{"id": str, "type": str}]}
CHAT_SUMMARY = {"id": str, "users": [dict]}
CUSTOMER = {"id": str, "type": str}
LOGIN_CUSTOMER = {"customer": {"id": str}, "chats": [dict], "has_active_thread": bool}
PREDICTED_AGENT = {"agent": {"id": str, "name": str, "avatar": str, "is_bot": bool, "job_title": str, "type": str},
                   "queue": bool}
WELCOME = {"id": str, "queue": bool}
URL_INFO = {"title": str, "url": str, opt("description"): str, opt("image_url"): str}

CUSTOMER_SPEC: dict[str, Any] = {
    "get_dynamic_configuration": {"organization_id": str, "livechat_active": bool,
                                  "livechat": {"group_id": int, "domain_allowed": bool, "config_version": str,
                                               "localization_version": str, "language": str}},
    "get_configuration": {"buttons": [dict], "properties": dict},
    "get_localization": dict,
    "list_license_properties": dict,
    "list_group_properties": dict,
    "get_customer": CUSTOMER,
    "update_customer": EMPTY,
    "set_customer_session_fields": EMPTY,
    "list_group_statuses": {"groups_status": dict},
    "get_form": {"enabled": bool},
    "check_goals": EMPTY,
    "get_predicted_agent": PREDICTED_AGENT,
    "request_welcome_message": WELCOME,
    "get_url_info": URL_INFO,
    "request_email_verification": EMPTY,
    "start_chat": {"chat_id": str, "thread_id": str, opt("event_ids"): [str]},
    "send_event": {"event_id": str},
    "list_chats": {"chats_summary": [CHAT_SUMMARY], "total_chats": int},
    "get_chat": CHAT,
    "list_threads": {"threads": [THREAD], "found_threads": int},
    "mark_events_as_seen": EMPTY,
    "send_sneak_peek": EMPTY,
    "update_chat_properties": EMPTY, "delete_chat_properties": EMPTY,
    "update_thread_properties": EMPTY, "delete_thread_properties": EMPTY,
    "update_event_properties": EMPTY, "delete_event_properties": EMPTY,
    "send_rich_message_postback": EMPTY,
    "upload_file": {"url": str},
    "delete_event": EMPTY,
    "accept_greeting": EMPTY,
    "cancel_greeting": EMPTY,
    "deactivate_chat": EMPTY,
    "resume_chat": {"thread_id": str},
    # RTM only
    "login": LOGIN_CUSTOMER,
    "update_customer_page": {opt("groups"): [{"id": int, "status": str}]},
    "activate_customer_page": EMPTY,
    "deactivate_customer_page": EMPTY,
}

AGENT_SPEC: dict[str, Any] = {
    "login": {"license": {"id": (str, int), "organization_id": str}, "my_profile": {"id": str, "name": str},
              "chats_summary": [dict]},
    "set_routing_status": EMPTY,
    "list_routing_statuses": [{"agent_id": str, "status": str}],
    "set_away_status": EMPTY,
    "change_push_notifications": EMPTY,
    "update_session": EMPTY,
    "list_chats": {"chats_summary": [CHAT_SUMMARY], "found_chats": int},
    "get_chat": CHAT,
    "list_threads": {"threads": [THREAD], "found_threads": int},
    "list_archives": {"chats": [{"id": str, "users": [dict], "thread": dict}], "found_chats": int},
    "start_chat": {"chat_id": str, "thread_id": str},
    "resume_chat": {"thread_id": str},
    "deactivate_chat": EMPTY,
    "follow_chat": EMPTY,
    "unfollow_chat": EMPTY,
    "transfer_chat": EMPTY,
    "add_user_to_chat": EMPTY,
    "remove_user_from_chat": EMPTY,
    "send_event": {"event_id": str},
    "send_event_preview": EMPTY,
    "upload_file": {"url": str},
    "send_rich_message_postback": EMPTY,
    "update_chat_properties": EMPTY, "delete_chat_properties": EMPTY,
    "update_thread_properties": EMPTY, "delete_thread_properties": EMPTY,
    "update_event_properties": EMPTY, "delete_event_properties": EMPTY,
    "tag_thread": EMPTY,
    "untag_thread": EMPTY,
    "get_customer": CUSTOMER,
    "update_customer": EMPTY,
    "ban_customer": EMPTY,
    "mark_events_as_seen": EMPTY,
    "send_thinking_indicator": EMPTY,
    "send_typing_indicator": EMPTY,
    "multicast": EMPTY,
    "list_agents_for_transfer": [{"agent_id": str, "total_active_chats": int}],
    "request_thread_summary": EMPTY,
    "get_thread_transcript": dict,  # (in the SDK, not in LiveChat's public 3.6 docs: an object)
    "logout": EMPTY,
}


def batch(item: Any) -> dict:
    """A batch method's answer: one response per request, each the non-batch method's (an error fails it)."""
    return {"responses": [item]}


CONFIGURATION_SPEC: dict[str, Any] = {
    "create_agent": {"id": str},
    "get_agent": {"id": str, "name": str, "role": str},
    "list_agents": [{"id": str, "name": str, "role": str}],
    "update_agent": EMPTY,
    "suspend_agent": EMPTY,
    "unsuspend_agent": EMPTY,
    "request_agent_unsuspension": EMPTY,
    "approve_agent": EMPTY,
    "reactivate_email": EMPTY,
    "delete_agent": EMPTY,
    "batch_create_agents": batch({"id": str}),
    "batch_update_agents": batch(EMPTY),
    "batch_suspend_agents": batch(EMPTY),
    "batch_unsuspend_agents": batch(EMPTY),
    "batch_approve_agents": batch(EMPTY),
    "batch_delete_agents": batch(EMPTY),
    "create_group": {"id": int},
    "get_group": {"id": int, "name": str, "language_code": str},
    "list_groups": [{"id": int, "name": str, "language_code": str}],
    "update_group": EMPTY,
    "delete_group": EMPTY,
    "create_tag": EMPTY,
    "list_tags": [{"name": str, "group_ids": [int], "author_id": str, "created_at": str}],
    "update_tag": EMPTY,
    "delete_tag": EMPTY,
    "add_auto_access": {"id": str},
    "list_auto_accesses": [{"id": str, "access": {"groups": [int]}, "conditions": dict}],
    "update_auto_access": EMPTY,
    "delete_auto_access": EMPTY,
    "create_bot": {"id": str, "secret": str},
    "get_bot": {"id": str, "name": str},
    "list_bots": [{"id": str, "name": str}],
    "update_bot": EMPTY,
    "issue_bot_token": {"token": str},
    "reset_bot_secret": {"secret": str},
    "delete_bot": EMPTY,
    "create_bot_template": {"id": str},
    "list_bot_templates": [{"id": str, "name": str}],
    "update_bot_template": EMPTY,
    "reset_bot_template_secret": {"secret": str},
    "delete_bot_template": EMPTY,
    "batch_create_bots": batch({"id": str, "secret": str}),
    "batch_update_bots": batch(EMPTY),
    "batch_delete_bots": batch(EMPTY),
    "create_greeting": {"id": int},
    "get_greeting": {"id": int, "type": str, "active": bool, "name": str, "group": int, "rules": [dict]},
    "list_greetings": {"greetings": [{"id": int, "type": str, "name": str}], "found_greetings": int},
    "update_greeting": EMPTY,
    "delete_greeting": EMPTY,
    "register_property": EMPTY,
    "publish_property": EMPTY,
    "list_properties": dict,
    "update_license_properties": EMPTY,
    "list_license_properties": dict,
    "delete_license_properties": EMPTY,
    "update_group_properties": EMPTY,
    "list_groups_properties": [{"id": int, "properties": dict}],
    "delete_group_properties": EMPTY,
    "unregister_property": EMPTY,
    "register_webhook": {"id": str},
    "list_webhooks": [{"id": str, "url": str, "action": str, "type": str}],
    "list_webhook_names": [{"action": str}],
    "enable_license_webhooks": EMPTY,
    "get_license_webhooks_state": {"license_webhooks_enabled": bool},
    "disable_license_webhooks": EMPTY,
    "unregister_webhook": EMPTY,
    "list_customer_bans": [dict],
    "unban_customer": EMPTY,
    "list_channels": [{"channel_type": str, "first_activity_timestamp": str}],
    "check_product_limits_for_plan": [{"resource": str, "limit_balance": int}],
    "get_product_source": dict,  # (self-hosted: whatever it says, an object)
    "get_company_details": dict,  # (in the SDK; 3.6 documents only update_company_details)
    "update_company_details": EMPTY,
}


# --- the walk ---------------------------------------------------------------------------------------------------------


def sdk_methods(cls: type) -> set[str]:
    """Every public method of an SDK class but the transport helpers."""
    return {name for name, _ in inspect.getmembers(cls, inspect.isfunction)
            if not name.startswith("_") and name not in TRANSPORT_HELPERS}


@dataclass
class Walk:
    """Calls SDK methods, checks each answer against its spec, and remembers the first failure of each method."""

    client: Any
    spec: dict[str, Any]
    rtm: bool = False
    failures: dict[str, str] = field(default_factory=dict)
    called: set[str] = field(default_factory=set)

    def __call__(self, name: str, /, *, as_client: Any = None, **kwargs: Any) -> Any:
        """The answer's payload when it has the documented shape, else None (the failure is kept)."""
        self.called.add(name)
        method = getattr(as_client or self.client, name)
        try:
            reply = method(**kwargs)
        except Exception as exc:  # noqa: BLE001 (any way a call can go wrong is a finding of the walk)
            return self._failed(name, f"raised {exc!r}")
        if self.rtm:
            if reply is None:
                return self._failed(name, "no response within the SDK's response timeout")
            if reply.success is not True:
                return self._failed(name, f"success={reply.success}: {_short(reply.payload)}")
            body = reply.payload
        else:
            try:
                body = reply.json()
            except ValueError:
                return self._failed(name, f"HTTP {reply.status_code}, not JSON: {reply.text[:200]!r}")
            if reply.status_code != 200:
                return self._failed(name, f"HTTP {reply.status_code}: {_short(body)}")
        if (why := mismatch(body, self.spec[name])) is not None:
            return self._failed(name, why)
        return body

    def _failed(self, name: str, why: str) -> None:
        self.failures.setdefault(name, why)


def check_walk(walk: Walk, cls: type, not_yet: frozenset[str], set_name: str) -> None:
    """Strict both ways: every SDK method was called; those outside ``not_yet`` answered with their documented shape;
    those inside it still do not."""
    methods = sdk_methods(cls)
    stale = sorted(not_yet - methods)
    assert not stale, f"{set_name} names methods {cls.__name__} does not have: {stale}"
    missing = methods - walk.called
    assert not missing, (f"{cls.__name__} has methods this walk does not call (a newer SDK?): {sorted(missing)}; "
                         "add each to the walk with LiveChat's documented arguments and response shape")
    answered = methods - walk.failures.keys()
    broken = {name: walk.failures[name] for name in sorted(methods - not_yet - answered)}
    newly = sorted(answered & not_yet)
    print(f"{cls.__name__}: {len(answered)}/{len(methods)} methods answer with their documented shape")
    for name, why in sorted(walk.failures.items()):
        print(f"  not yet: {name}: {why}")
    assert not broken, f"{cls.__name__}: methods outside {set_name} that do not answer as documented: {broken}"
    assert not newly, (f"{cls.__name__}: {newly} now answer with their documented shape: remove them from "
                       f"{set_name} in tests/test_sdk_walk.py (and update the counts at the top)")


# --- the server, a license, its people --------------------------------------------------------------------------------

ORIGIN = "https://shop.example"
CLIENT_ID = "walk0805e283233042b37f460ed8fbf2"
"""The ``owner_client_id`` of this walk's app (properties, webhooks, bots): LiveChat's docs use a client id."""
PROPERTY = "walk_note"
RICH_MESSAGE = {"type": "rich_message", "template_id": "cards", "elements": [{"title": "Pick one", "buttons": [
    {"text": "Yes", "type": "message", "value": "yes", "postback_id": "walk_yes", "user_ids": []}]}]}


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Site:
    """The server (TLS, as the SDK needs), one license, its owner and agent, and plain HTTP for the set-up steps."""

    live: LiveServer
    org: str
    owner: dict
    agent: dict
    page_url: str
    """A page on a local site (link previews: ``get_url_info``)."""

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.live.port}"

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.live.url, verify=self.live.ssl_context, timeout=10)

    def basic(self, who: dict) -> str:
        return "Basic " + base64.b64encode(f"{who['account_id']}:{who['personal_access_token']}".encode()).decode()

    def customer_token(self) -> tuple[str, str]:
        """A new customer: (``Bearer …`` token, customer id) from the cookie grant."""
        with self.http() as http:
            r = http.post("/v2/customer/token", json={"grant_type": "cookie", "response_type": "token",
                                                      "client_id": "lc-sdk-python", "organization_id": self.org})
        assert r.status_code == 200, r.text
        return f"Bearer {r.json()['access_token']}", r.json()["entity_id"]

    def agent_call(self, who: dict, api: str, action: str, payload: dict) -> httpx.Response:
        """A set-up step through the Agent or Configuration API, outside the walk's counts."""
        with self.http() as http:
            return http.post(f"/v3.6/{api}/action/{action}", json=payload,
                             headers={"Authorization": self.basic(who)})

    def customer_call(self, token: str, action: str, payload: dict) -> httpx.Response:
        with self.http() as http:
            return http.post(f"/v3.6/customer/action/{action}", params={"organization_id": self.org}, json=payload,
                             headers={"Authorization": token})

    def greeting_ids(self, token: str, count: int) -> list[str]:
        """Greetings shown to the customer (the loader's page views on a page the walk's greeting targets)."""
        ids = []
        with self.http() as http:
            for _ in range(count):
                body = {"type": "page_view", "cfg": {"organization_id": self.org, "group": 0},
                        "url": f"{ORIGIN}/walk", "token": token.removeprefix("Bearer ")}
                r = http.post("/v1/widget/visit", content=json.dumps(body),
                              headers={"Origin": ORIGIN, "Content-Type": "text/plain"})
                greeting = r.json().get("greeting") if r.status_code == 200 else None
                ids.append(greeting["unique_id"] if greeting else "no-greeting-shown")
        return ids

    def agents_chat(self, token: str) -> tuple[str, str, str]:
        """A customer's chat with the owner in it: (chat id, thread id, the owner's rich message's event id)."""
        r = self.customer_call(token, "start_chat", {"chat": {"thread": {"events": [
            {"type": "message", "text": "Hello, I need help"}]}}})
        assert r.status_code == 200, r.text
        chat_id, thread_id = r.json()["chat_id"], r.json()["thread_id"]
        r = self.agent_call(self.owner, "agent", "send_event", {"chat_id": chat_id, "event": RICH_MESSAGE})
        return chat_id, thread_id, r.json().get("event_id", "no-rich-message") if r.status_code == 200 else "none"


class PreviewPage(http.server.BaseHTTPRequestHandler):
    """A page with a title, a description and an image, for link previews."""

    def do_GET(self) -> None:
        body = (b"<!doctype html><html><head><title>Walk shop</title>"
                b"<meta name='description' content='Shoes for walking'>"
                b"<meta property='og:image' content='/shoe.png'></head><body>Shoes</body></html>")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def walk_valkey() -> Iterator[Any]:
    """The walk's own Valkey: its server sends mail, and every mail-sending server on one Valkey shares one outbox
    (``tests/test_sdk_configuration_agents.py``), so it must not take other tests' mail."""
    server = start_valkey()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def walk_mail() -> Iterator[dict[str, str]]:
    """An SMTP inbox for the walk's servers (``request_agent_unsuspension`` mails the owners,
    ``request_email_verification`` the customer; a server that sends no mail refuses both): their environment."""
    with SmtpInbox() as inbox:
        yield {"WIDGET_SMTP_URL": f"smtp://127.0.0.1:{inbox.port}"}


@pytest.fixture(scope="module")
def tls_live(tmp_path_factory, walk_valkey, walk_mail) -> Iterator[LiveServer]:
    port = free_port()  # (WIDGET_PUBLIC_URL: the base of request_email_verification's mailed link)
    live = LiveServer(tmp_path_factory.mktemp("sdk-walk"), walk_valkey.connection_url, tls_names=[], port=port,
                      env={**walk_mail, "WIDGET_PUBLIC_URL": f"https://127.0.0.1:{port}"}).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def preview_page() -> Iterator[str]:
    with serve_http(PreviewPage, "walk-preview") as origin:
        yield origin + "/walk-shoes"


@pytest.fixture(scope="module")
async def site(tls_live, preview_page) -> Site:
    client = connect(tls_live.env["WIDGET_VALKEY_URL"])
    try:
        creds = await create_license(client, f"walk-{secrets.token_hex(6)}@example.com", "pw")
    finally:
        await client.aclose()
    s = Site(tls_live, creds["organization_id"], creds["owner"], creds["agent"], preview_page)
    # the owner takes chats; a greeting for the walk's page; a tag and a property the agents' calls may need (these
    # set-up calls may fail on a server without them: the walk then finds out)
    assert s.agent_call(s.owner, "agent", "set_routing_status", {"status": "accepting_chats"}).status_code == 200
    r = s.agent_call(s.owner, "configuration", "create_greeting", {
        "name": "Walk greeting", "text": "Can we help?", "group": 0,
        "rules": [{"type": "url_current", "operator": "contains", "value": "/walk"}]})
    assert r.status_code == 200, r.text
    s.agent_call(s.owner, "configuration", "create_tag", {"name": "walk", "group_ids": [0]})
    s.agent_call(s.owner, "configuration", "register_property", {
        "name": PROPERTY, "owner_client_id": CLIENT_ID, "type": "string", "description": "Walk note",
        "access": {where: {"agent": ["read", "write"], "customer": ["read", "write"]}
                   for where in ("chat", "thread", "event", "license", "group")}})
    return s


@pytest.fixture(scope="module")
def edge(tmp_path_factory, walk_valkey, walk_mail, site: Site) -> Iterator[str]:
    """An edge in upstream proxy mode (TLS, for the SDK) in front of a core on the walk's Valkey, with a Valkey of its
    own (``tests/test_upstream.py`` says why) where the walk's license is known too; yields its host."""
    edge_port = free_port()  # the core's public URL is the edge's (README "proxy mode": its links point there)
    core = LiveServer(tmp_path_factory.mktemp("sdk-walk-core"), walk_valkey.connection_url,
                      env={**walk_mail, "WIDGET_PUBLIC_URL": f"https://127.0.0.1:{edge_port}"}).start()
    edge_valkey = start_valkey()
    live = None
    try:
        live = LiveServer(tmp_path_factory.mktemp("sdk-walk-edge"), edge_valkey.connection_url, tls_names=[],
                          port=edge_port, env={"WIDGET_UPSTREAM_URL": core.url}).start()
        async def known_to_the_edge() -> None:
            client = connect(edge_valkey.connection_url)
            try:
                await create_license(client, f"walk-edge-{secrets.token_hex(6)}@example.com", "pw", org=site.org)
            finally:
                await client.aclose()

        asyncio.run(known_to_the_edge())
        yield f"127.0.0.1:{live.port}"
    finally:
        if live is not None:
            live.stop()
        edge_valkey.stop()
        core.stop()


@pytest.fixture(params=["direct", "through an edge"])
def customer_host(request, site: Site) -> str:
    """Where the customer's SDK connects: the server itself, or an edge in proxy mode in front of it (proxy parity:
    the same methods answer the same way)."""
    return site.host if request.param == "direct" else request.getfixturevalue("edge")


def props(value: str) -> dict:
    return {CLIENT_ID: {PROPERTY: value}}


# --- Customer Chat API --------------------------------------------------------------------------------------------


def test_every_customer_web_method(request, site: Site, customer_host: str):
    token, _ = site.customer_token()
    web = CustomerWeb.get_client(access_token=token, version="3.6", base_url=customer_host, organization_id=site.org,
                                 verify=False, disable_logging=True)
    request.addfinalizer(web.session.close)
    assert isinstance(web, CustomerWebV36)
    call = Walk(web, CUSTOMER_SPEC)

    dynamic = call("get_dynamic_configuration", group_id=0, url=f"{ORIGIN}/walk") or {}
    live = dynamic.get("livechat", {})
    call("get_configuration", group_id=0, version=live.get("config_version", ""))
    call("get_localization", group_id=0, language=live.get("language", "en"),
         version=live.get("localization_version", ""))
    call("list_license_properties", namespace=CLIENT_ID)
    call("list_group_properties", group_id=0, namespace=CLIENT_ID)
    call("update_customer", name="Thomas Anderson", email="t.anderson@example.com",
         session_fields=[{"custom_key": "custom_value"}], phone_number="+48 123 456 789", name_is_default=False)
    call("set_customer_session_fields", session_fields=[{"custom_key": "custom_value"}, {"another": "value"}])
    call("get_customer")
    call("list_group_statuses", all=True)
    call("get_form", group_id=0, type="prechat")
    call("check_goals", session_fields=[{"custom_key": "custom_value"}], group_id=0, page_url=f"{ORIGIN}/walk")
    call("get_predicted_agent")
    call("request_welcome_message")
    call("get_url_info", url=site.page_url)
    call("request_email_verification", callback_uri=f"{ORIGIN}/verified")
    accept_id, cancel_id = site.greeting_ids(token, 2)
    call("accept_greeting", greeting_id=1, unique_id=accept_id)
    call("cancel_greeting", unique_id=cancel_id)

    uploaded = call("upload_file", file={"file": ("notes.txt", b"order #1234", "text/plain")}) or {}
    started = call("start_chat", chat={"thread": {"events": [{"type": "message", "text": "Hello", "custom_id": "w1"}]}},
                   continuous=True) or {}
    chat_id, thread_id = started.get("chat_id", "none"), started.get("thread_id", "none")
    sent = call("send_event", chat_id=chat_id, event={"type": "message", "text": "hello world"}) or {}
    if uploaded:
        call("send_event", chat_id=chat_id, event={"type": "file", "url": uploaded["url"]})
    event_id = sent.get("event_id", "none")
    call("list_chats", limit=10, sort_order="desc")
    call("get_chat", chat_id=chat_id, thread_id=thread_id)
    call("list_threads", chat_id=chat_id, sort_order="desc")
    call("mark_events_as_seen", chat_id=chat_id, seen_up_to=now())
    call("send_sneak_peek", chat_id=chat_id, sneak_peek_text="I am typing")
    call("update_chat_properties", id=chat_id, properties=props("chat"))
    call("delete_chat_properties", id=chat_id, properties={CLIENT_ID: [PROPERTY]})
    call("update_thread_properties", chat_id=chat_id, thread_id=thread_id, properties=props("thread"))
    call("delete_thread_properties", chat_id=chat_id, thread_id=thread_id, properties={CLIENT_ID: [PROPERTY]})
    call("update_event_properties", chat_id=chat_id, thread_id=thread_id, event_id=event_id, properties=props("ev"))
    call("delete_event_properties", chat_id=chat_id, thread_id=thread_id, event_id=event_id,
         properties={CLIENT_ID: [PROPERTY]})
    rich = site.agent_call(site.owner, "agent", "send_event", {"chat_id": chat_id, "event": RICH_MESSAGE})
    rich_id = rich.json().get("event_id", "none") if rich.status_code == 200 else "none"
    call("send_rich_message_postback", chat_id=chat_id, thread_id=thread_id, event_id=rich_id,
         postback={"id": "walk_yes", "toggled": True})
    call("delete_event", chat_id=chat_id, thread_id=thread_id, event_id=event_id)
    call("deactivate_chat", id=chat_id)
    call("resume_chat", chat={"id": chat_id, "thread": {"events": [{"type": "message", "text": "Back again"}]}})

    check_walk(call, CustomerWebV36, NOT_YET_CUSTOMER_WEB, "NOT_YET_CUSTOMER_WEB")


@pytest.fixture
def customer_rtm(site: Site, customer_host: str) -> Iterator[Any]:
    rtm = CustomerRTM.get_client(version="3.6", base_url=customer_host, organization_id=site.org)
    rtm.open_connection(origin=ORIGIN, response_timeout=5)  # (a busy machine: not the SDK's 3 s)
    yield rtm
    rtm.close_connection()


def test_every_customer_rtm_method(site: Site, customer_rtm):
    token, _ = site.customer_token()
    assert isinstance(customer_rtm, CustomerRtmV36)
    call = Walk(customer_rtm, CUSTOMER_SPEC, rtm=True)

    call("login", token=token)
    call("update_customer_page", url=f"{ORIGIN}/walk", title="Walk shop")
    call("deactivate_customer_page")
    call("activate_customer_page")
    call("update_customer", name="Thomas Anderson", email="t.anderson@example.com", phone_number="+48 123 456 789",
         session_fields=[{"custom_key": "custom_value"}])
    call("set_customer_session_fields", session_fields=[{"custom_key": "custom_value"}])
    call("get_customer")
    call("list_group_statuses", group_ids=[0])
    call("get_form", group_id=0, type="prechat")
    call("get_predicted_agent")
    call("request_welcome_message")
    call("get_url_info", url=site.page_url)
    accept_id, cancel_id = site.greeting_ids(token, 2)
    call("accept_greeting", greeting_id=1, unique_id=accept_id)
    call("cancel_greeting", unique_id=cancel_id)

    started = call("start_chat", chat={"thread": {"events": [{"type": "message", "text": "Hello"}]}}) or {}
    chat_id, thread_id = started.get("chat_id", "none"), started.get("thread_id", "none")
    sent = call("send_event", chat_id=chat_id, event={"type": "message", "text": "hello world"}) or {}
    event_id = sent.get("event_id", "none")
    call("list_chats", limit=10)
    call("get_chat", chat_id=chat_id)
    call("list_threads", chat_id=chat_id, min_events_count=1)
    call("mark_events_as_seen", chat_id=chat_id, seen_up_to=now())
    call("send_sneak_peek", chat_id=chat_id, sneak_peek_text="typing…")
    call("update_chat_properties", id=chat_id, properties=props("chat"))
    call("delete_chat_properties", id=chat_id, properties={CLIENT_ID: [PROPERTY]})
    call("update_thread_properties", chat_id=chat_id, thread_id=thread_id, properties=props("thread"))
    call("delete_thread_properties", chat_id=chat_id, thread_id=thread_id, properties={CLIENT_ID: [PROPERTY]})
    call("update_event_properties", chat_id=chat_id, thread_id=thread_id, event_id=event_id, properties=props("ev"))
    call("delete_event_properties", chat_id=chat_id, thread_id=thread_id, event_id=event_id,
         properties={CLIENT_ID: [PROPERTY]})
    rich = site.agent_call(site.owner, "agent", "send_event", {"chat_id": chat_id, "event": RICH_MESSAGE})
    rich_id = rich.json().get("event_id", "none") if rich.status_code == 200 else "none"
    call("send_rich_message_postback", chat_id=chat_id, thread_id=thread_id, event_id=rich_id,
         postback={"id": "walk_yes", "toggled": True})
    call("delete_event", chat_id=chat_id, thread_id=thread_id, event_id=event_id)
    call("deactivate_chat", id=chat_id)
    call("resume_chat", chat={"id": chat_id, "thread": {"events": [{"type": "message", "text": "Back"}]}})

    check_walk(call, CustomerRtmV36, NOT_YET_CUSTOMER_RTM, "NOT_YET_CUSTOMER_RTM")


# --- Agent Chat API -----------------------------------------------------------------------------------------------


def agent_walk(call: Walk, site: Site, rtm: bool) -> None:
    """The Agent Chat API methods both transports have, in order (``upload_file`` is Web only, ``login`` and the
    session methods RTM only: the callers add them)."""
    other = site.agent["account_id"]
    call("set_routing_status", status="accepting_chats")
    call("list_routing_statuses", filters={"group_ids": [0]})
    token, customer_id = site.customer_token()
    chat_id, thread_id, rich_id = site.agents_chat(token)
    call("list_chats", filters={"active": True}, limit=10)
    call("get_chat", chat_id=chat_id, thread_id=thread_id)
    call("list_threads", chat_id=chat_id, sort_order="desc")
    sent = call("send_event", chat_id=chat_id, event={"type": "message", "text": "hello world", "visibility": "all"})
    event_id = (sent or {}).get("event_id", "none")
    call("send_event_preview", chat_id=chat_id, event={"type": "message", "text": "Preview of a longer response..."})
    call("send_typing_indicator", chat_id=chat_id, is_typing=True)
    call("send_thinking_indicator", chat_id=chat_id, title="Thinking...", description="Fetching data",
         visibility="all", custom_id="walk-1")
    call("send_rich_message_postback", chat_id=chat_id, thread_id=thread_id, event_id=rich_id,
         postback={"id": "walk_yes", "toggled": True})
    call("mark_events_as_seen", chat_id=chat_id, seen_up_to=now())
    call("update_chat_properties", id=chat_id, properties=props("chat"))
    call("delete_chat_properties", id=chat_id, properties={CLIENT_ID: [PROPERTY]})
    call("update_thread_properties", chat_id=chat_id, thread_id=thread_id, properties=props("thread"))
    call("delete_thread_properties", chat_id=chat_id, thread_id=thread_id, properties={CLIENT_ID: [PROPERTY]})
    call("update_event_properties", chat_id=chat_id, thread_id=thread_id, event_id=event_id, properties=props("ev"))
    call("delete_event_properties", chat_id=chat_id, thread_id=thread_id, event_id=event_id,
         properties={CLIENT_ID: [PROPERTY]})
    call("tag_thread", chat_id=chat_id, thread_id=thread_id, tag="walk")
    call("untag_thread", chat_id=chat_id, thread_id=thread_id, tag="walk")
    call("get_customer", id=customer_id)
    call("update_customer", id=customer_id, name="Thomas Anderson", email="t.anderson@example.com",
         session_fields=[{"custom_key": "custom_value"}])
    call("list_agents_for_transfer", chat_id=chat_id)
    call("add_user_to_chat", chat_id=chat_id, user_id=other, user_type="agent", visibility="all",
         ignore_requester_presence=True)
    call("remove_user_from_chat", chat_id=chat_id, user_id=other, user_type="agent", ignore_requester_presence=True)
    call("multicast", recipients={"agents": {"all": True}}, content={"example": {"nested": "json"}})
    call("request_thread_summary", chat_id=chat_id, thread_id=thread_id)
    call("get_thread_transcript", chat_id=chat_id, thread_id=thread_id)
    call("deactivate_chat", id=chat_id, ignore_requester_presence=True)
    call("list_archives", filters={"agent_ids": [site.owner["account_id"]]}, limit=10)
    call("resume_chat", chat={"id": chat_id, "thread": {"events": [{"type": "message", "text": "Back"}]}})
    call("transfer_chat", id=chat_id, target={"type": "agent", "ids": [other]}, ignore_agents_availability=True,
         ignore_requester_presence=True)
    # once the chat went to the other agent, the caller may follow it (LiveChat: chat members cannot unfollow)
    call("follow_chat", id=chat_id)
    call("unfollow_chat", id=chat_id)
    # a chat the agent starts with another customer, who is then banned
    _, visitor_id = site.customer_token()
    call("start_chat", chat={"users": [{"id": visitor_id, "type": "customer"}],
                             "thread": {"events": [{"type": "message", "text": "Hi from the team"}]}})
    call("ban_customer", id=visitor_id, ban={"days": 1})


def test_every_agent_web_method(request, site: Site):
    web = AgentWeb.get_client(access_token=site.basic(site.owner), version="3.6", base_url=site.host, verify=False,
                              disable_logging=True)
    request.addfinalizer(web.session.close)
    assert isinstance(web, AgentWebV36)
    call = Walk(web, AGENT_SPEC)
    call("upload_file", file={"file": ("invoice.txt", b"invoice 1234", "text/plain")})
    agent_walk(call, site, rtm=False)
    call("logout", agent_id=site.owner["account_id"])
    check_walk(call, AgentWebV36, NOT_YET_AGENT_WEB, "NOT_YET_AGENT_WEB")


@pytest.fixture
def agent_rtm(site: Site) -> Iterator[Any]:
    rtm = AgentRTM.get_client(version="3.6", base_url=site.host)
    rtm.open_connection(response_timeout=5)
    yield rtm
    rtm.close_connection()


def test_every_agent_rtm_method(site: Site, agent_rtm):
    assert isinstance(agent_rtm, AgentRtmV36)
    call = Walk(agent_rtm, AGENT_SPEC, rtm=True)
    token = site.basic(site.owner)
    call("login", token=token, timezone="Europe/Warsaw", application={"name": "lc-sdk-python", "version": "0.4.2"},
         customer_monitoring_level="my")
    call("set_away_status", away=False)
    call("change_push_notifications", firebase_token="walk-firebase-token", platform="ios", enabled=False)
    call("update_session", token=token)
    agent_walk(call, site, rtm=True)
    call("logout")
    check_walk(call, AgentRtmV36, NOT_YET_AGENT_RTM, "NOT_YET_AGENT_RTM")


# --- Configuration API --------------------------------------------------------------------------------------------


def test_every_configuration_method(request, site: Site):
    api = ConfigurationApi.get_client(token=site.basic(site.owner), version="3.6", base_url=site.host, verify=False,
                                      disable_logging=True)
    request.addfinalizer(api.session.close)
    assert isinstance(api, ConfigurationApiV36)
    call = Walk(api, CONFIGURATION_SPEC)
    hexa = secrets.token_hex(4)
    owner = site.owner["account_id"]

    # agents: one made here, one waiting for approval, and the license's own agent (suspended, asks to be back)
    smith = f"smith-{hexa}@example.com"
    call("create_agent", id=smith, name="Agent Smith", role="normal", job_title="Support Hero", max_chats_count=5,
         groups=[{"id": 0, "priority": "normal"}])
    call("get_agent", id=smith, fields=["max_chats_count", "job_title"])
    call("list_agents", filters={"group_ids": [0]}, fields=["max_chats_count", "job_title"])
    call("update_agent", id=smith, name="Agent J. Smith", job_title="Senior Support Hero")
    call("suspend_agent", id=smith)
    call("unsuspend_agent", id=smith)
    waiting = f"brown-{hexa}@example.com"
    call("create_agent", id=waiting, name="Agent Brown", role="normal", awaiting_approval=True)
    call("approve_agent", id=waiting)
    call("reactivate_email", agent_id=smith)
    call("delete_agent", id=smith)
    colleague = site.agent["account_id"]
    call("suspend_agent", id=colleague)
    as_colleague = ConfigurationApi.get_client(token=site.basic(site.agent), version="3.6", base_url=site.host,
                                               verify=False, disable_logging=True)
    request.addfinalizer(as_colleague.session.close)
    call("request_agent_unsuspension", as_client=as_colleague)
    call("unsuspend_agent", id=colleague)
    first, second = f"jones-{hexa}@example.com", f"white-{hexa}@example.com"
    call("batch_create_agents", requests=[{"id": first, "name": "Agent Jones", "role": "normal"}])
    call("create_agent", id=second, name="Agent White", role="normal", awaiting_approval=True)
    call("batch_approve_agents", requests=[{"id": second}])
    call("batch_update_agents", requests=[{"id": first, "job_title": "Night shift"}])
    call("batch_suspend_agents", requests=[{"id": first}])
    call("batch_unsuspend_agents", requests=[{"id": first}])
    call("batch_delete_agents", requests=[{"id": first}])
    call("delete_agent", id=second)
    call("delete_agent", id=waiting)

    # groups
    group = call("create_group", name="Sports shoes", language_code="en", agent_priorities={owner: "normal"}) or {}
    group_id = group.get("id", 99)
    call("get_group", id=group_id, fields=["agent_priorities", "routing_status"])
    call("list_groups", fields=["agent_priorities"])
    call("update_group", id=group_id, name="Sport shoes", agent_priorities={owner: "first"})

    # tags
    call("create_tag", name="docs_feedback", group_ids=[0, group_id])
    call("list_tags", filters={"group_ids": [0]})
    call("update_tag", name="docs_feedback", group_ids=[0])
    call("delete_tag", name="docs_feedback")

    # auto access
    rule = call("add_auto_access", description="Chats on shop.example from the United States",
                access={"groups": [group_id]},
                conditions={"domain": {"values": [{"value": "shop.example", "exact_match": True}]},
                            "geolocation": {"values": [{"country": "United States", "country_code": "US"}]}}) or {}
    call("list_auto_accesses")
    call("update_auto_access", id=rule.get("id", "none"), access={"groups": [0, group_id]},
         description="Chats on shop.example")
    call("delete_auto_access", id=rule.get("id", "none"))

    # bots and bot templates
    bot = call("create_bot", name="Walk bot", owner_client_id=CLIENT_ID, max_chats_count=6,
               groups=[{"id": 0, "priority": "normal"}], timezone="Europe/Warsaw") or {}
    bot_id = bot.get("id", "none")
    call("get_bot", id=bot_id)
    call("list_bots", all=True)
    call("update_bot", id=bot_id, name="Walk bot 2")
    call("issue_bot_token", bot_id=bot_id, bot_secret=bot.get("secret", "none"), organization_id=site.org,
         client_id=CLIENT_ID)
    call("reset_bot_secret", id=bot_id, owner_client_id=CLIENT_ID)
    call("delete_bot", id=bot_id)
    template = call("create_bot_template", name="Walk template", owner_client_id=CLIENT_ID) or {}
    template_id = template.get("id", "none")
    call("list_bot_templates", owner_client_id=CLIENT_ID)
    call("update_bot_template", id=template_id, name="Walk template 2", owner_client_id=CLIENT_ID)
    call("reset_bot_template_secret", id=template_id, owner_client_id=CLIENT_ID)
    call("delete_bot_template", id=template_id, owner_client_id=CLIENT_ID)
    made = call("batch_create_bots", requests=[{"name": "Batch bot", "owner_client_id": CLIENT_ID}]) or {}
    batch_bot = (made.get("responses") or [{}])[0].get("id", "none")
    call("batch_update_bots", requests=[{"id": batch_bot, "name": "Batch bot 2"}])
    call("batch_delete_bots", requests=[{"id": batch_bot}])

    # greetings (LiveChat's 3.6 shape: rules and a rich message)
    greeting = call("create_greeting", type="normal", active=True, name="Welcome greeting", group=0,
                    rules=[{"condition": "and", "type": "url_current", "operator": "contains", "value": "checkout"}],
                    rich_message={"template_id": "text", "elements": [{"title": "Hello!",
                                                                       "subtitle": "Need a hand?"}]}) or {}
    if not greeting:  # (so that the methods after it are judged on their own: a greeting in this server's shape)
        r = site.agent_call(site.owner, "configuration", "create_greeting", {
            "name": "Fallback greeting", "text": "Hello!", "group": 0,
            "rules": [{"type": "url_current", "operator": "contains", "value": "checkout"}]})
        greeting = r.json() if r.status_code == 200 else {}
    greeting_id = greeting.get("id", 0)
    call("get_greeting", id=greeting_id)
    call("list_greetings", groups=[0], limit=25)
    call("update_greeting", id=greeting_id, active=False, name="Updated welcome greeting")
    call("delete_greeting", id=greeting_id)

    # properties of this walk's app
    name = f"walk_{hexa}"
    call("register_property", name=name, owner_client_id=CLIENT_ID, type="string", description="Walk property",
         access={"license": {"agent": ["read", "write"], "customer": ["read"]},
                 "group": {"agent": ["read", "write"], "customer": ["read"]}})
    call("publish_property", name=name, owner_client_id=CLIENT_ID, access_type=["read"])
    call("list_properties", owner_client_id=CLIENT_ID)
    call("update_license_properties", properties={CLIENT_ID: {name: "string value"}})
    call("list_license_properties", namespace=CLIENT_ID, name_prefix="walk")
    call("delete_license_properties", properties={CLIENT_ID: [name]})
    call("update_group_properties", group_id=0, properties={CLIENT_ID: {name: "group value"}})
    call("list_groups_properties", group_ids=[0], namespace=CLIENT_ID)
    call("delete_group_properties", id=0, properties={CLIENT_ID: [name]})
    # LiveChat unregisters private properties only: a second one, never published
    call("register_property", name=f"{name}_private", owner_client_id=CLIENT_ID, type="int",
         description="Walk private property", access={"chat": {"agent": ["read", "write"]}})
    call("unregister_property", name=f"{name}_private", owner_client_id=CLIENT_ID)

    # webhooks (to a local address the test servers may deliver to; nothing listens there)
    hook = call("register_webhook", action="chat_deactivated", secret_key="laudla991lamda0pnoaa0",
                url="http://127.0.0.1:9/walk-hook", description="Walk webhook", type="license",
                owner_client_id=CLIENT_ID) or {}
    call("list_webhooks", owner_client_id=CLIENT_ID)
    call("list_webhook_names", version="3.6")
    call("enable_license_webhooks", owner_client_id=CLIENT_ID)
    call("get_license_webhooks_state", owner_client_id=CLIENT_ID)
    call("disable_license_webhooks", owner_client_id=CLIENT_ID)
    call("unregister_webhook", id=hook.get("id", "none"), owner_client_id=CLIENT_ID)

    # bans: a customer the owner bans, listed, then unbanned
    _, banned = site.customer_token()
    site.agent_call(site.owner, "agent", "ban_customer", {"id": banned, "ban": {"days": 1}})
    call("list_customer_bans")
    call("unban_customer", customer_id=banned)

    # the license
    call("list_channels")
    call("check_product_limits_for_plan", plan="starter")
    call("get_product_source")
    call("get_company_details")
    call("update_company_details", company="Walk Inc.", city="Wroclaw", url="https://shop.example", enrich=False)
    call("delete_group", id=group_id)

    check_walk(call, ConfigurationApiV36, NOT_YET_CONFIGURATION, "NOT_YET_CONFIGURATION")


def test_the_shape_checker_tells_what_is_wrong():
    """The walk's verdicts rest on ``mismatch``: it must catch each kind of difference."""
    assert mismatch({}, EMPTY) is None and "expected {}" in mismatch({"a": 1}, EMPTY)
    assert mismatch({"id": "x", "n": 1}, {"id": str}) is None
    assert "missing key 'id'" in mismatch({"n": 1}, {"id": str})
    assert mismatch({"n": 1}, {opt("id"): str}) is None and "expected" in mismatch({"id": 1}, {opt("id"): str})
    assert "expected <class 'int'>" in mismatch({"n": True}, {"n": int})
    assert mismatch([{"a": 1}, {"a": 2}], [{"a": int}]) is None and "$[1].a" in mismatch([{"a": 1}, {"a": "2"}],
                                                                                         [{"a": int}])
    assert "expected an array" in mismatch({}, [dict]) and "expected an object" in mismatch([], {"a": int})
    assert mismatch({"responses": [{}]}, batch(EMPTY)) is None
    assert "expected {}" in mismatch({"responses": [{"error": {"type": "validation"}}]}, batch(EMPTY))


def test_every_spec_is_an_sdk_method():
    """A spec for a method no SDK class has is a typo (the walk would never check it)."""
    customer = sdk_methods(CustomerWebV36) | sdk_methods(CustomerRtmV36)
    agent = sdk_methods(AgentWebV36) | sdk_methods(AgentRtmV36)
    assert set(CUSTOMER_SPEC) == customer
    assert set(AGENT_SPEC) == agent
    assert set(CONFIGURATION_SPEC) == sdk_methods(ConfigurationApiV36)

