"""Mandatory 2FA with a grace period: skip until the deadline, not after."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import PASSWORD, add_user, admin, register

from qmfa_tui.errors import BadInput, NotPermitted
from qmfa_tui.services import accounts, audit, clock, login, policy
from qmfa_tui.services.session import NextStep


@pytest.fixture
def mandatory_with_grace(database, fixed_clock):
    boss = admin()
    register(boss, fixed_clock)
    add_user(boss, "alice")
    policy.set_grace_period(boss, 24)
    policy.set_mandatory(boss, True)
    return boss


def test_a_user_may_skip_until_the_deadline_and_not_after(mandatory_with_grace, fixed_clock):
    switched_on = clock.utc(fixed_clock.t)
    pending = login.with_password("alice", PASSWORD)
    assert pending.next_step is NextStep.REGISTER_DEVICE
    assert pending.grace_deadline == switched_on + timedelta(hours=24)
    actor = login.skip_registration(pending)
    assert actor.username == "alice"
    info = accounts.get_user(actor, "alice")
    assert info.registration_required and info.registration_deadline == pending.grace_deadline
    fixed_clock.advance(24 * 3600)
    late = login.with_password("alice", PASSWORD)
    assert late.next_step is NextStep.REGISTER_DEVICE and late.grace_deadline is None
    with pytest.raises(NotPermitted, match="grace period is over"):
        login.skip_registration(late)


def test_changing_the_grace_period_moves_every_deadline(mandatory_with_grace, fixed_clock):
    first = login.with_password("alice", PASSWORD).grace_deadline
    assert first is not None
    policy.set_grace_period(mandatory_with_grace, 48)
    assert login.with_password("alice", PASSWORD).grace_deadline == first + timedelta(hours=24)
    policy.set_grace_period(mandatory_with_grace, 0)
    pending = login.with_password("alice", PASSWORD)
    assert pending.grace_deadline is None
    with pytest.raises(NotPermitted):
        login.skip_registration(pending)


def test_a_user_created_later_gets_grace_from_their_first_login(mandatory_with_grace, fixed_clock):
    fixed_clock.advance(10 * 3600)
    accounts.create_user(mandatory_with_grace, "bob", password=PASSWORD)
    fixed_clock.advance(3600)
    pending = login.with_password("bob", PASSWORD)
    assert pending.grace_deadline == clock.utc(fixed_clock.t) + timedelta(hours=24)
    events = audit.list_events(mandatory_with_grace, action="grace.started")
    assert [e.target for e in events] == ["bob"]


def test_switching_mandatory_off_and_on_restarts_the_grace(mandatory_with_grace, fixed_clock):
    fixed_clock.advance(30 * 3600)
    assert login.with_password("alice", PASSWORD).grace_deadline is None
    policy.set_mandatory(mandatory_with_grace, False)
    assert login.with_password("alice", PASSWORD).next_step is NextStep.DONE
    policy.set_mandatory(mandatory_with_grace, True)
    assert login.with_password("alice", PASSWORD).grace_deadline == (
        clock.utc(fixed_clock.t) + timedelta(hours=24)
    )


def test_without_grace_registration_is_forced_at_once(database, fixed_clock):
    boss = admin()
    register(boss, fixed_clock)
    add_user(boss, "alice")
    policy.set_mandatory(boss, True)
    pending = login.with_password("alice", PASSWORD)
    assert pending.next_step is NextStep.REGISTER_DEVICE and pending.grace_deadline is None


def test_grace_period_rules(database, fixed_clock):
    boss = admin()
    with pytest.raises(NotPermitted, match="own account first"):
        policy.set_grace_period(boss, 5)
    register(boss, fixed_clock)
    with pytest.raises(BadInput):
        policy.set_grace_period(boss, -1)
    with pytest.raises(BadInput):
        policy.set_grace_period(boss, 100_000)
    assert policy.set_grace_period(boss, 5).grace_period_hours == 5
    assert [e.detail for e in audit.list_events(boss, action="settings.grace_period")] == [
        "5 hours"
    ]
