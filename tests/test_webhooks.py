"""Webhooks against hostile owners and slow receivers: no delivery to loopback, private or metadata addresses unless
the operator allows them, a delivery id that survives retries with Standard Webhooks signatures, and one hanging
endpoint that holds up nobody else's deliveries.

Every server on one Valkey reads the same webhook stream, so each server here has a Valkey of its own: the session's
servers (allowed to reach 127.0.0.1, where the tests' receivers listen) never take these deliveries, and these
servers never take theirs."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
import threading
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.support import AgentClient, CustomerClient, LiveServer, WebhookReceiver, free_port, start_valkey
from widget_server.bootstrap import create_license
from widget_server.valkey import connect


def _server_on_own_valkey(tmp_path_factory, name: str, env: dict[str, str]) -> Iterator[LiveServer]:
    valkey_server = start_valkey()
    live = LiveServer(tmp_path_factory.mktemp(name), valkey_server.connection_url, env=env).start()
    yield live
    live.stop()
    valkey_server.stop()


@pytest.fixture(scope="module")
def guarded(tmp_path_factory) -> Iterator[LiveServer]:
    """The default policy: nothing but public addresses."""
    yield from _server_on_own_valkey(tmp_path_factory, "guarded", {
        "WIDGET_WEBHOOK_ALLOWED_NETWORKS": "", "WIDGET_WEBHOOK_RETRY_BASE": "0.2"})


@pytest.fixture(scope="module")
def allowing(tmp_path_factory) -> Iterator[LiveServer]:
    """A bot on the same host: the operator allows 127.0.0.1 (and only it). Attempts may take long here, so a
    hanging receiver hangs for the whole test, whatever the machine's speed."""
    yield from _server_on_own_valkey(tmp_path_factory, "allowing", {
        "WIDGET_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32", "WIDGET_WEBHOOK_RETRY_BASE": "0.2",
        "WIDGET_WEBHOOK_TIMEOUT": "300"})


async def _owner(live: LiveServer) -> AsyncIterator[AgentClient]:
    valkey = connect(live.env["WIDGET_VALKEY_URL"])
    creds = await create_license(valkey, f"hooks-{secrets.token_hex(4)}@example.com", "pw")
    await valkey.aclose()
    owner = AgentClient(live.url, creds["owner"]["account_id"], creds["owner"]["personal_access_token"])
    owner.org = creds["organization_id"]  # type: ignore[attr-defined]
    yield owner
    await owner.aclose()


@pytest.fixture
async def guarded_owner(guarded) -> AsyncIterator[AgentClient]:
    async for owner in _owner(guarded):
        yield owner


@pytest.fixture
async def allowing_owner(allowing) -> AsyncIterator[AgentClient]:
    async for owner in _owner(allowing):
        yield owner


async def config(agent: AgentClient, action: str, payload=None):
    return await agent.http.post(f"/v3.6/configuration/action/{action}", json=payload or {},
                                 headers={"Authorization": f"Bearer {agent.token}"})


async def register(owner: AgentClient, url: str, secret: str = "s3cret", action: str = "incoming_chat",
                   **more) -> str:
    r = await config(owner, "register_webhook", {"action": action, "secret_key": secret, "url": url, **more})
    assert r.status_code == 200, r.text
    return r.json()["id"]


async def attempts(owner: AgentClient, hook_id: str, count: int, timeout: float = 20.0) -> list[dict]:
    """The webhook's delivery log once it holds ``count`` attempts."""
    for _ in range(int(timeout / 0.05)):
        log = (await config(owner, "list_webhook_deliveries", {"id": hook_id})).json()
        if len(log) >= count:
            return log
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} logged attempts, got {log}")


async def start_chat(live: LiveServer, org: str) -> CustomerClient:
    customer = await CustomerClient(live.url, org).authorize()
    await customer.ok("start_chat")
    return customer


def test_which_addresses_a_webhook_may_reach():
    """Public unicast only, an IPv4 address inside an IPv6 one judged as itself; the operator's networks besides."""
    from widget_server.core.targets import TargetPolicy, is_public, parse_networks

    refused = ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.0.1", "169.254.169.254", "100.100.100.200",
               "0.0.0.0", "224.0.0.251", "255.255.255.255", "240.0.0.1", "::1", "::", "fe80::1", "fd00:ec2::254",
               "fec0::1", "ff02::1", "::ffff:127.0.0.1", "::7f00:1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1"]
    for address in refused:
        assert not is_public(ipaddress.ip_address(address)), address
    for address in ("8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"):
        assert is_public(ipaddress.ip_address(address)), address
    policy = TargetPolicy(parse_networks("127.0.0.1, 10.0.0.0/8"))
    assert policy.permits(ipaddress.ip_address("127.0.0.1")) and policy.permits(ipaddress.ip_address("10.9.8.7"))
    assert not policy.permits(ipaddress.ip_address("127.0.0.2"))
    assert policy.registration_error("http://10.0.0.5:8080/bot") is None
    assert policy.registration_error("http://2130706434/") is not None  # 127.0.0.2 in the numeric form
    assert policy.registration_error("https://hooks.example.com/x") is None  # a name: judged when resolved


