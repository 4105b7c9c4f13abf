"""My Account: one's own details and two-step verification status; register a device."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Static

from qmfa_tui.errors import QmfaError
from qmfa_tui.services import accounts, policy
from qmfa_tui.services.accounts import UserInfo
from qmfa_tui.services.policy import InstanceInfo
from qmfa_tui.services.session import Actor


class MyAccountScreen(Screen[None]):
    CSS_PATH = "my_account.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back")]

    @dataclass
    class Loaded(Message):
        user: UserInfo
        instance: InstanceInfo

    def __init__(self, actor: Actor) -> None:
        super().__init__()
        self.actor = actor

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="account"):
            yield Static("My Account", classes="title")
            yield Static("Loading…", id="profile")
            yield Static("Two-step verification", classes="section")
            yield Static("", id="two-factor")
            yield Button("Set up two-step verification", id="register", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#register").display = False
        self.load()

    @work(thread=True, exclusive=True)
    def load(self) -> None:
        try:
            user = accounts.get_user(self.actor, self.actor.username)
            self.post_message(self.Loaded(user, policy.instance_info()))
        except QmfaError as error:
            self.app.call_from_thread(self.notify, error.message, severity="error")

    def on_my_account_screen_loaded(self, message: Loaded) -> None:
        user, instance = message.user, message.instance
        self.query_one("#profile", Static).update(
            f"Username:    {user.username}\nName:        {user.display_name or '-'}\n"
            f"Email:       {user.email or '-'}\nAuth source: {user.auth_source}\n"
            f"Role:        {user.role}")
        register = self.query_one("#register", Button)
        if user.auth_source != "local":
            status = (f"Managed by your identity provider ({user.auth_source.upper()}).")
            register.display = False
        elif user.two_factor:
            status = (f"Enabled. {user.recovery_codes_left} of 8 recovery codes left.")
            register.display = False
        else:
            required = ("Required on this instance." if instance.mandatory
                        else "Optional on this instance.")
            status = f"Disabled. {required}"
            register.display = True
            register.focus()
        self.query_one("#two-factor", Static).update(status)

    @on(Button.Pressed, "#register")
    def register(self) -> None:
        from qmfa_tui.screens.register_device import RegisterDeviceScreen

        def registered(done: bool | None) -> None:
            if done:
                self.notify("Two-step verification is on.")
            self.load()

        self.app.push_screen(RegisterDeviceScreen(self.actor), registered)

    def action_back(self) -> None:
        self.dismiss()
