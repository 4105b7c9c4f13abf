"""The first step: username and password (argon2 runs in a thread; the UI stays live)."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, Static

from qmfa_tui.errors import QmfaError
from qmfa_tui.services import accounts
from qmfa_tui.services.session import NextStep, PendingLogin
from qmfa_tui.widgets.status_line import StatusLine


class LoginScreen(Screen[None]):
    AUTO_FOCUS = "#username"

    @dataclass
    class Passed(Message):
        pending: PendingLogin

    @dataclass
    class Refused(Message):
        error: QmfaError

    def compose(self) -> ComposeResult:
        yield Header()
        with Center(), Vertical(id="form"):
            yield Static("Log in to qmfa", classes="title")
            yield Label("Username")
            yield Input(id="username", placeholder="username")
            yield Label("Password")
            yield Input(id="password", password=True, placeholder="password")
            yield Button("Log in", id="submit", variant="primary")
            yield StatusLine(id="status")
        yield Footer()

    @on(Input.Submitted, "#username")
    def to_password(self) -> None:
        self.query_one("#password", Input).focus()

    @on(Input.Submitted, "#password")
    @on(Button.Pressed, "#submit")
    def submit(self) -> None:
        username = self.query_one("#username", Input).value.strip()
        password = self.query_one("#password", Input).value
        status = self.query_one(StatusLine)
        if not username:
            status.show_error("Enter your username.")
            self.query_one("#username", Input).focus()
            return
        if not password:
            status.show_error("Enter your password.")
            self.query_one("#password", Input).focus()
            return
        self._set_busy(True)
        status.show_info("Checking your password…")
        self.check_password(username, password)

    @work(thread=True, exclusive=True)
    def check_password(self, username: str, password: str) -> None:
        try:
            self.post_message(self.Passed(accounts.login_password(username, password)))
        except QmfaError as error:
            self.post_message(self.Refused(error))

    def on_login_screen_passed(self, message: Passed) -> None:
        from qmfa_tui.screens.register_device import RegisterDeviceScreen
        from qmfa_tui.screens.security_code import SecurityCodeScreen

        self._set_busy(False)
        self.query_one("#password", Input).value = ""
        self.query_one(StatusLine).clear()
        pending = message.pending
        if pending.next_step is NextStep.SECURITY_CODE:
            self.app.push_screen(SecurityCodeScreen(pending))
        elif pending.next_step is NextStep.REGISTER_DEVICE:
            self.app.push_screen(RegisterDeviceScreen(pending))
        elif pending.actor is not None:
            self.app.log_in(pending.actor)  # type: ignore[attr-defined]

    def on_login_screen_refused(self, message: Refused) -> None:
        self._set_busy(False)
        password = self.query_one("#password", Input)
        password.value = ""
        password.focus()
        self.query_one(StatusLine).show_error(message.error)

    def _set_busy(self, busy: bool) -> None:
        for widget in self.query("#form Input, #form Button"):
            widget.disabled = busy
        self.query_one("#submit", Button).label = "Checking…" if busy else "Log in"
