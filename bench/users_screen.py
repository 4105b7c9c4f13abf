"""Customization > Users at 100,000 users: open, filter, page, search, open a user (ms).

    python bench/users_screen.py                 # makes a 100k demo database in a temp dir
    python bench/users_screen.py --database sqlite:////path/demo.db --runs 7

It prints numbers and exits 0; it is not a test. Each action is timed from what
its key runs until the first drawing sent to the terminal that shows the new rows
(and the new count), headless at 80x24, with the workers really in threads.
Opening the screen is timed from the Users key: the first page and the count are
read, then the screen is pushed and drawn with them. Opening a user (Enter on a
row) is timed until User Edit's first drawing, which shows the user whole: the
screen is pushed once the user has been read. Show
(recovery codes) is timed until the codes are drawn; each reveal is audited, so
the benchmark adds audit events to the database it runs on.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from qmfa_tui import storage
from qmfa_tui.app import QmfaApp
from qmfa_tui.screens import user_edit
from qmfa_tui.screens import users as users_module
from qmfa_tui.screens.users import UsersScreen
from qmfa_tui.services import demo
from qmfa_tui.services.directory import SortColumn, UserSort
from qmfa_tui.services.session import Actor, shell_actor
from qmfa_tui.textual_compat import NotesDrawings
from qmfa_tui.widgets.cycle_button import CycleButton
from qmfa_tui.widgets.user_table import UserTable

GOAL_MS = 100.0
THINK_TIME = 0.3


def demo_admin() -> Actor:
    """The operator: the benchmark can run again within one 30 s step (no code replay)."""
    return shell_actor()


class TimedUsersScreen(NotesDrawings, UsersScreen):
    """The Users screen, noting each drawing it sends to the terminal and which answers
    (page and count requests) it showed by then.

    Waiters sleep on an event the drawing sets, not a busy poll, so the benchmark
    stays off the event loop it measures; the time taken is the drawing's own, not
    the moment a waiter woke up (which came after any drawing queued behind it).
    """

    CSS_PATH = str(Path(users_module.__file__).with_name("users.tcss"))
    made: asyncio.Event
    last: TimedUsersScreen

    def __init__(self, actor: Actor, *args: Any, **kwargs: Any) -> None:
        super().__init__(actor, *args, **kwargs)
        self.painted = asyncio.Event()
        self.drawings: list[tuple[float, int, int]] = []
        TimedUsersScreen.last = self
        TimedUsersScreen.made.set()

    def drawing_sent(self) -> None:
        if self.is_mounted:  # Textual may send one before, with nothing of the screen yet
            self.drawings.append((time.perf_counter(), self.shown_page, self.shown_count))
            self.painted.set()

    def drawn_at(self, page: int, count: int) -> float | None:
        """When the first drawing that showed those answers was sent, if it was."""
        return next(
            (at for at, shown, counted in self.drawings if shown >= page and counted >= count), None
        )


class TimedUserEditScreen(NotesDrawings, user_edit.UserEditScreen):
    """User Edit, noting when each drawing of it, once mounted, was sent (Textual may
    send one before, with nothing of the screen in it yet)."""

    CSS_PATH = str(Path(user_edit.__file__).with_name("user_edit.tcss"))
    painted: asyncio.Event
    drawings: list[float]

    def drawing_sent(self) -> None:
        if self.is_mounted:
            TimedUserEditScreen.drawings.append(time.perf_counter())
            TimedUserEditScreen.painted.set()


async def next_drawing() -> float:
    """When the next drawing of User Edit was sent: the first one made after this call,
    not the latest by the time the waiter runs (the loop may have sent more by then)."""
    TimedUserEditScreen.painted = asyncio.Event()
    TimedUserEditScreen.drawings = []
    await TimedUserEditScreen.painted.wait()
    return TimedUserEditScreen.drawings[0]


async def open_user(screen: TimedUsersScreen, username: str) -> tuple[float, float | None]:
    """Enter on a row, then Show if the user has codes: ms until each is drawn."""
    await asyncio.sleep(THINK_TIME)
    user_edit.UserEditScreen = TimedUserEditScreen  # type: ignore[misc]  # open_user_edit pushes it
    start = time.perf_counter()
    screen.open_user(UserTable.Selected(screen.query_one(UserTable), username))
    opened = (await next_drawing() - start) * 1000
    shown = None
    user_screen = screen.app.screen
    assert isinstance(user_screen, TimedUserEditScreen) and user_screen.user.username == username
    if user_screen.user.recovery_codes_left:
        await asyncio.sleep(THINK_TIME)
        start = time.perf_counter()
        user_screen.show_codes()
        while not user_screen.query("#codes"):
            await asyncio.sleep(0.001)
        shown = (await next_drawing() - start) * 1000
    screen.app.pop_screen()
    return opened, shown


async def until_drawn(screen: TimedUsersScreen, page: int = 0, count: int = 0) -> float:
    """When the first drawing made after the answers to those requests reached the
    screen was sent."""
    while (at := screen.drawn_at(page, count)) is None:
        screen.painted.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(screen.painted.wait(), 0.05)
    return at


async def act(
    screen: TimedUsersScreen, do: Callable[[], object], *, counts: bool
) -> tuple[float, float]:
    """Run ``do`` (what a key or a click runs); ms until the rows, and the count, are drawn."""
    await asyncio.sleep(THINK_TIME)  # a person reads the screen before the next key
    page, count = screen.page_request + 1, screen.count_request + (1 if counts else 0)
    start = time.perf_counter()
    do()
    rows = await until_drawn(screen, page=page)
    counted = await until_drawn(screen, page=page, count=count)
    return (rows - start) * 1000, (counted - start) * 1000


async def open_users_screen(app: QmfaApp, actor: Actor) -> tuple[TimedUsersScreen, float]:
    """What the Users key runs (the first page and the count are read, then the screen
    is pushed): the screen, and ms until its first drawing with both was sent."""
    TimedUsersScreen.made = asyncio.Event()
    users_module.UsersScreen = TimedUsersScreen  # type: ignore[misc]  # open_users pushes it
    start = time.perf_counter()
    users_module.open_users(app, actor)
    await TimedUsersScreen.made.wait()
    screen = TimedUsersScreen.last
    return screen, (await until_drawn(screen, page=1, count=1) - start) * 1000


ACTIONS = (
    "open",
    "filter",
    "next page",
    "previous page",
    "open a user",
    "show codes",
    "search",
    "sort 2FA",
    "sort Created",
    "sort Codes",
    "sorted next",
)


async def measure(
    database: storage.OpenDatabase, actor: Actor, runs: int
) -> dict[str, list[tuple[float, float]]]:
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in ACTIONS}
    app = QmfaApp(database, settles_heap=True)  # as `qmfa` makes it (cli.prepare_app)
    async with app.run_test(size=(80, 24)) as pilot:
        app.log_in(actor)
        await pilot.pause()
        for run in range(runs):
            await asyncio.sleep(THINK_TIME)
            screen, opened = await open_users_screen(app, actor)
            results["open"].append((opened, opened))
            select = screen.query_one("#two-factor", CycleButton)
            value = ("enabled", "disabled")[run % 2]
            results["filter"].append(
                await act(screen, partial(setattr, select, "value", value), counts=True)
            )
            results["next page"].append(await act(screen, screen.action_next_page, counts=False))
            results["previous page"].append(
                await act(screen, screen.action_previous_page, counts=False)
            )
            assert screen.page is not None
            rows = screen.page.rows
            opened, shown = await open_user(screen, rows[run % len(rows)].username)
            results["open a user"].append((opened, opened))
            if shown is not None:
                results["show codes"].append((shown, shown))
            text = ("sato", "zzzz")[run % 2]
            results["search"].append(
                await act(screen, partial(screen._set_filter, search=text), counts=True)
            )
            screen._set_filter(search="")
            sorts: tuple[tuple[SortColumn, str], ...] = (
                ("two_factor", "2FA"),
                ("created", "Created"),
                ("codes", "Codes"),
            )
            for column, label in sorts:
                sort = UserSort(column, descending=bool(run % 2))
                results[f"sort {label}"].append(
                    await act(screen, partial(screen._set_sort, sort), counts=False)
                )
            results["sorted next"].append(await act(screen, screen.action_next_page, counts=False))
            screen._set_sort(UserSort())
            app.pop_screen()
            await pilot.pause()
    return results


# VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork and exec.
PEAK = """
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""
exec(PEAK)

