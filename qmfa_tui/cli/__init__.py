"""The `qmfa` command: the TUI by default, and set-up commands for the operator."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from qmfa_tui import __version__, crash
from qmfa_tui.cli.common import (
    DEMO_DATABASE,
    SubcommandParsers,
    UsageError,
    open_from_args,
    read_password,
    url_from_args,
    whole_number,
)
from qmfa_tui.errors import BadInput, QmfaError
from qmfa_tui.kinds import Deployment
from qmfa_tui.text import counted, visible

if TYPE_CHECKING:
    from qmfa_tui.app import QmfaApp
    from qmfa_tui.storage import OpenDatabase

MAX_DEMO_USERS = 1_000_000
EXAMPLES = """\
examples:
  qmfa demo                      try it: demo users, then the app (log in as admin / qmfa-demo)
  qmfa demo codes admin          the security code admin's phone would show now (demo only)
  qmfa init                      create the database and its first admin
  qmfa users list --2fa disabled --format csv     who has no 2FA?
  qmfa users remove-2fa bob      a locked-out user registers again at the next login
  qmfa settings mandatory off    the last way in, from the shell
  qmfa serve                     the app over SSH: ssh -p 2222 alice@127.0.0.1
  qmfa --database postgresql://qmfa@db.internal/qmfa
"""


def main(argv: Sequence[str] | None = None) -> int:
    if (undecodable := _not_utf8(sys.argv[1:] if argv is None else argv)) is not None:
        print(f"qmfa: an argument is not valid UTF-8: {undecodable!r}", file=sys.stderr)
        return 2
    args = parse_arguments(argv)
    try:
        code = args.handler(args)
    except UsageError as error:
        print(f"qmfa: {error}", file=sys.stderr)
        return 2
    except QmfaError as error:
        # One line, nothing raw; it says when the demo database stood in for qmfa.db.
        demo = getattr(args, "demo_fallback", None)
        where = (
            f" (in the demo database {demo}: there is no qmfa.db with users yet)" if demo else ""
        )
        print(f"qmfa: {visible(error.message)}{visible(where)}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # `qmfa users list | head`: the reader left; that is not an error.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("qmfa: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # the one place that reports the unexpected
        return crash.report(error)
    demo = getattr(args, "demo_fallback", None)
    if demo is not None:
        print(
            visible(
                f"qmfa: used the demo database {demo}, as there is no qmfa.db with users "
                "yet (`qmfa init` creates it; --database names another)"
            ),
            file=sys.stderr,
        )
    return code


def _not_utf8(words: Sequence[str]) -> bytes | None:
    """The first argument that is not UTF-8 (Python holds its bytes as lone surrogates,
    which fail later wherever the text is written or encoded), as bytes; else None."""
    for word in words:
        try:
            word.encode("utf-8")
        except UnicodeEncodeError:
            return word.encode("utf-8", "surrogateescape" if _escaped_bytes(word) else "replace")
    return None


def _escaped_bytes(word: str) -> bool:
    return all(not 0xD800 <= ord(c) < 0xDC80 for c in word)


_APP_OPTIONS = ("--database", "--key-file")


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, as ``build_parser`` reads it.

    `qmfa` alone, or with only --database and --key-file (how every person, and every
    `qmfa serve` session, starts the app), is read without building every command's
    parser, which is ~6 ms of each start; anything else goes to the whole parser.
    """
    words = list(sys.argv[1:] if argv is None else argv)
    if not _only_app_options(words):
        return build_parser().parse_args(words)
    parser = _Parser(prog="qmfa", parents=[_common(_DEFAULT_DATABASE_HELP)], add_help=False)
    parser.set_defaults(handler=run_app)
    return parser.parse_args(words)


def _only_app_options(words: list[str]) -> bool:
    """Whether ``words`` are nothing but --database/--key-file, each with its value
    (written out in full: argparse's abbreviations and the rest take the whole parser)."""
    index = 0
    while index < len(words):
        word = words[index]
        if word in _APP_OPTIONS:
            if index + 1 >= len(words) or words[index + 1].startswith("-"):
                return False
            index += 2
        elif word.startswith(tuple(f"{option}=" for option in _APP_OPTIONS)):
            index += 1
        else:
            return False
    return True


