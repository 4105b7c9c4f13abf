"""The modal before Mandatory Two-step Authentication is switched on: who will have to
register a device, and when (at their next login, or within the grace period from it).

"users" in the sentence opens Customization > Users filtered to exactly those
users (active, local, 2FA disabled); Escape there comes back to this modal. Export
CSV saves them to a path the admin chooses; the `qmfa users list` command shown
prints the same CSV.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.scalar import Scalar
from textual.message import Message
from textual.widgets import Button, DataTable, Static

from qmfa_tui.screens.confirm import AnsweredModal
from qmfa_tui.screens.service_call import ServiceFailed, call_service
from qmfa_tui.services import directory
from qmfa_tui.services.directory import UserPage
from qmfa_tui.services.policy import AFFECTED_BY_MANDATORY, mandatory_consequence
from qmfa_tui.services.session import Actor
from qmfa_tui.services.user_filter import UserFilter
from qmfa_tui.text import counted
from qmfa_tui.widgets.action_link import ActionLink
from qmfa_tui.widgets.key_bar import MODAL_HELP_KEY, KeyBar
from qmfa_tui.widgets.literal import literal_cell
from qmfa_tui.widgets.qmfa_app import qmfa_app

AFFECTED_PAGE = 50
# Username and Name get up to these widths; Email takes the rest of the table's width.
USERNAME_WIDTH, NAME_WIDTH, MIN_EMAIL_WIDTH = 16, 22, 16
MIN_LIST_HEIGHT = 4  # the header and three users, however short the screen
MAX_DIALOG_HEIGHT = 32  # on a tall screen a box, not a wall: its list scrolls


def users_list_command(user_filter: UserFilter) -> str:
    """The `qmfa users list` command that lists the users of `user_filter` as CSV."""
    words = ["qmfa", "users", "list"]
    if user_filter.two_factor != "all":
        words += ["--2fa", user_filter.two_factor]
    if user_filter.status != "all":
        words.append(f"--{user_filter.status}")
    if user_filter.auth_source:
        words += ["--auth", user_filter.auth_source]
    return " ".join([*words, "--format", "csv"])


EXPORT_COMMAND = users_list_command(AFFECTED_BY_MANDATORY)
# The Users list the modal's "users" opens says why they are listed, in the modal's words:
# "Active local users with 2FA disabled (who will have to register a device)".
AFFECTED_TITLE = "who will have to register a device"
WITHOUT_2FA = "without two-step verification"


def _cell(text: str) -> Text:
    cell = literal_cell(text)
    cell.overflow = "ellipsis"  # a cut email ends in "…", not mid-word
    return cell


class MandatoryModal(AnsweredModal):
    """Dismissed with True to switch mandatory 2FA on, False to leave it off.

    Cancel has the focus: Enter pressed out of habit leaves everything as it was.
    """

    CSS_PATH = "mandatory.tcss"
    HELP = (
        "Before making two-step verification mandatory: the active users it affects, "
        "to open in Users or export as CSV."
    )
    AUTO_FOCUS = "#cancel"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("u", "open_users", "Users"),
        Binding("x", "export", "Export CSV"),
        Binding("n", "next_page", "Next page"),
        Binding("p", "previous_page", "Prev page"),
        MODAL_HELP_KEY,
    ]

    @dataclass
    class Loaded(Message):
        total: int | None
        page: UserPage

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
                yield ActionLink("users", id="users-link")
                yield Static(f" {WITHOUT_2FA}", id="rest")
            yield Static(mandatory_consequence(self.grace_period_hours), id="until")
            yield Static(self._grace_text(), id="grace")
            table: DataTable[Text] = DataTable(id="affected", cursor_type="row")
            yield table
            yield Static(Text(f"Export: {EXPORT_COMMAND}"), id="export")
            # Over SSH a file would land on the server: no Export there.
            export = [Button("Export CSV…", id="export-csv")] if qmfa_app(self).saves_files else []
            yield from self.compose_buttons("Confirm", variant="warning", between=export)
        # A modal screen has no footer of its own: the one behind shows the other screen's keys.
        yield KeyBar()

    def _grace_text(self) -> str:
        if self.grace_period_hours:
            return "They may skip it until then; after that, login requires a device."
        return "There is no grace period: their next login asks for a device first."

    def on_mount(self) -> None:
        self._fit_columns()
        self.load(count=True)

    def on_resize(self) -> None:
        self.set_class(self.size.height < 24, "-short")  # no blank lines: rows for users
        self.call_after_refresh(self._fit_sentence)
        self.call_after_refresh(self._fit_columns)
        self.call_after_refresh(self._fit_rows)

    def _fit_sentence(self) -> None:
        """The sentence "9 active users without two-step verification" is a row of widgets
        (the noun is a link) that cannot wrap: where it is wider than the dialog, its end
        moves to the start of the next line, which wraps."""
        if not self.total:
            return
        count, link = self.query_one("#count", Static), self.query_one("#users-link")
        rest = self.query_one("#rest", Static)
        width = self.query_one("#dialog").content_region.width
        sentence = len(f"{count.render()}{link.render()} {WITHOUT_2FA}")
        fits = width > 0 and sentence <= width
        rest.display = fits
        ending = mandatory_consequence(self.grace_period_hours)
        self.query_one("#until", Static).update(ending if fits else f"{WITHOUT_2FA} {ending}")

    def _fit_rows(self) -> None:
        """The list takes the rows the rest of the dialog leaves, and scrolls within them:
        the count above it and the buttons below it stay in sight."""
        dialog = self.query_one("#dialog")
        table = self.query_one("#affected", DataTable)
        shown = [child for child in dialog.children if child.display]
        if not dialog.size.height or not shown:
            return
        # The rows the dialog's content takes besides the list (margins included).
        content = shown[-1].region.bottom - shown[0].region.y
        around_the_list = content - table.outer_size.height
        # The screen's size is inside its padding (the title row above): less the key bar.
        screen_rows = self.size.height - self.query_one(KeyBar).outer_size.height
        room = min(screen_rows, MAX_DIALOG_HEIGHT) - dialog.styles.gutter.height
        max_height = max(MIN_LIST_HEIGHT, room - around_the_list)
        if table.styles.max_height != Scalar.from_number(max_height):
            table.styles.max_height = max_height

    def _fit_columns(self) -> None:
        """Username and Name as wide as they may be, Email the rest of the table's width."""
        table = self.query_one("#affected", DataTable)
        # The table's width, less the vertical scrollbar and each column's padding (1 + 1).
        inner = table.size.width - table.styles.scrollbar_size_vertical - 3 * 2
        if inner <= 0:
            inner = USERNAME_WIDTH + NAME_WIDTH + MIN_EMAIL_WIDTH
        username = min(USERNAME_WIDTH, max(8, inner // 5))
        name = min(NAME_WIDTH, max(8, inner // 4))
        email = max(MIN_EMAIL_WIDTH, inner - username - name)
        widths = [column.width for column in table.columns.values()]
        if widths == [username, name, email]:
            return
        table.clear(columns=True)
        table.add_column("Username", width=username)
        table.add_column("Name", width=name)
        table.add_column("Email", width=email)
        self._show_rows()

    def _show_rows(self) -> None:
        table = self.query_one("#affected", DataTable)
        table.clear()
        for row in self.page.rows if self.page else []:
            table.add_row(
                _cell(row.username), _cell(row.display_name), _cell(row.email), key=row.username
            )

    @work(thread=True, exclusive=True)
    def load(self, *, count: bool, after: str | None = None, before: str | None = None) -> None:
        def read() -> tuple[int | None, UserPage]:
            total = directory.count_users(self.actor, AFFECTED_BY_MANDATORY) if count else None
            page = directory.page_users(
                self.actor, AFFECTED_BY_MANDATORY, after=after, before=before, size=AFFECTED_PAGE
            )
            return total, page

        call_service(self, read, lambda answers: self.Loaded(*answers))

    def on_mandatory_modal_loaded(self, message: Loaded) -> None:
        if message.total is not None:
            self.total = message.total
            self._show_count(message.total)
        self.page = message.page
        self._show_rows()
        self.refresh_bindings()
        self.call_after_refresh(self._fit_sentence)
        self.call_after_refresh(self._fit_rows)

    def _show_count(self, total: int) -> None:
        if total == 0:
            self.query_one("#sentence").display = False
            for empty in self.query("#affected, #export, #export-csv"):
                empty.display = False
            self.query_one("#until", Static).update(
                "Every active, locally authenticated user already uses two-step "
                "verification: nobody has to register a device."
            )
            return
        # "1 active user", "2 active users": the noun is the link to the Users screen.
        number, noun = counted(total, "user").split(" ", 1)
        self.query_one("#count", Static).update(f"{number} active ")
        self.query_one("#users-link", ActionLink).update(noun)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "export" and not qmfa_app(self).saves_files:
            return False  # over SSH the file would be written on the server
        if action in ("open_users", "export"):
            return bool(self.total)  # hidden until counted, and when nobody is affected
        if action in ("next_page", "previous_page"):
            if not self.total or self.page is None:
                return False
            more = self.page.has_next if action == "next_page" else self.page.has_previous
            return True if more else None  # shown, dimmed, on the first or last page
        return True

    def on_service_failed(self, failed: ServiceFailed) -> None:
        self.notify(failed.message, severity="error")

    @on(ActionLink.Followed, "#users-link")
    def action_open_users(self) -> None:
        from qmfa_tui.screens.users import open_users

        if self.total:
            open_users(self, self.actor, AFFECTED_BY_MANDATORY, origin=AFFECTED_TITLE)

    @on(Button.Pressed, "#export-csv")
    def action_export(self) -> None:
        """The affected users as the CLI's CSV, to a path typed in the Save dialog."""
        from qmfa_tui.csv_export import USER_COLUMNS, csv_lines, user_record
        from qmfa_tui.screens.save_file import SaveFileScreen

        if not self.total:
            return
        actor, exported = self.actor, [0]

        def contents() -> str:  # in the dialog's worker, when the person saves
            users = directory.users_matching(actor, AFFECTED_BY_MANDATORY)
            exported[0] = len(users)
            return "".join(csv_lines(USER_COLUMNS, map(user_record, users)))

        def saved(path: Path | None) -> None:
            if path is not None:
                self.app.notify(f"Saved {counted(exported[0], 'user')} to {path}")

        default = qmfa_app(self).downloads_path() / "users-without-2fa.csv"
        title = f"Export as CSV: {AFFECTED_BY_MANDATORY.describe()}"
        self.app.push_screen(SaveFileScreen(title, default, contents), saved)

    def action_next_page(self) -> None:
        if self.page is not None and self.page.has_next and self.page.rows:
            self.load(count=False, after=self.page.rows[-1].username)

    def action_previous_page(self) -> None:
        if self.page is not None and self.page.has_previous and self.page.rows:
            self.load(count=False, before=self.page.rows[0].username)
