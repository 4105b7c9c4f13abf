"""Guarded logins (ssh, sudo through PAM) in the app: the audit log shows where each came
from and filters by host; My Account and User Edit say where the second factor was last
used; the Settings key bar offers the audit's keys on its tab only."""

from __future__ import annotations

import pytest
from helpers import add_user, admin, code_at, register
from textual.widgets import ContentSwitcher, DataTable, Static
from tui import SIZE, settle, type_into, wait_until

from qmfa_tui.app import QmfaApp
from qmfa_tui.screens.audit_event import AuditEventScreen
from qmfa_tui.screens.settings import SettingsScreen
from qmfa_tui.screens.user_edit import UserEditScreen, open_user_edit
from qmfa_tui.services import audit, guard
from qmfa_tui.storage import Account, db
from qmfa_tui.widgets.key_bar import KeyBar

WEB1 = guard.Origin.of("web1", "sshd", "10.0.0.5", "ssh", "SHA256:abc")
WEB10 = guard.Origin.of("web10", "sudo", tty="/dev/pts/3")


async def open_settings(pilot, actor) -> SettingsScreen:
    pilot.app.log_in(actor)
    await settle(pilot)
    await pilot.press("g")
    await settle(pilot)
    assert isinstance(pilot.app.screen, SettingsScreen)
    return pilot.app.screen


async def show_audit_tab(pilot, screen: SettingsScreen) -> None:
    await pilot.click("#tabs", offset=(22, 0))  # the "Audit log" tab
    await settle(pilot)
    assert screen.query_one(ContentSwitcher).current == "audit"


def shown_keys(screen) -> list[str]:
    return [binding.key for binding, _ in screen.query_one(KeyBar).shown_keys()]


def table_rows(screen: SettingsScreen) -> tuple[list[str], list[list[str]]]:
    table = screen.query_one("#events", DataTable)
    labels = [str(column.label) for column in table.columns.values()]
    rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
    return labels, rows


def guarded_logins_of_alice(fixed_clock):
    boss = admin()
    alice = register(add_user(boss, "alice"), fixed_clock)
    guard.verify("alice", code_at(alice.secret, fixed_clock.t), WEB1)
    fixed_clock.advance(30)
    guard.verify("alice", code_at(alice.secret, fixed_clock.t), WEB10)
    return boss, alice


async def test_the_audit_log_shows_where_guarded_logins_came_from_at_80x24(database, fixed_clock):
    boss, _ = guarded_logins_of_alice(fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot, boss)
        await show_audit_tab(pilot, screen)
        labels, rows = table_rows(screen)
        # At 80 columns one column gives way: Target (the user themself), not Origin.
        assert labels == ["When (UTC)", "Actor", "Action", "Detail", "Origin"]
        assert rows[0][2:] == ["pam.verified", "security code", "web10 (sudo)"]
        assert rows[1][2:] == ["pam.verified", "security code", "web1 (sshd from 10.0.0.5)"]
        # Without a guarded login on the page, Origin goes first, as before.
        await type_into(pilot, "#audit-action", "user.")
        assert table_rows(screen)[0] == ["When (UTC)", "Actor", "Action", "Target", "Detail"]


async def test_the_host_field_filters_the_audit_log_by_the_whole_host_name(database, fixed_clock):
    boss, _ = guarded_logins_of_alice(fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot, boss)
        await show_audit_tab(pilot, screen)
        await type_into(pilot, "#audit-host", "WEB1")
        assert [row[-1] for row in table_rows(screen)[1]] == ["web1 (sshd from 10.0.0.5)"]
        await type_into(pilot, "#audit-host", "web")
        assert table_rows(screen)[1] == []
        assert "No events match these filters." in str(
            screen.query_one("#audit-help", Static).render()
        )
        await type_into(pilot, "#audit-host", "web1,web10")
        help_line = str(screen.query_one("#audit-help", Static).render())
        assert help_line == "A host name has no comma."
        await type_into(pilot, "#audit-host", "")
        assert len(table_rows(screen)[1]) == len(audit.list_events(boss))


