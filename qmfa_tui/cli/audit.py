"""`qmfa audit`: the audit log, newest first, as a table, CSV or JSON."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from qmfa_tui.cli.common import command_parser, open_from_args, shell_actor, whole_number
from qmfa_tui.cli.rows import write_rows
from qmfa_tui.csv_export import plain
from qmfa_tui.text import visible

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


def add_command(commands: Any, common: argparse.ArgumentParser) -> None:
    audit = command_parser(
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


def _timestamp(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date or time") from None


def audit_list(args: argparse.Namespace) -> int:
    open_from_args(args)
    from qmfa_tui.services import audit

    events = audit.list_events(
        shell_actor(),
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
    write_rows(rows, AUDIT_COLUMNS, args.format, {})
    return 0


def _refuse_unknown_user(username: str) -> None:
    """NotFound ("There is no user 'nobody'.") unless ``username`` is a user or the
    operator ("shell", whose commands --user selects too)."""
    from qmfa_tui.services import accounts, identity

    if identity.username_key(username.strip()) != identity.username_key(shell_actor().username):
        accounts.get_user(shell_actor(), username)


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
    several lines (control characters shown escaped, as in ``rows.write_rows``)."""
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
