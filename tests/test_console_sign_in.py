"""Same sign-in everywhere (issue 18): an agent signs in to the console with e-mail and password, the console logs in
over RTM with a token of that session (never the personal access token), signing out ends it, the owner's one
password opens the console and the wizard, failures are throttled like the wizard's, and a deleted or suspended
agent cannot sign in. Real server processes, real Valkey, the CLI run as a user runs it."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support import AgentClient, LiveServer, Socket, configure
from widget_server import keys
from widget_server.auth.sessions import MAX_FAILURES_PER_EMAIL
from widget_server.bootstrap import create_license

from .test_ops import cli


class Browser:
    """The console's own page as a client: same Origin, its cookies, and the CSRF header read from the cookie."""

    def __init__(self, base_url: str, origin: str | None = None) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=10, headers={"Origin": origin or base_url})

    async def post(self, path: str, body: object = None, csrf: bool = True) -> httpx.Response:
        headers = {}
        if csrf and self.http.cookies.get("ws_agent_csrf"):
            headers["X-CSRF-Token"] = self.http.cookies["ws_agent_csrf"]
        return await self.http.post(path, json=body if body is not None else {}, headers=headers)

    async def sign_in(self, email: str, password: str) -> httpx.Response:
        return await self.post("/agent/session", {"email": email, "password": password}, csrf=False)

    async def token(self) -> str:
        r = await self.post("/agent/session/token")
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    async def aclose(self) -> None:
        await self.http.aclose()


@pytest.fixture
async def console_team(server, valkey, valkey_url) -> AsyncIterator[dict]:
    """A license whose owner's password is known, and an agent given a console password by the CLI."""
    owner_email = f"owner-{secrets.token_hex(4)}@example.com"
    creds = await create_license(valkey, owner_email, "owner password 1")
    org = creds["organization_id"]
    email = f"ann-{secrets.token_hex(4)}@example.com"
    made = cli("create-agent", "--license", org, "--email", email, "--name", "Ann", "--password-stdin",
               valkey_url=valkey_url, stdin="ann's password 1\n")
    assert made.returncode == 0, made.stderr
    printed = json.loads(made.stdout)
    assert printed["password"] == "ann's password 1" and printed["personal_access_token"]
    yield {"org": org, "owner": owner_email, "owner_pat": creds["owner"]["personal_access_token"], "ann": email,
           "ann_pat": printed["personal_access_token"]}


async def test_agent_signs_in_with_email_and_password_and_the_console_logs_in_with_the_sessions_token(
        server, console_team, valkey):
    browser = Browser(server.url)
    try:
        wrong = await browser.sign_in(console_team["ann"], "not my password")
        assert wrong.status_code == 401 and wrong.json()["error"]["type"] == "authentication"
        assert "ws_agent" not in browser.http.cookies
        # not signed in yet: no token
        none = await browser.post("/agent/session/token")
        assert none.status_code == 401 and none.json()["error"]["type"] == "authentication"

        ok = await browser.sign_in(console_team["ann"].upper(), "ann's password 1")  # e-mail addresses in any case
        assert ok.status_code == 200, ok.text
        assert ok.json() == {"agent_id": console_team["ann"], "organization_id": console_team["org"], "name": "Ann"}
        cookie = next(c for c in ok.headers.get_list("set-cookie") if c.startswith("ws_agent="))
        assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Path=/agent" in cookie
        session_ids = [k async for k in valkey.scan_iter(match=keys.console_session("*"))]
        ann = console_team["ann"].encode()
        ttls = [await valkey.ttl(k) for k in session_ids if await valkey.hget(k, "agent") == ann]
        assert len(ttls) == 1 and 0 < ttls[0] <= 28800  # a session in Valkey, ending when left idle

        token = await browser.token()
        assert token != console_team["ann_pat"] and console_team["ann_pat"] not in token
        # the token is the agent's, over RTM and the Web API alike
        sock = await Socket.open(server.url.replace("http", "ws", 1) + "/v3.6/agent/rtm/ws", token, {})
        try:
            assert sock.login["my_profile"]["id"] == console_team["ann"]
        finally:
            await sock.close()
        ann = AgentClient(server.url, console_team["ann"], token)
        try:
            assert (await ann.call("list_chats")).status_code == 200
        finally:
            await ann.aclose()
    finally:
        await browser.aclose()


