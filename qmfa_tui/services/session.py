"""Who is acting: an Actor exists only after both login steps pass (or for the shell).

The services take an Actor for anything that reads or changes user data, and a
PendingLogin for the second step. Both can only be made here: constructing one
by hand raises, so no screen can skip a step by building its own.

A user whose password was set by someone else (a reset) passes the second factor
and gets an Actor that must choose a new password first (``password_change``): it
names nobody to the services (its ``user_id`` raises), so it can do nothing else
until ``login.choose_new_password`` gives the full Actor.
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
    CHANGE_PASSWORD = "change_password"  # after the second factor: the password was reset
    DONE = "done"


CHOOSE_A_PASSWORD_FIRST = "Choose a new password first."
# "Sudo mode": after the password is given (at login, or again), sensitive things one does
# to oneself (removing one's device, revealing one's recovery codes) go ahead without
# asking for it for this long. Kept on the Actor, in memory, never in the database.
CONFIRMED_SECONDS = 5 * 60


class _Confirmation:
    """When the actor last gave their password, at login or again (clock seconds; 0: never)."""

    __slots__ = ("at",)

    def __init__(self) -> None:
        self.at = 0.0


@dataclass(frozen=True)
class Actor:
    """A logged-in user (user_id set) or the operator at the shell (user_id None).

    With ``password_change`` set, the login still waits for a new password: every
    service refuses the actor (reading ``user_id`` or ``is_shell`` raises NotPermitted).
    """

    _user_id: int | None
    username: str
    _issued: object = field(default=None, repr=False, compare=False)
    password_change: PendingLogin | None = field(default=None, repr=False)
    _confirmation: _Confirmation = field(
        default_factory=_Confirmation, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self._issued is not _ISSUED:
            raise NotPermitted("Only a completed login or the shell can act.")

    def confirmed_recently(self, now: float) -> bool:
        """The password was given within ``CONFIRMED_SECONDS`` (the shell needs none)."""
        if self._user_id is None:
            return True
        return 0 < self._confirmation.at <= now < self._confirmation.at + CONFIRMED_SECONDS

    @property
    def user_id(self) -> int | None:
        if self.password_change is not None:
            raise NotPermitted(CHOOSE_A_PASSWORD_FIRST)
        return self._user_id

    @property
    def is_shell(self) -> bool:
        return self.user_id is None

    @property
    def password_change_due(self) -> bool:
        return self.password_change is not None


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


def issue_actor(user_id: int, username: str, *, password_at: float = 0.0) -> Actor:
    """For the services only: the login has passed every step, its password given at
    ``password_at`` (clock seconds: the start of its ``confirmed_recently`` window)."""
    actor = Actor(user_id, username, _ISSUED)
    actor._confirmation.at = password_at
    return actor


def mark_confirmed(actor: Actor, now: float) -> None:
    """For the services only: ``actor`` has just given their password again."""
    actor._confirmation.at = now


def issue_password_change(user_id: int, username: str, now: float) -> Actor:
    """For the login service only: every factor passed, a new password is due first."""
    pending = PendingLogin(user_id, username, NextStep.CHANGE_PASSWORD, now, None, None, _ISSUED)
    return Actor(user_id, username, _ISSUED, pending)


def issue_pending(
    user_id: int,
    username: str,
    next_step: NextStep,
    now: float,
    grace_deadline: datetime | None = None,
) -> PendingLogin:
    """For the services only: the password step has passed."""
    actor = issue_actor(user_id, username, password_at=now) if next_step is NextStep.DONE else None
    return PendingLogin(user_id, username, next_step, now, actor, grace_deadline, _ISSUED)
