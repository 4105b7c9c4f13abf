"""The recovery codes, shown once after registration: Download .txt, Copy, Done."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Static

from qmfa_tui.services import clock, recovery
from qmfa_tui.widgets.status_line import StatusLine


@dataclass
class FileSaved(Message):
    """The app delivered a file (posted to the screen that asked for it)."""

    path: Path | None
    error: str | None


class SavesRecoveryCodes:
    """For a screen with a StatusLine that offers recovery codes as a .txt download."""

    def save_codes(self, username: str, instance_name: str, codes: list[str]) -> None:
        screen: Screen[object] = self  # type: ignore[assignment]
        status = screen.query_one(StatusLine)
        try:
            directory = screen.app.save_directory()  # type: ignore[attr-defined]
        except OSError as error:
            status.show_error(f"Cannot make a folder for downloads: {error.strerror}.")
            return
        text = recovery.codes_text(username, instance_name, codes, clock.utc(clock.now()))
        screen.app.deliver_text(io.StringIO(text), save_directory=directory,
                                save_filename=f"qmfa-recovery-codes-{username}.txt")
        status.show_info("Saving…")

    def on_file_saved(self, message: FileSaved) -> None:
        screen: Screen[object] = self  # type: ignore[assignment]
        status = screen.query_one(StatusLine)
        if message.error is not None:
            status.show_error(f"Could not save the file: {message.error}")
        else:
            status.show_info(f"Saved to {message.path}" if message.path else "Saved.",
                             success=True)


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
