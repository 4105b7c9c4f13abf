"""Modals: Cancel has the focus, their own keys are in the footer, counts agree with nouns,
and the mandatory modal shows who it locks out in all the room it has."""

from __future__ import annotations

import pytest
from helpers import add_user, admin, register
from textual.widgets import DataTable, Input, Static, Switch
from tui import SIZE, settle, wait_until

from qmfa_tui.app import QmfaApp
from qmfa_tui.cli import build_parser
from qmfa_tui.screens.confirm import ConfirmScreen
from qmfa_tui.screens.mandatory import EXPORT_COMMAND, MandatoryModal
from qmfa_tui.screens.resync import ResyncScreen
from qmfa_tui.screens.settings import SettingsScreen
from qmfa_tui.screens.users import UsersScreen
from qmfa_tui.services import directory, policy
from qmfa_tui.services.policy import AFFECTED_BY_MANDATORY
from qmfa_tui.services.session import Actor
from qmfa_tui.services.user_filter import UserFilter
from qmfa_tui.text import counted
from qmfa_tui.widgets.key_bar import KeyBar


def boss_with(fixed_clock, people: int) -> Actor:
    """A registered admin (who may switch mandatory on) and `people` users without 2FA."""
    boss = admin()
    register(boss, fixed_clock)
    for number in range(people):
        add_user(
            boss,
            f"user{number:03}",
            display_name=f"Person {number}",
            email=f"person.number.{number}@example-company.com",
        )
    return boss


async def open_settings(pilot, boss: Actor) -> None:
    """Log in and open General Settings, the mandatory toggle live (settings loaded)."""
    app = pilot.app
    app.log_in(boss)
    await settle(pilot)
    await pilot.press("g")
    await wait_until(
        pilot,
        lambda: (
            isinstance(app.screen, SettingsScreen)
            and not app.screen.query_one("#mandatory", Switch).disabled
        ),
    )


async def open_modal(pilot, boss: Actor) -> MandatoryModal:
    app = pilot.app
    await open_settings(pilot, boss)
    await pilot.click("#mandatory")
    await wait_until(
        pilot, lambda: isinstance(app.screen, MandatoryModal) and app.screen.total is not None
    )
    return app.screen


def footer_keys(app: QmfaApp) -> dict[str, str]:
    """What the footer on top says: key -> description."""
    footer = app.screen.query_one(KeyBar)
    return {binding.key: binding.description for binding, _ in footer.shown_keys()}


def sentence(modal: MandatoryModal) -> str:
    return "".join(str(widget.render()) for widget in modal.query("#sentence > *"))


async def test_g_tab_enter_enter_leaves_mandatory_off(database, fixed_clock):
    """The issue's keys: Settings, the toggle, Enter opens the modal, Enter is Cancel."""
    boss = boss_with(fixed_clock, 1)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await open_settings(pilot, boss)
        await pilot.press("tab", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, MandatoryModal))
        assert app.focused is app.screen.query_one("#cancel")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SettingsScreen)
    assert not policy.instance_info().mandatory


async def test_tab_and_enter_from_the_first_focus_do_not_confirm(database, fixed_clock):
    boss = boss_with(fixed_clock, 1)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        modal = await open_modal(pilot, boss)
        assert app.focused is modal.query_one("#cancel")
        for _ in range(2):
            await pilot.press("tab", "enter")
            await settle(pilot)
            if isinstance(app.screen, UsersScreen):  # Tab wrapped to the "user" link
                await pilot.press("escape")
                await settle(pilot)
    assert not policy.instance_info().mandatory


async def test_the_footer_shows_the_mandatory_modal_keys(database, fixed_clock):
    boss = boss_with(fixed_clock, 60)  # more than a page: n is live
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await open_modal(pilot, boss)
        shown = {"escape": "Cancel", "u": "Users", "n": "Next page", "p": "Prev page"}
        # The footer follows the bindings the users' page made live, a refresh later.
        await wait_until(pilot, lambda: shown.items() <= footer_keys(app).items())
        keys = footer_keys(app)
        assert "Back" not in keys.values()  # the Settings screen's key, behind the modal
        # The footer is the topmost one, drawn on the modal screen itself.
        footer = app.screen.query_one(KeyBar)
        assert footer.region.bottom == SIZE[1] and footer.screen is app.screen
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, MandatoryModal)
        assert app.screen.page is not None and app.screen.page.has_previous


async def test_the_turn_off_confirmation_and_resync_show_their_keys(database, fixed_clock):
    boss = admin()
    register(boss, fixed_clock)
    policy.set_mandatory(boss, True)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await open_settings(pilot, boss)
        await pilot.click("#mandatory")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert app.focused is app.screen.query_one("#cancel")
        # A screen's footer lists its keys once it has been composed, a refresh later.
        await wait_until(pilot, lambda: footer_keys(app).get("escape") == "Cancel")
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("escape")  # back to the menu
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        await pilot.click("#two-factor")
        await settle(pilot)
        await pilot.click("#resync")
        await wait_until(pilot, lambda: isinstance(app.screen, ResyncScreen))
        await wait_until(pilot, lambda: footer_keys(app).get("escape") == "Cancel")
    assert policy.instance_info().mandatory


