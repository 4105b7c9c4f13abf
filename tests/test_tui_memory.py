"""Closed screens leave nothing behind: a day of opening users must not grow the heap
(and with it every full garbage collection, which walks all of it)."""

from __future__ import annotations

import gc

from helpers import admin
from textual.widget import Widget
from tui import SIZE, log_in_and_press, settle, wait_until

from qmfa_tui.app import QmfaApp
from qmfa_tui.screens.main import MainScreen
from qmfa_tui.screens.user_edit import UserEditScreen
from qmfa_tui.screens.users import UsersScreen


def live(cls: type) -> int:
    return sum(1 for thing in gc.get_objects() if isinstance(thing, cls))


def detached_widgets() -> int:
    """Widgets still in memory though no longer on any screen, after a full collection."""
    gc.collect()
    return sum(1 for w in gc.get_objects() if isinstance(w, Widget) and not w.is_attached)


async def users_round(pilot) -> None:
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
        await log_in_and_press(pilot, admin(), "u")
        top_bar = type(app.screen.children[0])  # the line with the title and username
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))

        async def rounds(count: int) -> tuple[int, int, int]:
            for _ in range(count):
                await users_round(pilot)
            gc.collect()
            return live(top_bar), live(UsersScreen), live(UserEditScreen)

        after_two = await rounds(2)
        # A closed screen may stay a moment (the last worker that read for it), not one
        # per screen ever opened: Textual's Header stayed for each, two a round, watching
        # the app's title until the next login.
        after_six = await rounds(4)
        grown = [later - before for later, before in zip(after_six, after_two, strict=True)]
        assert max(grown) <= 1, grown  # title bars, Users screens, User Edit screens


async def test_coming_back_to_the_main_menu_does_not_keep_old_widgets(database, fixed_clock):
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        app.log_in(admin())
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen) and app.is_admin)
        await settle(pilot)
        for _ in range(2):
            await users_round(pilot)
        after_two = detached_widgets()
        for _ in range(4):
            await users_round(pilot)
        # Textual's Footer kept the keys of each footer it built on the menu: ten more a round.
        assert detached_widgets() <= after_two + 2
