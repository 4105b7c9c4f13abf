"""User Edit's Profile tab: the user's details, and the buttons the reader may use on them
(Activate or Deactivate, Edit name/email, Reset password, Role; on oneself Edit
name/email and Change password), or the refusal that says why not.

Composed from the user's state and recomposed on change, as the Security panel is.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Static

from qmfa_tui.services.accounts import UserInfo
from qmfa_tui.text import visible


class ProfilePanel(Vertical):
    def __init__(self, user: UserInfo, *, is_self: bool, reader_is_admin: bool) -> None:
        super().__init__(id="profile-panel")
        self.user = user
        self.is_self = is_self
        self.reader_is_admin = reader_is_admin
        self.tab_shown = False  # User Edit opens on Security

    def on_mount(self) -> None:
        self.show_tab(self.tab_shown)

    def show_tab(self, shown: bool) -> None:
        """The switcher hides the tab, not the text inside it: its Statics follow the tab,
        so that a hidden tab's details and refusals never read as the screen's text."""
        self.tab_shown = shown
        for text in self.query(Static):
            text.display = shown

    def compose(self) -> ComposeResult:
        user = self.user
        yield Static(details(user), id="profile")  # the tab's own id, as before the buttons
        local = not user.managed_elsewhere
        if self.is_self:
            if local:
                with Horizontal(id="profile-actions"):
                    yield Button("Edit name/email", id="edit-profile", compact=True)
                    yield Button("Change password", id="change-password", compact=True)
        elif user.manage_refusal is not None:
            yield Static(user.manage_refusal, id="profile-refusal", markup=False)
        else:
            with Horizontal(id="profile-actions"):
                if user.active:
                    yield Button("Deactivate", id="deactivate", variant="error", compact=True)
                else:
                    yield Button("Activate", id="activate", variant="primary", compact=True)
                if local:
                    yield Button("Edit name/email", id="edit-profile", compact=True)
                    yield Button("Reset password", id="reset-password", compact=True)
                if self.reader_is_admin:
                    yield Button("Role…", id="role", compact=True)
        if not local:
            source = user.auth_source.label
            yield Static(
                f"Name, email and password are managed in {source}.",
                id="managed-elsewhere",
                markup=False,
            )

    async def show(self, user: UserInfo) -> None:
        """Compose again for the user as read now, keeping the focus where it was."""
        self.user = user
        focused = self.screen.focused
        focused_id = focused.id if focused is not None and self in focused.ancestors else None
        await self.recompose()
        self.show_tab(self.tab_shown)
        if focused_id is not None:
            widget = next(iter(self.query(f"#{focused_id}")), None)
            if widget is not None and widget.focusable:
                widget.focus()


def details(user: UserInfo) -> Content:
    fields = [  # each stored string escaped: its newline would pass for ours
        ("Username", visible(user.username)),
        ("Name", visible(user.display_name) or "-"),
        ("Email", visible(user.email) or "-"),
        ("Auth source", visible(user.auth_source)),
        ("Role", visible(user.role)),
        ("Users module", "yes" if user.users_module else "no"),
        ("Status", "active" if user.active else "inactive"),
        ("Created", f"{user.created_at:%Y-%m-%d %H:%M} UTC"),
    ]
    if user.must_change_password:
        fields.append(("Password", "reset: a new one is due at the next login"))
    width = max(len(label) for label, _ in fields) + 2
    return Content("\n".join(f"{label + ':':<{width}}{value}" for label, value in fields))
