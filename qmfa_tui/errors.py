"""The one family of errors a person can cause; each message is fit to show as it is.

It lives at the bottom of the package so that storage, services, screens and
the command line can all raise and catch it without importing upwards.
"""

from __future__ import annotations

import math


class QmfaError(Exception):
    """An error whose ``message`` can be shown to a person unchanged."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(QmfaError):
    """Input that is malformed before any rule is applied."""


class NotFound(QmfaError):
    """A user, device or record that does not exist."""


class NotPermitted(QmfaError):
    """The acting user may not do this."""


class ConfirmPassword(NotPermitted):
    """Something sensitive done to oneself, and the password was not given lately ("sudo
    mode"): give it again (``accounts.confirm_password``), then retry."""

    def __init__(self) -> None:
        super().__init__("Enter your password again to do this.")


class AuthenticationFailed(QmfaError):
    """Wrong username, password, security code or recovery code."""


class CodeAlreadyUsed(AuthenticationFailed):
    """A security code whose time step was already accepted once (replay)."""


class NoRecoveryCodesLeft(AuthenticationFailed):
    """A recovery code refused for a user who has none left (said after the password step)."""


class Throttled(QmfaError):
    """Too many failures in a row: the next try must wait.

    The wait is told rounded up (to 10 seconds under a minute, to whole minutes above),
    never to the second: the exact second would tell a guesser when to try again.
    ``retry_after`` is that rounded wait, so a countdown ends at or after the real one.
    """

    def __init__(self, wait_seconds: int) -> None:
        self.retry_after = rounded_wait(wait_seconds)
        super().__init__(wait_message(self.retry_after))


class LockedOut(Throttled):
    """Too many failures from places this account never logged in from: no wait ends it.

    It lasts until the owner logs in from a place they logged in from lately, an admin
    unlocks the account, or no attempt comes for a long while (services.throttle).
    """

    def __init__(self) -> None:
        QmfaError.__init__(
            self,
            "Too many failed attempts. Log in from where you last did, or ask an admin "
            "to unlock the account.",
        )
        self.retry_after = 0


def rounded_wait(seconds: float) -> int:
    """``seconds`` rounded up: to 10 s up to a minute, to whole minutes above."""
    if seconds <= 60:
        return max(10, math.ceil(seconds / 10) * 10)
    return math.ceil(seconds / 60) * 60


def wait_message(seconds: int) -> str:
    """The refusal's words for a wait of ``seconds``, told no finer than ``rounded_wait``:
    "Too many failed attempts. Try again in about N minutes." """
    wait = rounded_wait(seconds)
    if wait < 60:
        when = f"in about {wait} seconds"
    elif wait == 60:
        when = "in a minute"
    else:
        when = f"in about {wait // 60} minutes"
    return f"Too many failed attempts. Try again {when}."


class Conflict(QmfaError):
    """The state changed under the action (another operator or login won the race)."""


class StorageError(QmfaError):
    """The database or the key file cannot be used as it is."""


class DatabaseBusy(StorageError):
    """The database stayed locked beyond the busy timeout; the action can be retried."""
