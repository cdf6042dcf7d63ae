"""Valkey Lua scripts: one ``.lua`` file per script in this folder, and the one place that turns a file into a
registered script (``register``).

A script's text is its libraries (the files named ``_*.lua``: Lua functions that several scripts share), then its own
file, with every ``${NAME}`` placeholder filled at load time from what ``SCRIPTS`` declares for it:

- key names: ``key(keys.thread, "chat", "tid")`` is the name ``keys.py`` gives, written as a Lua expression over the
  script's variables (``'ws:{' .. chat .. '}:t:' .. tid``), so a name has one definition, in keys.py. A script that
  names keys besides its KEYS takes their hash tag from one of its KEYS, so every key it touches stays in that key's
  cluster slot. Written into the text, not passed as ARGV: the hot scripts (a page view, a message) pack and send no
  value they do not need.
- settings its caller gives (``register(valkey, "track_activity", PER=512, …)``), integers written as Lua numbers: one
  script per configuration.

A placeholder without a value, or a value without its placeholder, raises when the script is loaded, not when it runs.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any, NamedTuple

from ... import keys


class TemplateError(ValueError):
    """A script's placeholders and the values declared or given for it do not match."""


_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _lua_string(text: str) -> str:
    if any(ord(c) < 32 for c in text):
        raise TemplateError(f"a control character in {text!r}")
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def key(name: Callable[..., str], *variables: str) -> str:
    """The key name ``name(*variables)`` as a Lua expression: the text keys.py puts around its arguments, joined to
    the script's Lua variables called ``variables`` (each used once, in order, as every key function does)."""
    marks = [f"\0{i}\0" for i in range(len(variables))]
    rest = name(*marks)
    parts: list[str] = []
    for mark, variable in zip(marks, variables):
        if not _IDENTIFIER.fullmatch(variable):
            raise TemplateError(f"{variable!r} is not a Lua variable name")
        before, found, rest = rest.partition(mark)
        if not found or any(m in before for m in marks):
            raise TemplateError(f"{name.__name__} does not name its arguments once each, in order")
        if before:
            parts.append(_lua_string(before))
        parts.append(variable)
    if rest:
        parts.append(_lua_string(rest))
    return " .. ".join(parts)


class Script(NamedTuple):
    uses: tuple[str, ...] = ()
    """Libraries (``_<name>.lua``) put before the script's own text, in this order."""
    names: Mapping[str, str] = {}
    """Placeholder -> a key name as a Lua expression (``key``)."""
    settings: tuple[str, ...] = ()
    """Placeholders the caller of ``register`` fills with integers."""


_TRACKING_NAMES = {
    "BANS": key(keys.tracking_bans, "org"),
    "IDS_SEQ": key(keys.tracking_seq, "org"),
    "FREE_IDS": key(keys.tracking_free_ids, "org"),
    "RECORDS": key(keys.tracking_records, "org", "bucket"),
    "VISIT": key(keys.tracking_visit, "org", "id"),
    "USER_AGENTS": key(keys.tracking_user_agents, "org", "period"),
    "ONLINE": key(keys.tracking_online, "org", "slot"),
    "DAY": key(keys.tracking_day, "org", "day"),
    "UNIQUES": key(keys.tracking_uniques, "org", "day"),
    "WATCH": key(keys.tracking_watch, "org"),
    "INVITATION": key(keys.invitation, "org", "cid"),
}

