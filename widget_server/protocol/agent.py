"""Requests and responses of the Agent Chat API subset (3.6 shapes) and the pushes only agents receive."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from .chats import ChatSummary, Queue, Thread
from .common import Access, ChatId, GroupId, Properties, SortOrder, ThreadId
from .customer import InitialChat, InitialThread
from .events import Event
from .users import Customer, Statistics

AgentId = Annotated[str, msgspec.Meta(min_length=1, max_length=254)]
RoutingStatus = Literal["accepting_chats", "not_accepting_chats", "offline"]
PageId = Annotated[str, msgspec.Meta(max_length=2048)]


class AgentLoginRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
    timezone: str | None = None
    reconnect: bool | None = None
    application: dict[str, Any] | None = None
    away: bool | None = None
    customer_monitoring_level: str | None = None
    pushes: dict[str, list[str]] | None = None
    push_notifications: dict[str, Any] | None = None


class LicenseInfo(msgspec.Struct):
    id: str
    organization_id: str
    plan: str
    creation_timestamp: int
    expiration_timestamp: int
    in_trial: bool


class MyProfile(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    name: str
    email: str
    role: str
    type: Literal["agent", "bot"] = "agent"
    avatar: str | None = None
    job_title: str | None = None
    routing_status: RoutingStatus = "not_accepting_chats"
    max_chats_count: int = 6
    groups: list[dict[str, Any]] = msgspec.field(default_factory=list)


class AgentLoginResponse(msgspec.Struct):
    license: LicenseInfo
    my_profile: MyProfile
    chats_summary: list[ChatSummary]


class ChatFilters(msgspec.Struct, omit_defaults=True):
    active: bool | None = None
    include_chats_without_threads: bool | None = None
    group_ids: Annotated[list[GroupId], msgspec.Meta(max_length=200)] | None = None
    properties: dict[str, Any] | None = None


class AgentListChatsRequest(msgspec.Struct, omit_defaults=True):
    filters: ChatFilters | None = None
    sort_order: SortOrder | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] | None = None
    page_id: PageId | None = None


class AgentListChatsResponse(msgspec.Struct, omit_defaults=True):
    chats_summary: list[ChatSummary]
    found_chats: int
    next_page_id: str | None = None
    previous_page_id: str | None = None


IndexValue = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class ValuesFilter(msgspec.Struct, omit_defaults=True):
    """LiveChat's archive ``<filter_type>``: ``values`` (any of them; every one with ``require_every_value``),
    ``exclude_values`` (none of them; with ``require_every_value``, not all of them) or ``exists``."""

    values: Annotated[list[IndexValue], msgspec.Meta(max_length=200)] | None = None
    exclude_values: Annotated[list[IndexValue], msgspec.Meta(max_length=200)] | None = None
    exists: bool | None = None
    require_every_value: bool | None = None


AgentType = Literal["human", "chatbot", "ai_agent"]


class AgentTypesFilter(msgspec.Struct, omit_defaults=True):
    all_values: Annotated[list[AgentType], msgspec.Meta(max_length=3)] | None = None
    any_values: Annotated[list[AgentType], msgspec.Meta(max_length=3)] | None = None
    exclude_values: Annotated[list[AgentType], msgspec.Meta(max_length=3)] | None = None


class ArchiveFilters(msgspec.Struct, omit_defaults=True):
    query: Annotated[str, msgspec.Meta(max_length=512)] | None = None
    agent_ids: Annotated[list[AgentId], msgspec.Meta(max_length=200)] | None = None
    """This server's older spelling of ``agents.values``."""
    group_ids: Annotated[list[GroupId], msgspec.Meta(max_length=200)] | None = None
    customer_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    customer_email: Annotated[str, msgspec.Meta(max_length=254)] | None = None
    chat_ids: Annotated[list[ChatId], msgspec.Meta(max_length=1000)] | None = None
    agents: ValuesFilter | None = None
    tags: ValuesFilter | None = None
    event_types: ValuesFilter | None = None
    agent_types: AgentTypesFilter | None = None
    from_: str | None = msgspec.field(default=None, name="from")
    to: str | None = None
    # LiveChat filters this server keeps no index for: refused with a validation error rather than ignored
    thread_ids: Any = None
    properties: Any = None
    sales: Any = None
    goals: Any = None
    forms: Any = None
    greetings: Any = None
    agent_response: Any = None
    customer_countries: Any = None


