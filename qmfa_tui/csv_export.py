"""Rows as CSV that a spreadsheet opens safely: exact text, never a formula.

`qmfa users list --format csv` and the mandatory modal's export write the same
bytes (the modal's test compares them).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI imports this module before it opens a database
    from qmfa_tui.services.directory import UserRow

USER_COLUMNS = ("username", "name", "email", "auth", "active", "2fa", "codes_left")
# A spreadsheet reads a cell starting with one of these as a formula (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    return str(value)


def no_formula(text: str) -> str:
    """The cell with a leading ' when a spreadsheet would otherwise run it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_lines(columns: tuple[str, ...], rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The header, then one line per row (each ending in "\\n"), streamed."""
    # csv quotes a field holding a character of its line terminator: with "\r\n" that
    # covers a lone CR (which with "\n" went out bare and split the row); rows still end
    # in "\n".
    line = io.StringIO()
    writer = csv.writer(line, lineterminator="\r\n")
    yield _line(line, writer, columns)
    for row in rows:
        yield _line(line, writer, [no_formula(plain(row[c])) for c in columns])


def _line(line: io.StringIO, writer: Any, values: Iterable[str]) -> str:
    line.seek(0)
    line.truncate()
    writer.writerow(values)
    return line.getvalue()[:-2] + "\n"


def two_factor_word(enabled: bool) -> str:
    """2FA as the app's Users table says it."""
    return "Enabled" if enabled else "Disabled"


def codes_word(codes_left: int | None, code_count: int) -> str:
    """Recovery codes left as the app's Users table says it: "5/8", or "-" without 2FA."""
    return "-" if codes_left is None else f"{codes_left}/{code_count}"


def user_table_record(record: dict[str, Any], code_count: int) -> dict[str, Any]:
    """A ``user_record`` in the app's words, for a table a person reads; CSV and JSON
    keep the machine values (yes/no or true/false, a count), which scripts compare."""
    return {
        **record,
        "2fa": two_factor_word(record["2fa"]),
        "codes_left": codes_word(record["codes_left"], code_count),
    }


def user_record(user: UserRow) -> dict[str, Any]:
    return {
        "username": user.username,
        "name": user.display_name,
        "email": user.email,
        "auth": user.auth_source,
        "active": user.active,
        "2fa": user.two_factor,
        "codes_left": user.codes_left,
    }
