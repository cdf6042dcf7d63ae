"""The access rules as pure functions, for the cores to apply to records they have already read (``access.py``
holds the request-time checks that read what they need)."""

from __future__ import annotations

import time

from ..protocol.errors import ApiError

ADMIN_ROLES = frozenset({"owner", "administrator", "viceowner"})


def refuse_banned(until: int | None) -> None:
    """``customer_banned`` while a ban (its end, unix seconds) is in force."""
    if until and until > time.time():
        raise ApiError("customer_banned", "Customer is banned", {"until": int(until)})


def may_act_for(role: str, agent_id: str, target: str) -> bool:
    """An agent acts for themselves; administrators for anyone of their license."""
    return target == agent_id or role in ADMIN_ROLES


def agent_sees_chat(role: str, agent_id: str, chat_agents: list[str] | set[str], chat_groups: set[int],
                    agent_groups: set[int]) -> bool:
    """An administrator sees every chat of the license; an agent the chats they are in and those of their groups."""
    return role in ADMIN_ROLES or agent_id in chat_agents or bool(chat_groups & agent_groups)


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