async def test_the_token_needs_the_csrf_header_and_the_consoles_own_origin(server, console_team):
    browser = Browser(server.url)
    try:
        assert (await browser.sign_in(console_team["ann"], "ann's password 1")).status_code == 200
        no_csrf = await browser.post("/agent/session/token", csrf=False)
        assert no_csrf.status_code == 403 and no_csrf.json()["error"]["type"] == "authorization"
        browser.http.headers["Origin"] = "https://evil.example"  # another site's page, with the victim's cookies
        foreign = await browser.post("/agent/session/token")
        assert foreign.status_code == 403 and "access_token" not in foreign.text
        del browser.http.headers["Origin"]
        assert (await browser.post("/agent/session/token")).status_code == 403  # no Origin at all
    finally:
        await browser.aclose()
    # another site cannot sign a browser in either
    outsider = Browser(server.url, origin="https://evil.example")
    try:
        refused = await outsider.sign_in(console_team["ann"], "ann's password 1")
        assert refused.status_code == 403 and "ws_agent" not in outsider.http.cookies
    finally:
        await outsider.aclose()


async def test_signing_out_ends_the_session_and_its_token(server, console_team):
    browser = Browser(server.url)
    try:
        assert (await browser.sign_in(console_team["ann"], "ann's password 1")).status_code == 200
        token = await browser.token()
        out = await browser.post("/agent/session/sign-out")
        assert out.status_code == 200
        assert (await browser.post("/agent/session/token")).status_code == 401
        ann = AgentClient(server.url, console_team["ann"], token)
        try:
            after = await ann.call("list_chats")
            assert after.status_code == 401 and after.json()["error"]["type"] == "authentication"
        finally:
            await ann.aclose()
    finally:
        await browser.aclose()


@pytest.fixture(scope="module")
def quick_server(tmp_path_factory, valkey_url) -> LiveServer:
    """A server whose agent sockets check their credential every half second (the heartbeat)."""
    live = LiveServer(tmp_path_factory.mktemp("quick"), valkey_url,
                      env={"WIDGET_AGENT_HEARTBEAT_SECONDS": "0.5"}).start()
    yield live
    live.stop()


async def test_an_open_console_socket_closes_once_its_session_ended(quick_server, console_team):
    browser = Browser(quick_server.url)
    try:
        assert (await browser.sign_in(console_team["ann"], "ann's password 1")).status_code == 200
        sock = await Socket.open(quick_server.url.replace("http", "ws", 1) + "/v3.6/agent/rtm/ws",
                                 await browser.token(), {})
        assert (await browser.post("/agent/session/sign-out")).status_code == 200
        await sock.push("agent_disconnected", timeout=10)
        assert (await sock.closed.wait()) is True
    finally:
        await browser.aclose()


async def test_the_owners_one_password_opens_the_console_and_the_wizard(server, console_team):
    browser = Browser(server.url)
    try:
        ok = await browser.sign_in(console_team["owner"], "owner password 1")
        assert ok.status_code == 200 and ok.json()["agent_id"] == console_team["owner"]
        # changed in the console, it is the wizard's new password too
        short = await browser.post("/agent/session/password", {"current_password": "owner password 1",
                                                               "new_password": "short"})
        assert short.status_code == 400 and short.json()["error"]["type"] == "validation"
        changed = await browser.post("/agent/session/password", {"current_password": "owner password 1",
                                                                 "new_password": "a new owner password"})
        assert changed.status_code == 200, changed.text
    finally:
        await browser.aclose()
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as wizard:
        page = await wizard.get("/wizard/login")
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        old = await wizard.post("/wizard/login", data={"email": console_team["owner"], "password": "owner password 1",
                                                       "csrf": csrf})
        assert old.status_code == 400
        new = await wizard.post("/wizard/login", data={"email": console_team["owner"],
                                                       "password": "a new owner password",
                                                       "csrf": csrf})
        assert new.status_code == 303 and new.headers["location"] == "/wizard"
    # an agent's password does not open the wizard
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as wizard:
        page = await wizard.get("/wizard/login")
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        agent = await wizard.post("/wizard/login", data={"email": console_team["ann"], "password": "ann's password 1",
                                                         "csrf": csrf})
        assert agent.status_code == 400


