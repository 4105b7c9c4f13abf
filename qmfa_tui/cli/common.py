"""What the `qmfa` subcommands share: opening the database, reading a password, errors."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qmfa_tui.errors import BadInput

if TYPE_CHECKING:
    from qmfa_tui.services.session import Actor
    from qmfa_tui.storage import OpenDatabase


FORMATTER = argparse.RawDescriptionHelpFormatter


class UsageError(Exception):
    """Bad usage: exit code 2, like argparse's own."""


def command_parser(
    group: Any, name: str, common: argparse.ArgumentParser, summary: str, example: str
) -> argparse.ArgumentParser:
    """An operator command: its one-line help, description and example from ``summary``."""
    return group.add_parser(
        name,
        parents=[common],
        help=summary[0].lower() + summary[1:],  # one-line help reads like argparse's own
        description=summary + ".",
        epilog=f"example:\n  {example}",
        formatter_class=FORMATTER,
    )


def shell_actor() -> Actor:
    """The operator running a command from the shell: the actor every change is audited as."""
    from qmfa_tui.services import session

    return session.shell_actor()


def whole_number(maximum: int, minimum: int = 1) -> Callable[[str], int]:
    """An argparse type: a whole number from ``minimum`` to ``maximum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"give a number from {minimum} to {maximum:,}")
        return value

    return parse


if TYPE_CHECKING:  # generic in typeshed only
    _SubParsersAction = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    _SubParsersAction = argparse._SubParsersAction


class SubcommandParsers(_SubParsersAction):
    """Subcommands whose unknown arguments are refused by the subcommand itself.

    argparse hands them up to the top parser, whose message points at `qmfa --help`
    for a typo in `qmfa users list --formt csv`; here `qmfa users list` says it, names
    its own --help, and the option meant when one is close.
    """

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        super().__call__(parser, namespace, values, option_string)
        unknown: list[str] = vars(namespace).pop(argparse._UNRECOGNIZED_ARGS_ATTR, [])
        if unknown and values:
            subcommand = self._name_parser_map[values[0]]
            subcommand.error(
                f"unrecognized arguments: {' '.join(unknown)}{_did_you_mean(subcommand, unknown)}"
            )


def _did_you_mean(parser: argparse.ArgumentParser, unknown: list[str]) -> str:
    import difflib

    options = [option for action in parser._actions for option in action.option_strings]
    for word in unknown:
        if word.startswith("--"):
            close = difflib.get_close_matches(word.split("=", 1)[0], options, n=1)
            if close:
                return f"; did you mean {close[0]}?"
    return ""


DEFAULT_DATABASE = "qmfa.db"
DEMO_DATABASE = "demo.db"
# Naming a key means a database of one's own: no falling back to the demo one then.
_KEY_ENVS = ("QMFA_SECRET_KEY", "QMFA_KEY_FILE")


def open_from_args(
    args: argparse.Namespace, default_name: str | None = None, *, create: bool = False
) -> OpenDatabase:
    """Open the database named by --database, $QMFA_DATABASE_URL, or the default file.

    Only ``create`` (init, demo) makes a database or a key file that is not there yet;
    every other command opens an existing database or says in one line that there is none.
    ``default_name`` is the file in the data dir when no URL is given (demo.db for the
    demo commands); otherwise it is qmfa.db, except that a command that does not create
    uses demo.db while qmfa.db has no users and demo.db exists (see ``_demo_until_init``).
    """
    url = url_from_args(args, default_name, create=create)
    from qmfa_tui import storage

    return storage.open_database(url, key_file=getattr(args, "key_file", None), create=create)


def url_from_args(
    args: argparse.Namespace, default_name: str | None = None, *, create: bool = False
) -> str:
    """The URL ``open_from_args`` opens, worked out without a database library (an empty
    --database is a UsageError); PostgreSQL drivers are kept out of a SQLite process."""
    from qmfa_tui.database_url import (
        DATABASE_URL_ENV,
        default_url,
        resolve_url,
        skip_unused_drivers,
    )

    url = getattr(args, "database", None)
    if url is not None and not url.strip():
        raise UsageError(
            "--database is empty: give a URL such as sqlite:///PATH, or leave it "
            "out for the default database."
        )
    if url is None and not os.environ.get(DATABASE_URL_ENV):
        url = default_url(default_name or DEFAULT_DATABASE)
        if default_name is None and not create and not _key_named(args):
            demo = _demo_until_init()
            if demo is not None:
                url = default_url(DEMO_DATABASE)
                args.demo_fallback = demo
    url = resolve_url(url)
    skip_unused_drivers(url)
    return url


def _key_named(args: argparse.Namespace) -> bool:
    return getattr(args, "key_file", None) is not None or any(
        os.environ.get(name) for name in _KEY_ENVS
    )


def _demo_until_init() -> Path | None:
    """demo.db in the data dir, when the default qmfa.db is missing or holds no users.

    After `qmfa demo` a newcomer's next commands (`qmfa`, `qmfa users list`, `qmfa audit`)
    read the demo users rather than an empty qmfa.db; `qmfa init` ends it (its qmfa.db has
    a user). An empty qmfa.db counts as missing: earlier versions made one whenever a
    command ran before `qmfa init`, and so does an `init` refused for its password.
    """
    from qmfa_tui.database_url import data_dir, sqlite_has_users

    demo = data_dir() / DEMO_DATABASE
    if not demo.is_file():
        return None
    primary = data_dir() / DEFAULT_DATABASE
    if os.path.lexists(primary) and sqlite_has_users(primary) is not False:
        return None
    return demo


def read_password(from_stdin: bool, prompt: str) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise BadInput("--password-stdin read nothing from standard input.")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UsageError("No terminal to ask for the password; use --password-stdin.")
    first = getpass.getpass(prompt)
    if first != getpass.getpass("Again: "):
        raise BadInput("The two passwords differ.")
    return first


def confirm(question: str, assume_yes: bool) -> bool:
    """Ask on the terminal; without one, only --yes confirms."""
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError("Standard input is not a terminal: add --yes to confirm.")
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
