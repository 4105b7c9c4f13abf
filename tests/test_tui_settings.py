from __future__ import annotations

import os
import pwd
import sqlite3
from datetime import datetime

import pytest
from helpers import PASSWORD, add_user, admin, login, register
from textual.widgets import DataTable, Input, Switch
from tui import SIZE, log_in_password, screen_text, settle, table_usernames, wait_until

from qmfa_tui.app import QmfaApp
from qmfa_tui.screens.main import MainScreen
from qmfa_tui.screens.mandatory import MandatoryModal
from qmfa_tui.screens.register_device import RegisterDeviceScreen
from qmfa_tui.screens.settings import SettingsScreen
from qmfa_tui.screens.users import UsersScreen
from qmfa_tui.services import accounts, audit, demo, policy, twofactor
from qmfa_tui.services import login as login_service
from qmfa_tui.services.session import Actor, shell_actor
from qmfa_tui.storage import Account


async def open_settings(pilot, actor: Actor) -> SettingsScreen:
    pilot.app.log_in(actor)
    await settle(pilot)
    await pilot.press("g")
    await settle(pilot)
    assert isinstance(pilot.app.screen, SettingsScreen)
    return pilot.app.screen


@pytest.fixture
def demo_admin(database, fixed_clock) -> Actor:
    demo.create_demo(130)
    code, _ = twofactor.demo_security_code("admin")
    return login_service.with_security_code(
        login_service.with_password("admin", demo.DEMO_PASSWORD), code
    )


def affected(db_path) -> list[str]:
    return [
        row[0]
        for row in sqlite3.connect(db_path).execute(
            "SELECT a.username FROM account a LEFT JOIN device d ON d.account_id = a.id "
            "WHERE a.active AND a.auth_source = 'local' AND d.id IS NULL ORDER BY a.username"
        )
    ]


async def test_an_admin_without_2fa_sees_why_the_toggle_is_off(database, fixed_clock):
    boss = admin()
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot, boss)
        assert screen.query_one("#mandatory", Switch).disabled
        assert "Turn on two-step verification for your own account first." in screen_text(app)
        assert screen.query_one("#my-account").display
        await pilot.click("#my-account")
        await settle(pilot)
        assert app.screen.__class__.__name__ == "UserEditScreen"


async def test_turning_mandatory_on_through_the_modal(database, db_path, demo_admin):
    wanted = affected(db_path)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot, demo_admin)
        switch = screen.query_one("#mandatory", Switch)
        assert not switch.disabled and not switch.value

        # Each step waits for the screen its worker opens or fills (a slow machine lags).
        def counted() -> bool:
            return isinstance(app.screen, MandatoryModal) and app.screen.total is not None

        # Cancel first: nothing changes.
        await pilot.click("#mandatory")
        await wait_until(pilot, counted)
        assert f"{len(wanted):,} active" in screen_text(app)
        assert "will not be able to log in" in screen_text(app)
        assert table_usernames_in(app, "#affected") == wanted[:50]
        await pilot.click("#cancel")
        await wait_until(pilot, lambda: isinstance(app.screen, SettingsScreen))
        assert not policy.instance_info().mandatory and not switch.value
        # Again, follow "Users" to the affected list and back, then confirm.
        await pilot.click("#mandatory")
        await wait_until(pilot, counted)
        await pilot.click("#users-link")
        await wait_until(
            pilot, lambda: isinstance(app.screen, UsersScreen) and app.screen.page is not None
        )
        names = table_usernames(app)
        users = app.screen
        assert isinstance(users, UsersScreen) and users.page is not None
        while users.page.has_next:
            await pilot.press("n")
            await settle(pilot)
            names += table_usernames(app)
        assert names == wanted
        await pilot.press("escape")
        await wait_until(pilot, counted)
        await pilot.click("#confirm")
        await wait_until(pilot, lambda: isinstance(app.screen, SettingsScreen) and switch.value)
        assert policy.instance_info().mandatory and switch.value
        assert "Mandatory Two-step Authentication is on." in screen_text(app)
    events = audit.list_events(demo_admin, action="settings.mandatory_on")
    assert [(e.actor, e.detail) for e in events] == [("admin", f"affected users: {len(wanted)}")]


def table_usernames_in(app: QmfaApp, selector: str) -> list[str]:
    return [str(key.value) for key in app.screen.query_one(selector, DataTable).rows]


async def test_turning_it_off_asks_and_is_audited(database, fixed_clock):
    boss = admin()
    register(boss, fixed_clock)
    policy.set_mandatory(boss, True)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await open_settings(pilot, boss)
        await pilot.click("#mandatory")
        await settle(pilot)
        assert "Turn off Mandatory Two-step Authentication?" in screen_text(app)
        await pilot.click("#confirm")
        await settle(pilot)
    assert not policy.instance_info().mandatory
    assert len(audit.list_events(boss, action="settings.mandatory_off")) == 1


