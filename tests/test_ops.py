"""Operations (#19): the data's schema version and migrations, versioned bus messages, and the CLI's store commands
(``backup`` / ``restore`` round trip of a license with chats and visitors, ``create-license``, ``create-agent``,
``reset-password``), each run as a user runs it: ``python -m widget_server <command>`` in a subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from tests.support import AgentClient, CustomerClient, LiveServer, start_valkey
from widget_server import keys
from widget_server.auth.passwords import verify_password
from widget_server.core.bus import BUS_VERSION
from widget_server.core.migrations import CURRENT, MIGRATIONS, SchemaTooNew, migrate, schema_version
from widget_server.valkey import connect, embedded_url, start_embedded

from .test_visitors import track


def cli(*args: str, valkey_url: str | None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI on ``valkey_url``, or (None) on the embedded Valkey of the ``--data-dir`` it is given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIDGET_")}
    if valkey_url:
        env["WIDGET_VALKEY_URL"] = valkey_url
    return subprocess.run([sys.executable, "-m", "widget_server", *args], env=env, input=stdin, capture_output=True,
                          text=True, timeout=60, check=False)


@pytest.fixture
def own_valkey():
    """A Valkey of the test's own: the schema version and the backups are about a whole store."""
    server = start_valkey()
    yield server.connection_url
    server.stop()


async def test_migrate_expires_old_browsing_customers_once_and_refuses_newer_data(own_valkey):
    r = connect(own_valkey)
    try:
        # records as a release before expiring customer records left them: none has an expiry
        for cid in ("browsing", "chatting", "banned", "expiring"):
            await r.hset(keys.customer(cid), mapping={"id": cid, "org": "o"})
        await r.zadd(keys.customer_chats("chatting"), {"chat1": 1})
        await r.hset(keys.customer("banned"), "banned_until", "9999999999")
        await r.expire(keys.customer("expiring"), 50)
        assert await schema_version(r) == 0
        # two processes starting at once: one migrates, the other waits for it and finds nothing left to do
        done = await asyncio.gather(migrate(r, 3600), migrate(r, 3600))
        assert sorted(len(applied) for applied in done) == [0, len(MIGRATIONS)]
        assert await schema_version(r) == CURRENT
        assert 3500 < await r.ttl(keys.customer("browsing")) <= 3600
        assert await r.ttl(keys.customer("chatting")) == -1 and await r.ttl(keys.customer("banned")) == -1
        assert await r.ttl(keys.customer("expiring")) <= 50
        assert await migrate(r, 3600) == []
        # data written by a newer release: the CLI and the server refuse it, with the reason
        await r.set(keys.SCHEMA_VERSION, CURRENT + 1)
        with pytest.raises(SchemaTooNew):
            await migrate(r, 3600)
    finally:
        await r.aclose()
    done = cli("migrate", valkey_url=own_valkey)
    assert done.returncode == 1 and "newer than this release understands" in done.stderr
    live = LiveServer(Path(os.environ.get("TMPDIR", "/tmp")) / f"newer-{os.getpid()}", own_valkey)
    with pytest.raises(RuntimeError, match="newer than this release understands"):
        live.start()


class _PreVersionMessage(msgspec.Struct, array_like=True):
    """How a worker of the release before bus versions decodes a message (core/bus.py's ``_ReceivedMessage`` then)."""

    origin: str
    action: str
    payload: msgspec.Raw
    conn_id: str | None = None
    request_id: str | int | None = None


async def test_bus_reads_pushes_of_older_and_newer_workers(server, org, valkey):
    """A rolling upgrade: this release's messages carry their version, and an older worker still reads them; a worker
    of the release before bus versions (5 elements) and one of a later release (more elements after the version)
    publish to a customer on this worker, and both pushes arrive."""
    customer = await CustomerClient(server.url, org).authorize()
    sock = await customer.rtm()
    pubsub = valkey.pubsub()
    try:
        # what this release publishes: the version last, readable by the older decoder
        await pubsub.subscribe(keys.user_channel(customer.id))
        await customer.ok("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": "v"}]}}})
        # (other pushes may come first, e.g. customer_side_storage_updated after the login: each carries the version)
        actions = []
        for _ in range(50):
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
            if message is None:
                continue
            raw = message["data"]
            assert msgspec.json.decode(raw)[-1] == BUS_VERSION == 2
            actions.append(msgspec.json.decode(raw, type=_PreVersionMessage).action)
            if actions[-1] in {"incoming_chat", "incoming_event"}:
                break
        assert actions and actions[-1] in {"incoming_chat", "incoming_event"}, actions

        payload = {"chat_id": "C1", "thread_id": "T1", "event": {"id": "e1", "type": "message", "text": "hi"}}
        old = msgspec.json.encode(["old-worker", "incoming_event", payload, None, None])
        newer = msgspec.json.encode(["new-worker", "incoming_event", {**payload, "chat_id": "C2"}, None, None, 3,
                                     {"field": "from the future"}])
        for message in (old, newer):
            assert await valkey.publish(keys.user_channel(customer.id), message) == 2  # (the worker and this test)
        seen: set[str] = set()
        while seen != {"C1", "C2"}:  # (skipping the start_chat's own pushes)
            seen |= {(await sock.push("incoming_event"))["payload"]["chat_id"]} & {"C1", "C2"}
    finally:
        await pubsub.aclose()
        await sock.close()
        await customer.aclose()


