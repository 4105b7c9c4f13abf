"""The recovery codes, shown once after registration: Download .txt, Copy, Done."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Static

from qmfa_tui.private_files import create_private_file_in
from qmfa_tui.services import clock, recovery
from qmfa_tui.widgets.status_line import StatusLine


@dataclass
class FileSaved(Message):
    """The download worker wrote the file (path) or could not (error, a sentence)."""

    path: Path | None
    error: str | None


class SavesRecoveryCodes:
    """For a screen with a StatusLine that offers recovery codes as a .txt download.

    The file is written by qmfa itself, not by App.deliver_text (which creates it with
    the umask, readable by all until a chmod): 0600 from its first byte, under a new
    name when one is taken (``qmfa-recovery-codes-alice (2).txt``), never through a link.
    """

    def save_codes(self, username: str, instance_name: str, codes: list[str]) -> None:
        screen: Screen[object] = self  # type: ignore[assignment]
        text = recovery.codes_text(username, instance_name, codes, clock.utc(clock.now()))
        screen.query_one(StatusLine).show_info("Saving…")
        self._write_codes(f"qmfa-recovery-codes-{username}.txt", text)

    @work(thread=True, group="save-codes")
    def _write_codes(self, filename: str, text: str) -> None:
        screen: Screen[object] = self  # type: ignore[assignment]
        try:
            directory = screen.app.save_directory()  # type: ignore[attr-defined]
        except OSError as error:
            screen.post_message(FileSaved(
                None, f"Cannot make a folder for downloads: {error.strerror or error}."))
            return
        try:
            path = create_private_file_in(directory, filename, text)
        except OSError as error:
            screen.post_message(FileSaved(
                None, f"Could not save the file in {directory}: {error.strerror or error}."))
            return
        screen.post_message(FileSaved(path, None))

    def on_file_saved(self, message: FileSaved) -> None:
        screen: Screen[object] = self  # type: ignore[assignment]
        status = screen.query_one(StatusLine)
        if message.error is not None:
            status.show_error(message.error)
        else:
            status.show_info(f"Saved to {message.path}", success=True)


class RecoveryCodesScreen(SavesRecoveryCodes, Screen[None]):
    CSS_PATH = "recovery_codes.tcss"
    AUTO_FOCUS = "#download"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "download", "Download .txt"),
        Binding("c", "copy", "Copy"),
        Binding("escape", "done", "Done"),
    ]

    def __init__(self, username: str, codes: list[str], instance_name: str) -> None:
        super().__init__()
        self.username = username
        self.codes = codes
        self.instance_name = instance_name

    def compose(self) -> ComposeResult:
        yield Header()
        with Center(), Vertical(id="panel"):
            yield Static("Your recovery codes", classes="title")
            yield Static("If you lose your phone, each code logs you in once. Save them "
                         "now: they are not shown again this way.", classes="prompt")
            half = (len(self.codes) + 1) // 2
            with Horizontal(id="codes"):
                yield Static("\n".join(self.codes[:half]), classes="column")
                yield Static("\n".join(self.codes[half:]), classes="column")
            with Horizontal(id="buttons"):
                yield Button("Download .txt", id="download", variant="primary")
                yield Button("Copy", id="copy")
                yield Button("Done", id="done", variant="success")
            yield StatusLine(id="status")
        yield Footer()

    @on(Button.Pressed, "#download")
    def action_download(self) -> None:
        self.save_codes(self.username, self.instance_name, self.codes)

    @on(Button.Pressed, "#copy")
    def action_copy(self) -> None:
        self.app.copy_to_clipboard("\n".join(self.codes) + "\n")
        self.query_one(StatusLine).show_info(
            "Copied to the clipboard (your terminal must allow OSC 52).", success=True)

    @on(Button.Pressed, "#done")
    def action_done(self) -> None:
        self.dismiss(None)
