"""Every screen fits 80x24 and 60x20: the fields and buttons on screen, nothing cut
without an ellipsis."""

from __future__ import annotations

import re

import pytest
from helpers import PASSWORD, add_user, admin, register
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import ContentSwitcher, DataTable, Input
from tui import log_in_password, settle, type_into

from qmfa_tui.app import QmfaApp
from qmfa_tui.screens.audit_event import AuditEventScreen, event_fields
from qmfa_tui.screens.recovery_login import RecoveryLoginScreen
from qmfa_tui.screens.register_device import RegisterDeviceScreen
from qmfa_tui.screens.security_code import SecurityCodeScreen
from qmfa_tui.screens.settings import SettingsScreen
from qmfa_tui.screens.users import UsersScreen
from qmfa_tui.services import demo, login, policy, twofactor
from qmfa_tui.services.session import Actor
from qmfa_tui.storage import AuditEvent
from qmfa_tui.text import visible
from qmfa_tui.widgets.key_bar import KeyBar
from qmfa_tui.widgets.qr_code import QRCode
from qmfa_tui.widgets.title_bar import TitleBar
from qmfa_tui.widgets.user_table import UserTable, fit

SIZES = [(80, 24), (60, 20)]
KEY_LINE = re.compile(r"^(Key:)? *[A-Z2-7]{4}( [A-Z2-7]{4})*$")


def screen_lines(app: QmfaApp) -> list[str]:
    """What the terminal shows, one str per row."""
    return [
        "".join(segment.text for segment in strip)
        for strip in app.screen._compositor.render_strips()
    ]


def text_in(app: QmfaApp, widget: Widget) -> str:
    """The words drawn in ``widget``'s region, its lines joined by a space."""
    region = widget.region
    rows = screen_lines(app)[region.y : region.bottom]
    return " ".join(" ".join(row[region.x : region.right].split()) for row in rows).strip()


def usable(app: QmfaApp) -> Region:
    """The screen between its title bar and its key bar."""
    region = app.screen.region
    top = max((h.region.bottom for h in app.screen.query(TitleBar)), default=region.y)
    bottom = min((f.region.y for f in app.screen.query(KeyBar)), default=region.bottom)
    return Region(region.x, top, region.width, bottom - top)


def on_screen(app: QmfaApp, *selectors: str) -> None:
    """Each widget shows whole, neither under the title bar or key bar nor off the screen."""
    area = usable(app)
    for selector in selectors:
        widget = app.screen.query_one(selector)
        assert widget.display and widget.region.area, selector
        assert area.contains_region(widget.region), (selector, widget.region, area)


async def registration_during_login(database, fixed_clock, size) -> QmfaApp:
    boss = admin()
    register(boss, fixed_clock)
    add_user(boss, "alice")
    policy.set_grace_period(boss, 24)
    policy.set_mandatory(boss, True)
    return QmfaApp(database)


@pytest.mark.parametrize("size", SIZES)
async def test_registration_keeps_the_form_on_screen_and_the_key_in_whole_groups(
    database, fixed_clock, size
):
    app = await registration_during_login(database, fixed_clock, size)
    async with app.run_test(size=size) as pilot:
        await log_in_password(pilot, "alice", PASSWORD)
        screen = app.screen
        assert isinstance(screen, RegisterDeviceScreen)
        on_screen(app, "#code", "#confirm", "#skip", "#cancel")
        secret = screen.query_one("#secret")
        on_screen(app, "#secret")
        lines = [line.rstrip() for line in str(secret.render()).splitlines()]
        assert all(KEY_LINE.match(line) for line in lines), lines
        assert [len(line.removeprefix("Key:").split()) for line in lines] == [8]  # one row
        assert screen.registration is not None
        assert "".join("".join(lines).removeprefix("Key:").split()) == screen.registration.secret
        qr = screen.query_one(QRCode)
        if size == (80, 24):  # the QR code beside the form, whole
            assert qr.display and screen.region.contains_region(qr.region)
            assert qr.region.height == len(qr.lines)
        else:  # no room for a whole QR code: it says how much is needed
            assert not screen.query_one("#qr-box").display
            assert (
                "Make the terminal at least 74x22 to scan the QR code, or type the key"
                in text_in(app, screen.query_one("#prompt"))
            )
        await type_into(pilot, "#code", "000000")
        assert isinstance(app.screen, RegisterDeviceScreen)
        on_screen(app, "#code", "#confirm", "#status")
        assert (
            text_in(app, screen.query_one("#status"))
            == "That code does not match. Check the app and try again."
        )
        skip = screen.query_one("#skip")
        assert skip.region.height == 1 and text_in(app, skip) == "Skip for now"


