"""Configuration API: ``POST /v3.6/configuration/action/<action>`` with an owner's or administrator's token."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.params import FromPath

from ..core.agents import ADMIN_ROLES
from ..core.configuration import AdminCaller
from ..protocol.errors import ApiError
from .auth import authenticate_agent
from .customer_web import json_response, read_action
from .dispatch import CONFIGURATION, decode, dispatch
from .state import AppState


@post(["/v3.6/configuration/action/{action:str}", "/v3.5/configuration/action/{action:str}"], status_code=200,
      summary="Configuration API action")
async def configuration_action(request: Request[Any, Any, Any], action: FromPath[str]) -> Response[bytes]:
    state: AppState = request.app.state.ws
    spec, body = await read_action(request, state, CONFIGURATION, action)
    org, agent = await authenticate_agent(state, request.headers.get("authorization"))
    if agent.get("role") not in ADMIN_ROLES:
        raise ApiError("authorization", "The Configuration API needs an owner's or an administrator's token")
    caller = AdminCaller(org=org, agent_id=agent["id"], role=agent["role"])
    result = await dispatch(state.configuration, caller, spec, decode(spec, body))
    return json_response(result)