async def test_with_nobody_affected_the_modal_says_so(database, fixed_clock):
    boss = admin()
    register(boss, fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await open_settings(pilot, boss)
        await pilot.click("#mandatory")
        await settle(pilot)
        assert "nobody will be locked out" in screen_text(app)
        await pilot.click("#confirm")
        await settle(pilot)
    assert policy.instance_info().mandatory


async def test_on_saas_only_the_super_admin_may_switch(database, fixed_clock):
    boss = admin()
    register(boss, fixed_clock)
    second = add_user(boss, "root2", role="admin")
    register(second, fixed_clock)
    policy.set_deployment(shell_actor(), "saas")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot, second)
        assert screen.query_one("#mandatory", Switch).disabled
        assert "Only the super-admin, admin, can change this on SaaS instances." in screen_text(app)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot, boss)
        assert not screen.query_one("#mandatory", Switch).disabled


async def test_the_my_account_link_follows_the_refusals_reason(database, fixed_clock):
    """The link to register one's own device shows for that refusal alone: on SaaS an
    admin without 2FA is refused as not the super-admin first, and gets no link."""
    boss = admin()
    register(boss, fixed_clock)
    second = add_user(boss, "root2", role="admin")
    policy.set_deployment(shell_actor(), "saas")
    refusal = policy.mandatory_refusal(second)
    assert refusal is not None and refusal.reason is policy.MandatoryRefusal.NOT_THE_SUPER_ADMIN
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot, second)
        assert refusal.message in screen_text(app)
        assert not screen.query_one("#my-account").display
    policy.set_deployment(shell_actor(), "on-prem")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot, second)
        assert policy.MandatoryRefusal.OWN_2FA_FIRST.value in screen_text(app)
        assert screen.query_one("#my-account").display


async def test_grace_period_is_set_here_and_lets_users_skip_until_the_deadline(
    database, fixed_clock
):
    boss = admin()
    register(boss, fixed_clock)
    add_user(boss, "alice")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot, boss)
        screen.query_one("#grace", Input).value = "24"
        await pilot.click("#save-grace")
        await settle(pilot)
        assert "Grace period set to 24 hours." in screen_text(app)
    policy.set_mandatory(boss, True)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_password(pilot, "alice", PASSWORD)
        assert isinstance(app.screen, RegisterDeviceScreen)
        assert "You can skip it until 2027-01-16 08:00 UTC." in screen_text(app)
        await pilot.click("#skip")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert app.session is not None and app.session.username == "alice"
        assert "before 2027-01-16 08:00 UTC" in screen_text(app)
    fixed_clock.advance(24 * 3600)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_password(pilot, "alice", PASSWORD)
        assert isinstance(app.screen, RegisterDeviceScreen)
        assert not app.screen.query("#skip")
        assert "Set it up to continue." in screen_text(app)
    assert [e.actor for e in audit.list_events(boss, action="settings.grace_period")] == ["admin"]


async def test_the_audit_tab_lists_events_newest_first(database, fixed_clock):
    boss = admin()
    add_user(boss, "alice")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot, boss)
        table = screen.query_one("#events", DataTable)
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert [(str(row[1]), str(row[2]), str(row[3])) for row in rows] == [  # literal Text
            ("alice", "login.succeeded", "alice"),
            ("admin", "user.created", "alice"),
            ("admin", "login.succeeded", "admin"),
            (f"shell (op: {pwd.getpwuid(os.geteuid()).pw_name})", "instance.initialized", "admin"),
        ]


async def test_the_audit_tab_tells_operator_commands_from_a_person_named_shell(
    database, fixed_clock, monkeypatch
):
    os_user = pwd.getpwuid(os.geteuid()).pw_name
    monkeypatch.setenv("SSH_CLIENT", "192.0.2.9 50022 22")
    monkeypatch.delenv("SUDO_USER", raising=False)
    boss = admin()
    # A user named "shell" from before the name was reserved (the services refuse it now).
    Account.create(
        username="shell",
        username_key="shell",
        created_at=datetime(2026, 1, 1),
        password_hash=accounts.hash_password(PASSWORD),
    )
    login("shell")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot, boss)
        table = screen.query_one("#events", DataTable)
        assert [str(column.label) for column in table.columns.values()][1:] == [
            "Actor",
            "Action",
            "Target",
            "Detail",
            "Origin",
        ]
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
        rows = [row[1:4] + row[5:] for row in rows]  # the Detail column aside
        assert rows == [
            # A person's origin is the SSH client's address alone.
            ["shell", "login.succeeded", "shell", "192.0.2.9"],
            ["admin", "login.succeeded", "admin", "192.0.2.9"],
            [
                f"shell (op: {os_user})",
                "instance.initialized",
                "admin",
                f"{os_user} from 192.0.2.9",
            ],
        ]


async def test_plain_users_and_users_module_holders_have_no_settings(database, fixed_clock):
    boss = admin()
    helpdesk = add_user(boss, "helpdesk", users_module=True)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        app.log_in(helpdesk)
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        assert not isinstance(app.screen, SettingsScreen)