async def test_the_audit_event_modal_shows_a_guarded_logins_origin_field_by_field(
    database, fixed_clock
):
    boss, _ = guarded_logins_of_alice(fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot, boss)
        await show_audit_tab(pilot, screen)
        await type_into(pilot, "#audit-host", "web1")
        screen.query_one("#events", DataTable).focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, AuditEventScreen))
        fields = [
            (
                str(row.query_one(".label", Static).render()),
                str(row.query_one(".value", Static).render()),
            )
            for row in app.screen.query(".field")
        ]
        assert fields[4:] == [
            ("Target:", "alice"),
            ("Host:", "web1"),
            ("Via:", "sshd"),
            ("From:", "10.0.0.5"),
            ("TTY:", "ssh"),
            ("Key:", "SHA256:abc"),
            ("Detail:", "security code"),
        ]


async def test_the_settings_key_bar_shows_the_audit_keys_on_the_audit_tab_only(
    database, fixed_clock
):
    boss = admin()
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot, boss)
        general = shown_keys(screen)
        assert not {"n", "p", "r"} & set(general)
        offset = screen.audit_offset
        await pilot.press("n")  # no key there: nothing pages
        await settle(pilot)
        assert screen.audit_offset == offset
        await show_audit_tab(pilot, screen)
        assert {"n", "p", "r"} <= set(shown_keys(screen))
        await pilot.click("#tabs", offset=(2, 0))  # back to General Settings
        await settle(pilot)
        assert not {"n", "p", "r"} & set(shown_keys(screen))


def last_used_text(app: QmfaApp) -> str:
    return str(app.screen.query_one("#last-used", Static).render())


@pytest.mark.parametrize("reader", ["alice", "admin"])
async def test_my_account_and_user_edit_say_where_the_factor_was_last_used(
    database, fixed_clock, reader
):
    boss, alice = guarded_logins_of_alice(fixed_clock)
    actor = alice.actor if reader == "alice" else boss
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        app.log_in(actor)
        await settle(pilot)
        if reader == "alice":
            await pilot.press("a")  # My Account
        else:
            open_user_edit(app, boss, "alice")
        await wait_until(pilot, lambda: isinstance(app.screen, UserEditScreen))
        expected = guard.last_verified(boss, "alice")  # the second login, on web10
        assert expected is not None
        assert last_used_text(app) == (
            f"Last used for a login: sudo on web10, {expected.at:%Y-%m-%d %H:%M} UTC"
        )


async def test_not_used_yet_is_said_only_where_logins_are_guarded(database, fixed_clock):
    """An instance that guards no login says nothing of it; one that does says that a
    factor was not used yet, and nothing for a user without a factor."""
    boss = admin()
    register(add_user(boss, "alice"), fixed_clock)
    add_user(boss, "bob")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        app.log_in(boss)
        await settle(pilot)

        async def user_edit(username: str) -> None:
            open_user_edit(app, boss, username)
            await wait_until(
                pilot,
                lambda: isinstance(app.screen, UserEditScreen) and app.screen.username == username,
            )

        await user_edit("alice")
        assert not app.screen.query("#last-used")
        await pilot.press("escape")
        await settle(pilot)
        carol = register(add_user(boss, "carol"), fixed_clock)
        guard.verify("carol", code_at(carol.secret, fixed_clock.t), WEB1)
        await user_edit("alice")
        assert last_used_text(app) == "Not used for an SSH or sudo login yet."
        await pilot.press("escape")
        await settle(pilot)
        await user_edit("bob")
        assert not app.screen.query("#last-used")


async def test_a_hostile_host_name_is_shown_as_literal_text(database, fixed_clock, tmp_path):
    """The origin comes from a server's environment: markup and control characters in it
    (written past the guard's cleaning) are shown as text, never read or sent raw."""
    _, alice = guarded_logins_of_alice(fixed_clock)
    fixed_clock.advance(30)
    hostile = (
        f"host [@click=app.screenshot('x.svg','{tmp_path}')]web[/]\x1b]2;pwned\x07, "
        "[b]sshd[/b] from 10.0.0.5"
    )
    account = Account.get(Account.username == "alice")
    with db.atomic():
        audit.record(account, guard.VERIFIED, target=account, detail="x", origin=hostile)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        app.log_in(alice.actor)
        await settle(pilot)
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, UserEditScreen))
        text = last_used_text(app)
        assert text.startswith(
            "Last used for a login: [b]sshd[/b] on "
            f"[@click=app.screenshot('x.svg','{tmp_path}')]web[/]\\x1b]2;pwned\\x07, "
        )
        assert "\x1b" not in text and "\x07" not in text
        await pilot.click("#last-used", offset=(40, 0))  # where a link would be
        await settle(pilot)
        assert not list(tmp_path.glob("*.svg"))
        assert isinstance(app.screen, UserEditScreen)
