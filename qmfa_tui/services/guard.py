"""Guarding another login (ssh, sudo on a server) with a person's qmfa second factor.

Another program has checked the first factor (an SSH key, a session); these rules say
whether this person needs a code now (``exemption``) and check it (``verify``) through the
very checks the app's login uses (``login.check_security_code``, ``check_recovery_code``):
the replay guard, the drift rules, single-use recovery codes and the code throttle, which
all live in the database and so hold across every host sharing it. Each attempt is one
audit event naming where it came from (``Origin``): ``pam.verified``, ``pam.refused``,
``pam.exempted``, or ``pam.failed`` (``record_failure``) when the check itself broke.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from qmfa_tui.errors import AuthenticationFailed, NotPermitted
from qmfa_tui.kinds import AuthSource
from qmfa_tui.services import audit, clock, identity, login, policy, recovery
from qmfa_tui.services.session import Actor
from qmfa_tui.storage import Account, AuditEvent, Device, db, is_sqlite, translate_errors

VERIFIED, REFUSED, EXEMPTED, FAILED = audit.GUARDED_LOGIN_EVENTS

# Bounds of what an Origin keeps of each value (they come from the environment).
MAX_HOST = 253  # a DNS name
MAX_SERVICE = 32
MAX_REMOTE_HOST = 253
MAX_TTY = 64
MAX_FINGERPRINT = 80  # "SHA256:" and 43 characters of base64
MAX_USERNAME = 150  # accounts.USERNAME_PATTERN

NOT_A_USER = "This account has no two-step verification in qmfa; ask your administrator."
NO_DEVICE = "No device is registered for this account: register one in qmfa."


def clean(text: str, limit: int) -> str:
    """``text`` as one line of at most ``limit`` printable characters with no comma
    (``Origin.describe`` separates its fields by commas); others become '?'."""
    return "".join(c if c.isprintable() and c != "," else "?" for c in text[:limit]).strip()


@dataclass(frozen=True)
class Origin(audit.GuardedLogin):
    """Where a guarded login comes from; each value is cleaned and bounded (``of``)."""

    @classmethod
    def of(
        cls,
        host: str,
        service: str,
        remote_host: str = "",
        tty: str = "",
        key_fingerprint: str = "",
    ) -> Origin:
        return cls(
            clean(host, MAX_HOST) or "unknown host",
            clean(service, MAX_SERVICE) or "unknown service",
            clean(remote_host, MAX_REMOTE_HOST),
            clean(tty, MAX_TTY),
            clean(key_fingerprint, MAX_FINGERPRINT),
        )

    def events(self) -> login.CodeEvents:
        return login.CodeEvents(
            succeeded=VERIFIED, failed=REFUSED, recovered=VERIFIED, origin=self.describe()
        )


def _account(username: str) -> Account:
    """The active qmfa account ``username`` names, by the app's own normalisation."""
    if len(username) > MAX_USERNAME:
        raise AuthenticationFailed(NOT_A_USER)
    account = identity.account_named(identity.as_typed(username))
    if account is None:
        raise AuthenticationFailed(NOT_A_USER)
    if not account.active:
        raise AuthenticationFailed(login.INACTIVE_ACCOUNT)
    return account


@translate_errors
def exemption(username: str, origin: Origin, *, demand_code: bool = False) -> str:
    """The notice to show when policy asks no code of ``username`` now ("" for none to
    show); raises when a code is needed, or when the user cannot pass at all.

    Exempt: 2FA not mandatory and no device; or mandatory, no device, and the user's
    grace period still running (started now if it had not, as at an app login). Never
    exempt: an unknown or inactive user, an LDAP or SSO user without a device, anyone
    with a device, anyone when ``demand_code`` (the host asks everyone).
    """
    now = clock.now()
    account = _account(username)
    if demand_code:
        raise NotPermitted("This host asks every user for a code.")
    if Device.select().where(Device.account == account.id).exists():
        raise NotPermitted("A code is needed.")
    if not policy.covered_by_rules(account):
        raise NotPermitted(
            f"No device, and sign-in through {AuthSource(account.auth_source).label} is not "
            "covered here: register a device in qmfa."
        )
    if not policy.instance().mandatory:
        with db.atomic():
            audit.record(
                account,
                EXEMPTED,
                target=account,
                detail="two-step verification is not mandatory and no device is registered",
                origin=origin.describe(),
            )
        return ""
    with db.atomic():
        deadline = login.start_grace(account, now)
        if deadline is not None:
            audit.record(
                account,
                EXEMPTED,
                target=account,
                detail=f"grace period until {deadline:%Y-%m-%d %H:%M} UTC",
                origin=origin.describe(),
            )
    if deadline is None:
        raise NotPermitted("The grace period is over: register a device in qmfa to continue.")
    return f"Register a device in qmfa before {deadline:%Y-%m-%d %H:%M} UTC."


