"""No key, palette command or screen-stack trick gets past the login screens."""

from __future__ import annotations

import pytest
from helpers import PASSWORD, add_user, admin, register
from tui import SIZE, log_in_password, settle

from qmfa_tui.app import QmfaApp
from qmfa_tui.screens.commands import NavigationCommands
from qmfa_tui.screens.main import MainScreen
from qmfa_tui.screens.user_edit import UserEditScreen
from qmfa_tui.services import policy
from qmfa_tui.services.session import shell_actor

NEVER_PRESS = {"ctrl+q", "ctrl+c"}  # quitting ends the test, not the login


def assert_logged_out(app: QmfaApp) -> None:
    assert app.session is None
    assert not isinstance(app.screen, MainScreen | UserEditScreen)
    assert all(not isinstance(s, MainScreen | UserEditScreen) for s in app.screen_stack)
    assert "main" not in app._modes


async def close_modals(pilot) -> None:
    """Close what a key or command opened (palette, theme picker) before the next try."""
    while pilot.app.screen.is_modal:
        await pilot.press("escape")
        await settle(pilot)


async def try_everything(pilot) -> None:
    app = pilot.app
    start = type(app.screen)
    pressed = 0
    for key in sorted(set(app.active_bindings) - NEVER_PRESS):
        await pilot.press(key)
        await settle(pilot)
        assert_logged_out(app)
        await close_modals(pilot)
        pressed += 1
        if type(app.screen) is not start:
            break  # a binding moved on (Escape went back): that screen has its own case
    assert pressed >= 10
    provider = NavigationCommands(app.screen)
    assert [hit async for hit in provider.discover()] == []
    assert [hit async for hit in provider.search("account")] == []
    for command in app.get_system_commands(app.screen):
        if command.title != "Quit":
            command.callback()
            await settle(pilot)
            assert_logged_out(app)
            await close_modals(pilot)
    for action in ("my_account", "log_out"):
        await app.run_action(action)
        await settle(pilot)
        assert_logged_out(app)


@pytest.mark.parametrize("where", ["login", "security_code", "recovery_code", "forced_register"])
async def test_nothing_reaches_the_main_screen_before_both_steps(database, fixed_clock, where):
    boss = admin()
    register(boss, fixed_clock)
    add_user(boss, "alice")
    policy.set_mandatory(shell_actor(), True)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        if where == "security_code":
            await log_in_password(pilot, "admin", PASSWORD)
        elif where == "recovery_code":
            await log_in_password(pilot, "admin", PASSWORD)
            await pilot.press("ctrl+r")
            await settle(pilot)
        elif where == "forced_register":
            await log_in_password(pilot, "alice", PASSWORD)
        assert_logged_out(app)
        await try_everything(pilot)
        assert_logged_out(app)
