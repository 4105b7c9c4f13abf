"""Customization > General Settings & Audit.

The instance's settings, the Two-step authentication section (Mandatory
Two-step Authentication, grace period) and, in its own tab, the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.suggester import Suggester
from textual.widgets import (
    Button,
    ContentSwitcher,
    DataTable,
    Input,
    Static,
    Switch,
)

from qmfa_tui.errors import QmfaError
from qmfa_tui.services import accounts, audit, policy
from qmfa_tui.services.audit import AuditEntry
from qmfa_tui.services.policy import InstanceInfo, MandatoryRefusal, Refusal
from qmfa_tui.services.session import Actor
from qmfa_tui.text import SAFE_TEXT_PATTERN, visible
from qmfa_tui.widgets.action_link import ActionLink
from qmfa_tui.widgets.key_bar import ButtonKeys, KeyBar
from qmfa_tui.widgets.literal import literal, literal_cell
from qmfa_tui.widgets.ordered_input import OrderedInput
from qmfa_tui.widgets.qmfa_app import qmfa_app
from qmfa_tui.widgets.status_line import StatusLine
from qmfa_tui.widgets.styled_once import StyledOnMount
from qmfa_tui.widgets.tab_strip import TabStrip
from qmfa_tui.widgets.title_bar import TitleBar

AUDIT_PAGE = 100
# The audit tab's keys (n, p, r): offered on that tab only.
AUDIT_TAB_ACTIONS = frozenset({"next_events", "previous_events", "refresh"})
AUDIT_HELP = "Newest first. n/p: older/newer. r: refresh. Enter: the whole event."


@dataclass(frozen=True)
class AuditFilter:
    username: str | None = None
    action: str | None = None
    since: datetime | None = None
    host: str | None = None


def parse_since(text: str) -> datetime | None:
    """``2027-01-15`` or ``2027-01-15 08:00`` (UTC) as the stored form, naive UTC."""
    text = text.strip()
    if not text:
        return None
    when = datetime.fromisoformat(text)  # ValueError when it is not a date
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


def cut_cell(text: str) -> Text:
    """A literal cell that ends in an ellipsis when its column is narrower."""
    cell = literal_cell(text)
    cell.overflow = "ellipsis"
    return cell


@dataclass(frozen=True)
class AuditColumn:
    label: str
    least: int
    most: int  # wider than its longest value on the page only for Detail, which takes the rest
    drop_order: int  # 0: never dropped; higher goes first


# An operator command's Actor reads "shell (op: root)" (a person may be named "shell");
# Origin, with the SSH client, comes last and goes first: the detail of what was done
# matters more at 80 columns. On a page with guarded logins (ssh, sudo through PAM) their
# Origin (host, service, address) is worth more than Target, their own user: Target goes
# first (GUARDED_DROP_ORDER).
AUDIT_COLUMNS: tuple[AuditColumn, ...] = (
    AuditColumn("When (UTC)", 16, 16, 0),
    AuditColumn("Actor", 8, 18, 0),
    AuditColumn("Action", 12, 22, 0),
    AuditColumn("Target", 8, 12, 2),
    AuditColumn("Detail", 12, 10_000, 0),
    AuditColumn("Origin", 10, 30, 3),
)
AUDIT_DETAIL = 4
AUDIT_TARGET, AUDIT_ORIGIN = 3, 5
GUARDED_DROP_ORDER = {AUDIT_TARGET: 3, AUDIT_ORIGIN: 2}
SQUEEZED_WIDTH = 6  # "admin…", "login…": still says what it is


def audit_cells(event: AuditEntry) -> tuple[str, ...]:
    return (
        f"{event.at:%Y-%m-%d %H:%M}",
        event.actor_short,
        event.action,
        event.target or "",
        event.detail,
        event.where or event.origin,  # a guarded login's host first: "web1 (sshd from …)"
    )


def audit_column_widths(
    width: int, longest: tuple[int, ...], *, guarded_logins: bool = False
) -> list[tuple[int, int]]:
    """(column index, width) of the audit columns that fit ``width`` cells, each cell
    padded by one space either side: Origin then Target go when the others would not fit
    at their least (Target first when the page has ``guarded_logins``); each column is as
    wide as its longest text (up to its most), Detail taking what the others leave and
    Origin only what Detail does not need (with ``guarded_logins``, Origin grows first)."""
    shown = list(range(len(AUDIT_COLUMNS)))
    drop_order = {i: column.drop_order for i, column in enumerate(AUDIT_COLUMNS)}
    if guarded_logins:
        drop_order.update(GUARDED_DROP_ORDER)

    def total(widths: dict[int, int]) -> int:
        return sum(w + 2 for w in widths.values())

    while total({i: AUDIT_COLUMNS[i].least for i in shown}) > width and any(
        drop_order[i] for i in shown
    ):
        shown.remove(max(shown, key=lambda i: drop_order[i]))
    widths = {
        i: max(min(AUDIT_COLUMNS[i].least, longest[i]), 1) for i in shown if i != AUDIT_DETAIL
    }
    widths[AUDIT_DETAIL] = AUDIT_COLUMNS[AUDIT_DETAIL].least
    room = width - total(widths)
    # Narrower than the least widths of the columns never dropped: those give way too,
    # Actor and then Detail first, each down to SQUEEZED_WIDTH.
    for i in (1, AUDIT_DETAIL, 2):
        if room < 0 and i in widths:
            give = min(-room, max(0, widths[i] - SQUEEZED_WIDTH))
            widths[i] -= give
            room += give
    # Action, Actor, Target, Detail, Origin; a guarded login's host first (pam.* actions
    # fit Action's least).
    growth = (
        (AUDIT_ORIGIN, 2, 1, AUDIT_TARGET, AUDIT_DETAIL)
        if guarded_logins
        else (2, 1, AUDIT_TARGET, AUDIT_DETAIL, AUDIT_ORIGIN)
    )
    for i in growth:
        if i in widths and room > 0:
            grow = max(0, min(room, min(longest[i], AUDIT_COLUMNS[i].most) - widths[i]))
            widths[i] += grow
            room -= grow
    widths[AUDIT_DETAIL] += max(0, room)
    return [(i, widths[i]) for i in shown]


class AuditTable(DataTable[Text]):
    """The audit log's page, its columns fitting the table's width (no horizontal
    scrolling): a cut cell ends with an ellipsis, Enter shows the whole event."""

    _audit_rows: list[tuple[str, ...]] | None = None  # None: no page shown yet
    _guarded_logins = False  # the page holds some: their Origin before Target

    def show_events(self, events: list[AuditEntry]) -> None:
        self._audit_rows = [audit_cells(event) for event in events]
        self._guarded_logins = any(event.guarded_login is not None for event in events)
        self._fit()

    def on_resize(self) -> None:
        if self._audit_rows is not None:
            self._fit()

    def _fit(self) -> None:
        rows = self._audit_rows or []
        longest = tuple(
            max([len(column.label)] + [len(visible(row[i])) for row in rows])
            for i, column in enumerate(AUDIT_COLUMNS)
        )
        layout: list[tuple[int, int | None]]
        if self.size.width:
            room = self.size.width - self.styles.scrollbar_size_vertical
            layout = list(audit_column_widths(room, longest, guarded_logins=self._guarded_logins))
        else:  # not shown (another tab): every column, fitted once shown
            layout = [(i, None) for i in range(len(AUDIT_COLUMNS))]
        cursor = self.cursor_row
        self.clear(columns=True)
        for i, column_width in layout:
            self.add_column(AUDIT_COLUMNS[i].label, width=column_width)
        for row in rows:
            self.add_row(*(cut_cell(row[i]) for i, _ in layout))
        if rows:
            self.move_cursor(row=min(cursor, len(rows) - 1), animate=False)


class SeenActions(Suggester):
    """Completes an action from those seen in the log so far (Right or Enter accepts).

    The suggestion is what every seen action starting with the text shares (``log`` ->
    ``login.``), so accepting it never leaves out an action the text would have found:
    the filter matches actions by their start.
    """

    def __init__(self, seen: set[str]) -> None:
        super().__init__(use_cache=False, case_sensitive=False)
        self.seen = seen

    async def get_suggestion(self, value: str) -> str | None:
        return shared_completion(value, self.seen)


def shared_completion(value: str, actions: set[str]) -> str | None:
    """The longest text longer than ``value`` that starts every action starting with it."""
    found = [action for action in actions if action.casefold().startswith(value.casefold())]
    if not found:
        return None
    first, last = min(found), max(found)  # what these two share, every one between shares
    length = next(
        (at for at, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), len(first)
    )
    return first[:length] if length > len(value) else None


class SettingsScreen(StyledOnMount, ButtonKeys, Screen[None]):
    CSS_PATH = "settings.tcss"
    HELP = (
        "General Settings & Audit: make two-step verification mandatory, set the grace "
        "period, and read the audit log (its tab: filter by user, action and date)."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        # Shown on the General tab only (its button's), before the audit's keys.
        Binding("s", "press_button('save-grace')", "Save grace period"),
        Binding("n", "next_events", "Older events"),
        Binding("p", "previous_events", "Newer events"),
        Binding("r", "refresh", "Refresh"),
    ]

    @dataclass
    class Loaded(Message):
        instance: InstanceInfo
        refusal: Refusal | None

    @dataclass
    class EventsLoaded(Message):
        offset: int
        events: list[AuditEntry]
        audit_filter: AuditFilter

    @dataclass
    class Changed(Message):
        notice: str

    @dataclass
    class Failed(Message):
        error: QmfaError
        of_audit: bool = False  # said on the audit tab (a filter refused), not the General

    def __init__(self, actor: Actor) -> None:
        super().__init__()
        self.actor = actor
        self.instance: InstanceInfo | None = None
        self.audit_offset = 0
        self.audit_filter = AuditFilter()
        self.events: list[AuditEntry] = []  # the page in the table, row by row
        self.seen_actions: set[str] = set()
        self.tab = "general"

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static("General Settings & Audit", id="title")
        yield TabStrip(
            [("general", "General Settings"), ("audit", "Audit log")], active="general", id="tabs"
        )
        with ContentSwitcher(initial="general"):
            with VerticalScroll(id="general", can_focus=False):
                yield Static("Instance", classes="section")
                yield Static("Loading…", id="instance")
                yield Static("Two-step authentication", classes="section")
                with Horizontal(classes="row"):
                    yield Static("Mandatory Two-step Authentication", classes="label")
                    yield Switch(id="mandatory", disabled=True)
                    yield Static("", id="mandatory-state")
                yield Static("", id="refusal")
                yield ActionLink("My Account > Security", id="my-account")
                with Horizontal(classes="row"):
                    yield Static("Grace period (hours)", classes="label")
                    yield OrderedInput(id="grace", restrict=r"[0-9]*", max_length=4, compact=True)
                    yield Button("Save", id="save-grace", compact=True)
                yield StatusLine(id="status")
            with Vertical(id="audit"):
                with Horizontal(id="audit-filters"):
                    # Enter applies; an empty field does not filter.
                    yield OrderedInput(
                        placeholder="User",
                        id="audit-user",
                        compact=True,
                        restrict=SAFE_TEXT_PATTERN,
                    )
                    yield OrderedInput(
                        placeholder="Action starts with",
                        id="audit-action",
                        compact=True,
                        restrict=SAFE_TEXT_PATTERN,
                        max_length=audit.MAX_ACTION_LENGTH,
                        suggester=SeenActions(self.seen_actions),
                    )
                    yield OrderedInput(
                        placeholder="Host",
                        id="audit-host",
                        compact=True,
                        restrict=SAFE_TEXT_PATTERN,
                        max_length=audit.MAX_HOST_LENGTH,
                    )
                    yield OrderedInput(
                        placeholder="Since YYYY-MM-DD",
                        id="audit-since",
                        compact=True,
                        restrict=r"[0-9: T+-]*",
                        max_length=25,
                    )
                yield StatusLine(id="audit-help")
                table = AuditTable(id="events", cursor_type="row")
                for column in AUDIT_COLUMNS:
                    table.add_column(column.label)
                yield table
        yield KeyBar()

    @on(TabStrip.Changed, "#tabs")
    def switch_tab(self, event: TabStrip.Changed) -> None:
        self.query_one(ContentSwitcher).current = self.tab = event.tab_id
        self.refresh_bindings()  # the audit tab's keys come and go with it
        if event.tab_id == "audit":
            self.load_events(self.audit_offset)  # what happened since it was last shown

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in AUDIT_TAB_ACTIONS and self.tab != "audit":
            return False
        return super().check_action(action, parameters)

    def action_refresh(self) -> None:
        """The settings and the audit log's page read again (r)."""
        self.load()
        self.load_events(self.audit_offset)

    def on_mount(self) -> None:
        self.query_one("#my-account").display = False
        self.load()
        self.load_events(0)

    @work(thread=True, exclusive=True, group="settings")
    def load(self) -> None:
        try:
            self.post_message(
                self.Loaded(policy.instance_info(), policy.mandatory_refusal(self.actor))
            )
        except QmfaError as error:
            self.post_message(self.Failed(error))

    def on_settings_screen_loaded(self, message: Loaded) -> None:
        instance = self.instance = message.instance
        demo = "  (a demo database)" if instance.demo else ""
        self.query_one("#instance", Static).update(
            Content.assemble(
                "Name: ",
                literal(instance.instance_name),
                "   Deployment: ",
                literal(instance.deployment),
                f" (set by the operator){demo}",
            )
        )
        switch = self.query_one("#mandatory", Switch)
        with self.prevent(Switch.Changed):
            switch.value = instance.mandatory
        refusal = message.refusal
        switch.disabled = refusal is not None
        self.query_one("#mandatory-state", Static).update("On" if instance.mandatory else "Off")
        self.query_one("#refusal", Static).update(literal(refusal.message if refusal else ""))
        self.query_one("#refusal").display = refusal is not None
        own_2fa_missing = refusal is not None and refusal.reason is MandatoryRefusal.OWN_2FA_FIRST
        self.query_one("#my-account").display = own_2fa_missing
        grace = self.query_one("#grace", Input)
        grace.value = str(instance.grace_period_hours)
        grace.disabled = refusal is not None
        self.query_one("#save-grace").disabled = refusal is not None

    @on(Switch.Changed, "#mandatory")
    def toggled(self, event: Switch.Changed) -> None:
        if self.instance is None:
            return
        with self.prevent(Switch.Changed):
            event.switch.value = self.instance.mandatory  # nothing changes before confirming
        ask = self.ask_to_switch_off if self.instance.mandatory else self.ask_to_switch_on
        if accounts.password_confirmed(self.actor):
            ask()
            return
        from qmfa_tui.screens.password import ConfirmPasswordModal

        def confirmed(done: bool | None) -> None:
            if done:
                ask()

        # Sudo mode (policy.set_mandatory refuses without it): the password again first.
        state = "off" if self.instance.mandatory else "on"
        what = f"turn mandatory two-step verification {state}"
        self.app.push_screen(ConfirmPasswordModal(self.actor, what), confirmed)

    def ask_to_switch_on(self) -> None:
        from qmfa_tui.screens.mandatory import MandatoryModal

        assert self.instance is not None

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.set_mandatory(True)

        self.app.push_screen(MandatoryModal(self.actor, self.instance.grace_period_hours), answered)

    def ask_to_switch_off(self) -> None:
        from qmfa_tui.screens.confirm import ConfirmScreen

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.set_mandatory(False)

        self.app.push_screen(
            ConfirmScreen(
                "Turn off Mandatory Two-step Authentication?",
                "Users without a device will log in with their password alone again. "
                "Users who set up two-step verification keep it.",
                confirm_label="Turn off",
            ),
            answered,
        )

    @work(thread=True, exclusive=True, group="change")
    def set_mandatory(self, enabled: bool) -> None:
        try:
            policy.set_mandatory(self.actor, enabled)
        except QmfaError as error:
            self.post_message(self.Failed(error))
            return
        state = "on" if enabled else "off"
        self.post_message(self.Changed(f"Mandatory Two-step Authentication is {state}."))

    @on(Input.Submitted, "#grace")
    @on(Button.Pressed, "#save-grace")
    def save_grace(self) -> None:
        text = self.query_one("#grace", Input).value.strip()
        if not text:
            self.query_one(StatusLine).show_error("Enter a number of hours (0 for none).")
            return
        self.set_grace(int(text))

    @work(thread=True, exclusive=True, group="change")
    def set_grace(self, hours: int) -> None:
        try:
            previous = policy.instance_info().grace_period_hours
            policy.set_grace_period(self.actor, hours)
        except QmfaError as error:
            self.post_message(self.Failed(error))
            return
        self.post_message(self.Changed(policy.grace_change_notice(previous, hours)))

    def on_settings_screen_changed(self, message: Changed) -> None:
        self.query_one(StatusLine).show_info(message.notice, success=True)
        self.notify(message.notice)
        self.load()
        self.load_events(0)

    def on_settings_screen_failed(self, message: Failed) -> None:
        where = "#audit-help" if message.of_audit else "#status"
        self.query_one(where, StatusLine).show_error(message.error)

    @on(ActionLink.Followed, "#my-account")
    def open_my_account(self) -> None:
        qmfa_app(self).action_my_account()

    @work(thread=True, exclusive=True, group="audit")
    def load_events(self, offset: int) -> None:
        wanted = self.audit_filter
        try:
            events = audit.list_events(
                self.actor,
                since=wanted.since,
                username=wanted.username,
                action=wanted.action,
                host=wanted.host,
                limit=AUDIT_PAGE,
                offset=offset,
            )
            self.post_message(self.EventsLoaded(offset, events, wanted))
        except QmfaError as error:
            self.post_message(self.Failed(error, of_audit=True))

    def on_settings_screen_events_loaded(self, message: EventsLoaded) -> None:
        if message.audit_filter != self.audit_filter:
            return  # an answer to filters since changed
        if message.offset and not message.events:
            return  # past the oldest event: stay on the last page
        self.audit_offset = message.offset
        self.events = message.events
        self.seen_actions.update(event.action for event in message.events)
        self.query_one("#events", AuditTable).show_events(message.events)
        help_line = self.query_one("#audit-help", StatusLine)
        if message.events or message.audit_filter == AuditFilter():
            help_line.show_info(AUDIT_HELP)
        else:
            help_line.show_info("No events match these filters.")

    @on(Input.Submitted, "#audit-user, #audit-action, #audit-host, #audit-since")
    def filter_events(self, event: Input.Submitted) -> None:
        if event.input.id == "audit-action":
            accept_suggestion(event.input)
        text = {
            field: self.query_one(f"#audit-{field}", Input).value.strip()
            for field in ("user", "action", "host", "since")
        }
        try:
            since = parse_since(text["since"])
        except ValueError:
            self.query_one("#audit-help", StatusLine).show_error(
                "Enter the date as YYYY-MM-DD (or YYYY-MM-DD HH:MM, UTC)."
            )
            return
        self.audit_filter = AuditFilter(
            text["user"] or None, text["action"] or None, since, text["host"] or None
        )
        self.load_events(0)

    @on(DataTable.RowSelected, "#events")
    def open_event(self, event: DataTable.RowSelected) -> None:
        from qmfa_tui.screens.audit_event import AuditEventScreen

        if 0 <= event.cursor_row < len(self.events):
            self.app.push_screen(AuditEventScreen(self.events[event.cursor_row]))

    def action_next_events(self) -> None:
        self.load_events(self.audit_offset + AUDIT_PAGE)

    def action_previous_events(self) -> None:
        self.load_events(max(0, self.audit_offset - AUDIT_PAGE))

    def on_screen_resume(self) -> None:
        self.load()

    def action_back(self) -> None:
        self.dismiss()


def accept_suggestion(field: Input) -> None:
    """The completion shown in grey becomes the text, as Right would make it: Enter
    searches for what the field shows (with NO_COLOR the two look alike)."""
    suggestion = field._suggestion  # Textual's: only the one for the current text is kept
    if len(suggestion) > len(field.value) and field.has_focus:
        field.value = suggestion
        field.cursor_position = len(suggestion)
