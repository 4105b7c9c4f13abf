from __future__ import annotations

import pytest
from helpers import PASSWORD, add_user, admin, code_at, register, start_login
from textual.app import App, ComposeResult
from textual.widgets import Input
from tui import SIZE, log_in_password, screen_text, settle, type_into

from qmfa_tui.app import QmfaApp
from qmfa_tui.screens.login import LoginScreen
from qmfa_tui.screens.main import MainScreen
from qmfa_tui.screens.recovery_login import RecoveryLoginScreen
from qmfa_tui.screens.security_code import SecurityCodeScreen
from qmfa_tui.services import login, recovery
from qmfa_tui.widgets.form_button import FormButton


async def test_login_with_password_and_security_code(database, fixed_clock):
    device = register(admin(), fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, LoginScreen)
        await log_in_password(pilot, "admin", PASSWORD)
        assert isinstance(app.screen, SecurityCodeScreen)
        assert app.session is None
        await type_into(pilot, "#code", code_at(device.secret, fixed_clock.t))
        assert isinstance(app.screen, MainScreen)
        assert app.session is not None and app.session.username == "admin"
        assert "Logged in as admin" in screen_text(app)


async def test_login_with_a_recovery_code_uses_it_up(database, fixed_clock):
    device = register(admin(), fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_password(pilot, "admin", PASSWORD)
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, RecoveryLoginScreen)
        await type_into(pilot, "#code", device.codes[0].upper().replace("-", ""))
        assert isinstance(app.screen, MainScreen)
        assert any("7 recovery codes left" in n.message for n in app._notifications)
        assert app.session is not None
        assert device.codes[0] not in recovery.reveal_codes(app.session, "admin")
        # Log out, and the same code again is refused on screen.
        app.log_out()
        await settle(pilot)
        await log_in_password(pilot, "admin", PASSWORD)
        await pilot.click("#use-recovery")
        await pilot.pause()
        await type_into(pilot, "#code", device.codes[0])
        assert isinstance(app.screen, RecoveryLoginScreen)
        assert "not valid or was already used" in screen_text(app)
        assert app.session is None


NEW_CODES = "To get 8 new codes, remove your authenticator in My Account and register it again."
LOW_NOTICES = {
    2: f"Recovery code accepted. Only 2 recovery codes left. {NEW_CODES}",
    1: f"Recovery code accepted. Only 1 recovery code left. {NEW_CODES}",
    0: (
        "Recovery code accepted. That was your last recovery code: if you lose your phone "
        "now, an admin must remove your authenticator before you can log in. " + NEW_CODES
    ),
}


@pytest.mark.parametrize("left", [2, 1, 0])
async def test_few_or_no_recovery_codes_left_is_said_plainly(database, fixed_clock, left):
    device = register(admin(), fixed_clock)
    for code in device.codes[: 7 - left]:
        login.with_recovery_code(start_login("admin"), code)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_password(pilot, "admin", PASSWORD)
        await pilot.press("ctrl+r")
        await pilot.pause()
        await type_into(pilot, "#code", device.codes[7 - left])
        assert isinstance(app.screen, MainScreen)
        [notice] = list(app._notifications)
        assert notice.severity == "warning"
        assert notice.message == LOW_NOTICES[left]


async def test_the_recovery_screen_says_when_no_codes_are_left(database, fixed_clock):
    device = register(admin(), fixed_clock)
    for code in device.codes:
        login.with_recovery_code(start_login("admin"), code)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_password(pilot, "admin", PASSWORD)
        await pilot.press("ctrl+r")
        await pilot.pause()
        await type_into(pilot, "#code", device.codes[0])
        assert isinstance(app.screen, RecoveryLoginScreen) and app.session is None
        text = " ".join(screen_text(app).split())
        assert (
            "No recovery codes left (all 8 used). Use a security code from your "
            "authenticator app; if you lost it, an admin must remove it so you can "
            "register again."
        ) in text
        assert "not valid or was already used" not in text


async def test_wrong_password_stays_on_login_with_a_message(database, fixed_clock):
    admin()
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_password(pilot, "admin", "not the password")
        assert isinstance(app.screen, LoginScreen)
        assert "Wrong username or password." in screen_text(app)
        assert app.screen.focused is app.screen.query_one("#password")
        assert app.screen.query_one("#password", Input).value == ""
        await log_in_password(pilot, "nobody", PASSWORD)
        assert "Wrong username or password." in screen_text(app)


