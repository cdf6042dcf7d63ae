"""Widget bootstrap: dynamic configuration (3.6 nests it under ``livechat``; 3.5 is flat), static configuration,
localization, and the license configuration they are built from."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from .customer import Form
from .tickets import TicketSettings


class DynamicConfigRequest(msgspec.Struct, omit_defaults=True):
    organization_id: str | None = None
    license_id: str | None = None
    group_id: Annotated[int, msgspec.Meta(ge=0)] | None = None
    url: Annotated[str, msgspec.Meta(max_length=4096)] | None = None
    channel_type: str | None = None
    test: bool | None = None


class LiveChatDynamic(msgspec.Struct):
    group_id: int
    client_limit_exceeded: bool
    domain_allowed: bool
    online_group_ids: list[int]
    config_version: str
    localization_version: str
    language: str


class DynamicConfig36(msgspec.Struct):
    organization_id: str
    default_widget: str
    livechat_active: bool
    livechat: LiveChatDynamic


class DynamicConfig35(msgspec.Struct):
    organization_id: str
    default_widget: str
    livechat_active: bool
    group_id: int
    client_limit_exceeded: bool
    domain_allowed: bool
    online_group_ids: list[int]
    config_version: str
    localization_version: str
    language: str


class ConfigurationRequest(msgspec.Struct, omit_defaults=True):
    group_id: Annotated[int, msgspec.Meta(ge=0)] = 0
    version: str | None = None


class Button(msgspec.Struct):
    """A chat button of the license (LiveChat's image or text chat buttons), as ``get_configuration`` lists them."""

    id: str
    type: str
    online_value: str
    offline_value: str


class ConfigurationProperties(msgspec.Struct):
    group: dict[str, Any]
    license: dict[str, Any]


class Configuration(msgspec.Struct, omit_defaults=True):
    buttons: list[Button]
    integrations: dict[str, Any]
    properties: ConfigurationProperties
    prechat_form: Form | None = None
    ticket_form: Form | None = None
    postchat_form: Form | None = None


class LocalizationRequest(msgspec.Struct, omit_defaults=True):
    group_id: Annotated[int, msgspec.Meta(ge=0)] = 0
    language: str = "en"
    version: str | None = None


Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ClockTime = Annotated[str, msgspec.Meta(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?|24:00)$",
                                        description="HH:MM or HH:MM:SS in the hours' time zone; 24:00 = end of day")]
IsoDate = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description="YYYY-MM-DD")]


class OpenRange(msgspec.Struct, forbid_unknown_fields=True):
    """One opening: from ``open`` to ``close`` (exclusive) on that day; ``close`` is after ``open``."""

    open: ClockTime
    close: ClockTime


class WeeklyRange(OpenRange, forbid_unknown_fields=True, kw_only=True):
    day: Weekday


class DateException(msgspec.Struct, forbid_unknown_fields=True):
    """A date whose hours replace the weekly ones (a holiday: no ``ranges``, closed all day)."""

    date: IsoDate
    ranges: Annotated[list[OpenRange], msgspec.Meta(max_length=8)] = msgspec.field(default_factory=list)


