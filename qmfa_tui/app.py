"""The Textual app (screens arrive with the TUI issue; this shell shows where it runs)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static

from qmfa_tui.storage import OpenDatabase


class QmfaApp(App[None]):
    TITLE = "qmfa"
    SUB_TITLE = "two-step verification"
    BINDINGS: ClassVar = [("ctrl+q", "quit", "Quit")]

    def __init__(self, database: OpenDatabase) -> None:
        super().__init__()
        self.database = database

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"Database: {self.database.display_url}")
        yield Footer()