class _Parser(argparse.ArgumentParser):
    """argparse, with bad usage said in one line (its usage block repeats --help)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", SubcommandParsers)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _common(default_database: str) -> _Parser:
    """--database and --key-file, with the default database of the command they are on."""
    common = _Parser(add_help=False)
    common.add_argument(
        "--database",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="sqlite:///PATH or postgresql://USER@HOST/NAME (default: "
        f"$QMFA_DATABASE_URL, else {default_database}; "
        "`qmfa settings show` prints it)",
    )
    common.add_argument(
        "--key-file",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="the instance key sealing secrets at rest "
        "(default: $QMFA_SECRET_KEY, else a .key file beside the database)",
    )
    return common


_DEFAULT_DATABASE_HELP = "qmfa.db in the user data dir, or demo.db there until qmfa.db has users"


def build_parser() -> argparse.ArgumentParser:
    # Commands that only open an existing database fall back to the demo one until
    # qmfa.db has users (cli/common.py); init creates qmfa.db, demo its own demo.db.
    common = _common(_DEFAULT_DATABASE_HELP)
    init_common = _common("qmfa.db in the user data dir")
    demo_common = _common(f"{DEMO_DATABASE} in the user data dir")

    parser = _Parser(
        prog="qmfa",
        parents=[common],
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Two-step verification (TOTP) for a team's user accounts.",
    )
    parser.add_argument("--version", action="version", version=f"qmfa {__version__}")
    parser.set_defaults(handler=run_app)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    init = commands.add_parser(
        "init",
        parents=[init_common],
        help="create the database and its first admin",
        description="Create the database (if needed) and its first user, an admin.",
        epilog="example:\n  echo 'a long passphrase' | qmfa init --username root "
        "--password-stdin --saas",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    init.add_argument("--username", default="admin", help="the admin's username (default: admin)")
    init.add_argument("--display-name", default="", help="the admin's full name")
    init.add_argument("--email", default="", help="the admin's email")
    init.add_argument(
        "--saas",
        action="store_true",
        help="a SaaS instance: only this first user may make 2FA mandatory",
    )
    init.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input instead of prompting",
    )
    init.set_defaults(handler=run_init)

    demo = commands.add_parser(
        "demo",
        parents=[demo_common],
        help="create or reuse a demo database and open the app",
        description="Create (or reuse) a demo database with a mix of users, then open the app. "
        "Every demo user's password is qmfa-demo.",
        epilog="examples:\n  qmfa demo\n  qmfa demo --users 100000 --no-launch\n"
        "  qmfa demo codes admin",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument(
        "--users",
        type=whole_number(MAX_DEMO_USERS),
        default=50,
        metavar="N",
        help="how many users (default: 50)",
    )
    demo.add_argument(
        "--no-launch", action="store_true", help="create the data, do not open the app"
    )
    demo.set_defaults(handler=run_demo)
    demo_commands = demo.add_subparsers(metavar="COMMAND")
    codes = demo_commands.add_parser(
        "codes",
        parents=[demo_common],
        help="print a demo user's current security code",
        description="Print the security code USER's authenticator would show now. "
        "Only on demo databases.",
        epilog="example:\n  qmfa demo codes admin",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    codes.add_argument("user", metavar="USER")
    codes.set_defaults(handler=run_demo_codes)
    # Imported here: plain `qmfa` (parse_arguments' quick path) draws the login without them.
    from qmfa_tui.cli import admin, pam, serve

    admin.add_commands(commands, common)
    serve.add_command(commands, common)
    pam.add_command(commands, common)
    return parser


def run_app(args: argparse.Namespace) -> int:
    return run_tui(prepare_app(args, open_after_paint=_paints_on_a_terminal()))


def _paints_on_a_terminal() -> bool:
    """Whether the app draws for a person (Textual reads stdin, draws on stderr)."""
    return all(stream is not None and stream.isatty() for stream in (sys.stdin, sys.stderr))


def run_tui(app: QmfaApp) -> int:
    """Run the app; a crash is one line on stderr and a non-zero exit code.

    A database the app could not open after its first paint is reported as if it had
    failed before the app started (``main`` prints it; the exit codes are the same).
    """
    app.run()
    if app.start_error is not None:
        raise app.start_error
    if app.crash_message is not None:
        print(app.crash_message, file=sys.stderr)
    return app.return_code or 0


def prepare_app(args: argparse.Namespace, *, open_after_paint: bool = False) -> QmfaApp:
    """The app on the database the arguments name, refused when nobody could log in.

    With ``open_after_paint`` the login screen paints first and the app opens the
    database right after (a worker; Log in waits for it): the first paint needs none of
    peewee, sqlite3, cryptography, argon2 or pyotp. Otherwise it is opened here, first.
    """
    url = url_from_args(args)
    from qmfa_tui.app import QmfaApp
    from qmfa_tui.served import ServedLimits

    served = ServedLimits.from_environment()

    def open_for_login() -> OpenDatabase:
        # The hint is set before the app learns the database is open (Log in waits for it).
        opened, app.demo_hint = _open_for_login(args, url, served=served is not None)
        return opened

    if open_after_paint:
        app = QmfaApp(opener=open_for_login, served=served, settles_heap=True)
        return app
    opened, demo_hint = _open_for_login(args, url, served=served is not None)
    app = QmfaApp(opened, served=served, settles_heap=True)
    app.demo_hint = demo_hint
    return app


def demo_hint(args: argparse.Namespace, url: str, *, served: bool = False) -> str:
    """Who to log in as on a demo database, and the `qmfa demo codes` command that reads
    this database: --database only when it is not the default demo.db (never its password,
    never over `qmfa serve`: the server's paths are not the client's to see)."""
    from qmfa_tui.database_url import default_url, redact
    from qmfa_tui.services import demo

    if served:
        return visible(demo.hint(None))
    database = None if url == default_url(DEMO_DATABASE) else redact(url)
    return visible(demo.hint(demo.codes_command(database, getattr(args, "key_file", None))))


def _open_for_login(
    args: argparse.Namespace, url: str, *, served: bool = False
) -> tuple[OpenDatabase, str | None]:
    """The database, and the demo hint when it is a demo database."""
    from qmfa_tui import storage
    from qmfa_tui.services import accounts, demo

    opened = storage.open_database(url, key_file=getattr(args, "key_file", None), create=False)
    if not accounts.any_users():
        storage.close_database()
        raise BadInput(
            f"{opened.display_url} has no users yet: run `qmfa init` to create the "
            "first admin, or `qmfa demo` to try qmfa on demo users."
        )
    hint = demo_hint(args, url, served=served) if demo.is_demo_database() else None
    # One argon2 verify for every name from the first attempt on: made here, after the
    # first paint and before Log in can go on (it waits for the opener).
    accounts.prepare_dummy_hash()
    if not storage.db.is_closed():
        storage.db.close()  # back to the pool: the worker that opened it ends here
    return opened, hint


def run_init(args: argparse.Namespace) -> int:
    from qmfa_tui.database_url import redact
    from qmfa_tui.services import accounts, identity

    url = redact(url_from_args(args, create=True))
    identity.refuse_reserved(accounts.validate_username(args.username))  # before the password
    if not args.password_stdin and sys.stdin.isatty():
        print(
            visible(
                f"qmfa init creates the database {url} (if needed) and its first admin, "
                f"{args.username}.\nThe password has at least "
                f"{accounts.MIN_PASSWORD_LENGTH} characters."
            ),
            file=sys.stderr,
        )
    password = read_password(args.password_stdin, "Password for the first admin: ")
    opened = open_from_args(args, create=True)

    info = accounts.create_first_admin(
        args.username,
        password,
        display_name=args.display_name,
        email=args.email,
        deployment=Deployment.SAAS if args.saas else Deployment.ON_PREM,
    )
    print(f"Created {info.username}, the first admin, in {opened.display_url}.")
    if opened.key_file is not None:
        print(
            f"Secrets are sealed with the key in {opened.key_file}: back it up with the "
            "database; without it no device and no recovery code can be read."
        )
    database = f" --database {url}" if getattr(args, "database", None) else ""
    print(
        visible(
            f"Next: run `qmfa{database}` and log in as {info.username}, then set up "
            "two-step verification in My Account."
        )
    )
    return 0


def run_demo(args: argparse.Namespace) -> int:
    url = url_from_args(args, DEMO_DATABASE, create=True)
    opened = open_from_args(args, DEMO_DATABASE, create=True)
    from qmfa_tui.services import demo

    with _progress_bar(f"Creating {counted(args.users, 'demo user')}") as advance:
        summary = demo.create_demo(args.users, advance)
    verb = "Created" if summary.created else "Reusing"
    print(
        f"{verb} the demo database {opened.display_url} ({counted(summary.users, 'user')}).",
        file=sys.stderr,
    )
    hint = demo_hint(args, url)
    print(hint, file=sys.stderr)  # still there once the app gives the terminal back
    if args.no_launch or not (sys.stdin.isatty() and sys.stdout.isatty()):
        return 0
    from qmfa_tui.app import QmfaApp

    app = QmfaApp(opened)
    app.demo_hint = hint
    return run_tui(app)


def run_demo_codes(args: argparse.Namespace) -> int:
    open_from_args(args, DEMO_DATABASE)
    from qmfa_tui.services import twofactor

    code, seconds_left = twofactor.demo_security_code(args.user)
    print(code)
    print(f"(valid for {seconds_left} more s)", file=sys.stderr)
    return 0


class _progress_bar:
    """A progress bar on stderr (rich, which Textual brings) while demo data is written."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __enter__(self) -> Callable[[int, int], None]:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self._progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._progress.start()
        task = self._progress.add_task(self.label, total=None)

        def advance(done: int, total: int) -> None:
            self._progress.update(task, completed=done, total=total)

        return advance

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()
