"""Pictures of the tables whose columns fit the width (see test_snapshots.py for the
rules): the Users table and the audit log at 60x20 and 120x40 (80x24 is in
test_snapshots.py)."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from tui import table_usernames, wait_until

from qmfa_tui.screens.settings import SettingsScreen
from qmfa_tui.screens.users import UsersScreen
from screens.snapshots.test_snapshots import (
    audit_log,
    logged_in,
    qmfa,
    steady,  # noqa: F401  # the autouse fixture: fixed secrets, codes and origins
    team,
)
from screens.snapshots.test_snapshots_lifecycle import SIZES, picture

WIDE_AND_NARROW = ["60x20", "120x40"]


@pytest.mark.parametrize("size", WIDE_AND_NARROW)
def test_users_columns(snap_compare, database, fixed_clock, size):
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

    assert picture(snap_compare, database, steps, UsersScreen, SIZES[size])


@pytest.mark.parametrize("size", WIDE_AND_NARROW)
def test_audit_log_columns(snap_compare, database, fixed_clock, size):
    boss = team(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await audit_log(pilot, boss)

    assert picture(snap_compare, database, steps, SettingsScreen, SIZES[size])
