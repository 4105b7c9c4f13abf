"""Customization > Users at 80x24: Esc in the search, the view kept for the session,
sorting by key and by header, the page count, and paging past a page's edge."""

from __future__ import annotations

import sqlite3

import pytest
from textual.widgets import Input, Static
from tui import SIZE, log_in_and_press, settle, table_usernames, type_into

from qmfa_tui.app import QmfaApp
from qmfa_tui.screens.main import MainScreen
from qmfa_tui.screens.users import UsersScreen
from qmfa_tui.services import demo, directory, login, twofactor
from qmfa_tui.services.session import Actor
from qmfa_tui.widgets.cycle_button import CycleButton
from qmfa_tui.widgets.user_table import UserTable

# Unused recovery codes of the user's device, counted the plainest way.
LEFT = "(SELECT count(*) FROM recovery_code r WHERE r.device_id = d.id)"
ORDERS = {
    "username": "a.username",
    "two_factor": "a.two_factor",
    "codes": f"CASE WHEN d.id IS NULL THEN {directory.NO_DEVICE_RANK} ELSE {LEFT} END",
}


@pytest.fixture
def demo_admin(database, fixed_clock) -> Actor:
    demo.create_demo(130)
    code, _ = twofactor.demo_security_code("admin")
    return login.with_security_code(login.with_password("admin", demo.DEMO_PASSWORD), code)


def ordered(db_path, column: str, *, descending: bool = False) -> list[str]:
    """The active users in the order of ``column``, then the username."""
    direction = "DESC" if descending else "ASC"
    sql = (
        "SELECT a.username FROM account a LEFT JOIN device d ON d.account_id = a.id "
        f"WHERE a.active ORDER BY {ORDERS[column]} {direction}, a.username {direction}"
    )
    return [row[0] for row in sqlite3.connect(db_path).execute(sql)]


def summary(app: QmfaApp) -> str:
    return str(app.screen.query_one("#summary", Static).render())


def notices(app: QmfaApp) -> list[str]:
    return [notice.message for notice in app._notifications]


async def every_page(pilot) -> list[str]:
    names = table_usernames(pilot.app)
    while pilot.app.screen.page.has_next:
        await pilot.press("n")
        await settle(pilot)
        names += table_usernames(pilot.app)
    return names


async def test_escape_in_the_search_leaves_the_field_and_a_second_leaves_the_screen(
    database, demo_admin
):
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_and_press(pilot, demo_admin, "u")
        await pilot.press("slash", "b", "o")
        assert isinstance(app.focused, Input) and app.focused.value == "bo"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, UsersScreen)
        assert isinstance(app.focused, UserTable)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)


async def test_filters_search_sort_and_page_are_kept_until_log_out(database, demo_admin):
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_and_press(pilot, demo_admin, "u")
        app.screen.query_one("#status", CycleButton).value = "all"
        await settle(pilot)
        await type_into(pilot, "#search", "a")  # Enter: the table has the focus
        await pilot.press("s", "S")  # by 2FA, descending
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        shown, line = table_usernames(app), summary(app)
        assert "page 2 of" in line and "by 2FA ▼" in line
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, UsersScreen)
        assert table_usernames(app) == shown and summary(app) == line
        assert app.screen.query_one("#search", Input).value == "a"
        assert app.screen.query_one("#status", CycleButton).value == "all"
        assert "Username" in app.screen.query_one(UserTable).render_line(0).text
        assert "2FA ▼" in app.screen.query_one(UserTable).render_line(0).text
        app.log_out()
        await settle(pilot)
        await log_in_and_press(pilot, demo_admin, "u")
        assert isinstance(app.screen, UsersScreen)
        assert summary(app).startswith("Active users: ") and "page 1 of" in summary(app)
        assert app.screen.query_one("#search", Input).value == ""


async def test_s_cycles_the_sort_and_shift_s_flips_it_across_every_page(
    database, db_path, demo_admin
):
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_and_press(pilot, demo_admin, "u")
        assert await every_page(pilot) == ordered(db_path, "username")
        await pilot.press("s")  # 2FA: Disabled before Enabled, then by username
        await settle(pilot)
        assert "by 2FA ▲" in summary(app) and "page 1 of 3" in summary(app)
        assert await every_page(pilot) == ordered(db_path, "two_factor")
        await pilot.press("s", "S")  # Codes, most left first
        await settle(pilot)
        assert await every_page(pilot) == ordered(db_path, "codes", descending=True)
        await pilot.press("p", "p")  # pages back retrace the same order
        await settle(pilot)
        assert table_usernames(app) == ordered(db_path, "codes", descending=True)[:50]
        await pilot.press("s")  # Created (the demo made everyone at once: by username)
        await settle(pilot)
        assert "by Created ▲" in summary(app)
        assert table_usernames(app) == ordered(db_path, "username")[:50]
        await pilot.press("s")  # back to Username
        await settle(pilot)
        assert " · by " not in summary(app)


