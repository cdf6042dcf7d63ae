"""The Configuration API subset: agents, groups, bots, webhooks, license properties. Owners and administrators only
(checked by the transport)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import msgspec

from .. import keys
from ..mail.message import MailError, parse_address
from ..protocol import tickets as tk
from ..protocol import agent as a
from ..protocol import configuration as cf
from ..protocol import customer as c
from ..protocol.common import now_rfc3339
from ..protocol.config import Appearance, FormSetting, GreetingTemplate, Group
from ..protocol.errors import ApiError
from . import greetings, hours, timeouts
from .agent_admin import AgentAdmin
from .availability import Availability
from .ids import uuid_id
from .license_admin import LicenseAdmin
from .bus import Bus
from .routing import Router
from .rulebot import webhooks_for as rulebot_webhooks
from ..auth.signing import BotToken, Signer
from .store import Store, StoreError
from .auto_access import AutoAccessConfiguration
from .bans import BansConfiguration
from .properties import PropertiesConfiguration, check_size, check_values, with_defaults
from .tags import TagsConfiguration
from .webhooks import Webhooks

_EMPTY = c.Empty()
BOT_TOKEN_TTL = 24 * 3600
WIDGET_NAMESPACE = "widget"
FORM_PROPERTIES = {"prechat_form": "prechat", "postchat_form": "postchat", "ticket_form": "ticket"}


@dataclass(slots=True)
class AdminCaller:
    org: str
    agent_id: str
    role: str


class ConfigurationCore(AgentAdmin, LicenseAdmin, TagsConfiguration, BansConfiguration, PropertiesConfiguration,
                        AutoAccessConfiguration):
    def __init__(self, store: Store, router: Router, webhooks: Webhooks, signer: Signer, bus: Bus,
                 availability: Availability) -> None:
        self.availability = availability
        self.store = store
        self.bus = bus
        self.router = router
        self.webhooks = webhooks
        self.signer = signer

    # --- agents --------------------------------------------------------------------------------------------------

    async def _groups_exist(self, org: str, groups: list[cf.GroupPriority]) -> None:
        known = {g.id for g in (await self.store.license_config(org)).groups}
        for g in groups:
            if g.id not in known:
                raise ApiError("group_not_found", f"Group {g.id} not found", {"group_id": g.id})

    async def _apply_membership(self, org: str, agent: dict[str, Any], previous: list[dict[str, Any]]) -> None:
        wanted = [(int(g["id"]), g.get("priority", "normal")) for g in agent.get("groups", [])]
        dropped = {int(g["id"]) for g in previous} - {gid for gid, _ in wanted}
        await self.router.set_membership(org, agent["id"], [*wanted, *((gid, "none") for gid in dropped)],
                                         int(agent.get("max_chats_count", 6)))
        await self.availability.refresh(org)  # a group may have gained its first or lost its last accepting agent

    async def create_agent(self, caller: AdminCaller, req: cf.CreateAgentRequest) -> cf.CreateAgentResponse:
        groups = req.groups if req.groups is not None else [cf.GroupPriority(id=0)]
        await self._groups_exist(caller.org, groups)
        if req.role == "owner":
            raise ApiError("validation", "role: a license has one owner")
        if not await self.store.r.set(keys.agent_account(req.id), caller.org, nx=True):
            raise ApiError("already_exists", f"Agent {req.id} already exists")
        token = secrets.token_urlsafe(32)
        token_sha = hashlib.sha256(token.encode()).hexdigest()
        # the record names its token (auth.rules.agent_token_matches): an older token of a deleted agent of the same
        # e-mail does not work for this one
        agent = {"id": req.id, "name": req.name, "role": req.role, "type": "agent",
                 "max_chats_count": req.max_chats_count, "groups": msgspec.to_builtins(groups),
                 "job_title": req.job_title, "avatar": req.avatar_path, "created_at": now_rfc3339(),
                 "token_sha": token_sha}
        if req.awaiting_approval:
            agent["awaiting_approval"] = True  # (its token works once approve_agent is called)
        await self.store.save_agent(caller.org, agent)
        await self.store.r.hset(keys.agent_token(token_sha), mapping={"agent_id": req.id, "org": caller.org})
        await self._apply_membership(caller.org, agent, [])
        await self._announce(caller.org, "agent_created", self._agent_state(agent))
        return cf.CreateAgentResponse(id=req.id, personal_access_token=token)

    async def _agent(self, caller: AdminCaller, agent_id: str, kind: str = "agent") -> dict[str, Any]:
        agent = (await self.store.agents(caller.org, [agent_id])).get(agent_id)
        if agent is None or agent.get("type", "agent") != kind:
            raise ApiError("not_found", f"{kind.title()} {agent_id} not found")
        return agent

    @staticmethod
    def _view(agent: dict[str, Any]) -> cf.AgentView:
        return cf.AgentView(id=agent["id"], name=agent["name"], role=agent.get("role", "normal"),
                            max_chats_count=int(agent.get("max_chats_count", 6)),
                            groups=[cf.GroupPriority(**g) for g in agent.get("groups", [])],
                            job_title=agent.get("job_title"), avatar_path=agent.get("avatar"),
                            type=agent.get("type", "agent"), suspended=bool(agent.get("suspended")),
                            awaiting_approval=bool(agent.get("awaiting_approval")))

    async def get_agent(self, caller: AdminCaller, req: cf.AgentIdRequest) -> cf.AgentView:
        return self._view(await self._agent(caller, req.id))

    async def list_agents(self, caller: AdminCaller, req: cf.ListAgentsRequest) -> list[cf.AgentView]:
        agents = await self.store.agents(caller.org)
        filters = req.filters or {}
        suspended, group_ids = filters.get("suspended"), filters.get("group_ids")
        if suspended is not None and not isinstance(suspended, bool):
            raise ApiError("validation", "filters.suspended: expected a boolean")
        if group_ids is not None and (not isinstance(group_ids, list)
                                      or not all(isinstance(g, int) for g in group_ids)):
            raise ApiError("validation", "filters.group_ids: expected a list of group ids")
        return [self._view(a) for _, a in sorted(agents.items()) if a.get("type", "agent") == "agent"
                and (suspended is None or bool(a.get("suspended")) == suspended)
                and (group_ids is None or any(int(g["id"]) in group_ids for g in a.get("groups", [])))]

    async def update_agent(self, caller: AdminCaller, req: cf.UpdateAgentRequest) -> c.Empty:
        agent = await self._agent(caller, req.id)
        previous = list(agent.get("groups", []))
        if req.groups is not None:
            await self._groups_exist(caller.org, req.groups)

        def change(agent: dict[str, Any]) -> dict[str, Any]:
            if req.groups is not None:
                agent["groups"] = msgspec.to_builtins(req.groups)
            if req.role is not None:
                if (req.role == "owner") != (agent.get("role") == "owner"):
                    raise ApiError("ownership_transfer", "The owner role cannot be given or taken here")
                agent["role"] = req.role
            for field, key in (("name", "name"), ("max_chats_count", "max_chats_count"), ("job_title", "job_title"),
                               ("avatar_path", "avatar")):
                value = getattr(req, field)
                if value is not None:
                    agent[key] = value
            return agent
        # compare-and-set on the record, so a suspension (agent_admin.py) made meanwhile is not undone
        try:
            agent = await self.store.update_json_field(keys.agents(caller.org), req.id, change)
        except StoreError:  # (deleted meanwhile)
            raise ApiError("not_found", f"Agent {req.id} not found") from None
        await self._apply_membership(caller.org, agent, previous)
        # LiveChat's push of a changed agent, to every agent of the license (and the agent_updated webhook); the
        # agent's own sockets read their role again on it (api/agent_rtm.py)
        changed = {cf.AGENT_UPDATED_FIELDS[k]: v for k, v in msgspec.to_builtins(req).items()
                   if v is not None and k in cf.AGENT_UPDATED_FIELDS}
        await self._announce(caller.org, "agent_updated", {"id": agent["id"], **changed})
        return _EMPTY

    async def delete_agent(self, caller: AdminCaller, req: cf.AgentIdRequest) -> c.Empty:
        agent = await self._agent(caller, req.id)
        if agent.get("role") == "owner":
            raise ApiError("ownership_transfer", "The owner cannot be deleted")
        await self._remove(caller.org, agent)
        await self._announce(caller.org, "agent_deleted", cf.IdPayload(agent["id"]))
        return _EMPTY

    async def _remove(self, org: str, agent: dict[str, Any]) -> None:
        await self.router.set_status(org, agent["id"], "offline")
        await self.router.set_membership(org, agent["id"], [(int(g["id"]), "none") for g in agent.get("groups", [])], 0)
        async with self.store.r.pipeline(transaction=False) as p:
            p.hdel(keys.agents(org), agent["id"])
            p.delete(keys.agent_account(agent["id"]))
            p.delete(keys.agent_password(agent["id"]))  # (their console password: no use to a re-created account)
            await p.execute()
        # its personal access token is revoked (authentication also requires the agent record, and a re-created
        # record names its own token), and its sockets on every worker close now
        if agent.get("token_sha"):
            await self.store.r.delete(keys.agent_token(agent["token_sha"]))
        await self.bus.publish([agent["id"]], "agent_disconnected", a.AgentDisconnected(reason="agent_deleted"))
        # a group's last accepting agent deleted: its customers hear it is offline now (groups_status_updated)
        await self.availability.refresh(org)

    # --- groups --------------------------------------------------------------------------------------------------

    async def create_group(self, caller: AdminCaller, req: cf.CreateGroupRequest) -> cf.CreateGroupResponse:
        config = await self.store.license_config(caller.org)
        gid = max((g.id for g in config.groups), default=-1) + 1
        config.groups.append(Group(id=gid, name=req.name, language=req.language_code))
        await self.store.set_license_config(caller.org, config)
        await self._set_priorities(caller, gid, req.agent_priorities or {})
        await self._announce(caller.org, "group_created", cf.GroupState(
            id=gid, name=req.name, language_code=req.language_code, agent_priorities=dict(req.agent_priorities or {})))
        return cf.CreateGroupResponse(id=gid)

    async def _set_priorities(self, caller: AdminCaller, gid: int, priorities: dict[str, str]) -> None:
        agents = await self.store.agents(caller.org, list(priorities))
        for agent_id, priority in priorities.items():
            agent = agents.get(agent_id)
            if agent is None:
                raise ApiError("validation", f"agent_priorities: no agent {agent_id} in this license")
            previous = list(agent.get("groups", []))
            agent["groups"] = [g for g in previous if int(g["id"]) != gid] + [{"id": gid, "priority": priority}]
            await self.store.save_agent(caller.org, agent)
            await self._apply_membership(caller.org, agent, previous)

    async def list_groups(self, caller: AdminCaller, req: c.Empty) -> list[cf.GroupView]:
        config = await self.store.license_config(caller.org)
        agents = await self.store.agents(caller.org)
        out = []
        for group in config.groups:
            prios = {aid: g.get("priority", "normal") for aid, a in agents.items() for g in a.get("groups", [])
                     if int(g["id"]) == group.id}
            out.append(cf.GroupView(id=group.id, name=group.name, language_code=group.language, agent_priorities=prios,
                                    welcome_message=group.welcome_message))
        return out

    async def get_group(self, caller: AdminCaller, req: cf.GroupIdRequest) -> cf.GroupView:
        for group in await self.list_groups(caller, _EMPTY):
            if group.id == req.id:
                return group
        raise ApiError("group_not_found", f"Group {req.id} not found")

    async def update_group(self, caller: AdminCaller, req: cf.UpdateGroupRequest) -> c.Empty:
        config = await self.store.license_config(caller.org)
        group = next((g for g in config.groups if g.id == req.id), None)
        if group is None:
            raise ApiError("group_not_found", f"Group {req.id} not found")
        if req.name is not None:
            group.name = req.name
        if req.language_code is not None:
            group.language = req.language_code
        if req.welcome_message is not None:
            group.welcome_message = req.welcome_message
        await self.store.set_license_config(caller.org, config)
        if req.agent_priorities is not None:
            await self._set_priorities(caller, req.id, req.agent_priorities)
        await self._announce(caller.org, "group_updated", {"id": req.id, **{
            k: v for k, v in msgspec.to_builtins(req).items() if v is not None and k in cf.GROUP_UPDATED_FIELDS}})
        return _EMPTY

    async def update_group_business_hours(self, caller: AdminCaller,
                                          req: cf.UpdateGroupBusinessHoursRequest) -> c.Empty:
        """Replace the group's business hours (``null`` removes them); customers connected hear of a status change
        at once, and the license's next opening or closing time is scheduled."""
        if req.business_hours is not None:
            hours.check(req.business_hours)
        config = await self.store.license_config(caller.org)
        group = next((g for g in config.groups if g.id == req.group_id), None)
        if group is None:
            raise ApiError("group_not_found", f"Group {req.group_id} not found")
        group.business_hours = req.business_hours
        await self.store.set_license_config(caller.org, config)
        await self.availability.refresh(caller.org)
        return _EMPTY

    async def get_group_business_hours(self, caller: AdminCaller,
                                       req: cf.GetGroupBusinessHoursRequest) -> cf.GroupBusinessHoursView:
        config = await self.store.license_config(caller.org)
        group = next((g for g in config.groups if g.id == req.group_id), None)
        if group is None:
            raise ApiError("group_not_found", f"Group {req.group_id} not found")
        now = self.availability.clock()
        change = hours.next_change(group.business_hours, now)
        online = await self.availability.online_groups(caller.org, [group.id], config=config)
        return cf.GroupBusinessHoursView(
            group_id=group.id, business_hours=group.business_hours, open_now=hours.is_open(group.business_hours, now),
            online=bool(online),
            next_change=change.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if change else None)

    async def delete_group(self, caller: AdminCaller, req: cf.GroupIdRequest) -> c.Empty:
        if req.id == 0:
            raise ApiError("validation", "Group 0 cannot be deleted")
        config = await self.store.license_config(caller.org)
        if not any(g.id == req.id for g in config.groups):
            raise ApiError("group_not_found", f"Group {req.id} not found")
        config.groups = [g for g in config.groups if g.id != req.id]
        config.greetings = [g for g in config.greetings if g.group != req.id]
        config.group_properties.pop(str(req.id), None)
        await self.store.set_license_config(caller.org, config)
        for agent in (await self.store.agents(caller.org)).values():
            if any(int(g["id"]) == req.id for g in agent.get("groups", [])):
                previous = list(agent["groups"])
                agent["groups"] = [g for g in previous if int(g["id"]) != req.id]
                await self.store.save_agent(caller.org, agent)
                await self._apply_membership(caller.org, agent, previous)
        await self._announce(caller.org, "group_deleted", cf.GroupIdPayload(req.id))
        return _EMPTY

    # --- greetings -----------------------------------------------------------------------------------------------

    async def _greeting_agent(self, caller: AdminCaller, agent_id: str | None) -> None:
        if agent_id is not None and agent_id not in await self.store.agents(caller.org, [agent_id]):
            raise ApiError("validation", f"agent_id: no agent {agent_id} in this license")

    @staticmethod
    def _greeting_text(req: cf.CreateGreetingRequest | cf.UpdateGreetingRequest) -> None:
        """``text`` and LiveChat's ``properties["greeting-message_text"]`` name the same thing: not two values."""
        given = (req.properties or {}).get(greetings.TEXT_PROPERTY)
        if req.text is not None and given is not None and given.strip() != req.text.strip():
            raise ApiError("validation", f"text and properties.{greetings.TEXT_PROPERTY} differ")

    async def create_greeting(self, caller: AdminCaller, req: cf.CreateGreetingRequest) -> cf.CreateGreetingResponse:
        """A new automatic greeting (kept in the license configuration, ``core/greetings.py`` matches it). Written
        by compare-and-set: two greetings created at once both stay, with different ids."""
        await self._greeting_agent(caller, req.agent_id)
        self._greeting_text(req)
        fields = msgspec.structs.asdict(req)
        fields["text"] = req.text or ""

        def add(config: Any) -> int:
            if len(config.greetings) >= greetings.MAX_GREETINGS:
                raise ApiError("limit_reached", f"A license has at most {greetings.MAX_GREETINGS} greetings")
            gid = max((g.id for g in config.greetings), default=0) + 1
            template = greetings.check(GreetingTemplate(id=gid, **fields), config.groups)
            config.greetings.append(template)
            return gid
        return cf.CreateGreetingResponse(id=await self.store.update_license_config(caller.org, add))

    @staticmethod
    def _greeting(config: Any, gid: int) -> GreetingTemplate:
        template = next((g for g in config.greetings if g.id == gid), None)
        if template is None:
            raise ApiError("greeting_not_found", f"Greeting {gid} not found")
        return template

    @staticmethod
    def _greeting_view(template: GreetingTemplate) -> cf.GreetingView:
        fields = msgspec.structs.asdict(template)
        fields["properties"] = greetings.view_properties(template)
        return cf.GreetingView(**fields)

    async def get_greeting(self, caller: AdminCaller, req: cf.GreetingIdRequest) -> cf.GreetingView:
        view = self._greeting_view(self._greeting(await self.store.license_config(caller.org), req.id))
        clicks = await self.store.r.hget(keys.greeting_stats(caller.org), f"{req.id}:button_clicks")
        view.statistics = cf.GreetingStatistics(button_clicks=int(clicks or 0))
        return view

    async def list_greetings(self, caller: AdminCaller, req: cf.ListGreetingsRequest) -> cf.ListGreetingsResponse:
        """LiveChat 3.6's pages: the greetings of ``groups`` (all without), ``limit`` at a time in id order, with
        ``found_greetings`` (all that match) and a ``next_page_id`` while more follow. A page id is signed and
        carries the groups and the limit, so it is given alone."""
        if req.page_id is not None:
            if req.groups is not None or req.limit is not None or req.group is not None:
                raise ApiError("validation", "page_id cannot be given with groups or limit")
            page = self.signer.unsign("greetings", req.page_id, cf.GreetingsPage)
            if page is None:
                raise ApiError("validation", "page_id: not a page of list_greetings")
        else:
            groups = req.groups if req.groups is not None else ([req.group] if req.group is not None else None)
            page = cf.GreetingsPage(groups=groups, limit=req.limit or cf.GREETINGS_PAGE_MAX, after=0)
        config = await self.store.license_config(caller.org)
        wanted = None if page.groups is None else set(page.groups)
        found = sorted((g for g in config.greetings if wanted is None or g.group in wanted), key=lambda g: g.id)
        rest = [g for g in found if g.id > page.after]
        shown = rest[:page.limit]
        next_page = None
        if len(rest) > page.limit:
            next_page = self.signer.sign("greetings", cf.GreetingsPage(page.groups, page.limit, shown[-1].id))
        return cf.ListGreetingsResponse(greetings=[self._greeting_view(g) for g in shown], found_greetings=len(found),
                                        next_page_id=next_page)

    async def update_greeting(self, caller: AdminCaller, req: cf.UpdateGreetingRequest) -> c.Empty:
        await self._greeting_agent(caller, req.agent_id)
        self._greeting_text(req)
        changes = {k: v for k, v in msgspec.structs.asdict(req).items() if k != "id" and v is not None}

        def update(config: Any) -> None:
            updated = greetings.check(msgspec.structs.replace(self._greeting(config, req.id), **changes),
                                      config.groups)
            config.greetings = [updated if g.id == req.id else g for g in config.greetings]
        await self.store.update_license_config(caller.org, update)
        return _EMPTY

    async def delete_greeting(self, caller: AdminCaller, req: cf.GreetingIdRequest) -> c.Empty:
        def delete(config: Any) -> None:
            self._greeting(config, req.id)
            config.greetings = [g for g in config.greetings if g.id != req.id]
        await self.store.update_license_config(caller.org, delete)
        return _EMPTY

    # --- bots ----------------------------------------------------------------------------------------------------

    async def create_bot(self, caller: AdminCaller, req: cf.CreateBotRequest) -> cf.CreateBotResponse:
        secret = secrets.token_urlsafe(24)
        bot_id = await self._create_bot(caller, req, uuid_id().replace("-", ""),
                                        hashlib.sha256(secret.encode()).hexdigest())
        return cf.CreateBotResponse(id=bot_id, secret=secret)

    async def _create_bot(self, caller: AdminCaller, req: cf.CreateBotRequest, bot_id: str, secret_sha: str) -> str:
        """Make the bot ``bot_id`` whose secret hashes to ``secret_sha`` (a new bot, or a bot template's)."""
        groups = req.groups or ([cf.GroupPriority(id=0, priority=req.default_group_priority)]
                                if req.default_group_priority else [])
        await self._groups_exist(caller.org, groups)
        if not await self.store.r.set(keys.agent_account(bot_id), caller.org, nx=True):
            raise ApiError("already_exists", f"Bot {bot_id} already exists")
        bot = {"id": bot_id, "name": req.name, "role": "normal", "type": "bot", "max_chats_count": req.max_chats_count,
               "groups": msgspec.to_builtins(groups), "job_title": req.job_title, "avatar": req.avatar,
               "owner_client_id": req.owner_client_id, "default_group_priority": req.default_group_priority,
               "timezone": req.timezone or (req.work_scheduler.timezone if req.work_scheduler else None),
               "secret_sha": secret_sha, "created_at": now_rfc3339()}
        await self.store.save_agent(caller.org, bot)
        await self.router.mark_bot(caller.org, bot_id)
        await self._apply_membership(caller.org, bot, [])
        await self._set_rules(caller, bot, req.rules)
        await self._announce(caller.org, "bot_created", self._bot_state(bot))
        return bot_id

    async def _set_rules(self, caller: AdminCaller, bot: dict[str, Any], rules: cf.BotRules | None) -> None:
        """Rules make the bot the built-in rule bot: it then listens through internal webhooks."""
        if rules is None:
            return
        bot["rules"] = msgspec.to_builtins(rules)
        await self.store.save_agent(caller.org, bot)
        for hook in rulebot_webhooks(bot["id"]):
            await self.webhooks.register(caller.org, hook)

    async def update_bot(self, caller: AdminCaller, req: cf.UpdateBotRequest) -> c.Empty:
        bot = await self._agent(caller, req.id, "bot")
        previous = list(bot.get("groups", []))
        if req.groups is not None:
            await self._groups_exist(caller.org, req.groups)
            bot["groups"] = msgspec.to_builtins(req.groups)
        for field in ("name", "avatar", "max_chats_count", "job_title"):
            value = getattr(req, field)
            if value is not None:
                bot[field] = value
        await self.store.save_agent(caller.org, bot)
        await self._apply_membership(caller.org, bot, previous)
        await self._set_rules(caller, bot, req.rules)
        changed = {k: v for k, v in msgspec.to_builtins(req).items() if v is not None and k in cf.BOT_UPDATED_FIELDS}
        await self._announce(caller.org, "bot_updated", {"id": bot["id"], **changed})
        return _EMPTY

    async def list_bots(self, caller: AdminCaller, req: c.Empty) -> list[cf.AgentView]:
        agents = await self.store.agents(caller.org)
        return [self._view(a) for _, a in sorted(agents.items()) if a.get("type") == "bot"]

    async def get_bot(self, caller: AdminCaller, req: cf.BotIdRequest) -> cf.AgentView:
        return self._view(await self._agent(caller, req.id, "bot"))

    async def delete_bot(self, caller: AdminCaller, req: cf.BotIdRequest) -> c.Empty:
        await self._remove(caller.org, await self._agent(caller, req.id, "bot"))
        await self.router.mark_bot(caller.org, req.id, False)
        for hook in rulebot_webhooks(req.id):
            await self.webhooks.unregister(caller.org, hook.id)
        await self._announce(caller.org, "bot_deleted", cf.IdPayload(req.id))
        return _EMPTY

    async def issue_bot_token(self, caller: AdminCaller, req: cf.IssueBotTokenRequest) -> cf.IssueBotTokenResponse:
        if req.organization_id != caller.org:
            raise ApiError("authorization", "organization_id is not the caller's license")
        bot = await self._agent(caller, req.bot_id, "bot")
        if not secrets.compare_digest(bot.get("secret_sha", ""), hashlib.sha256(req.bot_secret.encode()).hexdigest()):
            raise ApiError("authorization", "Wrong bot secret")
        token = self.signer.sign("bot", BotToken(org=caller.org, bot=req.bot_id, exp=int(time.time()) + BOT_TOKEN_TTL))
        return cf.IssueBotTokenResponse(token=token)

    # --- webhooks ------------------------------------------------------------------------------------------------

    async def register_webhook(self, caller: AdminCaller, req: cf.RegisterWebhookRequest) -> cf.RegisterWebhookResponse:
        if req.action not in cf.WEBHOOK_ACTIONS:
            raise ApiError("validation", f"action: {req.action[:64]} cannot trigger a webhook")
        # names are checked on their resolved address at every delivery; this only catches the obvious early
        refused = self.webhooks.targets.registration_error(req.url)
        if refused:
            raise ApiError("validation", refused)
        same = [w for w in await self.webhooks.all(caller.org)
                if w.action == req.action and w.owner_client_id == req.owner_client_id]
        if len(same) >= 3:
            raise ApiError("limit_reached", "At most 3 webhooks per action and client")
        webhook = cf.Webhook(id=uuid_id().replace("-", ""), **msgspec.structs.asdict(req))
        await self.webhooks.register(caller.org, webhook)
        return cf.RegisterWebhookResponse(id=webhook.id)

    async def list_webhooks(self, caller: AdminCaller, req: cf.ListWebhooksRequest) -> list[cf.ListedWebhook]:
        hooks = await self.webhooks.all(caller.org)
        return [cf.ListedWebhook(**msgspec.structs.asdict(w)) for w in hooks
                if req.owner_client_id is None or w.owner_client_id == req.owner_client_id]

    async def unregister_webhook(self, caller: AdminCaller, req: cf.UnregisterWebhookRequest) -> c.Empty:
        if not await self.webhooks.unregister(caller.org, req.id):
            raise ApiError("not_found", f"Webhook {req.id} not found")
        return _EMPTY

    async def list_webhook_deliveries(self, caller: AdminCaller,
                                      req: cf.WebhookDeliveryLogRequest) -> list[cf.WebhookDelivery]:
        if await self.webhooks.get(caller.org, req.id) is None:
            raise ApiError("not_found", f"Webhook {req.id} not found")
        return await self.webhooks.deliveries(caller.org, req.id)

    # --- tickets (this server's actions) ---------------------------------------------------------------------------

    async def get_ticket_settings(self, caller: AdminCaller, req: c.Empty) -> tk.TicketSettings:
        """The license's ticket settings as saved ("" / null: the defaults, the owner's address and
        ``WIDGET_QUEUE_TIMEOUT_SECONDS``)."""
        return (await self.store.license_config(caller.org)).tickets

    async def update_ticket_settings(self, caller: AdminCaller, req: tk.UpdateTicketSettingsRequest) -> c.Empty:
        """Replace the license's ticket settings (the address is checked as one e-mail address)."""
        if req.settings.notification_email:
            try:
                parse_address(req.settings.notification_email)
            except MailError as exc:
                raise ApiError("validation", f"settings.notification_email: {exc}") from None
        config = await self.store.license_config(caller.org)
        config.tickets = req.settings
        await self.store.set_license_config(caller.org, config)
        return _EMPTY

    # --- license properties --------------------------------------------------------------------------------------

    async def update_license_properties(self, caller: AdminCaller, req: cf.LicensePropertiesRequest) -> c.Empty:
        """Properties are free-form, except the ``widget`` namespace's forms, which the widget and ``get_form``
        read: ``prechat_form``, ``postchat_form`` and ``ticket_form`` (the offline form) take
        ``{"enabled": bool, "form": {"id", "fields": [...]}}``, and ``appearance`` takes the widget's look
        (``protocol.config.Appearance``); they are validated as such. So are the ``chats`` namespace's inactivity
        timeouts (``core/inactivity.py``): ``transfer_chat_after_min``, ``chat_inactive_after_min`` and
        ``archive_chat_after_min``, minutes from 0 (off) to a week."""
        def update(config: Any) -> Any:
            # by compare-and-set: a property registered or a group added meanwhile is not written over
            check_values(config, "license", None, req.properties)  # registered properties (core/properties.py)
            for ns, values in req.properties.items():
                for name, value in values.items():
                    if ns == WIDGET_NAMESPACE and name == "appearance":
                        try:
                            config.appearance = msgspec.convert(value, Appearance)
                        except msgspec.ValidationError as exc:
                            raise ApiError("validation", f"properties.widget.appearance: {exc}") from None
                    elif ns == WIDGET_NAMESPACE and name in FORM_PROPERTIES:
                        try:
                            setting = msgspec.convert(value, FormSetting)
                        except msgspec.ValidationError as exc:
                            raise ApiError("validation", f"properties.widget.{name}: {exc}") from None
                        setattr(config, FORM_PROPERTIES[name], setting)
                    else:
                        if ns == timeouts.LICENSE_NAMESPACE and name in timeouts.TIMEOUT_PROPERTIES:
                            timeouts.check_timeout_property(name, value)
                        config.license_properties.setdefault(ns, {})[name] = value
            check_size(config.license_properties, "license properties")
            return config

        config = await self.store.update_license_config(caller.org, update)
        await self.announce_license_properties(caller.org, req.properties)
        if any(name in timeouts.TIMEOUT_PROPERTIES for name in req.properties.get(timeouts.LICENSE_NAMESPACE, {})):
            await self._look_again(caller.org, config)
        return _EMPTY

    async def _look_again(self, org: str, config: Any) -> None:
        """The license's inactivity timeouts changed: its agents' and queues' chats are looked at now (each look
        schedules the next by the new timeouts), not at the times the old ones set."""
        chat_ids: set[str] = set()
        for agent_id in await self.store.agents(org):
            chat_ids.update(await self.router.chats_of(org, agent_id))
        for group in config.groups:
            chat_ids.update(chat_id for chat_id, _ in await self.router.queue(org, group.id))
        now_ms = int(time.time() * 1000)
        for chat_id in sorted(chat_ids):
            await self.store.watch_inactivity(chat_id, now_ms)

    async def set_inactivity_timeouts(self, caller: AdminCaller, minutes: dict[str, float | None]) -> None:
        """The wizard's save of the ``chats`` namespace's inactivity timeouts (``core/timeouts.py``): a number sets
        one (checked as ``update_license_properties`` checks it), None removes it (the server's default applies)."""
        for name, value in minutes.items():
            if name not in timeouts.TIMEOUT_PROPERTIES:
                raise ApiError("validation", f"{name}: not an inactivity timeout")
            if value is not None:
                timeouts.check_timeout_property(name, value)
        config = await self.store.license_config(caller.org)
        chats = config.license_properties.setdefault(timeouts.LICENSE_NAMESPACE, {})
        for name, value in minutes.items():
            if value is None:
                chats.pop(name, None)
            else:
                chats[name] = value
        if not chats:
            del config.license_properties[timeouts.LICENSE_NAMESPACE]
        await self.store.set_license_config(caller.org, config)
        await self._look_again(caller.org, config)

    async def list_license_properties(self, caller: AdminCaller,
                                      req: cf.ListLicensePropertiesRequest) -> dict[str, dict[str, Any]]:
        config = await self.store.license_config(caller.org)
        props = with_defaults(config, "license", config.license_properties)  # (registered properties' defaults)
        props.setdefault(WIDGET_NAMESPACE, {})["appearance"] = msgspec.to_builtins(config.appearance)
        for name, attr in FORM_PROPERTIES.items():
            if getattr(config, attr) is not None:
                props.setdefault(WIDGET_NAMESPACE, {})[name] = msgspec.to_builtins(getattr(config, attr))
        return {ns: {k: v for k, v in values.items() if not req.name_prefix or k.startswith(req.name_prefix)}
                for ns, values in props.items() if req.namespace is None or ns == req.namespace}
