"""The ChatCore interface: everything the Customer Chat API dispatcher may ask of a chat backend.

``LocalCore`` implements it on Valkey; ``UpstreamCore`` (``upstream/``) implements it by forwarding the same
requests to another Customer Chat API server. Each method takes the caller and the action's decoded request Struct and
returns the response Struct (or raises ``ApiError``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import msgspec

from ..protocol import config as cfg
from ..protocol import customer as c
from ..protocol.frames import RequestId
from ..protocol.users import Customer
from ..tracking import ClientInfo

Version = Literal["3.5", "3.6"]


@dataclass(slots=True)
class Caller:
    """Who is asking, and through what: built by the transport for each request."""

    org: str
    customer_id: str
    version: Version
    transport: Literal["web", "rtm"]
    base_url: str
    conn_id: str | None = None
    request_id: RequestId = None
    group_id: int = 0
    client: ClientInfo | None = None
    """The customer's IP, user agent and location (``web/client.py``) when the transport knows them: the tracker
    keeps them with a visit that starts."""
    credential: str | None = None
    """The access token as the customer sent it, for a core that passes it on (``UpstreamCore``)."""
    origin: str | None = None
    """The request's ``Origin`` header, for a core that passes it on."""

    @property
    def user_id(self) -> str:
        return self.customer_id


class UploadedFile(msgspec.Struct):
    name: str
    content_type: str
    data: bytes


class ChatCore(Protocol):
    forwards_callers: bool
    """True for a core that passes the customer's credential on and lets another server decide on it
    (``UpstreamCore``): the transports then check no token, license, origin or ban themselves."""

    # session
    async def login(self, caller: Caller, req: c.LoginRequest) -> c.LoginResponse: ...
    async def list_group_statuses(self, caller: Caller, req: c.ListGroupStatusesRequest) -> c.ListGroupStatusesResponse: ...

    # chats
    async def start_chat(self, caller: Caller, req: c.StartChatRequest) -> c.StartChatResponse: ...
    async def resume_chat(self, caller: Caller, req: c.ResumeChatRequest) -> c.ResumeChatResponse: ...
    async def deactivate_chat(self, caller: Caller, req: c.DeactivateChatRequest) -> c.Empty: ...
    async def list_chats(self, caller: Caller, req: c.ListChatsRequest) -> c.ListChatsResponse: ...
    async def get_chat(self, caller: Caller, req: c.GetChatRequest) -> c.GetChatResponse: ...
    async def list_threads(self, caller: Caller, req: c.ListThreadsRequest) -> c.ListThreadsResponse: ...

    # events
    async def send_event(self, caller: Caller, req: c.SendEventRequest) -> c.SendEventResponse: ...
    async def send_rich_message_postback(self, caller: Caller, req: c.SendRichMessagePostbackRequest) -> c.Empty: ...
    async def send_sneak_peek(self, caller: Caller, req: c.SendSneakPeekRequest) -> c.Empty: ...
    async def mark_events_as_seen(self, caller: Caller, req: c.MarkEventsAsSeenRequest) -> c.Empty: ...
    async def upload_file(self, caller: Caller, file: UploadedFile) -> c.UploadFileResponse: ...

    # properties
    async def update_chat_properties(self, caller: Caller, req: c.UpdateChatPropertiesRequest) -> c.Empty: ...
    async def delete_chat_properties(self, caller: Caller, req: c.DeleteChatPropertiesRequest) -> c.Empty: ...
    async def update_thread_properties(self, caller: Caller, req: c.UpdateThreadPropertiesRequest) -> c.Empty: ...
    async def delete_thread_properties(self, caller: Caller, req: c.DeleteThreadPropertiesRequest) -> c.Empty: ...
    async def update_event_properties(self, caller: Caller, req: c.UpdateEventPropertiesRequest) -> c.Empty: ...
    async def delete_event_properties(self, caller: Caller, req: c.DeleteEventPropertiesRequest) -> c.Empty: ...

    # customer
    async def get_customer(self, caller: Caller, req: c.Empty) -> Customer: ...
    async def update_customer(self, caller: Caller, req: c.UpdateCustomerRequest) -> c.Empty: ...
    async def set_customer_session_fields(self, caller: Caller, req: c.SetCustomerSessionFieldsRequest) -> c.Empty: ...
    async def update_customer_page(self, caller: Caller, req: c.UpdateCustomerPageRequest) -> c.UpdateCustomerPageResponse: ...
    async def activate_customer_page(self, caller: Caller, req: c.Empty) -> c.Empty: ...
    async def deactivate_customer_page(self, caller: Caller, req: c.Empty) -> c.Empty: ...

    # configuration (no token)
    async def get_form(self, caller: Caller, req: c.GetFormRequest) -> c.GetFormResponse: ...
    async def check_goals(self, caller: Caller, req: c.CheckGoalsRequest) -> c.Empty: ...
    async def get_dynamic_configuration(
        self, caller: Caller, req: cfg.DynamicConfigRequest
    ) -> cfg.DynamicConfig36 | cfg.DynamicConfig35: ...
    async def get_configuration(self, caller: Caller, req: cfg.ConfigurationRequest) -> cfg.Configuration: ...
    async def get_localization(self, caller: Caller, req: cfg.LocalizationRequest) -> dict[str, str]: ...
