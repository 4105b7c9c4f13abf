"""Register an authenticator: QR code, the secret as text, confirm with a current code.

Reached from My Account (2FA off), or straight after the password step when the
instance requires 2FA and the user has no device; then Escape logs out. Nothing
is stored until a code confirms the secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Footer, Header, Input, Static

from qmfa_tui.errors import QmfaError
from qmfa_tui.services import twofactor
from qmfa_tui.services.session import Actor, PendingLogin
from qmfa_tui.services.twofactor import Enrollment, PendingRegistration
from qmfa_tui.widgets.literal import literal
from qmfa_tui.widgets.qr_code import QRCode
from qmfa_tui.widgets.status_line import StatusLine
from qmfa_tui.widgets.type_ahead import FormScreen

# Rows left for the QR code at 80x24 once the header and footer are drawn.
QR_ROWS = 22


class RegisterDeviceScreen(FormScreen[bool]):
    """Dismissed with True once a device is confirmed (from My Account)."""

    CSS_PATH = "register_device.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    @dataclass
    class Offered(Message):
        registration: PendingRegistration

    @dataclass
    class Confirmed(Message):
        enrollment: Enrollment

    @dataclass
    class Refused(Message):
        error: QmfaError

    def __init__(self, who: Actor | PendingLogin) -> None:
        super().__init__()
        self.who = who
        self.registration: PendingRegistration | None = None

    @property
    def during_login(self) -> bool:
        return isinstance(self.who, PendingLogin)

    @property
    def grace_deadline(self) -> datetime | None:
        return self.who.grace_deadline if isinstance(self.who, PendingLogin) else None

    def _required_text(self) -> str:
        if self.grace_deadline is not None:
            return (f"Two-step verification is required on this instance. You can skip it "
                    f"until {self.grace_deadline:%Y-%m-%d %H:%M} UTC.")
        return "Two-step verification is required on this instance. Set it up to continue."

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="body"), Horizontal(id="layout"):
            yield Vertical(id="qr-box")
            with Vertical(id="side"):
                if self.during_login:
                    yield Static(self._required_text(), classes="required")
                yield Static("Scan the QR code with your authenticator app, or type "
                             "the key into it.", classes="prompt")
                yield Static("", id="account")
                yield Static("", id="secret")
                yield Input(id="code", placeholder="6-digit code from the app",
                            max_length=16, disabled=True)
                with Horizontal(id="buttons"):
                    yield Button("Confirm", id="confirm", variant="primary", disabled=True)
                    if self.grace_deadline is not None:
                        yield Button("Skip for now", id="skip")
                    yield Button("Cancel", id="cancel")
                yield StatusLine(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(StatusLine).show_info("Preparing a new secret…")
        self.offer()

    @work(thread=True, exclusive=True)
    def offer(self) -> None:
        try:
            self.post_message(self.Offered(twofactor.begin_registration(self.who)))
        except QmfaError as error:
            self.post_message(self.Refused(error))

    async def on_register_device_screen_offered(self, message: Offered) -> None:
        registration = self.registration = message.registration
        qr = QRCode(registration.uri, id="qr")
        if len(qr.lines) > QR_ROWS:  # a long account name: a thinner quiet zone, then scroll
            qr = QRCode(registration.uri, quiet_zone=2, id="qr")
        await self.query_one("#qr-box").mount(qr)
        self.query_one("#account", Static).update(Content.assemble(
            "Account: ", literal(registration.username), "\nIssuer:  ", twofactor.ISSUER))
        groups = registration.secret_groups.split()
        self.query_one("#secret", Static).update(Content(
            "Key:\n" + "\n".join(" ".join(groups[i:i + 4]) for i in range(0, len(groups), 4))))
        self.query_one(StatusLine).clear()
        for widget in self.query("#code, #confirm"):
            widget.disabled = False
        self.receive_typed_ahead(self.query_one("#code"))

    def advance(self, focused: Widget | None) -> bool:
        code = self.query_one("#code", Input)
        if focused is not code and focused is not self.query_one("#confirm"):
            return False
        self.submit_after_typing(self.confirm, code)
        return True

    @on(Button.Pressed, "#confirm")
    def confirm(self) -> None:
        code = self.query_one("#code", Input).value
        if self.registration is None or not code.strip():
            self.keys.drop_keys()
            if self.registration is not None:
                self.query_one(StatusLine).show_error("Enter the code your app shows now.")
            return
        self.keys.hold_keys()  # typed during the check: not for the recovery codes' hotkeys
        self._set_busy(True)
        self.confirm_code(self.registration, code)

    @work(thread=True, exclusive=True)
    def confirm_code(self, registration: PendingRegistration, code: str) -> None:
        try:
            enrollment = twofactor.confirm_registration(self.who, registration, code)
            self.post_message(self.Confirmed(enrollment))
        except QmfaError as error:
            self.post_message(self.Refused(error))

    def on_register_device_screen_confirmed(self, message: Confirmed) -> None:
        from qmfa_tui.screens.recovery_codes import RecoveryCodesScreen

        self.keys.drop_keys()
        enrollment = message.enrollment
        username = enrollment.actor.username

        def finished(_: None) -> None:
            if self.during_login:
                self.app.log_in(enrollment.actor,  # type: ignore[attr-defined]
                                notice="Two-step verification is on.")
            else:
                self.dismiss(True)

        self.app.push_screen(RecoveryCodesScreen(username, enrollment.recovery_codes,
                                                 enrollment.instance_name), finished)

    def on_register_device_screen_refused(self, message: Refused) -> None:
        self.keys.drop_keys()
        self._set_busy(False)
        field = self.query_one("#code", Input)
        field.value = ""
        if self.registration is not None:
            self.move_to(field)
        self.query_one(StatusLine).show_error(message.error)

    def _set_busy(self, busy: bool) -> None:
        for widget in self.query("#code, #confirm"):
            widget.disabled = busy

    @on(Button.Pressed, "#skip")
    def skip(self) -> None:
        if isinstance(self.who, PendingLogin):
            self.skip_for_now(self.who)

    @work(thread=True, exclusive=True)
    def skip_for_now(self, pending: PendingLogin) -> None:
        try:
            actor = twofactor.skip_registration(pending)
        except QmfaError as error:
            self.post_message(self.Refused(error))
            return
        deadline = pending.grace_deadline
        self.app.call_from_thread(
            self.app.log_in, actor,  # type: ignore[attr-defined]
            notice=f"Set up two-step verification before {deadline:%Y-%m-%d %H:%M} UTC.",
            warning=True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Leave without registering; during a login that means logging out."""
        self.dismiss(False)
