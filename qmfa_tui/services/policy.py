"""Who may do what, and the instance-wide two-step verification policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from peewee import ColumnBase, ModelSelect, fn

from qmfa_tui.errors import BadInput, ConfirmPassword, Conflict, NotFound, NotPermitted
from qmfa_tui.kinds import AuthSource, Deployment, Role, one_of
from qmfa_tui.services import audit, clock, identity
from qmfa_tui.services.session import Actor
from qmfa_tui.services.user_filter import UserFilter, conditions
from qmfa_tui.storage import (
    Account,
    Device,
    InstanceSettings,
    db,
    translate_errors,
)
from qmfa_tui.text import counted, forbidden_character


@dataclass(frozen=True)
class InstanceInfo:
    instance_name: str
    deployment: Deployment
    mandatory: bool
    grace_period_hours: int
    demo: bool


def acting_account(actor: Actor) -> Account | None:
    """The actor's account, reloaded so a deactivation takes effect at once; None for the shell."""
    if actor.is_shell:
        return None
    account = Account.get_or_none(Account.id == actor.user_id)
    if account is None or not account.active:
        raise NotPermitted("Your account is no longer active.")
    return account


def find_account(username: str) -> Account:
    account = identity.account_named(username)
    if account is None:
        raise NotFound(f"There is no user {username!r}.")
    return account


def is_admin(account: Account | None) -> bool:
    """None is the shell, which holds every permission."""
    return account is None or account.role == Role.ADMIN


def has_users_module(account: Account | None) -> bool:
    return is_admin(account) or bool(account and account.users_module)


def require_users_module(actor: Actor) -> Account | None:
    account = acting_account(actor)
    if not has_users_module(account):
        raise NotPermitted("You need access to the Users module for that.")
    return account


SELF_OR_USERS_MODULE = "Only the user, a Users-module holder or an admin can do that."


def require_self_or_users_module(actor: Actor, target: Account) -> Account | None:
    account = acting_account(actor)
    if account is not None and account.id != target.id and not has_users_module(account):
        raise NotPermitted(SELF_OR_USERS_MODULE)
    return account


# The privilege order. A rank is a user's standing; acting on someone else's codes, device,
# active state or roles needs the Users module and a standing at least equal to theirs.
PLAIN_USER, USERS_MODULE_HOLDER, ADMIN_STANDING, SUPER_ADMIN_STANDING, SHELL_STANDING = range(5)
ADMINS_ONLY = "Only an admin can manage an admin's recovery codes, device, status or role."


def super_admin_only(username: str) -> str:
    """The refusal for acting on the SaaS super-admin, who is named (usernames are plain)."""
    return (
        f"{username} is the super-admin: on SaaS instances only they can manage their "
        "recovery codes, device, status or role."
    )


def standing(account: Account | None) -> int:
    """The rank of ``account`` in the privilege order; None is the shell, above everyone.

    Plain user < Users-module holder < admin; on SaaS the super-admin (the first user, while
    an admin) ranks above the other admins. On-prem the first user is one admin among others.
    """
    if account is None:
        return SHELL_STANDING
    if account.role == Role.ADMIN:
        if instance().deployment == Deployment.SAAS and account.id == super_admin_id():
            return SUPER_ADMIN_STANDING
        return ADMIN_STANDING
    return USERS_MODULE_HOLDER if account.users_module else PLAIN_USER


def refusal_for(acting: Account | None, target: Account) -> str | None:
    """Why ``acting`` may not act on ``target``'s factors or account, or None if they may.

    The one rule behind reading another user's recovery codes, removing their device,
    (de)activating them and changing their roles: the actor holds the Users module and
    ranks at least as high as the target (see ``standing``). Acting on oneself passes here;
    each action decides what a user may do to themselves (read their own codes, remove
    their own device: yes; deactivate themselves, change their own role: no). The shell
    (``acting`` None) is the break-glass and passes always.
    """
    if acting is None or acting.id == target.id:
        return None
    if not has_users_module(acting):
        return SELF_OR_USERS_MODULE
    # The ranks compared without a query where the roles settle it: a non-admin target ranks
    # at most as a Users-module holder; an admin target outranks a non-admin actor. Only
    # admin on admin needs the deployment and the super-admin (standing) from the database.
    if target.role != Role.ADMIN:
        return None
    if acting.role != Role.ADMIN:
        return ADMINS_ONLY
    return super_admin_only(target.username) if standing(target) > standing(acting) else None


def require_standing(actor: Actor, target: Account) -> Account | None:
    """The acting account (None for the shell) if it may act on ``target``; else NotPermitted."""
    account = acting_account(actor)
    refusal = refusal_for(account, target)
    if refusal is not None:
        raise NotPermitted(refusal)
    return account


def super_admin_id() -> int | None:
    """The first user registered: on SaaS instances, the only one who may switch mandatory 2FA."""
    first: int | None = Account.select(fn.MIN(Account.id)).scalar()
    return first


