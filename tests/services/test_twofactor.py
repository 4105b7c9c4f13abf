from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest
from helpers import PASSWORD, add_user, admin, code_at, register, start_login

from qmfa_tui import storage
from qmfa_tui.errors import (
    AuthenticationFailed,
    BadInput,
    CodeAlreadyUsed,
    Conflict,
    NotFound,
    NotPermitted,
)
from qmfa_tui.services import accounts, audit, login, recovery, twofactor
from qmfa_tui.services.session import NextStep


def test_registration_offers_a_160_bit_secret_in_a_standard_uri(database, fixed_clock):
    actor = admin()
    pending = twofactor.begin_registration(actor)
    assert len(base64.b32decode(pending.secret)) == 20
    parts = urlsplit(pending.uri)
    assert (parts.scheme, parts.netloc, parts.path) == ("otpauth", "totp", "/qmfa:admin")
    query = parse_qs(parts.query)
    assert query["secret"] == [pending.secret]
    assert query["issuer"] == ["qmfa"]
    assert pending.secret_groups.replace(" ", "") == pending.secret
    assert all(len(group) == 4 for group in pending.secret_groups.split())
    assert twofactor.begin_registration(actor).secret != pending.secret


def test_confirming_creates_the_device_and_eight_codes_in_one_go(database, fixed_clock):
    actor = admin()
    pending = twofactor.begin_registration(actor)
    enrollment = twofactor.confirm_registration(
        actor, pending, code_at(pending.secret, fixed_clock.t)
    )
    assert len(enrollment.recovery_codes) == 8
    info = accounts.get_user(actor, "admin")
    assert info.two_factor and info.recovery_codes_left == 8
    assert [e.action for e in audit.list_events(actor)][:1] == ["device.registered"]


def test_a_wrong_confirmation_code_stores_nothing(database, fixed_clock):
    actor = admin()
    pending = twofactor.begin_registration(actor)
    wrong = code_at(pending.secret, fixed_clock.t + 300)
    with pytest.raises(AuthenticationFailed):
        twofactor.confirm_registration(actor, pending, wrong)
    assert not accounts.get_user(actor, "admin").two_factor
    # The same pending registration can still be confirmed afterwards.
    twofactor.confirm_registration(actor, pending, code_at(pending.secret, fixed_clock.t))
    assert accounts.get_user(actor, "admin").two_factor


def test_a_second_device_is_refused_until_the_first_is_removed(database, fixed_clock):
    actor = admin()
    register(actor, fixed_clock)
    with pytest.raises(Conflict):
        twofactor.begin_registration(actor)
    twofactor.remove_device(actor, "admin")
    assert twofactor.begin_registration(actor).secret


def test_registration_is_for_oneself_only(database, fixed_clock):
    boss = admin()
    alice = add_user(boss, "alice")
    pending = twofactor.begin_registration(alice)
    with pytest.raises(NotPermitted):
        twofactor.confirm_registration(boss, pending, code_at(pending.secret, fixed_clock.t))


def test_login_with_password_and_code(database, fixed_clock):
    device = register(admin(), fixed_clock)
    pending = login.with_password("admin", PASSWORD)
    assert pending.next_step is NextStep.SECURITY_CODE and pending.actor is None
    actor = login.with_security_code(pending, code_at(device.secret, fixed_clock.t))
    assert actor.username == "admin"


@pytest.mark.parametrize("typed", ["{code}", " {code} ", "{a} {b}", "{fullwidth}"])
def test_code_input_forms(database, fixed_clock, typed):
    device = register(admin(), fixed_clock)
    code = code_at(device.secret, fixed_clock.t)
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in code)
    text = typed.format(code=code, a=code[:3], b=code[3:], fullwidth=fullwidth)
    assert login.with_security_code(start_login("admin"), text).username == "admin"


@pytest.mark.parametrize("junk", ["", "12345", "1234567", "12a456", "١٢٣٤٥٦", "123-456"])
def test_malformed_codes_are_refused_plainly(database, fixed_clock, junk):
    register(admin(), fixed_clock)
    with pytest.raises(BadInput, match="6 digits"):
        login.with_security_code(start_login("admin"), junk)


