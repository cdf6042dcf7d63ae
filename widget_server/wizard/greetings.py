"""The wizard's greetings editor: one plain form for a new automatic greeting, read here field by field into the
Configuration API's ``create_greeting`` request (whose checks still apply: ``core/greetings.py``), with an error next
to each field that needs a change; and a short description of a saved greeting's rules for the list.

The form's fields: ``name``, ``text``, ``group``, ``active`` (a checkbox), ``url_operator`` (``any``, ``contains``,
``equals``, ``matches``, ``doesnt_contain``) with ``url_value``, ``time_on_page`` (seconds), ``min_visits``,
``referrer`` (a part of the referring address), ``visitor`` (``any``, ``new``, ``returning``) and ``hours``
(``any``, ``open``, ``closed``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..protocol import configuration as cf
from ..protocol.config import GreetingRule, GreetingTemplate

URL_OPERATORS = {"any": "Any page", "contains": "contains", "equals": "is exactly", "matches": "matches (* = anything)",
                 "doesnt_contain": "does not contain"}
VISITORS = {"any": "Any visitor", "new": "New visitors only", "returning": "Returning visitors only"}
HOURS = {"any": "Any time", "open": "Inside business hours", "closed": "Outside business hours"}
LIMITS = {"name": 80, "text": 500, "url_value": 512, "referrer": 512}

RULE_TEXT = {
    "url_current": "page address {operator} “{value}”",
    "url_referrer": "came from an address that {operator} “{value}”",
    "referrer": "came from an address that {operator} “{value}”",
    "visit_time_page": "after {value} s on the page",
    "visit_time_site": "after {value} s on the site",
    "visits_number": "visits {operator} {value}",
    "pages_view_number": "page views {operator} {value}",
    "returning_visitor": "returning visitor: {value}",
    "business_hours": "business hours: {value}",
}
OPERATOR_TEXT = {"equals": "is", "doesnt_equal": "is not", "contains": "contains", "doesnt_contain": "does not contain",
                 "matches": "matches", "greater_than": ">", "greater_or_equal": "≥", "lower_than": "<",
                 "lower_or_equal": "≤"}


@dataclass
class Parsed:
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    request: cf.CreateGreetingRequest | None = None


def blank() -> dict[str, str]:
    return {"name": "", "text": "", "group": "0", "active": "on", "url_operator": "any", "url_value": "",
            "time_on_page": "", "min_visits": "", "referrer": "", "visitor": "any", "hours": "any"}


def _number(values: dict[str, str], errors: dict[str, str], name: str, high: int, message: str) -> int | None:
    raw = values[name].strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 <= int(raw) <= high:
        errors[name] = message
        return None
    return int(raw)


def parse(form: Any, group_ids: set[int]) -> Parsed:
    values = blank()
    for name in values:
        values[name] = str(form.get(name) or "")[:LIMITS.get(name, 20)]
    values["active"] = "on" if form.get("active") else ""
    parsed = Parsed(values)
    errors = parsed.errors
    for name, label in (("name", "Give the greeting a name."), ("text", "Write what the greeting says.")):
        if not values[name].strip():
            errors[name] = label
    group = values["group"]
    if not group.isdigit() or int(group) not in group_ids:
        errors["group"] = "Choose one of the groups."
    rules: list[GreetingRule] = []
    operator = values["url_operator"]
    if operator not in URL_OPERATORS:
        errors["url_operator"] = "Choose how the page address is compared."
    elif operator != "any":
        if not values["url_value"].strip():
            errors["url_value"] = "Write the address, or a part of it, to compare with."
        else:
            rules.append(GreetingRule(type="url_current", operator=operator,  # type: ignore[arg-type]
                                      value=values["url_value"].strip()))
    seconds = _number(values, errors, "time_on_page", 3600, "A number of seconds from 0 to 3600.")
    if seconds:
        rules.append(GreetingRule(type="visit_time_page", operator="greater_than", value=str(seconds)))
    visits = _number(values, errors, "min_visits", 100000, "A number of visits from 0 to 100000.")
    if visits:
        rules.append(GreetingRule(type="visits_number", operator="greater_than", value=str(visits - 1)))
    if values["referrer"].strip():
        rules.append(GreetingRule(type="url_referrer", operator="contains", value=values["referrer"].strip()))
    if values["visitor"] not in VISITORS:
        errors["visitor"] = "Choose which visitors to greet."
    elif values["visitor"] != "any":
        rules.append(GreetingRule(type="returning_visitor", value="true" if values["visitor"] == "returning" else "false"))
    if values["hours"] not in HOURS:
        errors["hours"] = "Choose when to greet."
    elif values["hours"] != "any":
        rules.append(GreetingRule(type="business_hours", value=values["hours"]))
    if not errors:
        parsed.request = cf.CreateGreetingRequest(name=values["name"].strip(), text=values["text"].strip(),
                                                  group=int(group), active=bool(values["active"]), rules=rules)
    return parsed


def describe(template: GreetingTemplate) -> str:
    """The rules in a few words, for the list of saved greetings."""
    parts = [RULE_TEXT[r.type].format(operator=OPERATOR_TEXT[r.operator], value=r.value) for r in template.rules]
    joined = ""
    for i, (rule, part) in enumerate(zip(template.rules, parts)):
        joined += (f" {rule.condition} " if i else "") + part
    return joined or "every page"
