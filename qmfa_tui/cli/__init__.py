"""The `qmfa` command: its parser, assembled from one module per command group, and
``main``, which dispatches to the command's handler (the app, by default) and turns
what it raises into one line and an exit code."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from qmfa_tui import __version__, crash
from qmfa_tui.cli.app_start import demo_hint, prepare_app, run_tui
from qmfa_tui.cli.common import DEMO_DATABASE, SubcommandParsers, UsageError
from qmfa_tui.errors import QmfaError
from qmfa_tui.text import visible

# What tests and benchmarks reach through `qmfa_tui.cli` (app_start's, read from here).
__all__ = ["build_parser", "demo_hint", "main", "parse_arguments", "prepare_app", "run_tui"]

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
    parser, a cost on each start; anything else goes to the whole parser.
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

    # Imported here: plain `qmfa` (parse_arguments' quick path) draws the login without them.
    from qmfa_tui.cli import audit, demo, init, pam, serve, settings, users

    init.add_command(commands, init_common)
    demo.add_command(commands, demo_common)
    users.add_command(commands, common)
    settings.add_command(commands, common)
    audit.add_command(commands, common)
    serve.add_command(commands, common)
    pam.add_command(commands, common)
    return parser


def run_app(args: argparse.Namespace) -> int:
    return run_tui(prepare_app(args, open_after_paint=_paints_on_a_terminal()))


def _paints_on_a_terminal() -> bool:
    """Whether the app draws for a person (Textual reads stdin, draws on stderr)."""
    return all(stream is not None and stream.isatty() for stream in (sys.stdin, sys.stderr))
