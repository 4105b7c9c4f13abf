"""The app as `qmfa serve` starts it for an SSH session: the SSH username pre-filled."""

from __future__ import annotations

from helpers import PASSWORD, admin, register
from textual.widgets import Input
from tui import SIZE, settle

from qmfa_tui.app import QmfaApp
from qmfa_tui.screens.login import LoginScreen
from qmfa_tui.screens.security_code import SecurityCodeScreen
from qmfa_tui.served import ServedLimits


async def test_the_ssh_username_is_pre_filled_and_the_password_is_asked_next(database, fixed_clock):
    register(admin(), fixed_clock)
    app = QmfaApp(database, served=ServedLimits(120, 900, username="admin"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert type(app.screen).__name__ == LoginScreen.__name__
        assert app.screen.query_one("#username", Input).value == "admin"
        assert app.screen.focused is app.screen.query_one("#password", Input)
        for key in PASSWORD:
            await pilot.press(key if key != " " else "space")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SecurityCodeScreen)  # authentication stays qmfa's own


async def test_the_username_is_not_pre_filled_without_a_served_session(database):
    admin()
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.screen.query_one("#username", Input).value == ""
        assert app.screen.focused is app.screen.query_one("#username", Input)
