"""Two-step verification devices: TOTP arithmetic, registration, resync, removal.

TOTP itself is pyotp's (RFC 6238); this module adds what a server needs around
it: a learned clock drift per device, bounded by the drift the last resync set
(its anchor), and a throttle shared with recovery codes. A security code at
login is ``login.with_security_code``'s, which uses the arithmetic here.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qmfa_tui.errors import (
    AuthenticationFailed,
    BadInput,
    CodeAlreadyUsed,
    Conflict,
    NotFound,
    NotPermitted,
)
from qmfa_tui.kinds import AuthSource
from qmfa_tui.services import audit, clock, policy, recovery, throttle
from qmfa_tui.services.session import Actor, issue_actor
from qmfa_tui.storage import (
    Account,
    Device,
    RecoveryCode,
    db,
    sealer,
    translate_errors,
)
from qmfa_tui.storage.models import NO_DEVICE_RANK

if TYPE_CHECKING:
    import pyotp

# The issuer an authenticator app lists a registration under: the instance's name
# (policy.set_instance_name), so two instances never look alike in a phone's list.
DEFAULT_ISSUER = "qmfa"
ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
DEFAULT_ALGORITHM = "sha1"
DEFAULT_DIGITS = 6
DEFAULT_INTERVAL = 30
VERIFY_WINDOW = 1  # steps either side of the learned drift, as django-otp's default
ANCHOR_WINDOW = 1  # steps a login may stray from the drift the last resync set
RESYNC_WINDOW = 2880  # steps either side of now for resync: 24 hours at 30 s


def normalize_security_code(raw: str, digits: int = DEFAULT_DIGITS) -> str:
    """The digits of a typed code. Spaces are ignored; full-width digits fold to ASCII (NFKC)."""
    text = unicodedata.normalize("NFKC", raw).replace(" ", "").strip()
    if len(text) != digits or not text.isascii() or not text.isdigit():
        raise BadInput(f"A security code is {digits} digits.")
    return text


def make_totp(
    secret: str,
    *,
    algorithm: str = DEFAULT_ALGORITHM,
    digits: int = DEFAULT_DIGITS,
    interval: int = DEFAULT_INTERVAL,
) -> pyotp.TOTP:
    import pyotp  # on first use: the PAM helper's exempt step never needs it

    return pyotp.TOTP(secret, digits=digits, digest=ALGORITHMS[algorithm], interval=interval)


def time_step(totp: pyotp.TOTP, now: float) -> int:
    return math.floor(now / totp.interval)


def code_at_step(totp: pyotp.TOTP, step: int) -> str:
    return totp.generate_otp(step)


@dataclass(frozen=True)
class StepMatch:
    step: int
    already_used: bool


def match_step(
    totp: pyotp.TOTP,
    code: str,
    *,
    center: int,
    window: int,
    last_used: int,
    within: range | None = None,
) -> StepMatch | None:
    """The step within ``center`` +- ``window`` (and ``within``) whose code is ``code``,
    nearest first.

    A step at or before ``last_used`` never counts as a match, but is reported
    so that the person can be told the code was already used.
    """
    used_match: StepMatch | None = None
    for distance in range(window + 1):
        for step in {center - distance, center + distance}:
            if within is not None and step not in within:
                continue
            if hmac.compare_digest(code_at_step(totp, step), code):
                if step > last_used:
                    return StepMatch(step, already_used=False)
                used_match = used_match or StepMatch(step, already_used=True)
    return used_match


def device_totp(device: Device) -> pyotp.TOTP:
    secret = sealer().unseal(device.secret_sealed, secret_context(device.account_id))
    return make_totp(
        secret, algorithm=device.algorithm, digits=device.digits, interval=device.interval
    )


def secret_context(account_id: int) -> str:
    return f"totp-secret:{account_id}"


@dataclass(frozen=True)
class PendingRegistration:
    """A secret offered to the user, not stored until a code from it is confirmed."""

    user_id: int
    username: str
    secret: str
    algorithm: str = DEFAULT_ALGORITHM
    digits: int = DEFAULT_DIGITS
    interval: int = DEFAULT_INTERVAL
    issuer: str = DEFAULT_ISSUER

    @property
    def uri(self) -> str:
        return make_totp(
            self.secret, algorithm=self.algorithm, digits=self.digits, interval=self.interval
        ).provisioning_uri(name=self.username, issuer_name=self.issuer)

    @property
    def secret_groups(self) -> str:
        """The secret in groups of 4, for typing into an app by hand."""
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))


@dataclass(frozen=True)
class Enrollment:
    """A confirmed device: the recovery codes to show once, and who is now logged in."""

    recovery_codes: list[str]
    actor: Actor
    instance_name: str


def _registering_account(actor: Actor) -> Account:
    account = policy.acting_account(actor)
    if account is None:
        raise NotPermitted("A device is registered by its owner, from their own login.")
    return account


@translate_errors
def begin_registration(
    actor: Actor, *, algorithm: str = DEFAULT_ALGORITHM, digits: int = DEFAULT_DIGITS
) -> PendingRegistration:
    """A new random 160-bit secret for the actor's authenticator app (nothing is stored).

    During a login (2FA mandatory, no device yet) it is ``login.begin_registration``.
    """
    return offer_secret(_registering_account(actor), algorithm=algorithm, digits=digits)


def offer_secret(
    account: Account, *, algorithm: str = DEFAULT_ALGORITHM, digits: int = DEFAULT_DIGITS
) -> PendingRegistration:
    """A new secret for ``account``, who registers their own device (nothing is stored)."""
    if not policy.covered_by_rules(account):
        raise NotPermitted(
            f"{account.username}'s two-step verification is managed by "
            f"{AuthSource(account.auth_source).label}."
        )
    if Device.select().where(Device.account == account.id).exists():
        raise Conflict("Two-step verification is already on; remove the device to register anew.")
    if algorithm not in ALGORITHMS or digits not in (6, 8):
        raise BadInput("Devices use SHA1, SHA256 or SHA512 with 6 or 8 digits.")
    import pyotp

    return PendingRegistration(
        account.id,
        account.username,
        pyotp.random_base32(),
        algorithm,
        digits,
        issuer=policy.instance().instance_name,
    )


@translate_errors
def confirm_registration(actor: Actor, pending: PendingRegistration, code: str) -> Enrollment:
    """Activate the device with a current code and create its 8 recovery codes, atomically.

    During a login it is ``login.confirm_registration``.
    """
    return enroll(_registering_account(actor), pending, code, clock.now())


def enroll(account: Account, pending: PendingRegistration, code: str, now: float) -> Enrollment:
    """The device of ``pending`` stored for ``account`` once ``code`` confirms it."""
    if pending.user_id != account.id:
        raise NotPermitted("That registration belongs to another user.")
    code = normalize_security_code(code, pending.digits)
    throttle.admit(account, throttle.CODE, now)
    totp = make_totp(
        pending.secret,
        algorithm=pending.algorithm,
        digits=pending.digits,
        interval=pending.interval,
    )
    found = match_step(totp, code, center=time_step(totp, now), window=VERIFY_WINDOW, last_used=-1)
    if found is None:
        _audit_code_failure(account, "wrong confirmation code", "device.code_failed")
        raise AuthenticationFailed("That code does not match. Check the app and try again.")
    codes = recovery.generate_codes()
    drift = found.step - time_step(totp, now)
    with db.atomic():
        device = Device.create(
            account=account.id,
            secret_sealed=sealer().seal(pending.secret, secret_context(account.id)),
            algorithm=pending.algorithm,
            digits=pending.digits,
            interval=pending.interval,
            drift=drift,
            drift_anchor=drift,
            last_step=found.step,
            registered_at=clock.utc(now),
        )
        recovery.store_codes(device, account.id, codes)
        Account.update(two_factor=True, codes_left_rank=len(codes)).where(
            Account.id == account.id
        ).execute()
        throttle.reset(account, throttle.CODE)
        audit.record(
            account, "device.registered", target=account, detail=f"{len(codes)} recovery codes"
        )
    return Enrollment(
        codes, issue_actor(account.id, account.username), policy.instance().instance_name
    )


def _audit_code_failure(account: Account, detail: str, action: str = "login.failed") -> None:
    """A code attempt that failed (the throttle counted it when it let it through)."""
    with db.atomic():
        audit.record(account, action, target=account, detail=detail)


@dataclass(frozen=True)
class ResyncResult:
    drift_steps: int
    drift_seconds: int

    @property
    def description(self) -> str:
        return describe_drift(self.drift_seconds)


def describe_drift(seconds: int) -> str:
    if seconds == 0:
        return "your app's clock agrees with the server"
    minutes, rest = divmod(abs(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes else []
    parts += [f"{rest} s"] if rest else []
    return f"your app's clock is {' '.join(parts)} {'ahead' if seconds > 0 else 'behind'}"


@translate_errors
def resync(actor: Actor, first_code: str, second_code: str) -> ResyncResult:
    """Learn the app's clock drift from two consecutive codes found within +-24 hours.

    The owner only, on their own device: stricter than the privilege order
    (policy.refusal_for), since the codes come from the owner's phone.
    """
    now = clock.now()
    account = policy.acting_account(actor)
    if account is None:
        raise NotPermitted("Resync needs codes from the owner's phone: the owner does it.")
    device = Device.get_or_none(Device.account == account.id)
    if device is None:
        raise NotFound("You have no device to resync.")
    first = normalize_security_code(first_code, device.digits)
    second = normalize_security_code(second_code, device.digits)
    throttle.admit(account, throttle.CODE, now)
    totp = device_totp(device)
    now_step = time_step(totp, now)
    found = _find_consecutive(totp, first, second, now_step, device.last_step)
    if found is None or found.already_used:
        _audit_code_failure(account, "resync codes not found", "device.code_failed")
        if found is not None:
            behind = describe_drift((found.step + 1 - now_step) * device.interval)
            raise CodeAlreadyUsed(
                f"Those codes come before the last code this device used ({behind}). "
                "Set the phone's clock to automatic time, then try again."
            )
        raise AuthenticationFailed(
            "Those two codes were not found as consecutive codes within 24 hours of now. "
            "Enter two codes in a row, waiting for the app to change between them."
        )
    step = found.step
    drift = step + 1 - now_step
    with db.atomic():
        # The throttle row before the device row, the order a login locks them in (no
        # deadlock on PostgreSQL). The codes were right: if a login took their steps
        # meanwhile, that success reset the count anyway.
        throttle.reset(account, throttle.CODE)
        accepted = (
            Device.update(drift=drift, drift_anchor=drift, last_step=step + 1)
            .where(Device.id == device.id, Device.last_step < step)
            .execute()
        )
        if accepted:
            audit.record(
                actor,
                "device.resynced",
                target=account,
                detail=f"drift {drift * device.interval:+d} s",
            )
        else:
            audit.record(
                account, "device.code_failed", target=account, detail="resync codes just used"
            )
    if not accepted:
        raise CodeAlreadyUsed("Those codes were just used. Try again with the next two codes.")
    return ResyncResult(drift, drift * device.interval)


def _find_consecutive(
    totp: pyotp.TOTP, first: str, second: str, now_step: int, last_used: int
) -> StepMatch | None:
    """The step showing ``first`` then ``second`` nearest to now; fresh steps win over used."""
    used_match: StepMatch | None = None
    for distance in range(RESYNC_WINDOW + 1):
        for step in {now_step - distance, now_step + distance}:
            if hmac.compare_digest(code_at_step(totp, step), first) and hmac.compare_digest(
                code_at_step(totp, step + 1), second
            ):
                if step > last_used:
                    return StepMatch(step, already_used=False)
                used_match = used_match or StepMatch(step, already_used=True)
    return used_match


@dataclass(frozen=True)
class Removal:
    username: str
    registration_required_next_login: bool


@translate_errors
def remove_device(actor: Actor, username: str) -> Removal:
    """Delete the user's device and its recovery codes: the owner, or a Users-module holder
    of at least the owner's standing (policy.refusal_for). The owner must have given their
    password lately (policy.require_recent_password): their session alone is not enough."""
    target = policy.find_account(username)
    acting = policy.require_standing(actor, target)
    if acting is not None and acting.id == target.id:
        policy.require_recent_password(actor)
    with db.atomic():
        device_ids = Device.select(Device.id).where(Device.account == target.id)
        RecoveryCode.delete().where(RecoveryCode.device.in_(device_ids)).execute()
        removed = Device.delete().where(Device.account == target.id).execute()
        if removed:
            Account.update(two_factor=False, codes_left_rank=NO_DEVICE_RANK).where(
                Account.id == target.id
            ).execute()
            audit.record(actor, "device.removed", target=target)
    if not removed:
        raise NotFound(f"{target.username} has no two-step verification device.")
    return Removal(target.username, policy.registration_required(target))


@translate_errors
def demo_security_code(username: str) -> tuple[str, int]:
    """On a demo database only: the code the user's app shows now, and seconds it stays."""
    if not policy.instance().demo:
        raise NotPermitted("Security codes are printed only for demo databases.")
    account = policy.find_account(username)
    device = Device.get_or_none(Device.account == account.id)
    if device is None:
        raise NotFound(f"{account.username} has no two-step verification device.")
    totp = device_totp(device)
    now = clock.now()
    step = time_step(totp, now)
    return code_at_step(totp, step), int(totp.interval - now % totp.interval)