async def test_an_owner_cannot_make_the_server_post_to_its_own_network(guarded, guarded_owner):
    """Loopback, private, link-local (cloud metadata), shared, multicast and unspecified addresses are refused at
    registration when written as addresses, and at send time when a name resolves to one."""
    for url in ("http://127.0.0.1:8080/hook", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.7/",
                "http://192.168.1.1/", "http://100.64.0.1/", "http://0.0.0.0:6379/", "http://[::1]:6379/",
                "http://[::ffff:127.0.0.1]/", "http://[fd00:ec2::254]/", "http://224.0.0.1/", "http://127.1:6379/",
                "http://[64:ff9b::a9fe:a9fe]/", "http:///no-host"):
        r = await config(guarded_owner, "register_webhook", {"action": "incoming_chat", "secret_key": "k", "url": url})
        assert r.status_code == 400 and r.json()["error"]["type"] == "validation", (url, r.text)

    # a name is judged by what it resolves to when the delivery is sent (it may point elsewhere by then)
    with WebhookReceiver() as receiver:
        hook_id = await register(guarded_owner, receiver.url.replace("127.0.0.1", "localhost"))
        customer = await start_chat(guarded, guarded_owner.org)  # type: ignore[attr-defined]
        log = await attempts(guarded_owner, hook_id, 2)  # the first attempt and its retry
        assert [(a["status"], a["ok"], a["error"]) for a in log[:2]] == [(0, False, "refused")] * 2
        assert receiver.requests == []
        await customer.aclose()


async def test_the_delivery_log_tells_no_more_than_failed_and_redirects_are_not_followed(allowing, allowing_owner):
    """An allowed address still gives away nothing about its ports (no "connection refused" against "timed out"),
    and a redirect to an address that is not allowed goes nowhere."""
    closed = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    elsewhere = WebhookReceiver(host="127.0.0.2")  # loopback too, but not in the allowed 127.0.0.1/32
    with elsewhere, WebhookReceiver(redirect=elsewhere.url) as redirecting:
        to_closed = await register(allowing_owner, closed)
        to_redirect = await register(allowing_owner, redirecting.url)
        r = await config(allowing_owner, "register_webhook",
                         {"action": "incoming_chat", "secret_key": "k", "url": elsewhere.url})
        assert r.json()["error"]["type"] == "validation"
        customer = await start_chat(allowing, allowing_owner.org)  # type: ignore[attr-defined]
        closed_log = await attempts(allowing_owner, to_closed, 1)
        assert (closed_log[-1]["status"], closed_log[-1]["error"]) == (0, "failed")
        redirect_log = await attempts(allowing_owner, to_redirect, 1)
        assert (redirect_log[-1]["status"], redirect_log[-1]["ok"]) == (302, False)
        assert len(redirecting.requests) >= 1 and elsewhere.requests == []
        await customer.aclose()


def _verify_standard_webhook(secret: bytes, headers: dict[str, str], body: bytes) -> None:
    """The Standard Webhooks spec's check, written from the spec: HMAC-SHA256 of ``id.timestamp.body``, base64, in
    a space-separated list of ``v1,<signature>``."""
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).decode()
    versions = dict(sig.split(",", 1) for sig in headers["webhook-signature"].split(" "))
    assert hmac.compare_digest(versions["v1"], expected)