def test_a_replayed_code_is_refused(database, fixed_clock):
    device = register(admin(), fixed_clock)
    code = code_at(device.secret, fixed_clock.t)
    login.with_security_code(start_login("admin"), code)
    with pytest.raises(CodeAlreadyUsed):
        login.with_security_code(start_login("admin"), code)
    # Nor does the previous step's code work any more, though it is inside the window.
    previous = code_at(device.secret, fixed_clock.t - 30)
    with pytest.raises(AuthenticationFailed):
        login.with_security_code(start_login("admin"), previous)


def test_the_confirmation_code_cannot_be_replayed_at_login(database, fixed_clock):
    actor = admin()
    pending = twofactor.begin_registration(actor)
    code = code_at(pending.secret, fixed_clock.t)
    twofactor.confirm_registration(actor, pending, code)
    with pytest.raises(CodeAlreadyUsed):
        login.with_security_code(start_login("admin"), code)


def stored_drift() -> tuple[int, int]:
    device = storage.Device.get()
    return device.drift, device.drift_anchor


def test_logins_learn_drift_within_one_step_of_the_last_resync(database, fixed_clock):
    device = register(admin(), fixed_clock)
    # The phone runs one step fast: accepted, and learned.
    login.with_security_code(start_login("admin"), code_at(device.secret, fixed_clock.t + 30))
    assert stored_drift() == (1, 0)
    # Two steps ahead in the same time step: one step past the learned drift, but two from
    # what the registration set, so refused.
    with pytest.raises(AuthenticationFailed):
        login.with_security_code(start_login("admin"), code_at(device.secret, fixed_clock.t + 60))
    # More logins one step ahead do not walk the drift further.
    for _ in range(3):
        fixed_clock.advance(30)
        login.with_security_code(start_login("admin"), code_at(device.secret, fixed_clock.t + 30))
        with pytest.raises(AuthenticationFailed):
            login.with_security_code(
                start_login("admin"), code_at(device.secret, fixed_clock.t + 60)
            )
    assert stored_drift() == (1, 0)
    # A resync learns the larger drift; from then on such codes pass.
    fixed_clock.advance(120)
    phone = fixed_clock.t + 60
    result = twofactor.resync(
        device.actor, code_at(device.secret, phone - 30), code_at(device.secret, phone)
    )
    assert result.drift_steps == 2 and stored_drift() == (2, 2)
    fixed_clock.advance(30)
    login.with_security_code(start_login("admin"), code_at(device.secret, fixed_clock.t + 60))
    fixed_clock.advance(30)
    login.with_security_code(start_login("admin"), code_at(device.secret, fixed_clock.t + 90))
    assert stored_drift() == (3, 2)


def test_a_login_moves_the_drift_by_one_step_at_most(database, fixed_clock):
    device = register(admin(), fixed_clock)
    login.with_security_code(start_login("admin"), code_at(device.secret, fixed_clock.t + 30))
    fixed_clock.advance(120)
    # One step behind the anchor is within its window, but two from the learned drift.
    with pytest.raises(AuthenticationFailed):
        login.with_security_code(start_login("admin"), code_at(device.secret, fixed_clock.t - 30))
    login.with_security_code(start_login("admin"), code_at(device.secret, fixed_clock.t))
    assert stored_drift() == (0, 0)
    fixed_clock.advance(60)
    login.with_security_code(start_login("admin"), code_at(device.secret, fixed_clock.t - 30))
    assert stored_drift() == (-1, 0)


def test_a_code_two_steps_off_is_refused_without_drift(database, fixed_clock):
    device = register(admin(), fixed_clock)
    with pytest.raises(AuthenticationFailed):
        login.with_security_code(start_login("admin"), code_at(device.secret, fixed_clock.t + 60))


@pytest.mark.parametrize("offset_seconds", [4 * 60, -3 * 3600 - 30, 7 * 3600 + 30 * 7])
def test_resync_learns_large_offsets(database, fixed_clock, offset_seconds):
    device = register(admin(), fixed_clock)
    fixed_clock.advance(4 * 3600)  # time passes; the phone's clock wanders off meanwhile
    # The user types the code shown 30 s ago, waits for the next one, types it, submits.
    phone = fixed_clock.t + offset_seconds
    result = twofactor.resync(
        device.actor, code_at(device.secret, phone - 30), code_at(device.secret, phone)
    )
    assert result.drift_seconds == offset_seconds
    # Logins at that drift pass from now on.
    fixed_clock.advance(90)
    login.with_security_code(
        start_login("admin"), code_at(device.secret, fixed_clock.t + offset_seconds)
    )


