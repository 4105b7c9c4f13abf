"""Screens made ready after login: their stylesheets read once, the heap settled in `qmfa`."""

from __future__ import annotations

import gc

from helpers import admin
from textual.css.stylesheet import Stylesheet
from tui import SIZE, settle, wait_until

from qmfa_tui import cli
from qmfa_tui.app import QmfaApp
from qmfa_tui.screens import preparing
from qmfa_tui.screens.main import MainScreen
from qmfa_tui.screens.user_edit import UserEditScreen
from qmfa_tui.screens.users import UsersScreen
from qmfa_tui.services.session import shell_actor


def test_the_paths_are_the_ones_textual_reads_for_each_screen():
    paths = preparing.stylesheet_paths(preparing.AFTER_LOGIN)
    assert set(UsersScreen(shell_actor()).css_path) <= set(paths)  # Textual's own resolution
    names = {path.name for path in paths}
    assert {"users.tcss", "user_edit.tcss", "settings.tcss", "confirm.tcss"} <= names
    assert all(path.is_file() for path in paths)


async def test_after_login_the_screens_stylesheets_are_read_and_opening_one_reads_none(
    database, fixed_clock, monkeypatch
):
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        users_css = preparing_users_css()
        assert not app.stylesheet.has_source(users_css)
        app.log_in(admin())
        await wait_until(pilot, lambda: app.stylesheet.has_source(users_css))
        await settle(pilot)
        for path in preparing.stylesheet_paths(preparing.AFTER_LOGIN):
            assert app.stylesheet.has_source(str(path)), path

        calls: list[str] = []
        sheet = type(app.stylesheet)  # the app's own (app._ParsedOnce)
        for name in ("read", "reparse"):
            original = getattr(sheet, name)

            def noted(self: Stylesheet, *args: object, _name=name, _original=original) -> None:
                calls.append(_name)
                _original(self, *args)

            monkeypatch.setattr(sheet, name, noted)
        await pilot.press("u")
        await wait_until(pilot, lambda: isinstance(app.screen, UsersScreen))
        await settle(pilot)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, UserEditScreen))
        assert calls == []  # Textual read a screen's file and re-parsed on its first push


async def test_the_app_qmfa_runs_settles_the_heap_once_after_login(database, fixed_clock):
    gc.unfreeze()  # another test's app may have frozen this process's heap
    try:
        app = QmfaApp(database, settles_heap=True)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert gc.get_freeze_count() == 0  # not at the login screen
            app.log_in(admin())
            await wait_until(pilot, lambda: gc.get_freeze_count() > 0)
            assert isinstance(app.screen, MainScreen)
    finally:
        gc.unfreeze()


def test_the_qmfa_command_builds_its_app_to_settle_the_heap(tmp_path):
    args = cli.parse_arguments(["--database", f"sqlite:///{tmp_path / 'qmfa.db'}"])
    assert cli.prepare_app(args, open_after_paint=True).settles_heap  # opens nothing yet


async def test_an_app_in_a_shared_process_leaves_the_heap_alone(database, fixed_clock):
    gc.unfreeze()
    app = QmfaApp(database)  # as tests and `qmfa serve`'s helpers build it
    async with app.run_test(size=SIZE) as pilot:
        app.log_in(admin())
        await wait_until(pilot, lambda: app.stylesheet.has_source(preparing_users_css()))
        await settle(pilot)
        assert gc.get_freeze_count() == 0


def preparing_users_css() -> str:
    return str(next(p for p in preparing.stylesheet_paths(["qmfa_tui.screens.users"])))
