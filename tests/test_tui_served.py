"""The app as `qmfa serve` starts it for an SSH session: the SSH username pre-filled, and
no file written on the server."""

from __future__ import annotations

from helpers import PASSWORD, add_user, admin, register
from test_tui_modals import open_modal
from textual.widgets import Button, Input
from tui import SIZE, screen_text, settle, wait_until

from qmfa_tui.app import QmfaApp
from qmfa_tui.screens.login import LoginScreen
from qmfa_tui.screens.recovery_codes import RecoveryCodesScreen
from qmfa_tui.screens.save_file import NO_FILES_OVER_SSH, SaveFileScreen
from qmfa_tui.screens.security_code import SecurityCodeScreen
from qmfa_tui.screens.user_edit import UserEditScreen, open_user_edit
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


# Over SSH a saved file would be written on the server, as the account that owns the
# database, at a path the person types: the app offers Copy (the client's clipboard) instead.


def served_app(database, downloads) -> QmfaApp:
    return QmfaApp(database, downloads_dir=downloads, served=ServedLimits(120, 900))


async def test_served_recovery_codes_offer_copy_and_save_no_file(database, fixed_clock, tmp_path):
    boss = admin()
    device = register(boss, fixed_clock)
    downloads = tmp_path / "Downloads"
    app = served_app(database, downloads)
    async with app.run_test(size=SIZE) as pilot:
        app.log_in(boss)
        await settle(pilot)
        await app.push_screen(RecoveryCodesScreen("admin", device.codes, "acme-qa"))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RecoveryCodesScreen)
        assert not screen.query("#download")
        assert screen.focused is screen.query_one("#copy", Button)
        assert "no file is saved on the server" in screen_text(app)
        await pilot.press("d")  # the download key does nothing here
        await settle(pilot)
        assert app.screen is screen
        await pilot.press("enter")  # Copy, focused
        await settle(pilot)
        assert app.clipboard.split() == device.codes
    assert not downloads.exists()


async def test_served_user_edit_has_no_download_button(database, fixed_clock, tmp_path):
    boss = admin()
    register(boss, fixed_clock)
    app = served_app(database, tmp_path / "Downloads")
    async with app.run_test(size=SIZE) as pilot:
        app.log_in(boss)
        await settle(pilot)
        open_user_edit(app, boss, "admin")
        await wait_until(pilot, lambda: isinstance(app.screen, UserEditScreen))
        await settle(pilot)
        assert app.screen.query("#show-codes") and not app.screen.query("#download-codes")


async def test_served_mandatory_modal_has_no_export(database, fixed_clock, tmp_path):
    boss = admin()
    register(boss, fixed_clock)
    add_user(boss, "alice")
    app = served_app(database, tmp_path / "Downloads")
    async with app.run_test(size=SIZE) as pilot:
        modal = await open_modal(pilot, boss)
        await wait_until(pilot, lambda: modal.total == 1)  # alice, counted
        assert not modal.query("#export-csv")
        export = app.active_bindings.get("x")
        assert export is None or not export.enabled
        await pilot.press("x")
        await settle(pilot)
        assert app.screen is modal


async def test_the_save_dialog_itself_refuses_over_ssh(database, tmp_path):
    boss = admin()
    downloads = tmp_path / "Downloads"
    app = served_app(database, downloads)
    async with app.run_test(size=SIZE) as pilot:
        app.log_in(boss)
        await settle(pilot)
        await app.push_screen(SaveFileScreen("Save", downloads / "x.txt", lambda: "secret\n"))
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SaveFileScreen)
        assert NO_FILES_OVER_SSH in screen_text(app)
    assert not downloads.exists()
