"""The first step: username and password (argon2 runs in a thread; the UI stays live)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, Static

from qmfa_tui.screens.base import FormScreen
from qmfa_tui.screens.service_call import ServiceFailed, call_service
from qmfa_tui.widgets.demo_hint import DemoHint
from qmfa_tui.widgets.form_button import FormButton
from qmfa_tui.widgets.key_bar import KeyBar
from qmfa_tui.widgets.ordered_input import OrderedInput
from qmfa_tui.widgets.qmfa_app import qmfa_app
from qmfa_tui.widgets.status_line import StatusLine
from qmfa_tui.widgets.title_bar import TitleBar

if TYPE_CHECKING:
    from qmfa_tui.services.session import PendingLogin


class LoginScreen(FormScreen[None]):
    AUTO_FOCUS = "#username"
    HELP = "The first login step: your username and password. Tab moves between fields."

    @dataclass
    class Passed(Message):
        pending: PendingLogin

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with Vertical(id="form"):  # centred by the screen's own align
            yield Static("Log in to qmfa", classes="title")
            yield Label("Username")
            yield OrderedInput(id="username", placeholder="username")
            yield Label("Password")
            yield OrderedInput(id="password", password=True, placeholder="password")
            yield FormButton("Log in", id="submit")
            yield StatusLine(id="status")
        yield DemoHint()
        yield KeyBar()

    def advance(self, focused: Widget | None) -> bool:
        username, password = self.query_one("#username", Input), self.query_one("#password")
        if focused is username:
            self.move_to(password)
        elif focused is password or focused is self.query_one("#submit"):
            self.submit_after_typing(self.submit, username, password)
        else:
            return False
        return True

    def on_mount(self) -> None:
        # Served over SSH: the SSH username stands in the field, the password is next.
        prefill = qmfa_app(self).login_username
        if prefill:
            self.query_one("#username", Input).value = prefill
            self.move_to(self.query_one("#password", Input))
        app = qmfa_app(self)
        # On a demo database, how to get in; one opened after the first paint is shown by
        # the app once it is open (QmfaApp._show_demo_hint).
        if app.database_is_open and app.demo_hint:
            self.query_one(DemoHint).show(app.demo_hint)

    def on_screen_resume(self) -> None:
        self.keys.drop_keys()  # back from a second step: what was typed there is not for here

    @on(FormButton.Pressed, "#submit")
    def submit(self) -> None:
        username = self.query_one("#username", Input).value.strip()
        password = self.query_one("#password", Input).value
        status = self.query_one(StatusLine)
        if not username or not password:
            self.keys.drop_keys()
            status.show_error("Enter your username." if not username else "Enter your password.")
            self.move_to(self.query_one("#username" if not username else "#password"))
            return
        self.keys.hold_keys()  # typed during the check: for the next step's field
        self._set_busy(True)
        status.show_info("Checking your password…")
        self.check_password(username, password)

    @work(thread=True, exclusive=True)
    def check_password(self, username: str, password: str) -> None:
        # Imported here, not before the first paint: the services bring peewee, argon2, pyotp.
        from qmfa_tui.services import login

        if not qmfa_app(self).wait_for_database():
            return  # it could not be opened: the app is ending with the reason
        call_service(self, partial(login.with_password, username, password), self.Passed)

    def on_login_screen_passed(self, message: Passed) -> None:
        from qmfa_tui.screens.register_device import RegisterDeviceScreen
        from qmfa_tui.screens.security_code import SecurityCodeScreen
        from qmfa_tui.services.session import NextStep

        self._set_busy(False)
        self.query_one("#password", Input).value = ""
        self.query_one(StatusLine).clear()
        pending = message.pending
        if pending.next_step is NextStep.SECURITY_CODE:
            self.app.push_screen(SecurityCodeScreen(pending))
        elif pending.next_step is NextStep.REGISTER_DEVICE:
            self.app.push_screen(RegisterDeviceScreen(pending))
        elif pending.actor is not None:
            self.keys.drop_keys()
            qmfa_app(self).log_in(pending.actor)

    def on_service_failed(self, failed: ServiceFailed) -> None:
        self.keys.drop_keys()
        self._set_busy(False)
        password = self.query_one("#password", Input)
        password.value = ""
        self.move_to(password)
        self.query_one(StatusLine).show_error(failed.error)

    def _set_busy(self, busy: bool) -> None:
        for widget in self.query("#form Input, #form FormButton"):
            widget.disabled = busy
        self.query_one("#submit", FormButton).label = "Checking…" if busy else "Log in"