async def test_a_retried_delivery_keeps_its_id_and_every_attempt_is_signed(allowing, allowing_owner):
    """A receiver that fails the first attempt sees the second with the same delivery id (its dedup key), each with
    a valid Standard Webhooks signature and LiveChat's envelope (``secret_key`` in the body) unchanged."""
    whsec = "whsec_" + base64.b64encode(b"sixteen byte key").decode()
    before = _deliveries(allowing)
    with WebhookReceiver(fail=1) as plain, WebhookReceiver(fail=1) as standard:
        plain_id = await register(allowing_owner, plain.url, secret="s3cret")
        await register(allowing_owner, standard.url, secret=whsec)
        customer = await start_chat(allowing, allowing_owner.org)  # type: ignore[attr-defined]
        for receiver, key in ((plain, b"s3cret"), (standard, b"sixteen byte key")):
            (first, body), (second, body2) = (await receiver.wait_for(2))[:2]
            assert body == body2 and json.loads(body)["organization_id"] == allowing_owner.org  # type: ignore[attr-defined]
            assert first["webhook-id"] == second["webhook-id"] and first["webhook-id"].startswith("msg_")
            assert first["x-widget-delivery"] == second["x-widget-delivery"] == first["webhook-id"]
            assert (first["x-widget-attempt"], second["x-widget-attempt"]) == ("1", "2")
            for headers in (first, second):
                _verify_standard_webhook(key, headers, body)
        assert json.loads(body)["secret_key"] == whsec
        first, _ = plain.requests[0]
        assert first["x-widget-signature"] == "sha256=" + hmac.new(b"s3cret", plain.requests[0][1],
                                                                   hashlib.sha256).hexdigest()
        log = await attempts(allowing_owner, plain_id, 2)
        assert [a["delivery_id"] for a in log[:2]] == [first["webhook-id"]] * 2
        await customer.aclose()
    # /metrics counts each attempt by outcome (issue 19): at least these two failures and two successes
    after = _deliveries(allowing)
    assert after["failed"] - before["failed"] >= 2 and after["ok"] - before["ok"] >= 2, (before, after)


def _deliveries(live: LiveServer) -> dict[str, float]:
    """``widget_webhook_deliveries_total`` by outcome, from the server's ``/metrics``."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(live.url + "/metrics", timeout=10).text
    found = {"ok": 0.0, "failed": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "widget_webhook_deliveries_total":
                found[sample.labels["outcome"]] = sample.value
    return found


async def test_a_hanging_endpoint_holds_up_neither_another_webhook_nor_the_rule_bot(allowing, allowing_owner):
    """One webhook's endpoint never answers; meanwhile the other webhook gets every delivery and the built-in rule
    bot answers every message, and the hanging one gets all of its own once it answers again (none lost)."""
    owner = allowing_owner
    rules = {"greeting": "Hi", "answers": [{"keywords": ["shipping"], "answer": "We ship within 2 days."}]}
    bot = (await config(owner, "create_bot", {"name": "Shop bot", "groups": [{"id": 0, "priority": "first"}],
                                                "rules": rules})).json()
    token = (await config(owner, "issue_bot_token", {"bot_id": bot["id"], "bot_secret": bot["secret"],
                                                     "client_id": "c", "organization_id": owner.org})).json()["token"]
    as_bot = AgentClient(allowing.url, bot["id"], token)
    await as_bot.ok("set_routing_status", {"status": "accepting_chats"})
    hold = threading.Event()
    customer_only = {"filters": {"author_type": "customer"}}
    with WebhookReceiver(hold=hold) as slow, WebhookReceiver() as fast:
        try:
            await register(owner, slow.url, action="incoming_event", **customer_only)
            await register(owner, fast.url, action="incoming_event", **customer_only)
            customer = await CustomerClient(allowing.url, owner.org).authorize()  # type: ignore[attr-defined]
            chat_id = (await customer.ok("start_chat"))["chat_id"]
            messages = 12  # more than a target's concurrency (4) and its waiting room (4) together
            for i in range(messages):
                await customer.ok("send_event", {"chat_id": chat_id,
                                                 "event": {"type": "message", "text": f"shipping? m{i}"}})
            await fast.wait_for(messages, timeout=60)
            for _ in range(600):
                events = (await customer.ok("get_chat", {"chat_id": chat_id}))["thread"]["events"]
                answers = [e for e in events if e["author_id"] == bot["id"] and e.get("text", "").startswith("We ship")]
                if len(answers) == messages:
                    break
                await asyncio.sleep(0.05)
            assert len(answers) == messages
            assert slow.answered == 0  # all of this happened while the slow endpoint hung
            assert len(slow.requests) <= 4  # it never has more than its share of this worker's sending
        finally:
            hold.set()
        await slow.wait_for(messages, timeout=60)
        texts = sorted(json.loads(body)["payload"]["event"]["text"] for _, body in slow.requests)
        assert texts == sorted(f"shipping? m{i}" for i in range(messages))
        assert sorted(json.loads(body)["payload"]["event"]["text"] for _, body in fast.requests) == texts
        await customer.aclose()
        await as_bot.aclose()
