"""Screens made ready after login: their stylesheets read once, the heap settled in `qmfa`."""

from __future__ import annotations

import ast
import gc
import textwrap

from helpers import admin, run_python
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
    assert {"users.tcss", "user_edit.tcss"} <= names
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
        sheet = type(app.stylesheet)  # the app's own (textual_compat.ParsedOnceStylesheet)
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


AFTER_LOGIN_PROBE = textwrap.dedent("""
    import asyncio, sys
    from qmfa_tui import storage
    from qmfa_tui.app import QmfaApp
    from qmfa_tui.screens import preparing
    from qmfa_tui.services.session import issue_actor

    storage.open_database(sys.argv[1], create=False)
    account = storage.Account.get(storage.Account.username == "admin")
    app = QmfaApp(storage.current())

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            app.log_in(issue_actor(account.id, "admin"))
            users_css = str(preparing.stylesheet_paths([preparing.AFTER_LOGIN[0]])[0])
            for _ in range(500):
                await pilot.pause(0.01)
                if app.stylesheet.has_source(users_css):
                    break
            await app.workers.wait_for_complete()

    asyncio.run(main())
    print(sorted(name.rsplit(".", 1)[1] for name in sys.modules if name.startswith(
        "qmfa_tui.screens.") and name != "qmfa_tui.screens.preparing"))
""")


def test_after_login_only_the_users_screens_are_imported(database, fixed_clock):
    """Settings & Audit, its modals and Register a device load when first opened:
    a session that never opens them does not hold them."""
    admin()
    printed = run_python(AFTER_LOGIN_PROBE, database.url)
    loaded = set(ast.literal_eval(printed.splitlines()[-1]))
    assert {"users", "user_edit", "main"} <= loaded
    assert not loaded & {"settings", "mandatory", "audit_event", "register_device"}, loaded
