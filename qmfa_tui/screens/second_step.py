"""What the security-code and recovery-code screens share: a prompt, one field, a worker."""

from __future__ import annotations

from functools import partial
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Static

from qmfa_tui.screens.base import FormScreen
from qmfa_tui.screens.service_call import ServiceFailed, call_service
from qmfa_tui.services.session import PendingLogin
from qmfa_tui.widgets.demo_hint import DemoHint
from qmfa_tui.widgets.form_button import FormButton
from qmfa_tui.widgets.key_bar import KeyBar
from qmfa_tui.widgets.ordered_input import OrderedInput
from qmfa_tui.widgets.qmfa_app import qmfa_app
from qmfa_tui.widgets.status_line import StatusLine
from qmfa_tui.widgets.title_bar import TitleBar


class SecondStepScreen(FormScreen[None]):
    """A second login step; subclasses name the field and call their service."""

    CSS_PATH = "second_step.tcss"
    AUTO_FOCUS = "#code"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back")]

    TITLE_TEXT = ""
    PLACEHOLDER = ""
    MAX_LENGTH = 0

    def __init__(self, pending: PendingLogin) -> None:
        super().__init__()
        self.pending = pending

    def prompt(self) -> Content:
        """The line above the field (it names the user: build it with widgets.literal)."""
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with Vertical(id="form"):  # centred by the screen's own align
            yield Static(self.TITLE_TEXT, classes="title")
            yield Static(self.prompt(), classes="prompt")
            yield OrderedInput(id="code", placeholder=self.PLACEHOLDER, max_length=self.MAX_LENGTH)
            yield FormButton("Verify", id="submit")
            yield StatusLine(id="status")
            yield from self.compose_extra()
        hint = qmfa_app(self).demo_hint
        if hint:  # a demo: how to get this step's code, above the key bar as on the login
            yield DemoHint(self.demo_hint_text(hint))
        yield KeyBar()

    def demo_hint_text(self, hint: str) -> str:
        """The demo's line for this step, from the app's (which names the security code's
        command)."""
        return hint

    def compose_extra(self) -> ComposeResult:
        yield from ()

    def on_screen_resume(self) -> None:
        self.receive_typed_ahead(self.query_one("#code"))

    def advance(self, focused: Widget | None) -> bool:
        code = self.query_one("#code", Input)
        if focused is not code and focused is not self.query_one("#submit"):
            return False
        self.submit_after_typing(self.submit, code)
        return True

    @on(FormButton.Pressed, "#submit")
    def submit(self) -> None:
        code = self.query_one("#code", Input).value
        if not code.strip():
            self.keys.drop_keys()
            self.query_one(StatusLine).show_error(f"Enter the {self.PLACEHOLDER or 'code'}.")
            return
        self.keys.hold_keys()  # typed during the check: not for the next screen's hotkeys
        self._set_busy(True)
        self.check(code)

    @work(thread=True, exclusive=True)
    def check(self, code: str) -> None:
        # The subclass's succeed makes the message of its own step's success.
        call_service(self, partial(self.succeed, code), lambda passed: passed)

    def succeed(self, code: str) -> Message:
        """Run in a worker thread: call the service, return the message of its success."""
        raise NotImplementedError

    def on_service_failed(self, failed: ServiceFailed) -> None:
        self.keys.drop_keys()
        self._set_busy(False)
        field = self.query_one("#code", Input)
        field.value = ""
        self.move_to(field)
        self.query_one(StatusLine).show_error(failed.error)

    def _set_busy(self, busy: bool) -> None:
        self.query_one("#code", Input).disabled = busy
        self.query_one("#submit", FormButton).disabled = busy

    def action_back(self) -> None:
        """One screen back; from the security code, the password step (forgetting this one)."""
        self.dismiss()
