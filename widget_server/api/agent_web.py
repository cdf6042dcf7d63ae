"""Agent Web API: ``POST /v3.x/agent/action/<action>`` with a personal access token (Bearer or Basic)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.params import FromPath

from ..auth.access import Access
from ..core.agents import AgentCaller, AgentCore
from ..services import Injected
from ..settings import Settings
from ..web.request import api_version, base_url
from ..web.responses import json_response
from .customer_web import read_action
from .dispatch import AGENT, decode, dispatch


@post(["/v3.6/agent/action/{action:str}", "/v3.5/agent/action/{action:str}"], status_code=200,
      summary="Agent Chat API action (Web)")
async def agent_action(request: Request[Any, Any, Any], action: FromPath[str], settings: Injected[Settings],
                       access: Injected[Access], agents: Injected[AgentCore]) -> Response[bytes]:
    spec, body = await read_action(request, settings, AGENT, action)
    org, agent = await access.agent(request.headers.get("authorization"))
    agent = await access.acting_agent(org, agent, request.headers.get("x-author-id"))
    caller = AgentCaller(org=org, agent_id=agent["id"], role=agent.get("role", "normal"),
                         version=api_version(request.url.path), transport="web",  # type: ignore[arg-type]
                         base_url=base_url(request, settings.public_url))
    result = await dispatch(agents, caller, spec, decode(spec, body, settings))
    return json_response(result)