class ListArchivesRequest(msgspec.Struct, omit_defaults=True):
    filters: ArchiveFilters | None = None
    sort_order: SortOrder | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] | None = None
    page_id: PageId | None = None
    highlights: dict[str, Any] | None = None


class ArchivedChat(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    thread: Thread
    users: list[Any]
    access: Access
    properties: Properties
    is_followed: bool
    """Whether the requester follows the chat (``follow_chat``); always sent, as LiveChat's 3.6 sample shows."""


class ListArchivesResponse(msgspec.Struct, omit_defaults=True):
    chats: list[ArchivedChat]
    found_chats: int
    next_page_id: str | None = None
    previous_page_id: str | None = None


class ChatUserRef(msgspec.Struct):
    id: AgentId
    type: Literal["agent", "customer"]


class AgentInitialChat(InitialChat, omit_defaults=True):
    users: Annotated[list[ChatUserRef], msgspec.Meta(max_length=5)] | None = None


class AgentStartChatRequest(msgspec.Struct, omit_defaults=True):
    chat: AgentInitialChat | None = None
    active: bool = True
    continuous: bool = False


class AgentResumeChatSpec(msgspec.Struct, omit_defaults=True):
    id: ChatId
    access: Access | None = None
    properties: Properties | None = None
    thread: InitialThread | None = None
    users: list[ChatUserRef] | None = None


class AgentResumeChatRequest(msgspec.Struct, omit_defaults=True):
    chat: AgentResumeChatSpec
    active: bool = True
    continuous: bool | None = None


class AgentDeactivateChatRequest(msgspec.Struct, omit_defaults=True):
    id: ChatId
    ignore_requester_presence: bool | None = None


class AddUserToChatRequest(msgspec.Struct, omit_defaults=True):
    chat_id: ChatId
    user_id: AgentId
    user_type: Literal["agent", "customer"]
    visibility: Literal["all", "agents"] = "all"
    ignore_requester_presence: bool | None = None


class RemoveUserFromChatRequest(msgspec.Struct, omit_defaults=True):
    chat_id: ChatId
    user_id: AgentId
    user_type: Literal["agent", "customer"]
    ignore_requester_presence: bool | None = None


class TransferTarget(msgspec.Struct):
    type: Literal["group", "agent"]
    ids: Annotated[list[int | str], msgspec.Meta(min_length=1, max_length=1)]


class TransferChatRequest(msgspec.Struct, omit_defaults=True):
    id: ChatId
    target: TransferTarget | None = None
    ignore_agents_availability: bool | None = None
    ignore_requester_presence: bool | None = None


class AgentSendEventRequest(msgspec.Struct, omit_defaults=True):
    chat_id: ChatId
    event: Event
    attach_to_last_thread: bool = False
    author_id: str | None = None


class SendTypingIndicatorRequest(msgspec.Struct, omit_defaults=True):
    chat_id: ChatId
    is_typing: bool
    visibility: Literal["all", "agents"] = "all"


class TagThreadRequest(msgspec.Struct):
    chat_id: ChatId
    thread_id: ThreadId
    tag: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class GetCustomerRequest(msgspec.Struct):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class AgentUpdateCustomerRequest(msgspec.Struct, omit_defaults=True):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    name: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None
    avatar: Annotated[str, msgspec.Meta(max_length=4096)] | None = None
    session_fields: list[dict[str, str]] | None = None


class Ban(msgspec.Struct):
    days: Annotated[int, msgspec.Meta(ge=0, le=3650)]


class BanCustomerRequest(msgspec.Struct):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    ban: Ban


# --- customers (visitors) ------------------------------------------------------------------------------------------

FilterValues = Annotated[list[Annotated[str, msgspec.Meta(max_length=256)]], msgspec.Meta(max_length=100)]
DateTime = Annotated[str, msgspec.Meta(max_length=64)]


class StringFilter(msgspec.Struct, omit_defaults=True):
    """LiveChat's ``<string_filter_type>``: one of ``values`` (any of) or ``exclude_values`` (none of)."""

    values: FilterValues | None = None
    exclude_values: FilterValues | None = None


class IntegerFilter(msgspec.Struct, omit_defaults=True):
    values: Annotated[list[GroupId], msgspec.Meta(max_length=40)] | None = None
    exclude_values: Annotated[list[GroupId], msgspec.Meta(max_length=40)] | None = None


class RangeFilter(msgspec.Struct, omit_defaults=True):
    lte: int | None = None
    lt: int | None = None
    gte: int | None = None
    gt: int | None = None
    eq: int | None = None


class DateRangeFilter(msgspec.Struct, omit_defaults=True):
    """Bounds as RFC 3339 date-times (``2017-10-12T15:19:21.010200Z``)."""

    lte: DateTime | None = None
    lt: DateTime | None = None
    gte: DateTime | None = None
    gt: DateTime | None = None
    eq: DateTime | None = None


class CustomerFilters(msgspec.Struct, omit_defaults=True):
    """LiveChat's ``list_customers`` filters (3.5; the method left the public 3.6 API), plus what tracking adds:
    ``online`` (seen within the online window), ``chatting`` (in an active chat now) and ``page_url_contains``
    (a substring of the page the visitor is on)."""

    country: StringFilter | None = None
    email: StringFilter | None = None
    name: StringFilter | None = None
    customer_id: StringFilter | None = None
    chat_group_ids: IntegerFilter | None = None
    chats_count: RangeFilter | None = None
    threads_count: RangeFilter | None = None
    visits_count: RangeFilter | None = None
    created_at: DateRangeFilter | None = None
    agent_last_event_created_at: DateRangeFilter | None = None
    customer_last_event_created_at: DateRangeFilter | None = None
    include_customers_without_chats: bool | None = None
    """Default true here: every tracked visitor is listed; false keeps customers who had a chat."""
    online: bool | None = None
    chatting: bool | None = None
    page_url_contains: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)] | None = None