@dataclass(frozen=True)
class Verified:
    """A code accepted: which kind, and for a recovery code how many are left."""

    recovery_codes_left: int | None = None

    @property
    def notice(self) -> str:
        left = self.recovery_codes_left
        if left is None:
            return ""
        codes = "recovery code" if left == 1 else "recovery codes"
        return f"Recovery code accepted: {left} {codes} left."


@translate_errors
def verify(username: str, raw_code: str, origin: Origin) -> Verified:
    """Check ``raw_code`` (a security code, or a recovery code xxxxx-xxxxx) for
    ``username`` now, as the app's login does; raises with the reason on refusal.

    ``raw_code`` is bounded by the caller. Audited ``pam.verified`` / ``pam.refused``
    with ``origin``, in the transaction that acts on the code.
    """
    now = clock.now()
    account = _account(username)
    device = Device.get_or_none(Device.account == account.id)
    events = origin.events()
    if device is None:
        with db.atomic():
            audit.record(account, REFUSED, target=account, detail="no device", origin=events.origin)
        raise AuthenticationFailed(NO_DEVICE)
    compact = raw_code.replace(" ", "")
    # A recovery code may, rarely, be all digits: its length tells it apart.
    if compact.isdigit() and len(compact) != recovery.CODE_LENGTH:
        login.check_security_code(account, device, raw_code, now, events)
        return Verified()
    return Verified(login.check_recovery_code(account, device, raw_code, now, events))


@translate_errors
def record_refusal(username: str, origin: Origin, reason: str) -> None:
    """Audit an attempt refused before any rule was asked (``pam.refused``): a code that
    is no code, a login without a key. Nothing when ``username`` is nobody here."""
    _record(username, origin, REFUSED, reason)


@translate_errors
def record_failure(username: str, origin: Origin, reason: str) -> None:
    """Audit a check that broke (``pam.failed``), when ``username`` is an account here."""
    _record(username, origin, FAILED, reason)


def _record(username: str, origin: Origin, action: str, reason: str) -> None:
    account = identity.account_named(identity.as_typed(username[:MAX_USERNAME]))
    if account is None:
        return
    with db.atomic():
        audit.record(
            account, action, target=account, detail=clean(reason, 300), origin=origin.describe()
        )


_EPOCH_NOW = "SELECT EXTRACT(EPOCH FROM clock_timestamp())"


@translate_errors
def database_clock() -> Callable[[], float] | None:
    """A clock that reads the database server's time (asked once, then moved on by this
    process's monotonic clock), for PostgreSQL, whose clock every host sharing it sees;
    None for SQLite, whose clock is this host's."""
    if is_sqlite():
        return None
    (epoch,) = db.execute_sql(_EPOCH_NOW).fetchone()
    asked_at = time.monotonic()
    base = float(epoch)
    return lambda: base + (time.monotonic() - asked_at)


@dataclass(frozen=True)
class LastUse:
    """Where a person's second factor was last used to guard a login."""

    at: datetime
    host: str
    service: str


@translate_errors
def last_verified(viewer: Actor, username: str) -> LastUse | None:
    """The last ``pam.verified`` of ``username``: for the user themself, a Users-module
    holder or an admin (My Account, User Edit)."""
    account = policy.find_account(username)
    policy.require_self_or_users_module(viewer, account)
    event = (
        AuditEvent.select(AuditEvent.at, AuditEvent.origin)
        .where(AuditEvent.action == VERIFIED, AuditEvent.target_id == account.id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .first()
    )
    if event is None:
        return None
    where = audit.GuardedLogin.parse(event.origin)
    return LastUse(event.at, where.host, where.service) if where is not None else None
