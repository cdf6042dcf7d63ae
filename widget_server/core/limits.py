"""Bounds on the free-form JSON clients send (properties, custom event content, form answers, rich message
``ecommerce``, ``customer_side_storage`` …) and the defences of the reads against what is already stored.

One check (``check_request``) runs on every decoded request of every API, before any core sees it: msgspec's types
bound the typed fields, this bounds what the types leave open. Depth is counted from the Struct field that holds a
value, so ``{"ns": {"name": value}}`` properties leave ``json_max_depth - 2`` levels to the value.

Reads never trust stored data to be within today's limits (a value stored before them, or under a higher setting):
``read_properties`` and ``read_event`` serve a value nested deeper than ``MAX_READABLE_DEPTH`` as absent instead of
failing the whole answer with a RecursionError (which took agents' login and list_chats down with it).
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from ..protocol.errors import ApiError
from ..protocol.events import Custom, Event
from ..settings import MAX_READABLE_DEPTH, Settings

log = logging.getLogger("widget_server.limits")

_props_decoder = msgspec.json.Decoder(dict[str, dict[str, Any]])
_event_decoder = msgspec.json.Decoder(Event)
_UNREADABLE = RecursionError
"""What nesting too deep for msgspec raises. Anything else a stored value fails with (not JSON, a wrong shape) is a
bug or a corruption to hear about (an ``internal`` error, logged), not a client's doing."""


def check_request(request: Any, settings: Settings) -> None:
    """Raise a ``validation`` error when a decoded request nests a free-form value deeper than ``json_max_depth``,
    carries more than ``json_max_items`` values in its free-form parts, or any string (or key) longer than
    ``json_max_string``. Iterative: a hostile value cannot exhaust the stack here."""
    max_depth, max_items, max_string = settings.json_max_depth, settings.json_max_items, settings.json_max_string
    items = 0
    stack: list[tuple[Any, int, str]] = [(request, 0, "payload")]
    while stack:
        value, depth, where = stack.pop()
        if isinstance(value, str):
            if len(value) > max_string:
                raise ApiError("validation", f"{where}: a string is longer than {max_string} characters")
        elif isinstance(value, msgspec.Struct):
            for name in value.__struct_fields__:
                field = getattr(value, name)
                if field is not None:
                    stack.append((field, 0, f"{where}.{name}"))
        elif isinstance(value, (dict, list, tuple)):
            depth += 1
            if depth > max_depth:
                raise ApiError("validation", f"{where}: nested deeper than {max_depth} levels")
            items += len(value)
            if items > max_items:
                raise ApiError("validation", f"{where}: more than {max_items} values in one request")
            if isinstance(value, dict):
                for key, item in value.items():
                    if isinstance(key, str) and len(key) > max_string:
                        raise ApiError("validation", f"{where}: a key is longer than {max_string} characters")
                    stack.append((item, depth, where))
            else:
                stack.extend((item, depth, where) for item in value)


def too_deep(value: Any, limit: int = MAX_READABLE_DEPTH) -> bool:
    """Whether a JSON value nests deeper than ``limit`` objects and arrays (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > limit:
                return True
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            if depth > limit:
                return True
            stack.extend((v, depth + 1) for v in item)
    return False


def read_properties(raw: str | bytes | None, where: str = "properties") -> dict[str, dict[str, Any]]:
    """Stored properties as served: a value too deep to serve is left out (and logged) instead of failing the answer
    with a RecursionError."""
    if not raw:
        return {}
    try:
        props = _props_decoder.decode(raw)
    except _UNREADABLE:
        log.warning("stored %s (%d bytes) too deep to decode: served as {}", where, len(raw))
        return {}
    if not too_deep(props):
        return props
    log.warning("stored %s nested deeper than %d levels: those values are not served", where, MAX_READABLE_DEPTH)
    return {ns: {name: v for name, v in values.items() if not too_deep(v, MAX_READABLE_DEPTH - 2)}
            for ns, values in props.items()}


def readable(value: Any) -> Any:
    """A decoded Struct (an event, a last event) with every free-form field nested deeper than
    ``MAX_READABLE_DEPTH`` set to None; the same object when nothing is."""
    if isinstance(value, list):
        out = [readable(v) for v in value]
        return out if any(a is not b for a, b in zip(out, value)) else value
    if not isinstance(value, msgspec.Struct):
        return value
    changes = {}
    for name in value.__struct_fields__:
        field = getattr(value, name)
        if isinstance(field, msgspec.Struct) or (isinstance(field, list) and field
                                                  and isinstance(field[0], msgspec.Struct)):
            new = readable(field)
            if new is not field:
                changes[name] = new
        elif isinstance(field, (dict, list)) and too_deep(field):
            changes[name] = None
    if not changes:
        return value
    log.warning("stored %s nested deeper than %d levels: %s not served", type(value).__name__, MAX_READABLE_DEPTH,
                ", ".join(changes))
    return msgspec.structs.replace(value, **changes)


def read_event(raw: bytes | str) -> Event:
    """A stored event as served (``readable``). One nested too deep to decode at all becomes an agents-only custom
    event that keeps its id, so a thread still lists and pages."""
    try:
        return readable(_event_decoder.decode(raw))
    except _UNREADABLE:
        data = raw.encode() if isinstance(raw, str) else raw
        event_id = data[7:data.find(b'"', 7)].decode(errors="replace") if data.startswith(b'{"id":"') else None
        log.warning("stored event %s (%d bytes) too deep to decode: served as an empty custom event", event_id,
                    len(data))
        return Custom(id=event_id, visibility="agents", recipients="agents")


def check_config_part(value: object, what: str, limit: int | None = None) -> None:
    """Raise ``limit_reached`` when ``value`` (a part of a license's configuration) encodes to more than ``limit``
    bytes (``MAX_CONFIG_PART_BYTES`` unless told)."""
    limit = MAX_CONFIG_PART_BYTES if limit is None else limit
    size = len(msgspec.json.encode(value))
    if size > limit:
        raise ApiError("limit_reached", f"{what}: {size} bytes is more than the {limit} bytes allowed")


def check_properties_size(props: dict[str, dict[str, Any]], limit: int) -> None:
    """Raise ``limit_reached`` when properties (a chat's, a thread's or an event's, all namespaces) would be stored
    larger than ``limit`` bytes encoded."""
    size = len(msgspec.json.encode(props))
    if size > limit:
        raise ApiError("limit_reached", f"properties: {size} bytes is more than the {limit} bytes allowed")


# --- what a license's configuration may hold (Configuration API; owners and administrators only) --------------------

MAX_TAGS = 1000
"""Tags of one license (``create_tag``): ``limit_reached`` beyond."""
MAX_AUTO_ACCESSES = 100
"""Auto access rules of one license (``add_auto_access``); each is checked at every customer's chat start."""
MAX_PROPERTY_DEFINITIONS = 200
"""Registered properties of one license (``register_property``); they are kept in the license configuration."""
MAX_CONFIG_PROPERTIES_BYTES = 32768
"""License properties, and the properties of one group, encoded (``update_license_properties``,
``update_group_properties``): both ride in the configuration every page view reads."""
MAX_CONFIG_PART_BYTES = 65536
"""Each of these, encoded, across the license: registered property definitions, all groups' properties, auto access
rules. Each request is within the JSON limits, but many of them would otherwise grow the configuration every page
view reads without end."""
