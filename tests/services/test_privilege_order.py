"""The privilege order: who may act on whose codes, device, status and role.

Each test builds one instance (on-prem or SaaS) and runs one action for every
actor x target pair against the table below, restoring the target after each
success so the pairs do not disturb one another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from helpers import PASSWORD, FakeClock, Registered, confirmed, login, register

from qmfa_tui.errors import NotPermitted
from qmfa_tui.services import accounts, audit, policy, recovery, twofactor
from qmfa_tui.services.session import Actor, shell_actor
from qmfa_tui.storage import Account, Device

TARGETS = ("super", "admin", "holder", "plain")
ACTORS = ("shell", "super", "admin", "holder", "plain", "self")

# Per action and deployment: for each actor, Y (allowed) or N (refused) on the targets
# super-admin, admin, users-module holder, plain user, in that order. "self" is each
# target acting on themselves; the admin, holder and plain actors are other accounts
# than the targets of their rank.
ON_PREM_MANAGE = {
    "shell": "YYYY",
    "super": "YYYY",
    "admin": "YYYY",
    "holder": "NNYY",
    "plain": "NNNN",
    "self": "YYYY",
}
SAAS_MANAGE = {**ON_PREM_MANAGE, "admin": "NYYY"}
COUNT = {**ON_PREM_MANAGE, "holder": "YYYY"}
EXPECTED: dict[str, dict[str, dict[str, str]]] = {
    "reveal codes": {"on-prem": ON_PREM_MANAGE, "saas": SAAS_MANAGE},
    "remove device": {"on-prem": ON_PREM_MANAGE, "saas": SAAS_MANAGE},
    # A count, shown to every Users-module holder in the Users table anyway.
    "remaining codes": {"on-prem": COUNT, "saas": COUNT},
    # Nobody deactivates themselves.
    "deactivate": {
        "on-prem": {**ON_PREM_MANAGE, "super": "NYYY", "self": "NNNN"},
        "saas": {**SAAS_MANAGE, "super": "NYYY", "self": "NNNN"},
    },
    # Admins only (and never on themselves); the holder grants nothing.
    "set role": {
        "on-prem": {**ON_PREM_MANAGE, "super": "NYYY", "holder": "NNNN", "self": "NNNN"},
        "saas": {**SAAS_MANAGE, "super": "NYYY", "holder": "NNNN", "self": "NNNN"},
    },
}


@dataclass
class Instance:
    actors: dict[str, Actor]  # by actor kind, except "self"
    targets: dict[str, Actor]  # the targets, logged in: "self" acts as these
    names: dict[str, str]  # target kind -> username
    devices: dict[str, Registered]
    clock: FakeClock

    def actor(self, kind: str, target: str) -> Actor:
        return self.targets[target] if kind == "self" else self.actors[kind]

    def confirm_if_self(self, actor: Actor, kind: str) -> None:
        """Acting on oneself needs the password given lately (sudo mode: test_sudo_mode)."""
        if actor is self.targets[kind]:
            confirmed(actor)


def build(deployment: str, clock: FakeClock) -> Instance:
    shell = shell_actor()
    accounts.create_first_admin("root", PASSWORD, deployment=deployment)
    people = {
        "boss": ("admin", True),
        "ada": ("admin", True),
        "hal": ("user", True),
        "hank": ("user", True),
        "pat": ("user", False),
        "alice": ("user", False),
    }
    for name, (role, module) in people.items():
        accounts.create_user(shell, name, password=PASSWORD, role=role, users_module=module)
    logged_in = {name: login(name) for name in ("root", *people)}
    names = {"super": "root", "admin": "ada", "holder": "hank", "plain": "alice"}
    targets = {kind: logged_in[name] for kind, name in names.items()}
    actors = {
        "shell": shell,
        "super": logged_in["root"],
        "admin": logged_in["boss"],
        "holder": logged_in["hal"],
        "plain": logged_in["pat"],
    }
    devices = {kind: register(targets[kind], clock) for kind in TARGETS}
    return Instance(actors, targets, names, devices, clock)


def events(action: str) -> int:
    return len(audit.list_events(shell_actor(), action=action, limit=10_000))


def account(username: str) -> Account:
    return Account.get(Account.username == username)


def reveal(instance: Instance, actor: Actor, kind: str) -> None:
    instance.confirm_if_self(actor, kind)
    before = events("recovery.revealed")
    assert recovery.reveal_codes(actor, instance.names[kind]) == instance.devices[kind].codes
    assert events("recovery.revealed") == before + 1


def remaining(instance: Instance, actor: Actor, kind: str) -> None:
    assert recovery.remaining_codes(actor, instance.names[kind]) == 8


def remove(instance: Instance, actor: Actor, kind: str) -> None:
    name = instance.names[kind]
    instance.confirm_if_self(actor, kind)
    twofactor.remove_device(actor, name)
    assert not Device.select().where(Device.account == account(name).id).exists()
    instance.devices[kind] = register(instance.targets[kind], instance.clock)


def deactivate(instance: Instance, actor: Actor, kind: str) -> None:
    name = instance.names[kind]
    assert not accounts.set_active(actor, name, False).active
    assert accounts.set_active(shell_actor(), name, True).active


def set_role(instance: Instance, actor: Actor, kind: str) -> None:
    """Demote an admin; give or take the Users module of the others."""
    name = instance.names[kind]
    before = account(name)
    before_events = events("user.role_changed")
    if before.role == "admin":
        info = accounts.set_role(actor, name, role="user")
        assert info.role == "user"
    else:
        info = accounts.set_role(actor, name, users_module=not before.users_module)
        assert info.users_module is not before.users_module
    assert events("user.role_changed") == before_events + 1
    accounts.set_role(shell_actor(), name, role=before.role, users_module=before.users_module)


def unchanged(instance: Instance, kind: str) -> tuple[object, ...]:
    target = account(instance.names[kind])
    return (
        target.role,
        target.users_module,
        target.active,
        Device.select().where(Device.account == target.id).count(),
        len(audit.list_events(shell_actor(), limit=10_000)),
    )


ACTIONS: dict[str, Callable[[Instance, Actor, str], None]] = {
    "reveal codes": reveal,
    "remaining codes": remaining,
    "remove device": remove,
    "deactivate": deactivate,
    "set role": set_role,
}


@pytest.mark.parametrize("deployment", ["on-prem", "saas"])
@pytest.mark.parametrize("action", list(ACTIONS))
def test_privilege_order(database, fixed_clock, action, deployment):
    instance = build(deployment, fixed_clock)
    table = EXPECTED[action][deployment]
    outcomes = {}
    for actor_kind in ACTORS:
        for column, target_kind in enumerate(TARGETS):
            actor = instance.actor(actor_kind, target_kind)
            before = unchanged(instance, target_kind)
            try:
                ACTIONS[action](instance, actor, target_kind)
            except NotPermitted as refusal:
                assert refusal.message  # a reason fit to show
                assert unchanged(instance, target_kind) == before  # nothing done, nothing logged
                allowed = False
            else:
                allowed = True
            outcomes[actor_kind, target_kind] = allowed
            assert allowed is (table[actor_kind][column] == "Y"), (actor_kind, target_kind)
    assert len(outcomes) == len(ACTORS) * len(TARGETS)


@pytest.mark.parametrize("deployment", ["on-prem", "saas"])
def test_user_info_carries_the_refusal_the_actions_give(database, fixed_clock, deployment):
    instance = build(deployment, fixed_clock)
    for actor_kind in ("shell", "super", "admin", "holder", "self"):
        for column, target_kind in enumerate(TARGETS):
            actor = instance.actor(actor_kind, target_kind)
            refusal = accounts.get_user(actor, instance.names[target_kind]).manage_refusal
            table = ON_PREM_MANAGE if deployment == "on-prem" else SAAS_MANAGE
            assert (refusal is None) is (table[actor_kind][column] == "Y")
    holder = instance.actors["holder"]
    assert accounts.get_user(holder, "ada").manage_refusal == policy.ADMINS_ONLY
    with pytest.raises(NotPermitted, match="Only an admin can manage an admin's"):
        recovery.reveal_codes(holder, "ada")
    if deployment == "saas":
        boss = instance.actors["admin"]
        assert accounts.get_user(boss, "root").manage_refusal == (
            "root is the super-admin: on SaaS instances only they can manage their recovery "
            "codes, device, status or role."
        )
        with pytest.raises(NotPermitted, match=r"^root is the super-admin"):
            twofactor.remove_device(boss, "root")


def test_standing_ranks(database, fixed_clock):
    build("saas", fixed_clock)
    ranks = {name: policy.standing(account(name)) for name in ("root", "ada", "hank", "alice")}
    assert ranks == {
        "root": policy.SUPER_ADMIN_STANDING,
        "ada": policy.ADMIN_STANDING,
        "hank": policy.USERS_MODULE_HOLDER,
        "alice": policy.PLAIN_USER,
    }
    assert policy.standing(None) == policy.SHELL_STANDING
    policy.set_deployment(shell_actor(), "on-prem")
    assert policy.standing(account("root")) == policy.ADMIN_STANDING


def test_role_changes_grant_only_what_admins_may(database, fixed_clock):
    instance = build("on-prem", fixed_clock)
    holder, boss = instance.actors["holder"], instance.actors["admin"]
    with pytest.raises(NotPermitted, match="Only admins can grant"):
        accounts.create_user(holder, "newbie", password=PASSWORD, users_module=True)
    with pytest.raises(NotPermitted, match="your own role"):
        accounts.set_role(boss, "boss", role="user")
    promoted = accounts.set_role(boss, "alice", role="admin", users_module=True)
    assert promoted.is_admin and promoted.users_module
    # Now an admin, alice is out of the holder's reach.
    with pytest.raises(NotPermitted, match="Only an admin"):
        recovery.reveal_codes(holder, "alice")
    accounts.set_role(boss, "alice", role="user")  # the stored module flag stays
    assert accounts.get_user(boss, "alice").users_module
    assert recovery.reveal_codes(holder, "alice") == instance.devices["plain"].codes
    changes = audit.list_events(boss, action="user.role_changed")
    assert [(e.actor, e.target, e.detail) for e in changes] == [
        ("boss", "alice", "role: admin -> user, users module: yes -> yes"),
        ("boss", "alice", "role: user -> admin, users module: no -> yes"),
    ]
    # A change to what is already stored changes nothing and logs nothing.
    accounts.set_role(boss, "alice", role="user")
    assert len(audit.list_events(boss, action="user.role_changed")) == 2
