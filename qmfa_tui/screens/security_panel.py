"""User Edit's Security tab: the Two-step Verification toggle, Register or Remove/Resync,
the recovery codes left with Show and Download .txt, Unlock for the login throttles, or
why the reader may not.

Composed from the user's state and recomposed on change; only the widgets that
state calls for are built (hidden ones would still cost a millisecond or more each).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Static, Switch

from qmfa_tui.services import recovery
from qmfa_tui.services.accounts import UserInfo
from qmfa_tui.services.guard import LastUse
from qmfa_tui.services.policy import InstanceInfo
from qmfa_tui.widgets.literal import literal
from qmfa_tui.widgets.qmfa_app import qmfa_app


@dataclass(frozen=True)
class GuardedUse:
    """Where the user's second factor last guarded a login (ssh, sudo), if it did, and
    whether this instance guards logins at all: where none ever was, nothing is said."""

    last: LastUse | None
    guarded_here: bool


class SecurityPanel(Vertical):
    """The Security tab's controls, composed from the user's state and recomposed on change."""

    DEFAULT_CSS = """
    SecurityPanel #last-used { color: $text-muted; }
    SecurityPanel #codes-buttons {
        height: auto;
        & > Button { width: auto; min-width: 8; margin: 1 2 0 0; }
    }
    """

    def __init__(
        self,
        user: UserInfo,
        instance: InstanceInfo,
        *,
        is_self: bool,
        last_use: GuardedUse | None = None,
    ) -> None:
        super().__init__(id="security-panel")
        self.user = user
        self.instance = instance
        self.is_self = is_self
        self.last_use = last_use  # the last guarded login (ssh, sudo) the factor passed
        self.managing = False  # Remove/Resync shown (the toggle was clicked with 2FA on)
        self.codes: list[str] | None = None  # revealed by Show, until the next change

    @property
    def refusal(self) -> str | None:
        """Why the reader may not read this user's codes or remove their device (services)."""
        return self.user.manage_refusal

    def compose(self) -> ComposeResult:
        user = self.user
        with Horizontal(id="toggle-row"):
            yield Static("Two-step Verification", classes="label")
            yield Switch(user.two_factor, id="two-factor", disabled=user.managed_elsewhere)
            yield Static("Enabled" if user.two_factor else "Disabled", id="two-factor-state")
        yield Static(literal(self._hint()), id="two-factor-hint")
        if user.may_register:
            with Horizontal(id="device-actions"):
                yield Button("Register a device", id="register", variant="primary", compact=True)
        elif self.managing and self.refusal is None:
            with Horizontal(id="device-actions"):
                yield Button("Remove", id="remove", variant="error", compact=True)
                if self.is_self:  # the codes come from one's own phone
                    yield Button("Resync", id="resync", compact=True)
        if user.two_factor:
            left = user.recovery_codes_left or 0
            with Horizontal(id="codes-row"):
                yield Static(
                    f"Recovery codes: {left} of {recovery.CODE_COUNT} left",
                    id="codes-left",
                    classes="-few" if user.few_codes_left else "",
                )
                if self.refusal is None:
                    yield Button("Show", id="show-codes", compact=True, disabled=left == 0)
                    if qmfa_app(self).saves_files:  # over SSH a file would land on the server
                        yield Button(
                            "Download .txt", id="download-codes", compact=True, disabled=left == 0
                        )
        used = self.last_use
        if used is not None and (used.last is not None or (used.guarded_here and user.two_factor)):
            yield Static(last_use_line(used.last), id="last-used")
        if user.failed_logins is not None:  # set for a reader who may unlock, when held
            with Horizontal(id="unlock-row"):
                yield Static(f"Failed logins: {user.failed_logins} in a row", id="failed-logins")
                yield Button("Unlock logins", id="unlock", compact=True)
        if self.refusal is not None:
            yield Static(self.refusal, id="manage-refusal", markup=False)
        elif self.codes is not None:
            yield self._codes_shown(self.codes)

    @staticmethod
    def _codes_shown(codes: list[str]) -> Vertical:
        """The codes, four to a line, and Copy and Plain text under them (beside them it
        left 60 columns). Plain text shows them with the mouse released (plain_codes)."""
        rows = (codes[:4], codes[4:])
        return Vertical(
            Static(Content("\n").join(literal("   ".join(row)) for row in rows if row), id="codes"),
            Horizontal(
                Button("Copy", id="copy-codes", compact=True),
                Button("Plain text", id="plain-codes", compact=True),
                id="codes-buttons",
            ),
            id="codes-shown",
        )

    def _hint(self) -> str:
        user, instance = self.user, self.instance
        if user.managed_elsewhere:
            return (
                f"Two-step verification for {user.username} is managed by their identity "
                f"provider ({user.auth_source.label})."
            )
        if user.two_factor:
            if self.refusal is not None:
                return "Two-step verification is on."
            options = "the Remove and Resync options" if self.is_self else "the Remove option"
            return f"Press Enter on the toggle (or click it) to show {options}."
        if user.registration_deadline is not None:
            required = (
                f"Required on this instance: register before "
                f"{user.registration_deadline:%Y-%m-%d %H:%M} UTC."
            )
        elif instance.mandatory:
            required = "Required on this instance: the next login asks for a device."
        else:
            required = "Optional on this instance."
        if self.is_self:
            return (
                f"{required} Press Enter on the toggle (or click it) to register your "
                "authenticator app."
            )
        return f"{required} Only {user.username} can register their own device."

    async def reveal(self, codes: list[str]) -> None:
        """Show the codes below their row (the last thing composed): a mount, not a recompose."""
        self.codes = codes
        await self.query("#codes-shown").remove()
        await self.mount(self._codes_shown(codes))

    async def show(
        self,
        *,
        user: UserInfo | None = None,
        instance: InstanceInfo | None = None,
        managing: bool | None = None,
        last_use: GuardedUse | None = None,
    ) -> None:
        """Compose again for a new state, keeping the keyboard focus where it was;
        ``last_use`` goes with ``user`` (both read again)."""
        if user is not None:  # read again after a change: options and codes closed
            self.user, self.managing, self.codes = user, False, None
            self.last_use = last_use
        if instance is not None:
            self.instance = instance
        if managing is not None:
            self.managing = managing
        focused = self.screen.focused
        focused_id = focused.id if focused is not None and self in focused.ancestors else None
        await self.recompose()
        if focused_id is not None:  # else the toggle, when the focused button went away
            widget = next(iter(self.query(f"#{focused_id}")), None) or self.query_one(Switch)
            if widget.focusable:
                widget.focus()


def last_use_line(last_use: LastUse | None) -> Content:
    """Where the second factor last guarded a login (host names come from the servers'
    environment: literal text)."""
    if last_use is None:
        return Content("Not used for an SSH or sudo login yet.")
    return Content.assemble(
        "Last used for a login: ",
        literal(last_use.service),
        " on ",
        literal(last_use.host),
        f", {last_use.at:%Y-%m-%d %H:%M} UTC",
    )