async def test_registration_shows_the_qr_code_once_the_terminal_is_large_enough(
    database, fixed_clock
):
    app = await registration_during_login(database, fixed_clock, (60, 20))
    async with app.run_test(size=(60, 20)) as pilot:
        await log_in_password(pilot, "alice", PASSWORD)
        screen = app.screen
        assert not screen.query_one("#qr-box").display
        await pilot.resize_terminal(74, 22)
        await settle(pilot)
        qr = screen.query_one(QRCode)
        assert screen.query_one("#qr-box").display
        assert screen.region.contains_region(qr.region) and qr.region.height == len(qr.lines)
        assert "Scan the QR code" in text_in(app, screen.query_one("#prompt"))
        on_screen(app, "#code", "#confirm", "#skip", "#cancel", "#secret")
        await pilot.resize_terminal(50, 16)  # smaller than asked: the form still shows
        await settle(pilot)
        on_screen(app, "#code", "#confirm", "#skip", "#cancel")
        lines = [line.rstrip() for line in str(screen.query_one("#secret").render()).splitlines()]
        assert all(KEY_LINE.match(line) for line in lines), lines


@pytest.fixture
def demo_admin(database, fixed_clock) -> Actor:
    demo.create_demo(130)
    code, _ = twofactor.demo_security_code("admin")
    return login.with_security_code(login.with_password("admin", demo.DEMO_PASSWORD), code)


async def open_users(pilot, actor: Actor) -> UsersScreen:
    pilot.app.log_in(actor)
    await settle(pilot)
    await pilot.app.push_screen(UsersScreen(actor))
    await settle(pilot)
    return pilot.app.screen


ALL_COLUMNS = ["Username", "2FA", "Codes", "Name", "Source", "Active", "Email"]


@pytest.mark.parametrize(
    ("size", "headers"),
    [
        ((80, 24), ALL_COLUMNS),
        ((60, 20), ["Username", "2FA", "Codes", "Name", "Email"]),
        ((40, 20), ["Username", "2FA", "Codes"]),
    ],
)
async def test_the_users_table_fits_its_columns_to_the_width(database, demo_admin, size, headers):
    app = QmfaApp(database)
    async with app.run_test(size=size) as pilot:
        screen = await open_users(pilot, demo_admin)
        table = screen.query_one("#users", UserTable)
        lines = screen_lines(app)
        region = table.region
        shown = [line[region.x : region.right] for line in lines[region.y : region.bottom]]
        assert [word for word in shown[0].split() if word != "▲"] == headers  # ▲: the sort
        widths = {label: table.width_of(label) or 0 for label in headers}
        for row, line in zip(table.rows, shown[1:], strict=False):
            assert line.startswith(" " + fit(visible(row.username), widths["Username"]))
        if "Email" in headers:  # the long ones are cut, and say so
            assert any("…" in line for line in shown[1:])
        # No horizontal scrolling, no horizontal scrollbar; Right moves nothing.
        assert not table.show_horizontal_scrollbar and table.max_scroll_x == 0
        table.focus()
        await pilot.press("right", "right")
        assert table.scroll_offset.x == 0
        # Every row's email is whole or cut with an ellipsis, never silently.
        if "Email" in headers:
            email_at = shown[0].index("Email")
            for row, line in zip(table.rows, shown[1:], strict=False):
                cell = line[email_at : email_at + widths["Email"]].rstrip()
                assert cell == visible(row.email) or (
                    cell.endswith("…") and visible(row.email).startswith(cell[:-1])
                )
        if size[0] >= 60:
            on_screen(app, "#search", "#two-factor", "#status", "#source")
            assert screen.query_one("#search").region.width >= 20


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_the_filters_and_the_search_box_stay_whole(database, demo_admin, size):
    """Four filters take one row from 80 columns, a 2x2 grid below; the search its own row."""
    app = QmfaApp(database)
    async with app.run_test(size=size) as pilot:
        screen = await open_users(pilot, demo_admin)
        filters = ["#two-factor", "#status", "#source", "#codes"]
        on_screen(app, "#search", *filters)
        rows = {screen.query_one(name).region.y for name in filters}
        assert len(rows) == (1 if size[0] >= 80 else 2)
        search = screen.query_one("#search").region
        assert search.y > max(rows) and search.width >= 20
        for name in filters:  # a longer value still fits its place
            screen.query_one(name).focus()
            for _ in range(3):
                await pilot.press("enter")
                await settle(pilot)
                on_screen(app, name)