@pytest.mark.parametrize(
    ("people", "words"),
    [
        (1, "1 active user without two-step verification"),
        (2, "2 active users without two-step verification"),
    ],
)
async def test_the_count_and_its_noun_agree(database, fixed_clock, people, words):
    boss = boss_with(fixed_clock, people)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        modal = await open_modal(pilot, boss)
        assert sentence(modal) == words
        # "user(s)" is the link to the Users screen, filtered to them.
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, UsersScreen)
        summary = str(app.screen.query_one("#summary", Static).render())
        shown = f": {people} · page 1 of 1"  # the description names the users
        assert summary.endswith(shown), summary


def test_counted():
    assert counted(1, "user") == "1 user"
    assert counted(2, "user") == "2 users"
    assert counted(0, "hour") == "0 hours"
    assert counted(1234, "active local user") == "1,234 active local users"
    assert counted(3, "person", "people") == "3 people"


def test_the_export_command_lists_exactly_the_affected_users():
    args = build_parser().parse_args(EXPORT_COMMAND.split()[1:])
    listed = UserFilter(
        two_factor=args.two_factor or "all",
        status=args.status,
        auth_source=args.auth,
        search=args.search,
    )
    assert listed == AFFECTED_BY_MANDATORY and args.format == "csv"


async def test_the_modal_shows_the_export_command_as_text(database, fixed_clock):
    boss = boss_with(fixed_clock, 1)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        modal = await open_modal(pilot, boss)
        export = modal.query_one("#export", Static)
        assert str(export.render()) == f"Export: {EXPORT_COMMAND}"
        assert export.size.height == 1  # one line at 80 columns: it can be copied whole


@pytest.mark.parametrize(("size", "rows"), [(SIZE, 9), ((120, 40), 16)])
async def test_the_affected_list_uses_the_room_it_has(database, fixed_clock, size, rows):
    boss = boss_with(fixed_clock, 40)
    app = QmfaApp(database)
    async with app.run_test(size=size) as pilot:
        modal = await open_modal(pilot, boss)
        table = modal.query_one("#affected", DataTable)

        def used() -> int:
            return sum(column.width + 2 for column in table.columns.values())

        # The columns are fitted after the modal's resize, which may come after the users.
        await wait_until(
            pilot, lambda: used() == table.size.width - table.styles.scrollbar_size_vertical
        )
        assert table.size.height - 1 >= rows  # the header, then rows of users
        email = list(table.columns.values())[2]
        longest = max(
            len(row.email)
            for row in directory.page_users(boss, AFFECTED_BY_MANDATORY, size=50).rows
        )
        if size[0] >= 100:
            assert email.width >= longest  # no email cut at 120 columns
        # The columns fill the table, Email taking what is left.
        assert used() == table.size.width - table.styles.scrollbar_size_vertical


async def test_export_saves_the_cli_s_csv_to_the_path_typed(
    database, db_path, fixed_clock, tmp_path, umask_zero
):
    from cli.test_cli import qmfa

    from qmfa_tui.screens.save_file import SaveFileScreen

    boss = boss_with(fixed_clock, 3)
    add_user(boss, "zed", display_name="=cmd()", email="@SUM(A1)")  # defused alike
    downloads = tmp_path / "downloads"
    chosen = tmp_path / "chosen"
    chosen.mkdir()
    app = QmfaApp(database, downloads_dir=downloads)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_modal(pilot, boss)
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, SaveFileScreen))
        field = app.screen.query_one("#path", Input)
        assert app.focused is field
        assert field.value == str(downloads / "users-without-2fa.csv")
        field.value = str(chosen / "no-2fa.csv")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, MandatoryModal))
        assert any(
            n.message == f"Saved 4 users to {chosen / 'no-2fa.csv'}" for n in app._notifications
        )
        # The same path again: refused, and the file is left as it was.
        saved = (chosen / "no-2fa.csv").read_bytes()
        await pilot.click("#export-csv")
        await wait_until(pilot, lambda: isinstance(app.screen, SaveFileScreen))
        app.screen.query_one("#path", Input).value = str(chosen / "no-2fa.csv")
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: "already exists" in str(app.screen.query_one("#status").render())
        )
        assert isinstance(app.screen, SaveFileScreen)
        assert (chosen / "no-2fa.csv").read_bytes() == saved
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MandatoryModal)
    assert oct((chosen / "no-2fa.csv").stat().st_mode & 0o777) == "0o600"
    assert not downloads.exists()  # nothing made where the admin did not save
    printed = qmfa("--database", f"sqlite:///{db_path}", *EXPORT_COMMAND.split()[1:])
    assert printed.returncode == 0, printed.stderr
    assert saved.decode() == printed.stdout
    assert "'=cmd()" in printed.stdout and "'@SUM(A1)" in printed.stdout
