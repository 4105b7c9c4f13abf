"""Which users a filter means: the Users screen's filters, the CLI's `users list`, and
the users mandatory two-step verification would ask to register a device at their next
login (policy.AFFECTED_BY_MANDATORY).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from peewee import ColumnBase

from qmfa_tui.errors import BadInput
from qmfa_tui.kinds import AuthSource, one_of
from qmfa_tui.storage import Account
from qmfa_tui.storage.models import NO_DEVICE_RANK

# "Running low" from this many recovery codes left: the login warns, the Users screen marks
# the count and its Codes filter's "1-2" means 1 to FEW_LEFT.
FEW_LEFT = 2
TwoFactorFilter = Literal["all", "enabled", "disabled"]
StatusFilter = Literal["active", "inactive", "all"]
# Recovery codes left, for users with a device: none, few (1 to FEW_LEFT) or more.
CodesFilter = Literal["all", "none", "few", "more"]
CODES_WORDS = {
    "none": "no recovery codes left",
    "few": f"1-{FEW_LEFT} recovery codes left",
    "more": f"{FEW_LEFT + 1}+ recovery codes left",
}


@dataclass(frozen=True)
class UserFilter:
    """Which users: by 2FA, status, auth source, recovery codes left and text."""

    two_factor: TwoFactorFilter = "all"
    status: StatusFilter = "active"
    auth_source: str | None = None  # None: every source
    search: str = ""
    codes: CodesFilter = "all"  # any value but "all" keeps only users with a device

    def __post_init__(self) -> None:
        if self.two_factor not in ("all", "enabled", "disabled"):
            raise BadInput("The 2FA filter is all, enabled or disabled.")
        if self.status not in ("active", "inactive", "all"):
            raise BadInput("The status filter is active, inactive or all.")
        if self.auth_source is not None and self.auth_source not in set(AuthSource):
            raise BadInput(f"The auth source filter is {one_of(AuthSource, quote='')}.")
        if self.codes not in ("all", "none", "few", "more"):
            raise BadInput("The recovery codes filter is all, none, few or more.")

    def with_(self, **changes: object) -> UserFilter:
        # replace() checks the names and __post_init__ the values, at run time.
        return replace(self, **changes)  # type: ignore[arg-type]

    def describe(self) -> str:
        """The filter in words, for the screen's header line."""
        parts: list[str] = [self.status]
        if self.auth_source:
            parts.append(AuthSource(self.auth_source).label)
        parts.append("users")
        if self.two_factor != "all":
            parts.append(f"with 2FA {self.two_factor}")  # "enabled" / "disabled"
        if self.codes != "all":
            words = CODES_WORDS[self.codes]
            parts.append(f"and {words}" if self.two_factor != "all" else f"with {words}")
        if self.search.strip():
            parts.append(f"matching {self.search.strip()!r}")
        text = " ".join(parts)
        return text[0].upper() + text[1:]


def conditions(user_filter: UserFilter, *, paging: bool = False) -> list[ColumnBase]:
    """The users ``user_filter`` means, as WHERE conditions over Account (all must hold).

    ``paging``: the recovery-codes test suited to a keyset page walked in an order other
    than the codes' rather than to a count (the same users; see ``_codes_left``).
    """
    parts: list[ColumnBase] = []
    if user_filter.two_factor != "all":
        parts.append(Account.two_factor == (user_filter.two_factor == "enabled"))
    if user_filter.status != "all":
        parts.append(Account.active == (user_filter.status == "active"))
    if user_filter.auth_source:
        parts.append(Account.auth_source == user_filter.auth_source)
    if user_filter.codes != "all":
        parts.append(_codes_left(user_filter.codes, walking=paging))
    text = user_filter.search.strip()
    if text:
        parts.append(
            Account.username.contains(text)
            | Account.display_name.contains(text)
            | Account.email.contains(text)
        )
    return parts


def _codes_left(codes: CodesFilter, *, walking: bool) -> ColumnBase:
    """Accounts whose device has no codes left, 1 to FEW_LEFT, or more: a range of
    ``codes_left_rank``, which is NO_DEVICE_RANK without a device (migration 0015).

    ``walking``: for a page in another order than the codes', whose index the walk
    follows, checking each row's rank as it comes (``rank + 0`` is no column an index
    holds). Else the planners took the (codes_left_rank, username) index for the range,
    then sorted all of it, many times slower for a page of "3+ left" at 100,000 users
    (docs/performance.md).
    """
    rank: ColumnBase = Account.codes_left_rank + 0 if walking else Account.codes_left_rank
    if codes == "none":
        return rank == 0
    if codes == "few":
        return rank.between(1, FEW_LEFT)
    return rank.between(FEW_LEFT + 1, NO_DEVICE_RANK - 1)
