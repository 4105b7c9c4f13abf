"""Mandatory 2FA with a grace period: skip until the deadline, not after."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cli.test_cli import qmfa
from helpers import PASSWORD, add_user, admin, confirmed, register

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


def test_a_longer_grace_period_moves_deadlines_already_given_later(
    mandatory_with_grace, fixed_clock
):
    first = login.with_password("alice", PASSWORD).grace_deadline
    assert first is not None
    policy.set_grace_period(mandatory_with_grace, 48)
    assert login.with_password("alice", PASSWORD).grace_deadline == first + timedelta(hours=24)


def test_a_shorter_grace_period_never_takes_back_a_deadline_already_given(
    mandatory_with_grace, fixed_clock
):
    """The issue's bob: told a deadline at a 24-hour grace, then the period set to 0."""
    told = login.with_password("alice", PASSWORD).grace_deadline
    assert told == clock.utc(fixed_clock.t) + timedelta(hours=24)
    accounts.create_user(mandatory_with_grace, "bob", password=PASSWORD)  # told nothing yet
    fixed_clock.advance(3600)
    policy.set_grace_period(mandatory_with_grace, 0)
    fixed_clock.advance(3600)
    pending = login.with_password("alice", PASSWORD)
    assert pending.grace_deadline == told
    assert login.skip_registration(pending).username == "alice"
    assert accounts.get_user(mandatory_with_grace, "alice").registration_deadline == told
    # Not yet told: the shorter period is theirs.
    assert login.with_password("bob", PASSWORD).grace_deadline is None
    # Another shortening, and a lengthening below the promise, leave alice's deadline too.
    policy.set_grace_period(mandatory_with_grace, 12)
    policy.set_grace_period(mandatory_with_grace, 6)
    assert login.with_password("alice", PASSWORD).grace_deadline == told
    fixed_clock.advance(22 * 3600)  # the promise kept is kept to the minute, not beyond
    late = login.with_password("alice", PASSWORD)
    assert late.grace_deadline is None
    with pytest.raises(NotPermitted, match="grace period is over"):
        login.skip_registration(late)


def test_a_deadline_lengthened_then_given_is_kept_when_shortened_again(
    mandatory_with_grace, fixed_clock
):
    started = clock.utc(fixed_clock.t)
    login.with_password("alice", PASSWORD)
    policy.set_grace_period(mandatory_with_grace, 48)
    assert login.with_password("alice", PASSWORD).grace_deadline == started + timedelta(hours=48)
    policy.set_grace_period(mandatory_with_grace, 24)
    assert login.with_password("alice", PASSWORD).grace_deadline == started + timedelta(hours=48)
    policy.set_grace_period(mandatory_with_grace, 72)  # longer than the promise: moves later
    assert login.with_password("alice", PASSWORD).grace_deadline == started + timedelta(hours=72)


def test_the_grace_begins_at_the_first_login_not_when_mandatory_is_switched_on(
    mandatory_with_grace, fixed_clock
):
    """The modal's words: "within 24 hours of their next login"."""
    fixed_clock.advance(30 * 3600)
    pending = login.with_password("alice", PASSWORD)
    assert pending.grace_deadline == clock.utc(fixed_clock.t) + timedelta(hours=24)
    events = audit.list_events(mandatory_with_grace, action="grace.started")
    assert [e.target for e in events] == ["alice"]


def test_without_grace_a_user_told_nothing_registers_at_once(mandatory_with_grace, fixed_clock):
    policy.set_grace_period(mandatory_with_grace, 0)
    pending = login.with_password("alice", PASSWORD)
    assert pending.next_step is NextStep.REGISTER_DEVICE and pending.grace_deadline is None
    with pytest.raises(NotPermitted):
        login.skip_registration(pending)


def test_grace_change_notice_says_what_happens_to_deadlines_given():
    assert policy.grace_change_notice(24, 0) == (
        "Grace period set to 0 hours. People already told a deadline keep it."
    )
    assert policy.grace_change_notice(0, 1) == (
        "Grace period set to 1 hour. Deadlines already given move later to match."
    )
    assert policy.grace_change_notice(5, 5) == "Grace period set to 5 hours."


def test_a_user_created_later_gets_grace_from_their_first_login(mandatory_with_grace, fixed_clock):
    fixed_clock.advance(10 * 3600)
    accounts.create_user(mandatory_with_grace, "bob", password=PASSWORD)
    fixed_clock.advance(3600)
    pending = login.with_password("bob", PASSWORD)
    assert pending.grace_deadline == clock.utc(fixed_clock.t) + timedelta(hours=24)
    events = audit.list_events(mandatory_with_grace, action="grace.started")
    assert [e.target for e in events] == ["bob"]


def test_switching_mandatory_off_and_on_restarts_the_grace(mandatory_with_grace, fixed_clock):
    login.with_password("alice", PASSWORD)
    policy.set_grace_period(mandatory_with_grace, 48)
    policy.set_grace_period(mandatory_with_grace, 1)  # alice keeps 48 hours
    fixed_clock.advance(50 * 3600)
    assert login.with_password("alice", PASSWORD).grace_deadline is None
    policy.set_mandatory(confirmed(mandatory_with_grace), False)  # sudo mode: 50 h later
    assert login.with_password("alice", PASSWORD).next_step is NextStep.DONE
    policy.set_mandatory(mandatory_with_grace, True)
    # A new grace, at the period in force now: the old promise went with the old grace.
    assert login.with_password("alice", PASSWORD).grace_deadline == (
        clock.utc(fixed_clock.t) + timedelta(hours=1)
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


def test_qmfa_settings_grace_period_says_deadlines_given_are_kept(tmp_path):
    url = f"sqlite:///{tmp_path}/qmfa.db"
    assert qmfa("--database", url, "demo", "--users", "1", "--no-launch").returncode == 0
    longer = qmfa("--database", url, "settings", "grace-period", "24")
    assert longer.returncode == 0 and longer.stdout == "Grace period: 24 hours.\n"
    shorter = qmfa("--database", url, "settings", "grace-period", "2")
    assert shorter.returncode == 0, shorter.stderr
    assert shorter.stdout == "Grace period: 2 hours.\nPeople already told a deadline keep it.\n"
