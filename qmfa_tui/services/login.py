"""Logging in, every step: the password, then a security code, a recovery code, or
(when 2FA is mandatory and the user has no device) registering one or, during the
grace period, skipping that; last, after a password reset, choosing a new password.

The password step issues a ``PendingLogin`` naming the step due next; each later
step takes it back, checks it is waiting for that step (``pending_account``,
``code_step``) and issues the ``Actor`` once every step has passed. A user whose
password was reset gets, once every factor passed, an Actor that can do nothing
but ``choose_new_password`` (``session.issue_password_change``): the new password
comes after the second factor, so a temporary password alone gives nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from peewee import JOIN, Field

from qmfa_tui.errors import (
    AuthenticationFailed,
    BadInput,
    CodeAlreadyUsed,
    Conflict,
    NoRecoveryCodesLeft,
    NotPermitted,
    Throttled,
)
from qmfa_tui.kinds import AuthSource
from qmfa_tui.services import (
    accounts,
    audit,
    clock,
    identity,
    policy,
    recovery,
    throttle,
    twofactor,
)
from qmfa_tui.services.session import (
    Actor,
    NextStep,
    PendingLogin,
    issue_actor,
    issue_password_change,
    issue_pending,
)
from qmfa_tui.services.twofactor import Enrollment, PendingRegistration
from qmfa_tui.services.user_filter import FEW_LEFT
from qmfa_tui.storage import Account, Device, Prepared, db, translate_errors

INACTIVE_ACCOUNT = "This account is inactive. Ask an admin to activate it."
_LOGIN_REFUSED = "Wrong username or password."


@translate_errors
def with_password(username: str, password: str) -> PendingLogin:
    """The first login step. The result says what comes next; only DONE carries an actor."""
    now = clock.now()
    username = identity.as_typed(username)
    source = throttle.this_source()
    account = None
    if accounts.USERNAME_PATTERN.fullmatch(username):
        account = identity.account_named(username)
    if account is None:
        # Throttled like an account, so the answer never tells which names exist.
        throttle.admit_unknown_name(identity.username_key(username), source, now)
        accounts.burn_a_verify(password)
        raise AuthenticationFailed(_LOGIN_REFUSED)
    # Counted before the verdict: guesses from many processes at once cannot outrun it.
    throttle.admit_password(account, source, now)
    if not accounts.password_matches(account, password):
        # An LDAP or SSO user has no password here: refused, audited and counted like a
        # wrong password, so that nothing tells such an account from a local one.
        detail = (
            "wrong password"
            if account.password_hash is not None
            else f"no password here: signs in through {AuthSource(account.auth_source).label}"
        )
        with db.atomic():
            audit.record(account, "login.failed", target=account, detail=detail)
        raise AuthenticationFailed(_LOGIN_REFUSED)
    if not account.active:
        with db.atomic():
            audit.record(account, "login.failed", target=account, detail="account inactive")
        raise AuthenticationFailed(INACTIVE_ACCOUNT)
    has_device = Device.select().where(Device.account == account.id).exists()
    grace_deadline = None
    if has_device:
        next_step = NextStep.SECURITY_CODE
    elif policy.registration_required(account):
        next_step = NextStep.REGISTER_DEVICE
    else:
        next_step = NextStep.DONE
    # argon2 parameters raised since this hash was made: move it while the password is here,
    # hashing before the transaction so no write lock is held for it.
    new_hash = accounts.rehash_if_outdated(account, password)
    with db.atomic():
        burst = throttle.password_succeeded(account, source, now)
        if new_hash is not None:
            _replace_hash(account, new_hash)
        if next_step is NextStep.DONE:
            audit.record(account, "login.succeeded", target=account, detail="password only")
        elif next_step is NextStep.REGISTER_DEVICE:
            grace_deadline = start_grace(account, now)
    if burst:
        throttle.end_password_burst(account)
    pending = issue_pending(account.id, account.username, next_step, now, grace_deadline)
    if next_step is NextStep.DONE and account.must_change_password:
        return replace(pending, actor=_logged_in(account.id, account.username, True, pending))
    return pending


def _logged_in(
    account_id: int, username: str, must_change_password: bool, pending: PendingLogin
) -> Actor:
    """The Actor of a login whose factors all passed (its password given when ``pending``
    was issued): one that must choose a new password first when the password was set by
    someone else."""
    if must_change_password:
        return issue_password_change(account_id, username, clock.now())
    return issue_actor(account_id, username, password_at=pending.issued_at)


def _replace_hash(account: Account, new_hash: str) -> None:
    """Conditional on the hash it replaces: a password changed meanwhile is not overwritten."""
    if (
        Account.update(password_hash=new_hash)
        .where(Account.id == account.id, Account.password_hash == account.password_hash)
        .execute()
    ):
        audit.record(
            account, "password.rehashed", target=account, detail="argon2 parameters updated"
        )


def start_grace(account: Account, now: float) -> datetime | None:
    """A user who needs a device gets their grace period from their first such login."""
    if account.grace_started_at is None:
        started = clock.utc(now)
        if (
            Account.update(grace_started_at=started)
            .where(Account.id == account.id, Account.grace_started_at.is_null())
            .execute()
        ):
            audit.record(account, "grace.started", target=account)
        account = Account.get_by_id(account.id)
    deadline = policy.grace_deadline(account)
    return deadline if deadline is not None and deadline > clock.utc(now) else None


def pending_account(pending: PendingLogin, step: NextStep, now: float) -> Account:
    """The account of a login waiting for ``step``, still allowed to finish it."""
    pending.require(step, now)
    account = Account.get_or_none(Account.id == pending.user_id)
    if account is None or not account.active:
        raise AuthenticationFailed(INACTIVE_ACCOUNT)
    return account


# The columns of a device the code step reads: stored as Python uses them (no dates).
_DEVICE_COLUMNS: list[Field[Any]] = [
    Device.id,
    Device.secret_sealed,
    Device.algorithm,
    Device.digits,
    Device.interval,
    Device.drift,
    Device.last_step,
    Device.drift_anchor,
]
_DEVICE_NAMES = [field.name for field in _DEVICE_COLUMNS]
_CODE_STEP = Prepared(
    lambda account_id: (
        Account.select(
            Account.id,
            Account.username,
            Account.active,
            Account.must_change_password,
            *_DEVICE_COLUMNS,
        )
        .join(Device, JOIN.LEFT_OUTER, on=(Device.account == Account.id))
        .where(Account.id == account_id)
    ),
    int,
)


@dataclass(frozen=True)
class CodeStep:
    """What a login's code step needs: its account (id and username) and device."""

    account: Account
    device: Device | None


