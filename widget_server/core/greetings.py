"""Automatic greetings: checking the rules an owner saves, and matching them against a page view.

Pure functions over ``protocol.config.GreetingTemplate``: the widget's visit and page-view calls run ``pick`` on the
license configuration they read anyway (kept in the worker by ``Store.license_config``), so a page view costs no
Valkey call for greetings. A greeting shown is named by a signed ``unique_id`` (``GreetingClaims``): accepting or
canceling it needs no stored record, and nothing an anonymous visitor does creates one."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass
from functools import lru_cache

import msgspec

from ..auth.signing import Signer
from ..protocol.config import (
    GREETING_NUMBER_OPERATORS,
    GREETING_PROPERTY_KEYS,
    GREETING_TEXT_OPERATORS,
    GreetingRichMessage,
    GreetingRule,
    GreetingTemplate,
    Group,
)
from ..protocol.errors import ApiError
from . import hours

MAX_GREETINGS = 50
"""Greetings per license: each page view checks them all (in memory)."""

TEXT_TYPES = frozenset({"url_current", "url_referrer", "referrer"})
NUMBER_TYPES = frozenset({"visit_time_page", "visit_time_site", "visits_number", "pages_view_number"})
DELAY_TYPES = frozenset({"visit_time_page", "visit_time_site"})
"""Rules a page view cannot judge yet: they become the greeting's delay (``delay_of``)."""
FLAG_TYPES = {"returning_visitor": ("true", "false"), "business_hours": ("open", "closed")}
TEXT_PROPERTY = "greeting-message_text"
"""LiveChat's plain-text property of a greeting: kept as the template's ``text``."""
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
"""How ``active_from`` / ``active_until`` are kept: UTC, whole seconds, so that strings compare as times do."""

UNIQUE_ID_PURPOSE = "greeting"
UNIQUE_ID_TTL = 24 * 3600
"""How long a greeting shown may still be accepted or canceled."""


class GreetingClaims(msgspec.Struct, array_like=True):
    """What a greeting's signed ``unique_id`` says: license, customer, template, a nonce, expiry (unix seconds)."""

    org: str
    cid: str
    gid: int
    nonce: str
    exp: int


def check_rule(rule: GreetingRule) -> GreetingRule:
    """A rule's operator and value must fit its type (``validation`` otherwise); returns it as kept (this server's
    older ``referrer`` is LiveChat's ``url_referrer``)."""
    where = f"rules: {rule.type}"
    if rule.type == "referrer":
        rule = msgspec.structs.replace(rule, type="url_referrer")
    if rule.type in TEXT_TYPES:
        if rule.operator not in GREETING_TEXT_OPERATORS:
            raise ApiError("validation", f"{where}: operator {rule.operator} does not apply to text")
        if not rule.value:
            raise ApiError("validation", f"{where}: value must not be empty")
    elif rule.type in NUMBER_TYPES:
        if rule.operator not in GREETING_NUMBER_OPERATORS:
            raise ApiError("validation", f"{where}: operator {rule.operator} does not apply to numbers")
        if not rule.value.isascii() or not rule.value.isdigit() or int(rule.value) > 10**9:
            raise ApiError("validation", f"{where}: value must be a whole number of at most 10^9")
        if rule.type in DELAY_TYPES:
            if rule.operator not in ("greater_than", "greater_or_equal") or int(rule.value) > 3600:
                raise ApiError("validation", f"{where}: only greater_than or greater_or_equal, at most 3600 seconds")
            if rule.condition == "or":
                raise ApiError("validation", f"{where}: time on the page or site delays the greeting; it cannot be "
                                             "or-ed")
    else:
        allowed = FLAG_TYPES[rule.type]
        if rule.operator not in ("equals", "doesnt_equal") or rule.value not in allowed:
            raise ApiError("validation", f"{where}: equals or doesnt_equal, value one of {', '.join(allowed)}")
    return rule


def _web_url(value: str, where: str) -> None:
    """Links and images a visitor's browser will open: http(s) only (never ``javascript:`` or ``data:``)."""
    if not value.lower().startswith(("https://", "http://")) or any(c.isspace() for c in value):
        raise ApiError("validation", f"{where}: must be an http(s) URL")


