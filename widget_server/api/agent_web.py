"""Agent Web API: ``POST /v3.x/agent/action/<action>`` with a personal access token (Bearer or Basic)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.params import FromPath

from ..core.agents import ADMIN_ROLES, AgentCaller
from ..protocol.errors import ApiError
from .auth import authenticate_agent
from .customer_web import api_version, base_url, json_response, read_action
from .dispatch import AGENT, decode, dispatch
from .state import AppState


@post(["/v3.6/agent/action/{action:str}", "/v3.5/agent/action/{action:str}"], status_code=200,
      summary="Agent Chat API action (Web)")
async def agent_action(request: Request[Any, Any, Any], action: FromPath[str]) -> Response[bytes]:
    state: AppState = request.app.state.ws
    spec, body = await read_action(request, state, AGENT, action)
    org, agent = await authenticate_agent(state, request.headers.get("authorization"))
    author = request.headers.get("x-author-id")
    if author and author != agent["id"]:
        # LiveChat's older way for a bot to act: an owner's or administrator's token plus X-Author-Id: <bot id>
        bot = (await state.store.agents(org, [author])).get(author)
        if agent.get("role") not in ADMIN_ROLES or bot is None or bot.get("type") != "bot":
            raise ApiError("authorization", "X-Author-Id must name a bot, and only administrators may use it")
        agent = bot
    caller = AgentCaller(org=org, agent_id=agent["id"], role=agent.get("role", "normal"),
                         version=api_version(request.url.path), transport="web",  # type: ignore[arg-type]
                         base_url=base_url(request, state))
    result = await dispatch(state.agent_core, caller, spec, decode(spec, body))
    return json_response(result)
