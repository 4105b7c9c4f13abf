"""Save as: a path field filled with a default, Enter to save, Esc to cancel.

The dialog writes the file itself (0600 from its first byte, never through a link,
never over another file: private_files), so a refusal keeps it open with the path to
edit, and it is dismissed with the full path written, or None when cancelled.

On an existing file: the default path, as offered, moves on to the next free name
("name (2).txt"): the person asked for "a download" and loses nothing, and the path
said afterwards names the file. A path the person typed is refused instead, with one
line: they chose that name, and a different one written behind their back is a
surprise.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from qmfa_tui.private_files import create_private_file, create_private_file_in, what_is_at
from qmfa_tui.screens.service_call import ServiceFailed, call_service
from qmfa_tui.text import SAFE_TEXT_PATTERN
from qmfa_tui.widgets.key_bar import MODAL_HELP_KEY, KeyBar
from qmfa_tui.widgets.literal import literal
from qmfa_tui.widgets.ordered_input import OrderedInput
from qmfa_tui.widgets.qmfa_app import qmfa_app
from qmfa_tui.widgets.status_line import StatusLine

NO_FILES_OVER_SSH = (
    "Over SSH, qmfa saves no files: they would be written on the server, not on your computer."
)


class SaveFileScreen(ModalScreen[Path | None]):
    """``contents`` runs in a worker thread when the person saves (it may read the
    database: revealing codes is audited, so it happens only for a file written)."""

    CSS_PATH = "save_file.tcss"
    HELP = "Where to save the file: a path (the downloads folder is offered). Enter saves."
    AUTO_FOCUS = "#path"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        # Before the field's own Enter, so that the footer shows it; on Cancel it cancels.
        Binding("enter", "save", "Save", priority=True),
        MODAL_HELP_KEY,
    ]

    @dataclass
    class Written(Message):
        path: Path | None
        error: str | None

    def __init__(self, title: str, default: Path, contents: Callable[[], str]) -> None:
        super().__init__()
        self.title_text = title
        self.default = default
        self.contents = contents

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(literal(self.title_text), classes="title")
            yield Static(
                "Enter saves to this path; edit it to save elsewhere. Only you can read the file.",
                classes="hint",
            )
            # Input draws its value raw: a pasted ESC would reach the terminal.
            yield OrderedInput(
                str(self.default),
                id="path",
                restrict=SAFE_TEXT_PATTERN,
                select_on_focus=False,
                compact=True,
            )
            yield StatusLine(id="status")
            with Horizontal(id="buttons"):
                yield Button("Save", id="save", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
        yield KeyBar()

    def on_mount(self) -> None:
        # The file name, at the end, is what one edits: show it (after the first layout).
        self.call_after_refresh(self.query_one("#path", Input).action_end)

    def target(self, typed: str) -> tuple[Path, bool]:
        """The path to write and whether a taken name may move on to "name (2)"."""
        text = typed.strip()
        if text == str(self.default):
            return self.default, True
        path = Path(text).expanduser()
        if not path.is_absolute():  # a bare name goes where the default would
            path = self.default.parent / path
        return Path(os.path.abspath(path)), False

    def action_save(self) -> None:
        if self.focused is self.query_one("#cancel"):
            self.action_cancel()
        else:  # once the field has applied the keys typed before this Enter
            self.query_one("#path", Input).call_later(self.save)

    @on(Button.Pressed, "#save")
    def save(self) -> None:
        field = self.query_one("#path", Input)
        if field.disabled:
            return  # already saving
        if not field.value.strip():
            self.query_one(StatusLine).show_error("Type a path to save to.")
            return
        if not qmfa_app(self).saves_files:  # the buttons that lead here are not shown
            self.query_one(StatusLine).show_error(NO_FILES_OVER_SSH)
            return
        path, renaming = self.target(field.value)
        self._set_busy(True)
        self.query_one(StatusLine).show_info("Saving…")
        self.write(path, renaming)

    @work(thread=True, exclusive=True, group="save-file")
    def write(self, path: Path, renaming: bool) -> None:
        # What `contents` (it calls services) refuses is a ServiceFailed; what the file
        # system refuses, a Written without a path.
        call_service(self, partial(self._write, path, renaming), lambda written: written)

    def _write(self, path: Path, renaming: bool) -> Written:
        try:
            if path.parent == self.default.parent:  # the downloads folder, made 0700
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            elif not path.parent.is_dir():
                return self.Written(None, f"There is no folder {path.parent}.")
            if not renaming and (found := what_is_at(path)) is not None:
                return self.Written(None, f"{path} {found}: give another name.")
            data = self.contents()
            if renaming:
                path = create_private_file_in(path.parent, path.name, data)
            else:
                create_private_file(path, data)
        except FileExistsError:  # taken since the look above
            return self.Written(None, f"{path} already exists: give another name.")
        except OSError as error:
            return self.Written(None, f"Could not save {path}: {error.strerror or error}.")
        return self.Written(path, None)

    def on_save_file_screen_written(self, message: Written) -> None:
        if message.path is not None:
            self.dismiss(message.path)
            return
        self._not_saved(message.error or "Not saved.")

    def on_service_failed(self, failed: ServiceFailed) -> None:
        self._not_saved(failed.message or "Not saved.")

    def _not_saved(self, error: str) -> None:
        self._set_busy(False)
        self.query_one(StatusLine).show_error(error)
        self.query_one("#path", Input).focus()

    def _set_busy(self, busy: bool) -> None:
        for widget in self.query("#path, #save"):
            widget.disabled = busy

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        if self.query_one("#path", Input).disabled:
            return  # saving: a write under way is not taken back by closing the dialog
        self.dismiss(None)
