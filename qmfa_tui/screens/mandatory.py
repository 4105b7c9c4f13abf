"""The modal before Mandatory Two-step Authentication is switched on: who it locks out.

"Users" in the sentence opens Customization > Users filtered to exactly those
users (active, local, 2FA disabled); Escape there comes back to this modal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Static

from qmfa_tui.errors import QmfaError
from qmfa_tui.services import directory
from qmfa_tui.services.directory import AFFECTED_BY_MANDATORY, UserPage
from qmfa_tui.services.session import Actor
from qmfa_tui.widgets.action_link import ActionLink
from qmfa_tui.widgets.literal import literal_cell

AFFECTED_PAGE = 50


class MandatoryModal(ModalScreen[bool]):
    """Dismissed with True to switch mandatory 2FA on, False to leave it off."""

    CSS_PATH = "mandatory.tcss"
    AUTO_FOCUS = "#confirm"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("u", "open_users", "Users"),
        Binding("n", "next_page", "Next page"),
        Binding("p", "previous_page", "Prev page"),
    ]

    @dataclass
    class Loaded(Message):
        total: int | None
        page: UserPage

    @dataclass
    class Failed(Message):
        error: QmfaError

    def __init__(self, actor: Actor, grace_period_hours: int) -> None:
        super().__init__()
        self.actor = actor
        self.grace_period_hours = grace_period_hours
        self.total: int | None = None
        self.page: UserPage | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("Make two-step verification mandatory?", classes="title")
            with Horizontal(id="sentence"):
                yield Static("Counting", id="count")
                yield ActionLink("Users", id="users-link")
                yield Static(" will not be able to log in", id="rest")
            yield Static("until they set up two-step verification.", id="until")
            yield Static(self._grace_text(), id="grace")
            table: DataTable[str] = DataTable(id="affected", cursor_type="row")
            table.add_column("Username", width=20)
            table.add_column("Name", width=20)
            table.add_column("Email")
            yield table
            with Horizontal(id="buttons"):
                yield Button("Confirm", id="confirm", variant="warning")
                yield Button("Cancel", id="cancel")

    def _grace_text(self) -> str:
        if self.grace_period_hours:
            return (f"Each of them may skip registering for {self.grace_period_hours} hours "
                    "(the grace period); after that, login requires it.")
        return "There is no grace period: their next login requires a device."

    def on_mount(self) -> None:
        self.load(count=True)

    @work(thread=True, exclusive=True)
    def load(self, *, count: bool, after: str | None = None, before: str | None = None) -> None:
        try:
            total = directory.count_users(self.actor, AFFECTED_BY_MANDATORY) if count else None
            page = directory.page_users(self.actor, AFFECTED_BY_MANDATORY, after=after,
                                        before=before, size=AFFECTED_PAGE)
            self.post_message(self.Loaded(total, page))
        except QmfaError as error:
            self.post_message(self.Failed(error))

    def on_mandatory_modal_loaded(self, message: Loaded) -> None:
        if message.total is not None:
            self.total = message.total
            self._show_count(message.total)
        self.page = message.page
        table = self.query_one("#affected", DataTable)
        table.clear()
        for row in message.page.rows:
            table.add_row(literal_cell(row.username), literal_cell(row.display_name),
                          literal_cell(row.email), key=row.username)

    def _show_count(self, total: int) -> None:
        sentence = self.query_one("#sentence")
        if total == 0:
            sentence.display = False
            self.query_one("#affected").display = False
            self.query_one("#until", Static).update(
                "Every active, locally authenticated user already uses two-step "
                "verification: nobody will be locked out.")
            return
        self.query_one("#count", Static).update(f"{total:,} active ")

    def on_mandatory_modal_failed(self, message: Failed) -> None:
        self.notify(message.error.message, severity="error")

    @on(ActionLink.Followed, "#users-link")
    def action_open_users(self) -> None:
        from qmfa_tui.screens.users import UsersScreen

        if self.total:
            self.app.push_screen(UsersScreen(
                self.actor, AFFECTED_BY_MANDATORY,
                origin="locked out by mandatory 2FA"))

    def action_next_page(self) -> None:
        if self.page is not None and self.page.has_next and self.page.rows:
            self.load(count=False, after=self.page.rows[-1].username)

    def action_previous_page(self) -> None:
        if self.page is not None and self.page.has_previous and self.page.rows:
            self.load(count=False, before=self.page.rows[0].username)

    @on(Button.Pressed, "#confirm")
    def confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
