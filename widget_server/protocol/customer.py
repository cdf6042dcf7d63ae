"""Requests and responses of the Customer Chat API actions (3.6 shapes; 3.5 differs only where noted)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from .chats import Chat, ChatSummary, Thread
from .common import Access, ChatId, EventId, GroupId, Properties, PropertyNames, SortOrder, ThreadId
from .events import ClientEvent
from .users import Address, Email, Name, SessionFields, Statistics, Url


class Empty(msgspec.Struct):
    """No parameters / no response payload: ``{}``."""


# --- session ---------------------------------------------------------------------------------------------------


class LoginCustomer(msgspec.Struct, omit_defaults=True):
    name: Name | None = None
    email: Email | None = None
    avatar: Url | None = None
    session_fields: SessionFields | None = None
    address: Address | None = None


class CustomerPage(msgspec.Struct, omit_defaults=True):
    url: Url
    title: Annotated[str, msgspec.Meta(max_length=1024)] | None = None


class Application(msgspec.Struct, omit_defaults=True):
    name: str | None = None
    version: str | None = None
    channel_type: str | None = None


class LoginRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
    customer: LoginCustomer | None = None
    customer_page: CustomerPage | None = None
    customer_side_storage: dict[str, Any] | None = None
    is_mobile: bool | None = None
    group_id: GroupId | None = None
    referrer: Url | None = None
    application: Application | None = None
    pushes: dict[str, list[str]] | None = None
    tab_id: str | None = None


class LoginCustomerInfo(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    name: str | None = None
    email: str | None = None
    avatar: str | None = None
    session_fields: list[dict[str, str]] = msgspec.field(default_factory=list)
    statistics: Statistics = msgspec.field(default_factory=Statistics)


class LoginChat(msgspec.Struct):
    chat_id: str
    has_unread_events: bool


class MonitoringGroup(msgspec.Struct):
    id: int
    static_config_url: str
    language_config_url: str


class CustomerGroups(msgspec.Struct):
    monitoring: MonitoringGroup


class PrivDynamicConfig(msgspec.Struct):
    online_groups_ids: list[int]
    customer_groups: CustomerGroups


class LoginResponse(msgspec.Struct, kw_only=True, omit_defaults=True):
    customer: LoginCustomerInfo
    has_active_thread: bool
    chats: list[LoginChat]
    priv_dynamic_config: PrivDynamicConfig = msgspec.field(name="__priv_dynamic_config")
    greeting: dict[str, Any] | None = None


# --- chats -----------------------------------------------------------------------------------------------------


class InitialThread(msgspec.Struct, omit_defaults=True):
    events: Annotated[list[ClientEvent], msgspec.Meta(max_length=50)] = msgspec.field(default_factory=list)
    properties: Properties | None = None


class InitialChat(msgspec.Struct, omit_defaults=True):
    properties: Properties | None = None
    access: Access | None = None
    thread: InitialThread | None = None


class StartChatRequest(msgspec.Struct, omit_defaults=True):
    chat: InitialChat | None = None
    active: bool = True
    continuous: bool = False


class StartChatResponse(msgspec.Struct, omit_defaults=True):
    chat_id: str
    thread_id: str
    event_ids: list[str] | None = None


class ResumeChatSpec(msgspec.Struct, omit_defaults=True):
    id: ChatId
    access: Access | None = None
    properties: Properties | None = None
    thread: InitialThread | None = None


class ResumeChatRequest(msgspec.Struct, omit_defaults=True):
    chat: ResumeChatSpec
    active: bool = True
    continuous: bool | None = None


class ResumeChatResponse(msgspec.Struct, omit_defaults=True):
    thread_id: str
    event_ids: list[str] | None = None


class DeactivateChatRequest(msgspec.Struct):
    id: ChatId


class ListChatsRequest(msgspec.Struct, omit_defaults=True):
    limit: Annotated[int, msgspec.Meta(ge=1, le=25)] | None = None
    sort_order: SortOrder | None = None
    page_id: Annotated[str, msgspec.Meta(max_length=2048)] | None = None


class ListChatsResponse(msgspec.Struct, omit_defaults=True):
    chats_summary: list[ChatSummary]
    total_chats: int
    next_page_id: str | None = None
    previous_page_id: str | None = None


class GetChatRequest(msgspec.Struct, omit_defaults=True):
    chat_id: ChatId
    thread_id: ThreadId | None = None


GetChatResponse = Chat


class ListThreadsRequest(msgspec.Struct, omit_defaults=True):
    chat_id: ChatId
    sort_order: SortOrder | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] | None = None
    min_events_count: Annotated[int, msgspec.Meta(ge=1, le=100)] | None = None
    page_id: Annotated[str, msgspec.Meta(max_length=2048)] | None = None


class ListThreadsResponse(msgspec.Struct, omit_defaults=True):
    threads: list[Thread]
    found_threads: int
    next_page_id: str | None = None
    previous_page_id: str | None = None


# --- events ----------------------------------------------------------------------------------------------------


class SendEventRequest(msgspec.Struct, omit_defaults=True):
    chat_id: ChatId
    event: ClientEvent
    attach_to_last_thread: bool = False


class SendEventResponse(msgspec.Struct):
    event_id: str


class PostbackSpec(msgspec.Struct, omit_defaults=True):
    id: Annotated[str, msgspec.Meta(max_length=256)]
    toggled: bool
    button_type: str | None = None
    button_value: str | None = None
    ecommerce: dict[str, Any] | None = None


class SendRichMessagePostbackRequest(msgspec.Struct):
    chat_id: ChatId
    thread_id: ThreadId
    event_id: EventId
    postback: PostbackSpec


class SendSneakPeekRequest(msgspec.Struct):
    chat_id: ChatId
    sneak_peek_text: Annotated[str, msgspec.Meta(max_length=16384)]


class MarkEventsAsSeenRequest(msgspec.Struct):
    chat_id: ChatId
    seen_up_to: Annotated[str, msgspec.Meta(max_length=64)]


class UploadFileResponse(msgspec.Struct):
    url: str


# --- properties ------------------------------------------------------------------------------------------------


class UpdateChatPropertiesRequest(msgspec.Struct):
    id: ChatId
    properties: Properties


class DeleteChatPropertiesRequest(msgspec.Struct):
    id: ChatId
    properties: PropertyNames


class UpdateThreadPropertiesRequest(msgspec.Struct):
    chat_id: ChatId
    thread_id: ThreadId
    properties: Properties


class DeleteThreadPropertiesRequest(msgspec.Struct):
    chat_id: ChatId
    thread_id: ThreadId
    properties: PropertyNames


class UpdateEventPropertiesRequest(msgspec.Struct):
    chat_id: ChatId
    thread_id: ThreadId
    event_id: EventId
    properties: Properties


class DeleteEventPropertiesRequest(msgspec.Struct):
    chat_id: ChatId
    thread_id: ThreadId
    event_id: EventId
    properties: PropertyNames


# --- customer --------------------------------------------------------------------------------------------------


class UpdateCustomerRequest(msgspec.Struct, omit_defaults=True):
    name: Name | None = None
    email: Email | None = None
    avatar: Url | None = None
    session_fields: SessionFields | None = None
    address: Address | None = None
    phone_number: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    name_is_default: bool | None = None
    omnichannel: dict[str, Any] | None = None


class SetCustomerSessionFieldsRequest(msgspec.Struct):
    session_fields: SessionFields


class UpdateCustomerPageRequest(msgspec.Struct, omit_defaults=True):
    url: Url
    title: Annotated[str, msgspec.Meta(max_length=1024)] | None = None


class GroupStatusItem(msgspec.Struct):
    id: int
    status: Literal["online", "online_for_queue", "offline"]


class UpdateCustomerPageResponse(msgspec.Struct, omit_defaults=True):
    groups: list[GroupStatusItem] | None = None


# --- groups, forms, goals --------------------------------------------------------------------------------------


class ListGroupStatusesRequest(msgspec.Struct, omit_defaults=True):
    all: bool | None = None
    group_ids: Annotated[list[GroupId], msgspec.Meta(max_length=200)] | None = None


class ListGroupStatusesResponse(msgspec.Struct):
    groups_status: dict[str, Literal["online", "online_for_queue", "offline"]]


class GetFormRequest(msgspec.Struct):
    group_id: GroupId
    type: Literal["prechat", "postchat", "ticket", "offline"]
    """LiveChat's ``prechat`` and ``postchat``; this server also answers ``ticket`` (or ``offline``): the form the
    widget shows while the group is offline, which LiveChat only serves in ``get_configuration``'s ``ticket_form``."""


