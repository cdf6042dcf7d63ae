"""The Configuration API's agent lifecycle, batches and bot templates (issue 21), as a part of ``ConfigurationCore``.

* Suspension: the agent record says ``suspended``; ``auth.rules.refuse_inactive`` refuses its tokens everywhere
  (Web, RTM login, a socket's next check), and its sockets on every worker close at once through the bus, as a deleted
  agent's do. ``unsuspend_agent`` gives the same token back its use. ``awaiting_approval`` (``create_agent``) works
  the same way until ``approve_agent``.
* Flags are written by compare-and-set on the agent's record (``Store.update_json_field``), so a concurrent
  ``update_agent`` cannot undo a suspension.
* Configuration changes are announced to every agent of the license (the agents feed of the bus) and to the
  license's webhooks for the same action (``_announce``).
* Bot templates: a self-hosted server has no application installs, so a template lives on the license that made it;
  ``affect_existing_installations: true`` counts this license as an installation: the bot of the same id is made,
  changed, re-keyed or deleted with the template.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from typing import Any

import msgspec

from .. import keys
from ..mail import MailError, OutboxFull, notification
from ..protocol import agent as a
from ..protocol import configuration as cf
from ..protocol import customer as c
from ..protocol.errors import ApiError, ErrorBody, ErrorPayload
from .store import StoreError

log = logging.getLogger("widget_server.configuration")

_EMPTY = c.Empty()
MAX_TEMPLATES_PER_CLIENT = 5
"""LiveChat: one client id registers up to five bot templates."""
MAX_TEMPLATES = 100
"""Bot templates one license keeps in all (of any number of client ids)."""
UNSUSPENSION_MAIL_SECONDS = 86400
"""A suspended agent's request to be unsuspended is mailed to the owners at most once in this many seconds."""


def _secret() -> tuple[str, str]:
    """A new bot secret and the hash kept of it (the secret itself is shown once, never stored or logged)."""
    secret = secrets.token_urlsafe(24)
    return secret, hashlib.sha256(secret.encode()).hexdigest()


