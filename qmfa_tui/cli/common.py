"""What the `qmfa` subcommands share: opening the database, reading a password, errors."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable

from qmfa_tui.errors import BadInput


class UsageError(Exception):
    """Bad usage: exit code 2, like argparse's own."""


def whole_number(maximum: int) -> Callable[[str], int]:
    """An argparse type: a whole number from 1 to ``maximum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not 1 <= value <= maximum:
            raise argparse.ArgumentTypeError(f"give a number from 1 to {maximum:,}")
        return value

    return parse


def open_from_args(args: argparse.Namespace, default_name: str | None = None):
    """Open the database named by --database, $QMFA_DATABASE_URL, or the default file."""
    from qmfa_tui.database_url import (
        DATABASE_URL_ENV,
        default_url,
        resolve_url,
        skip_unused_drivers,
    )

    url = getattr(args, "database", None)
    if url is not None and not url.strip():
        raise UsageError("--database is empty: give a URL such as sqlite:///PATH, or leave it "
                         "out for the default database.")
    if url is None and default_name is not None and not os.environ.get(DATABASE_URL_ENV):
        url = default_url(default_name)
    url = resolve_url(url)
    skip_unused_drivers(url)
    from qmfa_tui import storage

    return storage.open_database(url, key_file=getattr(args, "key_file", None))


def read_password(from_stdin: bool, prompt: str) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise BadInput("--password-stdin read nothing from standard input.")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise BadInput("No terminal to ask for the password; use --password-stdin.")
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
