"""User Edit: Profile and Security tabs. Security holds the Two-step Verification toggle.

As in the modelled product, clicking the toggle of a user whose 2FA is on
shows the Remove and Resync options rather than switching anything off.
Reached from Customization > Users, or as My Account for oneself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Static, Switch, TabbedContent, TabPane

from qmfa_tui.errors import QmfaError
from qmfa_tui.screens.recovery_codes import SavesRecoveryCodes
from qmfa_tui.services import accounts, policy, recovery, twofactor
from qmfa_tui.services.accounts import UserInfo
from qmfa_tui.services.policy import InstanceInfo
from qmfa_tui.services.session import Actor
from qmfa_tui.widgets.status_line import StatusLine


class UserEditScreen(SavesRecoveryCodes, Screen[None]):
    CSS_PATH = "user_edit.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back")]

    @dataclass
    class Loaded(Message):
        user: UserInfo
        instance: InstanceInfo

    @dataclass
    class Revealed(Message):
        codes: list[str]
        download: bool

    @dataclass
    class Done(Message):
        """A change went through: say so and show the user again."""

        notice: str
        warning: bool = False

    @dataclass
    class Failed(Message):
        error: QmfaError

    def __init__(self, actor: Actor, username: str) -> None:
        super().__init__()
        self.actor = actor
        self.username = username
        self.user: UserInfo | None = None
        self.instance: InstanceInfo | None = None

    @property
    def is_self(self) -> bool:
        return self.actor.username == self.username

    def compose(self) -> ComposeResult:
        yield Header()
        title = "My Account" if self.is_self else f"User Edit: {self.username}"
        yield Static(title, id="title")
        with TabbedContent(initial="security"):
            with TabPane("Profile", id="profile"):
                yield Static("Loading…", id="details")
            with TabPane("Security", id="security"), VerticalScroll():
                with Horizontal(id="toggle-row"):
                    yield Static("Two-step Verification", classes="label")
                    yield Switch(id="two-factor", disabled=True)
                    yield Static("", id="two-factor-state")
                yield Static("", id="two-factor-hint")
                with Horizontal(id="device-actions"):
                    yield Button("Remove", id="remove", variant="error", compact=True)
                    yield Button("Resync", id="resync", compact=True)
                    yield Button("Register a device", id="register", variant="primary",
                                 compact=True)
                with Vertical(id="codes-section"):
                    with Horizontal(id="codes-row"):
                        yield Static("", id="codes-left")
                        yield Button("Show", id="show-codes", compact=True)
                        yield Button("Download .txt", id="download-codes", compact=True)
                    yield Static("", id="codes")
                yield StatusLine(id="status")
        yield Footer()

    def on_mount(self) -> None:
        for selector in ("#device-actions", "#codes-section", "#codes"):
            self.query_one(selector).display = False
        self.load()

    @work(thread=True, exclusive=True, group="load")
    def load(self) -> None:
        try:
            user = accounts.get_user(self.actor, self.username)
            self.post_message(self.Loaded(user, policy.instance_info()))
        except QmfaError as error:
            self.post_message(self.Failed(error))

    def on_user_edit_screen_loaded(self, message: Loaded) -> None:
        user = self.user = message.user
        self.instance = message.instance
        self.query_one("#details", Static).update(
            f"Username:    {user.username}\nName:        {user.display_name or '-'}\n"
            f"Email:       {user.email or '-'}\nAuth source: {user.auth_source}\n"
            f"Role:        {user.role}\nUsers module: {'yes' if user.users_module else 'no'}\n"
            f"Status:      {'active' if user.active else 'inactive'}\n"
            f"Created:     {user.created_at:%Y-%m-%d %H:%M} UTC")
        switch = self.query_one("#two-factor", Switch)
        with self.prevent(Switch.Changed):
            switch.value = user.two_factor
        managed_elsewhere = user.auth_source != "local"
        switch.disabled = managed_elsewhere
        self.query_one("#two-factor-state", Static).update(
            "Enabled" if user.two_factor else "Disabled")
        self.query_one("#two-factor-hint", Static).update(self._hint(user, message.instance))
        self._show_device_actions(
            registering=not user.two_factor and self.is_self and not managed_elsewhere)
        self.query_one("#codes").display = False
        codes = self.query_one("#codes-section")
        codes.display = user.two_factor
        if user.two_factor:
            left = user.recovery_codes_left or 0
            self.query_one("#codes-left", Static).update(f"Recovery codes: {left} of 8 left")
            self.query_one("#codes-left").set_class(left <= 2, "-few")
            self.query_one("#show-codes").disabled = left == 0
            self.query_one("#download-codes").disabled = left == 0

    def _show_device_actions(self, *, registering: bool = False,
                             managing: bool = False) -> None:
        """Register (own device, 2FA off) or Remove/Resync (2FA on, after the toggle)."""
        self.query_one("#device-actions").display = registering or managing
        self.query_one("#register").display = registering
        self.query_one("#remove").display = managing
        self.query_one("#resync").display = managing and self.is_self

    def _hint(self, user: UserInfo, instance: InstanceInfo) -> str:
        if user.auth_source != "local":
            return (f"Two-step verification for {user.username} is managed by their identity "
                    f"provider ({user.auth_source.upper()}).")
        if user.two_factor:
            return "Click the toggle to show remove/resync options."
        if user.registration_deadline is not None:
            required = (f"Required on this instance: register before "
                        f"{user.registration_deadline:%Y-%m-%d %H:%M} UTC.")
        elif instance.mandatory:
            required = "Required on this instance: the next login asks for a device."
        else:
            required = "Optional on this instance."
        if self.is_self:
            return f"{required} Click the toggle to register your authenticator app."
        return f"{required} Only {user.username} can register their own device."

    @on(Switch.Changed, "#two-factor")
    def toggled(self, event: Switch.Changed) -> None:
        user = self.user
        if user is None:
            return
        with self.prevent(Switch.Changed):
            event.switch.value = user.two_factor  # the toggle shows options, it changes nothing
        if user.two_factor:
            showing = self.query_one("#remove").display and \
                self.query_one("#device-actions").display
            self._show_device_actions(managing=not showing)
            if not self.is_self and not showing:
                self.query_one(StatusLine).show_info(
                    f"Resync needs codes from {user.username}'s phone: only they can do it.")
        elif self.is_self and user.auth_source == "local":
            self.register()
        else:
            self.query_one(StatusLine).show_info(
                f"Only {user.username} can register their own device.")

    @on(Button.Pressed, "#register")
    def register(self) -> None:
        from qmfa_tui.screens.register_device import RegisterDeviceScreen

        def registered(done: bool | None) -> None:
            if done:
                self.notify("Two-step verification is on.")
            self.load()

        self.app.push_screen(RegisterDeviceScreen(self.actor), registered)

    @on(Button.Pressed, "#remove")
    def ask_remove(self) -> None:
        from qmfa_tui.screens.confirm import ConfirmScreen

        whose = "your" if self.is_self else f"{self.username}'s"
        body = (f"This deletes {whose} authenticator and recovery codes. "
                f"{'You' if self.is_self else self.username} can register again later.")
        if self.is_self and self.instance is not None and self.instance.mandatory:
            body += ("\n\nTwo-step verification is mandatory here: your next login will "
                     "require registering a device before anything else.")

        def answered(remove: bool | None) -> None:
            if remove:
                self.remove_device()

        self.app.push_screen(ConfirmScreen(f"Remove two-step verification for "
                                           f"{self.username}?", body,
                                           confirm_label="Remove", dangerous=True), answered)

    @work(thread=True, exclusive=True, group="change")
    def remove_device(self) -> None:
        try:
            removal = twofactor.remove_device(self.actor, self.username)
        except QmfaError as error:
            self.post_message(self.Failed(error))
            return
        notice = f"Two-step verification removed for {removal.username}."
        if removal.registration_required_next_login:
            notice += " The next login will require registering a device."
        self.post_message(self.Done(notice, warning=removal.registration_required_next_login))

    @on(Button.Pressed, "#resync")
    def ask_resync(self) -> None:
        from qmfa_tui.screens.resync import ResyncScreen

        def learned(result: twofactor.ResyncResult | None) -> None:
            if result is not None:
                self.post_message(self.Done(f"Resynced: {result.description}."))

        self.app.push_screen(ResyncScreen(self.actor), learned)

    @on(Button.Pressed, "#show-codes")
    def show_codes(self) -> None:
        self.reveal(download=False)

    @on(Button.Pressed, "#download-codes")
    def download_codes(self) -> None:
        self.reveal(download=True)

    @work(thread=True, exclusive=True, group="change")
    def reveal(self, download: bool) -> None:
        try:
            self.post_message(self.Revealed(recovery.reveal_codes(self.actor, self.username),
                                            download))
        except QmfaError as error:
            self.post_message(self.Failed(error))

    def on_user_edit_screen_revealed(self, message: Revealed) -> None:
        if message.download and self.instance is not None:
            self.save_codes(self.username, self.instance.instance_name, message.codes)
            return
        codes = self.query_one("#codes", Static)
        codes.update("   ".join(message.codes[:4]) + "\n" + "   ".join(message.codes[4:]))
        codes.display = True
        self.query_one(StatusLine).show_info("Shown now (this view is in the audit log).")

    def on_user_edit_screen_done(self, message: Done) -> None:
        self.notify(message.notice, severity="warning" if message.warning else "information")
        self.query_one(StatusLine).show_info(message.notice, success=True)
        self.load()

    def on_user_edit_screen_failed(self, message: Failed) -> None:
        self.query_one(StatusLine).show_error(message.error)

    def action_back(self) -> None:
        self.dismiss()
