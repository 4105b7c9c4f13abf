"""User Edit's Profile modals: a local user's name and email; an admin's Role and Users
module. Each is dismissed with the user as read after the change, or None."""

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
from textual.widgets import Button, Input, Label, Static, Switch

from qmfa_tui.kinds import Role
from qmfa_tui.screens.base import FormModal
from qmfa_tui.screens.service_call import ServiceFailed, call_service
from qmfa_tui.services import accounts
from qmfa_tui.services.accounts import MAX_EMAIL_LENGTH, MAX_NAME_LENGTH, UserInfo
from qmfa_tui.services.session import Actor
from qmfa_tui.widgets.key_bar import KeyBar
from qmfa_tui.widgets.literal import literal
from qmfa_tui.widgets.ordered_input import OrderedInput
from qmfa_tui.widgets.status_line import StatusLine


@dataclass
class Saved(Message):
    user: UserInfo


class EditProfileModal(FormModal[UserInfo | None]):
    CSS_PATH = "profile.tcss"
    AUTO_FOCUS = "#name"
    HELP = "Edit the user's full name and email (local users; LDAP and SSO keep their own)."
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, actor: Actor, user: UserInfo) -> None:
        super().__init__()
        self.actor = actor
        self.user = user

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Content.assemble("Edit ", literal(self.user.username)), classes="title")
            yield Label("Name")
            yield OrderedInput(
                self.user.display_name,
                id="name",
                placeholder="full name",
                max_length=MAX_NAME_LENGTH,
            )
            yield Label("Email")
            yield OrderedInput(
                self.user.email, id="email", placeholder="email", max_length=MAX_EMAIL_LENGTH
            )
            yield StatusLine(id="status")
            with Horizontal(id="buttons"):
                yield Button("Save", id="save", variant="primary")
                yield Button("Cancel", id="cancel")
        yield KeyBar()

    def advance(self, focused: Widget | None) -> bool:
        name, email = self.query_one("#name"), self.query_one("#email")
        if focused is name:
            self.move_to(email)
        elif focused is email or focused is self.query_one("#save"):
            self.submit_after_typing(self.submit, name, email)
        else:
            return False
        return True

    @on(Button.Pressed, "#save")
    def submit(self) -> None:
        self.keys.hold_keys()
        self.query_one("#save", Button).disabled = True
        self.save(self.query_one("#name", Input).value, self.query_one("#email", Input).value)

    @work(thread=True, exclusive=True)
    def save(self, name: str, email: str) -> None:
        edit = partial(
            accounts.edit_profile, self.actor, self.user.username, display_name=name, email=email
        )
        call_service(self, edit, Saved)

    def on_saved(self, message: Saved) -> None:
        self.keys.drop_keys()
        self.dismiss(message.user)

    def on_service_failed(self, failed: ServiceFailed) -> None:
        self.keys.drop_keys()
        self.query_one("#save", Button).disabled = False
        self.query_one(StatusLine).show_error(failed.error)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class RoleModal(ModalScreen[UserInfo | None]):
    """Admins only (the service checks it again): the admin role and the Users module."""

    CSS_PATH = "profile.tcss"
    AUTO_FOCUS = "#cancel"
    HELP = "Give or take the admin role and the Users module (admins only)."
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, actor: Actor, user: UserInfo) -> None:
        super().__init__()
        self.actor = actor
        self.user = user

    def compose(self) -> ComposeResult:
        user = self.user
        with Vertical(id="dialog"):
            yield Static(Content.assemble("Role of ", literal(user.username)), classes="title")
            with Horizontal(classes="switch-row"):
                yield Static("Admin", classes="label")
                yield Switch(user.is_admin, id="admin")
            with Horizontal(classes="switch-row"):
                yield Static("Users module", classes="label")
                yield Switch(user.users_module, id="users-module")
            yield Static(
                "An admin holds every permission. The Users module opens Customization > "
                "Users and ordinary users' recovery codes.",
                id="body",
            )
            yield StatusLine(id="status")
            with Horizontal(id="buttons"):
                yield Button("Save", id="save", variant="primary")
                yield Button("Cancel", id="cancel")
        yield KeyBar()

    @on(Button.Pressed, "#save")
    def submit(self) -> None:
        role = Role.ADMIN if self.query_one("#admin", Switch).value else Role.USER
        module = self.query_one("#users-module", Switch).value
        if (role, module) == (self.user.role, self.user.users_module):
            self.dismiss(None)
            return
        self.query_one("#save", Button).disabled = True
        self.save(role, module)

    @work(thread=True, exclusive=True)
    def save(self, role: str, module: bool) -> None:
        change = partial(
            accounts.set_role, self.actor, self.user.username, role=role, users_module=module
        )
        call_service(self, change, Saved)

    def on_saved(self, message: Saved) -> None:
        self.dismiss(message.user)

    def on_service_failed(self, failed: ServiceFailed) -> None:
        self.query_one("#save", Button).disabled = False
        self.query_one(StatusLine).show_error(failed.error)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
