"""Who a name means: usernames compared without case or Unicode form, and reserved names.

Two usernames are the same person when their keys are equal: ``Admin``,
``ADMIN`` and ``admin`` typed in full-width letters are all ``admin``. The key is stored
beside the username (``account.username_key``, unique) so that creating,
logging in and looking up a user all go through one index.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from qmfa_tui.errors import BadInput

if TYPE_CHECKING:
    from qmfa_tui.storage import Account

# Names that read as "the machine did it" in the audit log: the operator actor's own name
# ("shell"), what it is, and the app itself. "root" and "admin" stay allowed: the audit log
# says whether an event came from a person or an operator command, and both are common
# first-admin names (`qmfa init --username root`).
RESERVED_USERNAMES = frozenset({"shell", "operator", "system", "qmfa"})


def username_key(username: str) -> str:
    """The form two usernames are compared in: NFKC, case-folded, NFKC again.

    Case folding can undo a normalization (and NFKC can produce capitals), hence both
    passes; the result no longer changes under either.
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


def as_typed(username: str) -> str:
    """A username as a person typed it, in the form it is stored: trimmed, NFKC.

    Full-width letters from an input method become the ASCII letters they show.
    """
    return unicodedata.normalize("NFKC", username.strip())


def is_reserved(username: str) -> bool:
    return username_key(username) in RESERVED_USERNAMES


def refuse_reserved(username: str) -> None:
    if is_reserved(username):
        raise BadInput(
            f"The username {username!r} is reserved (it would read as the operator "
            "or the system in the audit log); choose another."
        )


def account_named(username: str) -> Account | None:
    """The account ``username`` means, however its letters are cased or its form
    normalized: usernames are unique by that key, so at most one."""
    # Imported here: the PAM helper's quick exempt check uses username_key without peewee.
    from qmfa_tui.storage import Account

    if "\x00" in username or len(username) > 1000:
        return None  # no username holds these, and PostgreSQL refuses a NUL outright
    return Account.get_or_none(Account.username_key == username_key(username.strip()))