def check_rich_message(rich: GreetingRichMessage) -> GreetingRichMessage:
    """A rich message a visitor can be shown: some content in every element, http(s) links and images only; each
    button gets a ``button_id`` (kept when given). Returns it as kept (without the event's ``type``)."""
    if not rich.elements:
        raise ApiError("validation", "rich_message: elements must name at least one element")
    elements = []
    for i, element in enumerate(rich.elements):
        where = f"rich_message: elements[{i}]"
        if not (element.title or element.subtitle or element.image or element.buttons):
            raise ApiError("validation", f"{where}: needs a title, subtitle, image or buttons")
        if element.image is not None:
            _web_url(element.image.url, f"{where}.image.url")
        buttons = []
        for j, button in enumerate(element.buttons or []):
            if button.type in ("url", "webview"):
                _web_url(button.value, f"{where}.buttons[{j}].value")
            elif button.type == "phone" and not button.value.strip():
                raise ApiError("validation", f"{where}.buttons[{j}].value: a phone number is needed")
            buttons.append(button if button.button_id else
                           msgspec.structs.replace(button, button_id=str(uuid.uuid4())))
        elements.append(msgspec.structs.replace(element, buttons=buttons or None))
    if rich.template_id == "sticker" and elements[0].image is None:
        raise ApiError("validation", "rich_message: a sticker shows its first element's image")
    return msgspec.structs.replace(rich, elements=elements, type=None)


def _time(value: str | None, where: str) -> str | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("z", "Z"))
        if parsed.tzinfo is None:
            raise ApiError("validation", f"{where}: an RFC 3339 date-time with its offset is needed")
        # (year 1 or 9999 with an offset has no UTC time: OverflowError)
        return parsed.astimezone(dt.UTC).strftime(TIME_FORMAT)
    except (ValueError, OverflowError):
        raise ApiError("validation", f"{where}: an RFC 3339 date-time is needed") from None


def check(template: GreetingTemplate, groups: list[Group]) -> GreetingTemplate:
    """A greeting as it will be kept, or the ``validation`` / ``group_not_found`` error that refuses it: its group,
    its rules, its rich message, its active window in UTC, LiveChat's ``properties`` (the text one becomes ``text``),
    and something to say."""
    if template.group not in {g.id for g in groups}:
        raise ApiError("group_not_found", f"Group {template.group} not found")
    rules = [check_rule(rule) for rule in template.rules]
    properties = dict(template.properties or {})
    unknown = sorted(set(properties) - GREETING_PROPERTY_KEYS)
    if unknown:
        raise ApiError("validation", f"properties: {unknown[0][:64]} is not a greeting property "
                                     f"({', '.join(sorted(GREETING_PROPERTY_KEYS))})")
    text = properties.pop(TEXT_PROPERTY, None)
    text = template.text if text is None else text.strip()
    if len(text) > 500:
        raise ApiError("validation", "properties: greeting-message_text is at most 500 characters")
    rich = check_rich_message(template.rich_message) if template.rich_message is not None else None
    if not text and rich is None:
        raise ApiError("validation", "A greeting needs text (or properties.greeting-message_text) or a rich_message")
    active_from = _time(template.active_from, "active_from")
    active_until = _time(template.active_until, "active_until")
    if active_from and active_until and active_until <= active_from:
        raise ApiError("validation", "active_until: must be after active_from")
    return msgspec.structs.replace(template, rules=rules, text=text, properties=properties or None,
                                   rich_message=rich, active_from=active_from, active_until=active_until)


def view_properties(template: GreetingTemplate) -> dict[str, str] | None:
    """LiveChat's ``properties`` of a kept greeting: its own, and its text as ``greeting-message_text``."""
    properties = dict(template.properties or {})
    if template.text:
        properties[TEXT_PROPERTY] = template.text
    return properties or None


@lru_cache(maxsize=4096)
def _pattern_parts(pattern: str) -> tuple[str, ...]:
    return tuple(pattern.lower().split("*"))


def wildcard_match(pattern: str, text: str) -> bool:
    """``*`` matches any run of characters (none included); the rest must match literally (case-insensitive).
    Linear in the text per part: no regular expressions, so no pattern can make a page view slow."""
    parts = _pattern_parts(pattern)
    text = text.lower()
    if len(parts) == 1:
        return text == parts[0]
    head, *middle, tail = parts
    if not text.startswith(head) or len(text) < len(head) + len(tail):
        return False
    pos = len(head)
    end = len(text) - len(tail)
    for part in middle:
        found = text.find(part, pos, end)
        if found < 0:
            return False
        pos = found + len(part)
    return text.endswith(tail)


