"""A TUI process that `qmfa serve` started for one SSH session: its limits and prefill.

The server passes them in the environment of the process it spawns (nothing here is a
secret, and an environment is the owner's to read); a `qmfa` started any other way has
none of them set and no limits. The app enforces the limits (it knows when somebody is
logged in); the server kills a session that overruns them by far, as a backstop.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field

LOGIN_TIMEOUT_ENV = "QMFA_SERVE_LOGIN_TIMEOUT"
IDLE_TIMEOUT_ENV = "QMFA_SERVE_IDLE_TIMEOUT"
USERNAME_ENV = "QMFA_SERVE_USERNAME"
# A pipe to the server: the app says there when somebody logs in and out, so that the
# server's backstop knows which of its limits applies.
STATUS_FD_ENV = "QMFA_SERVE_STATUS_FD"
LOGGED_IN = b"logged-in\n"
LOGGED_OUT = b"logged-out\n"
# What the login screen may show as a pre-filled username: a name a person could type.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9._@+-]{1,64}")


@dataclass
class ServedLimits:
    """The login and idle timeouts of a served session (seconds; 0 means none)."""

    login_timeout: float
    idle_timeout: float
    username: str = ""
    status_fd: int | None = None
    _login_started: float = field(default=0.0, repr=False)
    _last_input: float = field(default=0.0, repr=False)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ServedLimits | None:
        env = os.environ if environ is None else environ
        if LOGIN_TIMEOUT_ENV not in env and IDLE_TIMEOUT_ENV not in env:
            return None
        username = env.get(USERNAME_ENV, "")
        status_fd = env.get(STATUS_FD_ENV, "")
        return cls(
            login_timeout=_seconds(env.get(LOGIN_TIMEOUT_ENV, "")),
            idle_timeout=_seconds(env.get(IDLE_TIMEOUT_ENV, "")),
            # Any plain name, known or not: pre-filling only the names of real users
            # would tell whoever connects which usernames exist.
            username=username if _PLAIN_NAME.fullmatch(username) else "",
            status_fd=_pipe(status_fd),
        )

    def start(self, now: float) -> None:
        """At the login screen from ``now`` (the session began, or somebody logged out)."""
        self._login_started = self._last_input = now

    def report(self, logged_in: bool) -> None:
        """Tell the server (if it listens) that somebody logged in, or out."""
        if self.status_fd is not None:
            try:
                os.write(self.status_fd, LOGGED_IN if logged_in else LOGGED_OUT)
            except OSError:
                self.status_fd = None  # the server is gone or never listened

    def note_input(self, now: float) -> None:
        self._last_input = now

    def expired(self, now: float, logged_in: bool) -> str | None:
        """Why the session ends now, or None while it may go on."""
        if logged_in:
            if self.idle_timeout and now - self._last_input >= self.idle_timeout:
                return (
                    f"qmfa: logged out after {_duration(self.idle_timeout)} without input; "
                    "the session is closed."
                )
        elif self.login_timeout and now - self._login_started >= self.login_timeout:
            return (
                f"qmfa: nobody logged in within {_duration(self.login_timeout)}; "
                "the session is closed. Connect again to log in."
            )
        return None


def _pipe(text: str) -> int | None:
    """The fd numbered ``text`` if it is a pipe (never write into whatever else it is)."""
    if not text.isdigit():
        return None
    try:
        return int(text) if stat.S_ISFIFO(os.fstat(int(text)).st_mode) else None
    except OSError:
        return None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        return 0.0
    return value if value > 0 and value == value else 0.0  # NaN, negatives: no limit


def _duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} min"
    return f"{seconds:g} s"
