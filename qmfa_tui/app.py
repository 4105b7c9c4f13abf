"""The Textual app: the session (set only after both login steps), modes and navigation."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import events, work
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.driver import Driver
from textual.notifications import SeverityLevel

from qmfa_tui import crash
from qmfa_tui.keys import KeyHolder
from qmfa_tui.screens.commands import NavigationCommands
from qmfa_tui.screens.login import LoginScreen
from qmfa_tui.text import visible
from qmfa_tui.textual_compat import CrashesInOneLine, ParsedOnceStylesheet

if TYPE_CHECKING:
    # Named for the type checker only: the login screen paints before the database (and
    # peewee, cryptography, argon2, pyotp) is loaded; see ``opener``.
    from collections.abc import Iterable
    from typing import BinaryIO, Literal, TextIO

    from textual.app import SystemCommand
    from textual.screen import Screen

    from qmfa_tui.screens.preparing import ScreensImported
    from qmfa_tui.screens.users import UsersView
    from qmfa_tui.served_limits import ServedLimits
    from qmfa_tui.services.accounts import UserInfo
    from qmfa_tui.services.session import Actor
    from qmfa_tui.storage import OpenDatabase


NO_SCREENSHOT_OF_SECRETS = "No screenshot of this screen: it shows a secret (a key or codes)."


class QmfaApp(KeyHolder, CrashesInOneLine):
    """Two modes: "login" until an Actor exists, then "main"; logging out drops "main"."""

    TITLE = "qmfa"
    SUB_TITLE = "two-step verification"
    CRASH_EXIT_CODE = crash.EXIT_CRASH
    # The first screen's stylesheet is read with the app's: as LoginScreen.CSS_PATH it
    # made Textual re-parse all CSS once more before the first paint.
    CSS_PATH: ClassVar = ["screens/login.tcss", "app.tcss"]
    MODES: ClassVar = {"login": LoginScreen}
    DEFAULT_MODE = "login"
    COMMANDS: ClassVar = KeyHolder.COMMANDS | {NavigationCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        # Not a priority: a text field takes `?` as a character first; F1 works there too.
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("f1", "help", "Help", key_display="F1", priority=True),
    ]

    def __init__(
        self,
        database: OpenDatabase | None = None,
        *,
        opener: Callable[[], OpenDatabase] | None = None,
        downloads_dir: Path | None = None,
        served: ServedLimits | None = None,
        settles_heap: bool = False,
    ) -> None:
        """On an open ``database``, or on the one ``opener`` opens in a thread right after
        the first paint (`qmfa` on a terminal): Log in waits for it, and if it raises, the
        app ends and ``start_error`` holds the error for whoever ran the app to report.
        ``settles_heap``: the process is this app's alone (`qmfa`), so once the screens are
        prepared after the first login it may freeze its heap (``preparing.settle_heap``)."""
        super().__init__()
        self.stylesheet = ParsedOnceStylesheet(variables=self.get_css_variables())
        if (database is None) == (opener is None):
            raise ValueError("QmfaApp takes an open database or an opener, not both")
        self._database = database
        self._opener = opener
        self._opened = threading.Event()
        if database is not None:
            self._opened.set()
        self.start_error: Exception | None = None
        self.downloads_dir = downloads_dir
        # Set when `qmfa serve` started this process for an SSH session (served_limits.py).
        self.served = served
        self.login_username = served.username if served is not None else ""
        # On a demo database: who to log in as and how to get the code (cli.demo_hint);
        # set before the database counts as open, shown by the login steps.
        self.demo_hint: str | None = None
        self.session: Actor | None = None
        # The logged-in user as the services last described them (MainScreen reads them
        # after login and on each return); the services check every permission again anyway.
        self.user: UserInfo | None = None
        # What the Users screen showed last in this session (filters, sort, page).
        self.users_view: UsersView | None = None
        self.crash_message: str | None = None
        self._screens_prepared = False
        self.settles_heap = settles_heap

    def on_mount(self) -> None:
        if self._opener is not None:
            self.call_after_refresh(self._open_after_paint)
        else:
            self.run_worker(self._name_instance, thread=True, group="open", exit_on_error=False)
        if self.served is not None:
            import asyncio
            import signal

            self.served.start(time.monotonic())
            self.set_interval(1.0, self._enforce_served_limits)
            # The server stops a session with SIGTERM: leave the client's terminal as it was.
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self.exit)

    def _open_after_paint(self) -> None:
        self.run_worker(self._open, thread=True, group="open", exit_on_error=False)

    def _open(self) -> None:
        assert self._opener is not None
        try:
            self._database = self._opener()
        except Exception as error:  # reported after the app ends, as before it started
            self.start_error = error
            self.call_from_thread(self.exit, return_code=1)
        else:
            self.call_from_thread(self._show_demo_hint)
            self._name_instance()
        finally:
            self._opened.set()  # a waiting Log in goes on (and finds no database on failure)

    def _name_instance(self) -> None:
        """In a worker thread: ``qmfa · Acme prod`` in the title bar once the database is open,
        unless the instance keeps the default name (`qmfa settings name`)."""
        from qmfa_tui.services import policy

        name = policy.instance_info().instance_name
        if name != policy.DEFAULT_INSTANCE_NAME:
            self.call_from_thread(self._show_title, f"{self.TITLE} · {name}")

    def _show_title(self, title: str) -> None:
        from qmfa_tui.widgets.title_bar import TitleBar

        self.title = title
        for bar in self.screen.query(TitleBar):  # it reads the title as it draws: draw again
            bar.refresh()

    def _show_demo_hint(self) -> None:
        """The database opened after the first paint: on a demo, the login step drawn
        meanwhile shows how to get in (one drawn after this shows it itself)."""
        if self.demo_hint:
            from qmfa_tui.widgets.demo_hint import DemoHint

            for line in self.screen.query(DemoHint):
                line.show(self.demo_hint)

    @property
    def database(self) -> OpenDatabase:
        if self._database is None:
            from qmfa_tui.errors import StorageError

            raise StorageError("The database is not open yet.")
        return self._database

    @property
    def database_is_open(self) -> bool:
        return self._database is not None

    def wait_for_database(self) -> bool:
        """Block (in a worker thread) until the database is open; False if it did not open."""
        self._opened.wait()
        return self._database is not None

    async def on_event(self, event: events.Event) -> None:
        if self.served is not None and isinstance(
            event,
            events.Key
            | events.MouseDown
            | events.MouseScrollDown
            | events.MouseScrollUp
            | events.Paste,
        ):
            self.served.note_input(time.monotonic())
        await super().on_event(event)

    def _enforce_served_limits(self) -> None:
        if self.served is None:
            return
        reason = self.served.expired(time.monotonic(), self.session is not None)
        if reason is not None:
            self.session = None  # nothing more is done as that person; the process ends
            self.exit(message=reason)

    def crashed(self, error: Exception) -> None:
        """Textual's report of a failure (every frame's locals: passwords, codes, secrets)
        is replaced by one line (`crash_message`, printed by whoever ran the app) and a
        private file; the app ends with EXIT_CRASH (textual_compat.CrashesInOneLine)."""
        if self.crash_message is None:  # the first failure is the one reported
            self.crash_message = crash.one_line(
                error, crash.write_report(error), remote=self.served is not None
            )

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver, or on Linux/macOS one that no byte from stdin can crash."""
        driver_class = super().get_driver_class()
        from textual.drivers.linux_driver import LinuxDriver

        if driver_class is LinuxDriver:
            from qmfa_tui.textual_compat.terminal import TolerantDriver

            return TolerantDriver
        return driver_class

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification is literal text: its messages carry usernames and errors."""
        super().notify(
            visible(message), title=visible(title), severity=severity, timeout=timeout, markup=False
        )

    def format_title(self, title: str, sub_title: str) -> Content:
        # The sub-title is the logged-in username: Textual shows it as plain text, ESC and all.
        return super().format_title(visible(title), visible(sub_title))

    def log_in(self, actor: Actor, *, notice: str | None = None, warning: bool = False) -> None:
        if actor.password_change_due:  # a reset password: the user's own before anything else
            from qmfa_tui.screens.password import ChooseNewPasswordScreen

            self.drop_keys()
            self.push_screen(ChooseNewPasswordScreen(actor, notice=notice, warning=warning))
            return
        self.drop_keys()  # typed ahead of the main menu: never its hotkeys
        self.clear_notifications()  # a session starts with its own notices only
        self.session = actor
        self.sub_title = actor.username
        if self.served is not None:
            self.served.report(logged_in=True)
        from qmfa_tui.screens.main import MainScreen

        self.add_mode("main", lambda: MainScreen(actor))
        self.switch_mode("main")
        self.remove_mode("login")  # nothing of the login steps survives
        self.add_mode("login", LoginScreen)
        if not self._screens_prepared:  # once the menu is drawn, while it is read
            from qmfa_tui.screens.preparing import prepare_screens

            self._screens_prepared = True
            self.call_after_refresh(prepare_screens, self)
        if notice:
            self.notify(
                notice,
                severity="warning" if warning else "information",
                timeout=12 if warning else 6,
            )

    def on_screens_imported(self, message: ScreensImported) -> None:
        from qmfa_tui.screens.preparing import read_stylesheets, settle_heap

        read_stylesheets(self, message.modules)
        if self.settles_heap:
            settle_heap()

    def still_logged_in(self, actor: Actor) -> bool:
        """Whether ``actor``'s session is the one open: a screen read in a worker for a
        session that ended meanwhile (log-out, a new login) is not pushed."""
        return self.session is actor

    @property
    def may_manage_users(self) -> bool:
        return self.user is not None and self.user.may_manage_users

    @property
    def is_admin(self) -> bool:
        return self.user is not None and self.user.is_admin

    def remember_user(self, user: UserInfo) -> bool:
        """Keep ``user`` (the session's, read again); True if what they may open changed."""
        before = (self.may_manage_users, self.is_admin)
        self.user = user
        return (self.may_manage_users, self.is_admin) != before

    def log_out(self) -> None:
        self.drop_keys()
        self.session = None
        self.user = None
        self.users_view = None
        self.sub_title = self.SUB_TITLE
        if self.served is not None:
            self.served.start(time.monotonic())  # the login timeout counts again
            self.served.report(logged_in=False)
        self.switch_mode("login")
        self.remove_mode("main")
        self.forget_notifications()

    def forget_notifications(self) -> None:
        """A notice belongs to the session that raised it: clear those shown, and again once
        the messages already queued (a Notify posted before logging out) are handled."""
        self.clear_notifications()
        self.call_later(self.clear_notifications)

    def action_my_account(self) -> None:
        from qmfa_tui.screens.user_edit import open_user_edit

        if self.session is not None:
            open_user_edit(self, self.session, self.session.username)

    def action_users(self) -> None:
        from qmfa_tui.screens.users import open_users

        if self.session is not None and self.may_manage_users:
            open_users(self, self.session)

    def action_log_out(self) -> None:
        if self.session is not None:
            self.log_out()

    @property
    def saves_files(self) -> bool:
        """Whether saving a file gives it to the person: not over `qmfa serve`, where it
        would be written on the server, as the account that owns the database, at a path
        the person types."""
        return self.served is None

    def downloads_path(self) -> Path:
        """Where downloads go unless the person says otherwise: ~/Downloads (on the
        machine running qmfa: over SSH, the server)."""
        import platformdirs

        return self.downloads_dir or platformdirs.user_downloads_path()

    def save_directory(self) -> Path:
        """The downloads folder, made 0700 if missing (as on a fresh server)."""
        directory = self.downloads_path()
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        return directory

    def screenshot_refusal(self) -> str | None:
        """Why no screenshot may be taken now, or None: over `qmfa serve` it would be a file
        on the server; a screen that shows a secret (``SHOWS_SECRETS``: the key and QR code,
        recovery codes), under a modal or not, is never written to a file, locally either."""
        if not self.saves_files:
            from qmfa_tui.screens.save_file import NO_FILES_OVER_SSH

            return NO_FILES_OVER_SSH
        if any(getattr(screen, "SHOWS_SECRETS", False) for screen in self.screen_stack):
            return NO_SCREENSHOT_OF_SECRETS
        return None

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Textual's palette commands, less Screenshot where it would be refused."""
        refused = self.screenshot_refusal() is not None
        for command in super().get_system_commands(screen):
            if command.title == "Keys":  # Textual's panel, which Esc did not close: our help
                yield command._replace(
                    help="This screen's keys and what it is for (also ? or F1)",
                    callback=self.action_help,
                )
            elif not (refused and command.title == "Screenshot"):
                yield command

    def action_help(self) -> None:
        """The help of the screen on top (its purpose and its keys); again, closes it."""
        from qmfa_tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
        else:
            self.push_screen(HelpScreen.of(self.screen))

    def action_help_quit(self) -> None:
        """Textual's Ctrl+C hint, in plain words: every notice here is literal text, so
        Textual's own ("Press [b]ctrl+q[/b]") showed its brackets."""
        for key, active in self.active_bindings.items():
            if active.binding.action in ("quit", "app.quit"):
                self.notify(f"Press {key} to quit", title="Do you want to quit?")
                return

    def _refuses_files(self) -> bool:
        """Over `qmfa serve`, say so and refuse: a delivered file is written on the server."""
        if self.saves_files:
            return False
        from qmfa_tui.screens.save_file import NO_FILES_OVER_SSH

        self.notify(NO_FILES_OVER_SSH, severity="warning")
        return True

    def deliver_text(
        self,
        path_or_file: str | Path | TextIO,
        *,
        save_directory: str | Path | None = None,
        save_filename: str | None = None,
        open_method: Literal["browser", "download"] = "download",
        encoding: str | None = None,
        mime_type: str | None = None,
        name: str | None = None,
    ) -> str | None:
        if self._refuses_files():  # before Textual opens a path: nothing read either
            return None
        return super().deliver_text(
            path_or_file,
            save_directory=save_directory,
            save_filename=save_filename,
            open_method=open_method,
            encoding=encoding,
            mime_type=mime_type,
            name=name,
        )

    def deliver_binary(
        self,
        path_or_file: str | Path | BinaryIO,
        *,
        save_directory: str | Path | None = None,
        save_filename: str | None = None,
        open_method: Literal["browser", "download"] = "download",
        mime_type: str | None = None,
        name: str | None = None,
    ) -> str | None:
        if self._refuses_files():
            return None
        return super().deliver_binary(
            path_or_file,
            save_directory=save_directory,
            save_filename=save_filename,
            open_method=open_method,
            mime_type=mime_type,
            name=name,
        )

    def save_screenshot(
        self, filename: str | None = None, path: str | None = None, time_format: str | None = None
    ) -> str:
        """Textual's direct save (TEXTUAL_SCREENSHOT), refused as the palette's is: the
        empty name when nothing was written."""
        refusal = self.screenshot_refusal()
        if refusal is not None:
            self.notify(refusal, severity="warning")
            return ""
        return super().save_screenshot(filename, path, time_format)

    def deliver_screenshot(
        self, filename: str | None = None, path: str | None = None, time_format: str | None = None
    ) -> str | None:
        """The palette's Screenshot, saved as the recovery codes are (it may show them):
        a new file, 0600 from its first byte (Textual's own writes with the umask); refused
        over `qmfa serve` and on a screen showing a secret (``screenshot_refusal``)."""
        refusal = self.screenshot_refusal()
        if refusal is not None:
            self.notify(refusal, severity="warning")
            return None
        from datetime import datetime

        stamp = datetime.now().strftime(time_format or "%Y-%m-%dT%H_%M_%S")
        name = filename or f"{self.title}_{stamp}.svg"
        self._save_screenshot(self.export_screenshot(), name, path)
        return None

    @work(thread=True, group="screenshot")
    def _save_screenshot(self, svg: str, name: str, path: str | None) -> None:
        from qmfa_tui.private_files import create_private_file_in

        try:
            directory = Path(path).expanduser() if path else self.save_directory()
            saved = create_private_file_in(directory, name, svg)
        except (OSError, ValueError) as error:
            reason = getattr(error, "strerror", None) or error
            self.notify(f"Could not save the screenshot: {reason}.", severity="error", markup=False)
            return
        self.notify(f"Saved the screenshot to {saved}", markup=False)

    def action_settings(self) -> None:
        from qmfa_tui.screens.settings import SettingsScreen

        if self.session is not None and self.is_admin:
            self.push_screen(SettingsScreen(self.session))