def code_step(pending: PendingLogin, now: float) -> CodeStep:
    """The account and device of a login at its code step, in one query.

    Every login runs this: one prepared, joined SELECT instead of two peewee queries
    spares most of the Python a check took (docs/performance.md). Raises as
    ``pending_account`` would. The code throttle is the caller's: ``throttle.claim``
    inside the transaction that acts on the code.
    """
    pending.require(NextStep.SECURITY_CODE, now)
    row = _CODE_STEP.execute(pending.user_id).fetchone()
    if row is None or not row[2]:
        raise AuthenticationFailed(INACTIVE_ACCOUNT)
    account_id, username, _active, must_change_password, *device_values = row
    device = None
    if device_values[0] is not None:
        device = Device(account=account_id, **dict(zip(_DEVICE_NAMES, device_values, strict=True)))
    account = Account(
        id=account_id, username=username, must_change_password=bool(must_change_password)
    )
    return CodeStep(account, device)


# The replay guard: a step is accepted once, by whichever login updates the row first;
# and only against the anchor it was chosen for (a resync meanwhile wins).
_MARK_STEP_USED = Prepared(
    lambda device_id, step, drift, anchor: Device.update(last_step=step, drift=drift).where(
        Device.id == device_id, Device.last_step < step, Device.drift_anchor == anchor
    ),
    int,
    int,
    int,
    int,
)


