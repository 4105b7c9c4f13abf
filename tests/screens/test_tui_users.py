from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest
from helpers import add_user, admin, code_at, register, start_login
from textual.screen import Screen
from textual.widgets import OptionList, Static, Switch
from tui import SIZE, log_in_and_press, screen_text, settle, table_usernames, type_into

from qmfa_tui.app import QmfaApp
from qmfa_tui.errors import StorageError
from qmfa_tui.screens.confirm import ConfirmScreen
from qmfa_tui.screens.login import LoginScreen
from qmfa_tui.screens.resync import ResyncScreen
from qmfa_tui.screens.user_edit import UserEditScreen, open_user_edit
from qmfa_tui.screens.users import UsersScreen
from qmfa_tui.screens.users import open_users as users_key
from qmfa_tui.services import (
    accounts,
    audit,
    demo,
    directory,
    login,
    policy,
    recovery,
    twofactor,
)
from qmfa_tui.services.session import Actor, shell_actor
from qmfa_tui.services.user_filter import UserFilter
from qmfa_tui.widgets.cycle_button import CycleButton
from qmfa_tui.widgets.status_line import StatusLine
from qmfa_tui.widgets.user_table import UserTable


@pytest.fixture
def demo_admin(database, fixed_clock) -> Actor:
    demo.create_demo(130)
    code, _ = twofactor.demo_security_code("admin")
    return login.with_security_code(login.with_password("admin", demo.DEMO_PASSWORD), code)


async def open_users(pilot, actor: Actor, **kwargs) -> UsersScreen:
    pilot.app.log_in(actor)
    await settle(pilot)
    await pilot.app.push_screen(UsersScreen(actor, **kwargs))
    await settle(pilot)
    return pilot.app.screen


async def all_pages(pilot) -> list[str]:
    screen = pilot.app.screen
    names = table_usernames(pilot.app)
    while screen.page.has_next:
        await pilot.press("n")
        await settle(pilot)
        names += table_usernames(pilot.app)
    return names


async def own_device_option(pilot, actor: Actor, option: str) -> None:
    """My Account > Security: click the toggle, then Remove or Resync."""
    pilot.app.log_in(actor)
    await settle(pilot)
    await pilot.press("a")
    await settle(pilot)
    await pilot.click("#two-factor")
    await settle(pilot)
    await pilot.click(option)
    await settle(pilot)


async def open_user_edit_as(pilot, actor: Actor, username: str) -> None:
    """Log in, then open User Edit as Enter on a Users row or My Account does."""
    pilot.app.log_in(actor)
    await settle(pilot)
    open_user_edit(pilot.app, actor, username)
    await settle(pilot)


