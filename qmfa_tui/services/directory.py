"""Customization > Users: filtered, counted and paged lists of users, fast at 100,000.

Pages are keyset pages on the unique username index (``WHERE username > last
ORDER BY username LIMIT n``), so moving through the list costs the same on
page 1 and page 2,000, and nothing ever loads more than one page.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from peewee import JOIN, ModelSelect, fn

from qmfa_tui.services import policy
from qmfa_tui.services.session import Actor
from qmfa_tui.services.user_filter import FEW_LEFT, UserFilter, conditions
from qmfa_tui.storage import Account, Device, RecoveryCode, translate_errors

PAGE_SIZE = 50


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

    @property
    def few_codes_left(self) -> bool:
        return self.codes_left is not None and self.codes_left <= FEW_LEFT


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


@translate_errors
def page_users(
    actor: Actor,
    user_filter: UserFilter,
    *,
    after: str | None = None,
    before: str | None = None,
    starting_at: str | None = None,
    size: int = PAGE_SIZE,
) -> UserPage:
    """``size`` users in username order: after ``after``, before ``before``, or from
    ``starting_at`` (to show the same page again after a change)."""
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
        paging=True,
    )
    backwards = before is not None
    if backwards:
        query = query.where(Account.username < before).order_by(Account.username.desc())
    else:
        if after is not None:
            query = query.where(Account.username > after)
        if starting_at is not None:
            query = query.where(Account.username >= starting_at)
        query = query.order_by(Account.username)
    # peewee's stubs type .dicts() as yielding models; these are column -> value rows.
    found = list(cast("Iterable[dict[str, Any]]", query.limit(size + 1).dicts()))
    more = len(found) > size
    found = found[:size]
    if backwards:
        found.reverse()
    left = _codes_left([row["id"] for row in found if row["two_factor"]])
    rows = [
        UserRow(
            row["id"],
            row["username"],
            row["display_name"],
            row["email"],
            row["auth_source"],
            row["active"],
            row["two_factor"],
            left.get(row["id"], 0) if row["two_factor"] else None,
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


def _codes_left(account_ids: list[int]) -> dict[int, int]:
    """Unused recovery codes per account, for one page of accounts."""
    if not account_ids:
        return {}
    return dict(
        cast(  # peewee's stubs type .tuples() as yielding models: (account id, count) here
            "Iterable[tuple[int, int]]",
            Device.select(Device.account, fn.COUNT(RecoveryCode.id))
            .join(RecoveryCode, JOIN.LEFT_OUTER, on=(RecoveryCode.device == Device.id))
            .where(Device.account.in_(account_ids))
            .group_by(Device.account)
            .tuples(),
        )
    )
