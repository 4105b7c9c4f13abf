"""Register an authenticator: QR code, the secret as text, confirm with a current code.

Reached from My Account (2FA off), or straight after the password step when the
instance requires 2FA and the user has no device; then Escape logs out. Nothing
is stored until a code confirms the secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Input, Static

from qmfa_tui.errors import QmfaError
from qmfa_tui.screens.base import FormScreen
from qmfa_tui.screens.service_call import ServiceFailed, call_service
from qmfa_tui.services import login, twofactor
from qmfa_tui.services.session import Actor, PendingLogin
from qmfa_tui.services.twofactor import Enrollment, PendingRegistration
from qmfa_tui.widgets.key_bar import ButtonKeys, KeyBar
from qmfa_tui.widgets.literal import literal
from qmfa_tui.widgets.ordered_input import OrderedInput
from qmfa_tui.widgets.qmfa_app import qmfa_app
from qmfa_tui.widgets.qr_code import QRCode, half_block_lines
from qmfa_tui.widgets.status_line import StatusLine
from qmfa_tui.widgets.title_bar import TitleBar

# The header and the footer take a row each.
CHROME_ROWS = 2
HEADING = "Register your authenticator app"
# The key's row: its padding, and the Copy key button with the space before it.
KEY_ROW_PADDING = 2
COPY_KEY_COLUMNS = len(" Copy key ") + 1
# The form beside the QR code needs this many columns (the buttons on one row) and rows
# (the form, with the words above it; the key has its own row under both).
SIDE_COLUMNS = 36
SIDE_ROWS = 19
KEY_LABEL = "Key: "
# What Copy key can say: the key went out as OSC 52, and no terminal says whether it took it.
KEY_SENT = (
    "Sent the key to your terminal's clipboard (OSC 52). "
    "Nothing there? Shift-drag along the key's row to select it."
)
SCAN_PROMPT = "Scan the QR code with your authenticator app, or type the key into it."


def key_lines(secret_groups: str, width: int) -> list[str]:
    """The key for typing by hand: on one line where ``width`` allows, else in lines of
    as many groups as fit (halves, then quarters: easy to read out), never a group split
    across lines."""
    groups = secret_groups.split()
    indent = " " * len(KEY_LABEL)
    per_line = len(groups)
    while per_line > 1 and len(indent) + 5 * per_line - 1 > width:
        per_line = (per_line + 1) // 2 if per_line > 4 else per_line - 1
    rows = [" ".join(groups[i : i + per_line]) for i in range(0, len(groups), per_line)]
    if len(indent) + len(rows[0]) > width:  # not even one group beside the label
        return ["Key:", *rows]
    return [KEY_LABEL + rows[0], *(indent + row for row in rows[1:])]


class RegisterDeviceScreen(ButtonKeys, FormScreen[bool]):
    """Dismissed with True once a device is confirmed (from My Account).

    The code field, the buttons and the message under them always stay on screen;
    the QR code shows only where it fits whole (a cut one does not scan), else the
    screen says how large a terminal it needs and the key is there to type. The key has
    rows of its own under the QR code: a terminal's selection of them picks up no QR
    blocks, and Copy key sends it to the clipboard.
    """

    SHOWS_SECRETS = True  # the key and QR code: no screenshot (QmfaApp.screenshot_refusal)
    CSS_PATH = "register_device.tcss"
    HELP = (
        "Register an authenticator app: scan the QR code (or type the key), then enter "
        "the code the app shows to confirm."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        # A control key: the code field has the focus and takes letters as typed.
        Binding("ctrl+y", "press_button('copy-key')", "Copy key"),
    ]

    @dataclass
    class Offered(Message):
        registration: PendingRegistration

    @dataclass
    class Confirmed(Message):
        enrollment: Enrollment

    @dataclass
    class Skipped(Message):
        actor: Actor
        grace_deadline: datetime | None

    def __init__(self, who: Actor | PendingLogin) -> None:
        super().__init__()
        self.who = who
        self.registration: PendingRegistration | None = None
        self._qr_variants: list[list[str]] = []  # the standard quiet zone, then a thinner one

    @property
    def during_login(self) -> bool:
        return isinstance(self.who, PendingLogin)

    @property
    def grace_deadline(self) -> datetime | None:
        return self.who.grace_deadline if isinstance(self.who, PendingLogin) else None

    def _required_text(self) -> str:
        if self.grace_deadline is not None:
            return (
                f"Two-step verification is required on this instance. You can skip it "
                f"until {self.grace_deadline:%Y-%m-%d %H:%M} UTC."
            )
        return "Two-step verification is required on this instance. Set it up to continue."

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with Horizontal(id="layout"):
            yield Vertical(id="qr-box")
            with Vertical(id="side"):
                with VerticalScroll(id="info", can_focus=False):
                    yield Static(HEADING, id="heading")
                    if self.during_login:
                        yield Static(self._required_text(), classes="required")
                    yield Static(SCAN_PROMPT, id="prompt")
                    yield Static("", id="account")
                with Vertical(id="form"):
                    yield OrderedInput(
                        id="code",
                        placeholder="6-digit code from the app",
                        max_length=16,
                        disabled=True,
                    )
                    with Horizontal(id="buttons"):
                        yield Button(
                            "Confirm", id="confirm", variant="primary", disabled=True, compact=True
                        )
                        if self.grace_deadline is not None:
                            yield Button("Skip for now", id="skip", compact=True)
                        yield Button("Cancel", id="cancel", compact=True)
                    yield StatusLine(id="status")
        with Horizontal(id="key-row"):
            yield Static("", id="secret")
            yield Button("Copy key", id="copy-key", compact=True, disabled=True)
        yield KeyBar()

    def on_mount(self) -> None:
        # After each layout: a message that grew the form (a longer status) is laid out
        # only after the refresh that _show_status waits for.
        self.screen_layout_refresh_signal.subscribe(self, self._laid_out)
        self._show_status("Preparing a new secret…")
        self.offer()

    def _laid_out(self, _screen: object) -> None:
        self._fit_info()

    def on_resize(self, event: events.Resize) -> None:
        self._fit()

    def _show_status(self, message: str | QmfaError, *, error: bool = False) -> None:
        status = self.query_one(StatusLine)
        if error:
            status.show_error(message)
        else:
            status.show_info(message if isinstance(message, str) else message.message)
        self.call_after_refresh(self._fit_info)  # the message may take another line

    def _fit(self) -> None:
        """Show the QR code beside the form if it fits whole; lay the key out to the width."""
        if self.registration is None or not self.is_mounted:
            return
        width = self.size.width
        secret = key_lines(
            self.registration.secret_groups, width - KEY_ROW_PADDING - COPY_KEY_COLUMNS
        )
        self.query_one("#secret", Static).update(Content("\n".join(secret)))
        rows = self.size.height - CHROME_ROWS - len(secret)
        shown = next(
            (
                lines
                for lines in self._qr_variants
                if len(lines[0]) + 1 + SIDE_COLUMNS <= width and max(len(lines), SIDE_ROWS) <= rows
            ),
            None,
        )
        box = self.query_one("#qr-box")
        box.display = shown is not None
        prompt = self.query_one("#prompt", Static)
        if shown is not None:
            qr = self.query_one(QRCode)
            if qr.lines is not shown:
                qr.lines = shown
                qr.refresh(layout=True)
            prompt.update(SCAN_PROMPT)
        else:
            smallest = self._qr_variants[-1]
            needed = (
                len(smallest[0]) + 1 + SIDE_COLUMNS,
                max(len(smallest), SIDE_ROWS) + CHROME_ROWS + 1,  # the key on one row
            )
            prompt.update(
                f"Make the terminal at least {needed[0]}x{needed[1]} to scan the "
                "QR code, or type the key below into your authenticator app."
            )
        self.call_after_refresh(self._fit_info)

    def _fit_info(self) -> None:
        """The words above the form get the rows the form leaves (and scroll in them)."""
        if not self.is_mounted:
            return
        taken = self.query_one("#form").outer_size.height
        taken += self.query_one("#key-row").outer_size.height
        room = max(1, self.size.height - CHROME_ROWS - taken)
        info = self.query_one("#info")
        if info.styles.max_height is None or info.styles.max_height.value != room:
            info.styles.max_height = room

    @work(thread=True, exclusive=True)
    def offer(self) -> None:
        who = self.who
        begin = (
            partial(login.begin_registration, who)
            if isinstance(who, PendingLogin)
            else partial(twofactor.begin_registration, who)
        )
        call_service(self, begin, self.Offered)

    async def on_register_device_screen_offered(self, message: Offered) -> None:
        registration = message.registration
        qr = QRCode(registration.uri, id="qr")
        # A long account name makes a larger code: a thinner quiet zone may still fit.
        self._qr_variants = [qr.lines, half_block_lines(registration.uri, quiet_zone=2)]
        await self.query_one("#qr-box").mount(qr)
        self.registration = registration  # from now on a resize lays the QR code out
        self.query_one("#account", Static).update(
            Content.assemble(
                "Account: ",
                literal(registration.username),
                "\nIssuer:  ",
                literal(registration.issuer),
            )
        )
        self._fit()
        self._show_status("")
        for widget in self.query("#code, #confirm, #copy-key"):
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
                self._show_status("Enter the code your app shows now.", error=True)
            return
        self.keys.hold_keys()  # typed during the check: not for the recovery codes' hotkeys
        self._set_busy(True)
        self.confirm_code(self.registration, code)

    @work(thread=True, exclusive=True)
    def confirm_code(self, registration: PendingRegistration, code: str) -> None:
        who = self.who
        confirm = (
            partial(login.confirm_registration, who, registration, code)
            if isinstance(who, PendingLogin)
            else partial(twofactor.confirm_registration, who, registration, code)
        )
        call_service(self, confirm, self.Confirmed)

    def on_register_device_screen_confirmed(self, message: Confirmed) -> None:
        from qmfa_tui.screens.recovery_codes import RecoveryCodesScreen

        self.keys.drop_keys()
        enrollment = message.enrollment
        username = enrollment.actor.username

        def finished(_: None) -> None:
            if self.during_login:
                qmfa_app(self).log_in(enrollment.actor, notice="Two-step verification is on.")
            else:
                self.dismiss(True)

        self.app.push_screen(
            RecoveryCodesScreen(username, enrollment.recovery_codes, enrollment.instance_name),
            finished,
        )

    def on_service_failed(self, failed: ServiceFailed) -> None:
        self.keys.drop_keys()
        self._set_busy(False)
        field = self.query_one("#code", Input)
        field.value = ""
        if self.registration is not None:
            self.move_to(field)
        self._show_status(failed.error, error=True)

    def _set_busy(self, busy: bool) -> None:
        for widget in self.query("#code, #confirm"):
            widget.disabled = busy

    @on(Button.Pressed, "#copy-key")
    def copy_key(self) -> None:
        if self.registration is None:
            return
        self.app.copy_to_clipboard(self.registration.secret)
        # Said under the buttons, not in a notice over them; no terminal says it arrived.
        self._show_status(KEY_SENT)

    @on(Button.Pressed, "#skip")
    def skip(self) -> None:
        if isinstance(self.who, PendingLogin):
            self.skip_for_now(self.who)

    @work(thread=True, exclusive=True)
    def skip_for_now(self, pending: PendingLogin) -> None:
        skip = partial(login.skip_registration, pending)
        call_service(self, skip, lambda actor: self.Skipped(actor, pending.grace_deadline))

    def on_register_device_screen_skipped(self, message: Skipped) -> None:
        deadline = message.grace_deadline
        qmfa_app(self).log_in(
            message.actor,
            notice=f"Set up two-step verification before {deadline:%Y-%m-%d %H:%M} UTC.",
            warning=True,
        )

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Leave without registering; during a login that means logging out."""
        self.dismiss(False)
