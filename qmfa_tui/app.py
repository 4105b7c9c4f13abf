"""The Textual app: the session (set only after both login steps), modes and navigation."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.events import DeliveryComplete, DeliveryFailed
from textual.notifications import SeverityLevel

from qmfa_tui.screens.commands import NavigationCommands
from qmfa_tui.screens.login import LoginScreen
from qmfa_tui.services.session import Actor
from qmfa_tui.storage import OpenDatabase
from qmfa_tui.text import visible


class QmfaApp(App[None]):
    """Two modes: "login" until an Actor exists, then "main"; logging out drops "main"."""

    TITLE = "qmfa"
    SUB_TITLE = "two-step verification"
    # The first screen's stylesheet is read with the app's: as LoginScreen.CSS_PATH it
    # made Textual re-parse all CSS once more before the first paint (~15 ms).
    CSS_PATH = "screens/login.tcss"
    MODES: ClassVar = {"login": LoginScreen}
    DEFAULT_MODE = "login"
    COMMANDS: ClassVar = App.COMMANDS | {NavigationCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, database: OpenDatabase, *, downloads_dir: Path | None = None) -> None:
        super().__init__()
        self.database = database
        self.downloads_dir = downloads_dir
        self.session: Actor | None = None
        # Learned after login (MainScreen loads the user); the services check again anyway.
        self.may_manage_users = False
        self.is_admin = False

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Every notification is literal text: its messages carry usernames and errors."""
        super().notify(visible(message), title=visible(title), severity=severity,
                       timeout=timeout, markup=False)

    def format_title(self, title: str, sub_title: str) -> Content:
        # The sub-title is the logged-in username: Textual shows it as plain text, ESC and all.
        return super().format_title(visible(title), visible(sub_title))

    def log_in(self, actor: Actor, *, notice: str | None = None, warning: bool = False) -> None:
        self.session = actor
        self.sub_title = actor.username
        from qmfa_tui.screens.main import MainScreen

        self.add_mode("main", lambda: MainScreen(actor))
        self.switch_mode("main")
        self.remove_mode("login")  # nothing of the login steps survives
        self.add_mode("login", LoginScreen)
        if notice:
            self.notify(notice, severity="warning" if warning else "information",
                        timeout=12 if warning else 6)

    def log_out(self) -> None:
        self.session = None
        self.may_manage_users = self.is_admin = False
        self.sub_title = self.SUB_TITLE
        self.switch_mode("login")
        self.remove_mode("main")

    def action_my_account(self) -> None:
        from qmfa_tui.screens.user_edit import open_user_edit

        if self.session is not None:
            open_user_edit(self, self.session, self.session.username)

    def action_users(self) -> None:
        from qmfa_tui.screens.users import UsersScreen

        if self.session is not None and self.may_manage_users:
            self.push_screen(UsersScreen(self.session))

    def action_log_out(self) -> None:
        if self.session is not None:
            self.log_out()

    def save_directory(self) -> Path:
        """Where downloads go: ~/Downloads (made 0700 if missing, as on a fresh server)."""
        import platformdirs

        directory = self.downloads_dir or platformdirs.user_downloads_path()
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        return directory

    def action_settings(self) -> None:
        from qmfa_tui.screens.settings import SettingsScreen

        if self.session is not None and self.is_admin:
            self.push_screen(SettingsScreen(self.session))

    def on_delivery_complete(self, event: DeliveryComplete) -> None:
        from qmfa_tui.screens.recovery_codes import FileSaved

        if event.path is not None:
            event.path.chmod(0o600)  # recovery codes: for the owner's eyes only
        self.screen.post_message(FileSaved(event.path, None))

    def on_delivery_failed(self, event: DeliveryFailed) -> None:
        from qmfa_tui.screens.recovery_codes import FileSaved

        self.screen.post_message(FileSaved(None, str(event.exception)))
