"""Customization > Users: filtered, counted, sorted and paged lists of users, fast at 100,000.

Pages are keyset pages (``WHERE (key, username) > (last key, last username) ORDER BY
key, username LIMIT n``): the username is unique, so it breaks ties and a sort is
stable across pages; moving through the list costs the same on page 1 and page 2,000
where an index holds the order (username; Created, and 2FA on PostgreSQL: migration
0014; Codes: migration 0015; by 2FA SQLite reads the table),
and nothing ever loads more than one page. The Codes order is ``account.codes_left_rank``,
the codes left kept beside the account in every transaction that changes them. While
each user's codes were counted, a page sorted by Codes was a scan; it is read from its
index now (the figures: docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from peewee import ColumnBase, ModelSelect, Tuple

from qmfa_tui.errors import BadInput
from qmfa_tui.services import policy
from qmfa_tui.services.session import Actor
from qmfa_tui.services.user_filter import FEW_LEFT, UserFilter, conditions
from qmfa_tui.storage import Account, models, translate_errors

PAGE_SIZE = 50
# A user without a device has this rank: after every count of codes left (first descending).
NO_DEVICE_RANK = models.NO_DEVICE_RANK

SortColumn = Literal["username", "two_factor", "codes", "created"]
SORT_COLUMNS: tuple[SortColumn, ...] = ("username", "two_factor", "codes", "created")
SORT_LABELS: dict[SortColumn, str] = {
    "username": "Username",
    "two_factor": "2FA",
    "codes": "Codes",
    "created": "Created",
}


@dataclass(frozen=True)
class UserSort:
    """The order of the list: one column, then the username (unique) for ties."""

    column: SortColumn = "username"
    descending: bool = False

    def __post_init__(self) -> None:
        if self.column not in SORT_COLUMNS:
            raise BadInput("The sort is by username, two_factor, codes or created.")

    def describe(self) -> str:
        return f"{SORT_LABELS[self.column]} {'▼' if self.descending else '▲'}"


BY_USERNAME = UserSort()


@dataclass(frozen=True)
class Position:
    """A row's place in a sorted list: its username and, unless the list is sorted by
    username, its value in the sort column (as ``sort_key`` gives it)."""

    username: str
    key: object = None


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    display_name: str
    email: str
    auth_source: str
    active: bool
    two_factor: bool
    codes_left: int | None
    created_at: datetime | None = None

    @property
    def few_codes_left(self) -> bool:
        return self.codes_left is not None and self.codes_left <= FEW_LEFT

    def position(self, sort: UserSort) -> Position:
        """Where this row is in a list sorted by ``sort`` (to page from it)."""
        if sort.column == "username":
            return Position(self.username)
        if sort.column == "two_factor":
            return Position(self.username, self.two_factor)
        if sort.column == "codes":
            rank = NO_DEVICE_RANK if self.codes_left is None else self.codes_left
            return Position(self.username, rank)
        return Position(self.username, self.created_at)


@dataclass(frozen=True)
class UserPage:
    rows: list[UserRow]
    has_previous: bool
    has_next: bool


def _filtered(
    user_filter: UserFilter, *columns: object, paging: bool = False
) -> ModelSelect[Account]:
    query = Account.select(*columns)
    where = conditions(user_filter, paging=paging)
    return query.where(*where) if where else query


@translate_errors
def count_users(actor: Actor, user_filter: UserFilter) -> int:
    policy.require_users_module(actor)
    count: int = _filtered(user_filter).count()
    return count


def sort_key(sort: UserSort) -> ColumnBase | None:
    """The SQL value a list sorted by ``sort`` is ordered by before the username; None
    for the username itself."""
    if sort.column == "two_factor":
        return Account.two_factor
    if sort.column == "created":
        return Account.created_at
    if sort.column == "codes":
        return Account.codes_left_rank
    return None


def _beyond(sort: UserSort, position: Position, *, forwards: bool, inclusive: bool) -> ColumnBase:
    """The rows after ``position`` in the list's order (before it if not ``forwards``),
    as one row-value comparison, which an index on (key, username) answers by a seek."""
    key = sort_key(sort)
    ahead = forwards != sort.descending  # greater values, in SQL terms
    if key is None:
        left: ColumnBase = Account.username
        right: object = position.username
    else:
        if position.key is None:
            raise BadInput("A position in a sorted list needs its sort value.")
        value = (
            Account.created_at.db_value(position.key) if sort.column == "created" else position.key
        )
        left, right = Tuple(key, Account.username), Tuple(value, position.username)
    if ahead:
        return cast("ColumnBase", left >= right if inclusive else left > right)
    return cast("ColumnBase", left <= right if inclusive else left < right)


def _as_position(place: str | Position | None) -> Position | None:
    return Position(place) if isinstance(place, str) else place


@translate_errors
def page_users(
    actor: Actor,
    user_filter: UserFilter,
    *,
    after: str | Position | None = None,
    before: str | Position | None = None,
    starting_at: str | Position | None = None,
    size: int = PAGE_SIZE,
    sort: UserSort = BY_USERNAME,
) -> UserPage:
    """``size`` users in ``sort``'s order: after ``after``, before ``before``, or from
    ``starting_at`` (to show the same page again after a change). A username alone is a
    position in the username order."""
    policy.require_users_module(actor)
    query = _filtered(
        user_filter,
        Account.id,
        Account.username,
        Account.display_name,
        Account.email,
        Account.auth_source,
        Account.active,
        Account.two_factor,
        Account.created_at,
        Account.codes_left_rank,
        paging=sort.column != "codes",  # in the codes' order, their index serves the filter
    )
    after, before, starting_at = map(_as_position, (after, before, starting_at))
    backwards = before is not None
    key = sort_key(sort)
    columns: list[ColumnBase] = [Account.username] if key is None else [key, Account.username]
    downwards = backwards != sort.descending
    order = [column.desc() if downwards else column.asc() for column in columns]
    if before is not None:
        query = query.where(_beyond(sort, before, forwards=False, inclusive=False))
    if after is not None:
        query = query.where(_beyond(sort, after, forwards=True, inclusive=False))
    if starting_at is not None:
        query = query.where(_beyond(sort, starting_at, forwards=True, inclusive=True))
    query = query.order_by(*order)
    # peewee's stubs type .dicts() as yielding models: these are column -> value rows.
    found = list(cast("Iterable[dict[str, Any]]", query.limit(size + 1).dicts()))
    more = len(found) > size
    found = found[:size]
    if backwards:
        found.reverse()
    rows = [
        UserRow(
            row["id"],
            row["username"],
            row["display_name"],
            row["email"],
            row["auth_source"],
            row["active"],
            row["two_factor"],
            None if row["codes_left_rank"] == NO_DEVICE_RANK else row["codes_left_rank"],
            row["created_at"],
        )
        for row in found
    ]
    if backwards:
        return UserPage(rows, has_previous=more, has_next=True)
    return UserPage(rows, has_previous=after is not None or starting_at is not None, has_next=more)


def all_users(actor: Actor, user_filter: UserFilter, *, page_size: int = 1000) -> Iterator[UserRow]:
    """Every matching user, one keyset page (one service call) at a time: never all in memory."""
    after = None
    while True:
        page = page_users(actor, user_filter, after=after, size=page_size)
        yield from page.rows
        if not page.has_next or not page.rows:
            return
        after = page.rows[-1].username


@translate_errors
def users_matching(actor: Actor, user_filter: UserFilter) -> list[UserRow]:
    """Every matching user in one list, for a file saved from a screen (the CLI streams
    ``all_users`` instead)."""
    return list(all_users(actor, user_filter))
