"""Columns give their spare width to the cut ones (issue 25, item 8)."""

from __future__ import annotations

import pytest
from helpers import add_user, admin
from textual.widgets import DataTable

from qmfa_tui.app import QmfaApp
from qmfa_tui.services import policy
from qmfa_tui.services.session import shell_actor
from qmfa_tui.widgets.user_table import UserTable
from screens.test_tui_layout import open_users, screen_lines
from screens.test_tui_settings import open_settings, show_audit_tab

LONG_USERNAME = "quinn.jensen.operations"  # 23 characters: cut at 18 before


async def test_a_long_username_is_whole_while_name_and_email_have_room(database, fixed_clock):
    boss = admin()
    add_user(boss, LONG_USERNAME, display_name="Quinn", email="q@ex.org")
    app = QmfaApp(database)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_users(pilot, boss)
        table = screen.query_one("#users", UserTable)
        lines = screen_lines(app)
        shown = lines[table.region.y : table.region.bottom]
        assert any(f" {LONG_USERNAME} " in line for line in shown)
        assert not any("quinn.jensen" in line and "…" in line for line in shown)
        # Name and Email take no more room than their longest value on the page.
        longest_name = max(len(row.display_name) for row in table.rows)
        longest_email = max(len(row.email) for row in table.rows)
        assert (table.width_of("Name") or 0) <= max(len("Name"), longest_name)
        assert (table.width_of("Email") or 0) <= max(len("Email"), longest_email)


@pytest.mark.parametrize("size", [(60, 20), (80, 24)])
async def test_the_audit_table_fits_the_width_and_cut_cells_end_with_an_ellipsis(
    database, fixed_clock, size
):
    boss = admin()
    for name in ("alice", "bob", "carol", "dave", "erin", "frank", "helpdesk"):
        add_user(boss, name)  # more rows than the table's height: a vertical scrollbar
    policy.set_grace_period(shell_actor(), 48)  # "settings.grace_period": cut at 60
    app = QmfaApp(database)
    async with app.run_test(size=size) as pilot:
        screen = await open_settings(pilot, boss)
        await show_audit_tab(pilot, screen)
        table = screen.query_one("#events", DataTable)
        assert table.max_scroll_x == 0 and not table.show_horizontal_scrollbar
        columns = table.ordered_columns
        labels = [str(column.label) for column in columns]
        assert {"When (UTC)", "Actor", "Action", "Detail"} <= set(labels)
        whole = {
            "Actor": [event.actor_short for event in screen.events],
            "Action": [event.action for event in screen.events],
            "Detail": [event.detail for event in screen.events],
        }
        cut = 0
        for row in range(table.row_count):
            line = table.render_line(row + 1).text  # line 0: the header
            start = 0
            for column in columns:
                cell = line[start + 1 : start + 1 + column.width].rstrip()
                start += column.width + 2
                label = str(column.label)
                if label in whole:
                    value = whole[label][row]
                    assert cell == value or (cell.endswith("…") and value.startswith(cell[:-1])), (
                        label,
                        cell,
                        value,
                    )
                    cut += cell != value
        assert cut  # the long ones were cut, and said so
