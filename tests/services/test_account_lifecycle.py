"""An account's life after creation: reset and change passwords, edit the profile.

A reset password must be replaced at the next login, after the second factor and
before anything else; changing one's own password is throttled like the login.
"""

from __future__ import annotations

import pytest
from helpers import PASSWORD, FakeClock, add_user, admin, code_at, login, register, start_login

from qmfa_tui.errors import (
    AuthenticationFailed,
    BadInput,
    Conflict,
    NotPermitted,
    Throttled,
)
from qmfa_tui.services import accounts, audit, policy, twofactor
from qmfa_tui.services import login as login_service
from qmfa_tui.services.session import PENDING_LOGIN_SECONDS, NextStep, shell_actor
from qmfa_tui.storage import Account
from services.test_privilege_order import (
    ACTORS,
    ON_PREM_MANAGE,
    SAAS_MANAGE,
    TARGETS,
    Instance,
    account,
    build,
    events,
    unchanged,
)

NEW_PASSWORD = "my very own passphrase"


def actions_on(username: str) -> list[str]:
    return [event.action for event in audit.list_events(shell_actor(), username=username)]


def test_a_reset_password_logs_in_only_to_choose_a_new_one(database):
    boss = admin()
    add_user(boss, "bob")
    reset = accounts.set_password(boss, "bob")
    assert reset.generated is not None and reset.username == "bob"
    assert accounts.get_user(boss, "bob").must_change_password
    with pytest.raises(AuthenticationFailed):
        login_service.with_password("bob", PASSWORD)  # the old password is gone

    pending = login_service.with_password("bob", reset.generated)
    assert pending.next_step is NextStep.DONE and pending.actor is not None
    half = pending.actor
    assert half.password_change_due
    # It names nobody to the services: nothing but the new password is reachable.
    with pytest.raises(NotPermitted, match="Choose a new password first"):
        accounts.get_user(half, "bob")
    with pytest.raises(NotPermitted):
        twofactor.begin_registration(half)
    with pytest.raises(NotPermitted):
        accounts.change_own_password(half, reset.generated, NEW_PASSWORD)

    with pytest.raises(BadInput, match="not the one you were given"):
        login_service.choose_new_password(half, reset.generated)
    with pytest.raises(BadInput, match="at least 8"):
        login_service.choose_new_password(half, "short")
    bob = login_service.choose_new_password(half, NEW_PASSWORD)
    assert not bob.password_change_due and bob.user_id == account("bob").id
    assert not accounts.get_user(bob, "bob").must_change_password
    assert login("bob", NEW_PASSWORD).username == "bob"
    with pytest.raises(Conflict):  # the step is used up
        login_service.choose_new_password(half, "yet another passphrase")
    assert actions_on("bob")[:2] == ["login.succeeded", "user.password_changed"]
    assert "user.password_reset" in actions_on("bob")


def test_a_stolen_temporary_password_alone_gives_nothing(database, fixed_clock: FakeClock):
    boss = admin()
    bob = register(add_user(boss, "bob"), fixed_clock)
    accounts.set_password(shell_actor(), "bob", "temporary words")
    pending = start_login("bob", "temporary words")  # the code step comes first
    assert pending.actor is None
    with pytest.raises(NotPermitted, match="not waiting for a new password"):
        login_service.choose_new_password(boss, NEW_PASSWORD)
    half = login_service.with_security_code(pending, code_at(bob.secret, fixed_clock.t))
    assert half.password_change_due
    assert login_service.choose_new_password(half, NEW_PASSWORD).username == "bob"


def test_a_recovery_code_login_also_chooses_a_new_password(database, fixed_clock: FakeClock):
    boss = admin()
    bob = register(add_user(boss, "bob"), fixed_clock)
    accounts.set_password(boss, "bob", "temporary words")
    result = login_service.with_recovery_code(start_login("bob", "temporary words"), bob.codes[0])
    assert result.actor.password_change_due


def test_registration_at_login_then_the_new_password(database, fixed_clock: FakeClock):
    boss = admin()
    register(boss, fixed_clock)
    add_user(boss, "bob")
    policy.set_mandatory(boss, True)
    accounts.set_password(boss, "bob", "temporary words")
    pending = login_service.with_password("bob", "temporary words")
    assert pending.next_step is NextStep.REGISTER_DEVICE
    offer = login_service.begin_registration(pending)
    enrollment = login_service.confirm_registration(
        pending, offer, code_at(offer.secret, fixed_clock.t)
    )
    assert enrollment.actor.password_change_due and enrollment.recovery_codes


