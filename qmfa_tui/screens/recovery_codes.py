"""The recovery codes, shown once after registration: Download .txt, Copy, Plain text, Done."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Horizontal, Vertical
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Button, Static

from qmfa_tui.services import clock, recovery
from qmfa_tui.textual_compat import StyledOnMount
from qmfa_tui.widgets.key_bar import KeyBar
from qmfa_tui.widgets.qmfa_app import qmfa_app
from qmfa_tui.widgets.status_line import StatusLine
from qmfa_tui.widgets.title_bar import TitleBar


class SavesRecoveryCodes:
    """For a screen with a StatusLine that offers recovery codes as a .txt download.

    The person chooses where in SaveFileScreen (default: the downloads folder), which
    writes the file 0600 from its first byte, never through a link, never over another
    file (App.deliver_text would create it with the umask, readable by all until a chmod).
    The codes are read (an audited reveal, for User Edit) only when the file is written.
    """

    def save_codes(
        self, username: str, codes: Callable[[], list[str]], instance_name: Callable[[], str]
    ) -> None:
        from qmfa_tui.screens.save_file import SaveFileScreen

        screen = cast("Screen[object]", self)  # mixed into Screen subclasses only

        def contents() -> str:  # in the dialog's worker thread, when the person saves
            return recovery.codes_text(username, instance_name(), codes(), clock.utc(clock.now()))

        def saved(path: Path | None) -> None:
            status = screen.query_one(StatusLine)
            if path is None:
                status.show_info("Nothing was saved.")
            else:
                status.show_info(f"Saved to {path}", success=True)

        folder = qmfa_app(screen).downloads_path()
        default = folder / f"qmfa-recovery-codes-{username}.txt"
        screen.app.push_screen(
            SaveFileScreen("Save the recovery codes as a .txt", default, contents), saved
        )


COPY_OVER_SSH = (
    "Over SSH, Copy sends the codes to your own terminal's clipboard; "
    "no file is saved on the server."
)
# What Copy can say: the codes went out as OSC 52, and no terminal says whether it took them.
COPY_SENT = (
    "Sent the codes to your terminal's clipboard (OSC 52). "
    "Nothing there? Press v to show them as plain text to select."
)


def show_plain_codes(host: DOMNode, username: str, codes: list[str]) -> None:
    """The codes as plain text on a screen of their own, the mouse released (plain_codes)."""
    from qmfa_tui.screens.plain_codes import PlainCodesScreen

    host.app.push_screen(PlainCodesScreen(username, codes))


class RecoveryCodesScreen(StyledOnMount, SavesRecoveryCodes, Screen[None]):
    SHOWS_SECRETS = True  # no screenshot (QmfaApp.screenshot_refusal)
    CSS_PATH = "recovery_codes.tcss"
    HELP = (
        "Your recovery codes, shown once: keep them where you can find them without "
        "your phone. Each logs you in once."
    )
    AUTO_FOCUS = "#download"
    # Below 24 rows (60x20 over SSH) no blank lines: the codes and buttons fit unscrolled.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (24, "-tall")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "download", "Download .txt"),
        Binding("c", "copy", "Copy"),
        Binding("v", "plain", "Plain text"),
        Binding("escape", "done", "Done"),
    ]

    def __init__(self, username: str, codes: list[str], instance_name: str) -> None:
        super().__init__()
        self.username = username
        self.codes = codes
        self.instance_name = instance_name

    def compose(self) -> ComposeResult:
        self.preset_breakpoints()
        yield TitleBar()
        with Center(), Vertical(id="panel"):
            yield Static("Your recovery codes", classes="title")
            yield Static(
                "If you lose your phone, each code logs you in once. Save them "
                "now: they are not shown again this way.",
                classes="prompt",
            )
            half = (len(self.codes) + 1) // 2
            with Horizontal(id="codes"):
                yield Static("\n".join(self.codes[:half]), classes="column")
                yield Static("\n".join(self.codes[half:]), classes="column")
            saves_files = qmfa_app(self).saves_files
            with Horizontal(id="buttons"):
                if saves_files:
                    yield Button("Download .txt", id="download", variant="primary")
                yield Button("Copy", id="copy", variant="default" if saves_files else "primary")
                yield Button("Plain text", id="plain")
                yield Button("Done", id="done", variant="success")
            yield StatusLine(id="status")
            if not saves_files:
                yield Static(COPY_OVER_SSH, classes="prompt", id="over-ssh")
        yield KeyBar()

    def on_mount(self) -> None:
        if not qmfa_app(self).saves_files:
            self.query_one("#copy", Button).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action != "download" or qmfa_app(self).saves_files

    @on(Button.Pressed, "#download")
    def action_download(self) -> None:
        self.save_codes(self.username, lambda: self.codes, lambda: self.instance_name)

    @on(Button.Pressed, "#copy")
    def action_copy(self) -> None:
        self.app.copy_to_clipboard("\n".join(self.codes) + "\n")
        self.query_one(StatusLine).show_info(COPY_SENT)

    @on(Button.Pressed, "#plain")
    def action_plain(self) -> None:
        show_plain_codes(self, self.username, self.codes)

    @on(Button.Pressed, "#done")
    def action_done(self) -> None:
        self.dismiss(None)
