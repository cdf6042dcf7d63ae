"""Configuration API subset (3.6 shapes): agents, groups, bots, webhooks and license properties."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from .config import (
    AutoAccessConditions,
    AutoAccessGroups,
    BusinessHours,
    GreetingProperties,
    GreetingRichMessage,
    GreetingRule,
    PropertyLocation,
    PropertyRange,
    PropertyRights,
    PropertyType,
    PropertyUserAccess,
)

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Priority = Literal["first", "normal", "last", "supervisor"]
Role = Literal["owner", "administrator", "normal"]
MaxChats = Annotated[int, msgspec.Meta(ge=0, le=500)]
GroupIdParam = Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]

WEBHOOK_ACTIONS = frozenset({
    "incoming_chat", "chat_deactivated", "chat_transferred", "user_added_to_chat",
    "user_removed_from_chat", "incoming_event", "incoming_rich_message_postback",
    "chat_properties_updated", "chat_properties_deleted", "thread_properties_updated", "thread_properties_deleted",
    "event_properties_updated", "event_properties_deleted", "thread_tagged", "thread_untagged",
    "routing_status_set", "customer_session_fields_updated", "events_marked_as_seen",
})
"""Every action ``register_webhook`` accepts is one this server sends (``tests/test_configuration_breadth_agents.py``
provokes each): LiveChat's ``chat_access_updated``, ``event_deleted`` and ``event_updated`` come back with the
methods that cause them. The configuration actions are added below."""
WEBHOOK_ACTIONS |= frozenset({
    # configuration changes (core/tags.py, core/auto_access.py): LiveChat 3.6 documents auto_accesses_updated (every
    # change of one call in a list); the official Python SDK's webhook parser knows one webhook per change instead
    # (auto_access_added / _updated / _deleted, one rule each), so both are sent to whoever registered them
    "tag_created", "tag_updated", "tag_deleted",
    "auto_accesses_updated", "auto_access_added", "auto_access_updated", "auto_access_deleted",
})
# the customer API's 3.6 methods (core/local.py delete_event; core/chats.py a rich message's postback)
WEBHOOK_ACTIONS |= frozenset({"event_deleted", "event_updated"})
WEBHOOK_ACTIONS |= frozenset({
    # agent-api: a transfer or an agent's resume_chat that moves a chat (core/agents.py _access_changed), and
    # request_thread_summary
    "chat_access_updated", "thread_summary_set",
})


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
    awaiting_approval: bool = False
    """The agent can use nothing until ``approve_agent``."""


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
    suspended: bool = False
    """(left out unless true, as ``awaiting_approval``)"""
    awaiting_approval: bool = False


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


class ListedWebhook(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A registration as ``list_webhooks`` answers it: LiveChat's shape, ``type`` (``license`` / ``bot``) always
    given (``Webhook`` leaves its default out of the stored record)."""

    id: str
    url: str
    description: str | None = None
    action: str
    secret_key: str
    owner_client_id: str | None = None
    type: str
    additional_data: list[str] | None = None
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


# --- greetings (LiveChat 3.6's shape: type, active, active_from/until, name, group, rules, properties, rich_message;
# plus this server's text and agent_id) -----------------------------------------------------------------------------

GreetingText = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
GreetingName = Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
GreetingRules = Annotated[list[GreetingRule], msgspec.Meta(max_length=20)]
GreetingType = Literal["normal", "announcement"]
GreetingTime = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
"""RFC 3339; parsed and kept in UTC by the core."""


class CreateGreetingRequest(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """LiveChat requires ``type``, ``active``, ``group`` and ``rules``; this server defaults them (``normal``, true, 0,
    every page) so its older requests keep working. What the greeting says: ``text`` (or LiveChat's
    ``properties["greeting-message_text"]``), ``rich_message``, or both; one of them is needed."""

    name: GreetingName
    text: GreetingText | None = None
    group: GroupIdParam = 0
    active: bool = True
    rules: GreetingRules = msgspec.field(default_factory=list)
    agent_id: Email | None = None
    type: GreetingType = "normal"
    active_from: GreetingTime | None = None
    active_until: GreetingTime | None = None
    properties: GreetingProperties | None = None
    rich_message: GreetingRichMessage | None = None


class CreateGreetingResponse(msgspec.Struct):
    id: int


class GreetingIdRequest(msgspec.Struct):
    id: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]


