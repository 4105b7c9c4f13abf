"""Modals stay within bounds: at 80x24 and 60x20 the title and key bar rows stay
uncovered and the buttons show whole; at 120x40 no modal fills the screen; a notice
shown over a modal never covers its buttons (issue 25, item 8)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import PASSWORD, add_user, admin, register
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Switch
from tui import settle, wait_until

from qmfa_tui.app import QmfaApp
from qmfa_tui.screens.confirm import ConfirmScreen
from qmfa_tui.screens.mandatory import MandatoryModal
from qmfa_tui.screens.recovery_codes import RecoveryCodesScreen
from qmfa_tui.screens.save_file import SaveFileScreen
from qmfa_tui.screens.user_edit import UserEditScreen, open_user_edit
from qmfa_tui.served_limits import ServedLimits
from qmfa_tui.services import accounts, recovery
from qmfa_tui.services.session import Actor
from qmfa_tui.widgets.key_bar import KeyBar

SIZES = [(80, 24), (60, 20), (120, 40)]
AFFECTED = 30  # more users than any of these screens has rows for


def admin_and_affected_users(clock: object) -> Actor:
    boss = admin()
    register(boss, clock)  # type: ignore[arg-type]
    for number in range(AFFECTED):
        accounts.create_user(boss, f"user{number:02}", password=PASSWORD)
    return boss


async def open_mandatory_modal(pilot: Pilot, boss: Actor) -> MandatoryModal:
    pilot.app.log_in(boss)  # type: ignore[attr-defined]
    await settle(pilot)
    await pilot.press("g")
    await wait_until(
        pilot,
        lambda: (
            bool(pilot.app.screen.query("#mandatory"))
            and not pilot.app.screen.query_one("#mandatory", Switch).disabled
        ),
    )
    await pilot.click("#mandatory")
    await wait_until(
        pilot,
        lambda: isinstance(pilot.app.screen, MandatoryModal) and pilot.app.screen.total is not None,
    )
    await settle(pilot)
    modal = pilot.app.screen
    assert isinstance(modal, MandatoryModal)
    return modal


def screen_lines(app: QmfaApp) -> list[str]:
    """What the terminal shows, one str per row."""
    return [
        "".join(segment.text for segment in strip)
        for strip in app.screen._compositor.render_strips()
    ]


def dialog_region(app: QmfaApp) -> Region:
    return app.screen.query_one("#dialog").region


def assert_within_bounds(app: QmfaApp, width: int, height: int) -> None:
    """The dialog leaves the title row and the key bar row uncovered, shows its buttons
    whole, and is not screen-sized on a large screen."""
    dialog = dialog_region(app)
    key_bar = app.screen.query_one(KeyBar).region
    assert key_bar.y == height - 1 and key_bar.height == 1
    assert dialog.y >= 1, ("covers the title row", dialog)
    assert dialog.bottom <= key_bar.y, ("covers the key bar", dialog, key_bar)
    assert dialog.x >= 0 and dialog.right <= width
    for button in app.screen.query(Button):
        if button.display:
            assert dialog.contains_region(button.region), (button.id, button.region, dialog)
    if width >= 120:
        assert dialog.width <= 90, dialog
        assert dialog.height < height - 2, dialog


@pytest.mark.parametrize("size", SIZES)
async def test_mandatory_modal_fits_and_its_list_scrolls(database, fixed_clock, size):
    boss = admin_and_affected_users(fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=size) as pilot:
        modal = await open_mandatory_modal(pilot, boss)
        assert_within_bounds(app, *size)
        count = modal.query_one("#count").region
        assert dialog_region(app).contains_region(count) and count.height == 1
        table = modal.query_one("#affected", DataTable)
        assert table.row_count == AFFECTED
        # The list is the part that scrolls: its own scroll range, not the dialog's.
        assert table.max_scroll_y > 0
        assert dialog_region(app).contains_region(table.region)
        table.focus()
        for _ in range(AFFECTED):
            await pilot.press("down")
        await settle(pilot)
        assert table.cursor_row == AFFECTED - 1
        assert table.scroll_y > 0
        assert dialog_region(app).contains_region(modal.query_one("#count").region)
        assert dialog_region(app).contains_region(modal.query_one("#confirm").region)


@pytest.mark.parametrize("size", SIZES)
async def test_mandatory_modal_with_few_users_is_no_taller_than_its_content(
    database, fixed_clock, size
):
    boss = admin()
    register(boss, fixed_clock)
    accounts.create_user(boss, "bob", password=PASSWORD)
    app = QmfaApp(database)
    async with app.run_test(size=size) as pilot:
        modal = await open_mandatory_modal(pilot, boss)
        assert_within_bounds(app, *size)
        table = modal.query_one("#affected", DataTable)
        assert table.max_scroll_y == 0
        if size == (120, 40):
            assert dialog_region(app).height <= 24, dialog_region(app)


@pytest.mark.parametrize("size", SIZES)
async def test_confirm_and_save_dialogs_fit(database, fixed_clock, size, tmp_path: Path):
    boss = admin()
    register(boss, fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=size) as pilot:
        app.log_in(boss)
        await settle(pilot)
        body = " ".join(["A long explanation of what will happen."] * 12)
        await app.push_screen(ConfirmScreen("Remove the device?", body))
        await settle(pilot)
        assert_within_bounds(app, *size)
        app.screen.dismiss(False)
        await settle(pilot)
        await app.push_screen(SaveFileScreen("Export", tmp_path / "x.csv", lambda: ""))
        await settle(pilot)
        assert_within_bounds(app, *size)


@pytest.mark.parametrize("size", SIZES)
async def test_a_notice_over_a_modal_never_covers_its_buttons(database, fixed_clock, size):
    boss = admin_and_affected_users(fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=size, notifications=True) as pilot:
        modal = await open_mandatory_modal(pilot, boss)
        for number in range(3):
            app.notify(f"Saved 30 users to /home/admin/Downloads/users-{number}.csv")
        await settle(pilot)
        lines = screen_lines(app)
        assert any("Saved 30 users to" in line for line in lines), "a notice shows"
        buttons = [button for button in modal.query(Button) if button.display]
        assert buttons
        for button in buttons:
            region = button.region
            drawn = [line[region.x : region.right] for line in lines[region.y : region.bottom]]
            assert str(button.label) in drawn[1], (button.id, drawn)
            assert not any("Saved" in row or "Downloads" in row for row in drawn), drawn


@pytest.mark.parametrize("size", [(60, 20), (120, 40)], ids=["60x20", "120x40"])
def test_mandatory_modal_picture(snap_compare, database, fixed_clock, size):
    """The picture at the other sizes (80x24: test_snapshots.test_mandatory_modal)."""
    boss = admin_and_affected_users(fixed_clock)
    app = QmfaApp(database, downloads_dir=Path("/srv/downloads"))
    app.animation_level = "none"
    app.theme = "textual-dark"  # whatever TEXTUAL_THEME says where the tests run

    async def run_before(pilot: Pilot) -> None:
        await open_mandatory_modal(pilot, boss)
        await settle(pilot)
        assert type(app.screen) is MandatoryModal

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def dialog_text(app: QmfaApp) -> str:
    """The dialog's rows as drawn, inside its border, as one line of words."""
    dialog = dialog_region(app)
    rows = screen_lines(app)[dialog.y : dialog.bottom]
    return " ".join(" ".join(row[dialog.x + 1 : dialog.right - 1].split()) for row in rows)


