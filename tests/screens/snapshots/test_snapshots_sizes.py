"""Pictures at the sizes the other snapshot files lack (see test_snapshots.py for the
rules), for the screens issue 25 changed: 80x24, 60x20 and 120x40 each, counting the
pictures kept elsewhere (test_snapshots: 80x24; test_snapshots_columns: the audit log;
test_tui_register_key: registration; test_tui_help, test_demo_hint, test_tui_modal_sizes).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from app.test_demo_hint import demo_database
from helpers import PASSWORD, add_user, register
from textual.pilot import Pilot
from textual.widgets import Button, Input
from tui import settle, table_usernames, type_into, wait_until

from qmfa_tui import cli, storage
from qmfa_tui.screens.confirm import ConfirmScreen
from qmfa_tui.screens.help import HelpScreen
from qmfa_tui.screens.recovery_codes import RecoveryCodesScreen
from qmfa_tui.screens.recovery_login import RecoveryLoginScreen
from qmfa_tui.screens.security_code import SecurityCodeScreen
from qmfa_tui.screens.settings import SettingsScreen
from qmfa_tui.screens.user_edit import UserEditScreen, open_user_edit
from qmfa_tui.screens.users import UsersScreen
from qmfa_tui.services import accounts, demo, policy
from qmfa_tui.services.directory import PAGE_SIZE
from screens.snapshots.test_snapshots import (
    CODES,
    device_options,
    logged_in,
    qmfa,
    registered_admin,
    settings,
    steady,  # noqa: F401  # the autouse fixture: fixed secrets, codes and origins
    team,
)
from screens.snapshots.test_snapshots_lifecycle import SIZES, picture
from screens.snapshots.test_snapshots_plain_codes import picture as served_picture

NARROW_AND_WIDE = ["60x20", "120x40"]
EXTRA_USERS = PAGE_SIZE + 10  # two pages


@pytest.mark.parametrize("size", NARROW_AND_WIDE)
def test_settings_general(snap_compare, database, fixed_clock, size):
    """The mandatory toggle, the grace period and its Save (80x24: test_snapshots)."""
    boss = team(fixed_clock)
    policy.set_grace_period(boss, 24)

    async def steps(pilot: Pilot) -> None:
        await settings(pilot, boss)

    assert picture(snap_compare, database, steps, SettingsScreen, SIZES[size])


@pytest.mark.parametrize("size", NARROW_AND_WIDE)
def test_user_edit_security(snap_compare, database, fixed_clock, size):
    """Remove, Resync, Show and Download, and their keys (80x24: test_snapshots)."""
    boss = registered_admin(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await device_options(pilot, boss)

    assert picture(snap_compare, database, steps, UserEditScreen, SIZES[size])


@pytest.mark.parametrize("size", list(SIZES))
def test_users_sorted_second_page(snap_compare, database, fixed_clock, size):
    """Sorted by 2FA, on the second of two pages: "page 2 of 2"."""
    boss = team(fixed_clock)
    for number in range(EXTRA_USERS):
        accounts.create_user(
            boss, f"user{number:02}", password=PASSWORD, display_name=f"User {number:02}"
        )

    async def steps(pilot: Pilot) -> None:
        await logged_in(pilot, boss)
        await pilot.press("u")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, UsersScreen))
        await wait_until(pilot, lambda: len(table_usernames(qmfa(pilot))) == PAGE_SIZE)
        await pilot.press("s", "n")  # by 2FA, then the next page
        await wait_until(pilot, lambda: len(table_usernames(qmfa(pilot))) == 15)

    assert picture(snap_compare, database, steps, UsersScreen, SIZES[size])


@pytest.mark.parametrize("size", ["120x40"])
def test_help(snap_compare, database, fixed_clock, size):
    """(80x24 and 60x20: test_tui_help)"""
    boss = registered_admin(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await logged_in(pilot, boss)
        await pilot.press("question_mark")
        await settle(pilot)

    assert picture(snap_compare, database, steps, HelpScreen, SIZES[size])


@pytest.mark.parametrize("size", NARROW_AND_WIDE)
def test_confirm_remove_device(snap_compare, database, fixed_clock, size):
    """A confirmation with Quit and Help in its key bar (80x24: test_snapshots)."""
    boss = registered_admin(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await device_options(pilot, boss)
        pilot.app.screen.query_one("#remove", Button).press()
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))

    assert picture(snap_compare, database, steps, ConfirmScreen, SIZES[size])


@pytest.mark.parametrize("size", NARROW_AND_WIDE)
def test_recovery_codes_copied_over_ssh(snap_compare, database, fixed_clock, size):
    """The 8 codes, the buttons and Copy's advice without a scrollbar (80x24:
    test_snapshots_plain_codes)."""
    boss = registered_admin(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await logged_in(pilot, boss)
        await pilot.app.push_screen(RecoveryCodesScreen("admin", CODES, "acme-qa"))
        await settle(pilot)
        await pilot.press("c")

    assert served_picture(
        snap_compare, database, steps, RecoveryCodesScreen, size=SIZES[size], served=True
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_user_edit_codes_copied_over_ssh(snap_compare, database, fixed_clock, size):
    boss = registered_admin(fixed_clock)
    register(add_user(boss, "alice", display_name="Alice Anders"), fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await logged_in(pilot, boss)
        open_user_edit(pilot.app, boss, "alice")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, UserEditScreen))
        await pilot.press("s")
        await wait_until(pilot, lambda: bool(pilot.app.screen.query("#plain-codes")))
        await pilot.press("c")

    assert served_picture(
        snap_compare, database, steps, UserEditScreen, size=SIZES[size], served=True
    )


def demo_picture(
    snap_compare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: str, recovery: bool
) -> bool:
    """A login step on a demo database, its hint above the key bar."""
    url = demo_database(tmp_path, monkeypatch)
    app = cli.prepare_app(cli.parse_arguments(["--database", url]), open_after_paint=True)
    app.animation_level = "none"
    app.theme = "textual-dark"
    expected = RecoveryLoginScreen if recovery else SecurityCodeScreen

    async def run_before(pilot: Pilot) -> None:
        await wait_until(pilot, lambda: app.screen.query_one("#demo-hint").display)
        await type_into(pilot, "#username", "admin")
        await type_into(pilot, "#password", demo.DEMO_PASSWORD)
        await wait_until(pilot, lambda: isinstance(app.screen, SecurityCodeScreen))
        if recovery:
            await pilot.press("ctrl+r")
            await wait_until(pilot, lambda: isinstance(app.screen, RecoveryLoginScreen))
        await settle(pilot)
        for field in app.screen.query(Input):
            field.cursor_blink = False
        await settle(pilot)
        assert type(app.screen) is expected

    try:
        return bool(snap_compare(app, terminal_size=SIZES[size], run_before=run_before))
    finally:
        storage.close_database()


@pytest.mark.parametrize("size", ["120x40"])
def test_demo_security_code(snap_compare, tmp_path, monkeypatch, size):
    """(80x24 and 60x20: test_demo_hint)"""
    assert demo_picture(snap_compare, tmp_path, monkeypatch, size, recovery=False)


@pytest.mark.parametrize("size", list(SIZES))
def test_demo_recovery_code(snap_compare, tmp_path, monkeypatch, size):
    assert demo_picture(snap_compare, tmp_path, monkeypatch, size, recovery=True)