def direct(db_path, where: str) -> list[str]:
    sql = (
        "SELECT a.username FROM account a LEFT JOIN device d ON d.account_id = a.id "
        f"WHERE {where} ORDER BY a.username"
    )
    return [row[0] for row in sqlite3.connect(db_path).execute(sql)]


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ("enabled", "a.active AND d.id IS NOT NULL"),
        ("disabled", "a.active AND d.id IS NULL"),
        ("all", "a.active"),
    ],
)
async def test_2fa_filter_lists_exactly_the_matching_users(
    database, db_path, demo_admin, value, where
):
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await open_users(pilot, demo_admin)
        app.screen.query_one("#two-factor", CycleButton).value = value
        await settle(pilot)
        wanted = direct(db_path, where)
        page_count = -(-len(wanted) // 50)
        assert f": {len(wanted):,} · page 1 of {page_count}" in screen_text(app)
        names = await all_pages(pilot)
        assert names == wanted  # every page in order: no gaps, no repeats
        pages = [wanted[i : i + 50] for i in range(0, len(wanted), 50)]
        await pilot.press("p")  # back one page (on a single page, nowhere to go)
        await settle(pilot)
        assert table_usernames(app) == pages[-2 if len(pages) > 1 else 0]


CODES_LEFT = "(SELECT count(*) FROM recovery_code r WHERE r.device_id = d.id)"


async def test_the_codes_filter_cycles_through_none_few_and_more(database, db_path, demo_admin):
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_users(pilot, demo_admin)
        button = screen.query_one("#codes", CycleButton)
        assert str(button.render()) == "Codes: All ▸"
        for label, value, condition in (
            ("None", "none", "= 0"),
            ("1-2", "few", "BETWEEN 1 AND 2"),
            ("3+", "more", "> 2"),
        ):
            button.focus()
            await pilot.press("enter")
            await settle(pilot)
            assert str(button.render()) == f"Codes: {label} ▸"
            assert screen.user_filter.codes == value
            wanted = direct(db_path, f"a.active AND d.id IS NOT NULL AND {CODES_LEFT} {condition}")
            assert wanted and screen.total == len(wanted)
            assert f": {len(wanted):,} · page 1 of 1" in screen_text(app)
            assert await all_pages(pilot) == wanted
        button.focus()
        await pilot.press("enter")  # back to All
        await settle(pilot)
        assert screen.user_filter.codes == "all"
        assert len(direct(db_path, "a.active")) == screen.total


async def test_search_and_status_narrow_the_list(database, db_path, demo_admin):
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await open_users(pilot, demo_admin)
        await type_into(pilot, "#search", "Abe")
        wanted = direct(
            db_path,
            "a.active AND (a.display_name LIKE '%abe%' OR "
            "a.username LIKE '%abe%' OR a.email LIKE '%abe%')",
        )
        assert 0 < len(wanted) < 50
        assert table_usernames(app) == wanted
        app.screen.query_one("#status", CycleButton).value = "inactive"
        await settle(pilot)
        assert table_usernames(app) == direct(
            db_path,
            "NOT a.active AND (a.display_name LIKE '%abe%' OR a.username LIKE '%abe%' "
            "OR a.email LIKE '%abe%')",
        )


async def test_preset_filter_from_the_mandatory_modal(database, db_path, demo_admin):
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await open_users(
            pilot,
            demo_admin,
            user_filter=policy.AFFECTED_BY_MANDATORY,
            origin="affected by mandatory 2FA",
        )
        text = screen_text(app)
        assert "Active local users with 2FA disabled (affected by mandatory 2FA)" in text
        wanted = direct(db_path, "a.active AND a.auth_source = 'local' AND d.id IS NULL")
        assert await all_pages(pilot) == wanted
        assert app.screen.query_one("#two-factor", CycleButton).value == "disabled"


async def test_admin_removes_a_device_and_the_table_row_follows(database, fixed_clock):
    boss = admin()
    register(boss, fixed_clock)
    alice = add_user(boss, "alice")
    register(alice, fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await open_users(pilot, boss)
        assert table_usernames(app) == ["admin", "alice"]
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, UserEditScreen) and app.screen.username == "alice"
        hint = "Press Enter on the toggle (or click it) to show the Remove option."
        assert hint in screen_text(app)
        assert not app.screen.query("#remove")
        await pilot.click("#two-factor")
        await settle(pilot)
        assert app.screen.query_one(Switch).value  # the toggle shows options, changes nothing
        assert app.screen.query_one("#remove").display
        assert not app.screen.query("#resync")  # another user's phone
        await pilot.click("#remove")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen) and "alice" in screen_text(app)
        await pilot.click("#confirm")
        await settle(pilot)
        assert not accounts.get_user(boss, "alice").two_factor
        assert "Disabled" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, UsersScreen)
        rows = {row.username: row for row in app.screen.query_one("#users", UserTable).rows}
        assert not rows["alice"].two_factor
    events = audit.list_events(boss, action="device.removed")
    assert [(e.actor, e.target) for e in events] == [("admin", "alice")]


@pytest.mark.parametrize(("size", "width_class"), [((80, 24), "-wide"), ((60, 20), "-narrow")])
async def test_the_users_key_draws_rows_count_and_width_in_the_first_drawing(
    database, demo_admin, monkeypatch, size, width_class
):
    """The first page and the count are read before the screen is pushed, and the
    width's class is set before its children are styled: its first drawing is whole."""
    drawings: list[tuple[str, int, set[str]]] = []
    compositor_refresh = UsersScreen._compositor_refresh

    def noting(screen: UsersScreen) -> None:
        compositor_refresh(screen)
        summary = str(screen.query_one("#summary", Static).render())
        drawings.append((summary, len(screen.query_one(UserTable).rows), set(screen.classes)))

    monkeypatch.setattr(UsersScreen, "_compositor_refresh", noting)
    total = directory.count_users(demo_admin, UserFilter())
    app = QmfaApp(database)
    async with app.run_test(size=size) as pilot:
        await log_in_and_press(pilot, demo_admin, "u")
        assert isinstance(app.screen, UsersScreen)
    summary, rows, classes = drawings[0]
    assert "counting" not in summary, summary
    assert f"Active users: {total:,} · page 1 of 3" == summary
    assert rows == 50 and width_class in classes