class AgentAdmin:
    """Mixed into ``ConfigurationCore``: uses its store, router, bus, webhooks and availability."""

    store: Any
    router: Any
    bus: Any
    webhooks: Any
    availability: Any
    mailer: Any = None
    """The worker's ``Mailer`` (set by ``services.py``): ``request_agent_unsuspension`` mails the owners."""

    # --- announcing configuration changes ---------------------------------------------------------------------------

    async def _announce(self, org: str, action: str, payload: Any) -> None:
        """LiveChat's configuration push to every agent of the license, and the license webhooks for ``action``."""
        await self.bus.publish([keys.agents_feed(org)], action, payload)
        await self.webhooks.emit(org, action, payload)

    @staticmethod
    def _agent_state(agent: dict[str, Any]) -> cf.AgentState:
        return cf.AgentState(
            id=agent["id"], name=agent.get("name") or agent["id"], role=agent.get("role", "normal"),
            avatar=agent.get("avatar"), job_title=agent.get("job_title"), mobile=agent.get("mobile"),
            max_chats_count=int(agent.get("max_chats_count", 6)),
            awaiting_approval=bool(agent.get("awaiting_approval")),
            groups=[cf.GroupPriority(**g) for g in agent.get("groups", [])], notifications=[],
            email_subscriptions=[], work_scheduler={})

    @staticmethod
    def _bot_state(bot: dict[str, Any]) -> cf.BotState:
        return cf.BotState(
            id=bot["id"], name=bot.get("name") or bot["id"], avatar=bot.get("avatar"),
            job_title=bot.get("job_title"), max_chats_count=int(bot.get("max_chats_count", 6)),
            default_group_priority=bot.get("default_group_priority"),
            groups=[cf.GroupPriority(**g) for g in bot.get("groups", [])],
            owner_client_id=bot.get("owner_client_id"), timezone=bot.get("timezone"))

    # --- agent lifecycle ----------------------------------------------------------------------------------------------

    async def _set_flag(self, org: str, agent_id: str, flag: str, value: bool) -> bool:
        """Set or clear one flag of the agent's record by compare-and-set; whether it changed."""
        changed = False

        def mutate(agent: dict[str, Any]) -> dict[str, Any]:
            nonlocal changed
            changed = bool(agent.get(flag)) != value
            if value:
                agent[flag] = True
            else:
                agent.pop(flag, None)
            return agent
        try:
            await self.store.update_json_field(keys.agents(org), agent_id, mutate)
        except StoreError:
            raise ApiError("not_found", f"Agent {agent_id} not found") from None
        return changed

    async def suspend_agent(self, caller: Any, req: cf.AgentIdRequest) -> c.Empty:
        """The agent can no longer sign in or use any API; their sockets close on every worker now, they go offline
        (their chats go back to routing after the usual grace, as when an agent leaves)."""
        agent = await self._agent(caller, req.id)  # type: ignore[attr-defined]
        if agent.get("role") == "owner":
            raise ApiError("authorization", "The owner cannot be suspended")
        if agent["id"] == caller.agent_id:
            raise ApiError("validation", "id: an agent cannot suspend themself")
        if not await self._set_flag(caller.org, agent["id"], "suspended", True):
            return _EMPTY  # already suspended: nothing changes, nothing is announced
        await self.router.set_status(caller.org, agent["id"], "offline")
        await self.availability.refresh(caller.org)
        await self._announce(caller.org, "agent_suspended", cf.IdPayload(agent["id"]))
        # (after the push above, so the agent's own sockets hear why before they close)
        await self.bus.publish([agent["id"]], "agent_disconnected",
                               a.AgentDisconnected(reason="agent_disconnected_by_server"))
        return _EMPTY

    async def unsuspend_agent(self, caller: Any, req: cf.AgentIdRequest) -> c.Empty:
        agent = await self._agent(caller, req.id)  # type: ignore[attr-defined]
        if await self._set_flag(caller.org, agent["id"], "suspended", False):
            await self._announce(caller.org, "agent_unsuspended", cf.IdPayload(agent["id"]))
        return _EMPTY

    async def approve_agent(self, caller: Any, req: cf.AgentIdRequest) -> c.Empty:
        agent = await self._agent(caller, req.id)  # type: ignore[attr-defined]
        if await self._set_flag(caller.org, agent["id"], "awaiting_approval", False):
            await self._announce(caller.org, "agent_approved", cf.IdPayload(agent["id"]))
        return _EMPTY

    async def request_agent_unsuspension(self, caller: Any, req: c.Empty) -> c.Empty:
        """A suspended agent asks the license's owners (and vice owners) by e-mail to be let back in: one mail a
        day at most (``too_many_requests`` before that), ``validation`` from an agent who is not suspended,
        ``service_unavailable`` when this server sends no mail."""
        me = (await self.store.agents(caller.org, [caller.agent_id])).get(caller.agent_id) or {}
        if not me.get("suspended"):
            raise ApiError("validation", "Only a suspended agent can request unsuspension")
        if self.mailer is None or not self.mailer.enabled:
            raise ApiError("service_unavailable", "This server sends no e-mail")
        admins = sorted(aid for aid, x in (await self.store.agents(caller.org)).items()
                        if x.get("type", "agent") == "agent" and x.get("role") in ("owner", "viceowner")
                        and not x.get("suspended"))
        if not admins:
            raise ApiError("validation", "The license has no owner to ask")
        if not await self.store.r.set(keys.unsuspension_requested(caller.agent_id), "1", nx=True,
                                      ex=UNSUSPENSION_MAIL_SECONDS):
            raise ApiError("too_many_requests", "Unsuspension was requested lately; the owners have been told")
        name = " ".join(str(me.get("name") or caller.agent_id).split())[:100]  # (one line: it goes in the subject)
        site = (await self.store.license(caller.org) or {}).get("name") or "widget_server"
        try:
            await self.mailer.enqueue(caller.org, notification(
                to=admins, subject=f"{name} asks to be unsuspended", lang=None, site=site,
                paragraphs=[f"The suspended agent {name} <{caller.agent_id}> asks you to unsuspend their account.",
                            "Unsuspend them with the Configuration API's unsuspend_agent, or leave them suspended."]))
        except (OutboxFull, MailError) as exc:
            await self.store.r.delete(keys.unsuspension_requested(caller.agent_id))  # (not sent: may ask again)
            raise ApiError("service_unavailable", f"The request could not be mailed: {exc}") from None
        return _EMPTY

    async def reactivate_email(self, caller: Any, req: cf.ReactivateEmailRequest) -> c.Empty:
        """LiveChat re-enables mail to an address that bounced. This server keeps no list of bounced addresses
        (nothing is ever switched off), so there is nothing to turn back on: the agent is checked, the answer is
        ``{}``."""
        await self._agent(caller, req.agent_id)  # type: ignore[attr-defined]
        return _EMPTY

    # --- batches -----------------------------------------------------------------------------------------------------

    async def _batch(self, caller: Any, req: cf.BatchRequest, method: str, request_type: type) -> cf.BatchResponse:
        """Each request decoded and run on its own, in order (LiveChat runs them concurrently and promises no
        order of execution; one after another is one of the orders it allows, and two items about the same agent
        cannot race); a failure is that item's ``{"error": ...}`` and the others still run."""
        decoder = msgspec.json.Decoder(request_type)
        responses: list[Any] = []
        for raw in req.requests:
            try:
                try:
                    item = decoder.decode(raw)
                except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as exc:
                    raise ApiError("validation", str(exc)) from None
                responses.append(await getattr(self, method)(caller, item))
            except ApiError as exc:
                responses.append(ErrorPayload(ErrorBody(exc.type, exc.message, exc.data)))
        return cf.BatchResponse(responses=responses)

    async def batch_create_agents(self, caller: Any, req: cf.BatchRequest) -> cf.BatchResponse:
        return await self._batch(caller, req, "create_agent", cf.CreateAgentRequest)

    async def batch_update_agents(self, caller: Any, req: cf.BatchRequest) -> cf.BatchResponse:
        return await self._batch(caller, req, "update_agent", cf.UpdateAgentRequest)

    async def batch_delete_agents(self, caller: Any, req: cf.BatchRequest) -> cf.BatchResponse:
        return await self._batch(caller, req, "delete_agent", cf.AgentIdRequest)

    async def batch_approve_agents(self, caller: Any, req: cf.BatchRequest) -> cf.BatchResponse:
        return await self._batch(caller, req, "approve_agent", cf.AgentIdRequest)

    async def batch_suspend_agents(self, caller: Any, req: cf.BatchRequest) -> cf.BatchResponse:
        return await self._batch(caller, req, "suspend_agent", cf.AgentIdRequest)

    async def batch_unsuspend_agents(self, caller: Any, req: cf.BatchRequest) -> cf.BatchResponse:
        return await self._batch(caller, req, "unsuspend_agent", cf.AgentIdRequest)

    async def batch_create_bots(self, caller: Any, req: cf.BatchRequest) -> cf.BatchResponse:
        return await self._batch(caller, req, "create_bot", cf.CreateBotRequest)

    async def batch_update_bots(self, caller: Any, req: cf.BatchRequest) -> cf.BatchResponse:
        return await self._batch(caller, req, "update_bot", cf.UpdateBotRequest)

    async def batch_delete_bots(self, caller: Any, req: cf.BatchRequest) -> cf.BatchResponse:
        return await self._batch(caller, req, "delete_bot", cf.BotIdRequest)

    # --- bot secrets and templates -----------------------------------------------------------------------------------

    async def reset_bot_secret(self, caller: Any, req: cf.ResetBotSecretRequest) -> cf.SecretResponse:
        """A new secret for the bot (shown once); the old one issues no more tokens (tokens already issued live
        out their 24 hours, as LiveChat's cannot be revoked either)."""
        bot = await self._agent(caller, req.id, "bot")  # type: ignore[attr-defined]
        if req.owner_client_id is not None and bot.get("owner_client_id") not in (None, req.owner_client_id):
            raise ApiError("not_found", f"Bot {req.id} not found")
        secret, sha = _secret()
        await self._rekey_bot(caller.org, bot["id"], sha)
        return cf.SecretResponse(secret=secret)

    async def _rekey_bot(self, org: str, bot_id: str, sha: str) -> None:
        def mutate(bot: dict[str, Any]) -> dict[str, Any]:
            bot["secret_sha"] = sha
            return bot
        try:
            await self.store.update_json_field(keys.agents(org), bot_id, mutate)
        except StoreError:
            raise ApiError("not_found", f"Bot {bot_id} not found") from None

    async def _templates(self, org: str) -> dict[str, dict[str, Any]]:
        raw = await self.store.r.hgetall(keys.bot_templates(org))
        return {k.decode() if isinstance(k, bytes) else k: msgspec.json.decode(v) for k, v in raw.items()}

    async def _template(self, org: str, template_id: str, owner_client_id: str) -> dict[str, Any]:
        template = (await self._templates(org)).get(template_id)
        if template is None or template["owner_client_id"] != owner_client_id:
            raise ApiError("not_found", f"Bot template {template_id} not found")
        return template

    async def _save_template(self, org: str, template: dict[str, Any]) -> None:
        await self.store.r.hset(keys.bot_templates(org), template["id"], msgspec.json.encode(template))

    @staticmethod
    def _bot_request(template: dict[str, Any]) -> cf.CreateBotRequest:
        return cf.CreateBotRequest(name=template["name"], avatar=template.get("avatar"),
                                   max_chats_count=template.get("max_chats_count", 6),
                                   default_group_priority=template.get("default_group_priority"),
                                   job_title=template.get("job_title"),
                                   owner_client_id=template["owner_client_id"])

    async def create_bot_template(self, caller: Any, req: cf.CreateBotTemplateRequest) -> cf.CreateBotResponse:
        """A template of the client's (five at most); with ``affect_existing_installations`` its bot is made on
        this license at once, with the template's id and secret."""
        templates = await self._templates(caller.org)
        if len(templates) >= MAX_TEMPLATES:
            raise ApiError("limit_reached", f"A license has at most {MAX_TEMPLATES} bot templates")
        if sum(t["owner_client_id"] == req.owner_client_id for t in templates.values()) >= MAX_TEMPLATES_PER_CLIENT:
            raise ApiError("limit_reached", f"A client has at most {MAX_TEMPLATES_PER_CLIENT} bot templates")
        template_id = secrets.token_hex(16)
        secret, sha = _secret()
        template = {k: v for k, v in msgspec.to_builtins(req).items() if k != "affect_existing_installations"}
        template.update(id=template_id, secret_sha=sha)
        template.setdefault("max_chats_count", 6)
        await self._save_template(caller.org, template)
        if req.affect_existing_installations:
            await self._create_bot(caller, self._bot_request(template), template_id, sha)  # type: ignore[attr-defined]
        return cf.CreateBotResponse(id=template_id, secret=secret)

    async def list_bot_templates(self, caller: Any, req: cf.ListBotTemplatesRequest) -> list[cf.BotTemplate]:
        return [cf.BotTemplate(id=t["id"], name=t["name"], owner_client_id=t["owner_client_id"],
                               avatar_path=t.get("avatar"), job_title=t.get("job_title"),
                               max_chats_count=t.get("max_chats_count", 6),
                               default_group_priority=t.get("default_group_priority"))
                for _, t in sorted((await self._templates(caller.org)).items())
                if t["owner_client_id"] == req.owner_client_id]

    async def update_bot_template(self, caller: Any, req: cf.UpdateBotTemplateRequest) -> c.Empty:
        template = await self._template(caller.org, req.id, req.owner_client_id)
        changes = {k: v for k, v in msgspec.to_builtins(req).items()
                   if k not in ("id", "owner_client_id", "affect_existing_installations") and v is not None}
        template.update(changes)
        await self._save_template(caller.org, template)
        if req.affect_existing_installations and await self._has_bot(caller.org, req.id):
            bot_changes = {k: v for k, v in changes.items() if k != "default_group_priority"}
            await self.update_bot(caller, cf.UpdateBotRequest(id=req.id, **bot_changes))  # type: ignore[attr-defined]
        return _EMPTY

    async def delete_bot_template(self, caller: Any, req: cf.BotTemplateIdRequest) -> c.Empty:
        await self._template(caller.org, req.id, req.owner_client_id)
        await self.store.r.hdel(keys.bot_templates(caller.org), req.id)
        if req.affect_existing_installations and await self._has_bot(caller.org, req.id):
            await self.delete_bot(caller, cf.BotIdRequest(id=req.id))  # type: ignore[attr-defined]
        return _EMPTY

    async def reset_bot_template_secret(self, caller: Any, req: cf.BotTemplateIdRequest) -> cf.SecretResponse:
        template = await self._template(caller.org, req.id, req.owner_client_id)
        secret, sha = _secret()
        template["secret_sha"] = sha
        await self._save_template(caller.org, template)
        if req.affect_existing_installations and await self._has_bot(caller.org, req.id):
            await self._rekey_bot(caller.org, req.id, sha)
        return cf.SecretResponse(secret=secret)

    async def _has_bot(self, org: str, bot_id: str) -> bool:
        bot = (await self.store.agents(org, [bot_id])).get(bot_id)
        return bot is not None and bot.get("type") == "bot"
