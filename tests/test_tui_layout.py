"""Every screen fits 80x24 and 60x20: the fields and buttons on screen, nothing cut
without an ellipsis."""

from __future__ import annotations

import re

import pytest
from helpers import PASSWORD, add_user, admin, register
from textual.widget import Widget
from tui import log_in_password, settle, type_into

from qmfa_tui.app import QmfaApp
from qmfa_tui.screens.register_device import RegisterDeviceScreen
from qmfa_tui.services import policy
from qmfa_tui.widgets.qr_code import QRCode

SIZES = [(80, 24), (60, 20)]
KEY_LINE = re.compile(r"^(Key:)? *[A-Z2-7]{4}( [A-Z2-7]{4})*$")


def screen_lines(app: QmfaApp) -> list[str]:
    """What the terminal shows, one str per row."""
    return ["".join(segment.text for segment in strip)
            for strip in app.screen._compositor.render_strips()]


def text_in(app: QmfaApp, widget: Widget) -> str:
    """The words drawn in ``widget``'s region, its lines joined by a space."""
    region = widget.region
    rows = screen_lines(app)[region.y:region.bottom]
    return " ".join(" ".join(row[region.x:region.right].split()) for row in rows).strip()


def on_screen(app: QmfaApp, *selectors: str) -> None:
    for selector in selectors:
        widget = app.screen.query_one(selector)
        assert widget.display and widget.region.area, selector
        assert app.screen.region.contains_region(widget.region), (selector, widget.region)


async def registration_during_login(database, fixed_clock, size) -> QmfaApp:
    boss = admin()
    register(boss, fixed_clock)
    add_user(boss, "alice")
    policy.set_grace_period(boss, 24)
    policy.set_mandatory(boss, True)
    return QmfaApp(database)


@pytest.mark.parametrize("size", SIZES)
async def test_registration_keeps_the_form_on_screen_and_the_key_in_whole_groups(
        database, fixed_clock, size):
    app = await registration_during_login(database, fixed_clock, size)
    async with app.run_test(size=size) as pilot:
        await log_in_password(pilot, "alice", PASSWORD)
        screen = app.screen
        assert isinstance(screen, RegisterDeviceScreen)
        on_screen(app, "#code", "#confirm", "#skip", "#cancel")
        secret = screen.query_one("#secret")
        on_screen(app, "#secret")
        lines = [line.rstrip() for line in str(secret.render()).splitlines()]
        assert all(KEY_LINE.match(line) for line in lines), lines
        assert [len(line.removeprefix("Key:").split()) for line in lines] == [4, 4]
        assert "".join("".join(lines).removeprefix("Key:").split()) == \
            screen.registration.secret
        qr = screen.query_one(QRCode)
        if size == (80, 24):  # the QR code beside the form, whole
            assert qr.display and screen.region.contains_region(qr.region)
            assert qr.region.height == len(qr.lines)
        else:  # no room for a whole QR code: it says how much is needed
            assert not screen.query_one("#qr-box").display
            assert "Make the terminal at least 74x21 to scan the QR code, or type the key" \
                in text_in(app, screen.query_one("#prompt"))
        await type_into(pilot, "#code", "000000")
        assert isinstance(app.screen, RegisterDeviceScreen)
        on_screen(app, "#code", "#confirm", "#status")
        assert text_in(app, screen.query_one("#status")) == \
            "That code does not match. Check the app and try again."
        skip = screen.query_one("#skip")
        assert skip.region.height == 1 and text_in(app, skip) == "Skip for now"


async def test_registration_shows_the_qr_code_once_the_terminal_is_large_enough(
        database, fixed_clock):
    app = await registration_during_login(database, fixed_clock, (60, 20))
    async with app.run_test(size=(60, 20)) as pilot:
        await log_in_password(pilot, "alice", PASSWORD)
        screen = app.screen
        assert not screen.query_one("#qr-box").display
        await pilot.resize_terminal(74, 21)
        await settle(pilot)
        qr = screen.query_one(QRCode)
        assert screen.query_one("#qr-box").display
        assert screen.region.contains_region(qr.region) and qr.region.height == len(qr.lines)
        assert "Scan the QR code" in text_in(app, screen.query_one("#prompt"))
        on_screen(app, "#code", "#confirm", "#skip", "#cancel", "#secret")
        await pilot.resize_terminal(50, 16)  # smaller than asked: the form still shows
        await settle(pilot)
        on_screen(app, "#code", "#confirm", "#skip", "#cancel")
        lines = [line.rstrip() for line in str(screen.query_one("#secret").render()).splitlines()]
        assert all(KEY_LINE.match(line) for line in lines), lines