class BusinessHours(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    """When a group takes chats: weekly ranges in an IANA time zone, and dated exceptions. Outside them the group
    is offline whatever its agents do. Checked beyond the types by ``core/hours.py`` (a known zone, ranges that end
    after they start, one exception per date)."""

    enabled: bool = True
    timezone: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = "UTC"
    weekly: Annotated[list[WeeklyRange], msgspec.Meta(max_length=70)] = msgspec.field(default_factory=list)
    exceptions: Annotated[list[DateException], msgspec.Meta(max_length=366)] = msgspec.field(default_factory=list)


class Group(msgspec.Struct, omit_defaults=True):
    id: Annotated[int, msgspec.Meta(ge=0)]
    name: str
    language: str = "en"
    business_hours: BusinessHours | None = None
    """None: open whenever an agent accepts chats."""
    welcome_message: Annotated[str, msgspec.Meta(max_length=500)] = ""
    """The text the widget opens on (``incoming_welcome_message``); empty: the language's default."""


class FormSetting(msgspec.Struct, omit_defaults=True):
    enabled: bool
    form: Form | None = None


HexColor = Annotated[str, msgspec.Meta(pattern=r"^#[0-9a-fA-F]{6}$", description="#rrggbb")]
ShortText = Annotated[str, msgspec.Meta(max_length=80)]
LongText = Annotated[str, msgspec.Meta(max_length=500)]


class Appearance(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """How the widget looks and greets, as the site owner saved it (the wizard edits it; the Configuration API sets
    it as the license property ``widget.appearance``). Texts left empty use the visitor's language's defaults."""

    theme: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9_-]{1,40}$")] = "classic"
    primary_color: HexColor | None = None
    background_color: HexColor | None = None
    text_color: HexColor | None = None
    position: Literal["bottom-right", "bottom-left"] = "bottom-right"
    offset_x: Annotated[int, msgspec.Meta(ge=0, le=200)] = 20
    offset_y: Annotated[int, msgspec.Meta(ge=0, le=200)] = 20
    launcher: Literal["icon", "text", "bubble"] = "icon"
    launcher_text: ShortText = ""
    width: Annotated[int, msgspec.Meta(ge=300, le=640)] = 380
    height: Annotated[int, msgspec.Meta(ge=400, le=900)] = 600
    title: ShortText = ""
    agent_name: ShortText = ""
    agent_avatar: Annotated[str, msgspec.Meta(max_length=2048)] = ""
    greeting: LongText = ""
    greeting_delay: Annotated[int, msgspec.Meta(ge=0, le=600)] = 5
    rating: bool = True
    offline_title: ShortText = ""
    offline_text: LongText = ""
    language: Annotated[str, msgspec.Meta(pattern=r"^(auto|[a-z]{2})$")] = "auto"


GreetingRuleType = Literal["url_current", "url_referrer", "visit_time_page", "visit_time_site", "visits_number",
                           "pages_view_number", "returning_visitor", "business_hours", "referrer"]
"""LiveChat 3.6's rule types this server can judge at a page view, and two of its own (``returning_visitor``,
``business_hours``). ``referrer`` is this server's name from before 3.6 for ``url_referrer``: still accepted, kept
as ``url_referrer`` (migration 3 renamed the stored ones)."""
GreetingOperator = Literal["equals", "doesnt_equal", "contains", "doesnt_contain", "matches", "greater_than",
                           "greater_or_equal", "lower_than", "lower_or_equal"]
GREETING_TEXT_OPERATORS = frozenset({"equals", "doesnt_equal", "contains", "doesnt_contain", "matches"})
GREETING_NUMBER_OPERATORS = frozenset({"equals", "doesnt_equal", "greater_than", "greater_or_equal", "lower_than",
                                       "lower_or_equal"})


class GreetingRule(msgspec.Struct, forbid_unknown_fields=True):
    """One targeting condition of a greeting (LiveChat's greeting rules: ``{condition, type, operator, value}``).
    ``condition`` joins it to the rules before it (``and`` / ``or``, left to right). ``matches`` is a pattern
    without regular expressions: ``*`` stands for any run of characters, everything else is literal. Which
    operators fit which type is checked by ``core/greetings.py``."""

    type: GreetingRuleType
    value: Annotated[str, msgspec.Meta(max_length=512)]
    operator: GreetingOperator = "equals"
    condition: Literal["and", "or"] = "and"


GreetingUrl = Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]
GreetingRichText = Annotated[str, msgspec.Meta(max_length=1024)]