SCRIPTS: dict[str, Script] = {
    # core/store.py
    "append_events": Script(uses=("_append",), settings=("CHAT_MAX_EVENTS",)),
    "send_event": Script(uses=("_append",), names={
        "THREAD": key(keys.thread, "chat", "tid"),
        "EVENTS": key(keys.thread_events, "chat", "tid"),
        "USER_CHANNEL": key(keys.user_channel, "user"),
    }, settings=("CHAT_MAX_EVENTS",)),
    "close_thread": Script(uses=("_append",)),
    "open_thread": Script(),
    "put_hash": Script(),
    "put_upload": Script(),
    "keep_file": Script(),
    "update_hash": Script(),
    "set_if_unchanged": Script(),
    "set_string_if_unchanged": Script(),
    "add_connection": Script(),
    "customer_visit": Script(settings=("TTL",)),
    "customer_with_chat_ids": Script(),
    # core/migrations.py
    "expire_browsing_customer": Script(),
    # core/archives.py
    "archive_add": Script(names={"REPORT_HOUR": key(keys.report_hour, "org", "hour")}),
    "archive_search": Script(),
    # core/retention.py
    "forget_chat": Script(),
    # core/routing.py
    "route_chat": Script(uses=("_pick_agent",), names={"AGENT_CHATS": key(keys.agent_chats, "org", "a")}),
    "route_queued_chat": Script(uses=("_pick_agent",), names={"AGENT_CHATS": key(keys.agent_chats, "org", "a")}),
    "predict_agent": Script(uses=("_pick_agent",)),
    "take_chat": Script(),
    "release_chat": Script(),
    # core/inactivity.py
    "idle_chat": Script(),
    "wake_chat": Script(),
    "mark_idle": Script(),
    "claim_transfer": Script(),
    # core/repair.py
    "recount_load": Script(names={"AGENT_CHATS": key(keys.agent_chats, "org", "a"),
                                  "AGENT_IDLE": key(keys.agent_idle_chats, "org", "a")}),
    "release_lock": Script(),
    "drop_repair_license": Script(),
    # core/tickets.py
    "open_ticket": Script(),
    "ticket_message": Script(),
    "ticket_fields": Script(),
    # core/webhooks.py
    "pump_webhook_retries": Script(),
    "finish_webhook_delivery": Script(),
    # mail/outbox.py
    "enqueue_mail": Script(),
    "claim_mail": Script(names={"MESSAGE": key(keys.mail_message, "id")}),
    "settle_mail": Script(names={"PENDING": key(keys.mail_pending, "org"), "FAILED": key(keys.mail_failed, "org")}),
    # tracking/tracker.py
    "track_activity": Script(names=_TRACKING_NAMES,
                             settings=("PER", "GAP", "RETENTION", "SLOT", "BITMAP_TTL", "DAY_TTL", "PAGES")),
    "read_visitor": Script(),
    "list_online": Script(),
    "sweep_visitors": Script(),
    # tracking/index.py
    "scan_visitors": Script(),
    "visitor_departures": Script(),
    # widget/versions.py
    "save_wizard_version": Script(),
    # core/reports.py
    "report_rating": Script(),
    "report_status": Script(names={"REPORT_HOUR": key(keys.report_hour, "org", "hour")}),
    # core/canned.py
    "canned_put": Script(),
}


@functools.cache
def _read(name: str) -> str:
    return resources.files(__name__).joinpath(f"{name}.lua").read_text(encoding="utf-8")


@functools.lru_cache(maxsize=64)
def _source(name: str, settings: tuple[tuple[str, int], ...]) -> str:
    spec = SCRIPTS.get(name)
    if spec is None:
        raise TemplateError(f"no script {name!r}")
    given = dict(settings)
    if set(given) != set(spec.settings):
        raise TemplateError(f"{name}: settings {sorted(spec.settings)} expected, {sorted(given)} given")
    values = dict(spec.names)
    for setting, value in given.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise TemplateError(f"{name}: setting {setting} is not an integer: {value!r}")
        if setting in values:
            raise TemplateError(f"{name}: {setting} is both a key name and a setting")
        values[setting] = str(value)
    text = "".join(_read(part) for part in (*spec.uses, name))
    found = set(_PLACEHOLDER.findall(text))
    if found != set(values):
        raise TemplateError(f"{name}: placeholders without a value {sorted(found - set(values))}, "
                            f"values without a placeholder {sorted(set(values) - found)}")
    return _PLACEHOLDER.sub(lambda m: values[m[1]], text)


def source(name: str, **settings: int) -> str:
    """The Lua text of script ``name`` (a key of ``SCRIPTS``) with its placeholders filled; raises TemplateError
    when they do not match what the script declares and ``settings`` gives."""
    return _source(name, tuple(sorted(settings.items())))


def register(valkey: Any, name: str, **settings: int) -> Any:
    """Script ``name`` registered on ``valkey`` (``valkey.register_script``): call it with ``keys=`` and ``args=``."""
    return valkey.register_script(source(name, **settings))
