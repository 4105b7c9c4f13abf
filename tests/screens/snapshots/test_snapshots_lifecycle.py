"""Pictures of the account-lifecycle screens (see test_snapshots.py for the rules): the
new password a reset login chooses, the temporary password shown once, Change password,
Edit name/email and Role, at 80x24 and, where a layout could break, 60x20 and 120x40."""

from __future__ import annotations

import pytest
from helpers import PASSWORD
from textual.pilot import Pilot
from textual.widgets import Button
from tui import log_in_password, type_into, wait_until

from qmfa_tui.app import QmfaApp
from qmfa_tui.screens.confirm import ConfirmScreen
from qmfa_tui.screens.password import (
    ChangePasswordModal,
    ChooseNewPasswordScreen,
    TemporaryPasswordModal,
)
from qmfa_tui.screens.profile import EditProfileModal, RoleModal
from qmfa_tui.screens.user_edit import UserEditScreen, open_user_edit
from qmfa_tui.services import accounts
from qmfa_tui.services.session import Actor, shell_actor
from qmfa_tui.storage import OpenDatabase
from screens.snapshots.test_snapshots import (
    DOWNLOADS,
    Compare,
    Steps,
    logged_in,
    steady,  # noqa: F401  # the autouse fixture: fixed secrets, codes and origins
    still,
    team,
)

TEMPORARY = "k7mqa-xv9pd-4hrtc-bn2we"
SIZES = {"80x24": (80, 24), "60x20": (60, 20), "120x40": (120, 40)}


@pytest.fixture(autouse=True)
def fixed_temporary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "temporary_password", lambda: TEMPORARY)


def picture(
    snap_compare: Compare,
    database: OpenDatabase,
    steps: Steps,
    expected: type,
    size: tuple[int, int] = SIZES["80x24"],
) -> bool:
    app = QmfaApp(database, downloads_dir=DOWNLOADS)
    app.animation_level = "none"
    app.theme = "textual-dark"

    async def run_before(pilot: Pilot) -> None:
        await steps(pilot)
        await still(pilot)
        assert type(app.screen) is expected, f"on {type(app.screen).__name__}"

    return snap_compare(app, terminal_size=size, run_before=run_before)


async def profile(pilot: Pilot, actor: Actor, username: str) -> None:
    await logged_in(pilot, actor)
    open_user_edit(pilot.app, actor, username)
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, UserEditScreen))
    await pilot.press("shift+tab", "left")  # the tabs, then Profile


async def press(pilot: Pilot, selector: str, then: type) -> None:
    pilot.app.screen.query_one(selector, Button).press()
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, then))


@pytest.mark.parametrize("size", list(SIZES))
def test_choose_new_password_at_login(snap_compare, database, fixed_clock, size):
    team(fixed_clock)
    accounts.set_password(shell_actor(), "bob", "temporary words")

    async def steps(pilot: Pilot) -> None:
        await log_in_password(pilot, "bob", "temporary words")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChooseNewPasswordScreen))

    assert picture(snap_compare, database, steps, ChooseNewPasswordScreen, SIZES[size])


def test_choose_new_password_refused(snap_compare, database, fixed_clock):
    team(fixed_clock)
    accounts.set_password(shell_actor(), "bob", "temporary words")

    async def steps(pilot: Pilot) -> None:
        await log_in_password(pilot, "bob", "temporary words")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChooseNewPasswordScreen))
        await type_into(pilot, "#new", "new words 1", submit=False)
        await type_into(pilot, "#again", "new words 2")

    assert picture(snap_compare, database, steps, ChooseNewPasswordScreen)


@pytest.mark.parametrize("size", list(SIZES))
def test_user_edit_profile_buttons(snap_compare, database, fixed_clock, size):
    boss = team(fixed_clock)
    accounts.set_password(boss, "bob")

    async def steps(pilot: Pilot) -> None:
        await profile(pilot, boss, "bob")

    assert picture(snap_compare, database, steps, UserEditScreen, SIZES[size])


def test_my_account_profile(snap_compare, database, fixed_clock):
    boss = team(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await profile(pilot, boss, "admin")

    assert picture(snap_compare, database, steps, UserEditScreen)


@pytest.mark.parametrize("size", ["80x24", "60x20"])
def test_temporary_password_shown_once(snap_compare, database, fixed_clock, size):
    boss = team(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await profile(pilot, boss, "bob")
        await press(pilot, "#reset-password", ConfirmScreen)
        await press(pilot, "#confirm", TemporaryPasswordModal)

    assert picture(snap_compare, database, steps, TemporaryPasswordModal, SIZES[size])


def test_change_password_modal(snap_compare, database, fixed_clock):
    boss = team(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await profile(pilot, boss, "admin")
        await press(pilot, "#change-password", ChangePasswordModal)
        await type_into(pilot, "#current", "not my password", submit=False)
        await type_into(pilot, "#new", PASSWORD + " 2", submit=False)
        await type_into(pilot, "#again", PASSWORD + " 2")
        await wait_until(
            pilot, lambda: "wrong" in str(pilot.app.screen.query_one("#status").render())
        )

    assert picture(snap_compare, database, steps, ChangePasswordModal)


def test_edit_profile_modal(snap_compare, database, fixed_clock):
    boss = team(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await profile(pilot, boss, "bob")
        await press(pilot, "#edit-profile", EditProfileModal)

    assert picture(snap_compare, database, steps, EditProfileModal)


def test_role_modal(snap_compare, database, fixed_clock):
    boss = team(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await profile(pilot, boss, "helpdesk")
        await press(pilot, "#role", RoleModal)

    assert picture(snap_compare, database, steps, RoleModal)


def test_confirm_password_before_showing_ones_own_codes(snap_compare, database, fixed_clock):
    from qmfa_tui.screens.password import ConfirmPasswordModal
    from qmfa_tui.services.session import CONFIRMED_SECONDS

    boss = team(fixed_clock)
    fixed_clock.advance(CONFIRMED_SECONDS)

    async def steps(pilot: Pilot) -> None:
        await logged_in(pilot, boss)
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, UserEditScreen))
        await press(pilot, "#show-codes", ConfirmPasswordModal)

    assert picture(snap_compare, database, steps, ConfirmPasswordModal)