async def test_empty_fields_are_pointed_out(database, fixed_clock):
    admin()
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await pilot.press("enter")
        await settle(pilot)
        assert "Enter your username." in screen_text(app)


async def test_wrong_replayed_and_throttled_codes(database, fixed_clock):
    device = register(admin(), fixed_clock)
    used = code_at(device.secret, fixed_clock.t)
    login.with_security_code(start_login("admin"), used)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_password(pilot, "admin", PASSWORD)
        await type_into(pilot, "#code", used)
        assert "already used" in screen_text(app)
        await type_into(pilot, "#code", "12 34")
        assert "6 digits" in screen_text(app)
        await type_into(pilot, "#code", code_at(device.secret, fixed_clock.t + 600))
        assert "not valid" in screen_text(app)
        assert app.screen.focused is app.screen.query_one("#code")
        await type_into(pilot, "#code", code_at(device.secret, fixed_clock.t + 900))
        # Third failure (replay, wrong, wrong): even the right code must wait now.
        await type_into(pilot, "#code", code_at(device.secret, fixed_clock.t + 30))
        assert "Too many failed attempts. Try again in about 10 seconds." in screen_text(app)
        assert isinstance(app.screen, SecurityCodeScreen) and app.session is None


async def test_the_throttle_message_counts_down(database, fixed_clock):
    from qmfa_tui.errors import Throttled
    from qmfa_tui.widgets.status_line import StatusLine

    admin()
    app = QmfaApp(database)
    async with app.run_test(size=SIZE):
        status = app.screen.query_one(StatusLine)
        status.show_error(Throttled(62))  # told rounded up to whole minutes, never the second
        assert "Try again in about 2 minutes." in str(status.render())
        for _ in range(60):
            status._tick()  # what the 1 s interval timer calls
        assert "Try again in a minute." in str(status.render())
        for _ in range(59):
            status._tick()
        assert "in about 10 seconds." in str(status.render())
        status._tick()
        assert "You can try again now." in str(status.render())
        assert status._countdown is None


async def test_escape_from_the_second_step_forgets_the_first(database, fixed_clock):
    register(admin(), fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_password(pilot, "admin", PASSWORD)
        assert isinstance(app.screen, SecurityCodeScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen)
        assert app.screen.query_one("#password").value == ""
        assert len(app.screen_stack) == 1


async def test_a_user_without_2fa_logs_in_with_the_password(database, fixed_clock):
    add_user(admin(), "alice")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_password(pilot, "alice", PASSWORD)
        assert isinstance(app.screen, MainScreen)
        await settle(pilot)
        assert "Two-step verification is off" in screen_text(app)
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen) and app.session is None


async def test_the_log_in_and_verify_buttons_submit_by_click_and_space(database, fixed_clock):
    device = register(admin(), fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#username", Input).value = "admin"
        app.screen.query_one("#password", Input).value = PASSWORD
        await pilot.click("#submit")
        await settle(pilot)
        assert isinstance(app.screen, SecurityCodeScreen)
        app.screen.query_one("#code", Input).value = code_at(device.secret, fixed_clock.t)
        app.screen.query_one("#submit", FormButton).focus()
        await pilot.press("space")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)


class OneButton(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.pressed: list[str | None] = []

    def compose(self) -> ComposeResult:
        yield FormButton("Go", id="go")

    def on_form_button_pressed(self, event: FormButton.Pressed) -> None:
        self.pressed.append(event.control.id)


async def test_a_form_button_presses_by_click_enter_and_space_unless_disabled():
    app = OneButton()
    async with app.run_test(size=SIZE) as pilot:
        button = app.query_one(FormButton)
        await pilot.click("#go")
        button.focus()
        await pilot.press("enter", "space")
        await pilot.pause()
        assert app.pressed == ["go", "go", "go"]
        button.disabled = True
        await pilot.click("#go")
        button.action_press()
        await pilot.pause()
        assert app.pressed == ["go", "go", "go"]
        button.label = "Checking…"
        assert button.label == "Checking…" and str(button.render()) == "Checking…"
