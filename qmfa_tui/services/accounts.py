"""Accounts: creating users, their roles and status, and passwords (argon2id)."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from peewee import IntegrityError

from qmfa_tui.errors import AuthenticationFailed, BadInput, Conflict, NotPermitted
from qmfa_tui.kinds import AuthSource, Deployment, Role, one_of
from qmfa_tui.services import audit, clock, identity, policy
from qmfa_tui.services.session import CONFIRMED_SECONDS, Actor, mark_confirmed, shell_actor
from qmfa_tui.services.user_filter import FEW_LEFT
from qmfa_tui.storage import Account, Device, InstanceSettings, RecoveryCode, db, translate_errors
from qmfa_tui.text import forbidden_character

if TYPE_CHECKING:
    from argon2 import PasswordHasher

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,149}")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
MAX_NAME_LENGTH = 200  # the columns' sizes
MAX_EMAIL_LENGTH = 254

# argon2 (and cffi) load when a password is first hashed or checked: the PAM helper never does.
_hasher: PasswordHasher | None = None
_dummy_hash: str | None = None


def set_password_hasher(hasher: PasswordHasher) -> None:
    """Replace the hasher (tests use cheap parameters; hashes made either way still verify)."""
    global _hasher, _dummy_hash
    _hasher, _dummy_hash = hasher, None


def _password_hasher() -> PasswordHasher:
    """The hasher: argon2id with the RFC 9106 low-memory parameters unless replaced."""
    global _hasher
    if _hasher is None:
        from argon2 import PasswordHasher

        _hasher = PasswordHasher()
    return _hasher


def hash_password(password: str) -> str:
    return _password_hasher().hash(password)


# What ``burn_a_verify`` checks against with the default parameters: an argon2id hash of
# a phrase that is nobody's password, made once. Verifying against it costs what a real
# check costs; making it at start-up would cost every session an argon2 hash (and its
# 64 MiB) before anyone typed a thing.
_DEFAULT_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$2YbKdad6jIW1GsfD/rkCWA$"
    "YuZAlNCyX4mTWkbPRnPHzRAQHz99AM7vMOi0/jkiM5w"
)


def prepare_dummy_hash() -> str:
    """The hash ``burn_a_verify`` checks against, ready before the first login can be
    tried (the opener calls this): made on first use, it cost a fresh process's first
    unknown or LDAP/SSO name one argon2 hash more than a local name's. With the default
    parameters it is the one above; with others it is made here, once."""
    global _dummy_hash
    if _dummy_hash is None:
        if _password_hasher().check_needs_rehash(_DEFAULT_DUMMY_HASH):
            _dummy_hash = _password_hasher().hash("qmfa: no such user")
        else:
            _dummy_hash = _DEFAULT_DUMMY_HASH
    return _dummy_hash


def burn_a_verify(password: str) -> None:
    """Spend what a real check costs, so unknown usernames take as long as known ones."""
    from argon2.exceptions import VerificationError

    dummy_hash = prepare_dummy_hash()
    with contextlib.suppress(VerificationError):
        _password_hasher().verify(dummy_hash, password)


@dataclass(frozen=True)
class UserInfo:
    """A user as the screens and commands see it."""

    id: int
    username: str
    display_name: str
    email: str
    auth_source: AuthSource
    role: str
    users_module: bool
    active: bool
    created_at: datetime
    two_factor: bool
    recovery_codes_left: int | None
    # Admins, and users given the module: may open Customization > Users (policy).
    may_manage_users: bool = False
    registration_required: bool = False
    registration_deadline: datetime | None = None  # UTC; while the grace period lasts
    # Set by get_user: why the reader may not read codes, remove the device or (de)activate.
    manage_refusal: str | None = None
    # Set by get_user: the reader is this user (only they register their own device).
    is_reader: bool = False
    # Set by get_user for a reader who may unlock this user: consecutive failed logins,
    # or None when no throttle holds anything (throttle.failed_in_a_row).
    failed_logins: int | None = None
    # The password was set by someone else: the next login chooses a new one.
    must_change_password: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def managed_elsewhere(self) -> bool:
        """An LDAP or SSO user: their identity provider, not qmfa, runs their 2FA."""
        return self.auth_source != AuthSource.LOCAL

    @property
    def may_register(self) -> bool:
        """The reader may register a device for this user now: their own, none yet, local."""
        return self.is_reader and not self.two_factor and not self.managed_elsewhere

    @property
    def few_codes_left(self) -> bool:
        """Running low on recovery codes (none left counts too), as the Users screen marks it."""
        return self.recovery_codes_left is not None and self.recovery_codes_left <= FEW_LEFT


def user_info(account: Account) -> UserInfo:
    device = Device.get_or_none(Device.account == account.id)
    left = None
    if device is not None:
        left = RecoveryCode.select().where(RecoveryCode.device == device.id).count()
    required = device is None and policy.registration_required(account)
    return UserInfo(
        account.id,
        account.username,
        account.display_name,
        account.email,
        AuthSource(account.auth_source),
        account.role,
        account.users_module,
        account.active,
        account.created_at,
        device is not None,
        left,
        policy.has_users_module(account),
        required,
        policy.grace_deadline(account) if required else None,
        must_change_password=account.must_change_password,
    )


def validate_username(username: str) -> str:
    username = identity.as_typed(username)
    found = forbidden_character(username)
    if found is not None:  # `ad\u200bmin` reads as `admin`: say why, not just what is allowed
        raise BadInput(f"A username cannot hold control or invisible characters (found {found}).")
    if not USERNAME_PATTERN.fullmatch(username):
        raise BadInput(
            "A username is 1 to 150 letters, digits or . _ @ + - and starts with a letter or digit."
        )
    return username


def validate_text(value: str, what: str, max_length: int) -> str:
    """A name or email: one line of at most `max_length` characters, no control characters.

    A control character reaches every terminal that lists the user (ESC can set an
    admin's clipboard or wipe the screen), a bidi override turns the text around, and an
    invisible one (a zero-width space or joiner, a soft hyphen) makes it look like another.
    """
    value = value.strip()
    found = forbidden_character(value)
    if found is not None:
        raise BadInput(
            f"The {what} cannot hold control characters, line breaks, "
            f"bidirectional overrides or invisible characters (found {found})."
        )
    if len(value) > max_length:
        raise BadInput(f"The {what} has at most {max_length} characters.")
    return value


def validate_password(password: str) -> str:
    password = unicodedata.normalize("NFC", password)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadInput(f"A password has at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise BadInput(f"A password has at most {MAX_PASSWORD_LENGTH} characters.")
    return password


def _new_account(
    username: str,
    password: str | None,
    *,
    display_name: str,
    email: str,
    auth_source: str,
    role: str,
    users_module: bool,
    active: bool,
) -> Account:
    username = validate_username(username)
    identity.refuse_reserved(username)
    display_name = validate_text(display_name, "name", MAX_NAME_LENGTH)
    email = validate_text(email, "email", MAX_EMAIL_LENGTH)
    if auth_source not in set(AuthSource):
        raise BadInput(f"The auth source is one of: {', '.join(AuthSource)}.")
    if role not in set(Role):
        raise BadInput(f"The role is {one_of(Role)}.")
    if auth_source == AuthSource.LOCAL:
        if password is None:
            raise BadInput("A local user needs a password.")
        password_hash: str | None = hash_password(validate_password(password))
    elif password is not None:
        raise BadInput(
            f"A {AuthSource(auth_source).label} user signs in through the identity provider "
            "and has no password here."
        )
    else:
        password_hash = None
    try:
        return Account.create(
            username=username,
            username_key=identity.username_key(username),
            display_name=display_name,
            email=email,
            auth_source=auth_source,
            role=role,
            users_module=users_module,
            active=active,
            password_hash=password_hash,
            created_at=clock.utc(clock.now()),
        )
    except IntegrityError:
        raise Conflict(
            f"The username {username!r} is taken (names that differ only in "
            "letter case are the same name)."
        ) from None


@translate_errors
def any_users() -> bool:
    """Has anyone been created yet (by `qmfa init` or `qmfa demo`)?"""
    return Account.select().exists()


@translate_errors
def create_first_admin(
    username: str,
    password: str,
    *,
    display_name: str = "",
    email: str = "",
    deployment: str = Deployment.ON_PREM,
) -> UserInfo:
    """``qmfa init``: the first user, an admin (and on SaaS the super-admin)."""
    if deployment not in set(Deployment):
        raise BadInput(f"The deployment is {one_of(Deployment)}.")
    with db.atomic():
        if Account.select().exists():
            raise Conflict("This database already has users; `qmfa init` runs only once.")
        account = _new_account(
            username,
            password,
            display_name=display_name,
            email=email,
            auth_source=AuthSource.LOCAL,
            role=Role.ADMIN,
            users_module=True,
            active=True,
        )
        InstanceSettings.update(deployment=deployment).where(InstanceSettings.id == 1).execute()
        audit.record(
            shell_actor(),
            "instance.initialized",
            target=account,
            detail=f"deployment: {deployment}",
        )
    return user_info(account)


@translate_errors
def create_user(
    actor: Actor,
    username: str,
    *,
    password: str | None = None,
    display_name: str = "",
    email: str = "",
    auth_source: str = AuthSource.LOCAL,
    role: str = Role.USER,
    users_module: bool = False,
    active: bool = True,
) -> UserInfo:
    """A new user, by a Users-module holder; only admins create admins or grant the module."""
    acting = policy.require_users_module(actor)
    if role == Role.ADMIN and not policy.is_admin(acting):
        raise NotPermitted("Only admins can create admins.")
    if users_module and not policy.is_admin(acting):
        raise NotPermitted(ONLY_ADMINS_GRANT)
    with db.atomic():
        account = _new_account(
            username,
            password,
            display_name=display_name,
            email=email,
            auth_source=auth_source,
            role=role,
            users_module=users_module,
            active=active,
        )
        audit.record(
            actor, "user.created", target=account, detail=f"auth: {auth_source}, role: {role}"
        )
    return user_info(account)


@translate_errors
def get_user(actor: Actor, username: str) -> UserInfo:
    """The user as ``actor`` sees them, with ``manage_refusal`` set when the privilege order
    keeps ``actor`` from their codes, device and status (None for oneself)."""
    target = policy.find_account(username)
    acting = policy.require_self_or_users_module(actor, target)
    refusal = policy.refusal_for(acting, target)
    is_reader = acting is not None and acting.id == target.id
    failed_logins = None
    if refusal is None and not is_reader:  # what Unlock (User Edit) would clear
        from qmfa_tui.services import throttle

        failed_logins = throttle.failed_in_a_row(target.id)
    return replace(
        user_info(target),
        manage_refusal=refusal,
        is_reader=is_reader,
        failed_logins=failed_logins,
    )


@translate_errors
def set_active(actor: Actor, username: str, active: bool) -> UserInfo:
    """Activate or deactivate a user: a Users-module holder of at least the user's standing
    (policy.refusal_for); nobody deactivates themselves."""
    policy.require_users_module(actor)
    target = policy.find_account(username)
    policy.require_standing(actor, target)
    if not active and target.id == actor.user_id:
        raise NotPermitted("You cannot deactivate your own account.")
    with db.atomic():
        if (
            Account.update(active=active)
            .where(Account.id == target.id, Account.active != active)
            .execute()
        ):
            audit.record(actor, "user.activated" if active else "user.deactivated", target=target)
    return user_info(policy.find_account(username))


ONLY_ADMINS_GRANT = "Only admins can grant or take away the admin role or the Users module."


@translate_errors
def set_role(
    actor: Actor, username: str, *, role: str | None = None, users_module: bool | None = None
) -> UserInfo:
    """Change a user's role and/or Users module (None leaves that one as it is).

    Who may: admins (and the shell), on users of at most their standing
    (policy.refusal_for: on SaaS only the super-admin touches the super-admin).
    A Users-module holder who is not an admin may not grant or revoke either,
    not even the module they hold: the module reads ordinary users' recovery
    codes, so handing it out is an admin's decision (as creating an admin is).
    Nobody changes their own role or module; another admin or the operator does
    (so whoever demotes an admin stays an admin).
    Exactly what is given is stored: an admin holds every permission whatever
    the stored module flag says, and a demoted admin keeps the stored flag.
    """
    if role is None and users_module is None:
        raise BadInput("Give a role, a Users-module setting, or both.")
    if role is not None and role not in set(Role):
        raise BadInput(f"The role is {one_of(Role)}.")
    acting = policy.require_users_module(actor)
    target = policy.find_account(username)
    if acting is not None and acting.id == target.id:
        raise NotPermitted("You cannot change your own role or Users module; another admin can.")
    policy.require_standing(actor, target)
    if not policy.is_admin(acting):
        raise NotPermitted(ONLY_ADMINS_GRANT)
    new_role = target.role if role is None else role
    new_module = target.users_module if users_module is None else users_module
    with db.atomic():
        # Conditional on the row as read: a change made meanwhile is not overwritten unseen.
        changed = (
            Account.update(role=new_role, users_module=new_module)
            .where(
                Account.id == target.id,
                Account.role == target.role,
                Account.users_module == target.users_module,
                (Account.role != new_role) | (Account.users_module != new_module),
            )
            .execute()
        )
        if changed:
            audit.record(
                actor,
                "user.role_changed",
                target=target,
                detail=f"role: {target.role} -> {new_role}, users module: "
                f"{_yes_no(target.users_module)} -> {_yes_no(new_module)}",
            )
    info = user_info(policy.find_account(username))
    if not changed and (info.role, info.users_module) != (new_role, new_module):
        raise Conflict(f"{username}'s role changed meanwhile; look again and retry.")
    return info


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def managed_elsewhere_refusal(username: str, auth_source: str, what: str) -> str | None:
    """Why ``what`` of an LDAP or SSO user cannot be changed here, or None for a local user.
    ``what`` is said with its verb: "password is", "name and email are"."""
    if auth_source == AuthSource.LOCAL:
        return None
    source = AuthSource(auth_source).label
    return f"{username} signs in through {source}: their {what} managed in {source}."


# Temporary passwords: 4 groups of 5 from 31 letters and digits that no font confuses
# (no 0/o, 1/l/i): about 99 bits, and readable aloud over a phone.
TEMPORARY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
TEMPORARY_GROUPS, TEMPORARY_GROUP_LENGTH = 4, 5


def temporary_password() -> str:
    import secrets  # on first use: the PAM helper never makes one

    return "-".join(
        "".join(secrets.choice(TEMPORARY_ALPHABET) for _ in range(TEMPORARY_GROUP_LENGTH))
        for _ in range(TEMPORARY_GROUPS)
    )


@dataclass(frozen=True)
class PasswordSet:
    """What ``set_password`` did: the user (as stored) and the generated password, if any
    (to show once: it is stored only as its hash)."""

    username: str
    generated: str | None


@translate_errors
def set_password(actor: Actor, username: str, password: str | None = None) -> PasswordSet:
    """Set another user's password (a reset): ``password``, or a generated one when None.

    Who may: a Users-module holder of at least the user's standing (policy.refusal_for),
    or the shell; a user changes their own with ``change_own_password`` (which asks for
    the current one). Local users only. The user must choose a new password at their
    next login, after the second factor (``login.choose_new_password``). Audited in the
    change's transaction.
    """
    acting = policy.require_users_module(actor)
    target = policy.find_account(username)
    policy.require_standing(actor, target)
    if acting is not None and acting.id == target.id:
        raise NotPermitted("Change your own password in My Account (it asks for the current one).")
    refusal = managed_elsewhere_refusal(target.username, target.auth_source, "password is")
    if refusal is not None:
        raise NotPermitted(refusal)
    generated = temporary_password() if password is None else None
    new_hash = hash_password(validate_password(generated or password or ""))
    with db.atomic():
        changed = (
            Account.update(password_hash=new_hash, must_change_password=True)
            .where(Account.id == target.id, Account.auth_source == AuthSource.LOCAL)
            .execute()
        )
        if not changed:
            raise Conflict(f"{target.username} changed meanwhile; look again and retry.")
        audit.record(
            actor,
            "user.password_reset",
            target=target,
            detail="temporary password " + ("generated" if generated else "set"),
        )
    return PasswordSet(target.username, generated)


def _prove_own_password(
    actor: Actor, account: Account, password: str, failed_action: str, wrong: str
) -> tuple[str, float]:
    """Check ``password`` as the login does: counted by the password throttle (this
    source's growing delay, the account-wide ceiling) before its verdict, a wrong one
    audited as ``failed_action`` and refused with ``wrong``. Returns the source and the
    time, for ``_proven``."""
    from qmfa_tui.services import throttle

    now = clock.now()
    source = throttle.this_source()
    throttle.admit_password(account, source, now)
    if not password_matches(account, password):
        with db.atomic():
            audit.record(actor, failed_action, target=account, detail="wrong password")
        raise AuthenticationFailed(wrong)
    return source, now


def _proven(actor: Actor, account: Account, source: str, now: float, burst: bool) -> None:
    """After a proven password's change committed: the actor need not give it again for
    a while, and the refusals the throttle held (if any) are audited."""
    from qmfa_tui.services import throttle

    mark_confirmed(actor, now)
    if burst:
        throttle.end_password_burst(account)


@translate_errors
def change_own_password(actor: Actor, current_password: str, new_password: str) -> None:
    """A user changes their own password, proving the current one (``_prove_own_password``:
    this form is no faster way to guess it)."""
    from qmfa_tui.services import throttle

    account = policy.acting_account(actor)
    if account is None or account.password_hash is None:
        raise NotPermitted("Only a local user can change their password here.")
    new_password = validate_password(new_password)
    if new_password == unicodedata.normalize("NFC", current_password):
        raise BadInput("The new password is the current one: choose another.")
    source, now = _prove_own_password(
        actor,
        account,
        current_password,
        "user.password_change_failed",
        "The current password is wrong.",
    )
    new_hash = hash_password(new_password)
    with db.atomic():
        burst = throttle.password_succeeded(account, source, now)
        # Conditional on the hash just checked: a reset meanwhile is not overwritten.
        if (
            not Account.update(password_hash=new_hash, must_change_password=False)
            .where(Account.id == account.id, Account.password_hash == account.password_hash)
            .execute()
        ):
            raise Conflict("Your password was changed meanwhile; log in again.")
        audit.record(actor, "user.password_changed", target=account)
    _proven(actor, account, source, now, burst)


def password_confirmed(actor: Actor) -> bool:
    """Whether ``actor`` gave their password again lately (``confirm_password``): the
    sensitive things one does to oneself then go ahead without asking again."""
    return actor.confirmed_recently(clock.now())


@translate_errors
def confirm_password(actor: Actor, password: str) -> None:
    """The logged-in user gives their password again ("sudo mode"), before removing their
    own device or revealing their own recovery codes: valid ``CONFIRMED_SECONDS``, kept
    on the Actor (not in the database). Throttled and audited as ``change_own_password``."""
    from qmfa_tui.services import throttle

    account = policy.acting_account(actor)
    if account is None:
        return  # the shell: the break-glass is never asked
    if account.password_hash is None:
        raise NotPermitted("Only a local user has a password here to confirm.")
    source, now = _prove_own_password(
        actor, account, password, "user.password_confirm_failed", "That password is wrong."
    )
    with db.atomic():
        burst = throttle.password_succeeded(account, source, now)
        audit.record(
            actor,
            "user.password_confirmed",
            target=account,
            detail=f"sensitive actions allowed for {CONFIRMED_SECONDS // 60} minutes",
        )
    _proven(actor, account, source, now, burst)


@translate_errors
def edit_profile(
    actor: Actor, username: str, *, display_name: str | None = None, email: str | None = None
) -> UserInfo:
    """Change a local user's name and/or email (None leaves it): the user themselves, or a
    Users-module holder of at least their standing. LDAP/SSO users' come from there."""
    if display_name is None and email is None:
        raise BadInput("Give a name, an email, or both.")
    target = policy.find_account(username)
    acting = policy.require_self_or_users_module(actor, target)
    refusal = policy.refusal_for(acting, target)
    if refusal is not None:
        raise NotPermitted(refusal)
    elsewhere = managed_elsewhere_refusal(target.username, target.auth_source, "name and email are")
    if elsewhere is not None:
        raise NotPermitted(elsewhere)
    new_name = (
        target.display_name
        if display_name is None
        else validate_text(display_name, "name", MAX_NAME_LENGTH)
    )
    new_email = target.email if email is None else validate_text(email, "email", MAX_EMAIL_LENGTH)
    changes = [
        what
        for what, before, after in (
            ("name", target.display_name, new_name),
            ("email", target.email, new_email),
        )
        if before != after
    ]
    if changes:
        with db.atomic():
            # Conditional on the row as read: a change made meanwhile is not overwritten unseen.
            if (
                not Account.update(display_name=new_name, email=new_email)
                .where(
                    Account.id == target.id,
                    Account.display_name == target.display_name,
                    Account.email == target.email,
                )
                .execute()
            ):
                raise Conflict(f"{target.username} changed meanwhile; look again and retry.")
            audit.record(actor, "user.profile_edited", target=target, detail=", ".join(changes))
    return user_info(policy.find_account(username))


def password_matches(account: Account, password: str) -> bool:
    """One argon2 verify whatever the account: the dummy hash's when it has no password."""
    from argon2.exceptions import InvalidHashError, VerificationError

    if account.password_hash is None:
        burn_a_verify(password)
        return False
    try:
        return _password_hasher().verify(account.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def rehash_if_outdated(account: Account, password: str) -> str | None:
    """A new hash of ``password`` when the argon2 parameters were raised since
    ``account``'s was made (its password just matched), else None."""
    if account.password_hash is None or not _password_hasher().check_needs_rehash(
        account.password_hash
    ):
        return None
    return hash_password(password)