CustomerSortBy = Literal["created_at", "threads_count", "visits_count", "agent_last_event", "customer_last_event"]


class ListCustomersRequest(msgspec.Struct, omit_defaults=True):
    page_id: PageId | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] | None = None
    sort_order: SortOrder | None = None
    sort_by: CustomerSortBy | None = None
    filters: CustomerFilters | None = None


class ListCustomersResponse(msgspec.Struct, omit_defaults=True):
    customers: list[Customer]
    total_customers: int
    """Exact on the last page, or when nothing but ``online`` filters; an estimate from the part scanned so far
    otherwise (LiveChat's totals are estimates too)."""
    next_page_id: str | None = None
    previous_page_id: str | None = None


class SubscribeCustomersRequest(msgspec.Struct, omit_defaults=True):
    group_ids: Annotated[list[GroupId], msgspec.Meta(max_length=200)] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None


class SubscribeCustomersResponse(msgspec.Struct):
    subscription_id: str
    customers: list[Customer]


class UnsubscribeCustomersRequest(msgspec.Struct):
    subscription_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class VisitorStatisticsRequest(msgspec.Struct, omit_defaults=True):
    days: Annotated[int, msgspec.Meta(ge=1, le=31)] = 8


class HourStatistics(msgspec.Struct):
    hour: str
    """The hour's start, RFC 3339 UTC."""
    visitors: int
    chats: int
    page_views: int


class DayStatistics(msgspec.Struct):
    day: str
    page_views: int
    visits: int
    chats: int
    unique_visitors: int