def test_resync_rejects_codes_that_are_not_consecutive(database, fixed_clock):
    device = register(admin(), fixed_clock)
    phone = fixed_clock.t + 3600
    with pytest.raises(AuthenticationFailed, match="consecutive"):
        twofactor.resync(
            device.actor, code_at(device.secret, phone), code_at(device.secret, phone + 60)
        )
    with pytest.raises(AuthenticationFailed):
        twofactor.resync(
            device.actor, code_at(device.secret, phone + 30), code_at(device.secret, phone)
        )


def test_resync_refuses_codes_before_the_last_used_one(database, fixed_clock):
    # A phone whose clock jumped back shows steps already used: taking them again would
    # reopen codes someone may have seen, so resync says what is wrong instead.
    device = register(admin(), fixed_clock)
    phone = fixed_clock.t - 600
    with pytest.raises(CodeAlreadyUsed, match="10 min behind"):
        twofactor.resync(
            device.actor, code_at(device.secret, phone - 30), code_at(device.secret, phone)
        )


def test_resync_beyond_a_day_is_not_searched(database, fixed_clock):
    device = register(admin(), fixed_clock)
    phone = fixed_clock.t + 25 * 3600
    with pytest.raises(AuthenticationFailed):
        twofactor.resync(
            device.actor, code_at(device.secret, phone), code_at(device.secret, phone + 30)
        )


def test_describe_drift():
    assert twofactor.describe_drift(-210) == "your app's clock is 3 min 30 s behind"
    assert twofactor.describe_drift(3600 + 30) == "your app's clock is 1 h 30 s ahead"
    assert twofactor.describe_drift(0) == "your app's clock agrees with the server"


def test_remove_device_and_codes_then_register_again(database, fixed_clock):
    boss = admin()
    alice = add_user(boss, "alice")
    device = register(alice, fixed_clock)
    removal = twofactor.remove_device(boss, "alice")
    assert removal.username == "alice" and not removal.registration_required_next_login
    assert accounts.get_user(boss, "alice").recovery_codes_left is None
    # Old recovery codes died with the device; alice logs in with her password alone.
    assert login.with_password("alice", PASSWORD).next_step is NextStep.DONE
    with pytest.raises(NotFound):
        twofactor.remove_device(boss, "alice")
    again = register(alice, fixed_clock)
    assert set(again.codes).isdisjoint(device.codes)
    events = audit.list_events(boss, action="device.removed")
    assert [(e.actor, e.target) for e in events] == [("admin", "alice")]


def test_only_self_or_users_module_may_remove(database, fixed_clock):
    boss = admin()
    alice = add_user(boss, "alice")
    bob = add_user(boss, "bob")
    helpdesk = add_user(boss, "helpdesk", users_module=True)
    register(alice, fixed_clock)
    with pytest.raises(NotPermitted):
        twofactor.remove_device(bob, "alice")
    assert accounts.get_user(boss, "alice").two_factor
    twofactor.remove_device(helpdesk, "alice")
    register(alice, fixed_clock)
    twofactor.remove_device(alice, "alice")


def test_recovery_codes_are_replaced_by_registering_again(database, fixed_clock):
    actor = admin()
    first = register(actor, fixed_clock)
    twofactor.remove_device(actor, "admin")
    second = register(actor, fixed_clock)
    assert recovery.reveal_codes(actor, "admin") == second.codes
    assert set(first.codes).isdisjoint(second.codes)


def test_migration_0005_anchors_existing_devices_at_their_drift(database, fixed_clock):
    from playhouse.migrations import Runner

    device = register(admin(), fixed_clock)
    storage.Device.update(drift=3, drift_anchor=3).execute()
    runner = Runner(storage.db.obj, str(storage.database.MIGRATIONS_DIR))
    runner.down(target="0005_throttle_claims_drift_anchor")
    columns = {c.name for c in storage.db.get_columns("device")}
    assert "drift_anchor" not in columns
    assert "throttled" not in {c.name for c in storage.db.get_columns("throttle")}
    runner.up()
    assert stored_drift() == (3, 3)
    # The device's codes are still read where its drift says.
    fixed_clock.advance(30)
    login.with_security_code(start_login("admin"), code_at(device.secret, fixed_clock.t + 90))
