"""Configuration API subset (3.6 shapes): agents, groups, bots, webhooks and license properties."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from .config import BusinessHours, GreetingRule

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Priority = Literal["first", "normal", "last", "supervisor"]
Role = Literal["owner", "administrator", "normal"]
MaxChats = Annotated[int, msgspec.Meta(ge=0, le=500)]
GroupIdParam = Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]

WEBHOOK_ACTIONS = frozenset({
    "incoming_chat", "chat_deactivated", "chat_access_updated", "chat_transferred", "user_added_to_chat",
    "user_removed_from_chat", "incoming_event", "event_deleted", "event_updated", "incoming_rich_message_postback",
    "chat_properties_updated", "chat_properties_deleted", "thread_properties_updated", "thread_properties_deleted",
    "event_properties_updated", "event_properties_deleted", "thread_tagged", "thread_untagged",
    "routing_status_set", "customer_session_fields_updated", "events_marked_as_seen",
})
WEBHOOK_ACTIONS = WEBHOOK_ACTIONS | {"thread_summary_set"}  # request_thread_summary's (agent-api)


class GroupPriority(msgspec.Struct):
    id: GroupIdParam
    priority: Priority = "normal"


class CreateAgentRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: Email
    name: Name
    role: Role = "normal"
    max_chats_count: MaxChats = 6
    groups: list[GroupPriority] | None = None
    job_title: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    avatar_path: Annotated[str, msgspec.Meta(max_length=4096)] | None = None


class CreateAgentResponse(msgspec.Struct):
    id: str
    personal_access_token: str
    """Our addition: self-hosted agents have no accounts service; this is the agent's credential (shown once)."""


class AgentIdRequest(msgspec.Struct):
    id: Email


class UpdateAgentRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: Email
    name: Name | None = None
    role: Role | None = None
    max_chats_count: MaxChats | None = None
    groups: list[GroupPriority] | None = None
    job_title: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    avatar_path: Annotated[str, msgspec.Meta(max_length=4096)] | None = None


class ListAgentsRequest(msgspec.Struct, omit_defaults=True):
    filters: dict[str, Any] | None = None
    fields: list[str] | None = None


class AgentView(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    name: str
    role: str
    max_chats_count: int
    groups: list[GroupPriority]
    job_title: str | None = None
    avatar_path: str | None = None
    type: str = "agent"


class CreateGroupRequest(msgspec.Struct, omit_defaults=True):
    name: Name
    language_code: Annotated[str, msgspec.Meta(max_length=16)] = "en"
    agent_priorities: dict[str, Priority] | None = None


class CreateGroupResponse(msgspec.Struct):
    id: int


class GroupView(msgspec.Struct, omit_defaults=True):
    id: int
    name: str
    language_code: str
    agent_priorities: dict[str, str]
    welcome_message: str = ""
    """Our addition (``update_group``): the text the widget opens on; left out when the group has none."""


class GroupIdRequest(msgspec.Struct):
    id: GroupIdParam


class UpdateGroupBusinessHoursRequest(msgspec.Struct, forbid_unknown_fields=True):
    """``update_group_business_hours`` (this server's action; LiveChat has none in its Configuration API): the
    group's hours, replaced whole; ``null`` removes them (the group is then open whenever an agent accepts chats)."""

    group_id: GroupIdParam
    business_hours: BusinessHours | None


class GetGroupBusinessHoursRequest(msgspec.Struct):
    group_id: GroupIdParam


class GroupBusinessHoursView(msgspec.Struct):
    """``get_group_business_hours``: the saved hours, and what they mean now."""

    group_id: int
    business_hours: BusinessHours | None
    open_now: bool
    """The hours are open now (always true without hours)."""
    online: bool
    """Open now and an agent of the group accepts chats: what customers are told."""
    next_change: str | None
    """When ``open_now`` next flips (RFC 3339, UTC), within the next 8 days; null if it does not."""


class UpdateGroupRequest(msgspec.Struct, omit_defaults=True):
    id: GroupIdParam
    name: Name | None = None
    welcome_message: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    """Our addition: the text the widget opens on for this group (``incoming_welcome_message``)."""
    language_code: Annotated[str, msgspec.Meta(max_length=16)] | None = None
    agent_priorities: dict[str, Priority] | None = None


class WorkScheduler(msgspec.Struct, omit_defaults=True):
    timezone: str | None = None


Phrase = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class KeywordAnswer(msgspec.Struct):
    keywords: Annotated[list[Phrase], msgspec.Meta(min_length=1, max_length=50)]
    answer: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]


