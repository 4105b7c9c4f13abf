"""Login with Recovery Code: one of the 8 one-time codes instead of a security code."""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content
from textual.message import Message

from qmfa_tui.screens.second_step import SecondStepScreen
from qmfa_tui.services import recovery
from qmfa_tui.services.recovery import RecoveryLogin
from qmfa_tui.widgets.literal import literal


class RecoveryCodeScreen(SecondStepScreen):
    TITLE_TEXT = "Login with Recovery Code"
    PLACEHOLDER = "xxxxx-xxxxx"
    MAX_LENGTH = 24

    @dataclass
    class Passed(Message):
        result: RecoveryLogin

    def prompt(self) -> Content:
        return Content.assemble("Enter one of the recovery codes you saved for ",
                                literal(self.pending.username), ". Each code works once.")

    def succeed(self, code: str) -> None:
        self.post_message(self.Passed(recovery.login_with_recovery_code(self.pending, code)))

    def on_recovery_code_screen_passed(self, message: Passed) -> None:
        result = message.result
        unit = "code" if result.remaining == 1 else "codes"
        notice = f"Recovery code accepted. {result.remaining} recovery {unit} left."
        if result.few_left:
            notice += (" Running low: remove and register your authenticator again "
                       "(My Account) to get 8 new codes.")
        self.app.log_in(result.actor,  # type: ignore[attr-defined]
                        notice=notice, warning=result.few_left)
