"""First start on an empty store: the default license, its owner (also an agent with the owner role) and one more
agent, with credentials written to ``<data-dir>/credentials.json`` (mode 600). Later starts reuse them."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

import msgspec

from . import keys
from .auth.passwords import hash_password
from .core.ids import uuid_id
from .core.licenses import assign_license_number
from .core.routing import Router
from .datadir import private_dir
from .protocol.common import now_rfc3339
from .protocol.config import LicenseConfig


async def create_agent(valkey: Any, org: str, email: str, name: str, role: str, max_chats: int = 6,
                       groups: list[tuple[int, str]] | None = None, kind: str = "agent") -> dict[str, str]:
    """An agent account (in group 0 unless told otherwise) with a fresh personal access token; only the token's hash
    is stored. Agent ids are e-mail addresses and unique across the deployment."""
    if not await valkey.set(keys.agent_account(email), org, nx=True):
        raise ValueError(f"agent {email} already exists")
    groups = groups if groups is not None else [(0, "normal")]
    token = secrets.token_urlsafe(32)
    token_sha = hashlib.sha256(token.encode()).hexdigest()
    agent = {"id": email, "name": name, "role": role, "type": kind, "max_chats_count": max_chats,
             "groups": [{"id": gid, "priority": prio} for gid, prio in groups], "created_at": now_rfc3339(),
             "token_sha": token_sha}  # (the record names its token: auth.rules.agent_token_matches)
    async with valkey.pipeline(transaction=False) as p:
        p.hset(keys.agents(org), email, msgspec.json.encode(agent))
        p.hset(keys.agent_token(token_sha), mapping={"agent_id": email, "org": org})
        await p.execute()
    await Router(valkey).set_membership(org, email, groups, max_chats)
    return {"account_id": email, "personal_access_token": token, "role": role}


async def create_license(valkey: Any, owner_email: str, password: str, config: LicenseConfig | None = None,
                         org: str | None = None) -> dict:
    """A license with its owner (an agent with the owner role) and one more agent; returns their credentials."""
    org = org or uuid_id()
    await valkey.hset(keys.license(org), mapping={"organization_id": org, "created_at": now_rfc3339(),
                                                  "name": "Default license", "owner_email": owner_email})
    await valkey.set(keys.license_config(org), msgspec.json.encode(config or LicenseConfig()))
    license_id = await assign_license_number(valkey, org)
    owner = await create_agent(valkey, org, owner_email, "Owner", "owner")
    agent = await create_agent(valkey, org, f"agent+{org[:8]}@example.com", "Agent", "normal")
    await valkey.hset(keys.owner_login(owner_email), mapping={"org": org, "password": hash_password(password)})
    return {"organization_id": org, "license_id": license_id,
            "owner": {"email": owner_email, "password": password, **owner}, "agent": agent}


async def ensure_default_license(valkey: Any, data_dir: str | Path,
                                 owner_email: str = "owner@example.com") -> tuple[dict, bool]:
    """Create the default license once (guarded by SET NX, so concurrent first starts agree); return its credentials
    and whether they were created now (then they are shown once; later ``python -m widget_server credentials``)."""
    path = Path(data_dir) / "credentials.json"
    org = uuid_id()
    created = await valkey.set(keys.DEFAULT_LICENSE, org, nx=True)
    if not created:
        org = (await valkey.get(keys.DEFAULT_LICENSE)).decode()
        if path.exists():
            return json.loads(path.read_text()), False
        return {"organization_id": org, "note": "credentials were printed on the first start of this store"}, False
    creds = await create_license(valkey, owner_email, secrets.token_urlsafe(12), org=org)
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(creds, f, indent=2)
    os.chmod(path, 0o600)
    return creds, True
