"""`qmfa serve`: its options; the server itself (and asyncssh) is imported only to serve."""

from __future__ import annotations

import argparse
import os
from typing import Any

from qmfa_tui.cli.common import UsageError, open_from_args, whole_number
from qmfa_tui.errors import BadInput

DEFAULT_LISTEN = "127.0.0.1:2222"
MAX_SESSIONS = 1000
MAX_TIMEOUT_SECONDS = 7 * 24 * 3600


def add_command(commands: Any, common: argparse.ArgumentParser) -> None:
    serve = commands.add_parser(
        "serve",
        parents=[common],
        help="serve the app over SSH (no shell account needed)",
        description="Serve the qmfa app over SSH: each `ssh -p PORT HOST` gets its own app\n"
        "at the login screen, running as this account; nothing else is reachable (no\n"
        "shell, commands, sftp or forwarding). People log in with qmfa's own password\n"
        "and security code; they need no account on this machine.",
        epilog="examples:\n  qmfa serve                          on 127.0.0.1:2222\n"
        "  qmfa serve --listen 0.0.0.0:2222    every interface (your choice to make)\n"
        "  qmfa serve --fingerprint            the host key clients should see\n"
        "  ssh -p 2222 alice@127.0.0.1         connect (the username is pre-filled)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument(
        "--listen",
        metavar="HOST:PORT",
        default=DEFAULT_LISTEN,
        help=f"the address to listen on (default: {DEFAULT_LISTEN}; [::1]:2222 for IPv6; "
        "port 0 picks a free one)",
    )
    serve.add_argument(
        "--host-key",
        metavar="PATH",
        help="the server's ed25519 host key, made there on first run (default: beside "
        "the database, e.g. qmfa.ssh_host_ed25519_key next to qmfa.db)",
    )
    serve.add_argument(
        "--max-sessions",
        type=whole_number(MAX_SESSIONS),
        default=16,
        metavar="N",
        help="sessions at once; one more is told so and closed (default: 16)",
    )
    serve.add_argument(
        "--login-timeout",
        type=_seconds,
        default=120.0,
        metavar="S",
        help="close a session still not logged in after S seconds (default: 120)",
    )
    serve.add_argument(
        "--idle-timeout",
        type=_seconds,
        default=900.0,
        metavar="S",
        help="log out and close a session idle for S seconds (default: 900)",
    )
    serve.add_argument(
        "--authorized-keys",
        metavar="FILE",
        help="ask for an SSH key listed in FILE (OpenSSH authorized_keys format) before "
        "the app (default: no SSH-level authentication)",
    )
    serve.add_argument(
        "--connections-per-minute",
        type=whole_number(10_000),
        default=30,
        metavar="N",
        help="new connections from one client address per minute (default: 30)",
    )
    serve.add_argument(
        "--fingerprint",
        action="store_true",
        help="print the host key's fingerprint and public key, then exit",
    )
    serve.set_defaults(handler=run_serve)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 1 <= value <= MAX_TIMEOUT_SECONDS:
        raise argparse.ArgumentTypeError(f"give from 1 to {MAX_TIMEOUT_SECONDS:,} seconds")
    return value


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[V6]:PORT``; the host may not be left out."""
    host, colon, port_text = text.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not colon or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise UsageError(f"--listen {text!r}: give HOST:PORT, such as {DEFAULT_LISTEN}.")
    return host, int(port_text)


def run_serve(args: argparse.Namespace) -> int:
    from pathlib import Path

    host, port = parse_listen(args.listen)
    opened = open_from_args(args)
    from qmfa_tui.services import accounts, audit

    if not accounts.any_users():
        raise BadInput(
            f"{opened.display_url} has no users yet: run `qmfa init` to create the "
            "first admin before serving it."
        )
    from qmfa_tui.database_url import DATABASE_URL_ENV, data_dir
    from qmfa_tui.serve import host_key, server
    from qmfa_tui.storage.sealing import KEY_FILE_ENV, SECRET_KEY_ENV

    key_path = (
        Path(args.host_key).expanduser()
        if args.host_key
        else host_key.default_path(opened.sqlite_path, opened.key_file, data_dir())
    )
    key = host_key.load_or_create(key_path)
    fingerprint = host_key.fingerprint(key)
    if args.fingerprint:
        print(fingerprint)
        print(host_key.public_line(key))
        return 0
    authorized_keys = None
    if args.authorized_keys:
        authorized_keys = Path(args.authorized_keys).expanduser()
        host_key.check_authorized_keys(authorized_keys)

    # Each session's app opens the database this server opened, with its key.
    tui_env = dict(os.environ)
    tui_env[DATABASE_URL_ENV] = opened.url
    if opened.key_file is not None:
        tui_env[KEY_FILE_ENV] = str(opened.key_file)
        tui_env.pop(SECRET_KEY_ENV, None)

    config = server.ServeConfig(
        host=host,
        port=port,
        host_key=key,
        tui_env=tui_env,
        max_sessions=args.max_sessions,
        login_timeout=args.login_timeout,
        idle_timeout=args.idle_timeout,
        authorized_keys=authorized_keys,
        connections_per_minute=args.connections_per_minute,
        audit=audit.record_ssh_session,
    )

    def ready(bound_host: str, bound_port: int) -> None:
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        print(f"qmfa serve: listening on {shown}:{bound_port}, serving {opened.display_url}")
        print(f"Host key {fingerprint} (ED25519) in {key_path}")
        print(f"Connect with: ssh -p {bound_port} USERNAME@{shown}", flush=True)

    try:
        return server.run(config, ready)
    except OSError as error:
        raise BadInput(f"Cannot listen on {args.listen}: {error.strerror or error}.") from None
