"""``widget-server backup`` / ``restore``: a copy of the whole store, or a portable export of one license.

The file is JSON lines. The first line is the header::

    {"format": "widget_server-backup", "format_version": 1, "scope": "all" | "license",
     "organization_id": "<org>" | null, "default_license": true | false, "schema_version": <n>,
     "created_at": "<RFC 3339>", "keys": <how many key lines follow>}

and every further line is one Valkey key::

    {"key": "<name>", "ttl_ms": <milliseconds left, 0 = kept for good>, "dump": "<base64 of DUMP's payload>"}

``dump`` is Valkey's own serialization of the key's value (``DUMP``; ``RESTORE`` reads it back), so every type
(hashes, sorted sets, streams, HyperLogLogs, bitmaps) comes back exactly, with its encoding; a payload carries its RDB
version and restores into the same or a newer Valkey. ``schema_version`` is the data's version
(``core/migrations.py``): a restore refuses a file newer than this release understands, and an older one is
migrated after the restore (``restore`` runs ``migrate``).

Scope ``all`` is every key of the store. Scope ``license`` is one license's keys, found with one ``SCAN`` of the
store: every key hash-tagged with the organization id (license, configuration, agents, routing, queues, archives and
their index, webhooks, files, avatars, the wizard's versions, visitor tracking), every key of each of its chats
(``{chat_id}``: the chat, threads, events), every key of each customer whose record names the license
(``{customer_id}``: the record and its chat index; open connections are left out), every ticket whose hash names the
license (``{tk:<ticket id>}``), and the records that name its
agents from outside (``account:{agent}``, ``pat:{token hash}``, ``owner:{email}``). Signed tokens (customers' identity
cookies, agents' sign-in tokens) are signed with the server's secret (``WIDGET_SECRET`` or the store's own): restored
into another store with another secret, visitors come back as new visitors and agents sign in again; nothing else
changes.

Consistency: on one Valkey server every ``DUMP`` of a backup runs in one ``MULTI``/``EXEC`` transaction, so the copy
is one instant of the store (key names come from ``SCAN`` just before; a key created between the scan and the
transaction is left out, one deleted in between is skipped). A Valkey Cluster cannot run one transaction across
slots: there the keys are dumped in a pipeline, each key consistent with itself.

``backup --rdb`` is the other whole-store copy: Valkey's own point-in-time snapshot (RDB), fetched the way
``valkey-cli --rdb`` does (``fetch_rdb``), written while the server keeps serving; ``restore --rdb`` makes it the
embedded Valkey's data of a data dir (``valkey.restore_snapshot``). For your own Valkey, the file is its ``dump.rdb``.

``restore`` writes with ``RESTORE`` (the remaining expiry carried over) and refuses, before writing anything, when a
key it would write exists already, unless told to replace.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import msgspec

from .. import keys
from ..protocol.common import now_rfc3339
from ..valkey import is_cluster
from .migrations import CURRENT, SchemaTooNew, schema_version

FORMAT = "widget_server-backup"
FORMAT_VERSION = 1
SCAN_COUNT = 1000
LEFT_OUT = (b":conns",)
"""Key name endings a license export leaves out: a customer's open sockets belong to the running servers."""


class BackupError(RuntimeError):
    pass


class Header(msgspec.Struct):
    format: str
    format_version: int
    scope: str
    schema_version: int
    created_at: str
    keys: int
    organization_id: str | None = None
    default_license: bool = False


class Entry(msgspec.Struct):
    key: str
    ttl_ms: int
    dump: str


def _tag(key: bytes) -> bytes | None:
    start = key.find(b"{")
    end = key.find(b"}", start + 1)
    return key[start + 1:end] if start >= 0 and end > start else None


async def _all_keys(r: Any) -> list[bytes]:
    return [k async for k in r.scan_iter(count=SCAN_COUNT)]


