"""Who is acting: an Actor exists only after both login steps pass (or for the shell).

The services take an Actor for anything that reads or changes user data, and a
PendingLogin for the second step. Both can only be made here: constructing one
by hand raises, so no screen can skip a step by building its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from qmfa_tui.errors import AuthenticationFailed, NotPermitted

PENDING_LOGIN_SECONDS = 600
_ISSUED = object()


class NextStep(StrEnum):
    """What a login needs after the password step."""

    SECURITY_CODE = "security_code"
    REGISTER_DEVICE = "register_device"
    DONE = "done"


@dataclass(frozen=True)
class Actor:
    """A logged-in user (user_id set) or the operator at the shell (user_id None)."""

    user_id: int | None
    username: str
    _issued: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._issued is not _ISSUED:
            raise NotPermitted("Only a completed login or the shell can act.")

    @property
    def is_shell(self) -> bool:
        return self.user_id is None


@dataclass(frozen=True)
class PendingLogin:
    """A login whose password step passed; ``actor`` is set only when nothing else is due.

    ``grace_deadline`` (UTC) is set when registration is due but may still be skipped.
    """

    user_id: int
    username: str
    next_step: NextStep
    issued_at: float
    actor: Actor | None = None
    grace_deadline: datetime | None = None
    _issued: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._issued is not _ISSUED:
            raise NotPermitted("A login can only start with the password step.")

    def require(self, step: NextStep, now: float) -> None:
        """Refuse unless this login is waiting for ``step`` and has not expired."""
        if self.next_step is not step:
            raise NotPermitted("This login is not waiting for that step.")
        if now - self.issued_at > PENDING_LOGIN_SECONDS:
            raise AuthenticationFailed("This login has expired. Enter your password again.")


def shell_actor() -> Actor:
    """The operator with shell access: the last way in, audited as "shell"."""
    return Actor(None, "shell", _ISSUED)


def issue_actor(user_id: int, username: str) -> Actor:
    """For the services only: the login has passed every step."""
    return Actor(user_id, username, _ISSUED)


def issue_pending(
    user_id: int,
    username: str,
    next_step: NextStep,
    now: float,
    grace_deadline: datetime | None = None,
) -> PendingLogin:
    """For the services only: the password step has passed."""
    actor = issue_actor(user_id, username) if next_step is NextStep.DONE else None
    return PendingLogin(user_id, username, next_step, now, actor, grace_deadline, _ISSUED)