async def test_an_agent_changes_their_password_and_reset_password_signs_them_out(server, console_team, valkey_url):
    browser = Browser(server.url)
    try:
        assert (await browser.sign_in(console_team["ann"], "ann's password 1")).status_code == 200
        wrong = await browser.post("/agent/session/password", {"current_password": "guess",
                                                               "new_password": "ann's password 2"})
        assert wrong.status_code == 401
        done = await browser.post("/agent/session/password", {"current_password": "ann's password 1",
                                                              "new_password": "ann's password 2"})
        assert done.status_code == 200
        second = Browser(server.url)
        try:
            assert (await second.sign_in(console_team["ann"], "ann's password 1")).status_code == 401
            assert (await second.sign_in(console_team["ann"], "ann's password 2")).status_code == 200
        finally:
            await second.aclose()
        reset = cli("reset-password", "--email", console_team["ann"], valkey_url=valkey_url)
        assert reset.returncode == 0, reset.stderr
        printed = json.loads(reset.stdout)
        assert printed["sessions_ended"] == 2 and len(printed["password"]) >= 12
        assert (await browser.post("/agent/session/token")).status_code == 401  # signed out everywhere
        assert (await browser.sign_in(console_team["ann"], printed["password"])).status_code == 200
    finally:
        await browser.aclose()


async def test_failed_sign_ins_are_throttled_per_address_with_the_wizards_counters(server, console_team):
    browser = Browser(server.url)
    try:
        for _ in range(MAX_FAILURES_PER_EMAIL):
            assert (await browser.sign_in(console_team["ann"], "wrong password")).status_code == 401
        # even the right password, until the window ends
        locked = await browser.sign_in(console_team["ann"], "ann's password 1")
        assert locked.status_code == 429 and locked.json()["error"]["type"] == "too_many_requests"
        assert int(locked.headers["retry-after"]) > 0
    finally:
        await browser.aclose()
    # the wizard counts the same failures: its sign-in is locked for that address too
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as wizard:
        page = await wizard.get("/wizard/login")
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        refused = await wizard.post("/wizard/login", data={"email": console_team["ann"], "password": "x", "csrf": csrf})
        assert refused.status_code == 429


async def test_a_deleted_or_suspended_agent_cannot_sign_in_and_their_session_token_stops(server, console_team, valkey):
    owner = AgentClient(server.url, console_team["owner"], console_team["owner_pat"])
    browser = Browser(server.url)
    try:
        assert (await browser.sign_in(console_team["ann"], "ann's password 1")).status_code == 200
        token = await browser.token()
        # suspended: refused at sign-in, and the session's token stops working until unsuspended
        assert (await configure(owner, "suspend_agent", {"id": console_team["ann"]})).status_code == 200
        other = Browser(server.url)
        try:
            suspended = await other.sign_in(console_team["ann"], "ann's password 1")
            assert suspended.status_code == 403 and suspended.json()["error"]["type"] == "requester_suspended"
            assert "ws_agent" not in other.http.cookies
        finally:
            await other.aclose()
        assert (await browser.post("/agent/session/token")).json()["error"]["type"] == "requester_suspended"
        assert (await configure(owner, "unsuspend_agent", {"id": console_team["ann"]})).status_code == 200
        assert (await browser.post("/agent/session/token")).status_code == 200
        # deleted: the password and the session's token end with the record
        assert await valkey.exists(keys.agent_password(console_team["ann"]))
        assert (await configure(owner, "delete_agent", {"id": console_team["ann"]})).status_code == 200
        # the password hash goes with the agent
        assert not await valkey.exists(keys.agent_password(console_team["ann"]))
        other = Browser(server.url)
        try:
            assert (await other.sign_in(console_team["ann"], "ann's password 1")).status_code == 401
        finally:
            await other.aclose()
        assert (await browser.post("/agent/session/token")).status_code == 401
        ann = AgentClient(server.url, console_team["ann"], token)
        try:
            assert (await ann.call("list_chats")).status_code == 401
        finally:
            await ann.aclose()
        # re-created with the same e-mail, the old password does not open the new account
        again = await configure(owner, "create_agent", {"id": console_team["ann"], "name": "Ann again"})
        assert again.status_code == 200
        other = Browser(server.url)
        try:
            assert (await other.sign_in(console_team["ann"], "ann's password 1")).status_code == 401
        finally:
            await other.aclose()
    finally:
        await browser.aclose()
        await owner.aclose()


@pytest.mark.parametrize("body", [b"", b"[]", b'{"email": "a@b.c"}', b'{"email": 1, "password": "x"}',
                                  b'{"email": "a@b.c", "password": "x", "extra": 1}',
                                  b'{"email": "a@b.c", "password": "' + b"x" * 5000 + b'"}'])
async def test_bad_sign_in_bodies_get_typed_errors(server, body):
    async with httpx.AsyncClient(base_url=server.url, timeout=10, headers={"Origin": server.url}) as http:
        r = await http.post("/agent/session", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code in (400, 413), r.text
        assert r.json()["error"]["type"] in ("validation", "entity_too_large")
