"""The access rules: which caller may use which license, chat, customer and agent. Every transport, the widget, the
wizard, the console and the proxy edge ask here; the cores ask the pure rules of ``rules.py`` for the chat-level
decisions they make with the records they already read. Nothing else decides access.

* Customers: a credential names one customer of one license (``CustomerTokens``: this server's signed tokens, or the
  upstream's as the edge learned them); the license must exist; a browser request must come from an origin the
  license allows; a customer banned until a time later than now is refused (``refuse_banned``, the one ban rule:
  the Lua scripts that read a ban in the same round trip as their work apply the same comparison).
* Agents: a personal access token (``Bearer``/``Basic``), a console session's token (``console.py``) or a bot token
  names one agent of one license; only
  administrators (``ADMIN_ROLES``) use the Configuration API, act for other agents, or speak as a bot
  (``X-Author-Id``); an agent sees a chat they are in, a chat of one of their groups, or any chat as an administrator.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from ..core.licenses import Licenses, is_license_number
from ..core.store import Store
from ..protocol.errors import ApiError
from .console import TOKEN_PREFIX as CONSOLE_TOKEN_PREFIX
from .console import AgentSessions
from .rules import (
    ADMIN_ROLES,
    AGENT_READ_CONFIGURATION_ACTIONS,
    PUBLIC_CONFIGURATION_ACTIONS,
    SELF_CONFIGURATION_ACTIONS,
    agent_sees_customer,
    agent_token_matches,
    chat_agents,
    chat_groups,
    identity_site,
    refuse_banned,
    refuse_inactive,
    report_scope,
)
from .signing import AccessToken, BotToken, Signer
from .throttle import AddressThrottle, Throttle
from .tokens import CustomerTokens, agent_credential


class Access:
    """The request-time checks, with what they need to read."""

    def __init__(self, licenses: Licenses, store: Store, signer: Signer, tokens: CustomerTokens,
                 new_visitors_per_minute: int = 0, tracking_per_minute: int = 0,
                 writes_per_minute: tuple[int, int] = (120, 600)) -> None:
        self.licenses = licenses
        self._store = store
        self._signer = signer
        self._tokens = tokens
        self.new_visitors = AddressThrottle(new_visitors_per_minute, "new visitors")
        """New browser identities (each makes a customer record) per client address: page loads without the
        identity cookie or a stored identity, and cookie grants that mint one."""
        self.tracking = AddressThrottle(tracking_per_minute, "tracking calls")
        """The loader's calls and tracking calls (visit, page view, heartbeat) per client address."""
        message = "Too many messages and changes; try again in a minute"
        self.customer_writes = Throttle(writes_per_minute[0], message)
        """Writes per customer (``WIDGET_CUSTOMER_EVENTS_PER_MINUTE``), in the worker's memory (``throttle.py``)."""
        self.address_writes = AddressThrottle(writes_per_minute[1], "messages and changes")
        """Writes per client address (``WIDGET_ADDRESS_EVENTS_PER_MINUTE``)."""
        self.console: AgentSessions | None = None
        """Agents' console sessions, whose access tokens ``agent`` takes too (set by ``services.py``)."""

    # --- licenses and origins ------------------------------------------------------------------------------------

    async def license(self, org: str | None) -> str:
        """The license named by a request; ``validation`` when none is named, ``license_not_found`` when unknown."""
        if not org:
            raise ApiError("validation", "organization_id is required")
        if is_license_number(org):  # LiveChat's numeric license id (``window.__lc.license``, ``?license_id=``)
            org = await self.licenses.by_number(org) or ""
        if not org or not await self.licenses.exists(org):
            raise ApiError("license_not_found", "License not found")
        return org

    async def origin(self, org: str, origin: str | None) -> None:
        """A browser request from a site the license does not allow is refused. No Origin means not a browser and is
        allowed; ``Origin: null`` (sandboxed frames, data: and file: pages) is refused when the license lists
        origins."""
        if origin is None:
            return
        config = await self._store.license_config(org)
        if config.allowed_origins and origin not in config.allowed_origins:
            raise ApiError("authorization", f"Origin {origin} is not allowed for this license")

    async def identity_site(self, org: str, origin: str | None, own_hosts: set[str], claimed: str | None) -> str:
        """The site a browser identity of this license is kept for (``rules.identity_site``): ``""`` for one
        identity across the license's listed origins, else the requesting origin."""
        config = await self._store.license_config(org)
        return identity_site(config.allowed_origins, origin, own_hosts, claimed)

    # --- customers -----------------------------------------------------------------------------------------------

    async def customer(self, credential: str | None, org: str | None = None) -> AccessToken:
        """The customer behind a credential (``org``, when known, lets the proxy edge ask the upstream about a token
        it never saw); ``authentication`` when it names another license than ``org``."""
        if org is not None and is_license_number(org):  # LiveChat's numeric license id
            org = await self.licenses.by_number(org) or org
        claims = await self._tokens.claims(credential, org)
        if org is not None and claims.org != org:
            raise ApiError("authentication", "The access token belongs to another organization")
        return claims

    async def not_banned(self, customer_id: str) -> None:
        refuse_banned(await self._store.banned_until(customer_id))

    async def may_write(self, customer_id: str, address: str | None) -> None:
        """``too_many_requests`` when the customer, or everyone at their client address, wrote more this minute than
        allowed (messages, postbacks, properties, customer updates, chats started or resumed: the actions marked
        ``writes`` in the dispatch table), over the Web and RTM APIs alike."""
        self.customer_writes.take(customer_id)
        if address:
            self.address_writes.take(address)

    # --- agents --------------------------------------------------------------------------------------------------

    async def agent(self, authorization: str | None, *, suspended_too: bool = False) -> tuple[str, dict[str, Any]]:
        """(organization id, agent record) of a personal access token sent as ``Bearer`` or ``Basic`` (or bare, as
        the RTM login's ``token``), or of a bot token from ``issue_bot_token``. A suspended agent is refused
        (``requester_suspended``: every API and sign-in, until ``unsuspend_agent``) unless ``suspended_too`` (the one
        call a suspended agent may make, ``request_agent_unsuspension``); one awaiting approval likewise
        (``requester_awaiting_approval``, until ``approve_agent``)."""
        token = agent_credential(authorization) if authorization and " " in authorization else authorization
        if token and token.startswith(CONSOLE_TOKEN_PREFIX) and self.console is not None:
            # the console's token of a signed-in session (auth/console.py): the agent's while the session lives
            named = await self.console.token_agent(token)
            if named is None:
                raise ApiError("authentication", "The console session ended; sign in again")
            org, agent_id, token_sha = named
        elif token and "." in token:
            claims = self._signer.unsign("bot", token, BotToken)
            if claims is None or claims.exp < time.time():
                raise ApiError("authentication", "Invalid or expired bot token")
            org, agent_id = claims.org, claims.bot
            token_sha = None
        else:
            link = await self.licenses.agent_for_token(token)
            if link is None:
                raise ApiError("authentication", "Invalid access token")
            org, agent_id = link["org"], link["agent_id"]
            token_sha = hashlib.sha256(token.encode()).hexdigest()  # type: ignore[union-attr]
        agent = (await self._store.agents(org, [agent_id])).get(agent_id)
        # a deleted agent's tokens end with the record; a re-created one's record names its new token only
        if agent is None or (token_sha is not None and not agent_token_matches(agent, token_sha)):
            raise ApiError("authentication", "Invalid access token")
        if not suspended_too:
            refuse_inactive(agent)
        return org, agent

    async def acting_agent(self, org: str, agent: dict[str, Any], author: str | None) -> dict[str, Any]:
        """Who an Agent API request acts as: the agent, or with ``X-Author-Id`` (LiveChat's older way for a bot to
        act: an owner's or administrator's token plus the bot's id) that bot."""
        if not author or author == agent["id"]:
            return agent
        bot = (await self._store.agents(org, [author])).get(author)
        if agent.get("role") not in ADMIN_ROLES or bot is None or bot.get("type") != "bot":
            raise ApiError("authorization", "X-Author-Id must name a bot, and only administrators may use it")
        return bot

    async def agent_acts_as_customer(self, org: str, agent: dict[str, Any], customer_id: str) -> None:
        """An agent may hold a customer's token (the ``agent_token`` grant) only for a customer every chat of whom
        they may read: such a token reads all of them (``rules.agent_sees_customer``)."""
        chat_ids = [chat_id for chat_id, _ in await self._store.customer_chat_ids(customer_id)]
        chats = [chat for chat in await self._store.chats(chat_ids) if chat] if chat_ids else []
        mine = {int(g["id"]) for g in agent.get("groups", [])}
        seen = [(chat_agents(chat), chat_groups(chat)) for chat in chats]
        if not agent_sees_customer(agent.get("role", "normal"), agent["id"], mine, seen):
            raise ApiError("authorization", "The customer has chats outside your groups")

    async def reports(self, authorization: str | None, groups: list[int] | None,
                      agents: list[str] | None) -> tuple[str, list[int] | None, list[str] | None]:
        """(organization id, groups, agents) whose counters a Reports API request may read (``rules.report_scope``:
        None for the whole license); ``authorization`` when the filters reach beyond the agent's groups."""
        org, agent = await self.agent(authorization)
        mine = {int(g["id"]) for g in agent.get("groups", [])}
        scope = report_scope(agent.get("role", "normal"), agent["id"], mine, groups, agents)
        if scope is None:
            raise ApiError("authorization", "Reports of other groups or agents need an owner's or an administrator's token")
        return org, *scope

    async def configuration_caller(self, authorization: str | None, action: str) -> tuple[str, dict[str, Any]] | None:
        """Who makes a Configuration API call: None for the calls LiveChat answers without authorization
        (``PUBLIC_CONFIGURATION_ACTIONS``); any agent of the license, suspended ones included, for
        ``request_agent_unsuspension``; else an owner or administrator."""
        if action in PUBLIC_CONFIGURATION_ACTIONS:
            return None
        if action in SELF_CONFIGURATION_ACTIONS:
            return await self.agent(authorization, suspended_too=True)
        if action in AGENT_READ_CONFIGURATION_ACTIONS:
            # a read LiveChat gives every agent (list_tags, its tags--groups:ro scope): the core limits the answer to
            # their groups (rules.ADMIN_ROLES tells them apart)
            return await self.agent(authorization)
        return await self.administrator(authorization)

    async def administrator(self, authorization: str | None) -> tuple[str, dict[str, Any]]:
        """The agent of a Configuration API request: an owner or administrator."""
        org, agent = await self.agent(authorization)
        if agent.get("role") not in ADMIN_ROLES:
            raise ApiError("authorization", "The Configuration API needs an owner's or an administrator's token")
        return org, agent
