"""Closed screens leave nothing behind: a day of opening users must not grow the heap
(and with it every full garbage collection, which walks all of it).

Counts are taken on a settled app, whatever the machine's load: no worker running, no
message pending, the worker threads that ran earlier rounds gone, a full collection done.
A leak keeps something every round, so the growth over ``MORE_ROUNDS`` rounds stays below
one per round; what a busy machine keeps a moment longer does not grow with the rounds."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from helpers import admin
from textual.pilot import Pilot
from textual.widget import Widget
from tui import SIZE, log_in_and_press, settle, wait_until

from qmfa_tui.app import QmfaApp
from qmfa_tui.screens.main import MainScreen
from qmfa_tui.screens.user_edit import UserEditScreen
from qmfa_tui.screens.users import UsersScreen

FIRST_ROUNDS = 2
MORE_ROUNDS = 4

Counted = TypeVar("Counted")


def live(cls: type) -> int:
    return sum(1 for thing in gc.get_objects() if isinstance(thing, cls))


def detached_widgets() -> int:
    """Widgets still in memory though no longer on any screen."""
    return sum(1 for w in gc.get_objects() if isinstance(w, Widget) and not w.is_attached)


class WorkerThreads:
    """The event loop's worker threads, which can be let go before counting.

    Textual marks a thread worker as active in the context of the pool thread that runs
    it, so each pool thread keeps the last worker it ran, and that worker's screen, until
    it runs another. How many threads the pool starts depends on how busy the machine is:
    counting with them alive measures the machine's speed, not the app's memory."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(thread_name_prefix="memory-test")
        asyncio.get_running_loop().set_default_executor(self.pool)

    def let_go(self) -> None:
        """Give the loop a fresh pool and end the old one's threads (all idle: settled)."""
        old, self.pool = self.pool, ThreadPoolExecutor(thread_name_prefix="memory-test")
        asyncio.get_running_loop().set_default_executor(self.pool)
        old.shutdown(wait=True)


async def settled_count(
    pilot: Pilot, threads: WorkerThreads, count: Callable[[], Counted]
) -> Counted:
    """``count()`` on a settled app: taken again until two counts in a row agree."""
    app = pilot.app
    previous: Counted | None = None
    for _ in range(20):
        await settle(pilot)
        await app.workers.wait_for_complete()
        await pilot.wait_for_scheduled_animations()
        if app.workers:  # one started meanwhile (a timer's): not settled yet
            previous = None
            continue
        threads.let_go()
        gc.collect()
        counted = count()
        if counted == previous:
            return counted
        previous = counted
    raise AssertionError(f"the count never settled: {previous}")


async def users_round(pilot: Pilot) -> None:
    """From the main menu: Users, a user, back, back."""
    app = pilot.app
    await pilot.press("u")
    await wait_until(pilot, lambda: isinstance(app.screen, UsersScreen))
    await settle(pilot)
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, UserEditScreen))
    await settle(pilot)
    await pilot.press("escape")
    await wait_until(pilot, lambda: isinstance(app.screen, UsersScreen))
    await pilot.press("escape")
    await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
    await settle(pilot)


async def test_opening_and_closing_users_screens_does_not_pile_up_widgets(database, fixed_clock):
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        threads = WorkerThreads()
        await log_in_and_press(pilot, admin(), "u")
        top_bar = type(app.screen.children[0])  # the line with the title and username
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))

        def counts() -> tuple[int, int, int]:
            return live(top_bar), live(UsersScreen), live(UserEditScreen)

        for _ in range(FIRST_ROUNDS):
            await users_round(pilot)
        before = await settled_count(pilot, threads, counts)
        for _ in range(MORE_ROUNDS):
            await users_round(pilot)
        after = await settled_count(pilot, threads, counts)
        # Textual's Header stayed for each screen ever opened, two a round, watching the
        # app's title until the next login.
        grown = [later - earlier for later, earlier in zip(after, before, strict=True)]
        assert max(grown) < MORE_ROUNDS, grown  # title bars, Users screens, User Edit screens


async def test_coming_back_to_the_main_menu_does_not_keep_old_widgets(database, fixed_clock):
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        threads = WorkerThreads()
        app.log_in(admin())
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen) and app.is_admin)
        for _ in range(FIRST_ROUNDS):
            await users_round(pilot)
        before = await settled_count(pilot, threads, detached_widgets)
        for _ in range(MORE_ROUNDS):
            await users_round(pilot)
        after = await settled_count(pilot, threads, detached_widgets)
        # Textual's Footer kept the keys of each footer it built on the menu: ten more a round.
        assert after - before < MORE_ROUNDS, (before, after)
