from __future__ import annotations

import pytest
from helpers import PASSWORD, add_user, admin, code_at, login, register

from qmfa_tui.errors import AuthenticationFailed, BadInput, Conflict, NotPermitted
from qmfa_tui.kinds import Role
from qmfa_tui.services import accounts, audit, policy, twofactor
from qmfa_tui.services import login as login_service
from qmfa_tui.services.session import Actor, NextStep, PendingLogin


def test_init_creates_the_first_admin_once(database):
    info = accounts.create_first_admin("root", PASSWORD, deployment="saas")
    assert info.is_admin and info.users_module and info.active
    assert policy.instance_info().deployment == "saas"
    with pytest.raises(Conflict):
        accounts.create_first_admin("other", PASSWORD)


def test_passwords_are_argon2id_hashes(database):
    admin()
    from qmfa_tui.storage import Account

    stored = Account.get(Account.username == "admin").password_hash
    assert stored is not None
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("", PASSWORD),
        ("-dash", PASSWORD),
        ("sp ace", PASSWORD),
        ("x" * 151, PASSWORD),
        ("ok", "short"),
    ],
)
def test_bad_usernames_and_passwords_are_refused(database, username, password):
    boss = admin()
    with pytest.raises(BadInput):
        accounts.create_user(boss, username, password=password)


def test_duplicate_usernames_are_a_conflict(database):
    boss = admin()
    accounts.create_user(boss, "alice", password=PASSWORD)
    with pytest.raises(Conflict, match="taken"):
        accounts.create_user(boss, "alice", password=PASSWORD)


def test_who_may_create_users(database):
    boss = admin()
    plain = add_user(boss, "plain")
    helpdesk = add_user(boss, "helpdesk", users_module=True)
    with pytest.raises(NotPermitted):
        accounts.create_user(plain, "x1", password=PASSWORD)
    accounts.create_user(helpdesk, "x2", password=PASSWORD)
    with pytest.raises(NotPermitted):
        accounts.create_user(helpdesk, "x3", password=PASSWORD, role="admin")
    assert [e.target for e in audit.list_events(boss, action="user.created")][:2] == [
        "x2",
        "helpdesk",
    ]


def test_login_outcomes(database, fixed_clock):
    boss = admin()
    accounts.create_user(boss, "carol", auth_source="ldap")
    accounts.create_user(boss, "dave", password=PASSWORD, active=False)
    with pytest.raises(AuthenticationFailed, match="Wrong username or password"):
        login_service.with_password("nobody", PASSWORD)
    with pytest.raises(AuthenticationFailed, match="Wrong username or password"):
        login_service.with_password("admin", "not the password")
    with pytest.raises(AuthenticationFailed, match="Wrong username or password"):
        login_service.with_password("carol", PASSWORD)  # LDAP: no password here
    with pytest.raises(AuthenticationFailed, match="inactive"):
        login_service.with_password("dave", PASSWORD)
    assert login_service.with_password("admin", PASSWORD).next_step is NextStep.DONE


def test_mandatory_sends_users_without_a_device_to_registration(database, fixed_clock):
    boss = admin()
    add_user(boss, "alice")
    register(boss, fixed_clock)
    boss = login_with_code(fixed_clock)
    policy.set_mandatory(boss, True)
    pending = login_service.with_password("alice", PASSWORD)
    assert pending.next_step is NextStep.REGISTER_DEVICE and pending.actor is None
    registration = login_service.begin_registration(pending)
    enrollment = login_service.confirm_registration(
        pending, registration, code_at(registration.secret, fixed_clock.t)
    )
    assert enrollment.actor.username == "alice" and len(enrollment.recovery_codes) == 8


def login_with_code(fixed_clock) -> Actor:
    from qmfa_tui.storage import Device

    device = Device.get(Device.account == 1)
    secret = twofactor.device_totp(device).secret
    fixed_clock.advance(30)
    pending = login_service.with_password("admin", PASSWORD)
    return login_service.with_security_code(pending, code_at(secret, fixed_clock.t))