class FormFieldSpec(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A field of a form definition (pre-chat, post-chat, ticket)."""

    id: str
    type: Literal[
        "header", "name", "email", "question", "textarea", "radio", "select", "checkbox", "group_chooser", "rating"
    ]
    label: str = ""
    required: bool = False
    options: list[dict[str, Any]] | None = None


class Form(msgspec.Struct):
    id: str
    fields: list[FormFieldSpec]


class GetFormResponse(msgspec.Struct, omit_defaults=True):
    enabled: bool
    form: Form | None = None


class CheckGoalsRequest(msgspec.Struct, omit_defaults=True):
    session_fields: SessionFields | None = None
    group_id: GroupId | None = None
    page_url: Url | None = None


# --- greetings and the welcome message ---------------------------------------------------------------------------

GreetingUniqueId = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class AcceptGreetingRequest(msgspec.Struct):
    greeting_id: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]
    unique_id: GreetingUniqueId


class CancelGreetingRequest(msgspec.Struct):
    unique_id: GreetingUniqueId


class RequestWelcomeMessageRequest(msgspec.Struct, omit_defaults=True):
    id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    group_id: GroupId | None = None


class PredictedAgent(msgspec.Struct, kw_only=True):
    """Every field always sent, as LiveChat's samples show them (``is_bot``, ``job_title``, ``type`` included)."""

    id: str
    name: str
    avatar: str = ""
    is_bot: bool = False
    job_title: str = ""
    type: str = "agent"


class RequestWelcomeMessageResponse(msgspec.Struct, omit_defaults=True):
    id: str
    queue: bool
    predicted_agent: PredictedAgent | None = None


# --- v3.6 breadth: deleting events, link previews, e-mail verification, greeting buttons, properties, prediction -

class DeleteEventRequest(msgspec.Struct):
    """``delete_event`` (3.6): the customer's own event leaves every Customer Chat API answer."""

    chat_id: ChatId
    thread_id: ThreadId
    event_id: EventId


class GetUrlInfoRequest(msgspec.Struct):
    url: Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]


