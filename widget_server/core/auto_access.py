"""Auto access: rules that send a customer's new chat to groups by the page they are on and where they are
(Configuration API ``add_auto_access``, ``list_auto_accesses``, ``update_auto_access``, ``delete_auto_access``), the
``auto_accesses_updated`` push and webhooks, and the matching routing uses (``groups_for``).

The rules are kept in order in the license configuration (every worker caches it, so a chat's start checks them
without a Valkey call of its own); LiveChat's ``next_id`` links are derived from that order when listed and turned
into moves when written. A rule matches when every condition it has holds:

- ``url``: the customer's current page URL equals a value (``exact_match``) or contains it; with
  ``exclude_values``, when none of them does;
- ``domain``: the same on the host name of that URL (letter case aside);
- ``geolocation``: one of the values has every field it gives equal to the customer's location (letter case aside),
  which the server knows only behind a trusted proxy (``WIDGET_TRUSTED_PROXY_HEADERS``, ``web/client.py``).

The current page and location are the tracker's (``tracking/``): the last page view of the visit (the loader's
``/v1/track`` or the RTM ``login``/``update_customer_page``) and the visit's location.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import msgspec

from .. import keys
from ..protocol import configuration as cf
from ..protocol import customer as c
from ..protocol.config import (
    AutoAccessConditions,
    AutoAccessRule,
    GeolocationValue,
    LicenseConfig,
    MatchCondition,
    MatchValue,
)
from ..protocol.errors import ApiError
from .bus import Bus
from .ids import uuid_id
from .limits import MAX_AUTO_ACCESSES, check_config_part
from .store import Store
from .webhooks import Webhooks

_EMPTY = c.Empty()


# --- matching --------------------------------------------------------------------------------------------------------

def _one_matches(values: list[MatchValue], subject: str, fold: bool) -> bool:
    if fold:
        subject = subject.lower()
    for v in values:
        value = v.value.lower() if fold else v.value
        if (subject == value) if v.exact_match else (value in subject):
            return True
    return False


def _text_holds(condition: MatchCondition | None, subject: str | None, fold: bool) -> bool:
    if condition is None:
        return True
    if not subject:
        return False  # nothing known to match against
    if condition.values is not None and not _one_matches(condition.values, subject, fold):
        return False
    return not (condition.exclude_values is not None and _one_matches(condition.exclude_values, subject, fold))


def _place_matches(value: GeolocationValue, place: dict[str, str]) -> bool:
    return all(getattr(value, name) is None or getattr(value, name).lower() == (place.get(name) or "").lower()
               for name in ("country", "country_code", "region", "city"))


def matches(conditions: AutoAccessConditions, url: str | None, place: dict[str, str]) -> bool:
    """Whether every condition of a rule holds for a customer on ``url`` at ``place`` (country, country_code, region,
    city; "" unknown)."""
    domain = (urlsplit(url).hostname or "") if url else ""
    if not _text_holds(conditions.url, url, fold=False):
        return False
    if not _text_holds(conditions.domain, domain, fold=True):
        return False
    geo = conditions.geolocation
    return geo is None or any(_place_matches(v, place) for v in geo.values)


def groups_for(config: LicenseConfig, url: str | None, place: dict[str, str]) -> list[int] | None:
    """The groups of the first rule that matches (those of them that still exist), or None."""
    known = {g.id for g in config.groups}
    for rule in config.auto_accesses:
        if matches(rule.conditions, url, place):
            groups = [g for g in rule.access.groups if g in known]
            if groups:
                return groups
    return None


# --- the Configuration API methods -----------------------------------------------------------------------------------

def _check_conditions(conditions: AutoAccessConditions) -> None:
    if conditions.url is None and conditions.domain is None and conditions.geolocation is None:
        raise ApiError("validation", "conditions: at least one of url, domain, geolocation is required")
    for name in ("url", "domain"):
        condition = getattr(conditions, name)
        if condition is not None and (condition.values is None) == (condition.exclude_values is None):
            raise ApiError("validation", f"conditions.{name}: exactly one of values, exclude_values is required")
    for i, value in enumerate(conditions.geolocation.values if conditions.geolocation else ()):
        if value == GeolocationValue():
            raise ApiError("validation", f"conditions.geolocation.values[{i}]: at least one field is required")


def _view(rules: list[AutoAccessRule], i: int) -> cf.AutoAccessView:
    rule = rules[i]
    return cf.AutoAccessView(id=rule.id, description=rule.description, access=rule.access,
                             conditions=rule.conditions, next_id=rules[i + 1].id if i + 1 < len(rules) else "")


def _next_ids(rules: list[AutoAccessRule]) -> dict[str, str]:
    return {r.id: (rules[i + 1].id if i + 1 < len(rules) else "") for i, r in enumerate(rules)}


def _place_before(rules: list[AutoAccessRule], rule: AutoAccessRule, next_id: str) -> None:
    """Put ``rule`` (not in ``rules``) before the rule ``next_id``, or last for ""."""
    if not next_id:
        rules.append(rule)
        return
    at = next((i for i, r in enumerate(rules) if r.id == next_id), None)
    if at is None:
        raise ApiError("not_found", f"next_id: auto access {next_id} not found")
    rules.insert(at, rule)


def changes(before: list[AutoAccessRule], after: list[AutoAccessRule], touched: dict[str, dict[str, Any]]) -> list:
    """The ``auto_accesses_updated`` payload (LiveChat's): an added rule whole with ``status: added``, a changed one
    with its changed fields (``touched``) and its new ``next_id`` if that moved, ``status: updated``, and
    ``{id, status: deleted}``."""
    old_next, new_next = _next_ids(before), _next_ids(after)
    out: list[dict[str, Any]] = []
    for i, rule in enumerate(after):
        if rule.id not in old_next:
            out.append({**msgspec.to_builtins(_view(after, i)), "status": "added"})
            continue
        item = dict(touched.get(rule.id, {}))
        if old_next[rule.id] != new_next[rule.id]:
            item["next_id"] = new_next[rule.id]
        if item:
            out.append({"id": rule.id, **item, "status": "updated"})
    out.extend({"id": rule_id, "status": "deleted"} for rule_id in old_next if rule_id not in new_next)
    return out


class AutoAccessConfiguration:
    """The auto access methods of ``ConfigurationCore`` (a mixin: it uses the core's store, bus and webhooks)."""

    store: Store
    bus: Bus
    webhooks: Webhooks

    async def _check_groups(self, org: str, groups: list[int]) -> None:
        known = {g.id for g in (await self.store.license_config(org)).groups}
        for gid in groups:
            if gid not in known:
                raise ApiError("group_not_found", f"Group {gid} not found", {"group_id": gid})

    async def _change_rules(self, org: str, mutate: Any, touched: dict[str, dict[str, Any]]) -> Any:
        """Change the rules by compare-and-set, then tell the license's agents and webhooks what changed."""
        seen: dict[str, list[AutoAccessRule]] = {}

        def change(config: LicenseConfig) -> Any:
            seen["before"] = list(config.auto_accesses)
            result = mutate(config.auto_accesses)
            check_config_part(config.auto_accesses, "auto access rules")
            seen["after"] = list(config.auto_accesses)
            return result

        result = await self.store.update_license_config(org, change)
        payload = changes(seen["before"], seen["after"], touched)
        if payload:
            await self.bus.publish([keys.agents_feed(org)], "auto_accesses_updated", payload)
            await self.webhooks.emit(org, "auto_accesses_updated", payload)
            for item in payload:  # the one-change-per-webhook names the official SDK's parser knows
                fields = {k: v for k, v in item.items() if k != "status"}
                await self.webhooks.emit(org, f"auto_access_{item['status']}", fields)
        return result

    async def add_auto_access(self, caller: Any, req: cf.AddAutoAccessRequest) -> cf.AddAutoAccessResponse:
        _check_conditions(req.conditions)
        await self._check_groups(caller.org, req.access.groups)
        rule = AutoAccessRule(id=uuid_id().replace("-", ""), description=req.description, access=req.access,
                              conditions=req.conditions)

        def add(rules: list[AutoAccessRule]) -> None:
            if len(rules) >= MAX_AUTO_ACCESSES:
                raise ApiError("limit_reached", f"A license has at most {MAX_AUTO_ACCESSES} auto access rules")
            _place_before(rules, rule, req.next_id or "")

        await self._change_rules(caller.org, add, {})
        return cf.AddAutoAccessResponse(id=rule.id)

    async def list_auto_accesses(self, caller: Any, req: Any) -> list[cf.AutoAccessView]:
        rules = (await self.store.license_config(caller.org)).auto_accesses
        return [_view(rules, i) for i in range(len(rules))]

    async def update_auto_access(self, caller: Any, req: cf.UpdateAutoAccessRequest) -> c.Empty:
        if req.conditions is not None:
            _check_conditions(req.conditions)
        if req.access is not None:
            await self._check_groups(caller.org, req.access.groups)
        if req.next_id == req.id:
            raise ApiError("validation", "next_id: a rule cannot go before itself")
        fields = {name: getattr(req, name) for name in ("description", "access", "conditions")
                  if getattr(req, name) is not None}

        def update(rules: list[AutoAccessRule]) -> None:
            at = next((i for i, r in enumerate(rules) if r.id == req.id), None)
            if at is None:
                raise ApiError("not_found", f"Auto access {req.id} not found")
            rule = msgspec.structs.replace(rules[at], **fields)
            if req.next_id is None:
                rules[at] = rule
            else:
                del rules[at]
                _place_before(rules, rule, req.next_id)

        await self._change_rules(caller.org, update, {req.id: msgspec.to_builtins(fields)})
        return _EMPTY

    async def delete_auto_access(self, caller: Any, req: cf.AutoAccessIdRequest) -> c.Empty:
        def delete(rules: list[AutoAccessRule]) -> None:
            if not any(r.id == req.id for r in rules):
                raise ApiError("not_found", f"Auto access {req.id} not found")
            rules[:] = [r for r in rules if r.id != req.id]

        await self._change_rules(caller.org, delete, {})
        return _EMPTY