def test_a_login_half_done_cannot_act(database, fixed_clock):
    register(admin(), fixed_clock)
    pending = login_service.with_password("admin", PASSWORD)
    assert pending.actor is None
    with pytest.raises(NotPermitted):
        Actor(pending.user_id, pending.username)
    with pytest.raises(NotPermitted):
        PendingLogin(1, "admin", NextStep.DONE, fixed_clock.t)
    # A pending login cannot be used for a step it is not waiting for.
    with pytest.raises(NotPermitted):
        login_service.begin_registration(pending)


def test_a_pending_login_expires(database, fixed_clock):
    device = register(admin(), fixed_clock)
    pending = login_service.with_password("admin", PASSWORD)
    fixed_clock.advance(601)
    with pytest.raises(AuthenticationFailed, match="expired"):
        login_service.with_security_code(pending, code_at(device.secret, fixed_clock.t))


def test_deactivated_users_lose_their_session_and_their_second_step(database, fixed_clock):
    boss = admin()
    alice = add_user(boss, "alice")
    device = register(alice, fixed_clock)
    pending = login_service.with_password("alice", PASSWORD)
    accounts.set_active(boss, "alice", False)
    with pytest.raises(NotPermitted, match="no longer active"):
        accounts.get_user(alice, "alice")
    with pytest.raises(AuthenticationFailed, match="inactive"):
        login_service.with_security_code(pending, code_at(device.secret, fixed_clock.t))
    with pytest.raises(NotPermitted):
        accounts.set_active(boss, "admin", False)


def test_mandatory_switch_rules(database, fixed_clock):
    boss = admin()
    other_admin = add_user(boss, "root2", role="admin")
    plain = add_user(boss, "plain")
    assert policy.mandatory_refusal(plain) == policy.Refusal(
        policy.MandatoryRefusal.NOT_AN_ADMIN, "Only admins can change this."
    )
    assert policy.mandatory_refusal(boss) == policy.Refusal(
        policy.MandatoryRefusal.OWN_2FA_FIRST,
        "Turn on two-step verification for your own account first.",
    )
    with pytest.raises(NotPermitted):
        policy.set_mandatory(boss, True)
    register(boss, fixed_clock)
    register(other_admin, fixed_clock)
    assert policy.mandatory_refusal(boss) is None
    assert policy.mandatory_refusal(other_admin) is None
    from qmfa_tui.services.session import shell_actor

    policy.set_deployment(shell_actor(), "saas")
    assert policy.mandatory_refusal(other_admin) == policy.Refusal(
        policy.MandatoryRefusal.NOT_THE_SUPER_ADMIN,
        "Only the super-admin, admin, can change this on SaaS instances.",
    )
    assert policy.mandatory_refusal(boss) is None
    assert policy.set_mandatory(boss, True).mandatory
    events = audit.list_events(boss, action="settings.mandatory_on")
    assert len(events) == 1 and events[0].actor == "admin"


def test_affected_users_are_active_local_and_without_device(database, fixed_clock):
    boss = admin()
    register(boss, fixed_clock)
    add_user(boss, "alice")
    register(add_user(boss, "bob"), fixed_clock)
    accounts.create_user(boss, "carol", auth_source="ldap")
    accounts.create_user(boss, "erin", auth_source="sso")
    accounts.create_user(boss, "dave", password=PASSWORD, active=False)
    add_user(boss, "frank")
    assert policy.count_affected() == 2  # alice and frank


def test_the_shell_can_always_switch_mandatory_off_and_remove_a_device(database, fixed_clock):
    from qmfa_tui.services.session import shell_actor

    boss = admin()
    register(boss, fixed_clock)
    policy.set_mandatory(boss, True)
    shell = shell_actor()
    assert not policy.set_mandatory(shell, False).mandatory
    twofactor.remove_device(shell, "admin")
    assert [e.actor for e in audit.list_events(shell)][:2] == ["shell", "shell"]


