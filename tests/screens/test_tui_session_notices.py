"""Notifications belong to a session: logging out clears them, a new login starts clean."""

from __future__ import annotations

from helpers import PASSWORD, add_user, admin, code_at, register
from textual.widgets._toast import Toast
from tui import SIZE, log_in_password, settle, type_into, wait_until

from qmfa_tui.app import QmfaApp
from qmfa_tui.screens.login import LoginScreen
from qmfa_tui.screens.main import MainScreen
from qmfa_tui.screens.register_device import RegisterDeviceScreen
from qmfa_tui.services import policy


def shown(app: QmfaApp) -> list[str]:
    """The notifications on the screen now (the toasts the screen holds; a test shows them
    with run_test(notifications=True))."""
    return [str(toast.render()) for toast in app.screen.query(Toast)]


def pending(app: QmfaApp) -> list[str]:
    return [notification.message for notification in app._notifications]


async def log_out(pilot) -> None:
    await pilot.press("ctrl+l")
    await settle(pilot)
    assert pilot.app.session is None and isinstance(pilot.app.screen, LoginScreen)


async def test_a_recovery_code_notice_is_gone_after_logout(database, fixed_clock):
    device = register(add_user(admin(), "alice"), fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in_password(pilot, "alice", PASSWORD)
        await pilot.press("ctrl+r")
        await pilot.pause()
        await type_into(pilot, "#code", device.codes[0])
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        await wait_until(
            pilot, lambda: any("Recovery code accepted" in text for text in shown(app))
        )
        await log_out(pilot)
        assert shown(app) == [] and pending(app) == []
        # Nor does it come back on the next login.
        await log_in_password(pilot, "alice", PASSWORD)
        await type_into(pilot, "#code", code_at(device.secret, fixed_clock.t))
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert not any("Recovery code" in text for text in shown(app) + pending(app))


async def test_the_next_user_does_not_see_the_skip_notice(database, fixed_clock):
    boss = admin()
    register(boss, fixed_clock)
    add_user(boss, "bao")
    helpdesk = register(add_user(boss, "helpdesk"), fixed_clock)
    policy.set_grace_period(boss, 24)
    policy.set_mandatory(boss, True)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in_password(pilot, "bao", PASSWORD)
        await wait_until(pilot, lambda: isinstance(app.screen, RegisterDeviceScreen))
        await pilot.click("#skip")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        await wait_until(
            pilot, lambda: any("Set up two-step verification before" in text for text in shown(app))
        )
        await log_out(pilot)
        assert shown(app) == [] and pending(app) == []
        await log_in_password(pilot, "helpdesk", PASSWORD)
        await type_into(pilot, "#code", code_at(helpdesk.secret, fixed_clock.t))
        await wait_until(
            pilot, lambda: isinstance(app.screen, MainScreen) and app.session is not None
        )
        assert app.session is not None and app.session.username == "helpdesk"
        assert not any("Set up two-step" in text for text in shown(app) + pending(app))


async def test_a_notice_queued_at_logout_is_dropped_a_login_shows_its_own(database, fixed_clock):
    """Left over from before the login, or still queued when a session ends: dropped."""
    boss = admin()
    device = register(boss, fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app.notify("left over from before")
        await settle(pilot)
        await log_in_password(pilot, "admin", PASSWORD)
        await type_into(pilot, "#code", code_at(device.secret, fixed_clock.t))
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        app.notify("from the session before")  # still queued when the session ends
        app.log_out()
        await settle(pilot)
        assert pending(app) == [] and shown(app) == []
        app.log_in(boss, notice="welcome back")
        await settle(pilot)
        assert pending(app) == ["welcome back"]
        assert [text for text in shown(app)] == ["welcome back"]
