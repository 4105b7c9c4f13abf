"""`qmfa users`: list, create and change users, as the operator ("shell").

Everything runs as the actor "shell" (an operator with shell access holds the
database and its key anyway), and every change is audited as such.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from qmfa_tui.cli.common import (
    UsageError,
    command_parser,
    confirm,
    open_from_args,
    read_password,
    shell_actor,
)
from qmfa_tui.cli.rows import write_rows
from qmfa_tui.csv_export import USER_COLUMNS, user_record, user_table_record
from qmfa_tui.kinds import AuthSource, Role
from qmfa_tui.text import counted, visible


def _user_parser(
    group: Any, name: str, common: argparse.ArgumentParser, summary: str, example: str
) -> argparse.ArgumentParser:
    """A `qmfa users` command acting on one user: ``_parser`` and its USER argument."""
    parser = command_parser(group, name, common, summary, example)
    parser.add_argument("user", metavar="USER")
    return parser


def add_command(commands: Any, common: argparse.ArgumentParser) -> None:
    users = commands.add_parser(
        "users",
        parents=[common],
        help="list and manage users",
        description="List and manage users.",
    )
    group = users.add_subparsers(metavar="COMMAND", required=True)

    listing = command_parser(
        group,
        "list",
        common,
        "List users with the Users screen's filters",
        "qmfa users list --2fa disabled --auth local --format csv > no-2fa.csv",
    )
    listing.add_argument("--2fa", dest="two_factor", choices=("enabled", "disabled"))
    status = listing.add_mutually_exclusive_group()
    status.add_argument("--active", dest="status", action="store_const", const="active")
    status.add_argument("--inactive", dest="status", action="store_const", const="inactive")
    listing.add_argument("--auth", choices=list(AuthSource))
    listing.add_argument("--search", default="", metavar="TEXT", help="in username, name or email")
    listing.add_argument(
        "--codes",
        choices=("none", "few", "more"),
        help="recovery codes left (users with 2FA): none, few (1-2) or more (3+)",
    )
    listing.add_argument("--format", choices=("table", "csv", "json"), default="table")
    listing.set_defaults(handler=users_list, status="all")

    add = _user_parser(
        group,
        "add",
        common,
        "Create a user",
        "echo 'a long passphrase' | qmfa users add alice --name 'Alice A' --password-stdin",
    )
    add.add_argument("--name", default="", help="full name")
    add.add_argument("--email", default="")
    add.add_argument("--auth", choices=list(AuthSource), default=AuthSource.LOCAL.value)
    add.add_argument("--admin", action="store_true", help="give every permission")
    add.add_argument(
        "--users-module",
        action="store_true",
        help="may open Customization > Users and read recovery codes",
    )
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input instead of prompting",
    )
    add.set_defaults(handler=users_add)

    deactivate = _user_parser(
        group,
        "deactivate",
        common,
        "Deactivate a user (they cannot log in)",
        "qmfa users deactivate alice",
    )
    deactivate.set_defaults(handler=users_deactivate)

    activate = _user_parser(
        group,
        "activate",
        common,
        "Activate a user again (they can log in; audited)",
        "qmfa users activate alice",
    )
    activate.set_defaults(handler=users_activate)

    edit = _user_parser(
        group,
        "edit",
        common,
        "Change a local user's name and/or email (audited)",
        "qmfa users edit alice --name 'Alice Archer' --email alice@example.com",
    )
    edit.add_argument("--name", help="full name ('' clears it)")
    edit.add_argument("--email", help="email ('' clears it)")
    edit.set_defaults(handler=users_edit)

    set_password = _user_parser(
        group,
        "set-password",
        common,
        "Reset a local user's password; they choose a new one at the next login (audited)",
        "qmfa users set-password bob --temporary",
    )
    given = set_password.add_mutually_exclusive_group()
    given.add_argument(
        "--temporary",
        action="store_true",
        help="generate a strong password and print it once, on standard output",
    )
    given.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input instead of prompting",
    )
    set_password.set_defaults(handler=users_set_password)

    set_role = _user_parser(
        group,
        "set-role",
        common,
        "Change a user's role and/or Users module (audited)",
        "qmfa users set-role alice --user --users-module",
    )
    role = set_role.add_mutually_exclusive_group()
    role.add_argument(
        "--admin",
        dest="role",
        action="store_const",
        const=Role.ADMIN.value,
        help="give every permission",
    )
    role.add_argument(
        "--user",
        dest="role",
        action="store_const",
        const=Role.USER.value,
        help="an ordinary user (the Users module as stored, unless given)",
    )
    set_role.add_argument(
        "--users-module",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="may open Customization > Users and read ordinary users' recovery codes",
    )
    set_role.set_defaults(handler=users_set_role)

    unlock = _user_parser(
        group,
        "unlock",
        common,
        "Clear a user's login throttles: every place's wait and the account-wide limit (audited)",
        "qmfa users unlock bob",
    )
    unlock.set_defaults(handler=users_unlock)

    remove = _user_parser(
        group,
        "remove-2fa",
        common,
        "Remove a user's device and recovery codes (they register again)",
        "qmfa users remove-2fa bob --yes",
    )
    remove.add_argument("--yes", action="store_true", help="do not ask to confirm")
    remove.set_defaults(handler=users_remove_2fa)

    codes = _user_parser(
        group,
        "recovery-codes",
        common,
        "Show a user's unused recovery codes (audited)",
        "qmfa users recovery-codes alice --txt alice-codes.txt",
    )
    codes.add_argument(
        "--txt",
        type=Path,
        metavar="FILE",
        help="write the .txt a user would download to a new file (0600)",
    )
    codes.set_defaults(handler=users_recovery_codes)


def users_list(args: argparse.Namespace) -> int:
    open_from_args(args)
    from qmfa_tui.services import directory
    from qmfa_tui.services.user_filter import UserFilter

    user_filter = UserFilter(
        two_factor=args.two_factor or "all",
        status=args.status,
        auth_source=args.auth,
        search=args.search,
        codes=args.codes or "all",
    )
    rows: Iterable[dict[str, Any]] = map(
        user_record, directory.all_users(shell_actor(), user_filter)
    )
    if args.format == "table":  # the app's words; CSV and JSON keep the machine values
        from qmfa_tui.services.recovery import CODE_COUNT

        rows = (user_table_record(row, CODE_COUNT) for row in rows)
    widths = {
        "username": 18,
        "name": 16,
        "email": 16,
        "auth": 5,
        "active": 6,
        "2fa": 8,
        "codes_left": 5,
    }
    write_rows(rows, USER_COLUMNS, args.format, widths, {"codes_left": "codes"})
    return 0


def users_add(args: argparse.Namespace) -> int:
    open_from_args(args)
    from qmfa_tui.services import accounts

    _refuse_unusable_name(args.user)  # before asking for a password in vain
    password = None
    if args.auth == AuthSource.LOCAL:
        password = read_password(args.password_stdin, f"Password for {args.user}: ")

    info = accounts.create_user(
        shell_actor(),
        args.user,
        password=password,
        display_name=args.name,
        email=args.email,
        auth_source=args.auth,
        role="admin" if args.admin else "user",
        users_module=args.users_module or args.admin,
    )
    print(f"Created {info.username} ({info.auth_source}, {info.role}).")
    return 0


def _refuse_unusable_name(username: str) -> None:
    """What `accounts.create_user` would refuse about the name alone: its form, a reserved
    name, a taken one (in the service's words; it checks again in its transaction)."""
    from qmfa_tui.errors import Conflict, NotFound
    from qmfa_tui.services import accounts, identity

    username = accounts.validate_username(username)
    identity.refuse_reserved(username)
    try:
        accounts.get_user(shell_actor(), username)
    except NotFound:
        return
    raise Conflict(
        f"The username {username!r} is taken (names that differ only in "
        "letter case are the same name)."
    )


def users_deactivate(args: argparse.Namespace) -> int:
    open_from_args(args)
    from qmfa_tui.services import accounts

    info = accounts.set_active(shell_actor(), args.user, False)
    print(f"{info.username} is inactive.")
    return 0


def users_activate(args: argparse.Namespace) -> int:
    open_from_args(args)
    from qmfa_tui.services import accounts

    info = accounts.set_active(shell_actor(), args.user, True)
    print(f"{visible(info.username)} is active.")
    return 0


def users_edit(args: argparse.Namespace) -> int:
    if args.name is None and args.email is None:
        raise UsageError("users edit: give --name, --email, or both.")
    open_from_args(args)
    from qmfa_tui.services import accounts

    info = accounts.edit_profile(shell_actor(), args.user, display_name=args.name, email=args.email)
    print(
        f"{visible(info.username)}: name {visible(info.display_name) or '-'}, "
        f"email {visible(info.email) or '-'}."
    )
    return 0


def users_set_password(args: argparse.Namespace) -> int:
    open_from_args(args)
    from qmfa_tui.errors import NotPermitted
    from qmfa_tui.services import accounts

    # Said before asking for a password that could not be used.
    user = accounts.get_user(shell_actor(), args.user)
    refusal = accounts.managed_elsewhere_refusal(user.username, user.auth_source, "password is")
    if refusal is not None:
        raise NotPermitted(refusal)
    password = None
    if not args.temporary:
        password = read_password(args.password_stdin, f"Temporary password for {args.user}: ")
    done = accounts.set_password(shell_actor(), args.user, password)
    name = visible(done.username)
    if done.generated is not None:
        print(done.generated)  # alone on standard output, for a script to pass on
        print(f"The temporary password of {name} above is shown this once.", file=sys.stderr)
    print(
        f"{name} must choose a new password at the next login (after the security code, "
        "if they have two-step verification).",
        file=sys.stderr,
    )
    return 0


def users_set_role(args: argparse.Namespace) -> int:
    if args.role is None and args.users_module is None:
        raise UsageError(
            "users set-role: give a role (--admin or --user), --users-module or "
            "--no-users-module, or both."
        )
    open_from_args(args)
    from qmfa_tui.services import accounts

    info = accounts.set_role(
        shell_actor(), args.user, role=args.role, users_module=args.users_module
    )
    if info.is_admin:
        print(f"{info.username} is an admin.")
    else:
        print(
            f"{info.username} is a user {'with' if info.users_module else 'without'} "
            "the Users module."
        )
    return 0


def users_unlock(args: argparse.Namespace) -> int:
    open_from_args(args)
    from qmfa_tui.services import throttle

    unlocked = throttle.unlock(shell_actor(), args.user)
    if unlocked.cleared:
        print(f"Cleared the login throttles of {unlocked.username}: no place is held now.")
    else:
        print(f"{unlocked.username} was not throttled; nothing to clear.")
    return 0


def users_remove_2fa(args: argparse.Namespace) -> int:
    open_from_args(args)
    from qmfa_tui.errors import NotFound
    from qmfa_tui.services import accounts, twofactor

    # Who and whether, said before the question (as `settings mandatory on` does).
    user = accounts.get_user(shell_actor(), args.user)
    if not user.two_factor:
        raise NotFound(f"{user.username} has no two-step verification device.")
    name = visible(user.username)
    if not confirm(f"Remove the device and recovery codes of {name}?", args.yes):
        print("Nothing changed.")
        return 1
    removal = twofactor.remove_device(shell_actor(), args.user)
    then = (
        "must register a device at the next login"
        if removal.registration_required_next_login
        else "logs in with the password alone until registering again"
    )
    print(f"Removed two-step verification for {removal.username}, who {then}.")
    return 0


def users_recovery_codes(args: argparse.Namespace) -> int:
    if args.txt is not None:
        _refuse_existing(args.txt)  # before the reveal, which is audited
    open_from_args(args)
    from qmfa_tui.services import clock, policy, recovery

    codes = recovery.reveal_codes(shell_actor(), args.user)
    if args.txt is None:
        print("\n".join(codes) if codes else f"{args.user} has no unused recovery codes.")
        return 0
    text = recovery.codes_text(
        args.user, policy.instance_info().instance_name, codes, clock.utc(clock.now())
    )
    _write_private(args.txt, text)
    print(f"Wrote {counted(len(codes), 'recovery code')} to {args.txt}.", file=sys.stderr)
    return 0


def _refuse_existing(path: Path) -> None:
    from qmfa_tui.private_files import what_is_at

    found = what_is_at(path)
    if found is not None:
        raise _exists(path, found)


def _exists(path: Path, found: str) -> Exception:
    from qmfa_tui.errors import BadInput

    return BadInput(f"{path} {found}; --txt writes a new file only: give another name.")


def _write_private(path: Path, text: str) -> None:
    """Create ``path`` 0600 with ``text``; never over an existing file or through a link."""
    from qmfa_tui.errors import BadInput
    from qmfa_tui.private_files import create_private_file, what_is_at

    try:
        create_private_file(path, text)
    except FileExistsError:
        raise _exists(path, what_is_at(path) or "already exists") from None
    except OSError as error:
        raise BadInput(f"Cannot write {path}: {error.strerror or error}.") from None