def test_only_admins_read_the_audit_log(database):
    boss = admin()
    helpdesk = add_user(boss, "helpdesk", users_module=True)
    with pytest.raises(NotPermitted):
        audit.list_events(helpdesk)
    assert audit.list_events(boss, username="helpdesk")[0].action == "login.succeeded"


def test_change_password(database):
    boss = admin()
    with pytest.raises(AuthenticationFailed):
        accounts.change_own_password(boss, "wrong", "new password 1")
    accounts.change_own_password(boss, PASSWORD, "new password 1")
    assert login("admin", "new password 1").username == "admin"


def test_a_login_moves_an_old_hash_to_the_current_argon2_parameters(database):
    from argon2 import PasswordHasher

    from qmfa_tui.storage import Account

    boss = admin()
    add_user(boss, "alice")
    old = Account.get(Account.username == "alice").password_hash
    assert old is not None
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    assert stronger.check_needs_rehash(old)
    accounts.set_password_hasher(stronger)
    with pytest.raises(AuthenticationFailed):
        login_service.with_password("alice", "wrong password")
    assert Account.get(Account.username == "alice").password_hash == old  # only at a good login
    login("alice")
    new = Account.get(Account.username == "alice").password_hash
    assert new is not None
    assert new != old and not stronger.check_needs_rehash(new)
    stronger.verify(new, PASSWORD)
    login("alice")  # and once is enough
    assert Account.get(Account.username == "alice").password_hash == new
    events = audit.list_events(boss, action="password.rehashed")
    assert [(e.actor, e.target) for e in events] == [("alice", "alice")]


def test_the_user_record_carries_the_facts_the_screens_show(database, fixed_clock):
    """Derived once in the service: who may manage users, who is managed elsewhere, who
    may register now (only oneself, local, without a device), who runs low on codes."""
    from qmfa_tui.kinds import AuthSource
    from qmfa_tui.services.user_filter import FEW_LEFT

    boss = admin()
    alice = add_user(boss, "alice")
    add_user(boss, "holder", users_module=True)
    accounts.create_user(boss, "carol", auth_source="ldap")

    own = accounts.get_user(alice, "alice")
    assert own.is_reader and own.may_register and not own.managed_elsewhere
    assert not own.may_manage_users and not own.few_codes_left
    seen_by_boss = accounts.get_user(boss, "alice")
    assert not seen_by_boss.is_reader and not seen_by_boss.may_register
    carol = accounts.get_user(boss, "carol")
    assert carol.auth_source is AuthSource.LDAP and carol.managed_elsewhere
    assert accounts.get_user(boss, "admin").may_manage_users
    assert accounts.get_user(boss, "holder").may_manage_users

    device = register(alice, fixed_clock)
    registered = accounts.get_user(alice, "alice")
    assert not registered.may_register and not registered.few_codes_left
    for code in device.codes[: len(device.codes) - FEW_LEFT]:
        login_service.with_recovery_code(login_service.with_password("alice", PASSWORD), code)
    low = accounts.get_user(alice, "alice")
    assert low.recovery_codes_left == FEW_LEFT and low.few_codes_left


def test_a_role_is_one_of_the_roles_and_is_stored_as_its_word(database):
    boss = admin()
    add_user(boss, "alice")
    for wrong in ("owner", "Admin", ""):
        with pytest.raises(BadInput, match=r"^The role is 'admin' or 'user'\.$"):
            accounts.set_role(boss, "alice", role=wrong)
    with pytest.raises(BadInput, match="The role is 'admin' or 'user'"):
        accounts.create_user(boss, "bob", password=PASSWORD, role="root")
    assert accounts.set_role(boss, "alice", role=Role.ADMIN).is_admin
    from qmfa_tui.storage import Account

    stored = Account.select(Account.role).where(Account.username == "alice").scalar()
    assert stored == "admin" and type(stored) is str
