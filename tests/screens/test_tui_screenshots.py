"""Screens that show a secret (the key and QR code, recovery codes) are never written to a
screenshot, locally too; other screens still are; notices show no markup."""

from __future__ import annotations

from pathlib import Path

from helpers import admin, register
from textual.pilot import Pilot
from tui import SIZE, settle, wait_until

from qmfa_tui.app import NO_SCREENSHOT_OF_SECRETS, QmfaApp
from qmfa_tui.screens.confirm import ConfirmScreen
from qmfa_tui.screens.recovery_codes import RecoveryCodesScreen
from qmfa_tui.screens.register_device import RegisterDeviceScreen
from qmfa_tui.screens.user_edit import UserEditScreen, open_user_edit

CODES = [f"{n}abcd-efgh{n}" for n in range(8)]


def screenshot_offered(app: QmfaApp) -> bool:
    return any(command.title == "Screenshot" for command in app.get_system_commands(app.screen))


async def try_every_screenshot(pilot: Pilot, app: QmfaApp, folder: Path) -> None:
    """The palette's Screenshot, the action, and Textual's direct save, all into ``folder``."""
    app.action_screenshot()
    await app.run_action(f"app.screenshot('a.svg', '{folder}')")
    app.save_screenshot("b.svg", str(folder))
    await pilot.pause(0.2)
    await settle(pilot)


async def test_the_recovery_codes_screen_refuses_screenshots_locally(
    database, fixed_clock, tmp_path
):
    boss = admin()
    downloads = tmp_path / "Downloads"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    app = QmfaApp(database, downloads_dir=downloads)
    async with app.run_test(size=SIZE) as pilot:
        app.log_in(boss)
        await settle(pilot)
        await app.push_screen(RecoveryCodesScreen("admin", CODES, "acme-qa"))
        await settle(pilot)
        assert not screenshot_offered(app)
        await try_every_screenshot(pilot, app, elsewhere)
        # A modal over the codes still draws them behind it.
        await app.push_screen(ConfirmScreen("Sure?", "Yes"))
        await settle(pilot)
        assert not screenshot_offered(app)
        await try_every_screenshot(pilot, app, elsewhere)
        notices = [notice.message for notice in app._notifications]
        assert notices and set(notices) == {NO_SCREENSHOT_OF_SECRETS}
    assert not downloads.exists() and list(elsewhere.iterdir()) == []


async def test_the_key_and_user_edit_screens_refuse_screenshots(database, fixed_clock, tmp_path):
    boss = admin()
    register(boss, fixed_clock)
    app = QmfaApp(database, downloads_dir=tmp_path / "Downloads")
    async with app.run_test(size=SIZE) as pilot:
        app.log_in(boss)
        await settle(pilot)
        open_user_edit(app, boss, "admin")  # Show reveals the recovery codes there
        await wait_until(pilot, lambda: isinstance(app.screen, UserEditScreen))
        assert app.screenshot_refusal() == NO_SCREENSHOT_OF_SECRETS
        assert not screenshot_offered(app)
        await app.push_screen(RegisterDeviceScreen(boss))
        await settle(pilot)
        assert app.screenshot_refusal() == NO_SCREENSHOT_OF_SECRETS
        await try_every_screenshot(pilot, app, tmp_path)
    assert not (tmp_path / "Downloads").exists()
    assert not list(tmp_path.glob("*.svg"))


async def test_other_screens_still_save_a_private_screenshot(database, fixed_clock, tmp_path):
    boss = admin()
    downloads = tmp_path / "Downloads"
    app = QmfaApp(database, downloads_dir=downloads)
    async with app.run_test(size=SIZE) as pilot:
        app.log_in(boss)
        await settle(pilot)
        assert screenshot_offered(app)  # the refusal is for secrets, not every screen
        [command] = [c for c in app.get_system_commands(app.screen) if c.title == "Screenshot"]
        command.callback()
        await wait_until(pilot, lambda: downloads.is_dir() and any(downloads.glob("*.svg")))
        [shot] = downloads.glob("*.svg")
        assert shot.stat().st_mode & 0o777 == 0o600 and "Customization" in shot.read_text()


async def test_the_ctrl_c_notice_shows_no_markup(database, fixed_clock):
    boss = admin()
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        app.log_in(boss)
        await settle(pilot)
        await pilot.press("ctrl+c")
        await settle(pilot)
        [notice] = app._notifications
        assert (notice.title, notice.message) == ("Do you want to quit?", "Press ctrl+q to quit")
        assert not notice.markup
