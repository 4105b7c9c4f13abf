"""Login with Recovery Code: a login step, one of the saved one-time codes instead of a
security code (the screen listing the codes after registration is recovery_codes.py)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content
from textual.message import Message

from qmfa_tui.screens.second_step import SecondStepScreen
from qmfa_tui.services import login, recovery
from qmfa_tui.services.login import RecoveryLogin
from qmfa_tui.widgets.demo_hint import recovery_hint
from qmfa_tui.widgets.literal import literal
from qmfa_tui.widgets.qmfa_app import qmfa_app


class RecoveryLoginScreen(SecondStepScreen):
    TITLE_TEXT = "Login with Recovery Code"
    HELP = "The second login step with one of your saved recovery codes: each works once."
    PLACEHOLDER = "xxxxx-xxxxx"
    MAX_LENGTH = 24

    @dataclass
    class Passed(Message):
        result: RecoveryLogin

    def prompt(self) -> Content:
        return Content.assemble(
            "Enter one of the recovery codes you saved for ",
            literal(self.pending.username),
            ". Each code works once.",
        )

    def demo_hint_text(self, hint: str) -> str:
        return recovery_hint(hint)

    def succeed(self, code: str) -> Passed:
        return self.Passed(login.with_recovery_code(self.pending, code))

    def on_recovery_login_screen_passed(self, message: Passed) -> None:
        result = message.result
        qmfa_app(self).log_in(
            result.actor,
            notice=accepted_notice(result),
            warning=result.few_left,
        )


NEW_CODES = (
    f"To get {recovery.CODE_COUNT} new codes, remove your authenticator in My Account and "
    "register it again."
)


def accepted_notice(result: RecoveryLogin) -> str:
    """What the login says after a recovery code: how many are left and, when few or
    none, what that means and how to get new ones."""
    remaining = result.remaining
    if remaining == 0:
        return (
            "Recovery code accepted. That was your last recovery code: if you lose "
            "your phone now, an admin must remove your authenticator before you can "
            f"log in. {NEW_CODES}"
        )
    unit = "code" if remaining == 1 else "codes"
    notice = f"Recovery code accepted. {remaining} recovery {unit} left."
    if result.few_left:
        notice = f"Recovery code accepted. Only {remaining} recovery {unit} left. {NEW_CODES}"
    return notice
