"""The script registry (``widget_server/core/scripts/``): every ``.lua`` file is used, every placeholder is filled
from keys.py's names or the caller's settings, and a mismatch fails when a script is loaded, not when it runs.

The scripts themselves have a test each in ``test_scripts_<owner>.py``."""

from __future__ import annotations

from importlib import resources

import pytest

from widget_server import keys
from widget_server.core import scripts
from widget_server.core.scripts import SCRIPTS, Script, TemplateError, key


def _settings(name: str) -> dict[str, int]:
    return {setting: 7 for setting in SCRIPTS[name].settings}


def test_every_lua_file_is_a_script_or_a_library_of_one():
    """A file nobody loads is dead code that still looks maintained; a script without a file fails only when used."""
    files = {f.name.removesuffix(".lua") for f in resources.files(scripts).iterdir() if f.name.endswith(".lua")}
    libraries = {lib for spec in SCRIPTS.values() for lib in spec.uses}
    assert files == set(SCRIPTS) | libraries
    assert all(lib.startswith("_") for lib in libraries) and not any(name.startswith("_") for name in SCRIPTS)


def test_every_placeholder_of_every_script_is_filled():
    for name in SCRIPTS:
        text = scripts.source(name, **_settings(name))
        assert "${" not in text and "\0" not in text, name


async def test_every_script_compiles_on_valkey(valkey):
    """A syntax error shows here, not on a customer's first message."""
    for name in SCRIPTS:
        sha = await valkey.script_load(scripts.source(name, **_settings(name)))
        assert (await valkey.script_exists(sha)) == [True], name


def test_a_setting_missing_unknown_or_not_an_integer_raises_at_load():
    with pytest.raises(TemplateError):
        scripts.source("track_activity")
    with pytest.raises(TemplateError):
        scripts.source("track_activity", **_settings("track_activity"), EXTRA=1)
    with pytest.raises(TemplateError):
        scripts.source("put_hash", PER=1)
    with pytest.raises(TemplateError):
        scripts.source("track_activity", **{**_settings("track_activity"), "PER": "512"})
    with pytest.raises(TemplateError):
        scripts.source("no_such_script")


def test_a_placeholder_without_a_value_or_a_value_without_a_placeholder_raises(monkeypatch):
    """The check is on the text: a key name a script no longer uses, or one it uses but nobody declared, is an error
    of the registry's table, found when the script is loaded."""
    monkeypatch.setitem(SCRIPTS, "put_hash", Script(names={"UNUSED": "'x'"}))
    monkeypatch.setitem(SCRIPTS, "send_event", Script(uses=("_append",)))
    scripts._source.cache_clear()
    try:
        with pytest.raises(TemplateError, match="UNUSED"):
            scripts.source("put_hash")
        with pytest.raises(TemplateError, match="THREAD"):
            scripts.source("send_event")
    finally:
        scripts._source.cache_clear()


async def test_key_names_written_into_lua_are_the_names_keys_py_gives(valkey):
    """keys.py holds the one definition of every name: the Lua expression evaluates to exactly its result."""
    cases = [
        (keys.thread, {"chat": "c-1", "tid": "t-9"}),
        (keys.thread_events, {"chat": "c-1", "tid": "t-9"}),
        (keys.user_channel, {"user": "agent@example.com"}),
        (keys.tracking_records, {"org": "o1", "bucket": "12"}),
        (keys.invitation, {"org": "o1", "cid": "v'1"}),
        (keys.tracking_bans, {"org": "o1"}),
    ]
    for name, values in cases:
        prelude = "".join(f"local {v} = ARGV[{i + 1}] " for i, v in enumerate(values))
        got = await valkey.eval(prelude + "return " + key(name, *values), 0, *values.values())
        assert got == name(*values.values()).encode()
    assert key(keys.thread, "chat", "tid") == "'ws:{' .. chat .. '}:t:' .. tid"


def test_key_refuses_what_it_cannot_write_as_lua():
    with pytest.raises(TemplateError):
        key(keys.thread, "chat", "not a name")
    with pytest.raises(TemplateError):
        key(lambda a, b: f"x:{b}:{a}", "a", "b")  # arguments out of order
    with pytest.raises(TemplateError):
        key(lambda a: "x:constant", "a")  # an argument not used