class BotRules(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The built-in rule bot (our addition to ``create_bot`` / ``update_bot``): a greeting with a quick-reply menu,
    keyword answers, and a hand-over to the group's humans."""

    greeting: Annotated[str, msgspec.Meta(max_length=4096)] = "Hi! How can I help?"
    menu: Annotated[list[Phrase], msgspec.Meta(max_length=10)] = msgspec.field(default_factory=list)
    answers: Annotated[list[KeywordAnswer], msgspec.Meta(max_length=200)] = msgspec.field(default_factory=list)
    handover_button: Phrase = "Talk to a human"
    handover_phrases: Annotated[list[Phrase], msgspec.Meta(max_length=50)] = msgspec.field(
        default_factory=lambda: ["human", "agent", "person"])
    handover_message: Annotated[str, msgspec.Meta(max_length=4096)] = "Connecting you with a person…"
    fallback: Annotated[str, msgspec.Meta(max_length=4096)] = "Sorry, I did not get that. Pick an option below."


class CreateBotRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    name: Name
    avatar: Annotated[str, msgspec.Meta(max_length=4096)] | None = None
    max_chats_count: MaxChats = 6
    default_group_priority: Priority | None = None
    job_title: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    groups: list[GroupPriority] | None = None
    type: Literal["chatbot", "bot"] = "chatbot"
    work_scheduler: WorkScheduler | None = None
    timezone: str | None = None
    owner_client_id: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    rules: BotRules | None = None


class UpdateBotRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=254)]
    name: Name | None = None
    avatar: Annotated[str, msgspec.Meta(max_length=4096)] | None = None
    max_chats_count: MaxChats | None = None
    groups: list[GroupPriority] | None = None
    job_title: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    rules: BotRules | None = None


class CreateBotResponse(msgspec.Struct):
    id: str
    secret: str


class BotIdRequest(msgspec.Struct):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=254)]


class IssueBotTokenRequest(msgspec.Struct):
    bot_id: Annotated[str, msgspec.Meta(min_length=1, max_length=254)]
    client_id: Annotated[str, msgspec.Meta(max_length=256)]
    bot_secret: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    organization_id: Annotated[str, msgspec.Meta(max_length=64)]


class IssueBotTokenResponse(msgspec.Struct):
    token: str


class WebhookFilters(msgspec.Struct, omit_defaults=True):
    author_type: Literal["customer", "agent"] | None = None
    only_my_chats: bool | None = None
    chat_presence: dict[str, Any] | None = None
    source_type: list[str] | None = None


class RegisterWebhookRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    action: str
    secret_key: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    url: Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=r"^https?://")]
    owner_client_id: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    type: Literal["license", "bot"] = "license"
    additional_data: list[Literal["chat_properties", "chat_presence_user_ids"]] | None = None
    description: Annotated[str, msgspec.Meta(max_length=1024)] | None = None
    filters: WebhookFilters | None = None


class Webhook(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A registration as stored and listed (validated on the way in by RegisterWebhookRequest)."""

    id: str
    action: str
    secret_key: str
    url: str
    owner_client_id: str | None = None
    type: str = "license"
    additional_data: list[str] | None = None
    description: str | None = None
    filters: WebhookFilters | None = None


class RegisterWebhookResponse(msgspec.Struct):
    id: str


class ListWebhooksRequest(msgspec.Struct, omit_defaults=True):
    owner_client_id: str | None = None


class UnregisterWebhookRequest(msgspec.Struct, omit_defaults=True):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    owner_client_id: str | None = None


class WebhookDeliveryLogRequest(msgspec.Struct):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class WebhookDelivery(msgspec.Struct, omit_defaults=True):
    """One attempt to deliver a webhook (our addition: ``list_webhook_deliveries``)."""

    delivery_id: str
    action: str
    attempt: int
    at: str
    status: int
    ok: bool
    error: str | None = None


class LicensePropertiesRequest(msgspec.Struct):
    properties: dict[str, dict[str, Any]]


class ListLicensePropertiesRequest(msgspec.Struct, omit_defaults=True):
    namespace: str | None = None
    name_prefix: str | None = None


# --- greetings (this server's actions, in LiveChat's greeting shape: name, group, active, rules, text) ------------

GreetingText = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
GreetingName = Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
GreetingRules = Annotated[list[GreetingRule], msgspec.Meta(max_length=20)]


class CreateGreetingRequest(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    name: GreetingName
    text: GreetingText
    group: GroupIdParam = 0
    active: bool = True
    rules: GreetingRules = msgspec.field(default_factory=list)
    agent_id: Email | None = None


class CreateGreetingResponse(msgspec.Struct):
    id: int


class GreetingIdRequest(msgspec.Struct):
    id: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]


class UpdateGreetingRequest(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """Fields left out keep their value; ``rules`` is replaced whole."""

    id: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
    name: GreetingName | None = None
    text: GreetingText | None = None
    group: GroupIdParam | None = None
    active: bool | None = None
    rules: GreetingRules | None = None
    agent_id: Email | None = None


class ListGreetingsRequest(msgspec.Struct, omit_defaults=True):
    group: GroupIdParam | None = None


class GreetingView(msgspec.Struct, kw_only=True):
    """A greeting as ``get_greeting`` / ``list_greetings`` answer it: every field, defaults included."""

    id: int
    name: str
    text: str
    group: int
    active: bool
    rules: list[GreetingRule]
    agent_id: str | None