def test_the_new_password_step_expires(database, fixed_clock: FakeClock):
    boss = admin()
    add_user(boss, "bob")
    accounts.set_password(boss, "bob", "temporary words")
    half = login_service.with_password("bob", "temporary words").actor
    assert half is not None
    fixed_clock.advance(PENDING_LOGIN_SECONDS + 1)
    with pytest.raises(AuthenticationFailed, match="expired"):
        login_service.choose_new_password(half, NEW_PASSWORD)


def test_generated_passwords_are_long_and_unlike_each_other(database):
    boss = admin()
    add_user(boss, "bob")
    made = {accounts.set_password(boss, "bob").generated for _ in range(20)}
    assert len(made) == 20
    for password in made:
        assert password is not None and len(password) == 23
        assert set(password) <= set(accounts.TEMPORARY_ALPHABET) | {"-"}


def test_reset_refusals(database):
    boss = admin()
    add_user(boss, "bob")
    accounts.create_user(boss, "lena", auth_source="ldap")
    with pytest.raises(NotPermitted, match="lena signs in through LDAP: their password is managed"):
        accounts.set_password(boss, "lena")
    with pytest.raises(NotPermitted, match="Change your own password in My Account"):
        accounts.set_password(boss, "admin", "new temporary words")
    with pytest.raises(BadInput, match="at least 8"):
        accounts.set_password(boss, "bob", "short")
    assert "user.password_reset" not in actions_on("bob") + actions_on("lena")


def set_password(instance: Instance, actor, kind: str) -> None:
    name = instance.names[kind]
    before = events("user.password_reset")
    assert accounts.set_password(actor, name).generated
    assert account(name).must_change_password
    assert events("user.password_reset") == before + 1


def edit_profile(instance: Instance, actor, kind: str) -> None:
    name = instance.names[kind]
    before = events("user.profile_edited")
    info = accounts.edit_profile(actor, name, email=f"{name}.{before}@example.com")
    assert info.email == f"{name}.{before}@example.com"
    assert events("user.profile_edited") == before + 1


LIFECYCLE = {
    # Nobody resets their own password (they change it, giving the current one).
    "set password": (
        set_password,
        {
            "on-prem": {**ON_PREM_MANAGE, "super": "NYYY", "self": "NNNN"},
            "saas": {**SAAS_MANAGE, "super": "NYYY", "self": "NNNN"},
        },
    ),
    "edit profile": (edit_profile, {"on-prem": ON_PREM_MANAGE, "saas": SAAS_MANAGE}),
}


@pytest.mark.parametrize("deployment", ["on-prem", "saas"])
@pytest.mark.parametrize("action", list(LIFECYCLE))
def test_privilege_order_of_the_lifecycle(database, fixed_clock, action, deployment):
    instance = build(deployment, fixed_clock)
    run, tables = LIFECYCLE[action]
    table = tables[deployment]
    for actor_kind in ACTORS:
        for column, target_kind in enumerate(TARGETS):
            actor = instance.actor(actor_kind, target_kind)
            before = unchanged(instance, target_kind)
            hash_before = account(instance.names[target_kind]).password_hash
            try:
                run(instance, actor, target_kind)
            except NotPermitted as refusal:
                assert refusal.message
                assert unchanged(instance, target_kind) == before
                assert account(instance.names[target_kind]).password_hash == hash_before
                allowed = False
            else:
                allowed = True
            assert allowed is (table[actor_kind][column] == "Y"), (actor_kind, target_kind)


def test_changing_ones_own_password_is_throttled_like_the_login(database, fixed_clock):
    boss = admin()
    bob = add_user(boss, "bob")
    for _ in range(3):  # two free failures, then a growing delay
        with pytest.raises(AuthenticationFailed, match="current password is wrong"):
            accounts.change_own_password(bob, "wrong password", NEW_PASSWORD)
    with pytest.raises(Throttled):
        accounts.change_own_password(bob, PASSWORD, NEW_PASSWORD)
    with pytest.raises(Throttled):  # one count with the login's, from the same place
        login("bob")
    fixed_clock.advance(60)
    assert login("bob").username == "bob"  # unchanged
    assert actions_on("bob").count("user.password_change_failed") == 3