async def test_the_users_key_opens_the_screen_even_if_reading_fails(
    database, demo_admin, monkeypatch
):
    def failing(*args: object, **kwargs: object) -> int:
        raise StorageError("The database failed: disk I/O error")

    monkeypatch.setattr(directory, "count_users", failing)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_and_press(pilot, demo_admin, "u")
        assert isinstance(app.screen, UsersScreen)
        assert "disk I/O error" in screen_text(app)
        assert table_usernames(app)  # the page was read: only the count failed


async def test_a_plain_user_has_no_users_screen(database, fixed_clock):
    plain = add_user(admin(), "plain")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        app.log_in(plain)
        await settle(pilot)
        await pilot.press("u")
        await settle(pilot)
        assert not isinstance(app.screen, UsersScreen)
        assert "Customization > Users" not in str(app.screen.query_one("#menu", OptionList).options)


async def test_resync_at_four_minutes_drift_through_the_modal(database, fixed_clock):
    boss = admin()
    device = register(boss, fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await own_device_option(pilot, boss, "#resync")
        assert isinstance(app.screen, ResyncScreen)
        phone = fixed_clock.t + 240
        await type_into(pilot, "#first", code_at(device.secret, phone + 60))
        await type_into(pilot, "#second", code_at(device.secret, phone))
        assert "not found as consecutive codes" in screen_text(app)
        await type_into(pilot, "#first", code_at(device.secret, phone - 30))
        await type_into(pilot, "#second", code_at(device.secret, phone))
        assert isinstance(app.screen, UserEditScreen)
        assert "your app's clock is 4 min ahead" in screen_text(app)
    fixed_clock.advance(600)
    actor = login.with_security_code(
        start_login("admin"), code_at(device.secret, fixed_clock.t + 240)
    )
    assert actor.username == "admin"


async def test_a_users_module_holder_reveals_codes_and_it_is_audited(database, fixed_clock):
    boss = admin()
    helpdesk = add_user(boss, "helpdesk", users_module=True)
    alice = add_user(boss, "alice")
    device = register(alice, fixed_clock)
    login.with_recovery_code(start_login("alice"), device.codes[0])
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await open_users(pilot, helpdesk)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, UserEditScreen) and app.screen.username == "alice"
        assert "Recovery codes: 7 of 8 left" in screen_text(app)
        await pilot.click("#show-codes")
        await settle(pilot)
        shown = screen_text(app)
        assert all(code in shown for code in device.codes[1:])
        assert device.codes[0] not in shown
    reveals = audit.list_events(boss, action="recovery.revealed")
    assert [(e.actor, e.target) for e in reveals] == [("helpdesk", "alice")]


async def test_removing_ones_own_device_under_mandatory_warns(database, fixed_clock):

    boss = admin()
    register(boss, fixed_clock)
    policy.set_mandatory(boss, True)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await own_device_option(pilot, boss, "#remove")
        assert "your next login will require registering" in screen_text(app)
        await pilot.click("#cancel")
        await settle(pilot)
    assert accounts.get_user(boss, "admin").two_factor


async def test_ldap_users_are_managed_elsewhere(database, fixed_clock):
    boss = admin()
    accounts.create_user(boss, "carol", auth_source="ldap")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await open_user_edit_as(pilot, boss, "carol")
        assert "managed by their identity provider (LDAP)" in screen_text(app)
        assert app.screen.query_one(Switch).disabled


async def test_filter_controls_cycle_by_key_and_click(database, demo_admin):
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_users(pilot, demo_admin)
        button = screen.query_one("#two-factor", CycleButton)
        button.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert button.value == "enabled" and screen.user_filter.two_factor == "enabled"
        assert "2FA: Enabled" in str(button.label)
        assert button.content_size.width >= len(str(button.label))  # shown whole, not cut
        for key in ("space", "enter"):
            await pilot.press(key)
            await settle(pilot)
        assert button.value == "all"
        await pilot.click("#status")
        await settle(pilot)
        assert screen.user_filter.status == "inactive"


async def test_the_table_moves_scrolls_and_opens_with_the_keyboard(database, demo_admin):
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_users(pilot, demo_admin)
        table = screen.query_one("#users", UserTable)
        assert table.render_line(0).text.split()[:4] == ["Username", "▲", "2FA", "Codes"]
        await pilot.press("end")
        await settle(pilot)
        last = table.rows[-1]
        assert table.cursor_row == len(table.rows) - 1
        assert table.scroll_offset.y > 0  # scrolled, and the header still heads the view
        assert table.render_line(0).text.split()[:2] == ["Username", "▲"]
        bottom = table.scrollable_content_region.height - 1  # above the horizontal scrollbar
        assert last.username in table.render_line(bottom).text
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, UserEditScreen) and app.screen.username == last.username