BARE_APP = (
    PEAK
    + """
import asyncio
from textual.app import App
from textual.widgets import DataTable, Footer, Header

class Bare(App):
    def compose(self):
        yield Header()
        yield DataTable()
        yield Footer()

async def main():
    async with Bare().run_test(size=(80, 24)) as pilot:
        await pilot.pause()

asyncio.run(main())
print(peak())
"""
)


def peak_rss_mib(command: list[str]) -> float:
    """Peak memory (MiB) of a fresh process running ``command``."""
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def peak_memory(url: str, runs: int) -> tuple[float, float, float]:
    """Median peak memory (MiB) of the bare app, of qmfa at its login screen and of qmfa
    with the Users screen open, each a fresh process, the three taken in turn ``runs``
    times (a single process varies by ~0.1 MiB, the size of the margins measured)."""
    commands = (
        [sys.executable, "-c", BARE_APP],
        [sys.executable, "-c", QMFA_APP, url, "login"],
        [sys.executable, "-c", QMFA_APP, url, "users"],
    )
    peaks: list[list[float]] = [[], [], []]
    for _ in range(runs):
        for command, values in zip(commands, peaks, strict=True):
            values.append(peak_rss_mib(command))
    bare, login, users = (statistics.median(values) for values in peaks)
    return bare, login, users


