"""Canned responses (issue 18, "Working a chat"): texts an agent inserts with ``#shortcut`` in the console's reply
box, the license's own (every agent uses them, administrators change them) and each agent's. Our extension actions on
the Agent API: ``list_canned_responses``, ``create_canned_response``, ``update_canned_response``,
``delete_canned_response`` (README, "Canned responses").

Stored per owner (``keys.canned_responses``: the license, or one agent) as a hash of JSON records, written by one
script (``canned_put``) that keeps an owner's count within ``WIDGET_CANNED_PER_OWNER`` and its shortcuts unique.
Texts are bounded by ``WIDGET_CANNED_TEXT_MAX``. Placeholders (``{{customer.name}}``, ``{{agent.name}}``) stay as
written here: the console fills them in when the agent uses one."""

from __future__ import annotations

from typing import Any

import msgspec

from .. import keys
from ..auth.rules import may_change_canned
from ..protocol import console as cs
from ..protocol import customer as c
from ..protocol.common import now_rfc3339
from ..protocol.errors import ApiError
from .scripts import register

LICENSE = "*"
"""The owner name of the license's own canned responses (agent ids are e-mail addresses: never ``*``)."""

_record = msgspec.json.Decoder(cs.CannedResponse)


class Canned:
    def __init__(self, valkey: Any, per_owner: int, text_max: int) -> None:
        self.r = valkey
        self.per_owner = per_owner
        self.text_max = text_max
        self._put = register(valkey, "canned_put")

    def _key(self, org: str, scope: str, agent_id: str) -> str:
        return keys.canned_responses(org, LICENSE if scope == "license" else agent_id)

    async def list(self, caller: Any, req: cs.ListCannedResponsesRequest) -> cs.ListCannedResponsesResponse:
        scopes = [req.scope] if req.scope else ["license", "agent"]
        found: list[cs.CannedResponse] = []
        for scope in scopes:
            raw = await self.r.hvals(self._key(caller.org, scope, caller.agent_id))
            found.extend(_record.decode(value) for value in raw)
        found.sort(key=lambda c: (c.shortcut, c.scope))
        return cs.ListCannedResponsesResponse(canned_responses=found)

    def _check_text(self, text: str | None) -> None:
        if text is not None and len(text) > self.text_max:
            raise ApiError("validation", f"text: at most {self.text_max} characters")

    def _may_change(self, caller: Any, scope: str) -> None:
        if not may_change_canned(caller.role, scope):
            raise ApiError("authorization", "The license's canned responses are changed by owners and administrators")

    async def _run(self, caller: Any, scope: str, args: list[Any]) -> cs.CannedResponse:
        result = await self._put(keys=[self._key(caller.org, scope, caller.agent_id), keys.canned_seq(caller.org)],
                                 args=args)
        if result == -1:
            raise ApiError("limit_reached", f"At most {self.per_owner} canned responses here; delete one first")
        if result == -2:
            raise ApiError("validation", "shortcut: another canned response has it")
        if result == -3:
            raise ApiError("not_found", "Canned response not found")
        return _record.decode(result)

    async def create(self, caller: Any, req: cs.CreateCannedResponseRequest) -> cs.CreateCannedResponseResponse:
        self._may_change(caller, req.scope)
        self._check_text(req.text)
        fixed = msgspec.json.encode({"scope": req.scope, "created_by": caller.agent_id}).decode()
        made = await self._run(caller, req.scope, ["", req.shortcut, req.text, self.per_owner, fixed, now_rfc3339()])
        return cs.CreateCannedResponseResponse(id=made.id)

    async def _scope_of(self, caller: Any, canned_id: int) -> str:
        """Which of the caller's two owners holds ``canned_id`` (ids are unique in a license)."""
        for scope in ("agent", "license"):
            if await self.r.hexists(self._key(caller.org, scope, caller.agent_id), str(canned_id)):
                return scope
        raise ApiError("not_found", "Canned response not found")

    async def update(self, caller: Any, req: cs.UpdateCannedResponseRequest) -> c.Empty:
        scope = await self._scope_of(caller, req.id)
        self._may_change(caller, scope)
        self._check_text(req.text)
        await self._run(caller, scope, [str(req.id), req.shortcut or "", req.text or "", self.per_owner, "",
                                        now_rfc3339()])
        return c.Empty()

    async def delete(self, caller: Any, req: cs.DeleteCannedResponseRequest) -> c.Empty:
        scope = await self._scope_of(caller, req.id)
        self._may_change(caller, scope)
        await self.r.hdel(self._key(caller.org, scope, caller.agent_id), str(req.id))
        return c.Empty()
