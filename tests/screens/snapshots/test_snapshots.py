"""A picture of every screen and modal at 80x24, compared with the one kept in
__snapshots__/ beside this file: a cut-off line or a lost border fails here.

After a deliberate change of layout: `pytest tests/screens/snapshots/test_snapshots.py
--snapshot-update`, then look at the diff of the SVGs. A failure writes
snapshot_report.html, side by side.

Every picture must come out the same on every run: the clock is fixed, and so are the new
secret, the recovery codes, the downloads folder and the operator's name; workers have
finished, buttons do not flash when pressed and no cursor blinks when the picture is taken.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pyotp
import pytest
import pytest_textual_snapshot
from helpers import PASSWORD, FakeClock, add_user, admin, code_at, login, register, start_login
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, Switch
from tui import SIZE, log_in_password, settle, table_usernames, type_into, wait_until

from qmfa_tui.app import QmfaApp
from qmfa_tui.screens.audit_event import AuditEventScreen
from qmfa_tui.screens.confirm import ConfirmScreen
from qmfa_tui.screens.login import LoginScreen
from qmfa_tui.screens.main import MainScreen
from qmfa_tui.screens.mandatory import MandatoryModal
from qmfa_tui.screens.recovery_codes import RecoveryCodesScreen
from qmfa_tui.screens.recovery_login import RecoveryLoginScreen
from qmfa_tui.screens.register_device import RegisterDeviceScreen
from qmfa_tui.screens.resync import ResyncScreen
from qmfa_tui.screens.save_file import SaveFileScreen
from qmfa_tui.screens.security_code import SecurityCodeScreen
from qmfa_tui.screens.settings import SettingsScreen
from qmfa_tui.screens.user_edit import UserEditScreen, open_user_edit
from qmfa_tui.screens.users import UsersScreen
from qmfa_tui.services import accounts, audit, policy, recovery
from qmfa_tui.services import login as login_service
from qmfa_tui.services.session import Actor
from qmfa_tui.storage import OpenDatabase
from qmfa_tui.widgets.qmfa_app import qmfa_app

SECRET = "76NLUZIAKNAPWDCSMSL2GWJPAMC34TVC"
CODES = [
    "xr5d4-bh4hw",
    "fffz2-0z287",
    "tt6nb-pr6j2",
    "f0pmp-atnzs",
    "e7qkv-h428x",
    "v4bsz-tp3db",
    "d1e9a-bqnvk",
    "nnb37-1gmnc",
]
# Shown in the save dialogs' path fields; never written to (nothing is saved here).
DOWNLOADS = Path("/srv/downloads")

# pytest-textual-snapshot 1.0 names its extension the syrupy 4 way (`_file_extension`);
# syrupy 7 reads `file_extension`, else the pictures are kept as ".raw" files.
pytest_textual_snapshot.SVGImageExtension.file_extension = "svg"

Steps = Callable[[Pilot], Awaitable[None]]
Compare = Callable[..., bool]


@pytest.fixture(autouse=True)
def steady(monkeypatch: pytest.MonkeyPatch, fixed_clock: FakeClock) -> None:
    """What would differ between runs: a new secret, new codes, who ran the command."""
    monkeypatch.setattr(pyotp, "random_base32", lambda *args, **kwargs: SECRET)
    monkeypatch.setattr(recovery, "generate_codes", lambda count=8: CODES[:count])
    monkeypatch.setattr(audit, "operator_origin", lambda: "root")
    monkeypatch.setattr(audit, "person_origin", lambda: "")
    monkeypatch.delenv("NO_COLOR", raising=False)  # read by each App: a grey picture
    # No 0.2 s pressed look on a button: a button pressed just before a modal opened was
    # sometimes drawn pressed behind it, when the test ran on a busy machine.
    monkeypatch.setattr(Button, "_start_active_affect", lambda self: None)


async def still(pilot: Pilot) -> None:
    """Workers done, no blinking cursor."""
    app = pilot.app
    await settle(pilot)
    for screen in app.screen_stack:
        for field in screen.query(Input):
            field.cursor_blink = False  # hides the cursor: its blink depends on timing
    await settle(pilot)


def qmfa(pilot: Pilot) -> QmfaApp:
    return qmfa_app(pilot.app.screen)


def picture(snap_compare: Compare, database: OpenDatabase, steps: Steps, expected: type) -> bool:
    """Run the app at 80x24 through ``steps``; compare the screen with the kept picture."""
    app = QmfaApp(database, downloads_dir=DOWNLOADS)
    app.animation_level = "none"
    app.theme = "textual-dark"  # whatever TEXTUAL_THEME says where the tests run

    async def run_before(pilot: Pilot) -> None:
        await steps(pilot)
        await still(pilot)
        # A picture of the wrong screen would pass as long as it never changes.
        assert type(app.screen) is expected, f"on {type(app.screen).__name__}"

    return snap_compare(app, terminal_size=SIZE, run_before=run_before)


# --- what the pictures show -----------------------------------------------------------


def registered_admin(clock: FakeClock) -> Actor:
    boss = admin()
    register(boss, clock)
    return boss


def team(clock: FakeClock) -> Actor:
    """The admin (2FA on), alice with 2 codes left, bob without 2FA, a helpdesk, an LDAP user."""
    boss = registered_admin(clock)
    alice = add_user(boss, "alice", display_name="Alice Anders", email="alice@example.com")
    device = register(alice, clock)
    for code in device.codes[:6]:
        login_service.with_recovery_code(start_login("alice"), code)
    add_user(boss, "bob", display_name="Bob Brown", email="bob.brown@example.com")
    add_user(boss, "helpdesk", display_name="Help Desk", users_module=True)
    accounts.create_user(boss, "carol", auth_source="ldap", display_name="Carol Chen")
    return boss


async def logged_in(pilot: Pilot, actor: Actor) -> None:
    pilot.app.log_in(actor)  # type: ignore[attr-defined]
    await settle(pilot)


async def my_account(pilot: Pilot, actor: Actor) -> None:
    await logged_in(pilot, actor)
    await pilot.press("a")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, UserEditScreen))


async def device_options(pilot: Pilot, actor: Actor) -> None:
    """My Account > Security with the toggle pressed: Remove and Resync shown."""
    await my_account(pilot, actor)
    await pilot.click("#two-factor")
    await wait_until(pilot, lambda: bool(pilot.app.screen.query("#remove")))


async def settings(pilot: Pilot, actor: Actor) -> None:
    await logged_in(pilot, actor)
    await pilot.press("g")
    await wait_until(
        pilot,
        lambda: (
            isinstance(pilot.app.screen, SettingsScreen) and pilot.app.screen.instance is not None
        ),
    )


async def audit_log(pilot: Pilot, actor: Actor) -> None:
    await settings(pilot, actor)
    await pilot.click("#tabs", offset=(22, 0))  # the "Audit log" tab
    await wait_until(pilot, lambda: pilot.app.screen.query_one("#events", DataTable).row_count > 0)


async def mandatory_modal(pilot: Pilot, actor: Actor) -> None:
    await settings(pilot, actor)
    await wait_until(pilot, lambda: not pilot.app.screen.query_one("#mandatory", Switch).disabled)
    await pilot.click("#mandatory")
    await wait_until(
        pilot,
        lambda: isinstance(pilot.app.screen, MandatoryModal) and pilot.app.screen.total is not None,
    )


# --- login --------------------------------------------------------------------------


def test_login_empty(snap_compare, database, fixed_clock):
    admin()

    async def steps(pilot: Pilot) -> None:
        await settle(pilot)

    assert picture(snap_compare, database, steps, LoginScreen)


def test_login_refused(snap_compare, database, fixed_clock):
    admin()

    async def steps(pilot: Pilot) -> None:
        await log_in_password(pilot, "admin", "not the password")

    assert picture(snap_compare, database, steps, LoginScreen)


def test_security_code(snap_compare, database, fixed_clock):
    registered_admin(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await log_in_password(pilot, "admin", PASSWORD)

    assert picture(snap_compare, database, steps, SecurityCodeScreen)


def test_login_with_recovery_code(snap_compare, database, fixed_clock):
    registered_admin(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await log_in_password(pilot, "admin", PASSWORD)
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, RecoveryLoginScreen))

    assert picture(snap_compare, database, steps, RecoveryLoginScreen)


def test_register_device_during_login_when_mandatory(snap_compare, database, fixed_clock):
    boss = registered_admin(fixed_clock)
    add_user(boss, "alice")
    policy.set_grace_period(boss, 72)
    policy.set_mandatory(boss, True)

    async def steps(pilot: Pilot) -> None:
        await log_in_password(pilot, "alice", PASSWORD)
        await wait_until(
            pilot,
            lambda: (
                isinstance(pilot.app.screen, RegisterDeviceScreen)
                and pilot.app.screen.registration is not None
            ),
        )

    assert picture(snap_compare, database, steps, RegisterDeviceScreen)


# --- My Account: registration ------------------------------------------------------------


async def registering(pilot: Pilot, actor: Actor) -> None:
    await my_account(pilot, actor)
    await pilot.press("enter")  # on the toggle
    await wait_until(
        pilot,
        lambda: (
            isinstance(pilot.app.screen, RegisterDeviceScreen)
            and pilot.app.screen.registration is not None
        ),
    )


def test_register_device_from_my_account(snap_compare, database, fixed_clock):
    boss = admin()

    async def steps(pilot: Pilot) -> None:
        await registering(pilot, boss)

    assert picture(snap_compare, database, steps, RegisterDeviceScreen)


def test_register_device_wrong_code(snap_compare, database, fixed_clock):
    """The refusal wraps inside the form, under the buttons, with nothing cut off."""
    boss = admin()
    wrong = "000000" if code_at(SECRET, fixed_clock.t) != "000000" else "111111"

    async def steps(pilot: Pilot) -> None:
        await registering(pilot, boss)
        await type_into(pilot, "#code", wrong)
        await wait_until(pilot, lambda: pilot.app.screen.query_one("#status").has_class("-error"))

    assert picture(snap_compare, database, steps, RegisterDeviceScreen)


def test_recovery_codes_after_registration(snap_compare, database, fixed_clock):
    boss = admin()

    async def steps(pilot: Pilot) -> None:
        await registering(pilot, boss)
        await type_into(pilot, "#code", code_at(SECRET, fixed_clock.t))
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, RecoveryCodesScreen))

    assert picture(snap_compare, database, steps, RecoveryCodesScreen)


def test_save_file_dialog(snap_compare, database, fixed_clock):
    boss = admin()

    async def steps(pilot: Pilot) -> None:
        await registering(pilot, boss)
        await type_into(pilot, "#code", code_at(SECRET, fixed_clock.t))
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, RecoveryCodesScreen))
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, SaveFileScreen))

    assert picture(snap_compare, database, steps, SaveFileScreen)


# --- the menu, Users and User Edit -------------------------------------------------------


def test_main_menu_admin(snap_compare, database, fixed_clock):
    boss = registered_admin(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await logged_in(pilot, boss)
        await wait_until(
            pilot, lambda: isinstance(pilot.app.screen, MainScreen) and qmfa(pilot).is_admin
        )

    assert picture(snap_compare, database, steps, MainScreen)


def test_users(snap_compare, database, fixed_clock):
    boss = team(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await logged_in(pilot, boss)
        await pilot.press("u")
        await wait_until(
            pilot,
            lambda: (
                isinstance(pilot.app.screen, UsersScreen) and len(table_usernames(qmfa(pilot))) == 5
            ),
        )

    assert picture(snap_compare, database, steps, UsersScreen)


def test_user_edit_security_with_remove_and_resync(snap_compare, database, fixed_clock):
    boss = registered_admin(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await device_options(pilot, boss)

    assert picture(snap_compare, database, steps, UserEditScreen)


def test_user_edit_profile(snap_compare, database, fixed_clock):
    boss = team(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await logged_in(pilot, boss)
        open_user_edit(pilot.app, boss, "alice")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, UserEditScreen))
        await pilot.press("shift+tab", "left")  # the tabs, then Profile

    assert picture(snap_compare, database, steps, UserEditScreen)


def test_user_edit_of_an_admin_as_helpdesk(snap_compare, database, fixed_clock):
    team(fixed_clock)
    helpdesk = login("helpdesk")

    async def steps(pilot: Pilot) -> None:
        await logged_in(pilot, helpdesk)
        open_user_edit(pilot.app, helpdesk, "admin")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, UserEditScreen))

    assert picture(snap_compare, database, steps, UserEditScreen)


def test_confirm_remove_device(snap_compare, database, fixed_clock):
    boss = registered_admin(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await device_options(pilot, boss)
        pilot.app.screen.query_one("#remove", Button).press()
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))

    assert picture(snap_compare, database, steps, ConfirmScreen)


def test_resync_modal(snap_compare, database, fixed_clock):
    boss = registered_admin(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await device_options(pilot, boss)
        pilot.app.screen.query_one("#resync", Button).press()
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ResyncScreen))

    assert picture(snap_compare, database, steps, ResyncScreen)


# --- General Settings & Audit ----------------------------------------------------------


def test_settings_general(snap_compare, database, fixed_clock):
    boss = registered_admin(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await settings(pilot, boss)

    assert picture(snap_compare, database, steps, SettingsScreen)


def test_settings_audit_log(snap_compare, database, fixed_clock):
    boss = team(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await audit_log(pilot, boss)

    assert picture(snap_compare, database, steps, SettingsScreen)


def test_audit_event_modal(snap_compare, database, fixed_clock):
    boss = team(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await audit_log(pilot, boss)
        pilot.app.screen.query_one("#events", DataTable).focus()
        await pilot.press("enter")  # the newest event
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, AuditEventScreen))

    assert picture(snap_compare, database, steps, AuditEventScreen)


def test_mandatory_modal(snap_compare, database, fixed_clock):
    boss = team(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await mandatory_modal(pilot, boss)

    assert picture(snap_compare, database, steps, MandatoryModal)


def test_export_users_modal(snap_compare, database, fixed_clock):
    boss = team(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await mandatory_modal(pilot, boss)
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, SaveFileScreen))

    assert picture(snap_compare, database, steps, SaveFileScreen)


def test_confirm_turn_off_mandatory(snap_compare, database, fixed_clock):
    boss = registered_admin(fixed_clock)
    policy.set_mandatory(boss, True)

    async def steps(pilot: Pilot) -> None:
        await settings(pilot, boss)
        await pilot.click("#mandatory")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))

    assert picture(snap_compare, database, steps, ConfirmScreen)