async def open_audit_log(pilot, actor: Actor) -> SettingsScreen:
    pilot.app.log_in(actor)
    await settle(pilot)
    await pilot.press("g")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, SettingsScreen)
    await pilot.click("#tabs", offset=(22, 0))  # the "Audit log" tab
    await settle(pilot)
    assert screen.query_one(ContentSwitcher).current == "audit"
    return screen


def table_actions(screen: SettingsScreen) -> list[tuple[str, str]]:
    table = screen.query_one("#events", DataTable)
    return [
        (str(table.get_row_at(i)[2]), str(table.get_row_at(i)[3])) for i in range(table.row_count)
    ]


@pytest.mark.parametrize("size", SIZES)
async def test_enter_on_an_audit_event_shows_every_field_whole(database, fixed_clock, size):
    boss = admin()
    add_user(boss, "bartholomew.longname")
    detail = "reason: " + "a long [b]detail[/b] that no column holds " * 4 + "\x1b]2;pwned\x07"
    AuditEvent.update(detail=detail).where(AuditEvent.action == "user.created").execute()
    app = QmfaApp(database)
    async with app.run_test(size=size) as pilot:
        screen = await open_audit_log(pilot, boss)
        table = screen.query_one("#events", DataTable)
        row = next(
            i for i, (action, _) in enumerate(table_actions(screen)) if action == "user.created"
        )
        table.focus()
        table.move_cursor(row=row)
        await pilot.press("enter")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, AuditEventScreen)
        on_screen(app, "#dialog", "#close")
        fields = dict(event_fields(modal.event))
        assert fields["Detail"] == detail and fields["Target"] == "bartholomew.longname"
        values = [str(value.render()) for value in modal.query(".value")]
        assert visible(detail) in values and "bartholomew.longname" in values
        assert "\x1b" not in "".join(screen_lines(app))  # literal: escaped, not sent raw
        value = next(v for v in modal.query(".value") if str(v.render()) == visible(detail))
        assert text_in(app, value) == " ".join(visible(detail).split())  # all of it shows
        assert "esc Close" in screen_lines(app)[-1]
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen


async def test_the_audit_filters_narrow_the_list(database, fixed_clock):
    boss = admin()
    add_user(boss, "alice")
    fixed_clock.advance(2 * 86400)  # 2027-01-17
    add_user(boss, "bob")
    app = QmfaApp(database)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_audit_log(pilot, boss)
        everything = table_actions(screen)
        assert ("user.created", "alice") in everything and ("user.created", "bob") in everything

        async def apply(selector: str, text: str) -> None:
            await type_into(pilot, selector, text)
            await settle(pilot)

        await apply("#audit-user", "ALICE")  # by or about alice, spelt in any case
        assert table_actions(screen) == [("login.succeeded", "alice"), ("user.created", "alice")]
        await apply("#audit-action", "user.created")
        assert table_actions(screen) == [("user.created", "alice")]
        await apply("#audit-user", "")
        assert table_actions(screen) == [("user.created", "bob"), ("user.created", "alice")]
        await apply("#audit-since", "2027-01-16")
        assert table_actions(screen) == [("user.created", "bob")]
        await apply("#audit-since", "2027-13-45")  # not a date: says so, the list stays
        assert "Enter the date as YYYY-MM-DD" in text_in(app, screen.query_one("#audit-help"))
        assert table_actions(screen) == [("user.created", "bob")]
        await apply("#audit-action", "no.such_action")
        await apply("#audit-since", "")
        assert table_actions(screen) == []
        assert "No events match" in text_in(app, screen.query_one("#audit-help"))


