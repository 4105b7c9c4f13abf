"""Registration reads well: a heading, the key on rows of its own (a terminal's selection
of them picks up no QR blocks), and Copy key, by button and by key, at 80x24 and 60x20."""

from __future__ import annotations

import pytest
from helpers import PASSWORD, admin, code_at
from textual.pilot import Pilot
from textual.widgets import Input
from tui import log_in_password, settle, type_into, wait_until

from qmfa_tui.app import QmfaApp
from qmfa_tui.screens.recovery_codes import RecoveryCodesScreen
from qmfa_tui.screens.register_device import HEADING, KEY_SENT, RegisterDeviceScreen
from qmfa_tui.services.twofactor import PendingRegistration
from qmfa_tui.widgets.key_bar import KeyBar
from qmfa_tui.widgets.qr_code import QRCode
from screens.snapshots.test_snapshots import registering, steady  # noqa: F401 - steady: the snapshots' fixture
from screens.test_tui_layout import (
    on_screen,
    registration_during_login,
    screen_lines,
    text_in,
    usable,
)

QR_BLOCKS = set("▀▄█")


async def at_registration(pilot: Pilot) -> RegisterDeviceScreen:
    await log_in_password(pilot, "alice", PASSWORD)
    await wait_until(
        pilot,
        lambda: (
            isinstance(pilot.app.screen, RegisterDeviceScreen)
            and pilot.app.screen.registration is not None
        ),
    )
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, RegisterDeviceScreen) and screen.registration is not None
    return screen


def secret_of(screen: RegisterDeviceScreen) -> PendingRegistration:
    assert screen.registration is not None
    return screen.registration


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_the_key_has_rows_of_its_own_under_a_heading(database, fixed_clock, size):
    app = await registration_during_login(database, fixed_clock, size)
    async with app.run_test(size=size) as pilot:
        screen = await at_registration(pilot)
        assert text_in(app, screen.query_one("#heading")) == HEADING
        on_screen(app, "#heading", "#secret", "#copy-key", "#code", "#confirm", "#skip")
        secret = screen.query_one("#secret").region
        rows = screen_lines(app)[secret.y : secret.bottom]
        # The whole row: what a terminal selects when the mouse drags along it.
        assert all(not QR_BLOCKS & set(row) for row in rows), rows
        assert [row.split() for row in rows] == [
            ["Key:", *secret_of(screen).secret_groups.split(), "Copy", "key"]
        ]
        if size == (80, 24):  # the QR code whole, the key under it
            qr = screen.query_one(QRCode)
            assert qr.display and usable(app).contains_region(qr.region)
            assert secret.y >= qr.region.bottom


async def test_copy_key_sends_the_key_by_button_and_by_key(database, fixed_clock):
    app = await registration_during_login(database, fixed_clock, (80, 24))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await at_registration(pilot)
        assert "^y Copy key" in text_in(app, screen.query_one(KeyBar))
        assert app.focused is screen.query_one("#code")
        await pilot.press("1", "2", "ctrl+y")  # in the code field: the key still copies
        await settle(pilot)
        assert app.clipboard == secret_of(screen).secret
        assert screen.query_one("#code", Input).value == "12"
        said = " ".join(text_in(app, screen.query_one("#status")).split())
        assert said == KEY_SENT and "Copied" not in said  # nothing claims the key arrived
        on_screen(app, "#status", "#confirm", "#skip", "#cancel", "#secret")
        app.copy_to_clipboard("")
        await pilot.click("#copy-key")
        await settle(pilot)
        assert app.clipboard == secret_of(screen).secret


async def test_copy_key_waits_for_the_key(database, fixed_clock, monkeypatch):
    """Before the secret is made, Copy key is dimmed and its key does nothing."""
    app = await registration_during_login(database, fixed_clock, (80, 24))
    monkeypatch.setattr(RegisterDeviceScreen, "offer", lambda self: None)  # never offered
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in_password(pilot, "alice", PASSWORD)
        await wait_until(pilot, lambda: isinstance(app.screen, RegisterDeviceScreen))
        assert app.screen.query_one("#copy-key").disabled
        await pilot.press("ctrl+y")
        await settle(pilot)
        assert app.clipboard == ""


@pytest.mark.parametrize("size", [(60, 20), (120, 40)], ids=["60x20", "120x40"])
def test_registration_at(snap_compare, database, fixed_clock, size):
    """60x20, no room for the QR code: the heading, the words, the form, the key on its
    row; 120x40: the QR code beside the form, the key under it."""
    app = QmfaApp(database)
    app.animation_level = "none"
    app.theme = "textual-dark"
    boss = admin()

    async def run_before(pilot: Pilot) -> None:
        await registering(pilot, boss)
        await settle(pilot)
        for field in app.screen.query(Input):
            field.cursor_blink = False
        await settle(pilot)
        assert type(app.screen) is RegisterDeviceScreen

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def test_the_key_typed_from_its_row_registers(database, fixed_clock):
    """The key shown is the one the code is checked against."""
    app = await registration_during_login(database, fixed_clock, (80, 24))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await at_registration(pilot)
        secret = screen.query_one("#secret").region
        shown = "".join(screen_lines(app)[secret.y].removeprefix(" Key:").split()[:8])
        await type_into(pilot, "#code", code_at(shown, fixed_clock.t))
        await wait_until(pilot, lambda: isinstance(app.screen, RecoveryCodesScreen))