async def test_a_click_on_a_header_sorts_by_it_and_again_flips_it(database, db_path, demo_admin):
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_and_press(pilot, demo_admin, "u")
        table = app.screen.query_one(UserTable)
        header = table.render_line(0).text
        await pilot.click(UserTable, offset=(header.index("2FA"), 0))
        await settle(pilot)
        assert table_usernames(app) == ordered(db_path, "two_factor")[:50]
        assert "2FA ▲" in table.render_line(0).text
        await pilot.click(UserTable, offset=(header.index("2FA"), 0))
        await settle(pilot)
        assert table_usernames(app) == ordered(db_path, "two_factor", descending=True)[:50]
        assert "2FA ▼" in table.render_line(0).text
        await pilot.click(UserTable, offset=(header.index("Name"), 0))  # not a sort
        await settle(pilot)
        assert table_usernames(app) == ordered(db_path, "two_factor", descending=True)[:50]


async def test_the_count_line_says_the_page_and_the_ends_of_the_list_say_so(
    database, db_path, demo_admin
):
    everyone = ordered(db_path, "username")
    pages = [everyone[i : i + 50] for i in range(0, len(everyone), 50)]
    assert len(pages) == 3
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_and_press(pilot, demo_admin, "u")
        assert summary(app) == f"Active users: {len(everyone)} · page 1 of 3"
        await pilot.press("p")
        await settle(pilot)
        assert "This is the first page." in notices(app)
        table = app.screen.query_one(UserTable)
        await pilot.press("end", "down")  # past the last row: the next page's first
        await settle(pilot)
        assert table_usernames(app) == pages[1] and table.cursor_row == 0
        assert summary(app) == f"Active users: {len(everyone)} · page 2 of 3"
        await pilot.press("up")  # before the first row: the previous page's last
        await settle(pilot)
        assert table_usernames(app) == pages[0] and table.cursor_row == len(pages[0]) - 1
        await pilot.press("n", "n")
        await settle(pilot)
        assert table_usernames(app) == pages[2]
        assert summary(app) == f"Active users: {len(everyone)} · page 3 of 3"
        assert "This is the last page." not in notices(app)
        await pilot.press("n")
        await settle(pilot)
        assert "This is the last page." in notices(app)
        await pilot.press("end", "down")  # the last row of all: the cursor stays
        await settle(pilot)
        assert table_usernames(app) == pages[2] and table.cursor_row == len(pages[2]) - 1


async def test_keys_pressed_while_a_page_is_read_apply_in_order(database, db_path, demo_admin):
    """n twice and Down past the edge, sent together: each waits for the page before it."""
    everyone = ordered(db_path, "username")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_and_press(pilot, demo_admin, "u")
        await pilot.press("end")
        await pilot.press("down", "down", "down")  # page 2's first row, then two down
        await settle(pilot)
        assert table_usernames(app) == everyone[50:100]
        assert app.screen.query_one(UserTable).cursor_row == 2
        assert "page 2 of 3" in summary(app)


async def test_the_list_the_mandatory_modal_opens_leaves_the_kept_view_alone(database, demo_admin):
    from qmfa_tui.screens.users import open_users
    from qmfa_tui.services.policy import AFFECTED_BY_MANDATORY

    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_and_press(pilot, demo_admin, "u")
        await pilot.press("n")
        await settle(pilot)
        kept = table_usernames(app)
        await pilot.press("escape")
        await settle(pilot)
        open_users(app, demo_admin, AFFECTED_BY_MANDATORY, origin="from the modal")
        await settle(pilot)
        assert app.screen.query_one("#two-factor", CycleButton).value == "disabled"
        assert "page 1 of" in summary(app)
        await pilot.press("s", "escape")
        await settle(pilot)
        await pilot.press("u")
        await settle(pilot)
        assert table_usernames(app) == kept and "page 2 of 3" in summary(app)
        assert app.screen.query_one("#two-factor", CycleButton).value == "all"


async def test_a_kept_page_whose_users_are_gone_opens_on_the_first_page(
    database, db_path, demo_admin
):
    from qmfa_tui.services import accounts
    from qmfa_tui.services.session import shell_actor

    everyone = ordered(db_path, "username")
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_and_press(pilot, demo_admin, "u")
        await pilot.press("n", "n")
        await settle(pilot)
        assert table_usernames(app) == everyone[100:]
        await pilot.press("escape")
        await settle(pilot)
        for username in everyone[100:]:  # the last page's users, deactivated meanwhile
            accounts.set_active(shell_actor(), username, False)
        await pilot.press("u")
        await settle(pilot)
        assert table_usernames(app) == everyone[:50]
        assert summary(app) == "Active users: 100 · page 1 of 2"


async def test_back_from_user_edit_shows_the_same_sorted_page(database, db_path, demo_admin):
    from qmfa_tui.screens.user_edit import UserEditScreen

    by_codes = ordered(db_path, "codes", descending=True)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_and_press(pilot, demo_admin, "u")
        await pilot.press("s", "s", "S", "n", "down", "down")
        await settle(pilot)
        assert table_usernames(app) == by_codes[50:100]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, UserEditScreen) and app.screen.username == by_codes[52]
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, UsersScreen)
        assert table_usernames(app) == by_codes[50:100]
        assert app.screen.query_one(UserTable).cursor_row == 2
        assert "page 2 of 3 · by Codes ▼" in summary(app)