class VisitorStatisticsResponse(msgspec.Struct):
    """``get_visitor_statistics`` (this server's own action): hourly and daily counters of the license's visitors,
    oldest first, UTC."""

    hours: list[HourStatistics]
    days: list[DayStatistics]


class SetRoutingStatusRequest(msgspec.Struct, omit_defaults=True):
    status: RoutingStatus
    agent_id: AgentId | None = None


class ListRoutingStatusesRequest(msgspec.Struct, omit_defaults=True):
    filters: dict[str, Any] | None = None


class RoutingStatusItem(msgspec.Struct):
    agent_id: str
    status: RoutingStatus


class AgentLogoutRequest(msgspec.Struct, omit_defaults=True):
    agent_id: AgentId | None = None


# --- pushes only agents (or both sides) get ------------------------------------------------------------------------


class UserAddedToChat(msgspec.Struct, omit_defaults=True):
    chat_id: str
    user: Any
    reason: str
    thread_id: str | None = None
    requester_id: str | None = None


class UserRemovedFromChat(msgspec.Struct, omit_defaults=True):
    chat_id: str
    user_id: str
    reason: str
    thread_id: str | None = None
    requester_id: str | None = None


class TransferredTo(msgspec.Struct):
    group_ids: list[int]
    agent_ids: list[str]


class ChatTransferred(msgspec.Struct, omit_defaults=True):
    chat_id: str
    transferred_to: TransferredTo
    thread_id: str | None = None
    requester_id: str | None = None
    reason: str | None = None
    queue: Queue | None = None


class TypingIndicator(msgspec.Struct):
    author_id: str
    recipients: str
    timestamp: int
    is_typing: bool


class IncomingTypingIndicator(msgspec.Struct):
    chat_id: str
    thread_id: str
    typing_indicator: TypingIndicator


class RoutingStatusSet(msgspec.Struct):
    agent_id: str
    status: RoutingStatus


class ThreadTagged(msgspec.Struct):
    chat_id: str
    thread_id: str
    tag: str


class QueuePositionItem(msgspec.Struct):
    chat_id: str
    thread_id: str
    queue: Queue


class CustomerBanned(msgspec.Struct):
    customer_id: str
    ban: Ban


class AgentDisconnected(msgspec.Struct, omit_defaults=True):
    reason: str
    data: dict[str, Any] | None = None


class IncomingCustomers(msgspec.Struct, omit_defaults=True):
    """The visitors a subscription covers, whole: after a subscription starts from login's
    ``customer_monitoring_level``, and when one that was over its limit (totals only) fits in it again."""

    customer_monitoring_level: str
    customers: list[Customer]
    subscription_id: str | None = None


class CustomerPageUpdated(msgspec.Struct):
    customer_id: str
    visit_id: int
    """The visit's number (the customer's ``visits_count`` when it started)."""
    opened_at: str
    url: str
    title: str


class CustomerStatisticsUpdated(msgspec.Struct):
    customer_id: str
    statistics: Statistics


class CustomerLeft(msgspec.Struct):
    id: str
    left_at: str


# --- Agent Chat API v3.6 breadth: follow, previews, indicators, multicast, transfer list, away, session, summaries ----

ShortText = Annotated[str, msgspec.Meta(max_length=512)]


class ChatIdRequest(msgspec.Struct):
    """``follow_chat`` / ``unfollow_chat``: the chat's ``id``."""

    id: ChatId


class ChatUnfollowed(msgspec.Struct):
    chat_id: str


class PreviewEvent(msgspec.Struct, kw_only=True, omit_defaults=True):
    """``send_event_preview``'s event: a message only, visible to all (LiveChat refuses other types and ``agents``)."""

    type: Literal["message"]
    text: Annotated[str, msgspec.Meta(max_length=16384)]
    visibility: Literal["all"] | None = None
    custom_id: Annotated[str, msgspec.Meta(max_length=256)] | None = None


class SendEventPreviewRequest(msgspec.Struct):
    chat_id: ChatId
    event: PreviewEvent


class PreviewEventOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    type: str
    text: str
    author_id: str
    created_at: str
    custom_id: str | None = None


class IncomingEventPreview(msgspec.Struct):
    """The customer's (and the chat's agents') ``incoming_event_preview``: an event that is not stored."""

    chat_id: str
    thread_id: str
    event: PreviewEventOut


class SendThinkingIndicatorRequest(msgspec.Struct, omit_defaults=True):
    chat_id: ChatId
    title: ShortText | None = None
    description: Annotated[str, msgspec.Meta(max_length=2048)] | None = None
    visibility: Literal["all", "agents"] = "all"
    custom_id: Annotated[str, msgspec.Meta(max_length=256)] | None = None


class IncomingThinkingIndicator(msgspec.Struct, kw_only=True, omit_defaults=True):
    chat_id: str
    thread_id: str
    author_id: str
    sent_at: str
    title: str | None = None
    description: str | None = None
    custom_id: str | None = None


class MulticastAgents(msgspec.Struct, omit_defaults=True):
    all: bool | None = None
    ids: Annotated[list[AgentId], msgspec.Meta(max_length=100)] | None = None
    groups: Annotated[list[GroupId], msgspec.Meta(max_length=200)] | None = None


class MulticastCustomers(msgspec.Struct, omit_defaults=True):
    """This server's extension: customers by id (each one the agent may change, as ``update_customer``)."""

    ids: Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]], msgspec.Meta(max_length=100)] | None = None


class MulticastRecipients(msgspec.Struct, omit_defaults=True):
    agents: MulticastAgents | None = None
    customers: MulticastCustomers | None = None


class MulticastRequest(msgspec.Struct, omit_defaults=True):
    recipients: MulticastRecipients
    content: Any
    type: Annotated[str, msgspec.Meta(max_length=128)] | None = None


class IncomingMulticast(msgspec.Struct, omit_defaults=True):
    content: Any
    author_id: str | None = None
    type: str | None = None


class ListAgentsForTransferRequest(msgspec.Struct):
    chat_id: ChatId


class AgentForTransfer(msgspec.Struct):
    """One entry of ``list_agents_for_transfer``. The Web reference names the count ``total_active_chats``, the RTM
    reference ``active_chats``: both are sent, with the same value."""

    agent_id: str
    total_active_chats: int
    active_chats: int


class SetAwayStatusRequest(msgspec.Struct):
    away: bool


class UpdateSessionRequest(msgspec.Struct):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]


class ChangePushNotificationsRequest(msgspec.Struct, omit_defaults=True):
    """Removed from LiveChat's docs in 3.5 but still sent by the Python SDK: accepted and answered ``{}``."""

    firebase_token: Annotated[str, msgspec.Meta(max_length=4096)] | None = None
    platform: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    enabled: bool | None = None


class ThreadRequest(msgspec.Struct):
    """``request_thread_summary`` / ``get_thread_transcript``."""

    chat_id: ChatId
    thread_id: ThreadId


class ThreadSummary(msgspec.Struct, omit_defaults=True):
    status: str
    text: str
    updated_at: str


class ThreadSummarySet(msgspec.Struct):
    chat_id: str
    thread_id: str
    summary: ThreadSummary


class ThreadTranscript(msgspec.Struct):
    """``get_thread_transcript`` (in the Python SDK, not in LiveChat's public docs): the thread as plain text."""

    transcript: str


class ChatDeleted(msgspec.Struct):
    chat_id: str


class ThreadDeleted(msgspec.Struct):
    chat_id: str
    thread_id: str


class ChatAccessUpdated(msgspec.Struct):
    id: str
    access: Access


class CustomerTransferredTo(msgspec.Struct):
    group_ids: list[int]


class CustomerTransferred(msgspec.Struct):
    """To an agent who no longer sees a customer (their chat went to groups the agent is not in)."""

    id: str
    transferred_to: CustomerTransferredTo
    followed: bool
