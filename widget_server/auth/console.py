"""Agents' console sign-in: e-mail and password, a session in Valkey, and the access token the console's RTM login
takes from it (issue 18, "Same sign-in everywhere").

* Passwords: every agent may have one (argon2id, ``passwords.py``), set by ``widget-server create-agent`` /
  ``reset-password`` or by the agent in the console. The owner has one account: their console password is the
  wizard's (``keys.owner_login``), so the same e-mail and password open both.
* Failed sign-ins are counted with the wizard's counters (``Sessions.refuse_throttled``): per e-mail and per IP.
* A session is a Valkey hash (org, agent, csrf) that ends when left idle (``WIDGET_AGENT_SESSION_IDLE_SECONDS``) or
  at sign-out; the browser holds its id, signed, in an HttpOnly SameSite=Strict cookie (``api/console_session.py``).
* The console's access token names the session (signed: org, agent, session id). ``Access.agent`` takes it like a
  personal access token while the session lives, and each check renews the session (an open console's socket
  heartbeat keeps it in use); once the session ended, the agent's sockets logged in with it close within a
  heartbeat (``api/agent_rtm.py``). The personal access token never reaches the browser in this path.
* A suspended agent, or one whose record is gone (deleted), cannot sign in; their session tokens stop working with
  the record (``Access.agent``)."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import msgspec

from .. import keys
from ..protocol.errors import ApiError
from .passwords import hash_password, verify_password
from .rules import refuse_inactive
from .sessions import LoginRefused, Sessions
from .signing import Signer

TOKEN_PREFIX = "cs1."
"""How a console session's access token starts (a personal access token is url-safe base64, a bot token a signed
blob without this prefix)."""
MIN_PASSWORD = 12
MAX_PASSWORD = 1024

# compared against when the e-mail has no password, so a wrong address costs the same time as a wrong password
_DUMMY_HASH = hash_password(secrets.token_urlsafe(12))


class ConsoleClaims(msgspec.Struct, array_like=True):
    org: str
    agent: str
    sid: str
    rec: str = ""
    """The agent record's ``token_sha`` at sign-in: a deleted agent re-created with the same e-mail is not the
    session's (``rules.agent_token_matches``)."""


class AgentSession(msgspec.Struct):
    id: str
    org: str
    agent: str
    csrf: str
    rec: str = ""


def check_new_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ApiError("validation", f"A password has {MIN_PASSWORD} to {MAX_PASSWORD} characters")


async def _agent_record(r: Any, agent_id: str) -> tuple[str, dict[str, Any]] | None:
    """(org, record) of an agent id, None when there is no such agent."""
    org = await r.get(keys.agent_account(agent_id)) if agent_id else None
    if org is None:
        return None
    raw = await r.hget(keys.agents(org.decode()), agent_id)
    return (org.decode(), msgspec.json.decode(raw)) if raw else None


async def set_agent_password(r: Any, agent_id: str, password: str) -> None:
    """Give ``agent_id`` this console password (the owner's is the wizard's too: one account). ValueError when there
    is no such agent; ApiError ``validation`` for a password too short or too long."""
    check_new_password(password)
    found = await _agent_record(r, agent_id)
    if found is None:
        raise ValueError(f"{agent_id} is not an agent")
    org, agent = found
    hashed = await asyncio.to_thread(hash_password, password)
    if agent.get("role") == "owner":
        await r.hset(keys.owner_login(agent_id), mapping={"org": org, "password": hashed})
    else:
        await r.hset(keys.agent_password(agent_id),
                     mapping={"password": hashed, "token": str(agent.get("token_sha", ""))})


