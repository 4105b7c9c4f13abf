"""User Edit: Profile and Security tabs. Security holds the Two-step Verification toggle.

As in the modelled product, clicking the toggle of a user whose 2FA is on
shows the Remove and Resync options rather than switching anything off.
Reached from Customization > Users, or as My Account for oneself.

The user is read before the screen is pushed (`open_user_edit`), so its first
paint is the whole screen, and the Security panel composes only the widgets the
user's state calls for: hidden widgets still cost Textual a millisecond or
more each to build and style.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.dom import DOMNode
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, ContentSwitcher, Static, Switch

from qmfa_tui.errors import Conflict, NotFound, NotPermitted, QmfaError
from qmfa_tui.screens.opening import read_then_push
from qmfa_tui.screens.profile_panel import ProfilePanel
from qmfa_tui.screens.recovery_codes import COPY_SENT, SavesRecoveryCodes, show_plain_codes
from qmfa_tui.screens.security_panel import GuardedUse, SecurityPanel
from qmfa_tui.screens.service_call import ServiceFailed, call_service
from qmfa_tui.services import accounts, audit, guard, policy, recovery, twofactor
from qmfa_tui.services.accounts import UserInfo
from qmfa_tui.services.policy import InstanceInfo
from qmfa_tui.services.session import Actor
from qmfa_tui.text import visible
from qmfa_tui.textual_compat import StyledOnMount
from qmfa_tui.widgets.key_bar import ButtonKeys, KeyBar
from qmfa_tui.widgets.literal import literal
from qmfa_tui.widgets.qmfa_app import qmfa_app
from qmfa_tui.widgets.status_line import StatusLine
from qmfa_tui.widgets.tab_strip import TabStrip
from qmfa_tui.widgets.title_bar import TitleBar


def read_user(actor: Actor, username: str) -> tuple[UserInfo, InstanceInfo, GuardedUse | None]:
    """What User Edit shows: the user, the instance's rules and where the user's second
    factor last guarded a login, if the reader may know (blocking: call from a worker)."""
    user = accounts.get_user(actor, username)
    try:
        last = guard.last_verified(actor, user.username)
    except NotPermitted:
        return user, policy.instance_info(), None
    used = GuardedUse(last, last is not None or audit.guarded_logins_recorded())
    return user, policy.instance_info(), used


def open_user_edit(host: DOMNode, actor: Actor, username: str) -> None:
    """Read the user in a thread worker of ``host``, then push User Edit drawn whole
    (``opening.read_then_push``); what failed is said in a notice."""
    app = host.app

    def say_why(error: QmfaError) -> None:
        app.notify(error.message, severity="error")

    read_then_push(
        host,
        actor,
        lambda: read_user(actor, username),
        lambda read: UserEditScreen(actor, *read),
        if_failed=say_why,
        group="open-user-edit",
    )


PROFILE_TAB = "profile-tab"  # "#profile" is its details, as before it had buttons


class UserEditScreen(StyledOnMount, SavesRecoveryCodes, ButtonKeys, Screen[None]):
    SHOWS_SECRETS = True  # Show reveals recovery codes: no screenshot (QmfaApp.screenshot_refusal)
    CSS_PATH = "user_edit.tcss"
    HELP = (
        "User Edit (My Account for yourself): Profile shows the account; Security its "
        "two-step verification. Enter on the toggle shows Remove and Resync; the keys "
        "below press the buttons shown now."
    )
    AUTO_FOCUS = "#two-factor"
    # Below 24 rows (60x20) fewer blank lines: the codes and their buttons fit unscrolled.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (24, "-tall")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        # Each presses its button, shown in the key bar while the button is (ButtonKeys).
        Binding("e", "press_button('register')", "Register"),
        Binding("x", "press_button('remove')", "Remove"),
        Binding("r", "press_button('resync')", "Resync"),
        Binding("s", "press_button('show-codes')", "Show codes"),
        Binding("c", "press_button('copy-codes')", "Copy"),
        Binding("v", "press_button('plain-codes')", "Plain text"),
        Binding("d", "press_button('download-codes')", "Download .txt"),
        Binding("u", "press_button('unlock')", "Unlock logins"),
        # The Profile tab's (a key's two bindings: only the one whose button is shown acts).
        Binding("a", "press_button('activate')", "Activate"),
        Binding("a", "press_button('deactivate')", "Deactivate"),
        Binding("n", "press_button('edit-profile')", "Edit name/email"),
        Binding("p", "press_button('reset-password')", "Reset password"),
        Binding("p", "press_button('change-password')", "Change password"),
        Binding("o", "press_button('role')", "Role"),
    ]

    @dataclass
    class Loaded(Message):
        user: UserInfo
        instance: InstanceInfo
        last_use: GuardedUse | None = None

    @dataclass
    class Revealed(Message):
        codes: list[str]

    @dataclass
    class Done(Message):
        """A change went through: say so and show the user again."""

        notice: str
        warning: bool = False

    def __init__(
        self,
        actor: Actor,
        user: UserInfo,
        instance: InstanceInfo,
        last_use: GuardedUse | None = None,
    ) -> None:
        super().__init__()
        self.actor = actor
        self.user = user
        self.instance = instance
        self.last_use = last_use

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def is_self(self) -> bool:
        return self.actor.username == self.username

    @property
    def panel(self) -> SecurityPanel:
        return self.query_one(SecurityPanel)

    def compose(self) -> ComposeResult:
        self.preset_breakpoints()
        yield TitleBar()
        title = "My Account" if self.is_self else f"User Edit: {self.username}"
        yield Static(literal(title), id="title")
        yield TabStrip(
            [("profile", "Profile"), ("security", "Security")], active="security", id="tabs"
        )
        with ContentSwitcher(initial="security"):
            # Security first: its StatusLine is the screen's first (SavesRecoveryCodes').
            with VerticalScroll(id="security", can_focus=False):  # Tab goes to its controls
                yield SecurityPanel(
                    self.user, self.instance, is_self=self.is_self, last_use=self.last_use
                )
                yield StatusLine(id="status")
            with VerticalScroll(id=PROFILE_TAB, can_focus=False):  # Tab goes to its buttons
                yield ProfilePanel(
                    self.user, is_self=self.is_self, reader_is_admin=qmfa_app(self).is_admin
                )
                yield StatusLine(id="profile-status")
        yield KeyBar()

    @on(TabStrip.Changed, "#tabs")
    def switch_tab(self, event: TabStrip.Changed) -> None:
        self.query_one(ContentSwitcher).current = (
            PROFILE_TAB if event.tab_id == "profile" else event.tab_id
        )
        self.query_one(ProfilePanel).show_tab(event.tab_id == "profile")

    def _status(self) -> StatusLine:
        """The status line of the tab shown now."""
        shown = self.query_one(ContentSwitcher).current
        return self.query_one("#profile-status" if shown == PROFILE_TAB else "#status", StatusLine)

    @work(thread=True, exclusive=True, group="load")
    def load(self) -> None:
        read = partial(read_user, self.actor, self.username)
        call_service(self, read, lambda answers: self.Loaded(*answers), name="load")

    async def on_user_edit_screen_loaded(self, message: Loaded) -> None:
        self.user, self.instance = message.user, message.instance
        self.last_use = message.last_use
        await self.query_one(ProfilePanel).show(message.user)
        await self.panel.show(
            user=message.user, instance=message.instance, last_use=message.last_use
        )

    @on(Switch.Changed, "#two-factor")
    async def toggled(self, event: Switch.Changed) -> None:
        user = self.user
        with self.prevent(Switch.Changed):
            event.switch.value = user.two_factor  # the toggle shows options, it changes nothing
        if user.two_factor and self.panel.refusal is not None:
            self.app.bell()  # the reason is shown under the toggle already: said once
        elif user.two_factor:
            showing = not self.panel.managing
            await self.panel.show(managing=showing)
            if showing and not self.is_self:
                self._status().show_info(
                    f"Resync needs codes from {user.username}'s phone: only they can do it."
                )
        elif user.may_register:
            self.register()
        else:
            self._status().show_info(f"Only {user.username} can register their own device.")

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
        self._after_password("remove your two-step verification", self._confirm_remove)

    def _after_password(self, what: str, then: Callable[[], object]) -> None:
        """Run ``then`` now, or, when it is something sensitive done to oneself, once the
        password is given again ("sudo mode": accounts.confirm_password, a few minutes)."""
        if not self.is_self or accounts.password_confirmed(self.actor):
            then()
            return
        from qmfa_tui.screens.password import ConfirmPasswordModal

        def confirmed(done: bool | None) -> None:
            if done:
                then()

        self.app.push_screen(ConfirmPasswordModal(self.actor, what), confirmed)

    def _confirm_remove(self) -> None:
        from qmfa_tui.screens.confirm import ConfirmScreen

        name = visible(self.username)
        whose = "your" if self.is_self else f"{name}'s"
        body = (
            f"This deletes {whose} authenticator and recovery codes. "
            f"{'You' if self.is_self else name} can register again later."
        )
        if self.is_self and self.instance.mandatory:
            body += (
                "\n\nTwo-step verification is mandatory here: your next login will "
                "require registering a device before anything else."
            )

        def answered(remove: bool | None) -> None:
            if remove:
                self.remove_device()

        self.app.push_screen(
            ConfirmScreen(
                f"Remove two-step verification for {self.username}?",
                Content(body),
                confirm_label="Remove",
                dangerous=True,
            ),
            answered,
        )

    @work(thread=True, exclusive=True, group="change")
    def remove_device(self) -> None:
        def removed(removal: twofactor.Removal) -> Message:
            notice = f"Two-step verification removed for {removal.username}."
            if removal.registration_required_next_login:
                notice += " The next login will require registering a device."
            return self.Done(notice, warning=removal.registration_required_next_login)

        call_service(self, partial(twofactor.remove_device, self.actor, self.username), removed)

    @on(Button.Pressed, "#unlock")
    def ask_unlock(self) -> None:
        self.unlock()

    @work(thread=True, exclusive=True, group="change")
    def unlock(self) -> None:
        """Clear the user's login throttles (audited by the service)."""
        from qmfa_tui.services import throttle

        def unlocked(done: throttle.Unlocked) -> Message:
            name = done.username
            return self.Done(
                f"Failed logins cleared for {name}: no place is held now."
                if done.cleared
                else f"{name} was not throttled; nothing to clear."
            )

        call_service(self, partial(throttle.unlock, self.actor, self.username), unlocked)

    @on(Button.Pressed, "#resync")
    def ask_resync(self) -> None:
        from qmfa_tui.screens.resync import ResyncScreen

        def learned(result: twofactor.ResyncResult | None) -> None:
            if result is not None:
                self.post_message(self.Done(f"Resynced: {result.description}."))

        self.app.push_screen(ResyncScreen(self.actor), learned)

    @on(Button.Pressed, "#show-codes")
    def show_codes(self) -> None:
        self._after_password("show your recovery codes", self.reveal)

    @work(thread=True, exclusive=True, group="change")
    def reveal(self) -> None:
        reveal = partial(recovery.reveal_codes, self.actor, self.username)
        call_service(self, reveal, self.Revealed)

    @on(Button.Pressed, "#download-codes")
    def download_codes(self) -> None:
        actor, username, instance = self.actor, self.username, self.instance
        # The codes are read (an audited reveal) only when the file is written.
        self._after_password(
            "download your recovery codes",
            lambda: self.save_codes(
                username,
                lambda: recovery.reveal_codes(actor, username),
                lambda: instance.instance_name,
            ),
        )

    @on(Button.Pressed, "#copy-codes")
    def copy_codes(self) -> None:
        if self.panel.codes:
            self.app.copy_to_clipboard("\n".join(self.panel.codes) + "\n")
            self._status().show_info(COPY_SENT)

    @on(Button.Pressed, "#plain-codes")
    def plain_codes(self) -> None:
        if self.panel.codes:
            show_plain_codes(self, self.username, self.panel.codes)

    async def on_user_edit_screen_revealed(self, message: Revealed) -> None:
        await self.panel.reveal(message.codes)
        self._status().show_info("Shown now (this view is in the audit log).")

    def on_user_edit_screen_done(self, message: Done) -> None:
        self.notify(message.notice, severity="warning" if message.warning else "information")
        self._status().show_info(message.notice, success=True)
        self.load()

    def on_service_failed(self, failed: ServiceFailed) -> None:
        self._status().show_error(failed.error)
        by_action = failed.name != "load"  # a change or a reveal, not the reading of the user
        if by_action and isinstance(failed.error, NotFound | Conflict | NotPermitted):
            # The user changed meanwhile (device removed, made an admin elsewhere): show them now.
            self.load()

    # --- the Profile tab ----------------------------------------------------------------

    @on(Button.Pressed, "#activate, #deactivate")
    def ask_active(self, event: Button.Pressed) -> None:
        from qmfa_tui.screens.confirm import ConfirmScreen

        active = event.button.id == "activate"
        name = self.username
        if active:
            title, body = f"Activate {name}?", f"{name} can log in again."
        else:
            title = f"Deactivate {name}?"
            body = f"{name} cannot log in until activated again; nothing else is removed."

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.change_active(active)

        self.app.push_screen(
            ConfirmScreen(
                title,
                body,
                confirm_label="Activate" if active else "Deactivate",
                dangerous=not active,
            ),
            answered,
        )

    @work(thread=True, exclusive=True, group="change")
    def change_active(self, active: bool) -> None:
        call_service(
            self,
            partial(accounts.set_active, self.actor, self.username, active),
            lambda user: self.Done(
                f"{user.username} is {'active' if user.active else 'inactive'} now."
            ),
        )

    @on(Button.Pressed, "#edit-profile")
    def edit_profile(self) -> None:
        from qmfa_tui.screens.profile import EditProfileModal

        def saved(user: UserInfo | None) -> None:
            if user is not None:
                self.post_message(self.Done(f"Saved the name and email of {user.username}."))

        self.app.push_screen(EditProfileModal(self.actor, self.user), saved)

    @on(Button.Pressed, "#role")
    def edit_role(self) -> None:
        from qmfa_tui.screens.profile import RoleModal

        def saved(user: UserInfo | None) -> None:
            if user is not None:
                module = "with" if user.users_module else "without"
                role = "an admin" if user.is_admin else f"a user {module} the Users module"
                self.post_message(self.Done(f"{user.username} is {role} now."))

        self.app.push_screen(RoleModal(self.actor, self.user), saved)

    @on(Button.Pressed, "#reset-password")
    def ask_reset_password(self) -> None:
        from qmfa_tui.screens.confirm import ConfirmScreen

        name = self.username

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.reset_password()

        self.app.push_screen(
            ConfirmScreen(
                f"Reset the password of {name}?",
                f"A temporary password is made and shown once, for you to give to {name}. "
                f"{name}'s current password stops working now; at the next login {name} "
                "must choose a new one.",
                confirm_label="Reset",
                dangerous=True,
            ),
            answered,
        )

    @dataclass
    class PasswordReset(Message):
        username: str
        temporary: str

    @work(thread=True, exclusive=True, group="change")
    def reset_password(self) -> None:
        def reset(done: accounts.PasswordSet) -> Message:
            assert done.generated is not None  # none was given: one was generated
            return self.PasswordReset(done.username, done.generated)

        call_service(self, partial(accounts.set_password, self.actor, self.username), reset)

    def on_user_edit_screen_password_reset(self, message: PasswordReset) -> None:
        from qmfa_tui.screens.password import TemporaryPasswordModal

        def closed(_: None) -> None:
            self.post_message(
                self.Done(
                    f"Password reset: {message.username} chooses a new one at the next login."
                )
            )

        self.app.push_screen(TemporaryPasswordModal(message.username, message.temporary), closed)

    @on(Button.Pressed, "#change-password")
    def change_password(self) -> None:
        from qmfa_tui.screens.password import ChangePasswordModal

        def changed(done: bool | None) -> None:
            if done:
                self.post_message(self.Done("Your password is changed."))

        self.app.push_screen(ChangePasswordModal(self.actor), changed)

    def action_back(self) -> None:
        self.dismiss()