# What `qmfa --database URL` loads (the command's own path, see cli.prepare_app), then
# the Users screen ("users": the key pressed once the menu has been read, measured once
# its rows are drawn) or nothing more ("login"). Only qmfa is imported, not this
# benchmark's modules. No password step: argon2id's 64 MiB are its deliberate cost.
QMFA_APP = (
    PEAK
    + f"""
import asyncio, sys
from qmfa_tui import cli
app = cli.prepare_app(cli.parse_arguments(["--database", sys.argv[1]]))

async def main():
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        if sys.argv[2] != "users":
            return
        from qmfa_tui.services.session import shell_actor
        actor = shell_actor()
        app.log_in(actor)
        await asyncio.sleep({THINK_TIME})
        from qmfa_tui.screens import users
        users.open_users(app, actor)
        while not (isinstance(app.screen, users.UsersScreen) and app.screen.is_mounted):
            await asyncio.sleep(0.005)
        await pilot.pause()

asyncio.run(main())
print(peak())
"""
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="an existing demo database URL")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    url = args.database
    if url is None:
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    database = storage.open_database(url)
    start = time.perf_counter()
    summary = demo.create_demo(args.users)
    made = "made" if summary.created else "reused"
    print(
        f"demo database {made}: {summary.users:,} users in "
        f"{time.perf_counter() - start:.1f} s ({database.display_url})"
    )
    results = asyncio.run(measure(database, demo_admin(), args.runs))
    print(
        f"\nUsers screen, {summary.users:,} users, 80x24 headless, median of {args.runs} "
        f"(ms until drawn; goal {GOAL_MS:.0f} ms):"
    )
    print(f"  {'action':<14} {'rows':>7} {'count':>7}   (rows: min-max)")
    for label, values in results.items():
        if not values:
            print(f"  {label:<14} (no user with recovery codes on the pages opened)")
            continue
        rows = [v[0] for v in values]
        count = statistics.median(v[1] for v in values)
        verdict = "ok" if max(statistics.median(rows), count) <= GOAL_MS else "over the goal"
        count_text = f"{count:7.1f}" if label in ("open", "filter", "search") else "      -"
        print(
            f"  {label:<14} {statistics.median(rows):7.1f} {count_text}   "
            f"({min(rows):.0f}-{max(rows):.0f})  {verdict}"
        )
    bare, login, users = peak_memory(url, args.runs)
    print(
        f"\npeak memory: bare Textual app (Header, DataTable, Footer) {bare:.1f} MiB; "
        f"qmfa at its login screen {login:.1f} MiB; with the {summary.users:,}-user Users "
        f"screen open {users:.1f} MiB ({users / bare:.2f}x the bare app, "
        f"+{users - login:.1f} MiB over qmfa's login screen)"
    )


if __name__ == "__main__":
    main()