async def test_few_recovery_codes_are_highlighted(database, demo_admin):
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_users(pilot, demo_admin)
        await type_into(pilot, "#search", "helpdesk")
        table = screen.query_one("#users", UserTable)
        assert [row.codes_left for row in table.rows] == [2]
        line = table.render_line(1)
        codes = next(segment for segment in line if segment.text.startswith("2/8"))
        others = next(segment for segment in line if segment.text.startswith("helpdesk"))
        assert codes.style is not None and codes.style.bold and codes.style != others.style


async def test_an_admin_filters_opens_reveals_and_removes_with_the_keyboard(database, fixed_clock):
    """The Done-when over SSH: no mouse, only keys, from the Users table to a removed device."""
    boss = admin()
    alice = add_user(boss, "alice")
    device = register(alice, fixed_clock)
    add_user(boss, "bob")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_users(pilot, boss)
        screen.query_one("#two-factor", CycleButton).focus()
        await pilot.press("enter")  # 2FA: All -> Enabled
        await settle(pilot)
        assert table_usernames(app) == ["alice"]
        await pilot.press("tab", "tab", "tab", "tab", "tab")  # past Status, Source, Codes, Search
        assert isinstance(app.focused, type(screen.query_one("#users")))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, UserEditScreen) and app.focused.id == "two-factor"
        await pilot.press("tab", "enter")  # Show
        await settle(pilot)
        assert all(code in screen_text(app) for code in device.codes)
        await pilot.press("shift+tab", "space")  # the toggle: Remove appears after it
        await settle(pilot)
        assert app.focused.id == "two-factor"
        await pilot.press("tab")
        assert app.focused.id == "remove"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("shift+tab", "enter")  # from Cancel (the default) to Remove
        await settle(pilot)
        assert isinstance(app.screen, UserEditScreen)
        assert "Two-step verification removed for alice." in screen_text(app)
        assert not any(code in screen_text(app) for code in device.codes)  # gone with the device
        assert not app.screen.query("#show-codes")
        assert app.focused.id == "two-factor"  # Remove went away; the keyboard stays on the page
    assert not accounts.get_user(boss, "alice").two_factor


async def test_profile_tab_by_key_and_by_click(database, fixed_clock):
    boss = admin()
    add_user(boss, "alice", display_name="Alice Anders")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await open_user_edit_as(pilot, boss, "alice")
        assert "Name:         Alice Anders" not in screen_text(app)  # Security comes first
        await pilot.press("shift+tab", "left")
        await pilot.pause()
        assert "Name:         Alice Anders" in screen_text(app)
        assert not app.screen.query_one("#security").display
        await pilot.click("#tabs", offset=(12, 0))  # " Profile  Security ": on Security
        await pilot.pause()
        assert app.screen.query_one("#security").display
        assert "Name:         Alice Anders" not in screen_text(app)


async def test_opening_a_user_one_may_not_see_says_why(database, fixed_clock):
    boss = admin()
    plain = add_user(boss, "plain")
    add_user(boss, "alice")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await open_user_edit_as(pilot, plain, "alice")
        assert not isinstance(app.screen, UserEditScreen)
        assert any(n.severity == "error" for n in app._notifications)


async def test_a_double_enter_opens_one_user_edit(database, fixed_clock):
    boss = admin()
    add_user(boss, "alice")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        users = await open_users(pilot, boss)
        open_user_edit(users, boss, "alice")  # Enter twice before the first one's screen is up
        open_user_edit(users, boss, "alice")
        await settle(pilot)
        assert sum(isinstance(s, UserEditScreen) for s in app.screen_stack) == 1