def login_steps(now_step: int, drift: int, anchor: int) -> range:
    """The time steps a login may accept: within one step of the learned drift, and
    within one step of the anchor, so a login moves the drift by one step at most and
    the drift never strays more than one step from what the last resync set."""
    return range(
        now_step + max(drift - twofactor.VERIFY_WINDOW, anchor - twofactor.ANCHOR_WINDOW),
        now_step + min(drift + twofactor.VERIFY_WINDOW, anchor + twofactor.ANCHOR_WINDOW) + 1,
    )


@dataclass(frozen=True)
class CodeEvents:
    """How a code check is audited: the actions of its outcomes, and where it came from
    (None: worked out from the environment, as ``audit.record`` does)."""

    succeeded: str = "login.succeeded"
    failed: str = "login.failed"
    recovered: str = "login.recovery_code"
    origin: str | None = None


APP_LOGIN = CodeEvents()


def check_security_code(
    account: Account, device: Device, raw_code: str, now: float, events: CodeEvents = APP_LOGIN
) -> None:
    """Accept ``raw_code`` as ``device``'s security code at ``now``, once, or raise.

    A step near the device's drift (``login_steps``) is accepted once: recorded with a
    conditional UPDATE (``last_step < step``), so two checks at the same instant, in any
    processes, cannot both pass. The attempt is counted by the code throttle, in the
    transaction that acts on the verdict, before anyone learns it.
    """
    code = twofactor.normalize_security_code(raw_code, device.digits)
    totp = twofactor.device_totp(device)
    now_step = twofactor.time_step(totp, now)
    found = twofactor.match_step(
        totp,
        code,
        center=now_step + device.drift,
        window=twofactor.VERIFY_WINDOW,
        last_used=device.last_step,
        within=login_steps(now_step, device.drift, device.drift_anchor),
    )
    accepted = 0
    with db.atomic():
        wait = throttle.claim(account, throttle.CODE, now)
        if wait is None:
            if found is not None and not found.already_used:
                accepted = _MARK_STEP_USED.rows_affected(
                    device.id, found.step, found.step - now_step, device.drift_anchor
                )
            if accepted:
                throttle.reset(account, throttle.CODE)
                audit.record(
                    account,
                    events.succeeded,
                    target=account,
                    detail="security code",
                    origin=events.origin,
                )
            else:
                audit.record(
                    account,
                    events.failed,
                    target=account,
                    detail="wrong security code" if found is None else "replayed security code",
                    origin=events.origin,
                )
    if wait is not None:
        raise Throttled(wait)
    if not accepted:
        if found is not None:
            raise CodeAlreadyUsed("That code was already used. Wait for the next one.")
        raise AuthenticationFailed("That security code is not valid.")


@translate_errors
def with_security_code(pending: PendingLogin, raw_code: str) -> Actor:
    """The second login step: a security code near the device's drift (``check_security_code``)."""
    now = clock.now()
    step = code_step(pending, now)
    account, device = step.account, step.device
    if device is None:
        raise Conflict("Two-step verification was removed from this account; log in again.")
    check_security_code(account, device, raw_code, now)
    return _logged_in(account.id, account.username, account.must_change_password, pending)


@dataclass(frozen=True)
class RecoveryLogin:
    actor: Actor
    remaining: int

    @property
    def few_left(self) -> bool:
        return self.remaining <= FEW_LEFT


def check_recovery_code(
    account: Account,
    device: Device | None,
    raw_code: str,
    now: float,
    events: CodeEvents = APP_LOGIN,
) -> int:
    """Use ``raw_code`` as one of ``device``'s recovery codes, or raise; returns how many
    are left.

    The code is consumed by a conditional DELETE whose row count must be 1, so two uses
    at once give one success. The attempt is counted by the code throttle in the
    transaction that uses the code, before the outcome is known to anyone.
    """
    digest = recovery.digest_of(recovery.normalize(raw_code), account.id)
    used = 0
    remaining: int | None = None
    with db.atomic():
        wait = throttle.claim(account, throttle.CODE, now)
        if wait is None:
            used = 0 if device is None else recovery.use_code(device.id, digest)
            if device is not None and used == 1:
                remaining = recovery.codes_left(device.id)
                throttle.reset(account, throttle.CODE)
                audit.record(
                    account,
                    events.recovered,
                    target=account,
                    detail=f"recovery codes left: {remaining}",
                    origin=events.origin,
                )
            else:
                # Past the password step: the count is this person's own to know.
                remaining = None if device is None else recovery.codes_left(device.id)
                audit.record(
                    account,
                    events.failed,
                    target=account,
                    detail="wrong recovery code" + (" (none left)" if remaining == 0 else ""),
                    origin=events.origin,
                )
    if wait is not None:
        raise Throttled(wait)
    if used == 1 and remaining is not None:
        return remaining
    if remaining == 0:
        raise NoRecoveryCodesLeft(recovery.NO_CODES_LEFT)
    raise AuthenticationFailed("That recovery code is not valid or was already used.")


