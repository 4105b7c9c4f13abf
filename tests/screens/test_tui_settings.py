from __future__ import annotations

import os
import pwd
import sqlite3
from datetime import datetime

import pytest
from helpers import PASSWORD, add_user, admin, login, register
from textual.widgets import ContentSwitcher, DataTable, Input, Static, Switch
from tui import (
    SIZE,
    click_shown,
    log_in_password,
    screen_text,
    settle,
    table_usernames,
    wait_until,
)

from qmfa_tui.app import QmfaApp
from qmfa_tui.errors import AuthenticationFailed
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
        await click_shown(pilot, "#mandatory")
        await wait_until(pilot, counted)
        assert f"{len(wanted):,} active" in screen_text(app)
        assert "will have to register a device at their next login." in screen_text(app)
        assert table_usernames_in(app, "#affected") == wanted[:50]
        await click_shown(pilot, "#cancel")
        await wait_until(pilot, lambda: isinstance(app.screen, SettingsScreen))
        assert not policy.instance_info().mandatory and not switch.value
        # Again, follow "Users" to the affected list and back, then confirm.
        await click_shown(pilot, "#mandatory")
        await wait_until(pilot, counted)
        await click_shown(pilot, "#users-link")
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
        await click_shown(pilot, "#confirm")
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
        await click_shown(pilot, "#confirm")
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
        assert "nobody has to register a device" in screen_text(app)
        await click_shown(pilot, "#confirm")
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


def audit_actions(screen: SettingsScreen) -> list[tuple[str, str]]:
    table = screen.query_one("#events", DataTable)
    return [
        (str(table.get_row_at(i)[2]), str(table.get_row_at(i)[3])) for i in range(table.row_count)
    ]


async def show_audit_tab(pilot, screen: SettingsScreen) -> None:
    await pilot.click("#tabs", offset=(22, 0))  # the "Audit log" tab
    await settle(pilot)
    assert screen.query_one(ContentSwitcher).current == "audit"


async def test_enter_in_the_action_field_accepts_the_suggestion_shown(database, fixed_clock):
    """`log` shows `login.` in grey (what every login action starts with): Enter searches
    for that, and finds every login event, as the grey text said it would."""
    boss = admin()
    add_user(boss, "alice")
    with pytest.raises(AuthenticationFailed):
        login_service.with_password("alice", "not the password")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot, boss)
        await show_audit_tab(pilot, screen)
        field = screen.query_one("#audit-action", Input)
        field.focus()
        await pilot.press(*"log")
        await wait_until(pilot, lambda: field._suggestion == "login.")
        await pilot.press("enter")
        await settle(pilot)
        assert field.value == "login."
        assert audit_actions(screen) == [
            ("login.failed", "alice"),
            ("login.succeeded", "alice"),
            ("login.succeeded", "admin"),
        ]
        await pilot.press(*"f")
        await wait_until(pilot, lambda: field._suggestion == "login.failed")
        await pilot.press("enter")
        await settle(pilot)
        assert field.value == "login.failed"
        assert audit_actions(screen) == [("login.failed", "alice")]


async def test_the_audit_log_refreshes_when_its_tab_is_shown_and_on_r(database, fixed_clock):
    boss = admin()
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot, boss)
        add_user(boss, "bob")  # while the General tab is shown
        await show_audit_tab(pilot, screen)
        assert ("user.created", "bob") in audit_actions(screen)
        screen.query_one("#events", DataTable).focus()
        add_user(boss, "carol")
        await pilot.press("r")
        await settle(pilot)
        assert audit_actions(screen)[:2] == [
            ("login.succeeded", "carol"),
            ("user.created", "carol"),
        ]
        assert app.screen.active_bindings["r"].binding.description == "Refresh"
        assert "r: refresh." in screen_text(app)  # said where the key bar has no room


async def test_shortening_the_grace_period_says_deadlines_given_are_kept(database, fixed_clock):
    boss = admin()
    register(boss, fixed_clock)
    accounts.create_user(boss, "bob", password=PASSWORD)
    policy.set_grace_period(boss, 24)
    policy.set_mandatory(boss, True)
    told = login_service.with_password("bob", PASSWORD).grace_deadline
    assert told is not None
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot, boss)
        screen.query_one("#grace", Input).value = "0"
        await pilot.click("#save-grace")
        await settle(pilot)
        said = "Grace period set to 0 hours. People already told a deadline keep it."
        assert said in screen_text(app)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_password(pilot, "bob", PASSWORD)
        assert isinstance(app.screen, RegisterDeviceScreen)
        assert f"You can skip it until {told:%Y-%m-%d %H:%M} UTC." in screen_text(app)


@pytest.mark.parametrize(
    ("grace_hours", "consequence"),
    [
        (0, "will have to register a device at their next login."),
        (24, "will have to register a device within 24 hours of their next login."),
        (1, "will have to register a device within 1 hour of their next login."),
    ],
)
async def test_the_mandatory_modal_says_what_will_happen(
    database, fixed_clock, grace_hours, consequence
):
    boss = admin()
    register(boss, fixed_clock)
    for name in ("alice", "bob"):
        add_user(boss, name)
    policy.set_grace_period(boss, grace_hours)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await open_settings(pilot, boss)
        await pilot.click("#mandatory")
        await wait_until(
            pilot, lambda: isinstance(app.screen, MandatoryModal) and app.screen.total is not None
        )
        modal = app.screen
        sentence = "".join(str(part.render()) for part in modal.query("#sentence > *"))
        assert sentence == "2 active users without two-step verification"
        assert str(modal.query_one("#until", Static).render()) == consequence
        text = screen_text(app)
        assert "will not be able to log in" not in text and "locked out" not in text
        # Everything the modal says, and its key bar, fit in 80x24.
        assert modal.query_one("#until").region.bottom <= SIZE[1]
        await pilot.press("u")
        await wait_until(
            pilot, lambda: isinstance(app.screen, UsersScreen) and app.screen.page is not None
        )
        title = str(app.screen.query_one("#summary", Static).render())
        assert "(who will have to register a device)" in title
        assert "locked out" not in title