async def license_keys(r: Any, org: str) -> list[bytes]:
    """Every key of license ``org`` (see the module's docstring for which)."""
    everything = await _all_keys(r)
    chat_ids = {m for m in await r.zrange(keys.org_chats(org), 0, -1)}
    by_tag: dict[bytes, list[bytes]] = {}
    for key in everything:
        tag = _tag(key)
        if tag is not None:
            by_tag.setdefault(tag, []).append(key)
    customers = [k for k in everything if k.endswith(b":cust") and k.startswith(f"{keys.P}:{{".encode())]
    owners: list[Any] = []
    for start in range(0, len(customers), SCAN_COUNT):  # (a pipeline per thousand: bounded replies)
        async with r.pipeline(transaction=False) as p:
            for key in customers[start:start + SCAN_COUNT]:
                p.hget(key, "org")
            owners += await p.execute()
    tags = {org.encode()} | chat_ids | {_tag(k) for k, o in zip(customers, owners) if o == org.encode()}
    # tickets (core/tickets.py) are tagged by their own id; their hash names the license
    tickets = [k for k in everything if k.startswith(f"{keys.P}:{{tk:".encode()) and k.endswith(b":ticket")]
    for start in range(0, len(tickets), SCAN_COUNT):
        async with r.pipeline(transaction=False) as p:
            for key in tickets[start:start + SCAN_COUNT]:
                p.hget(key, "org")
            ticket_owners = await p.execute()
        tags |= {_tag(k) for k, o in zip(tickets[start:start + SCAN_COUNT], ticket_owners) if o == org.encode()}
    wanted = [k for tag in tags for k in by_tag.get(tag, []) if not k.endswith(LEFT_OUT)]
    # the records that name the license's agents from outside its hash tag
    license = await r.hgetall(keys.license(org))
    agents = await r.hgetall(keys.agents(org))
    outside = {keys.agent_account(a.decode()) for a in agents}
    outside |= {keys.agent_password(a.decode()) for a in agents}  # (console passwords: absent for most agents)
    for raw in agents.values():
        sha = json.loads(raw).get("token_sha")
        if sha:
            outside.add(keys.agent_token(sha))
    if license.get(b"owner_email"):
        outside.add(keys.owner_login(license[b"owner_email"].decode()))
    present = set(everything)
    wanted += [k.encode() for k in sorted(outside) if k.encode() in present]
    return sorted(set(wanted))


async def _dump(r: Any, names: list[bytes]) -> list[tuple[bytes, int, bytes]]:
    """``(key, ttl_ms, payload)`` of each key still present, read in one transaction on one server."""
    if not names:
        return []
    async with r.pipeline(transaction=not is_cluster(r)) as p:
        for key in names:
            p.dump(key)
            p.pttl(key)
        found = await p.execute()
    out = []
    for i, key in enumerate(names):
        payload, ttl = found[2 * i], found[2 * i + 1]
        if payload is None:  # (deleted since the scan)
            continue
        out.append((key, max(int(ttl), 0), payload))
    return out


async def backup(r: Any, out: IO[bytes], org: str | None = None) -> Header:
    """Write the store (``org`` None) or license ``org`` to ``out``; returns the header written."""
    if org is not None and not await r.exists(keys.license(org)):
        raise BackupError(f"there is no license {org}")
    names = await license_keys(r, org) if org else sorted(await _all_keys(r))
    entries = await _dump(r, names)
    default = await r.get(keys.DEFAULT_LICENSE)
    header = Header(format=FORMAT, format_version=FORMAT_VERSION, scope="license" if org else "all",
                    schema_version=await schema_version(r), created_at=now_rfc3339(), keys=len(entries),
                    organization_id=org, default_license=org is not None and default == org.encode())
    out.write(msgspec.json.encode(header) + b"\n")
    for key, ttl, payload in entries:
        out.write(msgspec.json.encode(Entry(key.decode(), ttl, base64.b64encode(payload).decode())) + b"\n")
    return header


def read(path: Path) -> tuple[Header, Iterator[Entry]]:
    """The header of a backup file and its entries (read as they are iterated)."""
    try:
        f = path.open("rb")
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from None
    try:
        header = msgspec.json.decode(f.readline(), type=Header)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        f.close()
        raise BackupError(f"{path} is not a widget_server backup: {exc}") from None
    if header.format != FORMAT or header.format_version > FORMAT_VERSION:
        f.close()
        raise BackupError(f"{path} is not a widget_server backup this release can read (format {header.format!r} "
                          f"version {header.format_version})")

    def entries() -> Iterator[Entry]:
        with f:
            for line in f:
                if line.strip():
                    yield msgspec.json.decode(line, type=Entry)

    return header, entries()