def super_admin_name() -> str:
    """The super-admin's username, for the refusals that send people to them."""
    return Account.select(Account.username).order_by(Account.id).limit(1).scalar() or ""


def instance() -> InstanceSettings:
    return InstanceSettings.get_by_id(1)


@translate_errors
def instance_info() -> InstanceInfo:
    row = instance()
    return InstanceInfo(
        row.instance_name,
        Deployment(row.deployment),
        row.mandatory,
        row.grace_period_hours,
        row.demo,
    )


def covered_by_rules(account: Account) -> bool:
    """LDAP and SSO users sign in elsewhere; the 2FA rules cover local users only."""
    return account.auth_source == AuthSource.LOCAL


def registration_required(account: Account) -> bool:
    """Must this user register a device before getting in (now or after a grace period)?"""
    return covered_by_rules(account) and instance().mandatory


MAX_GRACE_HOURS = 24 * 90


def grace_deadline(account: Account, settings: InstanceSettings | None = None) -> datetime | None:
    """Until when this user may still skip registering, or None if they may not (any more).

    Their grace begins at their first login that asks for a device (``login.start_grace``,
    where they are told the deadline); it lasts the hours they were promised when the
    period was shortened since, else the instance's current period (``set_grace_period``).
    """
    settings = settings or instance()
    if not settings.mandatory or account.grace_started_at is None or account.two_factor:
        return None
    hours = account.promised_grace_hours
    if hours is None:
        hours = settings.grace_period_hours
    if hours <= 0:
        return None
    return account.grace_started_at + timedelta(hours=hours)


class MandatoryRefusal(Enum):
    """Why an actor may not switch mandatory 2FA or set the grace period. Each value is
    the refusal's words (``{super_admin}`` is filled in by ``mandatory_refusal``)."""

    NOT_AN_ADMIN = "Only admins can change this."
    NOT_THE_SUPER_ADMIN = "Only the super-admin, {super_admin}, can change this on SaaS instances."
    OWN_2FA_FIRST = "Turn on two-step verification for your own account first."


@dataclass(frozen=True)
class Refusal:
    """A refusal as a value: its reason, for a screen to act on, and its words, to show."""

    reason: MandatoryRefusal
    message: str


@translate_errors
def mandatory_refusal(actor: Actor) -> Refusal | None:
    """Why ``actor`` may not switch mandatory 2FA, or None if they may."""
    account = acting_account(actor)
    if account is None:
        return None
    if account.role != Role.ADMIN:
        reason = MandatoryRefusal.NOT_AN_ADMIN
    elif instance().deployment == Deployment.SAAS and account.id != super_admin_id():
        reason = MandatoryRefusal.NOT_THE_SUPER_ADMIN
    elif not Device.select().where(Device.account == account.id).exists():
        reason = MandatoryRefusal.OWN_2FA_FIRST
    else:
        return None
    super_admin = super_admin_name() if reason is MandatoryRefusal.NOT_THE_SUPER_ADMIN else ""
    return Refusal(reason, reason.value.format(super_admin=super_admin))


# Whom mandatory 2FA asks to register a device at their next login: active local users
# without one. The one definition: the modal counts, lists and exports these users, and
# `settings show` counts them (the expression below is built from it).
AFFECTED_BY_MANDATORY = UserFilter(
    two_factor="disabled", status="active", auth_source=AuthSource.LOCAL
)


def mandatory_consequence(grace_period_hours: int) -> str:
    """What mandatory 2FA will ask of the users it affects, the end of the sentence
    "9 active users without two-step verification ..." (the modal's, the CLI's)."""
    if grace_period_hours:
        within = f"within {counted(grace_period_hours, 'hour')} of their next login"
        return f"will have to register a device {within}."
    return "will have to register a device at their next login."


def _affected() -> list[ColumnBase]:
    return conditions(AFFECTED_BY_MANDATORY)


def _affected_query() -> ModelSelect[Account]:
    return Account.select().where(*_affected())


@translate_errors
def count_affected() -> int:
    """Active, locally authenticated users without a device: asked to register one at their
    next login if 2FA becomes mandatory."""
    count: int = _affected_query().count()
    return count


def require_recent_password(actor: Actor) -> None:
    """Refuse (ConfirmPassword) unless ``actor`` gave their password within
    ``session.CONFIRMED_SECONDS`` ("sudo mode"): asked before the sensitive things a person
    does to themselves. The shell, the break-glass, is never asked."""
    if not actor.confirmed_recently(clock.now()):
        raise ConfirmPassword()