async def _value(r, key: str):
    """A key's type and value, whatever its type (DUMP's bytes may differ for equal values: a hash's order)."""
    kind = (await r.type(key)).decode()
    read = {"string": r.get, "hash": r.hgetall, "set": r.smembers, "list": lambda k: r.lrange(k, 0, -1),
            "zset": lambda k: r.zrange(k, 0, -1, withscores=True), "stream": lambda k: r.xrange(k)}
    return kind, await read[kind](key)


def _dumps(path: Path) -> dict[str, str]:
    lines = path.read_bytes().splitlines()
    return {e["key"]: e["dump"] for e in map(json.loads, lines[1:])}


async def test_backup_and_restore_a_license_with_chats_and_visitors(server, valkey, valkey_url, own_valkey, tmp_path):
    # a license made by the CLI, its owner's password from stdin (never on the command line)
    made = cli("create-license", "--owner-email", f"ops-{os.getpid()}@example.com", "--password-stdin",
               valkey_url=valkey_url, stdin="correct horse battery\n")
    assert made.returncode == 0, made.stderr
    creds = json.loads(made.stdout)
    org = creds["organization_id"]
    assert creds["owner"]["password"] == "correct horse battery"
    # a visitor who chats and one who only browses
    chatter = await CustomerClient(server.url, org).authorize()
    browser = await CustomerClient(server.url, org).authorize()
    await track(chatter, "https://shop.example/pricing", "Pricing")
    await track(browser, "https://shop.example/home", "Home")
    chat = await chatter.ok("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": "hello"}]}}})
    # and one who leaves a message while offline: a ticket (tagged by its own id, not the license's)
    offline = await browser.ok("start_chat", {"active": False, "chat": {"thread": {"events": [
        {"type": "message", "text": "call me"}]}}})
    await chatter.aclose()
    await browser.aclose()
    # an agent made by the CLI answers
    added = cli("create-agent", "--license", org, "--email", f"ops-agent-{os.getpid()}@example.com",
                "--role", "administrator", valkey_url=valkey_url)
    assert added.returncode == 0, added.stderr
    agent_creds = json.loads(added.stdout)
    agent = AgentClient(server.url, agent_creds["account_id"], agent_creds["personal_access_token"])
    await agent.ok("send_event", {"chat_id": chat["chat_id"], "event": {"type": "message", "text": "hi there"}})
    before = await agent.ok("list_customers", {})
    await agent.aclose()
    assert {c["id"] for c in before["customers"]} >= {chatter.id, browser.id}

    backup = tmp_path / "license.jsonl"
    done = cli("backup", str(backup), "--license", org, valkey_url=valkey_url)
    assert done.returncode == 0, done.stderr
    assert backup.stat().st_mode & 0o777 == 0o600
    header = json.loads(backup.read_bytes().splitlines()[0])
    assert header["scope"] == "license" and header["organization_id"] == org and header["schema_version"] == CURRENT
    dumps = _dumps(backup)
    assert header["keys"] == len(dumps)
    # the license's keys and its chat's and customers' keys, nothing of another license
    assert {keys.license(org), keys.agents(org), keys.chat(chat["chat_id"]), keys.customer(chatter.id),
            keys.customer(browser.id), keys.agent_account(agent_creds["account_id"]),
            keys.agent_password(agent_creds["account_id"]),  # (the console password create-agent gave)
            keys.ticket(offline["thread_id"]), keys.chat(offline["chat_id"])} <= set(dumps)
    assert any(k.startswith(f"ws:{{{org}}}:tr:") for k in dumps)  # visitor tracking
    assert not any(k.startswith("ws:{") and "{" + org + "}" not in k and chat["chat_id"] not in k
                   and offline["chat_id"] not in k and offline["thread_id"] not in k
                   and chatter.id not in k and browser.id not in k for k in dumps)

    # into an empty store: the same values, and a server there shows the chat and the visitors
    done = cli("restore", str(backup), valkey_url=own_valkey)
    assert done.returncode == 0, done.stderr
    restored = connect(own_valkey)
    try:
        for key in dumps:
            assert await _value(restored, key) == await _value(valkey, key), key
        assert await schema_version(restored) == CURRENT
    finally:
        await restored.aclose()
    # a second restore onto the same keys is refused, and changes nothing
    again = cli("restore", str(backup), valkey_url=own_valkey)
    assert again.returncode == 1 and "already holds" in again.stderr

    other = LiveServer(tmp_path / "restored", own_valkey).start()
    try:
        agent = AgentClient(other.url, agent_creds["account_id"], agent_creds["personal_access_token"])
        chats = await agent.ok("list_chats", {})
        texts = {s["id"]: s["last_event_per_type"]["message"]["event"].get("text") for s in chats["chats_summary"]}
        assert texts == {chat["chat_id"]: "hi there", offline["chat_id"]: "call me"}
        [ticket] = (await agent.ok("list_tickets", {}))["tickets"]
        assert ticket["id"] == offline["thread_id"] and ticket["subject"] == "call me"
        after = await agent.ok("list_customers", {})
        assert {c["id"] for c in after["customers"]} == {c["id"] for c in before["customers"]}
        await agent.aclose()
    finally:
        other.stop()

    # Valkey's own snapshot of the restored store becomes a data dir's embedded store, then served as usual
    snapshot = tmp_path / "store.rdb"
    done = cli("backup", str(snapshot), "--rdb", valkey_url=own_valkey)
    assert done.returncode == 0 and snapshot.read_bytes().startswith(b"VALKEY"), done.stderr
    data_dir = tmp_path / "from-snapshot"
    done = cli("restore", str(snapshot), "--rdb", "--data-dir", str(data_dir), valkey_url=None)
    assert done.returncode == 0, done.stderr
    again = cli("restore", str(snapshot), "--rdb", "--data-dir", str(data_dir), valkey_url=None)
    assert again.returncode == 1 and "holds a store already" in again.stderr
    embedded = start_embedded(data_dir, "0")  # as serve starts it: with AOF, which now holds the snapshot
    loaded = connect(embedded_url(embedded))
    source = connect(own_valkey)
    try:
        assert await loaded.dbsize() == await source.dbsize()
        for key in dumps:
            assert await _value(loaded, key) == await _value(source, key), key
    finally:
        await loaded.aclose()
        await source.aclose()
        embedded.stop()

    # the whole store's backup of the restored store restores into another, key for key
    everything = tmp_path / "all.jsonl"
    assert cli("backup", str(everything), valkey_url=own_valkey).returncode == 0
    third = start_valkey()
    try:
        assert cli("restore", str(everything), valkey_url=third.connection_url).returncode == 0
        assert _dumps(everything).keys() >= dumps.keys()
        r = connect(third.connection_url)
        try:
            assert await r.dbsize() == len(_dumps(everything))
            assert await r.hgetall(keys.license(org)) != {}
        finally:
            await r.aclose()
    finally:
        third.stop()


