"""The one family of errors a person can cause; each message is fit to show as it is.

It lives at the bottom of the package so that storage, services, screens and
the command line can all raise and catch it without importing upwards.
"""

from __future__ import annotations


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


class AuthenticationFailed(QmfaError):
    """Wrong username, password, security code or recovery code."""


class CodeAlreadyUsed(AuthenticationFailed):
    """A security code whose time step was already accepted once (replay)."""


class NoRecoveryCodesLeft(AuthenticationFailed):
    """A recovery code refused for a user who has none left (said after the password step)."""


class Throttled(QmfaError):
    """Too many failures in a row: the next try must wait."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        unit = "second" if retry_after == 1 else "seconds"
        super().__init__(f"Too many failed attempts. Try again in {retry_after} {unit}.")


class Conflict(QmfaError):
    """The state changed under the action (another operator or login won the race)."""


class StorageError(QmfaError):
    """The database or the key file cannot be used as it is."""


class DatabaseBusy(StorageError):
    """The database stayed locked beyond the busy timeout; the action can be retried."""
