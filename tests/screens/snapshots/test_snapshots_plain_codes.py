"""Pictures of keeping the recovery codes without OSC 52 (see test_snapshots.py for the
rules): what Copy says, locally and over `qmfa serve` (where the panel must still fit
80x24 whole), the codes shown in User Edit, and the plain view at 80x24 and 60x20."""

from __future__ import annotations

import pytest
from helpers import add_user, register
from textual.pilot import Pilot
from tui import settle, wait_until

from qmfa_tui.app import QmfaApp
from qmfa_tui.screens.plain_codes import PlainCodesScreen
from qmfa_tui.screens.recovery_codes import RecoveryCodesScreen
from qmfa_tui.screens.user_edit import UserEditScreen, open_user_edit
from qmfa_tui.served_limits import ServedLimits
from qmfa_tui.storage import OpenDatabase
from screens.snapshots.test_snapshots import (
    CODES,
    DOWNLOADS,
    Compare,
    Steps,
    logged_in,
    registered_admin,
    steady,  # noqa: F401  # the autouse fixture: fixed secrets, codes and origins
    still,
)

SIZES = {"80x24": (80, 24), "60x20": (60, 20)}


def picture(
    snap_compare: Compare,
    database: OpenDatabase,
    steps: Steps,
    expected: type,
    *,
    size: tuple[int, int] = SIZES["80x24"],
    served: bool = False,
) -> bool:
    app = QmfaApp(
        database, downloads_dir=DOWNLOADS, served=ServedLimits(3600, 3600) if served else None
    )
    app.animation_level = "none"
    app.theme = "textual-dark"

    async def run_before(pilot: Pilot) -> None:
        await steps(pilot)
        await still(pilot)
        assert type(app.screen) is expected, f"on {type(app.screen).__name__}"

    return snap_compare(app, terminal_size=size, run_before=run_before)


def codes_copied(database: OpenDatabase, fixed_clock) -> Steps:
    boss = registered_admin(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await logged_in(pilot, boss)
        await pilot.app.push_screen(RecoveryCodesScreen("admin", CODES, "acme-qa"))
        await settle(pilot)
        await pilot.press("c")

    return steps


def test_recovery_codes_copied(snap_compare, database, fixed_clock):
    steps = codes_copied(database, fixed_clock)
    assert picture(snap_compare, database, steps, RecoveryCodesScreen)


def test_recovery_codes_copied_over_ssh(snap_compare, database, fixed_clock):
    """The message and the no-file line inside the panel, its border whole at 80x24."""
    steps = codes_copied(database, fixed_clock)
    assert picture(snap_compare, database, steps, RecoveryCodesScreen, served=True)


def test_user_edit_codes_copied(snap_compare, database, fixed_clock):
    boss = registered_admin(fixed_clock)
    register(add_user(boss, "alice"), fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await logged_in(pilot, boss)
        open_user_edit(pilot.app, boss, "alice")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, UserEditScreen))
        await pilot.press("s")
        await wait_until(pilot, lambda: bool(pilot.app.screen.query("#plain-codes")))
        await pilot.press("c")

    assert picture(snap_compare, database, steps, UserEditScreen)


@pytest.mark.parametrize("size", list(SIZES))
def test_plain_codes(snap_compare, database, fixed_clock, size):
    steps = codes_copied(database, fixed_clock)

    async def then_plain(pilot: Pilot) -> None:
        await steps(pilot)
        await pilot.press("v")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, PlainCodesScreen))

    assert picture(
        snap_compare, database, then_plain, PlainCodesScreen, size=SIZES[size], served=True
    )
