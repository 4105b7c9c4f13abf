"""Passwords: the new one a reset login must choose, changing one's own (My Account), and
the temporary one a reset generated, shown once.

argon2 runs in thread workers; each form keeps keys typed during a check for the field
the focus moves to next (screens/base.py), as the login steps do.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Static

from qmfa_tui.errors import QmfaError
from qmfa_tui.screens.base import FormModal, FormScreen
from qmfa_tui.screens.service_call import ServiceFailed, call_service
from qmfa_tui.services import accounts, login
from qmfa_tui.services.accounts import MIN_PASSWORD_LENGTH
from qmfa_tui.services.session import CONFIRMED_SECONDS, Actor
from qmfa_tui.widgets.form_button import FormButton
from qmfa_tui.widgets.key_bar import KeyBar
from qmfa_tui.widgets.literal import literal
from qmfa_tui.widgets.ordered_input import OrderedInput
from qmfa_tui.widgets.qmfa_app import qmfa_app
from qmfa_tui.widgets.status_line import StatusLine
from qmfa_tui.widgets.title_bar import TitleBar

RULE = f"At least {MIN_PASSWORD_LENGTH} characters."
DIFFERENT = "The two new passwords differ: type them again."


class ChooseNewPasswordScreen(FormScreen[None]):
    """The last login step after a reset: every factor passed, the user's own password
    replaces the one they were given before anything else opens."""

    CSS_PATH = "password.tcss"
    AUTO_FOCUS = "#new"
    HELP = (
        "Your password was reset by an admin: choose your own to finish logging in. "
        "Esc goes back to the login."
    )
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back to login")]

    @dataclass
    class Chosen(Message):
        actor: Actor

    def __init__(self, actor: Actor, *, notice: str | None = None, warning: bool = False) -> None:
        super().__init__()
        self.actor = actor
        self.notice = notice  # the login's own notice, said once it is finished
        self.warning = warning

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with Vertical(id="form"):
            yield Static("Choose a new password", classes="title")
            yield Static(
                Content.assemble(
                    "The password of ",
                    literal(self.actor.username),
                    f" was reset. Choose your own to continue. {RULE}",
                ),
                classes="prompt",
            )
            # Placeholders, not labels: the form fits 60x20 whole.
            yield OrderedInput(id="new", password=True, placeholder="new password")
            yield OrderedInput(id="again", password=True, placeholder="new password again")
            yield FormButton("Save and log in", id="submit")
            yield StatusLine(id="status")
        yield KeyBar()

    def advance(self, focused: Widget | None) -> bool:
        new, again = self.query_one("#new"), self.query_one("#again")
        if focused is new:
            self.move_to(again)
        elif focused is again or focused is self.query_one("#submit"):
            self.submit_after_typing(self.submit, new, again)
        else:
            return False
        return True

    @on(FormButton.Pressed, "#submit")
    def submit(self) -> None:
        new = self.query_one("#new", Input).value
        problem = _mismatch(new, self.query_one("#again", Input).value)
        if problem is not None:
            self.call_later(self.refuse, problem)
            return
        self.keys.hold_keys()
        self._set_busy(True)
        self.query_one(StatusLine).show_info("Saving your password…")
        self.choose(new)

    @work(thread=True, exclusive=True)
    def choose(self, new: str) -> None:
        call_service(self, partial(login.choose_new_password, self.actor, new), self.Chosen)

    def on_choose_new_password_screen_chosen(self, message: Chosen) -> None:
        notice = "Your new password is saved." + (f" {self.notice}" if self.notice else "")
        qmfa_app(self).log_in(message.actor, notice=notice, warning=self.warning)

    def on_service_failed(self, failed: ServiceFailed) -> None:
        self.refuse(failed.error)

    def refuse(self, error: QmfaError | str) -> None:
        self.keys.drop_keys()
        self._set_busy(False)
        for field in self.query(Input):
            field.value = ""
        self.move_to(self.query_one("#new"))
        self.query_one(StatusLine).show_error(error)

    def _set_busy(self, busy: bool) -> None:
        for widget in self.query("#form Input, #form FormButton"):
            widget.disabled = busy

    async def action_back(self) -> None:
        """Back to the login form: this login is given up (the steps behind are used)."""
        from qmfa_tui.screens.login import LoginScreen

        while len(self.app.screen_stack) > 1 and not isinstance(self.app.screen, LoginScreen):
            await self.app.pop_screen()


def _mismatch(new: str, again: str) -> str | None:
    if not new:
        return "Enter a new password."
    if new != again:
        return DIFFERENT
    return None


class ChangePasswordModal(FormModal[bool]):
    """My Account > Change password: the current password, then the new one twice.
    Dismissed with True once it is changed."""

    CSS_PATH = "password.tcss"
    AUTO_FOCUS = "#current"
    HELP = "Change your password: your current one, then the new one twice."
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    @dataclass
    class Changed(Message):
        pass

    def __init__(self, actor: Actor) -> None:
        super().__init__()
        self.actor = actor

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("Change your password", classes="title")
            yield OrderedInput(id="current", password=True, placeholder="current password")
            yield OrderedInput(
                id="new",
                password=True,
                placeholder=f"new password (at least {MIN_PASSWORD_LENGTH} characters)",
            )
            yield OrderedInput(id="again", password=True, placeholder="new password again")
            yield StatusLine(id="status")
            with Horizontal(id="buttons"):
                yield Button("Change", id="change", variant="primary")
                yield Button("Cancel", id="cancel")
        yield KeyBar()

    def advance(self, focused: Widget | None) -> bool:
        fields = [self.query_one(f"#{name}") for name in ("current", "new", "again")]
        if focused in fields[:2]:
            self.move_to(fields[fields.index(focused) + 1])
        elif focused is fields[2] or focused is self.query_one("#change"):
            self.submit_after_typing(self.submit, *fields)
        else:
            return False
        return True

    @on(Button.Pressed, "#change")
    def submit(self) -> None:
        current = self.query_one("#current", Input).value
        new = self.query_one("#new", Input).value
        problem = "Enter your current password." if not current else None
        problem = problem or _mismatch(new, self.query_one("#again", Input).value)
        if problem is not None:
            self.call_later(self.refuse, problem)
            return
        self.keys.hold_keys()
        self.query_one("#change", Button).disabled = True
        self.query_one(StatusLine).show_info("Checking your current password…")
        self.change(current, new)

    @work(thread=True, exclusive=True)
    def change(self, current: str, new: str) -> None:
        call_service(
            self,
            partial(accounts.change_own_password, self.actor, current, new),
            lambda _: self.Changed(),
        )

    def on_change_password_modal_changed(self, _: Changed) -> None:
        self.keys.drop_keys()
        self.dismiss(True)

    def on_service_failed(self, failed: ServiceFailed) -> None:
        self.refuse(failed.error)

    def refuse(self, error: QmfaError | str) -> None:
        self.keys.drop_keys()
        self.query_one("#change", Button).disabled = False
        for field in self.query(Input):
            field.value = ""
        self.move_to(self.query_one("#current"))
        self.query_one(StatusLine).show_error(error)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)


class TemporaryPasswordModal(ModalScreen[None]):
    """A generated temporary password, shown this once (it is stored as its hash only)."""

    SHOWS_SECRETS = True  # no screenshot of it (QmfaApp.screenshot_refusal)
    CSS_PATH = "password.tcss"
    AUTO_FOCUS = "#done"
    HELP = "The temporary password, shown once: give it to the user by a safe way."
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "done", "Close")]

    def __init__(self, username: str, password: str) -> None:
        super().__init__()
        self.username = username
        self.password = password

    def compose(self) -> ComposeResult:
        name = literal(self.username)
        with Vertical(id="dialog"):
            yield Static(Content.assemble("Temporary password for ", name), classes="title")
            yield Static(self.password, id="temporary", markup=False)
            yield Static(
                Content.assemble(
                    "Shown only this once: give it to ",
                    name,
                    " by a safe way. At the next login they must choose their own.",
                ),
                id="body",
            )
            yield StatusLine(id="status")
            with Horizontal(id="buttons"):
                yield Button("Copy", id="copy")
                yield Button("Done", id="done", variant="primary")
        yield KeyBar()

    @on(Button.Pressed, "#copy")
    def copy(self) -> None:
        self.app.copy_to_clipboard(self.password)
        self.query_one(StatusLine).show_info(
            "Sent to your terminal's clipboard (if it allows OSC 52).", success=True
        )

    @on(Button.Pressed, "#done")
    def action_done(self) -> None:
        self.dismiss(None)


class ConfirmPasswordModal(FormModal[bool]):
    """Your password again, before something sensitive done to yourself ("sudo mode"):
    valid a few minutes (accounts.confirm_password). Dismissed with True once given."""

    CSS_PATH = "password.tcss"
    AUTO_FOCUS = "#password"
    HELP = "Give your password again to go on; it is not asked again for a few minutes."
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    @dataclass
    class Confirmed(Message):
        pass

    def __init__(self, actor: Actor, what: str) -> None:
        super().__init__()
        self.actor = actor
        self.what = what  # "remove your two-step verification"

    def compose(self) -> ComposeResult:
        minutes = CONFIRMED_SECONDS // 60
        with Vertical(id="dialog"):
            yield Static("Confirm your password", classes="title")
            yield Static(
                f"To {self.what}, type your password again. It is not asked again "
                f"for {minutes} minutes.",
                id="body",
            )
            yield OrderedInput(id="password", password=True, placeholder="your password")
            yield StatusLine(id="status")
            with Horizontal(id="buttons"):
                yield Button("Confirm", id="confirm", variant="primary")
                yield Button("Cancel", id="cancel")
        yield KeyBar()

    def advance(self, focused: Widget | None) -> bool:
        field = self.query_one("#password")
        if focused is not field and focused is not self.query_one("#confirm"):
            return False
        self.submit_after_typing(self.submit, field)
        return True

    @on(Button.Pressed, "#confirm")
    def submit(self) -> None:
        password = self.query_one("#password", Input).value
        if not password:
            self.call_later(self.refuse, "Enter your password.")
            return
        self.keys.hold_keys()
        self.query_one("#confirm", Button).disabled = True
        self.confirm(password)

    @work(thread=True, exclusive=True)
    def confirm(self, password: str) -> None:
        call_service(
            self,
            partial(accounts.confirm_password, self.actor, password),
            lambda _: self.Confirmed(),
        )

    def on_confirm_password_modal_confirmed(self, _: Confirmed) -> None:
        self.keys.drop_keys()
        self.dismiss(True)

    def on_service_failed(self, failed: ServiceFailed) -> None:
        self.refuse(failed.error)

    def refuse(self, error: QmfaError | str) -> None:
        self.keys.drop_keys()
        self.query_one("#confirm", Button).disabled = False
        field = self.query_one("#password", Input)
        field.value = ""
        self.move_to(field)
        self.query_one(StatusLine).show_error(error)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
