"""Headless operator commands: users, settings and the audit log, scriptable over SSH.

Everything runs as the actor "shell" (an operator with shell access holds the
database and its key anyway), and every change is audited as such.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qmfa_tui.cli.common import (
    UsageError,
    confirm,
    open_from_args,
    read_password,
    whole_number,
)
from qmfa_tui.csv_export import USER_COLUMNS, csv_lines, plain, user_record, user_table_record
from qmfa_tui.kinds import AuthSource, Role
from qmfa_tui.text import counted, visible

if TYPE_CHECKING:
    from qmfa_tui.services.session import Actor

FORMATTER = argparse.RawDescriptionHelpFormatter
AUDIT_COLUMNS = ("at", "actor", "actor_kind", "origin", "action", "target", "detail")
# At 80 columns the table folds the kind and OS account into the actor ("shell (op: root)");
# CSV and JSON carry the full origin ("root from 10.0.0.5"). The action is never cut (the
# longest, "settings.mandatory_off", has 22 characters): the actor, target and detail wrap
# inside their columns instead, and the detail takes whatever a wider terminal adds.
AUDIT_TABLE_COLUMNS = ("at", "actor", "action", "target", "detail")
AUDIT_TABLE_WIDTHS = {"at": 16, "actor": 16, "action": 22, "target": 10}  # caps; detail: the rest
# A page with guarded logins (pam.*) adds Where: "web1 (sshd from 10.0.0.5)", wrapped.
AUDIT_TABLE_COLUMNS_WITH_WHERE = ("at", "actor", "action", "target", "where", "detail")
AUDIT_WHERE_WIDTH = 26
MIN_TABLE_WIDTH = 80
MIN_AUDIT_DETAIL_WIDTH = 32
MAX_AUDIT_LIMIT = 1_000_000


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    _add_users(commands, common)
    _add_settings(commands, common)
    _add_audit(commands, common)


def _parser(
    group: Any, name: str, common: argparse.ArgumentParser, summary: str, example: str
) -> argparse.ArgumentParser:
    return group.add_parser(
        name,
        parents=[common],
        help=summary[0].lower() + summary[1:],  # one-line help reads like argparse's own
        description=summary + ".",
        epilog=f"example:\n  {example}",
        formatter_class=FORMATTER,
    )


def _user_parser(
    group: Any, name: str, common: argparse.ArgumentParser, summary: str, example: str
) -> argparse.ArgumentParser:
    """A `qmfa users` command acting on one user: ``_parser`` and its USER argument."""
    parser = _parser(group, name, common, summary, example)
    parser.add_argument("user", metavar="USER")
    return parser


def _add_users(commands: Any, common: argparse.ArgumentParser) -> None:
    users = commands.add_parser(
        "users",
        parents=[common],
        help="list and manage users",
        description="List and manage users.",
    )
    group = users.add_subparsers(metavar="COMMAND", required=True)

    listing = _parser(
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


def _add_settings(commands: Any, common: argparse.ArgumentParser) -> None:
    settings = commands.add_parser(
        "settings",
        parents=[common],
        help="show and change instance settings",
        description="Show and change instance settings.",
    )
    group = settings.add_subparsers(metavar="COMMAND", required=True)
    show = _parser(group, "show", common, "Show the instance settings", "qmfa settings show")
    show.set_defaults(handler=settings_show)
    mandatory = _parser(
        group,
        "mandatory",
        common,
        "Switch Mandatory Two-step Authentication on or off",
        "qmfa settings mandatory on --yes",
    )
    mandatory.add_argument("state", choices=("on", "off"))
    mandatory.add_argument("--yes", action="store_true", help="do not ask to confirm")
    mandatory.set_defaults(handler=settings_mandatory)
    grace = _parser(
        group,
        "grace-period",
        common,
        "Hours a user may put off registering once 2FA is mandatory (0: none)",
        "qmfa settings grace-period 48",
    )
    grace.add_argument("hours", type=_grace_hours, metavar="HOURS")
    grace.set_defaults(handler=settings_grace_period)
    name = _parser(
        group,
        "name",
        common,
        "Name the instance: the title bar's and the issuer apps list new registrations under",
        'qmfa settings name "Acme prod"',
    )
    name.add_argument(
        "name", metavar="NAME", help="one to 60 characters, in quotes if it has spaces"
    )
    name.set_defaults(handler=settings_name)


def _add_audit(commands: Any, common: argparse.ArgumentParser) -> None:
    audit = _parser(
        commands,
        "audit",
        common,
        "Show the audit log, newest first",
        "qmfa audit --since 2027-01-01 --action device.removed --format csv",
    )
    audit.add_argument(
        "--since",
        type=_timestamp,
        metavar="WHEN",
        help="ISO date or time, UTC (2027-01-15 or 2027-01-15T08:00)",
    )
    audit.add_argument(
        "--user", metavar="USER", help="events by or about USER (shell: the operator commands)"
    )
    audit.add_argument(
        "--action",
        metavar="ACTION",
        help="actions starting with ACTION: login finds login.failed, login.recovery_code...",
    )
    audit.add_argument(
        "--host",
        metavar="HOST",
        help="guarded logins (ssh, sudo through PAM) on HOST, its whole name: web1 is not web10",
    )
    audit.add_argument(
        "--limit",
        type=whole_number(MAX_AUDIT_LIMIT),
        default=1000,
        help="at most this many events (default: 1000)",
    )
    audit.add_argument("--format", choices=("table", "csv", "json"), default="table")
    audit.set_defaults(handler=audit_list)


def _grace_hours(text: str) -> int:
    from qmfa_tui.services.policy import MAX_GRACE_HOURS

    return whole_number(MAX_GRACE_HOURS, minimum=0)(text)


def _timestamp(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date or time") from None


def _shell() -> Actor:
    from qmfa_tui.services.session import shell_actor

    return shell_actor()


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
    rows: Iterable[dict[str, Any]] = map(user_record, directory.all_users(_shell(), user_filter))
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
    _write(rows, USER_COLUMNS, args.format, widths, {"codes_left": "codes"})
    return 0


def _write(
    rows: Iterable[dict[str, Any]],
    columns: tuple[str, ...],
    fmt: str,
    widths: dict[str, int],
    headers: dict[str, str] | None = None,
) -> None:
    """Rows of stored text out: CSV exact but never a formula, JSON exact (escaped by
    json.dumps), the table with control characters shown escaped (one line per row)."""
    out = sys.stdout
    if fmt == "csv":
        out.writelines(csv_lines(columns, rows))  # streamed, row by row
    elif fmt == "json":
        out.write("[")
        for index, row in enumerate(rows):
            out.write(("," if index else "") + "\n  " + json.dumps(row, default=str))
        out.write("\n]\n")
    else:
        headers = headers or {}
        out.write(
            " ".join(_cell(headers.get(c, c).upper(), widths[c]) for c in columns).rstrip() + "\n"
        )
        for row in rows:
            out.write(
                " ".join(_cell(visible(plain(row[c])), widths[c]) for c in columns).rstrip() + "\n"
            )


def _cell(text: str, width: int) -> str:
    return text.ljust(width) if len(text) <= width else text[: width - 1] + "…"


def users_add(args: argparse.Namespace) -> int:
    open_from_args(args)
    from qmfa_tui.services import accounts

    _refuse_unusable_name(args.user)  # before asking for a password in vain
    password = None
    if args.auth == AuthSource.LOCAL:
        password = read_password(args.password_stdin, f"Password for {args.user}: ")

    info = accounts.create_user(
        _shell(),
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
        accounts.get_user(_shell(), username)
    except NotFound:
        return
    raise Conflict(
        f"The username {username!r} is taken (names that differ only in "
        "letter case are the same name)."
    )


def users_deactivate(args: argparse.Namespace) -> int:
    open_from_args(args)
    from qmfa_tui.services import accounts

    info = accounts.set_active(_shell(), args.user, False)
    print(f"{info.username} is inactive.")
    return 0


def users_activate(args: argparse.Namespace) -> int:
    open_from_args(args)
    from qmfa_tui.services import accounts

    info = accounts.set_active(_shell(), args.user, True)
    print(f"{visible(info.username)} is active.")
    return 0


def users_edit(args: argparse.Namespace) -> int:
    if args.name is None and args.email is None:
        raise UsageError("users edit: give --name, --email, or both.")
    open_from_args(args)
    from qmfa_tui.services import accounts

    info = accounts.edit_profile(_shell(), args.user, display_name=args.name, email=args.email)
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
    user = accounts.get_user(_shell(), args.user)
    refusal = accounts.managed_elsewhere_refusal(user.username, user.auth_source, "password is")
    if refusal is not None:
        raise NotPermitted(refusal)
    password = None
    if not args.temporary:
        password = read_password(args.password_stdin, f"Temporary password for {args.user}: ")
    done = accounts.set_password(_shell(), args.user, password)
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

    info = accounts.set_role(_shell(), args.user, role=args.role, users_module=args.users_module)
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

    unlocked = throttle.unlock(_shell(), args.user)
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
    user = accounts.get_user(_shell(), args.user)
    if not user.two_factor:
        raise NotFound(f"{user.username} has no two-step verification device.")
    name = visible(user.username)
    if not confirm(f"Remove the device and recovery codes of {name}?", args.yes):
        print("Nothing changed.")
        return 1
    removal = twofactor.remove_device(_shell(), args.user)
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

    codes = recovery.reveal_codes(_shell(), args.user)
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


def settings_show(args: argparse.Namespace) -> int:
    opened = open_from_args(args)
    from qmfa_tui.services import policy

    info = policy.instance_info()
    print(f"database:     {opened.display_url}")
    print(f"key:          {opened.key_file or '$QMFA_SECRET_KEY'}")
    print(f"instance:     {visible(info.instance_name)}")
    print(f"deployment:   {info.deployment}")
    print(f"mandatory:    {'on' if info.mandatory else 'off'}")
    print(f"grace period: {counted(info.grace_period_hours, 'hour')}")
    print(f"without 2FA:  {counted(policy.count_affected(), 'active local user')}")
    if info.demo:
        print("demo:         yes")
    return 0


def settings_mandatory(args: argparse.Namespace) -> int:
    open_from_args(args)
    from qmfa_tui.services import policy

    enabled = args.state == "on"
    if enabled:
        affected = policy.count_affected()
        grace = policy.instance_info().grace_period_hours
        print(
            f"{counted(affected, 'active local user')} without two-step verification "
            + policy.mandatory_consequence(grace)
        )
        if not confirm("Make two-step verification mandatory?", args.yes):
            print("Nothing changed.")
            return 1
    info = policy.set_mandatory(_shell(), enabled)
    print(f"Mandatory Two-step Authentication is {'on' if info.mandatory else 'off'}.")
    return 0


def settings_grace_period(args: argparse.Namespace) -> int:
    open_from_args(args)
    from qmfa_tui.services import policy

    previous = policy.instance_info().grace_period_hours
    info = policy.set_grace_period(_shell(), args.hours)
    print(f"Grace period: {counted(info.grace_period_hours, 'hour')}.")
    if info.grace_period_hours < previous:
        print("People already told a deadline keep it.")
    return 0


def settings_name(args: argparse.Namespace) -> int:
    open_from_args(args)
    from qmfa_tui.services import policy

    info = policy.set_instance_name(_shell(), args.name)
    print(f"Instance name: {visible(info.instance_name)}.")
    print("New registrations list it as their issuer; devices already registered keep working.")
    return 0


def audit_list(args: argparse.Namespace) -> int:
    open_from_args(args)
    from qmfa_tui.services import audit

    events = audit.list_events(
        _shell(),
        since=args.since,
        username=args.user,
        action=args.action,
        host=args.host,
        limit=args.limit,
    )
    if not events and args.user is not None:
        _refuse_unknown_user(args.user)  # a mistyped name is not "nothing happened"
    if not events:  # said aside from the output, which stays a well-formed (empty) table
        print("No audit events match.", file=sys.stderr)
    if args.format == "table":
        table = [
            {
                "at": f"{e.at:%Y-%m-%d %H:%M}",
                "actor": e.actor_short,
                "action": e.action,
                "target": e.target,
                "where": e.where,
                "detail": e.detail,
            }
            for e in events
        ]
        # Where (a guarded login's host) only when the page holds one: room for the detail.
        guarded = any(row["where"] for row in table)
        columns = AUDIT_TABLE_COLUMNS_WITH_WHERE if guarded else AUDIT_TABLE_COLUMNS
        _write_wrapped(table, columns, _audit_widths(table, guarded))
        return 0
    rows = (
        {
            "at": e.at,
            "actor": e.actor,
            "actor_kind": e.actor_kind,
            "origin": e.origin,
            "action": e.action,
            "target": e.target,
            "detail": e.detail,
        }
        for e in events
    )
    _write(rows, AUDIT_COLUMNS, args.format, {})
    return 0


def _refuse_unknown_user(username: str) -> None:
    """NotFound ("There is no user 'nobody'.") unless ``username`` is a user or the
    operator ("shell", whose commands --user selects too)."""
    from qmfa_tui.services import accounts, identity

    if identity.username_key(username.strip()) != identity.username_key(_shell().username):
        accounts.get_user(_shell(), username)


def _audit_widths(rows: list[dict[str, Any]], with_where: bool = False) -> dict[str, int]:
    """The audit table's columns: each as wide as its longest cell (and heading) up to
    its cap in AUDIT_TABLE_WIDTHS, the detail taking what is left of the terminal's
    width. While the longest detail would take more than two lines (and the detail has
    fewer than MIN_AUDIT_DETAIL_WIDTH cells), the others but the time give up room down
    to their longest word, so they wrap between words."""
    import shutil

    width = max(MIN_TABLE_WIDTH, shutil.get_terminal_size((MIN_TABLE_WIDTH, 24)).columns)
    caps = {**AUDIT_TABLE_WIDTHS, **({"where": AUDIT_WHERE_WIDTH} if with_where else {})}
    texts = {c: [visible(plain(row[c])) for row in rows] for c in caps}
    widths = {c: min(cap, max([len(c), *map(len, texts[c])])) for c, cap in caps.items()}
    floors = {
        c: min(widths[c], max([len(c), *(len(word) for t in texts[c] for word in t.split())]))
        for c in widths
    }
    floors["at"] = widths["at"]  # a date and a time: kept on one line
    longest_detail = max([len("detail"), *(len(visible(plain(row["detail"]))) for row in rows)])
    detail = width - sum(widths.values()) - len(widths)  # and the separators
    # Room for the longest detail in two lines (up to MIN_AUDIT_DETAIL_WIDTH cells).
    while detail < min(MIN_AUDIT_DETAIL_WIDTH, -(-longest_detail // 2) + 1):
        column = max(widths, key=lambda c: widths[c] - floors[c])
        if widths[column] == floors[column]:
            break
        widths[column] -= 1
        detail += 1
    return {**widths, "detail": max(len("detail"), detail)}


def _write_wrapped(
    rows: Iterable[dict[str, Any]], columns: tuple[str, ...], widths: dict[str, int]
) -> None:
    """A table whose cells wrap inside their columns: nothing is cut, a row may take
    several lines (control characters shown escaped, as in ``_write``)."""
    import textwrap

    def lines(text: str, width: int) -> list[str]:
        return textwrap.wrap(text, width, break_on_hyphens=False) or [""]

    out = sys.stdout
    out.write(" ".join(c.upper().ljust(widths[c]) for c in columns).rstrip() + "\n")
    for row in rows:
        cells = [lines(visible(plain(row[c])), widths[c]) for c in columns]
        for depth in range(max(map(len, cells))):
            out.write(
                " ".join(
                    (cell[depth] if depth < len(cell) else "").ljust(widths[c])
                    for c, cell in zip(columns, cells, strict=True)
                ).rstrip()
                + "\n"
            )
