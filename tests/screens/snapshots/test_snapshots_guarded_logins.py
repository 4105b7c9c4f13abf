"""Pictures of guarded logins (ssh, sudo through PAM) in the app (see test_snapshots.py for
the rules): the audit log with pam events at 80x24 and 60x20, and My Account saying where
the second factor was last used."""

from __future__ import annotations

import pytest
from helpers import FakeClock, add_user, code_at, register
from textual.pilot import Pilot
from textual.widgets import DataTable
from tui import wait_until

from qmfa_tui.screens.audit_event import AuditEventScreen
from qmfa_tui.screens.settings import SettingsScreen
from qmfa_tui.screens.user_edit import UserEditScreen
from qmfa_tui.services import guard
from qmfa_tui.services.session import Actor
from qmfa_tui.storage import OpenDatabase
from screens.snapshots.test_snapshots import (
    Compare,
    audit_log,
    my_account,
    registered_admin,
    steady,  # noqa: F401  # the autouse fixture: fixed secrets, codes and origins
)
from screens.snapshots.test_snapshots_lifecycle import SIZES, picture


def guarded_logins(clock: FakeClock) -> tuple[Actor, Actor]:
    """alice logs in to web1 over ssh, then sudo there, then a replay on db2 is refused."""
    boss = registered_admin(clock)
    alice = register(add_user(boss, "alice"), clock)
    ssh = guard.Origin.of(
        "web1.example.com",
        "sshd",
        "10.0.0.5",
        "ssh",
        "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8",
    )
    guard.verify("alice", code_at(alice.secret, clock.t), ssh)
    clock.advance(30)
    code = code_at(alice.secret, clock.t)
    guard.verify("alice", code, guard.Origin.of("web1.example.com", "sudo", tty="/dev/pts/0"))
    with pytest.raises(Exception, match="already used"):
        guard.verify("alice", code, guard.Origin.of("db2", "sshd", "10.0.0.7", "ssh"))
    return boss, alice.actor


@pytest.mark.parametrize("size", ["80x24", "60x20"])
def test_snapshots_audit_log_with_guarded_logins(
    snap_compare: Compare, database: OpenDatabase, fixed_clock: FakeClock, size: str
) -> None:
    boss, _ = guarded_logins(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await audit_log(pilot, boss)

    assert picture(snap_compare, database, steps, SettingsScreen, SIZES[size])


@pytest.mark.parametrize("size", ["80x24", "60x20"])
def test_snapshots_my_account_last_used_for_a_login(
    snap_compare: Compare, database: OpenDatabase, fixed_clock: FakeClock, size: str
) -> None:
    _, alice = guarded_logins(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await my_account(pilot, alice)

    assert picture(snap_compare, database, steps, UserEditScreen, SIZES[size])


def test_snapshots_audit_event_of_a_guarded_login(
    snap_compare: Compare, database: OpenDatabase, fixed_clock: FakeClock
) -> None:
    boss, _ = guarded_logins(fixed_clock)

    async def steps(pilot: Pilot) -> None:
        await audit_log(pilot, boss)
        table = pilot.app.screen.query_one("#events", DataTable)
        table.focus()
        await pilot.press("down", "down", "enter")  # the ssh login on web1
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, AuditEventScreen))

    assert picture(snap_compare, database, steps, AuditEventScreen)
