"""The access rules as pure functions, for the cores to apply to records they have already read (``access.py``
holds the request-time checks that read what they need)."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import msgspec

from ..protocol.common import Access
from ..protocol.errors import ApiError

ADMIN_ROLES = frozenset({"owner", "administrator", "viceowner"})

PUBLIC_CONFIGURATION_ACTIONS = frozenset({"list_webhook_names"})
"""Configuration API calls LiveChat answers without authorization (they name nothing of a license)."""
SELF_CONFIGURATION_ACTIONS = frozenset({"request_agent_unsuspension"})
"""Configuration API calls any agent makes about themself, a suspended one too (LiveChat: no scope required)."""
AGENT_READ_CONFIGURATION_ACTIONS = frozenset({"list_tags"})
"""Configuration API reads open to every agent (LiveChat's ``tags--groups:ro``); the answer covers their groups."""

_agent_ids = msgspec.json.Decoder(list[str])
_access = msgspec.json.Decoder(Access)


def chat_agents(chat: dict[str, str]) -> list[str]:
    """The agents in a chat, from its stored record."""
    return _agent_ids.decode(chat["agent_ids"]) if chat.get("agent_ids") else []


def chat_groups(chat: dict[str, str]) -> set[int]:
    """The groups a chat belongs to, from its stored record (group 0 when it names none)."""
    return set(_access.decode(chat["access"]).group_ids) if chat.get("access") else {0}


def refuse_banned(until: int | None) -> None:
    """``customer_banned`` while a ban (its end, unix seconds) is in force."""
    if until and until > time.time():
        raise ApiError("customer_banned", "Customer is banned", {"until": int(until)})


def refuse_inactive(agent: dict) -> None:
    """A suspended agent (``suspend_agent``) or one awaiting approval (``create_agent`` with
    ``awaiting_approval``) uses nothing: LiveChat's ``requester_suspended`` / ``requester_awaiting_approval``."""
    if agent.get("suspended"):
        raise ApiError("requester_suspended", "Requester suspended")
    if agent.get("awaiting_approval"):
        raise ApiError("requester_awaiting_approval", "Requester awaiting approval")


def may_act_for(role: str, agent_id: str, target: str) -> bool:
    """An agent acts for themselves; administrators for anyone of their license."""
    return target == agent_id or role in ADMIN_ROLES


def agent_sees_chat(role: str, agent_id: str, chat_agents: list[str] | set[str], chat_groups: set[int],
                    agent_groups: set[int]) -> bool:
    """An administrator sees every chat of the license; an agent the chats they are in and those of their groups."""
    return role in ADMIN_ROLES or agent_id in chat_agents or bool(chat_groups & agent_groups)


def agent_sees_ticket(role: str, ticket_group: int, agent_groups: set[int]) -> bool:
    """An administrator sees every ticket of the license; an agent the tickets of their groups (a ticket is its
    chat's group's, as the chat would have been routed there)."""
    return role in ADMIN_ROLES or ticket_group in agent_groups


def archive_scope(role: str, agent_id: str, agent_groups: set[int]) -> tuple[list[str], list[int]] | None:
    """The archived threads an agent may read, as ``agent_sees_chat`` for archives: ``None`` for an administrator
    (all of the license's), else (agent ids, group ids) of which a thread must have one: the agent themself (the
    threads they were in) and their groups."""
    if role in ADMIN_ROLES:
        return None
    return [agent_id], sorted(agent_groups)


def may_attach_file(for_customer: bool, caller_id: str, uploader_id: str) -> bool:
    """A customer attaches only files they uploaded; an agent any file uploaded to their license (they see its
    chats' files anyway, and ids are unguessable). The upload record's key binds it to the license."""
    return not for_customer or (bool(uploader_id) and uploader_id == caller_id)


def agent_sees_customer(role: str, agent_id: str, agent_groups: set[int],
                        chats: list[tuple[list[str], set[int]]]) -> bool:
    """An administrator sees every customer; an agent a customer every chat of whom (its agents, its groups) they
    see. What acts as a customer (a customer token from the ``agent_token`` grant) or changes one (a ban, new
    details) reaches all of that customer's chats, so one chat in a group the agent is not in is enough to refuse."""
    return role in ADMIN_ROLES or all(agent_sees_chat(role, agent_id, agents, groups, agent_groups)
                                      for agents, groups in chats)


def agent_token_matches(agent: dict, token_sha: str) -> bool:
    """A personal access token works for the agent record it was made with: the record keeps its token's hash
    (``token_sha``), so a deleted agent re-created with the same e-mail does not bring the old token back. Records
    made before the hash was kept have none and keep working until they are re-created."""
    kept = agent.get("token_sha")
    return kept is None or kept == token_sha


def identity_site(allowed_origins: list[str], origin: str | None, own_hosts: set[str], claimed: str | None) -> str:
    """Which site a browser's identity (the ``__lc_*`` cookies) is kept for: ``""`` (one customer for the whole
    license) when the license lists its origins (only its owner's sites get a token) or the request is no browser's
    (no ``Origin``); else the requesting origin, so that a site that is not the license's, asking with the visitor's
    cookies, gets a customer of its own instead of theirs. The chat frame runs on this server's own origin for the
    page that embeds it, so a request from this server's own origin may name that page's origin (``claimed``; the
    frame page may only be framed by it, see ``widget.service.frame_csp``)."""
    if allowed_origins or origin is None:
        return ""
    if claimed and urlsplit(origin).netloc in own_hosts:
        return origin_of(claimed) or origin
    return origin


def origin_of(url: str | None) -> str | None:
    """``scheme://host[:port]`` of a URL, or None when it has none."""
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def may_multicast(role: str, agent_groups: set[int], to_all: bool, groups: list[int]) -> bool:
    """``multicast``: an administrator reaches every agent of the license; an agent reaches agents by id and the
    groups they are in themselves, not the whole license or groups they do not work in."""
    return role in ADMIN_ROLES or (not to_all and set(groups) <= agent_groups)


def report_scope(role: str, agent_id: str, agent_groups: set[int], groups: list[int] | None,
                 agents: list[str] | None) -> tuple[list[int] | None, list[str] | None] | None:
    """Whose counters a report may sum: (groups, agents), None for the whole license's; None when refused. Owners and
    administrators read any; an agent reads their groups' (all of them when no filter names some) or their own."""
    if role in ADMIN_ROLES:
        return groups, agents
    if agents is not None:
        return (None, agents) if groups is None and set(agents) <= {agent_id} else None
    wanted = sorted(agent_groups) if groups is None else groups
    return (wanted, None) if set(wanted) <= agent_groups else None


def may_change_canned(role: str, scope: str) -> bool:
    """An agent changes their own canned responses; the license's (``scope`` "license") only owners and
    administrators (every agent reads and uses both)."""
    return scope != "license" or role in ADMIN_ROLES