class UrlInfo(msgspec.Struct, kw_only=True, omit_defaults=True):
    """``get_url_info``: what a link preview shows (the page's ``og:*`` meta, else its title and description).
    ``image_url`` is the original image's URL: this server runs no image CDN."""

    url: str
    title: str | None = None
    description: str | None = None
    image_url: str | None = None
    image_original_url: str | None = None
    image_width: int | None = None
    image_height: int | None = None


class RequestEmailVerificationRequest(msgspec.Struct):
    callback_uri: Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]


class SendGreetingButtonClickedRequest(msgspec.Struct):
    greeting_unique_id: GreetingUniqueId
    button_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


PropertyName = Annotated[str, msgspec.Meta(max_length=256)]


class ListLicensePropertiesRequest(msgspec.Struct, omit_defaults=True):
    """``list_license_properties`` (GET query string; no token)."""

    namespace: PropertyName | None = None
    name: PropertyName | None = None


class ListGroupPropertiesRequest(msgspec.Struct, omit_defaults=True):
    """``list_group_properties`` (GET query string; no token). 3.2 named the group ``group_id``."""

    id: GroupId | None = None
    group_id: GroupId | None = None
    namespace: PropertyName | None = None
    name: PropertyName | None = None


class GetPredictedAgentResponse(msgspec.Struct, omit_defaults=True):
    """``get_predicted_agent`` (3.1–3.6): the agent routing would pick now, and whether the chat would queue."""

    queue: bool
    agent: PredictedAgent | None = None
