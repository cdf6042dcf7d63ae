"""CLI: ``widget-server serve`` (or ``python -m widget_server serve``) runs the app under granian (embedded Valkey
unless WIDGET_VALKEY_URL); the store's commands (``migrate``, ``backup``, ``restore``, ``create-license``,
``create-agent``, ``reset-password``) are in ``admin.py``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from . import admin
from .core.migrations import SchemaTooNew
from .mail.config import describe as describe_mail
from .settings import load_settings


def _bootstrap(url: str, cluster: bool, data_dir: str, host: str, port: int, scheme: str, mail: str,
               customer_ttl: int) -> None:
    from .bootstrap import ensure_default_license
    from .core.migrations import migrate
    from .valkey import connect

    async def run() -> tuple[dict, bool]:
        client = connect(url, cluster)
        try:
            # before any worker starts: the data brought to this release's schema (one process at a time, under a
            # lock), or SchemaTooNew when a newer release wrote it
            for name in await migrate(client, customer_ttl):
                print(f"  migration applied: {name}", flush=True)
            return await ensure_default_license(client, data_dir)
        finally:
            await client.aclose()

    creds, created = asyncio.run(run())
    base = f"{scheme}://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    org = creds["organization_id"]
    print("widget_server is starting", flush=True)
    print(f"  organization_id : {org}")
    if created:  # shown once, on the start that made them; never again in a start-up's output or a log
        print(f"  owner           : {creds['owner']['email']} / password {creds['owner']['password']}")
        print(f"  owner PAT       : {creds['owner']['personal_access_token']}")
        print(f"  agent PAT       : {creds['agent']['account_id']} / {creds['agent']['personal_access_token']}")
        print(f"  credentials     : {Path(data_dir).resolve() / 'credentials.json'} (mode 600)")
    else:
        print(f"  credentials     : shown on the first start only; widget-server credentials "
              f"--data-dir {data_dir}")
    print(f"  Customer API    : {base}/v3.6/customer/action/<action>?organization_id={org}")
    print(f"  RTM             : {base.replace('http', 'ws', 1)}/v3.6/customer/rtm/ws?organization_id={org}")
    print(f"  token           : POST {base}/v2/customer/token")
    print(f"  demo page       : {base}/demo?organization_id={org}  (the widget on a page, via its snippet)")
    print(f"  snippet         : {base}/widget/snippet?organization_id={org}")
    print(f"  agent console   : {base}/agent  (sign in with your e-mail and password, or a personal access token)")
    print(f"  theming wizard  : {base}/wizard  (sign in with the owner's e-mail and password)")
    print(f"  mail            : {mail}")
    print(f"  API docs        : {base}/schema")
    print(f"  health          : {base}/healthz  {base}/readyz", flush=True)


def serve(args: argparse.Namespace) -> int:
    from granian import Granian
    from granian.constants import Interfaces, Loops

    os.environ["WIDGET_DATA_DIR"] = args.data_dir
    settings = load_settings()
    from .observe.logs import configure as configure_logs
    from .observe.logs import dictconfig
    from .observe.setup import prepare_metrics_dir

    configure_logs(settings.log_format, settings.log_level)
    embedded = None
    if not settings.valkey_url:
        from .valkey import embedded_url, start_embedded

        embedded = start_embedded(args.data_dir, settings.valkey_maxmemory)
        os.environ["WIDGET_VALKEY_URL"] = embedded_url(embedded)
    from .widget.build import BuildError, build

    try:
        build()  # only when the widget's sources changed since the last build
    except BuildError as exc:
        print(f"widget build failed: {exc}", file=sys.stderr)
        return 1
    # SIGTERM before granian installs its own handlers must still stop the embedded Valkey.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        prepare_metrics_dir(args.data_dir)  # (last before granian forks the workers: see observe/setup.py)
        scheme = "https" if args.ssl_certfile else "http"
        try:
            _bootstrap(os.environ["WIDGET_VALKEY_URL"], settings.valkey_cluster, args.data_dir, args.host, args.port,
                       scheme, describe_mail(settings.smtp_url, settings.mail_from),
                       settings.tracking_retention_days * 86_400)
        except SchemaTooNew as exc:
            print(f"widget_server cannot start: {exc}", file=sys.stderr, flush=True)
            return 1
        try:
            import uvloop  # noqa: F401

            loop = Loops.uvloop
        except ImportError:
            loop = Loops.auto
        server = Granian(
            "widget_server.app:create_app",
            factory=True,
            interface=Interfaces.ASGI,
            address=args.host,
            port=args.port,
            workers=args.workers,
            loop=loop,
            websockets=True,
            ssl_cert=Path(args.ssl_certfile) if args.ssl_certfile else None,
            ssl_key=Path(args.ssl_keyfile) if args.ssl_keyfile else None,
            workers_kill_timeout=int(settings.shutdown_drain_seconds) + 3,  # a worker drains first (api/shutdown.py)
            # a worker that dies (OOM kill, segfault, SIGKILL) is started again while the others keep serving;
            # without this granian stops the whole server when one worker exits unexpectedly
            respawn_failed_workers=True,
            log_level=settings.log_level.lower(),
            log_dictconfig=dictconfig(settings.log_format, settings.log_level),  # JSON lines in every worker
        )
        server.serve()
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


def _password(args: argparse.Namespace) -> str | None:
    """A password given on standard input (``--password-stdin``: never on the command line, where ``ps`` shows it),
    or None for a generated one."""
    return sys.stdin.readline().rstrip("\n") if args.password_stdin else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="widget-server")
    data_dir = os.environ.get("WIDGET_DATA_DIR", ".widget_server")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the server (embedded Valkey unless WIDGET_VALKEY_URL is set)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=1)
    s.add_argument("--data-dir", default=data_dir)
    s.add_argument("--ssl-certfile")
    s.add_argument("--ssl-keyfile")
    sub.add_parser("build", help="bundle the widget's sources (static/, themes/) into static/dist/ with esbuild; "
                                 "an installed wheel checks its prebuilt widget instead (no npm)")
    c = sub.add_parser("credentials", help="print the default license's credentials from the data dir")
    c.add_argument("--data-dir", default=data_dir)
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument("--data-dir", default=data_dir, help="the embedded Valkey's data dir (unless WIDGET_VALKEY_URL)")
    sub.add_parser("migrate", parents=[store], help="bring the data to this release's schema version")
    b = sub.add_parser("backup", parents=[store], help="write the whole store, or one license, to a JSON lines file "
                                                     "(format: widget_server/core/backup.py)")
    b.add_argument("out", help="the file to write (mode 600)")
    b.add_argument("--license", dest="org", help="one license's portable export (its organization id)")
    b.add_argument("--rdb", action="store_true", help="the whole store as Valkey's own point-in-time snapshot (RDB)")
    r = sub.add_parser("restore", parents=[store], help="write a backup's keys into the store, then migrate")
    r.add_argument("file")
    r.add_argument("--replace", action="store_true", help="overwrite keys the store holds already")
    r.add_argument("--rdb", action="store_true", help="FILE is a snapshot (backup --rdb): it becomes the embedded "
                                                      "Valkey's data in --data-dir (the server stopped)")
    cl = sub.add_parser("create-license", parents=[store], help="a new license with its owner and one agent; "
                                                              "prints their credentials once")
    cl.add_argument("--owner-email", required=True)
    cl.add_argument("--password-stdin", action="store_true", help="read the owner's password from standard input "
                                                                 "(default: a generated one, printed once)")
    ca = sub.add_parser("create-agent", parents=[store], help="a new agent of a license; prints its token once")
    ca.add_argument("--license", dest="org", required=True)
    ca.add_argument("--email", required=True)
    ca.add_argument("--name", default="")
    ca.add_argument("--role", default="normal", choices=admin.ROLES)
    ca.add_argument("--password-stdin", action="store_true", help="read the agent's console password from standard "
                                                                 "input (default: a generated one, printed once)")
    rp = sub.add_parser("reset-password", parents=[store], help="set a license owner's or an agent's password (printed "
                                                                 "once) and end their wizard and console sessions")
    rp.add_argument("--email", required=True)
    rp.add_argument("--password-stdin", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "serve":
        if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
            parser.error("--ssl-certfile and --ssl-keyfile go together")
        return serve(args)
    if args.command == "build":
        from .widget.build import main as build_main

        return build_main()
    if args.command == "credentials":
        print(json.dumps(json.loads((Path(args.data_dir) / "credentials.json").read_text()), indent=2))
        return 0
    if args.command == "migrate":
        return admin.run(args.data_dir, admin.migrate)
    if args.command == "backup":
        if args.rdb:
            if args.org:
                parser.error("--rdb copies the whole store, not one license")
            return admin.backup_rdb(args.data_dir, args.out)
        return admin.run(args.data_dir, admin.backup(args.out, args.org))
    if args.command == "restore":
        if args.rdb:
            return admin.restore_rdb(args.data_dir, args.file, args.replace)
        return admin.run(args.data_dir, admin.restore(args.file, args.replace))
    if args.command == "create-license":
        return admin.run(args.data_dir, admin.create_license(args.owner_email, _password(args)))
    if args.command == "create-agent":
        return admin.run(args.data_dir, admin.create_agent(args.org, args.email, args.name, args.role,
                                                               _password(args)))
    if args.command == "reset-password":
        return admin.run(args.data_dir, admin.reset_password(args.email, _password(args)))
    return 2


if __name__ == "__main__":
    sys.exit(main())