@pytest.mark.parametrize("size", [(60, 20), (44, 20)], ids=["60x20", "44x20"])
async def test_the_count_sentence_wraps_whole_and_the_list_still_scrolls(
    database, fixed_clock, size
):
    boss = admin_and_affected_users(fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=size) as pilot:
        modal = await open_mandatory_modal(pilot, boss)
        await settle(pilot)
        text = dialog_text(app)
        sentence = (
            f"{AFFECTED} active users without two-step verification will have to register "
            "a device at their next login."
        )
        assert sentence in text, text
        table = modal.query_one("#affected", DataTable)
        assert table.max_scroll_y > 0
        assert dialog_region(app).contains_region(table.region)
        for button in modal.query(Button):
            if button.display:
                assert str(button.label) in text, (button.id, text)


CODES = [f"code{number}-abcde" for number in range(recovery.CODE_COUNT)]


def assert_codes_and_buttons_in_sight(app: QmfaApp, codes: list[str], scroller: str) -> None:
    """Nothing scrolls: every code and every button is drawn whole on the screen."""
    lines = screen_lines(app)
    scrolling = app.screen.query_one(scroller)
    assert scrolling.max_scroll_y == 0, (scroller, "scrolls", "\n".join(lines))
    for code in codes:
        assert any(code in line for line in lines), (code, "\n".join(lines))
    buttons = [button for button in scrolling.query(Button) if button.display]
    assert buttons
    for button in buttons:
        assert scrolling.region.contains_region(button.region), button.id
        assert str(button.label) in lines[button.region.y + button.region.height // 2]


@pytest.mark.parametrize("size", [(60, 20), (80, 24)], ids=["60x20", "80x24"])
async def test_served_recovery_codes_fit_without_scrolling(database, fixed_clock, size):
    boss = admin()
    register(boss, fixed_clock)
    app = QmfaApp(database, served=ServedLimits(3600, 3600))
    async with app.run_test(size=size) as pilot:
        app.log_in(boss)
        await settle(pilot)
        await app.push_screen(RecoveryCodesScreen("admin", CODES, "acme-qa"))
        await settle(pilot)
        assert_codes_and_buttons_in_sight(app, CODES, "#panel")
        assert any("no file is saved" in line for line in screen_lines(app))
        await pilot.press("c")  # Copy's two lines of advice come in
        await settle(pilot)
        assert_codes_and_buttons_in_sight(app, CODES, "#panel")
        assert any("Sent the codes" in line for line in screen_lines(app))


@pytest.mark.parametrize("size", [(60, 20), (80, 24)], ids=["60x20", "80x24"])
async def test_served_user_edit_codes_fit_without_scrolling(database, fixed_clock, size):
    boss = admin()
    register(boss, fixed_clock)
    register(add_user(boss, "alice"), fixed_clock)
    app = QmfaApp(database, served=ServedLimits(3600, 3600))
    async with app.run_test(size=size) as pilot:
        app.log_in(boss)
        await settle(pilot)
        open_user_edit(app, boss, "alice")
        await wait_until(pilot, lambda: isinstance(app.screen, UserEditScreen))
        await pilot.press("s")
        await wait_until(pilot, lambda: bool(app.screen.query("#plain-codes")))
        await pilot.press("c")
        await settle(pilot)
        codes = recovery.reveal_codes(boss, "alice")
        assert len(codes) == recovery.CODE_COUNT
        assert_codes_and_buttons_in_sight(app, codes, "#security")
        assert any("Sent the codes" in line for line in screen_lines(app))
