"""`qmfa init`: create the database and its first admin."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from qmfa_tui.cli.common import open_from_args, read_password, url_from_args
from qmfa_tui.kinds import Deployment
from qmfa_tui.text import visible


def add_command(commands: Any, init_common: argparse.ArgumentParser) -> None:
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