@dataclass(slots=True)
class PageContext:
    """What a page view knows of the visitor, for the rules."""

    url: str
    referrer: str
    visits: int
    page_views: int
    group: Group
    now: dt.datetime


def _text(op: str, value: str, actual: str) -> bool:
    a, v = actual.lower(), value.lower()
    if op == "equals":
        return a == v
    if op == "doesnt_equal":
        return a != v
    if op == "contains":
        return v in a
    if op == "doesnt_contain":
        return v not in a
    return wildcard_match(value, actual)  # matches


def _number(op: str, value: int, actual: int) -> bool:
    if op == "equals":
        return actual == value
    if op == "doesnt_equal":
        return actual != value
    if op == "greater_than":
        return actual > value
    if op == "greater_or_equal":
        return actual >= value
    if op == "lower_or_equal":
        return actual <= value
    return actual < value  # lower_than


def _holds(rule: GreetingRule, page: PageContext) -> bool:
    t = rule.type
    if t == "url_current":
        return _text(rule.operator, rule.value, page.url)
    if t == "url_referrer" or t == "referrer":
        return _text(rule.operator, rule.value, page.referrer)
    if t == "visits_number":
        return _number(rule.operator, int(rule.value), page.visits)
    if t == "pages_view_number":
        return _number(rule.operator, int(rule.value), page.page_views)
    if t in DELAY_TYPES:
        return True  # not known at the page view: it becomes the greeting's delay (``delay_of``)
    if t == "returning_visitor":
        truth = (page.visits > 1) == (rule.value == "true")
    else:  # business_hours
        truth = hours.is_open(page.group.business_hours, page.now) == (rule.value == "open")
    return truth if rule.operator == "equals" else not truth


def matches(template: GreetingTemplate, page: PageContext) -> bool:
    """The rules, each joined to the result so far by its ``condition`` (left to right); no rules: every page."""
    result = True
    for i, rule in enumerate(template.rules):
        if i and rule.condition == "or":
            result = result or _holds(rule, page)
        else:
            result = result and _holds(rule, page)
    return result


def delay_of(template: GreetingTemplate, site_seconds: int = 0) -> int:
    """Seconds on the page before the greeting shows: its largest ``visit_time_page`` rule, or what is left of its
    ``visit_time_site`` after the ``site_seconds`` the visit has lasted (0 without either)."""
    delay = 0
    for rule in template.rules:
        if rule.type == "visit_time_page":
            delay = max(delay, int(rule.value))
        elif rule.type == "visit_time_site":
            delay = max(delay, int(rule.value) - site_seconds)
    return delay


def pick(templates: list[GreetingTemplate], page: PageContext, seen: set[int]) -> GreetingTemplate | None:
    """The first active greeting of the page's group, within its active window, that the visitor has not seen in
    this visit and whose rules the page meets."""
    now = page.now.astimezone(dt.UTC).strftime(TIME_FORMAT)
    for template in templates:
        if (template.active and template.group == page.group.id and template.id not in seen
                and (template.active_from is None or template.active_from <= now)
                and (template.active_until is None or now <= template.active_until) and matches(template, page)):
            return template
    return None


def issue_unique_id(signer: Signer, org: str, cid: str, gid: int, now: int) -> str:
    """The signed name of one showing of greeting ``gid`` to customer ``cid``."""
    return signer.sign(UNIQUE_ID_PURPOSE, GreetingClaims(org, cid, gid, secrets.token_hex(4), now + UNIQUE_ID_TTL))


def read_unique_id(signer: Signer, text: str, org: str, cid: str, now: int) -> GreetingClaims:
    """The claims of a ``unique_id`` this customer was shown; ``greeting_not_found`` for anything else (forged,
    expired, another customer's or license's)."""
    claims = signer.unsign(UNIQUE_ID_PURPOSE, text, GreetingClaims)
    if claims is None or claims.org != org or claims.cid != cid or claims.exp < now:
        raise ApiError("greeting_not_found", "Greeting not found")
    return claims


def median(values: list[int]) -> int | None:
    """The median (the lower middle for an even count); None for none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]
