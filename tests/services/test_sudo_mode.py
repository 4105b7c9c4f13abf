"""Sudo mode held by the services: the sensitive things a person does to themselves
(removing their device, revealing their recovery codes, switching mandatory 2FA) need
their password given within CONFIRMED_SECONDS, whatever screen or caller asks.

Acting on another user is the privilege order's business, and the shell (the
break-glass) is never asked.
"""

from __future__ import annotations

import pytest
from helpers import PASSWORD, FakeClock, add_user, admin, confirmed, register
from textual.widgets import Switch
from tui import SIZE, screen_text, settle, type_into, wait_until

from qmfa_tui.app import QmfaApp
from qmfa_tui.errors import ConfirmPassword, NotPermitted
from qmfa_tui.screens.confirm import ConfirmScreen
from qmfa_tui.screens.mandatory import MandatoryModal
from qmfa_tui.screens.password import ConfirmPasswordModal
from qmfa_tui.screens.settings import SettingsScreen
from qmfa_tui.services import audit, policy, recovery, twofactor
from qmfa_tui.services.session import CONFIRMED_SECONDS, shell_actor
from qmfa_tui.storage import Account, Device

ASK_AGAIN = "Enter your password again to do this."


def actions() -> list[str]:
    return [event.action for event in audit.list_events(shell_actor(), limit=10_000)]


def has_device(username: str) -> bool:
    return bool(Device.select().join(Account).where(Account.username == username).exists())


def test_own_device_and_codes_need_the_password_within_five_minutes(
    database, fixed_clock: FakeClock
):
    boss = admin()
    mine = register(boss, fixed_clock)  # 30 s after the login's password step
    # The login's password counts for its first five minutes.
    assert recovery.reveal_codes(boss, "admin") == mine.codes
    fixed_clock.advance(CONFIRMED_SECONDS - 30)  # now exactly five minutes after it
    before = actions()
    with pytest.raises(NotPermitted) as refused:  # a refusal like any, with its own words
        recovery.reveal_codes(boss, "admin")
    assert isinstance(refused.value, ConfirmPassword) and refused.value.message == ASK_AGAIN
    with pytest.raises(ConfirmPassword, match=ASK_AGAIN):
        twofactor.remove_device(boss, "admin")
    assert has_device("admin")
    assert actions() == before  # nothing shown, nothing removed, nothing logged

    confirmed(boss)
    assert recovery.reveal_codes(boss, "admin") == mine.codes
    fixed_clock.advance(CONFIRMED_SECONDS - 1)
    assert twofactor.remove_device(boss, "admin").username == "admin"
    assert not has_device("admin")
    assert actions()[:3] == ["device.removed", "recovery.revealed", "user.password_confirmed"]


def test_another_users_device_and_codes_follow_the_privilege_order_alone(
    database, fixed_clock: FakeClock
):
    boss = admin()
    bob = register(add_user(boss, "bob"), fixed_clock)
    fixed_clock.advance(CONFIRMED_SECONDS * 10)  # the admin's password is long stale
    assert recovery.reveal_codes(boss, "bob") == bob.codes
    assert twofactor.remove_device(boss, "bob").username == "bob"
    # The owner himself, as stale, is asked.
    register(bob.actor, fixed_clock)
    with pytest.raises(ConfirmPassword):
        twofactor.remove_device(bob.actor, "bob")
    # The shell, the break-glass, never is.
    assert recovery.reveal_codes(shell_actor(), "bob")
    assert twofactor.remove_device(shell_actor(), "bob").username == "bob"


def test_switching_mandatory_needs_the_password_within_five_minutes(
    database, fixed_clock: FakeClock
):
    boss = admin()
    register(boss, fixed_clock)
    policy.set_mandatory(boss, True)  # the login's password, 30 s ago
    fixed_clock.advance(CONFIRMED_SECONDS)
    for enabled in (False, True):
        with pytest.raises(ConfirmPassword, match=ASK_AGAIN):
            policy.set_mandatory(boss, enabled)
    assert policy.instance_info().mandatory
    assert actions().count("settings.mandatory_off") == 0
    policy.set_mandatory(confirmed(boss), False)
    assert not policy.instance_info().mandatory
    fixed_clock.advance(CONFIRMED_SECONDS)
    policy.set_mandatory(shell_actor(), True)  # the break-glass is never asked
    assert policy.instance_info().mandatory


def test_who_may_not_switch_mandatory_is_told_why_before_being_asked(
    database, fixed_clock: FakeClock
):
    boss = admin()
    bob = add_user(boss, "bob")
    fixed_clock.advance(CONFIRMED_SECONDS)
    with pytest.raises(NotPermitted) as refused:
        policy.set_mandatory(bob, True)
    assert not isinstance(refused.value, ConfirmPassword)  # no password would help


async def open_settings(pilot, app: QmfaApp, actor) -> SettingsScreen:
    app.log_in(actor)
    await settle(pilot)
    await pilot.press("g")
    await wait_until(pilot, lambda: isinstance(app.screen, SettingsScreen))
    screen = app.screen
    assert isinstance(screen, SettingsScreen)
    await wait_until(pilot, lambda: not screen.query_one("#mandatory", Switch).disabled)
    return screen


async def test_the_mandatory_toggle_asks_for_the_password_first(database, fixed_clock):
    boss = admin()
    register(boss, fixed_clock)
    add_user(boss, "bob")
    fixed_clock.advance(CONFIRMED_SECONDS)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await open_settings(pilot, app, boss)
        await pilot.click("#mandatory")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmPasswordModal)
        assert "To turn mandatory two-step verification on" in screen_text(app)
        await pilot.press("escape")  # cancelled: nothing changes, nothing else opens
        await wait_until(pilot, lambda: isinstance(app.screen, SettingsScreen))
        assert not app.screen.query_one("#mandatory", Switch).value

        await pilot.click("#mandatory")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmPasswordModal)
        await type_into(pilot, "#password", PASSWORD)
        await wait_until(pilot, lambda: isinstance(app.screen, MandatoryModal))
        await pilot.click("#confirm")
        await wait_until(pilot, lambda: policy.instance_info().mandatory)
        # Confirmed lately: turning it off asks only the usual question.
        await wait_until(pilot, lambda: isinstance(app.screen, SettingsScreen))
        await wait_until(pilot, lambda: app.screen.query_one("#mandatory", Switch).value)
        await pilot.click("#mandatory")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
    assert actions()[:2] == ["settings.mandatory_on", "user.password_confirmed"]


async def test_the_services_refusal_is_shown_when_the_five_minutes_pass_meanwhile(
    database, fixed_clock
):
    boss = admin()
    register(boss, fixed_clock)
    add_user(boss, "bob")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await open_settings(pilot, app, boss)
        await pilot.click("#mandatory")  # the login's password is fresh: no question
        await wait_until(pilot, lambda: isinstance(app.screen, MandatoryModal))
        fixed_clock.advance(CONFIRMED_SECONDS)  # the admin reads the list for a while
        await pilot.click("#confirm")
        await wait_until(pilot, lambda: ASK_AGAIN in screen_text(app))
        assert isinstance(app.screen, SettingsScreen)
        assert not app.screen.query_one("#mandatory", Switch).value
    assert not policy.instance_info().mandatory
    assert "settings.mandatory_on" not in actions()
