"""The second step: the 6-digit code from the authenticator app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message

from qmfa_tui.screens.second_step import SecondStepScreen
from qmfa_tui.services import login
from qmfa_tui.services.session import Actor
from qmfa_tui.widgets.action_link import ActionLink
from qmfa_tui.widgets.literal import literal
from qmfa_tui.widgets.qmfa_app import qmfa_app


class SecurityCodeScreen(SecondStepScreen):
    TITLE_TEXT = "Two-step verification"
    HELP = (
        "The second login step: the 6-digit code your authenticator app shows now. "
        "Without your phone, log in with a recovery code."
    )
    PLACEHOLDER = "security code"
    MAX_LENGTH = 16
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "use_recovery_code", "Login with Recovery Code"),
    ]

    @dataclass
    class Passed(Message):
        actor: Actor

    def prompt(self) -> Content:
        return Content.assemble(
            "Enter the 6-digit security code that your authenticator app shows for ",
            literal(self.pending.username),
            ".",
        )

    def compose_extra(self) -> ComposeResult:
        yield ActionLink("Login with Recovery Code", id="use-recovery")

    def succeed(self, code: str) -> Passed:
        return self.Passed(login.with_security_code(self.pending, code))

    def on_security_code_screen_passed(self, message: Passed) -> None:
        qmfa_app(self).log_in(message.actor)

    @on(ActionLink.Followed, "#use-recovery")
    def action_use_recovery_code(self) -> None:
        from qmfa_tui.screens.recovery_login import RecoveryLoginScreen

        self.app.push_screen(RecoveryLoginScreen(self.pending))
