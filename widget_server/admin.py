"""The CLI's commands on the store: ``migrate``, ``backup``, ``restore``, ``create-license``, ``create-agent``,
``reset-password`` (``__main__.py`` parses the arguments and calls these).

Each works on the Valkey the server uses: ``WIDGET_VALKEY_URL``, else the embedded one of ``--data-dir`` (the running
server's, through its socket, when one runs; else started for the command and stopped after it). Secrets made here
(passwords, tokens) are printed once, to the terminal that asked for them, never to a log.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import secrets
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import keys
from .settings import Settings, load_settings

log = logging.getLogger("widget_server.admin")

ROLES = ("normal", "administrator", "viceowner")
"""Roles ``create-agent`` gives (a license has one owner, made with it)."""
MIN_PASSWORD = 12
"""The shortest password ``create-license`` and ``reset-password`` accept (a generated one is 16 characters)."""


_EMAIL = re.compile(r"[^@\s{}]+@[^@\s{}]+\.[^@\s{}]+")
"""An e-mail address as an account id: no spaces or braces (it is a key's hash tag: ``keys.agent_account``)."""
MAX_EMAIL = 254
MAX_NAME = 100


def _email(given: str) -> str:
    if len(given) > MAX_EMAIL or not _EMAIL.fullmatch(given):
        raise ValueError(f"{given[:MAX_EMAIL]!r} is not an e-mail address")
    return given


def _password(given: str | None) -> str:
    if given is None:
        return secrets.token_urlsafe(12)
    if len(given) < MIN_PASSWORD or len(given) > 1024:
        raise ValueError(f"a password has {MIN_PASSWORD} to 1024 characters")
    return given


def _running_socket(data_dir: str) -> Path | None:
    """The embedded Valkey's socket of a server running on ``data_dir``, if it answers."""
    import valkey

    sock = Path(data_dir).resolve() / "valkey" / "valkey.sock"
    if not sock.exists():
        return None
    try:
        client = valkey.Valkey(unix_socket_path=str(sock), socket_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except (valkey.ValkeyError, OSError):
        return None
    return sock


@contextmanager
def store_url(settings: Settings, data_dir: str) -> Iterator[str]:
    """The URL of the store the commands work on (see the module's docstring)."""
    if settings.valkey_url:
        yield settings.valkey_url
        return
    sock = _running_socket(data_dir)
    if sock is not None:
        yield f"unix://{sock}"
        return
    from .valkey import embedded_url, start_embedded

    server = start_embedded(data_dir, settings.valkey_maxmemory)
    try:
        yield embedded_url(server)
    finally:
        server.stop()


def run(data_dir: str, work: Callable[[Any, Settings], Awaitable[int]]) -> int:
    """Run ``work(valkey, settings)`` against the store; its result is the exit status."""
    from .core.backup import BackupError
    from .core.migrations import SchemaTooNew
    from .valkey import connect

    os.environ["WIDGET_DATA_DIR"] = data_dir
    settings = load_settings()

    async def main(url: str) -> int:
        client = connect(url, settings.valkey_cluster)
        try:
            return await work(client, settings)
        finally:
            await client.aclose()

    with store_url(settings, data_dir) as url:
        try:
            return asyncio.run(main(url))
        except (SchemaTooNew, BackupError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1


def customer_ttl(settings: Settings) -> int:
    return settings.tracking_retention_days * 86_400


async def migrate(r: Any, settings: Settings) -> int:
    from .core.migrations import CURRENT, migrate

    applied = await migrate(r, customer_ttl(settings))
    print(f"schema version {CURRENT}" + (f"; applied: {', '.join(applied)}" if applied else "; nothing to do"))
    return 0


def _private_file(out: str, write: Callable[[Any], Any]) -> Any:
    """``write(f)`` into ``out`` (mode 600: it holds password hashes and chats), under its name only once complete."""
    from .datadir import private_dir

    path = Path(out)
    if not path.resolve().parent.exists():
        private_dir(path.resolve().parent)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            result = write(f)
        tmp.replace(path)  # (a backup cut short never takes the name of a complete one)
    finally:
        tmp.unlink(missing_ok=True)
    return result


def backup_rdb(data_dir: str, out: str) -> int:
    """``backup --rdb``: Valkey's own point-in-time snapshot of the whole store."""
    from .core.backup import BackupError, fetch_rdb

    os.environ["WIDGET_DATA_DIR"] = data_dir
    settings = load_settings()
    if settings.valkey_cluster:
        print("error: --rdb copies one server: run it against each primary of the cluster", file=sys.stderr)
        return 1
    with store_url(settings, data_dir) as url:
        try:
            size = _private_file(out, lambda f: fetch_rdb(url, f))
        except (BackupError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    print(f"snapshot of the store ({size} bytes) written to {out}")
    return 0


def restore_rdb(data_dir: str, path: str, replace: bool) -> int:
    """``restore --rdb``: a snapshot becomes the embedded Valkey's data (the server stopped), then ``migrate``."""
    from .valkey import restore_snapshot

    if load_settings().valkey_url:
        print("error: --rdb restores the embedded Valkey of --data-dir; for your own Valkey, stop it and put the "
              "snapshot in place as its dump.rdb (with AOF off for that start)", file=sys.stderr)
        return 1
    if _running_socket(data_dir) is not None:
        print(f"error: a server runs on {data_dir}: stop it first", file=sys.stderr)
        return 1
    try:
        count = restore_snapshot(data_dir, Path(path), replace=replace)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{count} keys restored from {path} into {data_dir}")
    return run(data_dir, migrate)


class _Collect:
    """A file-like ``write`` into a list (the async backup is written to its file afterwards, in one go)."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.write = chunks.append


def backup(out: str, org: str | None) -> Callable[[Any, Settings], Awaitable[int]]:
    async def work(r: Any, settings: Settings) -> int:
        from .core.backup import backup

        chunks: list[bytes] = []
        header = await backup(r, _Collect(chunks), org)
        _private_file(out, lambda f: f.writelines(chunks))
        print(f"{header.keys} keys of {'license ' + org if org else 'the store'} written to {out}")
        return 0

    return work


def restore(path: str, replace: bool) -> Callable[[Any, Settings], Awaitable[int]]:
    async def work(r: Any, settings: Settings) -> int:
        from .core.backup import restore
        from .core.migrations import migrate, reapply_since

        header = await restore(r, Path(path), replace=replace)
        if header.scope == "license":
            await reapply_since(r, header.schema_version, customer_ttl(settings))
            if header.organization_id:  # its numeric id: kept, unless another license here has that number
                from .core.licenses import assign_license_number
                await assign_license_number(r, header.organization_id)
        await migrate(r, customer_ttl(settings))
        what = f"license {header.organization_id}" if header.scope == "license" else "the store"
        print(f"{header.keys} keys of {what} restored from {path}")
        return 0

    return work


def create_license(owner_email: str, password: str | None) -> Callable[[Any, Settings], Awaitable[int]]:
    async def work(r: Any, settings: Settings) -> int:
        from .bootstrap import create_license

        _email(owner_email)
        if await r.exists(keys.agent_account(owner_email)) or await r.exists(keys.owner_login(owner_email)):
            raise ValueError(f"{owner_email} already has an account")
        creds = await create_license(r, owner_email, _password(password))
        print(json.dumps(creds, indent=2))
        return 0

    return work


def create_agent(org: str, email: str, name: str, role: str,
                 password: str | None = None) -> Callable[[Any, Settings], Awaitable[int]]:
    """A new agent with a personal access token (for API clients) and a console password (``password``, else a
    generated one), both printed once."""
    async def work(r: Any, settings: Settings) -> int:
        from .auth.console import set_agent_password
        from .bootstrap import create_agent

        _email(email)
        new = _password(password)  # (checked before anything is written)
        if len(name) > MAX_NAME:
            raise ValueError(f"a name has at most {MAX_NAME} characters")
        if not await r.exists(keys.license(org)):
            raise ValueError(f"there is no license {org}")
        creds = await create_agent(r, org, email, name or email.split("@")[0], role)
        await set_agent_password(r, email, new)
        print(json.dumps({**creds, "password": new}, indent=2))
        return 0

    return work


async def end_sessions(r: Any, email: str) -> int:
    """Sign the owner out everywhere (a reset password is often a taken one): their wizard sessions are deleted."""
    ended = 0
    async for key in r.scan_iter(match=keys.wizard_session("*"), count=1000, _type="hash"):
        if await r.hget(key, "email") == email.encode():
            ended += await r.delete(key)
    return ended


def reset_password(email: str, password: str | None) -> Callable[[Any, Settings], Awaitable[int]]:
    async def work(r: Any, settings: Settings) -> int:
        from .auth.console import end_agent_sessions, set_agent_password
        from .auth.passwords import hash_password

        new = _password(password)  # (checked before anything is looked up)
        login = keys.owner_login(email)
        if await r.exists(login):  # the owner: one password for the wizard and the console
            await r.hset(login, "password", hash_password(new))
        elif await r.exists(keys.agent_account(email)):  # an agent's console password
            await set_agent_password(r, email, new)
        else:
            raise ValueError(f"{email} is not a license owner's or an agent's sign-in")
        ended = await end_sessions(r, email) + await end_agent_sessions(r, email)
        print(json.dumps({"email": email, "password": new, "sessions_ended": ended}, indent=2))
        return 0

    return work
