"""Customization > Users: filter by 2FA, status, auth source, codes left and text; one page
at a time.

Each query runs in an exclusive thread worker, so a new filter cancels the one
in flight; results carry the request number they answer and stale ones are
dropped. Only one page of rows is ever in the table.

What the screen shows (filters, search, sort, page) is kept for the session on the app
(``QmfaApp.users_view``): the Users key shows it again; logging out forgets it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import ClassVar

from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.dom import DOMNode
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from qmfa_tui.kinds import AuthSource
from qmfa_tui.screens.opening import read_then_push
from qmfa_tui.screens.service_call import ServiceFailed, call_service
from qmfa_tui.services import directory
from qmfa_tui.services.directory import (
    BY_USERNAME,
    PAGE_SIZE,
    SORT_COLUMNS,
    SORT_LABELS,
    Position,
    UserPage,
    UserSort,
)
from qmfa_tui.services.session import Actor
from qmfa_tui.services.user_filter import FEW_LEFT, UserFilter
from qmfa_tui.text import SAFE_TEXT_PATTERN
from qmfa_tui.textual_compat import StyledOnMount
from qmfa_tui.widgets.cycle_button import CycleButton
from qmfa_tui.widgets.key_bar import KeyBar
from qmfa_tui.widgets.literal import literal
from qmfa_tui.widgets.ordered_input import OrderedInput
from qmfa_tui.widgets.qmfa_app import qmfa_app
from qmfa_tui.widgets.title_bar import TitleBar
from qmfa_tui.widgets.user_table import UserTable

TWO_FACTOR_OPTIONS = [("All", "all"), ("Enabled", "enabled"), ("Disabled", "disabled")]
STATUS_OPTIONS = [("Active", "active"), ("Inactive", "inactive"), ("All", "all")]
SOURCE_OPTIONS = [
    ("All", "any"),
    ("Local", AuthSource.LOCAL),
    ("LDAP", AuthSource.LDAP),
    ("SSO", AuthSource.SSO),
]
CODES_OPTIONS = [
    ("All", "all"),
    ("None", "none"),
    (f"1-{FEW_LEFT}", "few"),
    (f"{FEW_LEFT + 1}+", "more"),
]
SEARCH_DELAY = 0.25


@dataclass(frozen=True)
class UsersView:
    """What the Users screen shows: filters and search, sort, and the page (its number and
    its first row's place; None on the first page)."""

    user_filter: UserFilter = field(default_factory=UserFilter)
    sort: UserSort = BY_USERNAME
    page_number: int = 1
    first: Position | None = None


@dataclass(frozen=True)
class FirstAnswers:
    page: UserPage
    total: int
    page_number: int = 1


def open_users(
    host: DOMNode, actor: Actor, user_filter: UserFilter | None = None, *, origin: str | None = None
) -> None:
    """Read the first page and the count in a thread worker of ``host``,
    then push the Users screen drawn whole (``opening.read_then_push``). A failure opens
    the screen all the same: it asks again and shows what failed.

    Without ``user_filter`` (the Users key) the screen shows what it showed last in this
    session, and keeps what it shows; a list opened with a filter (the mandatory modal's)
    starts from that filter and keeps nothing."""
    keeps_view = user_filter is None
    view = (qmfa_app(host).users_view if keeps_view else None) or UsersView(
        user_filter or UserFilter()
    )

    def read() -> FirstAnswers:
        total = directory.count_users(actor, view.user_filter)
        if view.first is not None:
            page = directory.page_users(
                actor, view.user_filter, sort=view.sort, starting_at=view.first
            )
            if page.rows:
                return FirstAnswers(page, total, view.page_number)
        # The first page, also when the kept one has emptied meanwhile.
        return FirstAnswers(directory.page_users(actor, view.user_filter, sort=view.sort), total)

    def screen(first: FirstAnswers | None) -> UsersScreen:
        return UsersScreen(
            actor, view.user_filter, origin=origin, first=first, view=view, keeps_view=keeps_view
        )

    read_then_push(
        host, actor, read, screen, if_failed=lambda error: screen(None), group="open-users"
    )


def _unless_cancelled(message: Message) -> Message | None:
    """In a worker: its answer, unless a newer count or page replaced the worker (the
    request numbers drop an answer that arrives late all the same)."""
    return None if get_current_worker().is_cancelled else message


class UsersScreen(StyledOnMount, Screen[None]):
    CSS_PATH = "users.tcss"
    HELP = (
        "Customization > Users: every user, filtered by 2FA, status, source and recovery "
        "codes left, or by a search (/), sorted by s (S reverses); n and p turn the "
        "page, and so do Down and Up past a page's ends. Enter on a user opens User Edit."
    )
    # Textual types this as an instance attribute, so no ClassVar here.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (80, "-wide")]  # noqa: RUF012
    AUTO_FOCUS = "#users"
    # The key bar keeps its first keys when narrow: searching and sorting; paging also
    # follows the cursor past a page's ends and says where it is ("page 3 of 28"), so n
    # and p are listed by ? (help) and not in the bar, where 80 columns had no room.
    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority: the focus moves before the keys typed after "/" are forwarded.
        Binding("slash", "search", "Search", priority=True),
        Binding("s", "sort_next", "Sort"),
        Binding("S,shift+s", "sort_flip", "Order", key_display="S"),
        Binding("n", "next_page", "Next page", show=False),
        Binding("p", "previous_page", "Prev page", show=False),
        Binding("escape", "back", "Back"),
    ]

    @dataclass
    class PageLoaded(Message):
        request: int
        page: UserPage

    @dataclass
    class Counted(Message):
        request: int
        total: int

    def __init__(
        self,
        actor: Actor,
        user_filter: UserFilter | None = None,
        *,
        origin: str | None = None,
        first: FirstAnswers | None = None,
        view: UsersView | None = None,
        keeps_view: bool = False,
    ) -> None:
        """``first``: the first page and the count, read before the screen is pushed
        (``open_users``); without them the screen asks once it is mounted, for the page
        of ``view``. ``keeps_view``: what it shows is kept for the session (the Users key)."""
        super().__init__()
        self.actor = actor
        self.user_filter = user_filter or UserFilter()
        self.origin = origin
        self.total: int | None = None if first is None else first.total
        self.page: UserPage | None = None if first is None else first.page
        self.sort = BY_USERNAME if view is None else view.sort
        self.page_number = 1 if view is None else view.page_number
        self._start = None if view is None else view.first
        if first is not None:
            self.page_number, self._start = first.page_number, None
        self.keeps_view = keeps_view
        # Keys for the pages (n, p, Down on the last row...) pressed while a page is being
        # read: applied in turn once it is shown, as if pressed then.
        self._queued: list[Callable[[], None]] = []
        self._cursor_after_load: int | None = None
        self._search_timer: Timer | None = None
        self._left = False  # for another screen pushed over it
        self.failure: str | None = None
        # Each answer carries the request it answers; answers to older requests are dropped.
        self.page_request = self.count_request = 0 if first is None else 1
        self.shown_page = self.shown_count = self.page_request

    def compose(self) -> ComposeResult:
        self.preset_breakpoints()
        f = self.user_filter
        yield TitleBar()
        # Four filters and a search field do not fit one row of 80 columns: the search
        # has a row of its own, and below 80 columns the filters take two rows.
        with Horizontal(id="filters"):
            yield CycleButton("2FA", TWO_FACTOR_OPTIONS, f.two_factor, id="two-factor")
            yield CycleButton("Status", STATUS_OPTIONS, f.status, id="status")
            yield CycleButton("Source", SOURCE_OPTIONS, f.auth_source or "any", id="source")
            yield CycleButton("Codes", CODES_OPTIONS, f.codes, id="codes")
        # Input draws its value raw: a pasted ESC would reach the terminal.
        yield OrderedInput(
            f.search,
            placeholder="Search name, username, email",
            compact=True,
            restrict=SAFE_TEXT_PATTERN,
            id="search",
        )
        yield Static("", id="summary")
        yield UserTable(id="users")
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one("#users", UserTable)
        table.show_sort(SORT_LABELS[self.sort.column], self.sort.descending)
        if self.page is None:
            self.recount()
            if self._start is None:
                self.page_number = 1
            self.load_page(starting_at=self._start)
        else:
            table.set_rows(self.page.rows)
            self._show_summary()
            self._keep()

    def on_screen_suspend(self) -> None:
        self._left = True

    def on_screen_resume(self) -> None:
        # Pushed with its first answers, the screen resumes once with nothing to ask.
        if self._left and self.page is not None and self.page.rows:  # back from User Edit
            self.recount()
            first = self.page.rows[0].position(self.sort)
            self.load_page(starting_at=first if self.page.has_previous else None)

    def recount(self) -> None:
        self.count_request += 1
        self.total = self.failure = None
        self._show_summary()
        self.count(self.count_request, self.user_filter)

    def load_page(
        self,
        *,
        after: Position | None = None,
        before: Position | None = None,
        starting_at: Position | None = None,
    ) -> None:
        self.page_request += 1
        self.fetch_page(self.page_request, self.user_filter, self.sort, after, before, starting_at)

    @property
    def page_loading(self) -> bool:
        return self.shown_page != self.page_request

    @work(thread=True, exclusive=True, group="users-count")
    def count(self, request: int, user_filter: UserFilter) -> None:
        count = partial(directory.count_users, self.actor, user_filter)
        call_service(self, count, lambda total: _unless_cancelled(self.Counted(request, total)))

    @work(thread=True, exclusive=True, group="users-page")
    def fetch_page(
        self,
        request: int,
        user_filter: UserFilter,
        sort: UserSort,
        after: Position | None,
        before: Position | None,
        starting_at: Position | None,
    ) -> None:
        read = partial(
            directory.page_users,
            self.actor,
            user_filter,
            sort=sort,
            after=after,
            before=before,
            starting_at=starting_at,
        )
        call_service(self, read, lambda page: _unless_cancelled(self.PageLoaded(request, page)))

    def on_users_screen_page_loaded(self, message: PageLoaded) -> None:
        if message.request != self.page_request:
            return  # an answer to a filter or page the user has since left
        self.page = message.page
        if not message.page.has_previous:  # users gone meanwhile make an earlier page the first
            self.page_number = 1
        cursor, self._cursor_after_load = self._cursor_after_load, None
        self.query_one("#users", UserTable).set_rows(message.page.rows, cursor=cursor)
        self.shown_page = message.request
        self._show_summary()
        self._keep()
        while self._queued and not self.page_loading:
            self._queued.pop(0)()

    def on_users_screen_counted(self, message: Counted) -> None:
        if message.request == self.count_request:
            self.total = message.total
            self.shown_count = message.request
            self._show_summary()

    def on_service_failed(self, failed: ServiceFailed) -> None:
        # From the count or the page worker, a cancelled one too.
        self.failure = failed.message  # kept in the summary until the next count
        self.shown_page = self.page_request  # a failed read is not waited for
        self._queued.clear()
        self._show_summary()
        self.notify(failed.message, severity="error")

    def _show_summary(self) -> None:
        described = self.user_filter.describe()
        if self.origin:
            described = f"{described} ({self.origin})"
        # "Active users: 44": the description names the users already.
        total = "counting…" if self.total is None else f"{self.total:,}"
        text = f"{described}: {self.failure or total}"
        if self.total is not None and self.failure is None:
            pages = max(1, -(-self.total // PAGE_SIZE))
            text += f" · page {self.page_number:,} of {max(pages, self.page_number):,}"
        if self.sort != BY_USERNAME:
            text += f" · by {self.sort.describe()}"
        self.query_one("#summary", Static).update(literal(text))  # the search text is in it

    def _keep(self) -> None:
        """Keep what the screen shows for the session (the Users key shows it again)."""
        app = qmfa_app(self)
        if not self.keeps_view or not app.still_logged_in(self.actor):
            return
        first = None
        if self.page_number > 1 and self.page is not None and self.page.rows:
            first = self.page.rows[0].position(self.sort)
        app.users_view = UsersView(
            self.user_filter, self.sort, self.page_number if first else 1, first
        )

    def _set_filter(self, **changes: object) -> None:
        new = self.user_filter.with_(**changes)
        if new != self.user_filter:
            self.user_filter = new
            self.origin = None
            self.page_number = 1
            self._queued.clear()
            self.recount()
            self.load_page()
            self._keep()

    def _set_sort(self, sort: UserSort) -> None:
        self.sort = sort
        self.query_one("#users", UserTable).show_sort(SORT_LABELS[sort.column], sort.descending)
        self.page_number = 1
        self._queued.clear()
        self._show_summary()
        self.load_page()
        self._keep()

    def action_sort_next(self) -> None:
        """The next column to sort by (Username, 2FA, Codes, Created), ascending."""
        following = SORT_COLUMNS.index(self.sort.column) + 1
        self._set_sort(UserSort(SORT_COLUMNS[following % len(SORT_COLUMNS)]))

    def action_sort_flip(self) -> None:
        self._set_sort(UserSort(self.sort.column, not self.sort.descending))

    @on(UserTable.SortClicked, "#users")
    def header_clicked(self, event: UserTable.SortClicked) -> None:
        column = next((c for c in SORT_COLUMNS if SORT_LABELS[c] == event.label), None)
        if column is None:
            return  # a column the list is not sorted by (Name, Email, ...)
        if column == self.sort.column:
            self._set_sort(UserSort(column, not self.sort.descending))
        else:
            self._set_sort(UserSort(column))

    @on(CycleButton.Changed, "#two-factor")
    def two_factor_changed(self, event: CycleButton.Changed) -> None:
        self._set_filter(two_factor=event.value)

    @on(CycleButton.Changed, "#status")
    def status_changed(self, event: CycleButton.Changed) -> None:
        self._set_filter(status=event.value)

    @on(CycleButton.Changed, "#source")
    def source_changed(self, event: CycleButton.Changed) -> None:
        self._set_filter(auth_source=None if event.value == "any" else event.value)

    @on(CycleButton.Changed, "#codes")
    def codes_changed(self, event: CycleButton.Changed) -> None:
        self._set_filter(codes=event.value)

    @on(Input.Changed, "#search")
    def search_changed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        value = event.value
        self._search_timer = self.set_timer(SEARCH_DELAY, lambda: self._set_filter(search=value))

    @on(Input.Submitted, "#search")
    def search_submitted(self, event: Input.Submitted) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._set_filter(search=event.value)
        self.query_one("#users").focus()

    def action_search(self) -> None:
        search = self.query_one("#search")
        if self.focused is search:
            raise SkipAction()  # a "/" typed into the search
        self.set_focus(search)

    def action_next_page(self) -> None:
        self._turn_page(1, None)

    def action_previous_page(self) -> None:
        self._turn_page(-1, None)

    @on(UserTable.PageEdge, "#users")
    def page_edge(self, event: UserTable.PageEdge) -> None:
        """Down on the last row: the next page's first row; Up on the first: the
        previous page's last row. Silent at either end of the list."""
        if self.page_loading:  # a move on the page being read
            table = self.query_one("#users", UserTable)
            self._queued.append(lambda: table.action_move(event.step))
        elif self._page_exists(event.step):
            self._turn_page(event.step, 0 if event.step > 0 else -1)

    def _page_exists(self, step: int) -> bool:
        if self.page is None or not self.page.rows:
            return False
        if step > 0:
            return self.page.has_next
        return self.page.has_previous and self.page_number > 1

    def _turn_page(self, step: int, cursor: int | None) -> None:
        """One page on (``step`` 1) or back (-1), the cursor then on row ``cursor`` (None:
        where it was). Asked while a page is being read, it waits for that page."""
        if self.page_loading:
            self._queued.append(lambda: self._turn_page(step, cursor))
            return
        if not self._page_exists(step):
            if self.page is not None:
                last = "This is the last page." if step > 0 else "This is the first page."
                self.notify(last, timeout=3)
            return
        assert self.page is not None
        self.page_number += step
        self._cursor_after_load = cursor
        if step > 0:
            self.load_page(after=self.page.rows[-1].position(self.sort))
        else:
            self.load_page(before=self.page.rows[0].position(self.sort))

    @on(UserTable.Selected, "#users")
    def open_user(self, event: UserTable.Selected) -> None:
        from qmfa_tui.screens.user_edit import open_user_edit

        open_user_edit(self, self.actor, event.username)

    def action_back(self) -> None:
        """Esc: from the search field to the table; from anywhere else, out of the screen."""
        if self.focused is self.query_one("#search"):
            self.query_one("#users").focus()
            return
        self.dismiss()
