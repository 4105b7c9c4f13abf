"""The instance's name in the title bar and on Register a device (SQLite only: test_tui_)."""

from __future__ import annotations

import threading

from app.test_paint_first import gated_open
from helpers import PASSWORD, admin
from tui import SIZE, log_in_password, screen_text, settle, wait_until

from qmfa_tui.app import QmfaApp
from qmfa_tui.services import policy
from qmfa_tui.widgets.qr_code import QRCode
from qmfa_tui.widgets.title_bar import TitleBar
from screens.test_tui_registration import open_registration


def title_bar(app: QmfaApp) -> str:
    return str(app.screen.query_one(TitleBar).render())


async def test_the_title_bar_names_the_instance(database, fixed_clock):
    policy.set_instance_name(admin(), "Acme [b]prod[/b]")  # shown as typed, never markup
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await wait_until(pilot, lambda: "Acme" in title_bar(app))
        assert app.title == "qmfa · Acme [b]prod[/b]"
        assert "qmfa · Acme [b]prod[/b]" in title_bar(app)
        await log_in_password(pilot, "admin", PASSWORD)
        assert app.session is not None
        assert "qmfa · Acme [b]prod[/b]" in title_bar(app)


async def test_the_title_bar_names_the_instance_once_the_database_opens(database, fixed_clock):
    policy.set_instance_name(admin(), "Acme prod")
    gate = threading.Event()
    app = QmfaApp(opener=gated_open(database, gate))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert app.title == "qmfa" and "Acme" not in title_bar(app)
            gate.set()
            await wait_until(pilot, lambda: "qmfa · Acme prod" in title_bar(app))
    finally:
        gate.set()


async def test_the_default_name_leaves_the_title_as_it_was(database, fixed_clock):
    admin()
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await log_in_password(pilot, "admin", PASSWORD)
        assert app.title == "qmfa" and "·" not in title_bar(app)


async def test_register_a_device_shows_the_name_as_the_issuer(database, fixed_clock):
    policy.set_instance_name(admin(), "Acme prod")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_password(pilot, "admin", PASSWORD)
        await open_registration(pilot)
        assert app.screen.query_one(QRCode).data.startswith("otpauth://totp/Acme%20prod:admin?")
        assert "Issuer:  Acme prod" in screen_text(app)
