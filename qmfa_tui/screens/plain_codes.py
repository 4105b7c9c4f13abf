"""The recovery codes as plain lines, with the mouse released, for the terminal to select.

Copy sends the codes by OSC 52, which many terminals ignore (PuTTY's own window, a
terminal that asks first) and none reports on: nothing says whether they arrived. Here
the codes stand alone at the start of their lines, and the terminal's mouse reporting is
off while the screen is shown, so that the terminal's own selection (drag, double-click)
works without Shift and copies them as any text. Esc closes it and the mouse comes back.
"""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

from qmfa_tui.textual_compat import set_mouse_reporting
from qmfa_tui.widgets.key_bar import KeyBar
from qmfa_tui.widgets.literal import literal

RELEASED_HINT = (
    "The mouse is released: select the codes as any text in your terminal and copy "
    "them. Esc closes this view."
)


class PlainCodesScreen(Screen[None]):
    """The codes, one to a line at the left edge, on an otherwise empty screen."""

    SHOWS_SECRETS = True  # no screenshot (QmfaApp.screenshot_refusal)
    CSS_PATH = "plain_codes.tcss"
    HELP = (
        "Your recovery codes as plain text, with the mouse released: select them as "
        "you select any text in your terminal (no Shift needed) and copy them. Esc "
        "closes this view and gives the mouse back to qmfa."
    )
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def __init__(self, username: str, codes: list[str]) -> None:
        super().__init__()
        self.username = username
        self.codes = codes
        self.mouse_released = False  # reporting turned off by this screen, not yet back on

    def compose(self) -> ComposeResult:
        yield Static(literal(f"Recovery codes of {self.username}, as plain text"), id="plain-title")
        lines = Content("\n").join(literal(code) for code in self.codes)
        yield Static(lines, id="plain-codes")
        yield Static(RELEASED_HINT, id="plain-hint", markup=False)
        yield KeyBar()

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        if not self.mouse_released:
            self.mouse_released = set_mouse_reporting(self.app, False)

    def on_screen_suspend(self, event: events.ScreenSuspend) -> None:
        self._give_mouse_back()

    def on_unmount(self, event: events.Unmount) -> None:
        self._give_mouse_back()

    def _give_mouse_back(self) -> None:
        if self.mouse_released:
            self.mouse_released = False
            set_mouse_reporting(self.app, True)

    def action_close(self) -> None:
        self.dismiss(None)