class UpdateGreetingRequest(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """Fields left out keep their value; ``rules``, ``properties`` and ``rich_message`` are replaced whole."""

    id: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
    name: GreetingName | None = None
    text: GreetingText | None = None
    group: GroupIdParam | None = None
    active: bool | None = None
    rules: GreetingRules | None = None
    agent_id: Email | None = None
    type: GreetingType | None = None
    active_from: GreetingTime | None = None
    active_until: GreetingTime | None = None
    properties: GreetingProperties | None = None
    rich_message: GreetingRichMessage | None = None


GREETINGS_PAGE_MAX = 100
"""LiveChat's ``list_greetings`` ``limit``: default and maximum."""


class ListGreetingsRequest(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """LiveChat 3.6: ``groups`` and ``limit``, or the ``page_id`` of a previous answer (which carries both)."""

    groups: Annotated[list[GroupIdParam], msgspec.Meta(max_length=200)] | None = None
    page_id: Annotated[str, msgspec.Meta(min_length=1, max_length=512)] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=GREETINGS_PAGE_MAX)] | None = None
    group: GroupIdParam | None = None
    """This server's filter from before 3.6 (one group): still taken."""


class GreetingStatistics(msgspec.Struct):
    button_clicks: int = 0
    """Clicks on the greeting's buttons (the customer API's ``send_greeting_button_clicked``)."""


class GreetingsPage(msgspec.Struct, array_like=True):
    """What a ``list_greetings`` ``page_id`` says (signed): the groups asked for, the page size, the last id listed."""

    groups: list[int] | None
    limit: int
    after: int


class GreetingView(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A greeting as ``get_greeting`` / ``list_greetings`` answer it: LiveChat 3.6's fields (``active_from``,
    ``active_until``, ``properties`` and ``rich_message`` when set), and this server's ``text`` and ``agent_id``."""

    id: int
    type: str
    active: bool
    name: str
    group: int
    rules: list[GreetingRule]
    text: str
    agent_id: str | None = None
    active_from: str | None = None
    active_until: str | None = None
    properties: dict[str, str] | None = None
    rich_message: GreetingRichMessage | None = None
    statistics: GreetingStatistics | None = None
    """``get_greeting`` only: what visitors did with it."""


class ListGreetingsResponse(msgspec.Struct, omit_defaults=True):
    greetings: list[GreetingView]
    found_greetings: int
    next_page_id: str | None = None


# --- tags (LiveChat 3.6: create_tag, list_tags, update_tag, delete_tag) -------------------------------------------

TagName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
"""As long as ``tag_thread`` takes (``protocol.agent.TagThreadRequest``)."""
TagGroupIds = Annotated[list[GroupIdParam], msgspec.Meta(max_length=200)]


class CreateTagRequest(msgspec.Struct, omit_defaults=True):
    name: TagName
    group_ids: TagGroupIds = msgspec.field(default_factory=list)
    """Can be empty: a tag of no group marks no thread until ``update_tag`` gives it one."""


class UpdateTagRequest(msgspec.Struct, omit_defaults=True):
    name: TagName
    group_ids: TagGroupIds | None = None


class TagNameRequest(msgspec.Struct):
    name: TagName


class ListTagsFilters(msgspec.Struct):
    group_ids: TagGroupIds


class ListTagsRequest(msgspec.Struct, omit_defaults=True):
    filters: ListTagsFilters | None = None


class Tag(msgspec.Struct):
    """A tag as listed and as ``tag_created`` pushes it (LiveChat's shape)."""

    name: str
    group_ids: list[int]
    author_id: str
    created_at: str


class TagUpdated(msgspec.Struct):
    name: str
    group_ids: list[int]


class TagDeleted(msgspec.Struct):
    name: str


# --- customer bans (list_customer_bans, unban_customer) ------------------------------------------------------------

