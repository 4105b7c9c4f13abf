"""`qmfa serve`: its options; the server itself (and asyncssh) is imported only to serve."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any

from qmfa_tui.cli.common import UsageError, open_from_args, whole_number
from qmfa_tui.errors import BadInput

DEFAULT_LISTEN = "127.0.0.1:2222"
MAX_SESSIONS = 1000
MAX_TIMEOUT_SECONDS = 7 * 24 * 3600
MAX_STARTUPS = 10_000
MAX_WINDOW = 10_000  # columns or rows (a pty holds up to 65535)
MAX_APP_MEMORY_MIB = 64 * 1024
# Kept in step with serve/server.py's defaults (this module may not import asyncssh).
DEFAULT_KEX_ALGS = "mlkem768x25519-sha256,curve25519-sha256,curve25519-sha256@libssh.org"
DEFAULT_CIPHERS = "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com"
DEFAULT_MACS = "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com"


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
        "--connection-burst",
        type=whole_number(10_000),
        default=10,
        metavar="N",
        help="new connections from one address at once, before --connections-per-minute "
        "refills them; counted (with every refused request) before the key exchange "
        "(default: 10)",
    )
    serve.add_argument(
        "--login-grace",
        type=_seconds,
        default=30.0,
        metavar="S",
        help="close a connection that has not reached the login screen after S seconds "
        "(default: 30)",
    )
    serve.add_argument(
        "--max-startups",
        type=_startups,
        default=(10, 30, 100),
        metavar="START:RATE:FULL",
        help="connections not yet at the login screen: from START on, drop a new one with "
        "RATE%% chance, rising to all at FULL (default: 10:30:100)",
    )
    serve.add_argument(
        "--startups-per-address",
        type=whole_number(MAX_STARTUPS),
        default=4,
        metavar="N",
        help="connections not yet at the login screen from one address (default: 4)",
    )
    serve.add_argument(
        "--max-window",
        type=_window,
        default=(1000, 500),
        metavar="COLSxROWS",
        help="a larger window is served at this size (default: 1000x500)",
    )
    serve.add_argument(
        "--app-memory",
        type=whole_number(MAX_APP_MEMORY_MIB),
        default=1024,
        metavar="MIB",
        help="address space of each session's app, in MiB (default: 1024)",
    )
    serve.add_argument(
        "--kex-algs",
        default=DEFAULT_KEX_ALGS,
        metavar="LIST",
        help="key exchange algorithms offered, comma-separated; +LIST adds to the "
        f"defaults, -LIST takes away, ^LIST puts first (default: {DEFAULT_KEX_ALGS})",
    )
    serve.add_argument(
        "--ciphers",
        default=DEFAULT_CIPHERS,
        metavar="LIST",
        help=f"ciphers offered (default: {DEFAULT_CIPHERS})",
    )
    serve.add_argument(
        "--macs",
        default=DEFAULT_MACS,
        metavar="LIST",
        help=f"MACs offered (default: {DEFAULT_MACS})",
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


def _startups(text: str) -> tuple[int, int, int]:
    parts = text.split(":")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        raise argparse.ArgumentTypeError(f"{text!r}: give START:RATE:FULL, such as 10:30:100")
    start, rate, full = (int(part) for part in parts)
    if not (1 <= start <= full <= MAX_STARTUPS and rate <= 100):
        raise argparse.ArgumentTypeError(
            f"{text!r}: START from 1 to FULL, FULL at most {MAX_STARTUPS:,}, RATE at most 100"
        )
    return start, rate, full


def _window(text: str) -> tuple[int, int]:
    columns, x, rows = text.lower().partition("x")
    if not (x and columns.isdigit() and rows.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r}: give COLSxROWS, such as 1000x500")
    if not (20 <= int(columns) <= MAX_WINDOW and 10 <= int(rows) <= MAX_WINDOW):
        raise argparse.ArgumentTypeError(
            f"{text!r}: columns and rows from 20 and 10 up to {MAX_WINDOW:,}"
        )
    return int(columns), int(rows)


def _algorithms(option: str, text: str, default: str, known: list[bytes]) -> list[str]:
    """A comma list of algorithms asyncssh knows; as in OpenSSH, ``+A,B`` adds to the
    defaults, ``-A`` takes from them and ``^A`` puts A first."""
    defaults = default.split(",")
    names = [name.strip() for name in text.lstrip("+-^").split(",") if name.strip()]
    if text.startswith("+"):
        names = defaults + [name for name in names if name not in defaults]
    elif text.startswith("-"):
        names = [name for name in defaults if name not in names]
    elif text.startswith("^"):
        names = names + [name for name in defaults if name not in names]
    known_names = {alg.decode("ascii") for alg in known}
    # A default this asyncssh lacks (ML-KEM with an older cryptography) is left out.
    names = [name for name in names if name in known_names or name not in defaults]
    unknown = [name for name in names if name not in known_names]
    if not names or unknown:
        raise UsageError(
            f"{option} {text!r}: unknown algorithm {', '.join(unknown) or '(none left)'}; "
            f"known: {', '.join(sorted(known_names))}."
        )
    return names


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[V6]:PORT``; the host may not be left out."""
    host, colon, port_text = text.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not colon or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise UsageError(f"--listen {text!r}: give HOST:PORT, such as {DEFAULT_LISTEN}.")
    return host, int(port_text)


# Textual's variables a served app may inherit: how it draws. The others write files on
# the server (TEXTUAL_LOG, TEXTUAL_SCREENSHOT*), reach out to devtools (TEXTUAL,
# TEXTUAL_DEVTOOLS_*), type keys (TEXTUAL_PRESS) or change the driver: an operator's
# debugging setting must not reach every stranger's session.
_DRAWING_VARIABLES = frozenset(
    {
        "TEXTUAL_ANIMATIONS",
        "TEXTUAL_COLOR_SYSTEM",
        "TEXTUAL_DIM_FACTOR",
        "TEXTUAL_DISABLE_KITTY_KEY",
        "TEXTUAL_FPS",
        "TEXTUAL_SMOOTH_SCROLL",
        "TEXTUAL_THEME",
    }
)


def served_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment a session's app starts from: this server's, less Textual's
    variables that do more than choose how to draw."""
    return {
        name: value
        for name, value in environ.items()
        if not name.startswith("TEXTUAL") or name in _DRAWING_VARIABLES
    }


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

    algorithms = server.known_algorithms()
    kex_algs = _algorithms("--kex-algs", args.kex_algs, DEFAULT_KEX_ALGS, algorithms["kex"])
    ciphers = _algorithms("--ciphers", args.ciphers, DEFAULT_CIPHERS, algorithms["encryption"])
    macs = _algorithms("--macs", args.macs, DEFAULT_MACS, algorithms["mac"])
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
    tui_env = served_environment(os.environ)
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
        connection_burst=args.connection_burst,
        login_grace=args.login_grace,
        max_startups=args.max_startups,
        startups_per_address=args.startups_per_address,
        max_window=args.max_window,
        app_memory_mib=args.app_memory,
        kex_algs=kex_algs,
        encryption_algs=ciphers,
        mac_algs=macs,
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
