"""Automatic greetings: checking the rules an owner saves, and matching them against a page view.

Pure functions over ``protocol.config.GreetingTemplate``: the widget's visit and page-view calls run ``pick`` on the
license configuration they read anyway (kept in the worker by ``Store.license_config``), so a page view costs no
Valkey call for greetings. A greeting shown is named by a signed ``unique_id`` (``GreetingClaims``): accepting or
canceling it needs no stored record, and nothing an anonymous visitor does creates one."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from functools import lru_cache

import msgspec

from ..auth.signing import Signer
from ..protocol.config import GREETING_NUMBER_OPERATORS, GREETING_TEXT_OPERATORS, GreetingRule, GreetingTemplate, Group
from ..protocol.errors import ApiError
from . import hours

MAX_GREETINGS = 50
"""Greetings per license: each page view checks them all (in memory)."""

TEXT_TYPES = frozenset({"url_current", "referrer"})
NUMBER_TYPES = frozenset({"visit_time_page", "visits_number", "pages_view_number"})
FLAG_TYPES = {"returning_visitor": ("true", "false"), "business_hours": ("open", "closed")}

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


def check_rule(rule: GreetingRule) -> None:
    """A rule's operator and value must fit its type (``validation`` otherwise)."""
    where = f"rules: {rule.type}"
    if rule.type in TEXT_TYPES:
        if rule.operator not in GREETING_TEXT_OPERATORS:
            raise ApiError("validation", f"{where}: operator {rule.operator} does not apply to text")
        if not rule.value:
            raise ApiError("validation", f"{where}: value must not be empty")
    elif rule.type in NUMBER_TYPES:
        if rule.operator not in GREETING_NUMBER_OPERATORS:
            raise ApiError("validation", f"{where}: operator {rule.operator} does not apply to numbers")
        if not rule.value.isdigit() or int(rule.value) > 10**9:
            raise ApiError("validation", f"{where}: value must be a whole number of at most 10^9")
        if rule.type == "visit_time_page" and (rule.operator != "greater_than" or int(rule.value) > 3600):
            raise ApiError("validation", f"{where}: only greater_than, at most 3600 seconds")
        if rule.type == "visit_time_page" and rule.condition == "or":
            raise ApiError("validation", f"{where}: time on page delays the greeting; it cannot be or-ed")
    else:
        allowed = FLAG_TYPES[rule.type]
        if rule.operator not in ("equals", "doesnt_equal") or rule.value not in allowed:
            raise ApiError("validation", f"{where}: equals or doesnt_equal, value one of {', '.join(allowed)}")


def check(template: GreetingTemplate, groups: list[Group]) -> None:
    if template.group not in {g.id for g in groups}:
        raise ApiError("group_not_found", f"Group {template.group} not found")
    for rule in template.rules:
        check_rule(rule)


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
    return actual < value  # lower_than


def _holds(rule: GreetingRule, page: PageContext) -> bool:
    t = rule.type
    if t == "url_current":
        return _text(rule.operator, rule.value, page.url)
    if t == "referrer":
        return _text(rule.operator, rule.value, page.referrer)
    if t == "visits_number":
        return _number(rule.operator, int(rule.value), page.visits)
    if t == "pages_view_number":
        return _number(rule.operator, int(rule.value), page.page_views)
    if t == "visit_time_page":
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


def delay_of(template: GreetingTemplate) -> int:
    """Seconds on the page before the greeting shows: its largest ``visit_time_page`` rule (0 without one)."""
    return max((int(r.value) for r in template.rules if r.type == "visit_time_page"), default=0)


def pick(templates: list[GreetingTemplate], page: PageContext, seen: set[int]) -> GreetingTemplate | None:
    """The first active greeting of the page's group that the visitor has not seen in this visit and whose rules
    the page meets."""
    for template in templates:
        if template.active and template.group == page.group.id and template.id not in seen and matches(template, page):
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
