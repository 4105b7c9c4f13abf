"""Customization > Users: filter by 2FA, status, auth source, codes left and text; one page
at a time.

Each query runs in an exclusive thread worker, so a new filter cancels the one
in flight; results carry the request number they answer and stale ones are
dropped. Only one page of rows is ever in the table.
"""

from __future__ import annotations

from dataclasses import dataclass
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

from qmfa_tui.errors import QmfaError
from qmfa_tui.kinds import AuthSource
from qmfa_tui.screens.opening import read_then_push
from qmfa_tui.services import directory
from qmfa_tui.services.directory import PAGE_SIZE, UserPage
from qmfa_tui.services.session import Actor
from qmfa_tui.services.user_filter import FEW_LEFT, UserFilter
from qmfa_tui.text import SAFE_TEXT_PATTERN, counted
from qmfa_tui.widgets.cycle_button import CycleButton
from qmfa_tui.widgets.key_bar import KeyBar
from qmfa_tui.widgets.literal import literal
from qmfa_tui.widgets.ordered_input import OrderedInput
from qmfa_tui.widgets.styled_once import StyledOnMount
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
class FirstAnswers:
    page: UserPage
    total: int


def open_users(
    host: DOMNode, actor: Actor, user_filter: UserFilter | None = None, *, origin: str | None = None
) -> None:
    """Read the first page and the count (1-10 ms of SQL) in a thread worker of ``host``,
    then push the Users screen drawn whole (``opening.read_then_push``). A failure opens
    the screen all the same: it asks again and shows what failed."""
    wanted = user_filter or UserFilter()

    def read() -> FirstAnswers:
        return FirstAnswers(
            directory.page_users(actor, wanted), directory.count_users(actor, wanted)
        )

    def screen(first: FirstAnswers | None) -> UsersScreen:
        return UsersScreen(actor, wanted, origin=origin, first=first)

    read_then_push(
        host, actor, read, screen, if_failed=lambda error: screen(None), group="open-users"
    )


class UsersScreen(StyledOnMount, Screen[None]):
    CSS_PATH = "users.tcss"
    # Textual types this as an instance attribute, so no ClassVar here.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (80, "-wide")]  # noqa: RUF012
    AUTO_FOCUS = "#users"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "next_page", "Next page"),
        Binding("p", "previous_page", "Prev page"),
        # Priority: the focus moves before the keys typed after "/" are forwarded.
        Binding("slash", "search", "Search", priority=True),
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

    @dataclass
    class Failed(Message):
        error: QmfaError

    def __init__(
        self,
        actor: Actor,
        user_filter: UserFilter | None = None,
        *,
        origin: str | None = None,
        first: FirstAnswers | None = None,
    ) -> None:
        """``first``: the first page and the count, read before the screen is pushed
        (``open_users``); without them the screen asks once it is mounted."""
        super().__init__()
        self.actor = actor
        self.user_filter = user_filter or UserFilter()
        self.origin = origin
        self.total: int | None = None if first is None else first.total
        self.page: UserPage | None = None if first is None else first.page
        self.page_number = 1
        self._search_timer: Timer | None = None
        self._left = False  # for another screen pushed over it
        self.failure: str | None = None
        # Each answer carries the request it answers; answers to older requests are dropped.
        self.page_request = self.count_request = 0 if first is None else 1
        self.shown_page = self.shown_count = self.page_request

    def compose(self) -> ComposeResult:
        # The width's class (see HORIZONTAL_BREAKPOINTS) is set before the children are
        # styled; set on the first Resize, as Textual does, it restyled every one of them.
        width = self.app.size.width
        for least, name in sorted(self.HORIZONTAL_BREAKPOINTS, reverse=True):
            if width >= least:
                self.add_class(name)
                break
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
        if self.page is None:
            self.recount()
            self.load_page()
        else:
            self.query_one("#users", UserTable).set_rows(self.page.rows)
            self._show_summary()

    def on_screen_suspend(self) -> None:
        self._left = True

    def on_screen_resume(self) -> None:
        # Pushed with its first answers, the screen resumes once with nothing to ask.
        if self._left and self.page is not None and self.page.rows:  # back from User Edit
            self.recount()
            first = self.page.rows[0].username
            self.load_page(starting_at=first if self.page.has_previous else None)

    def recount(self) -> None:
        self.count_request += 1
        self.total = self.failure = None
        self._show_summary()
        self.count(self.count_request, self.user_filter)

    def load_page(
        self, *, after: str | None = None, before: str | None = None, starting_at: str | None = None
    ) -> None:
        self.page_request += 1
        self.fetch_page(self.page_request, self.user_filter, after, before, starting_at)

    @work(thread=True, exclusive=True, group="users-count")
    def count(self, request: int, user_filter: UserFilter) -> None:
        try:
            total = directory.count_users(self.actor, user_filter)
        except QmfaError as error:
            self.post_message(self.Failed(error))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self.Counted(request, total))

    @work(thread=True, exclusive=True, group="users-page")
    def fetch_page(
        self,
        request: int,
        user_filter: UserFilter,
        after: str | None,
        before: str | None,
        starting_at: str | None,
    ) -> None:
        try:
            page = directory.page_users(
                self.actor, user_filter, after=after, before=before, starting_at=starting_at
            )
        except QmfaError as error:
            self.post_message(self.Failed(error))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self.PageLoaded(request, page))

    def on_users_screen_page_loaded(self, message: PageLoaded) -> None:
        if message.request != self.page_request:
            return  # an answer to a filter or page the user has since left
        self.page = message.page
        self.query_one("#users", UserTable).set_rows(message.page.rows)
        self.shown_page = message.request
        self._show_summary()

    def on_users_screen_counted(self, message: Counted) -> None:
        if message.request == self.count_request:
            self.total = message.total
            self.shown_count = message.request
            self._show_summary()

    def on_users_screen_failed(self, message: Failed) -> None:
        self.failure = message.error.message  # kept in the summary until the next count
        self._show_summary()
        self.notify(message.error.message, severity="error")

    def _show_summary(self) -> None:
        described = self.user_filter.describe()
        if self.origin:
            described = f"{described} ({self.origin})"
        total = "counting…" if self.total is None else counted(self.total, "user")
        text = f"{described}: {self.failure or total}"
        if self.page is not None and self.page.rows:
            first = (self.page_number - 1) * PAGE_SIZE + 1
            text += f" · showing {first:,}-{first + len(self.page.rows) - 1:,}"
        self.query_one("#summary", Static).update(literal(text))  # the search text is in it

    def _set_filter(self, **changes: object) -> None:
        new = self.user_filter.with_(**changes)
        if new != self.user_filter:
            self.user_filter = new
            self.origin = None
            self.page_number = 1
            self.recount()
            self.load_page()

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
        if self.page is not None and self.page.has_next and self.page.rows:
            self.page_number += 1
            self.load_page(after=self.page.rows[-1].username)

    def action_previous_page(self) -> None:
        if self.page is not None and self.page.has_previous and self.page.rows:
            self.page_number = max(1, self.page_number - 1)
            self.load_page(before=self.page.rows[0].username)

    @on(UserTable.Selected, "#users")
    def open_user(self, event: UserTable.Selected) -> None:
        from qmfa_tui.screens.user_edit import open_user_edit

        open_user_edit(self, self.actor, event.username)

    def action_back(self) -> None:
        self.dismiss()
