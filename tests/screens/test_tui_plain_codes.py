"""Recovery codes one can keep without OSC 52: Copy says what it sent and how to check,
and v shows the codes as plain lines (mouse released, see test_plain_codes_on_a_pty.py)."""

from __future__ import annotations

import pytest
from helpers import add_user, admin, register
from textual.geometry import Region
from textual.widgets import Static
from tui import SIZE, screen_text, settle, wait_until

from qmfa_tui.app import QmfaApp
from qmfa_tui.screens.help import HelpScreen
from qmfa_tui.screens.plain_codes import PlainCodesScreen
from qmfa_tui.screens.recovery_codes import COPY_SENT, RecoveryCodesScreen
from qmfa_tui.screens.user_edit import UserEditScreen, open_user_edit
from qmfa_tui.served_limits import ServedLimits

# The words a person reads after Copy: what went out, and what to do if nothing arrived.
SENT = "Sent the codes to your terminal's clipboard (OSC 52)."
CHECK = "Nothing there? Press v to show them as plain text to select."


def plain_lines(app: QmfaApp) -> list[str]:
    """The plain view's code lines, as drawn (one code per line, nothing beside it)."""
    return str(app.screen.query_one("#plain-codes", Static).render()).splitlines()


async def copy_then_plain_then_back(app: QmfaApp, pilot, codes: list[str]) -> None:
    """On a screen showing ``codes``: c, the message and clipboard; v, the plain view; Esc."""
    shown = app.screen
    await pilot.press("c")
    await settle(pilot)
    assert app.clipboard.split() == codes
    said = " ".join(screen_text(app).split())
    assert SENT in said and CHECK in said
    assert "Copied" not in said  # nothing claims the codes arrived
    await pilot.press("v")
    await settle(pilot)
    assert isinstance(app.screen, PlainCodesScreen)
    assert plain_lines(app) == codes
    assert app.screenshot_refusal() is not None  # the codes are never written to a picture
    await pilot.press("escape")
    await settle(pilot)
    assert app.screen is shown


async def test_copy_after_registration_says_how_to_check_and_v_shows_plain_codes(
    database, fixed_clock, tmp_path
):
    boss = admin()
    device = register(boss, fixed_clock)
    app = QmfaApp(database, downloads_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.log_in(boss)
        await settle(pilot)
        await app.push_screen(RecoveryCodesScreen("admin", device.codes, "acme-qa"))
        await settle(pilot)
        await copy_then_plain_then_back(app, pilot, device.codes)
        await pilot.click("#plain")  # the button does what v does
        await settle(pilot)
        assert isinstance(app.screen, PlainCodesScreen)
        await pilot.press("f1")  # its help says what the view is for, and Esc
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert PlainCodesScreen.HELP in " ".join(screen_text(app).split())
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, PlainCodesScreen)


async def test_served_codes_panel_fits_80x24_with_the_copy_message(database, fixed_clock, tmp_path):
    """Over SSH the panel holds Copy's message and the no-file line, its border whole."""
    boss = admin()
    device = register(boss, fixed_clock)
    app = QmfaApp(database, downloads_dir=tmp_path, served=ServedLimits(120, 900))
    async with app.run_test(size=SIZE) as pilot:
        app.log_in(boss)
        await settle(pilot)
        await app.push_screen(RecoveryCodesScreen("admin", device.codes, "acme-qa"))
        await settle(pilot)
        await copy_then_plain_then_back(app, pilot, device.codes)
        panel = app.screen.query_one("#panel")
        assert panel.region.y >= 1 and panel.region.bottom <= SIZE[1] - 1  # title, key bar
        assert panel.max_scroll_y == 0  # all of it shown, no scrollbar
        assert COPY_SENT in " ".join(screen_text(app).split())


async def test_user_edit_copy_says_how_to_check_and_v_shows_plain_codes(
    database, fixed_clock, tmp_path
):
    boss = admin()
    register(boss, fixed_clock)
    alice = add_user(boss, "alice")
    device = register(alice, fixed_clock)
    app = QmfaApp(database, downloads_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.log_in(boss)
        await settle(pilot)
        open_user_edit(app, boss, "alice")
        await wait_until(pilot, lambda: isinstance(app.screen, UserEditScreen))
        await settle(pilot)
        await pilot.press("v")  # no codes shown yet: no plain view either
        await settle(pilot)
        assert isinstance(app.screen, UserEditScreen)
        await pilot.press("s")
        await wait_until(pilot, lambda: bool(app.screen.query("#plain-codes")))
        await copy_then_plain_then_back(app, pilot, device.codes)
        assert app.screen.query("#codes-shown")  # the codes are still shown under their row


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_plain_text_stays_whole_beside_copy(database, fixed_clock, size):
    boss = admin()
    register(boss, fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=size) as pilot:
        app.log_in(boss)
        await settle(pilot)
        await pilot.press("a")  # My Account (just logged in: the password is not asked)
        await wait_until(pilot, lambda: isinstance(app.screen, UserEditScreen))
        await pilot.press("s")
        await wait_until(pilot, lambda: bool(app.screen.query("#plain-codes")))
        between_bars = Region(0, 1, size[0], size[1] - 2)
        for selector in ("#copy-codes", "#plain-codes"):
            button = app.screen.query_one(selector)
            assert button.region.area and between_bars.contains_region(button.region), selector