@translate_errors
def set_mandatory(actor: Actor, enabled: bool) -> InstanceInfo:
    refusal = mandatory_refusal(actor)
    if refusal is not None:
        raise NotPermitted(refusal.message)
    require_recent_password(actor)
    with db.atomic():
        changed = (
            InstanceSettings.update(mandatory=enabled)
            .where(InstanceSettings.id == 1, InstanceSettings.mandatory != enabled)
            .execute()
        )
        if changed and enabled:
            # Each grace period begins at that user's next login, where they are told their
            # deadline: someone who logs in a week from now still gets the whole period.
            audit.record(
                actor, "settings.mandatory_on", detail=f"affected users: {count_affected()}"
            )
        elif changed:
            Account.update(grace_started_at=None, promised_grace_hours=None).where(
                Account.grace_started_at.is_null(False)
            ).execute()
            audit.record(actor, "settings.mandatory_off")
    return instance_info()


@translate_errors
def set_grace_period(actor: Actor, hours: int) -> InstanceInfo:
    """Hours a user may skip registration once 2FA is mandatory (0: none), from their first
    login that asks for a device.

    A deadline already given only ever moves later: a shorter period applies to the users
    whose grace has not begun, those whose grace has begun keep the hours they had (stored
    in ``promised_grace_hours``); a longer period lengthens everyone's.
    """
    refusal = mandatory_refusal(actor)
    if refusal is not None:
        raise NotPermitted(refusal.message)
    if not 0 <= hours <= MAX_GRACE_HOURS:
        raise BadInput(f"The grace period is 0 to {MAX_GRACE_HOURS} hours.")
    with db.atomic():
        previous = instance().grace_period_hours
        if previous == hours:
            return instance_info()
        # Conditional on the period the promises below are made from.
        if (
            InstanceSettings.update(grace_period_hours=hours)
            .where(InstanceSettings.id == 1, InstanceSettings.grace_period_hours == previous)
            .execute()
        ):
            begun = Account.grace_started_at.is_null(False)
            if hours < previous:  # those on the current period keep the previous one
                Account.update(promised_grace_hours=previous).where(
                    begun, Account.promised_grace_hours.is_null()
                ).execute()
            # A promise no longer than the period now in force is that period again.
            Account.update(promised_grace_hours=None).where(
                Account.promised_grace_hours <= hours
            ).execute()
            audit.record(actor, "settings.grace_period", detail=counted(hours, "hour"))
        else:
            raise Conflict("The grace period was changed meanwhile: look again, then retry.")
    return instance_info()


def grace_change_notice(previous_hours: int, hours: int) -> str:
    """What setting the grace period did, in words fit to show to the admin who set it."""
    said = f"Grace period set to {counted(hours, 'hour')}."
    if hours < previous_hours:
        return f"{said} People already told a deadline keep it."
    if hours > previous_hours:
        return f"{said} Deadlines already given move later to match."
    return said


@translate_errors
def set_deployment(actor: Actor, deployment: str) -> InstanceInfo:
    """On-prem or SaaS; only the shell (the installer) decides this."""
    if not actor.is_shell:
        raise NotPermitted("The deployment is set by the operator from the shell.")
    if deployment not in set(Deployment):
        raise BadInput(f"The deployment is {one_of(Deployment)}.")
    with db.atomic():
        if (
            InstanceSettings.update(deployment=deployment)
            .where(InstanceSettings.id == 1, InstanceSettings.deployment != deployment)
            .execute()
        ):
            audit.record(actor, "settings.deployment", detail=deployment)
    return instance_info()


MAX_INSTANCE_NAME = 60
DEFAULT_INSTANCE_NAME = "qmfa"


def validate_instance_name(name: str) -> str:
    """The name stripped, if it is 1 to MAX_INSTANCE_NAME characters with none that a
    terminal acts on or that shows nothing (it is the issuer authenticator apps list)."""
    name = name.strip()
    found = forbidden_character(name)
    if found is not None:
        raise BadInput(
            "The instance name cannot hold control characters, line breaks, "
            f"bidirectional overrides or invisible characters (found {found})."
        )
    if not 1 <= len(name) <= MAX_INSTANCE_NAME:
        raise BadInput(f"The instance name is 1 to {MAX_INSTANCE_NAME} characters.")
    return name


@translate_errors
def set_instance_name(actor: Actor, name: str) -> InstanceInfo:
    """The instance's name: the title bar's and the issuer of new registrations (devices
    already registered keep the label their app gave them, and keep working). Admins and
    the operator from the shell."""
    account = acting_account(actor)
    if account is not None and account.role != Role.ADMIN:
        raise NotPermitted("Only an admin can rename the instance.")
    name = validate_instance_name(name)
    with db.atomic():
        previous = instance().instance_name
        if previous == name:
            return instance_info()
        if not (
            InstanceSettings.update(instance_name=name)
            .where(InstanceSettings.id == 1, InstanceSettings.instance_name == previous)
            .execute()
        ):
            raise Conflict("The instance was renamed meanwhile: look again, then retry.")
        audit.record(actor, "settings.instance_name", detail=f"{previous} -> {name}")
    return instance_info()
