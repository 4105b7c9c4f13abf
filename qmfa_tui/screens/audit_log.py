"""The audit log pane of Customization > General Settings & Audit: filters, the page of
events (Enter opens one whole), paging by AUDIT_PAGE.

SettingsScreen holds it in its Audit log tab, with the keys that page it (n, p, r) and
its styles (settings.tcss: a screen's stylesheet styles only that screen).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import DataTable, Input

from qmfa_tui.screens.service_call import ServiceFailed, call_service
from qmfa_tui.services import audit
from qmfa_tui.services.audit import AuditEntry
from qmfa_tui.services.session import Actor
from qmfa_tui.text import SAFE_TEXT_PATTERN, visible
from qmfa_tui.textual_compat import suggestion_shown
from qmfa_tui.widgets.literal import literal_cell
from qmfa_tui.widgets.ordered_input import OrderedInput
from qmfa_tui.widgets.status_line import StatusLine

AUDIT_PAGE = 100
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


class AuditLog(Vertical):
    """The audit log: filters above the page of events, newest first."""

    @dataclass
    class EventsLoaded(Message):
        offset: int
        events: list[AuditEntry]
        audit_filter: AuditFilter

    def __init__(self, actor: Actor, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.actor = actor
        self.audit_offset = 0
        self.audit_filter = AuditFilter()
        self.events: list[AuditEntry] = []  # the page in the table, row by row
        self.seen_actions: set[str] = set()

    def compose(self) -> ComposeResult:
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

    @work(thread=True, exclusive=True, group="audit")
    def load_events(self, offset: int) -> None:
        wanted = self.audit_filter
        read = partial(
            audit.list_events,
            self.actor,
            since=wanted.since,
            username=wanted.username,
            action=wanted.action,
            host=wanted.host,
            limit=AUDIT_PAGE,
            offset=offset,
        )
        call_service(self, read, lambda events: self.EventsLoaded(offset, events, wanted))

    def on_audit_log_events_loaded(self, message: EventsLoaded) -> None:
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

    def on_service_failed(self, failed: ServiceFailed) -> None:
        self.query_one("#audit-help", StatusLine).show_error(failed.error)

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

    def next_events(self) -> None:
        self.load_events(self.audit_offset + AUDIT_PAGE)

    def previous_events(self) -> None:
        self.load_events(max(0, self.audit_offset - AUDIT_PAGE))


def accept_suggestion(field: Input) -> None:
    """The completion shown in grey becomes the text, as Right would make it: Enter
    searches for what the field shows (with NO_COLOR the two look alike)."""
    suggestion = suggestion_shown(field)
    if len(suggestion) > len(field.value) and field.has_focus:
        field.value = suggestion
        field.cursor_position = len(suggestion)