class AgentSessions:
    def __init__(self, valkey: Any, signer: Signer, throttle: Sessions, idle_seconds: int) -> None:
        self.r = valkey
        self._signer = signer
        self._throttle = throttle
        self.idle_seconds = idle_seconds

    # --- passwords ---------------------------------------------------------------------------------------------------

    async def _agent(self, agent_id: str) -> tuple[str, dict[str, Any]] | None:
        return await _agent_record(self.r, agent_id)

    async def _stored_hash(self, org: str, agent: dict[str, Any]) -> tuple[str, str] | None:
        """(the key holding the agent's password hash, the hash), None when they have no password."""
        if agent.get("role") == "owner":
            key = keys.owner_login(agent["id"])
            raw = await self.r.hgetall(key)
            if raw.get(b"org", b"").decode() == org and raw.get(b"password"):
                return key, raw[b"password"].decode()
            return None
        key = keys.agent_password(agent["id"])
        raw = await self.r.hgetall(key)
        # set for this record (a re-created agent of the same e-mail has a record naming another token)
        if raw.get(b"password") and raw.get(b"token", b"").decode() == str(agent.get("token_sha", "")):
            return key, raw[b"password"].decode()
        return None

    async def set_password(self, agent_id: str, password: str) -> None:
        await set_agent_password(self.r, agent_id, password)

    async def authenticate(self, email: str, password: str, ip: str) -> tuple[str, dict[str, Any]]:
        """(org, agent record) when ``password`` is the agent's. Raises LoginRefused over the failure limit (with
        retry_after) or on a wrong e-mail or password (counted), ApiError ``requester_suspended`` for a suspended
        agent who gave the right password."""
        await self._throttle.refuse_throttled(email, ip)
        found = await self._agent(email)
        stored = await self._stored_hash(*found) if found and found[1].get("type", "agent") == "agent" else None
        # argon2id takes tens of milliseconds of CPU: off the event loop
        matches, stale = await asyncio.to_thread(verify_password, password, stored[1] if stored else _DUMMY_HASH)
        if not (matches and stored and found):
            await self._throttle.failed(email, ip)
            raise LoginRefused("Wrong e-mail address or password.", 0)
        await self._throttle.succeeded(email)
        org, agent = found
        refuse_inactive(agent)  # suspended, or awaiting approval: told so once the password is known to be theirs
        if stale:
            await self.r.hset(stored[0], "password", await asyncio.to_thread(hash_password, password))
        return org, agent

    async def change_password(self, session: AgentSession, current: str, new: str, ip: str) -> None:
        """The signed-in agent's new password, when ``current`` is theirs (a wrong one counts as a failed
        sign-in)."""
        check_new_password(new)
        await self.authenticate(session.agent, current, ip)
        await self.set_password(session.agent, new)

    # --- sessions ----------------------------------------------------------------------------------------------------

    async def create(self, org: str, agent: dict[str, Any]) -> tuple[AgentSession, str]:
        """A new session of the agent (record) and the cookie value that names it."""
        session = AgentSession(id=secrets.token_urlsafe(32), org=org, agent=agent["id"],
                               csrf=secrets.token_urlsafe(32), rec=str(agent.get("token_sha", "")))
        key = keys.console_session(session.id)
        async with self.r.pipeline(transaction=False) as p:
            p.hset(key, mapping={"org": org, "agent": session.agent, "csrf": session.csrf, "rec": session.rec})
            p.expire(key, self.idle_seconds)
            await p.execute()
        return session, self._signer.sign("console-session", session.id)

    async def get(self, cookie: str | None) -> AgentSession | None:
        """The session a cookie names, renewed; None when the cookie is missing, forged or the session ended."""
        session_id = self._signer.unsign("console-session", cookie, str) if cookie else None
        if not session_id:
            return None
        key = keys.console_session(session_id)
        async with self.r.pipeline(transaction=False) as p:
            p.hgetall(key)
            p.expire(key, self.idle_seconds)
            raw, _ = await p.execute()
        if not raw or b"agent" not in raw:
            return None
        return AgentSession(id=session_id, org=raw[b"org"].decode(), agent=raw[b"agent"].decode(),
                            csrf=raw.get(b"csrf", b"").decode(), rec=raw.get(b"rec", b"").decode())

    async def delete(self, session: AgentSession) -> None:
        await self.r.delete(keys.console_session(session.id))

    def access_token(self, session: AgentSession) -> str:
        """The access token the console logs in with (RTM ``login``): valid while the session lives."""
        claims = ConsoleClaims(org=session.org, agent=session.agent, sid=session.id, rec=session.rec)
        return TOKEN_PREFIX + self._signer.sign("console-token", claims)

    async def token_agent(self, token: str) -> tuple[str, str, str | None] | None:
        """(org, agent id, the record's token hash at sign-in) of a console access token whose session lives (and
        is renewed by this check); None otherwise."""
        claims = self._signer.unsign("console-token", token.removeprefix(TOKEN_PREFIX), ConsoleClaims)
        if claims is None:
            return None
        # one round trip: EXPIRE answers 0 for a session that ended
        if not await self.r.expire(keys.console_session(claims.sid), self.idle_seconds):
            return None
        return claims.org, claims.agent, claims.rec or None


async def end_agent_sessions(r: Any, agent_id: str) -> int:
    """Sign an agent out of every console (a reset password is often a taken one)."""
    ended = 0
    async for key in r.scan_iter(match=keys.console_session("*"), count=1000, _type="hash"):
        if await r.hget(key, "agent") == agent_id.encode():
            ended += await r.delete(key)
    return ended