def test_changing_ones_own_password(database):
    boss = admin()
    bob = add_user(boss, "bob")
    with pytest.raises(BadInput, match="is the current one"):
        accounts.change_own_password(bob, PASSWORD, PASSWORD)
    with pytest.raises(BadInput, match="at least 8"):
        accounts.change_own_password(bob, PASSWORD, "short")
    accounts.change_own_password(bob, PASSWORD, NEW_PASSWORD)
    assert login("bob", NEW_PASSWORD).username == "bob"
    assert actions_on("bob")[1] == "user.password_changed"


def test_edit_profile(database):
    boss = admin()
    bob = add_user(boss, "bob")
    accounts.create_user(boss, "lena", auth_source="sso")
    info = accounts.edit_profile(bob, "bob", display_name="  Bob Builder ")
    assert (info.display_name, info.email) == ("Bob Builder", "")
    assert accounts.edit_profile(boss, "bob", email="bob@example.com").email == "bob@example.com"
    with pytest.raises(NotPermitted, match="lena signs in through SSO: their name and email"):
        accounts.edit_profile(boss, "lena", display_name="Lena")
    with pytest.raises(BadInput, match="control characters"):
        accounts.edit_profile(boss, "bob", display_name="Bob\x1b[2J")
    with pytest.raises(BadInput, match="Give a name"):
        accounts.edit_profile(boss, "bob")
    with pytest.raises(NotPermitted):
        accounts.edit_profile(add_user(boss, "pat"), "bob", display_name="Not Bob")
    assert actions_on("bob").count("user.profile_edited") == 2
    accounts.edit_profile(boss, "bob", email="bob@example.com")  # no change, no event
    assert actions_on("bob").count("user.profile_edited") == 2
    assert Account.get(Account.username == "bob").display_name == "Bob Builder"


def test_activate_again(database):
    boss = admin()
    add_user(boss, "bob")
    accounts.set_active(boss, "bob", False)
    with pytest.raises(AuthenticationFailed, match="inactive"):
        login("bob")
    assert accounts.set_active(boss, "bob", True).active
    assert login("bob").username == "bob"
    assert actions_on("bob")[:4] == [
        "login.succeeded",
        "user.activated",
        "login.failed",
        "user.deactivated",
    ]


def test_sudo_mode_lasts_five_minutes_from_the_password(database, fixed_clock: FakeClock):
    from qmfa_tui.services.session import CONFIRMED_SECONDS

    boss = admin()
    assert accounts.password_confirmed(boss)  # the login's password counts
    fixed_clock.advance(CONFIRMED_SECONDS)
    assert not accounts.password_confirmed(boss)
    with pytest.raises(AuthenticationFailed, match="That password is wrong"):
        accounts.confirm_password(boss, "not my password")
    assert not accounts.password_confirmed(boss)
    accounts.confirm_password(boss, PASSWORD)
    assert accounts.password_confirmed(boss)
    fixed_clock.advance(CONFIRMED_SECONDS - 1)
    assert accounts.password_confirmed(boss)
    fixed_clock.advance(1)
    assert not accounts.password_confirmed(boss)
    assert actions_on("admin")[:2] == ["user.password_confirmed", "user.password_confirm_failed"]
    assert accounts.password_confirmed(shell_actor())  # the break-glass is never asked


def test_sudo_mode_counts_from_the_password_step_and_is_throttled(database, fixed_clock: FakeClock):
    from qmfa_tui.services.session import CONFIRMED_SECONDS

    boss = admin()
    device = register(add_user(boss, "bob"), fixed_clock)
    pending = start_login("bob")
    fixed_clock.advance(CONFIRMED_SECONDS)  # a slow second step
    bob = login_service.with_security_code(pending, code_at(device.secret, fixed_clock.t))
    assert not accounts.password_confirmed(bob)
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            accounts.confirm_password(bob, "guess")
    with pytest.raises(Throttled):
        accounts.confirm_password(bob, PASSWORD)
    assert not accounts.password_confirmed(bob)
