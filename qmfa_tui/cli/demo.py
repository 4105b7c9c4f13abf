"""`qmfa demo`: a demo database with a mix of users, then the app; `qmfa demo codes`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from qmfa_tui.cli.app_start import demo_hint, run_tui
from qmfa_tui.cli.common import DEMO_DATABASE, open_from_args, url_from_args, whole_number
from qmfa_tui.text import counted

MAX_DEMO_USERS = 1_000_000


def add_command(commands: Any, demo_common: argparse.ArgumentParser) -> None:
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