class GreetingImage(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    url: GreetingUrl
    name: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    content_type: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    size: Annotated[int, msgspec.Meta(ge=0)] | None = None
    width: Annotated[int, msgspec.Meta(ge=0, le=100_000)] | None = None
    height: Annotated[int, msgspec.Meta(ge=0, le=100_000)] | None = None
    alternative_text: Annotated[str, msgspec.Meta(max_length=512)] | None = None


class GreetingButton(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """A button of a greeting's rich message (LiveChat 3.6: ``text``, ``type``, ``value``, ``postback_id``; a
    ``button_id`` is made when none is given, and kept across updates when the owner passes it back)."""

    text: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
    type: Literal["webview", "message", "url", "phone"]
    value: Annotated[str, msgspec.Meta(max_length=2048)]
    postback_id: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    button_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    role: Literal["default", "primary", "danger"] | None = None


class GreetingElement(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    title: GreetingRichText | None = None
    subtitle: Annotated[str, msgspec.Meta(max_length=2048)] | None = None
    image: GreetingImage | None = None
    buttons: Annotated[list[GreetingButton], msgspec.Meta(max_length=13)] | None = None


class GreetingRichMessage(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """A greeting's rich message (LiveChat 3.6: ``template_id`` and up to 10 elements of up to 13 buttons). LiveChat's
    own example uses ``template_id: "text"``, so it is taken too (shown like ``cards``)."""

    template_id: Literal["cards", "sticker", "quick_replies", "text"]
    elements: Annotated[list[GreetingElement], msgspec.Meta(max_length=10)] = msgspec.field(default_factory=list)
    type: Literal["rich_message"] | None = None
    """(The event's type, as a rich message event carries it: accepted, not kept.)"""


GREETING_PROPERTY_KEYS = frozenset({"addon", "is_exit_intent", "greeting-message_text", "greeting-message_json_key",
                                    "greeting-message_phrase_key"})
GreetingProperties = Annotated[dict[str, Annotated[str, msgspec.Meta(max_length=1024)]], msgspec.Meta(max_length=5)]
"""LiveChat 3.6's greeting ``properties``: its five keys (``GREETING_PROPERTY_KEYS``, checked by the core), string
values. ``greeting-message_text`` is the greeting's plain text (kept as ``text``)."""


class GreetingTemplate(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """An automatic greeting: shown to a visitor of ``group`` whose page view meets ``rules`` while the group is
    online (``core/greetings.py``). It says ``text``, or shows ``rich_message``, or both."""

    id: int
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    text: Annotated[str, msgspec.Meta(max_length=500)] = ""
    group: Annotated[int, msgspec.Meta(ge=0)] = 0
    active: bool = True
    rules: Annotated[list[GreetingRule], msgspec.Meta(max_length=20)] = msgspec.field(default_factory=list)
    agent_id: Annotated[str, msgspec.Meta(max_length=254)] | None = None
    """The agent it is sent as (name and avatar in ``incoming_greeting``); none: the widget's agent name."""
    type: Literal["normal", "announcement"] = "normal"
    active_from: str | None = None
    """RFC 3339 (UTC, as kept): not shown before."""
    active_until: str | None = None
    """RFC 3339 (UTC, as kept): not shown after."""
    properties: GreetingProperties | None = None
    """LiveChat's ``properties`` other than ``greeting-message_text`` (that one is ``text``)."""
    rich_message: GreetingRichMessage | None = None


PropertyType = Literal["int", "string", "bool", "tokenized_string"]
PropertyLocation = Literal["chat", "thread", "event", "license", "group"]
PropertyRight = Literal["read", "write"]
PropertyRights = Annotated[list[PropertyRight], msgspec.Meta(min_length=1, max_length=2)]


class PropertyUserAccess(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """Who may read or write a registered property in one location."""

    agent: PropertyRights | None = None
    customer: PropertyRights | None = None


class PropertyRange(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """The values an ``int`` property takes: ``from`` and ``to`` included."""

    from_: int | None = msgspec.field(default=None, name="from")
    to: int | None = None


class PropertyDefinition(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A registered property (Configuration API ``register_property``), as ``list_properties`` shows it. Its
    namespace is its ``owner_client_id``. Values written where it lives are checked against it (``core/properties.py``):
    its type, its domain or range, and the writer's ``write`` right in that location."""

    type: PropertyType
    access: dict[PropertyLocation, PropertyUserAccess]
    description: str
    """Always listed, "" included (LiveChat's shape)."""
    domain: list[Any] | None = None
    range: PropertyRange | None = None
    default_value: Any = None
    public_access: list[PropertyRight] | None = None
    """Set by ``publish_property``: what other clients may do; a published property cannot be unregistered."""


class MatchValue(msgspec.Struct, forbid_unknown_fields=True):
    """LiveChat's ``match_object``: ``value`` equal to the customer's URL or domain (``exact_match``), or within it."""

    value: Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]
    exact_match: bool = False


MatchValues = Annotated[list[MatchValue], msgspec.Meta(min_length=1, max_length=50)]
GeoText = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class MatchCondition(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """``conditions.url`` / ``conditions.domain``: one of ``values`` matches, or none of ``exclude_values`` does."""

    values: MatchValues | None = None
    exclude_values: MatchValues | None = None


class GeolocationValue(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """Matches when every field given equals the customer's (letter case aside)."""

    country: GeoText | None = None
    country_code: GeoText | None = None
    region: GeoText | None = None
    city: GeoText | None = None


class GeolocationCondition(msgspec.Struct, forbid_unknown_fields=True):
    values: Annotated[list[GeolocationValue], msgspec.Meta(min_length=1, max_length=50)]


class AutoAccessConditions(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    url: MatchCondition | None = None
    domain: MatchCondition | None = None
    geolocation: GeolocationCondition | None = None


class AutoAccessGroups(msgspec.Struct, forbid_unknown_fields=True):
    groups: Annotated[list[Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]], msgspec.Meta(min_length=1,
                                                                                           max_length=200)]


class AutoAccessRule(msgspec.Struct, kw_only=True):
    """An auto access rule as kept (in order; ``next_id`` is derived from the order when listed)."""

    id: str
    description: str
    access: AutoAccessGroups
    conditions: AutoAccessConditions


class LicenseConfig(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What a site owner configures for a license (the wizard and Configuration API edit this)."""

    groups: list[Group] = msgspec.field(default_factory=lambda: [Group(id=0, name="General")])
    allowed_origins: list[str] = msgspec.field(default_factory=list)
    """Exact origins (``https://shop.example``) allowed to embed the widget and call the API; empty = any."""
    language: str = "en"
    prechat: FormSetting | None = None
    postchat: FormSetting | None = None
    ticket: FormSetting | None = None
    license_properties: dict[str, Any] = msgspec.field(default_factory=dict)
    appearance: Appearance = msgspec.field(default_factory=Appearance)
    greetings: list[GreetingTemplate] = msgspec.field(default_factory=list)
    """Automatic greetings (``create_greeting`` …): kept in the configuration every page view reads already, so
    matching them costs no Valkey call."""
    tickets: TicketSettings = msgspec.field(default_factory=TicketSettings)
    property_definitions: dict[str, dict[str, PropertyDefinition]] = msgspec.field(default_factory=dict)
    """Registered properties, by namespace (the owner client id) and name (``core/properties.py``)."""
    group_properties: dict[str, dict[str, dict[str, Any]]] = msgspec.field(default_factory=dict)
    auto_accesses: list[AutoAccessRule] = msgspec.field(default_factory=list)
    """Auto access rules in their order (``core/auto_access.py``): a customer's new chat goes to the groups of the
    first that matches their page and location."""
    """Group properties (``update_group_properties``): group id (as a string) -> namespace -> name -> value."""
