"""Agent Web API: ``POST /v3.x/agent/action/<action>`` with a personal access token (Bearer or Basic)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath

from ..auth.access import Access
from ..core.agents import AgentCaller, AgentCore
from ..core.interface import UploadedFile
from ..protocol.errors import ApiError
from ..services import Injected
from ..settings import Settings
from ..web.client import address_of
from ..web.request import api_version, base_url
from ..web.responses import json_response
from .customer_web import read_action
from .dispatch import AGENT, decode, dispatch


@post(["/v3.6/agent/action/{action:str}", "/v3.5/agent/action/{action:str}"], status_code=200,
      summary="Agent Chat API action (Web)")
async def agent_action(request: Request[Any, Any, Any], action: FromPath[str], settings: Injected[Settings],
                       access: Injected[Access], agents: Injected[AgentCore]) -> Response[bytes]:
    if action == "upload_file":
        return await _upload(request, settings, access, agents)
    spec, body = await read_action(request, settings, AGENT, action)
    org, agent = await access.agent(request.headers.get("authorization"))
    agent = await access.acting_agent(org, agent, request.headers.get("x-author-id"))
    caller = AgentCaller(org=org, agent_id=agent["id"], role=agent.get("role", "normal"),
                         version=api_version(request.url.path), transport="web",  # type: ignore[arg-type]
                         base_url=base_url(request, settings.public_url))
    result = await dispatch(agents, caller, spec, decode(spec, body, settings))
    return json_response(result)


async def _upload(request: Request[Any, Any, Any], settings: Settings, access: Access,
                  agents: AgentCore) -> Response[bytes]:
    """``upload_file`` (multipart, field ``file``), as the customer's: the agent's token, then the file."""
    try:
        org, agent = await access.agent(request.headers.get("authorization"))
        agent = await access.acting_agent(org, agent, request.headers.get("x-author-id"))
    except ApiError:
        await request.body()  # (read before answering, as customer_web._upload: granian drops the connection else)
        raise
    caller = AgentCaller(org=org, agent_id=agent["id"], role=agent.get("role", "normal"),
                         version=api_version(request.url.path), transport="web",  # type: ignore[arg-type]
                         base_url=base_url(request, settings.public_url))
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        raise ApiError("validation", "upload_file expects multipart/form-data with a `file` field")
    try:
        form = await request.form()
    except UnicodeDecodeError:
        raise ApiError("validation", "multipart form fields must be UTF-8") from None
    item = form.get("file")
    if not isinstance(item, UploadFile):
        raise ApiError("validation", "file: a file field is required")
    data = await item.read()
    await item.close()
    uploaded = UploadedFile(name=item.filename or "file", content_type=item.content_type or "", data=data)
    return json_response(await agents.upload_file(caller, uploaded, address_of(request, settings.trusted_proxy_headers)))