class CustomerBan(msgspec.Struct, omit_defaults=True):
    """One ban in force, as ``list_customer_bans`` lists it. ``expires_at`` is left out for a ban without end
    (``ban_customer`` with ``days: 0``)."""

    customer_id: str
    agent_id: str
    created_at: str
    ip: str | None = None
    """The address of the customer's visit when they were banned, if the tracker knew it."""
    thread_id: str | None = None
    expires_at: str | None = None


class UnbanCustomerRequest(msgspec.Struct, omit_defaults=True):
    """Exactly one of the two (checked by the core)."""

    ip: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    customer_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None


# --- properties (register_property …, license and group properties) ------------------------------------------------

PropertyName = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
ClientId = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
NamespaceNames = dict[str, Annotated[list[str], msgspec.Meta(max_length=1000)]]
"""``{namespace: [names]}``: what the delete methods take."""


class RegisterPropertyRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    name: PropertyName
    owner_client_id: ClientId
    type: PropertyType
    access: Annotated[dict[PropertyLocation, PropertyUserAccess], msgspec.Meta(min_length=1)]
    description: Annotated[str, msgspec.Meta(max_length=1024)] = ""
    domain: Annotated[list[Any], msgspec.Meta(min_length=1, max_length=100)] | None = None
    range: PropertyRange | None = None
    default_value: Any = None


class PropertyIdRequest(msgspec.Struct):
    name: PropertyName
    owner_client_id: ClientId


class PublishPropertyRequest(msgspec.Struct):
    name: PropertyName
    owner_client_id: ClientId
    access_type: PropertyRights


class ListPropertiesRequest(msgspec.Struct):
    owner_client_id: ClientId


class DeleteLicensePropertiesRequest(msgspec.Struct):
    properties: NamespaceNames


class UpdateGroupPropertiesRequest(msgspec.Struct):
    group_id: GroupIdParam
    properties: dict[str, dict[str, Any]]


class ListGroupsPropertiesRequest(msgspec.Struct, omit_defaults=True):
    group_ids: Annotated[list[GroupIdParam], msgspec.Meta(max_length=200)] = msgspec.field(default_factory=list)
    """Empty: every group (LiveChat requires the field; the official SDK leaves it out when not given)."""
    namespace: str | None = None
    name_prefix: str | None = None


class GroupProperties(msgspec.Struct):
    id: int
    properties: dict[str, dict[str, Any]]


class DeleteGroupPropertiesRequest(msgspec.Struct):
    id: GroupIdParam
    properties: NamespaceNames


class LicensePropertiesUpdated(msgspec.Struct):
    """The ``license_properties_updated`` push: the values just written."""

    properties: dict[str, dict[str, Any]]


class GroupPropertiesUpdated(msgspec.Struct):
    group_id: int
    properties: dict[str, dict[str, Any]]


# --- auto access (add_auto_access, list_auto_accesses, update_auto_access, delete_auto_access) ----------------------

AutoAccessId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Description = Annotated[str, msgspec.Meta(max_length=1024)]


class AddAutoAccessRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    access: AutoAccessGroups
    conditions: AutoAccessConditions
    description: Description = ""
    next_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    """The rule the new one goes before; empty or left out: the end of the list."""


class UpdateAutoAccessRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Fields left out keep their value; ``next_id`` moves the rule before that one ("" : to the end)."""

    id: AutoAccessId
    access: AutoAccessGroups | None = None
    conditions: AutoAccessConditions | None = None
    description: Description | None = None
    next_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class AutoAccessIdRequest(msgspec.Struct):
    id: AutoAccessId


class AddAutoAccessResponse(msgspec.Struct):
    id: str


class AutoAccessView(msgspec.Struct, kw_only=True):
    """A rule as ``list_auto_accesses`` lists it: ``next_id`` is the id of the rule after it, "" for the last."""

    id: str
    description: str
    access: AutoAccessGroups
    conditions: AutoAccessConditions
    next_id: str
# --- agent lifecycle, batches, bot templates, webhook administration, the license (issue 21) ----------------------

BATCH_LIMIT = 100
"""Requests one ``batch_*`` call may carry (LiveChat documents no number; every item is a whole call's work)."""

CONFIG_WEBHOOK_ACTIONS = frozenset({
    "agent_created", "agent_updated", "agent_deleted", "agent_suspended", "agent_unsuspended", "agent_approved",
    "bot_created", "bot_updated", "bot_deleted", "group_created", "group_updated", "group_deleted",
})
"""Configuration changes that are also license webhooks (and pushes to every agent of the license)."""

WEBHOOK_ACTIONS = WEBHOOK_ACTIONS | CONFIG_WEBHOOK_ACTIONS

_CHAT_FILTERS = ("chat_presence", "only_my_chats", "source_type")
WEBHOOK_FILTERS: dict[str, tuple[str, ...]] = {
    "incoming_event": ("chat_presence", "author_type", "only_my_chats", "source_type"),
    "event_updated": ("chat_presence", "author_type", "only_my_chats", "source_type"),
    "routing_status_set": ("agent_ids", "source_type"),
    "customer_session_fields_updated": ("chat_presence", "source_type"),
    **{action: ("source_type",) for action in CONFIG_WEBHOOK_ACTIONS},
}
"""The filters LiveChat lists per action (``list_webhook_names``); a chat action not named here has
``_CHAT_FILTERS``. Of them this server applies ``author_type`` (README "Configuration API")."""


def webhook_filters(action: str) -> tuple[str, ...]:
    if action in WEBHOOK_FILTERS:
        return WEBHOOK_FILTERS[action]
    return ("source_type",) if action.startswith(("tag_", "auto_access")) else _CHAT_FILTERS


def webhook_additional_data(action: str) -> tuple[str, ...]:
    """Chat actions may carry the chat's properties and the ids of its users; configuration actions nothing."""
    if action in CONFIG_WEBHOOK_ACTIONS or action == "routing_status_set" or action.startswith(("tag_", "auto_access")):
        return ()
    return ("chat_properties", "chat_presence_user_ids")


class WebhookName(msgspec.Struct, omit_defaults=True):
    """One entry of ``list_webhook_names``."""

    action: str
    filters: list[str] = msgspec.field(default_factory=list)
    additional_data: list[str] = msgspec.field(default_factory=list)


class ListWebhookNamesRequest(msgspec.Struct, omit_defaults=True):
    version: Annotated[str, msgspec.Meta(max_length=8)] | None = None


ClientId = Annotated[str, msgspec.Meta(max_length=256)]


class OwnerClientRequest(msgspec.Struct, omit_defaults=True):
    """``enable_license_webhooks`` / ``disable_license_webhooks`` / ``get_license_webhooks_state``: the state is kept
    per owner client id (none named: the registrations made without one)."""

    owner_client_id: ClientId | None = None


class LicenseWebhooksState(msgspec.Struct):
    license_webhooks_enabled: bool


class AgentState(msgspec.Struct, kw_only=True):
    """An agent as ``agent_created`` carries it: the whole structure, empty fields included (the fields of
    LiveChat's agent, named as its SDK's webhook parser takes them)."""

    id: str
    name: str
    role: str
    avatar: str | None
    job_title: str | None
    mobile: str | None
    max_chats_count: int
    awaiting_approval: bool
    groups: list[GroupPriority]
    notifications: list[str]
    email_subscriptions: list[str]
    work_scheduler: dict[str, Any]


class BotState(msgspec.Struct, kw_only=True):
    """A bot as ``bot_created`` carries it: the whole structure, empty fields included."""

    id: str
    name: str
    avatar: str | None
    job_title: str | None
    max_chats_count: int
    default_group_priority: str | None
    groups: list[GroupPriority]
    owner_client_id: str | None
    timezone: str | None


class GroupState(msgspec.Struct):
    """A group as ``group_created`` carries it."""

    id: int
    name: str
    language_code: str
    agent_priorities: dict[str, str]


class IdPayload(msgspec.Struct):
    """``agent_deleted``, ``agent_suspended``, ``agent_unsuspended``, ``agent_approved``, ``bot_deleted``."""

    id: str


class GroupIdPayload(msgspec.Struct):
    """``group_deleted``."""

    id: int


class BatchRequest(msgspec.Struct):
    """``batch_*``: the requests of the non-batch method, each decoded and answered on its own."""

    requests: Annotated[list[msgspec.Raw], msgspec.Meta(max_length=BATCH_LIMIT)]


class BatchResponse(msgspec.Struct):
    """One answer per request, in their order: the method's response, or ``{"error": {...}}``."""

    responses: list[Any]


class ReactivateEmailRequest(msgspec.Struct):
    agent_id: Email


BotTemplateId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class CreateBotTemplateRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    name: Name
    owner_client_id: ClientId
    avatar: Annotated[str, msgspec.Meta(max_length=4096)] | None = None
    max_chats_count: MaxChats = 6
    default_group_priority: Priority | None = None
    job_title: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    affect_existing_installations: bool = False


class UpdateBotTemplateRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: BotTemplateId
    owner_client_id: ClientId
    name: Name | None = None
    avatar: Annotated[str, msgspec.Meta(max_length=4096)] | None = None
    max_chats_count: MaxChats | None = None
    default_group_priority: Priority | None = None
    job_title: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    affect_existing_installations: bool = False


class BotTemplateIdRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    """``delete_bot_template`` and ``reset_bot_template_secret``."""

    id: BotTemplateId
    owner_client_id: ClientId
    affect_existing_installations: bool = False


class ListBotTemplatesRequest(msgspec.Struct):
    owner_client_id: ClientId


class BotTemplate(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A bot template as ``list_bot_templates`` lists it (its secret is never shown again)."""

    id: str
    name: str
    owner_client_id: str
    max_chats_count: int
    avatar_path: str | None = None
    job_title: str | None = None
    default_group_priority: str | None = None


class SecretResponse(msgspec.Struct):
    """``reset_bot_secret`` / ``reset_bot_template_secret``: the new secret, shown once."""

    secret: str


class ResetBotSecretRequest(msgspec.Struct, omit_defaults=True):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=254)]
    owner_client_id: ClientId | None = None


class Channel(msgspec.Struct):
    """``list_channels``: how customers reach the license."""

    channel_type: str
    channel_subtype: str
    first_activity_timestamp: str


Plan = Literal["starter", "team", "enterprise", "enterpriseplus"]


class CheckProductLimitsRequest(msgspec.Struct):
    plan: Plan


class ProductLimit(msgspec.Struct, omit_defaults=True):
    """One resource over a plan's limit (``check_product_limits_for_plan``); a self-hosted server has none."""

    resource: str
    limit_balance: int
    id: str | None = None


class ProductSource(msgspec.Struct):
    """``get_product_source``: where this license came from."""

    source_id: str
    source_type: str
    source_url: str


CompanyText = Annotated[str, msgspec.Meta(max_length=256)]


class CompanyDetails(msgspec.Struct, kw_only=True, omit_defaults=True):
    """``update_company_details`` (fields left out keep their value; ``enrich`` is accepted and does nothing: this
    server looks nothing up) and ``get_company_details`` (the fields saved)."""

    enrich: bool | None = None
    audience: CompanyText | None = None
    chat_purpose: CompanyText | None = None
    city: CompanyText | None = None
    company: CompanyText | None = None
    company_size: CompanyText | None = None
    country: CompanyText | None = None
    invoice_email: CompanyText | None = None
    invoice_name: CompanyText | None = None
    nip: CompanyText | None = None
    postal_code: CompanyText | None = None
    state: CompanyText | None = None
    street: CompanyText | None = None
    phone: CompanyText | None = None
    province: CompanyText | None = None
    url: Annotated[str, msgspec.Meta(max_length=2048)] | None = None


AGENT_UPDATED_FIELDS = {"name": "name", "role": "role", "avatar_path": "avatar", "job_title": "job_title",
                        "max_chats_count": "max_chats_count", "groups": "groups"}
"""``update_agent``'s fields as ``agent_updated`` names them (LiveChat's agent says ``avatar``)."""
GROUP_UPDATED_FIELDS = ("name", "language_code", "agent_priorities")
"""What ``group_updated`` carries of ``update_group`` (our ``welcome_message`` is not LiveChat's)."""
BOT_UPDATED_FIELDS = ("name", "avatar", "max_chats_count", "groups", "job_title")
"""What ``bot_updated`` carries of ``update_bot`` (our ``rules`` are not LiveChat's)."""