@translate_errors
def with_recovery_code(pending: PendingLogin, raw_code: str) -> RecoveryLogin:
    """The second login step with a recovery code instead of a security code
    (``check_recovery_code``)."""
    now = clock.now()
    step = code_step(pending, now)
    account, device = step.account, step.device
    remaining = check_recovery_code(account, device, raw_code, now)
    actor = _logged_in(account.id, account.username, account.must_change_password, pending)
    return RecoveryLogin(actor, remaining)


@translate_errors
def begin_registration(
    pending: PendingLogin,
    *,
    algorithm: str = twofactor.DEFAULT_ALGORITHM,
    digits: int = twofactor.DEFAULT_DIGITS,
) -> PendingRegistration:
    """Registration as a login step (2FA mandatory, no device yet): a secret to confirm."""
    account = pending_account(pending, NextStep.REGISTER_DEVICE, clock.now())
    return twofactor.offer_secret(account, algorithm=algorithm, digits=digits)


@translate_errors
def confirm_registration(
    pending: PendingLogin, registration: PendingRegistration, code: str
) -> Enrollment:
    """The device confirmed during a login: its recovery codes, and the login done."""
    now = clock.now()
    account = pending_account(pending, NextStep.REGISTER_DEVICE, now)
    enrollment = twofactor.enroll(account, registration, code, now)
    actor = _logged_in(account.id, account.username, account.must_change_password, pending)
    return replace(enrollment, actor=actor)


@translate_errors
def skip_registration(pending: PendingLogin) -> Actor:
    """Log in without a device while the user's grace period lasts (audited)."""
    now = clock.now()
    account = pending_account(pending, NextStep.REGISTER_DEVICE, now)
    deadline = policy.grace_deadline(account)
    if deadline is None or clock.utc(now) >= deadline:
        raise NotPermitted("The grace period is over: register a device to continue.")
    with db.atomic():
        audit.record(
            account,
            "login.succeeded",
            target=account,
            detail=f"registration deferred until {deadline:%Y-%m-%d %H:%M} UTC",
        )
    return _logged_in(account.id, account.username, account.must_change_password, pending)


@translate_errors
def choose_new_password(actor: Actor, new_password: str) -> Actor:
    """The last login step after a reset: the user's own password replaces the one set for
    them (it must differ from it). Returns the Actor of the finished login."""
    pending = actor.password_change
    if pending is None:
        raise NotPermitted("This login is not waiting for a new password.")
    now = clock.now()
    account = pending_account(pending, NextStep.CHANGE_PASSWORD, now)
    new_password = accounts.validate_password(new_password)
    if accounts.password_matches(account, new_password):
        raise BadInput("Choose a password of your own, not the one you were given.")
    new_hash = accounts.hash_password(new_password)
    with db.atomic():
        # Conditional on the row as just read: a reset or change meanwhile wins.
        if (
            not Account.update(password_hash=new_hash, must_change_password=False)
            .where(
                Account.id == account.id,
                Account.password_hash == account.password_hash,
                Account.must_change_password,
            )
            .execute()
        ):
            raise Conflict("Your password was changed meanwhile; log in again.")
        audit.record(
            account,
            "user.password_changed",
            target=account,
            detail="chosen at login after a reset",
        )
    return issue_actor(account.id, account.username, password_at=now)