async def test_a_device_removed_elsewhere_shows_as_removed(database, fixed_clock):
    boss = admin()
    alice = add_user(boss, "alice")
    register(alice, fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await open_user_edit_as(pilot, boss, "alice")
        twofactor.remove_device(alice, "alice")  # alice, in another terminal
        await pilot.click("#show-codes")
        await settle(pilot)
        text = screen_text(app)
        assert "alice has no two-step verification device." in text
        assert "Disabled" in text and not app.screen.query("#show-codes")  # read again


def demo_login(username: str) -> Actor:
    code, _ = twofactor.demo_security_code(username)
    return login.with_security_code(login.with_password(username, demo.DEMO_PASSWORD), code)


async def test_helpdesk_sees_why_not_instead_of_an_admins_buttons(database, fixed_clock):
    """The demo's helpdesk (Users module, not admin): admin's codes and device are out of
    reach, with the reason in place of Show / Download / Remove; bob's codes are not."""
    demo.create_demo(len(demo.NAMED))
    helpdesk = demo_login("helpdesk")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await open_user_edit_as(pilot, helpdesk, "admin")
        assert isinstance(app.screen, UserEditScreen) and app.screen.username == "admin"
        text = screen_text(app)
        assert "Only an admin can manage an admin's recovery codes" in text
        assert "Recovery codes: 8 of 8 left" in text
        assert not app.screen.query("#show-codes, #download-codes, #remove")
        await pilot.click("#two-factor")  # no Remove appears; the reason is said once
        await settle(pilot)
        assert not app.screen.query("#remove, #resync")
        assert "Only an admin can manage" not in str(app.screen.query_one(StatusLine).render())
        assert screen_text(app).count("Only an admin can manage") == 1
        await pilot.press("escape")
        await settle(pilot)
        open_user_edit(pilot.app, helpdesk, "bob")
        await settle(pilot)
        assert app.screen.username == "bob" and not app.screen.query("#manage-refusal")
        await pilot.click("#show-codes")
        await settle(pilot)
        bobs = recovery.reveal_codes(shell_actor(), "bob")
        assert len(bobs) == 5 and all(code in screen_text(app) for code in bobs)
    reveals = audit.list_events(shell_actor(), action="recovery.revealed")
    assert [(e.actor, e.target) for e in reveals] == [("shell", "bob"), ("helpdesk", "bob")]
    assert audit.list_events(shell_actor(), action="device.removed") == []


async def test_a_user_made_admin_meanwhile_is_shown_out_of_reach(database, fixed_clock):
    boss = admin()
    helpdesk = add_user(boss, "helpdesk", users_module=True)
    register(add_user(boss, "alice"), fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await open_user_edit_as(pilot, helpdesk, "alice")
        accounts.set_role(boss, "alice", role="admin")  # in another terminal
        await pilot.click("#show-codes")
        await settle(pilot)
        assert "Only an admin can manage an admin's" in screen_text(app)
        assert not app.screen.query("#show-codes, #download-codes")  # read again
    assert audit.list_events(boss, action="recovery.revealed") == []


async def test_a_pushed_screen_is_styled_once_as_it_mounts(database, fixed_clock, monkeypatch):
    """Textual restyles a screen whole on every ScreenResume; the first one came right
    after the screen was styled as it mounted (StyledOnMount skips that one)."""
    boss = admin()
    add_user(boss, "alice")
    restyled: list[str] = []
    update_node_styles = Screen.update_node_styles

    def noting(screen: Screen, animate: bool = True) -> None:
        restyled.append(type(screen).__name__)
        update_node_styles(screen, animate)

    monkeypatch.setattr(Screen, "update_node_styles", noting)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await open_user_edit_as(pilot, boss, "alice")
        assert isinstance(app.screen, UserEditScreen)
        assert "UserEditScreen" not in restyled
        title = app.screen.query_one("#title")
        assert title.styles.text_style.bold and title.styles.margin.left == 1  # styled
        assert "User Edit: alice" in screen_text(app)


@pytest.mark.parametrize("opening", ["users", "user edit"])
async def test_a_screen_read_for_a_session_that_logged_out_meanwhile_is_not_shown(
    database, demo_admin, monkeypatch, opening
):
    """The Users key and Enter on a row read in a worker, then push: a log-out in
    between leaves the login screen with nothing of the session over it."""
    reading, release = threading.Event(), threading.Event()
    service, name = (directory, "page_users") if opening == "users" else (accounts, "get_user")
    real = getattr(service, name)

    def slow(*args: object, **kwargs: object) -> object:
        reading.set()
        release.wait(10)
        return real(*args, **kwargs)

    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        app.log_in(demo_admin)
        await settle(pilot)
        monkeypatch.setattr(service, name, slow)  # the main menu has read its user
        if opening == "users":
            users_key(app, demo_admin)
        else:
            open_user_edit(app, demo_admin, "admin")
        await asyncio.to_thread(reading.wait, 10)
        app.log_out()
        await pilot.pause()
        release.set()
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert not any(isinstance(s, UsersScreen | UserEditScreen) for s in app.screen_stack)