async def restore(r: Any, path: Path, replace: bool = False, batch: int = 500) -> Header:
    """Write a backup's keys into the store ``r``. Refuses (writing nothing) a file newer than this release's schema,
    or a store holding a key of the file's unless ``replace``. Returns the file's header."""
    header, entries = read(path)
    if header.schema_version > CURRENT:
        raise SchemaTooNew(f"the backup has schema version {header.schema_version}, newer than this release "
                           f"understands ({CURRENT})")
    items = list(entries)
    if len(items) != header.keys:
        raise BackupError(f"{path} is cut short: {len(items)} of {header.keys} keys")
    if not replace:
        taken: list[str] = []
        for start in range(0, len(items), batch):
            chunk = items[start:start + batch]
            async with r.pipeline(transaction=False) as p:
                for entry in chunk:
                    p.exists(entry.key)
                taken += [e.key for e, n in zip(chunk, await p.execute()) if n]
        if taken:
            raise BackupError(f"the store already holds {len(taken)} of the backup's keys (e.g. {taken[0]}): restore "
                              "into an empty store, or replace them with --replace")
    for start in range(0, len(items), batch):
        async with r.pipeline(transaction=False) as p:
            for entry in items[start:start + batch]:
                p.restore(entry.key, entry.ttl_ms, base64.b64decode(entry.dump), replace=replace)
            await p.execute()
    if header.default_license and header.organization_id:
        await r.set(keys.DEFAULT_LICENSE, header.organization_id, nx=True)
    if header.scope == "all" and header.schema_version:
        await r.set(keys.SCHEMA_VERSION, header.schema_version)
    return header


# --- the whole store as Valkey's own snapshot (RDB) ------------------------------------------------------------------

RDB_TIMEOUT = 120.0
"""Seconds without a byte from Valkey (it sends a newline every second while it writes the snapshot) before a
``--rdb`` backup gives up."""


def fetch_rdb(url: str, out: IO[bytes]) -> int:
    """Write a point-in-time snapshot (RDB) of the Valkey server at ``url`` to ``out``, as ``valkey-cli --rdb`` does:
    the replication handshake's ``SYNC`` (after ``REPLCONF rdb-only 1``: the snapshot only, no command stream), so
    the server forks and writes one consistent copy while it keeps serving. Returns the snapshot's size. One server
    only (on a Cluster, run it against each primary)."""
    import socket

    from valkey.connection import parse_url

    if url.split("://", 1)[0].lower() not in ("redis", "valkey", "unix"):
        raise BackupError("--rdb works on a plain TCP or unix socket Valkey URL (not TLS, not a cluster)")
    params = parse_url(url.replace("valkey://", "redis://", 1))
    if "path" in params:
        sock = socket.socket(socket.AF_UNIX)
        address: Any = params["path"]
    else:
        sock = socket.socket(socket.AF_INET6 if ":" in params.get("host", "") else socket.AF_INET)
        address = (params.get("host", "localhost"), params.get("port", 6379))
    sock.settimeout(RDB_TIMEOUT)
    with sock:
        sock.connect(address)
        f = sock.makefile("rb")

        def reply(command: list[str]) -> bytes:
            sock.sendall(b"".join([f"*{len(command)}\r\n".encode()]
                                  + [f"${len(a.encode())}\r\n{a}\r\n".encode() for a in command]))
            line = f.readline()
            if not line.startswith(b"+"):
                raise BackupError(f"Valkey refused {command[0]}: {line.decode(errors='replace').strip()}")
            return line

        if params.get("password"):
            reply(["AUTH", *([params["username"]] if params.get("username") else []), params["password"]])
        reply(["REPLCONF", "rdb-only", "1"])
        sock.sendall(b"SYNC\r\n")
        line = b"\n"
        while not line.strip():  # (newlines while the snapshot is written)
            line = f.readline()
            if not line:
                raise BackupError("Valkey closed the connection before sending the snapshot")
        if line.startswith(b"-"):
            raise BackupError(f"Valkey refused SYNC: {line.decode(errors='replace').strip()}")
        # (this client never announces ``capa eof``, so the snapshot comes as one sized bulk, not diskless' EOF mark)
        if not line.startswith(b"$"):
            raise BackupError(f"unexpected answer to SYNC: {line[:80].decode(errors='replace').strip()}")
        size = left = int(line[1:])
        while left:
            chunk = f.read1(min(left, 1 << 20))
            if not chunk:
                raise BackupError("the snapshot was cut short")
            out.write(chunk)
            left -= len(chunk)
        return size
