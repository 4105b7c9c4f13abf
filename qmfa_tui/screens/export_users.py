"""Save a filtered list of users as CSV to a path the admin chooses (the modal asks where).

The file is the one `qmfa users list --format csv` prints for the same filter; it is
created 0600 and never over another file: an existing path is refused, not replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Static

from qmfa_tui.csv_export import USER_COLUMNS, csv_lines, user_record
from qmfa_tui.errors import QmfaError
from qmfa_tui.services import directory
from qmfa_tui.services.directory import UserFilter
from qmfa_tui.services.session import Actor
from qmfa_tui.text import SAFE_TEXT_PATTERN, counted
from qmfa_tui.widgets.literal import literal
from qmfa_tui.widgets.status_line import StatusLine

EXPORT_PAGE = 1000


def default_directory(app: object) -> Path:
    """Where the app saves downloads (the directory is made only when a file is saved)."""
    import platformdirs

    return getattr(app, "downloads_dir", None) or platformdirs.user_downloads_path()


class ExportUsersScreen(ModalScreen[Path | None]):
    """Dismissed with the path written, or None when cancelled."""

    CSS_PATH = "export_users.tcss"
    AUTO_FOCUS = "#path"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    @dataclass
    class Saved(Message):
        path: Path
        users: int

    @dataclass
    class Refused(Message):
        reason: str

    def __init__(self, actor: Actor, user_filter: UserFilter, filename: str) -> None:
        super().__init__()
        self.actor = actor
        self.user_filter = user_filter
        self.filename = filename

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("Export as CSV", classes="title")
            yield Static(literal(self.user_filter.describe()), id="which")
            yield Static("Save to (a new file; Enter saves):", id="label")
            yield Input(
                str(default_directory(self.app) / self.filename),
                id="path",
                restrict=SAFE_TEXT_PATTERN,
            )
            yield StatusLine(id="status")
            with Horizontal(id="buttons"):
                yield Button("Save", id="save", variant="primary")
                yield Button("Cancel", id="cancel")
        yield Footer()

    @on(Input.Submitted, "#path")
    @on(Button.Pressed, "#save")
    def save(self) -> None:
        typed = self.query_one("#path", Input).value.strip()
        if not typed:
            self.query_one(StatusLine).show_error("Enter the path of a new file.")
            return
        path = Path(typed).expanduser()
        if not path.is_absolute():
            path = default_directory(self.app) / path
        self.query_one("#save", Button).disabled = True
        self.query_one(StatusLine).show_info("Saving…")
        self.write(path)

    @work(thread=True, exclusive=True)
    def write(self, path: Path) -> None:
        from qmfa_tui.private_files import create_private_file, what_is_at

        try:
            users = list(self._users())
        except QmfaError as error:
            self.post_message(self.Refused(error.message))
            return
        if (there := what_is_at(path)) is not None:
            self.post_message(self.Refused(f"{path} {there}: choose another name."))
            return
        try:
            create_private_file(path, "".join(csv_lines(USER_COLUMNS, map(user_record, users))))
        except FileExistsError:
            self.post_message(self.Refused(f"{path} already exists: choose another name."))
        except OSError as error:
            self.post_message(self.Refused(f"Could not save {path}: {error.strerror or error}."))
        else:
            self.post_message(self.Saved(path, len(users)))

    def _users(self) -> list[directory.UserRow]:
        rows: list[directory.UserRow] = []
        after = None
        while True:
            page = directory.page_users(self.actor, self.user_filter, after=after, size=EXPORT_PAGE)
            rows += page.rows
            if not page.has_next or not page.rows:
                return rows
            after = page.rows[-1].username

    def on_export_users_screen_saved(self, message: Saved) -> None:
        self.app.notify(f"Saved {counted(message.users, 'user')} to {message.path}")
        self.dismiss(message.path)

    def on_export_users_screen_refused(self, message: Refused) -> None:
        self.query_one("#save", Button).disabled = False
        self.query_one(StatusLine).show_error(message.reason)
        self.query_one("#path").focus()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