async def test_the_action_filter_completes_actions_seen_in_the_log(database, fixed_clock):
    boss = admin()
    add_user(boss, "alice")
    app = QmfaApp(database)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_audit_log(pilot, boss)
        field = screen.query_one("#audit-action", Input)
        field.focus()
        await pilot.press(*"user.c")
        await settle(pilot)
        await pilot.press("right", "enter")  # Right takes the suggestion
        await settle(pilot)
        assert field.value == "user.created"
        assert table_actions(screen) == [("user.created", "alice")]
        user = screen.query_one("#audit-user", Input)
        user.focus()
        await pilot.press(*"penny")  # n and p are the paging keys, not in a field
        assert user.value == "penny" and screen.audit_offset == 0


async def test_the_profile_tab_lines_up_its_labels_and_the_hint_names_the_key(
    database, fixed_clock
):
    boss = admin()
    app = QmfaApp(database)
    async with app.run_test(size=(80, 24)) as pilot:
        app.log_in(boss)
        await settle(pilot)
        await pilot.press("a")  # My Account
        await settle(pilot)
        assert "Press Enter on the toggle (or click it) to register" in " ".join(
            " ".join(screen_lines(app)).split()
        )
        lines = str(app.screen.query_one("#profile").render()).splitlines()
        assert lines[5].startswith("Users module:")
        starts = {len(line) - len(line.split(":", 1)[1].lstrip()) for line in lines}
        assert len(starts) == 1, lines  # every value starts in one column


@pytest.mark.parametrize("size", SIZES)
async def test_the_login_steps_fit_whole(database, fixed_clock, size):
    boss = admin()
    register(boss, fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=size) as pilot:
        on_screen(app, "#form", "#username", "#password", "#submit", "#status")
        await log_in_password(pilot, "admin", PASSWORD)
        assert isinstance(app.screen, SecurityCodeScreen)
        await type_into(pilot, "#code", "123")
        on_screen(app, "#form", "#code", "#submit", "#status")
        assert text_in(app, app.screen.query_one("#status")) == "A security code is 6 digits."
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert isinstance(app.screen, RecoveryLoginScreen)
        on_screen(app, "#form", "#code", "#submit", "#status")


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_the_recovery_codes_row_and_copy_stay_whole(database, fixed_clock, size):
    boss = admin()
    register(boss, fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=size) as pilot:
        app.log_in(boss)
        await settle(pilot)
        await pilot.press("a")  # My Account
        await settle(pilot)
        on_screen(app, "#codes-left", "#show-codes", "#download-codes")
        await pilot.click("#show-codes")
        await settle(pilot)
        on_screen(app, "#codes", "#copy-codes")


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_the_no_codes_left_message_fits_the_recovery_step(database, fixed_clock, size):
    from helpers import start_login

    boss = admin()
    device = register(boss, fixed_clock)
    for code in device.codes:
        login.with_recovery_code(start_login("admin"), code)
    app = QmfaApp(database)
    async with app.run_test(size=size) as pilot:
        await log_in_password(pilot, "admin", PASSWORD)
        await pilot.press("ctrl+r")
        await settle(pilot)
        await type_into(pilot, "#code", device.codes[0])
        assert "No recovery codes left" in text_in(app, app.screen.query_one("#status"))
        on_screen(app, "#form", "#code", "#submit", "#status")
