"""Every Valkey key and channel name, in one place.

Keys are hash-tagged (``{...}``) by the entity whose multi-key operations must stay in one cluster slot: a chat's
keys share the chat id, a customer's keys share the customer id, a license's keys share the organization id.
"""

from __future__ import annotations

P = "ws"

# process-wide
SECRET = f"{P}:secret"
DEFAULT_LICENSE = f"{P}:default_license"


# license (organization)
def license(org: str) -> str:
    return f"{P}:{{{org}}}:license"


def license_config(org: str) -> str:
    return f"{P}:{{{org}}}:config"


def accepting_agents(org: str) -> str:
    """Hash group_id -> number of agents accepting chats in that group (maintained by routing)."""
    return f"{P}:{{{org}}}:accepting"


def agents(org: str) -> str:
    return f"{P}:{{{org}}}:agents"


def agent_token(token_sha: str) -> str:
    return f"{P}:pat:{{{token_sha}}}"


def owner_login(email: str) -> str:
    return f"{P}:owner:{{{email}}}"


def file(org: str, file_id: str) -> str:
    return f"{P}:{{{org}}}:file:{file_id}"


# customer
def customer(cid: str) -> str:
    return f"{P}:{{{cid}}}:cust"


def customer_chats(cid: str) -> str:
    """Sorted set chat_id -> last thread creation time (ms)."""
    return f"{P}:{{{cid}}}:chats"


def customer_connections(cid: str) -> str:
    """Sorted set connection id -> connect time (s): open RTM sockets of the customer, on any worker."""
    return f"{P}:{{{cid}}}:conns"


def customer_identity(org: str, cookie_id: str) -> str:
    return f"{P}:{{{org}}}:ident:{cookie_id}"


# chat
def chat(chat_id: str) -> str:
    return f"{P}:{{{chat_id}}}:chat"


def chat_threads(chat_id: str) -> str:
    """List of thread ids, oldest first (append only)."""
    return f"{P}:{{{chat_id}}}:threads"


def thread(chat_id: str, thread_id: str) -> str:
    return f"{P}:{{{chat_id}}}:t:{thread_id}"


def thread_events(chat_id: str, thread_id: str) -> str:
    """Hash event sequence number -> encoded event."""
    return f"{P}:{{{chat_id}}}:t:{thread_id}:ev"


def chat_last_events(chat_id: str) -> str:
    """Hash event type -> encoded {thread_id, thread_created_at, event} (list_chats' last_event_per_type)."""
    return f"{P}:{{{chat_id}}}:lept"


# bus
def user_channel(user_id: str) -> str:
    return f"{P}:{{{user_id}}}:push"


def worker_channel(worker_id: str) -> str:
    return f"{P}:worker:{worker_id}"