async def test_reset_password_replaces_the_owners_password(valkey, valkey_url):
    email = f"reset-{os.getpid()}@example.com"
    made = cli("create-license", "--owner-email", email, valkey_url=valkey_url)
    assert made.returncode == 0, made.stderr
    first = json.loads(made.stdout)["owner"]["password"]  # generated, shown once
    short = cli("reset-password", "--email", email, "--password-stdin", valkey_url=valkey_url, stdin="short\n")
    assert short.returncode == 1 and "12 to 1024" in short.stderr
    # signed in twice (two browsers), and someone else signed in elsewhere
    for n, who in enumerate((email, email, "someone-else@example.com")):
        await valkey.hset(keys.wizard_session(f"ops-session-{os.getpid()}-{n}"), mapping={"org": "o", "email": who})
    done = cli("reset-password", "--email", email, valkey_url=valkey_url)
    assert done.returncode == 0, done.stderr
    new = json.loads(done.stdout)["password"]
    assert json.loads(done.stdout)["sessions_ended"] == 2  # signed out everywhere
    assert [await valkey.exists(keys.wizard_session(f"ops-session-{os.getpid()}-{n}")) for n in range(3)] == [0, 0, 1]
    await valkey.delete(keys.wizard_session(f"ops-session-{os.getpid()}-2"))
    stored = (await valkey.hget(keys.owner_login(email), "password")).decode()
    assert verify_password(new, stored)[0] and not verify_password(first, stored)[0]
    unknown = cli("reset-password", "--email", "nobody@example.com", valkey_url=valkey_url)
    assert unknown.returncode == 1 and "not a license owner" in unknown.stderr
    twice = cli("create-license", "--owner-email", email, valkey_url=valkey_url)
    assert twice.returncode == 1 and "already has an account" in twice.stderr
    org = json.loads(made.stdout)["organization_id"]
    for bad in ("no-at-sign", "a}b@example.com", "a b@example.com", "x" * 250 + "@example.com"):
        refused = cli("create-agent", "--license", org, "--email", bad, valkey_url=valkey_url)
        assert refused.returncode == 1 and "is not an e-mail address" in refused.stderr, bad
    assert not await valkey.exists(keys.agent_account("a}b@example.com"))
