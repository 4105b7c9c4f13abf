"""Statements every login runs, rendered to SQL by peewee once and reused."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import peewee

from qmfa_tui.storage.models import db

# Values no real row holds, so each can be found again among the rendered parameters.
_INT_PLACEHOLDER_BASE = -(2**53)
_FLOAT_PLACEHOLDER_BASE = -(10.0**15) - 0.25  # exact: floats near 1e15 are 1/8 apart
_DATETIME_PLACEHOLDER_BASE = datetime(1, 1, 1, 0, 0, 1)

Argument = int | float | str | datetime | None


def _placeholder(kind: type, index: int) -> int | float | str | datetime:
    if kind is int:
        return _INT_PLACEHOLDER_BASE - index
    if kind is float:
        return _FLOAT_PLACEHOLDER_BASE - index
    if kind is str:
        return f"\x00qmfa placeholder {index}\x00"
    if kind is datetime:
        return _DATETIME_PLACEHOLDER_BASE + timedelta(microseconds=index)
    raise TypeError(
        f"a prepared statement takes int, float, str and datetime arguments, not {kind.__name__}"
    )


class Prepared:
    """A peewee query whose SQL is rendered once per kind of database, then run again.

    peewee renders a query's SQL on every execution, in Python, which was most of a
    security-code check (docs/performance.md). ``build`` receives one placeholder per argument (of
    the types in ``kinds``) and returns the query; each call puts its arguments where the
    placeholders landed among the rendered parameters. Arguments reach the driver as
    they are, so they must be what the column stores: ints, floats, text and naive
    datetimes, as peewee hands them on (no conversion). None stores NULL; it belongs
    only where the statement stores a value (an INSERT's or an UPDATE's), since a
    comparison with NULL matches nothing where peewee would have written IS NULL.
    """

    def __init__(self, build: Callable[..., peewee.Query], *kinds: type) -> None:
        self.build = build
        self.kinds = kinds
        self._rendered: dict[type, tuple[str, list[Any], list[int | None]]] = {}

    def execute(self, *args: Argument) -> Any:
        """Run the statement with ``args``; returns the driver's cursor."""
        return db.execute_sql(*self.sql_with(*args))

    def sql_with(self, *args: Argument) -> tuple[str, list[Any]]:
        """The SQL and parameters ``execute`` sends for ``args``: what peewee renders for
        ``build(*args)`` (tests/storage/test_prepared.py checks it for every hot statement)."""
        if len(args) != len(self.kinds):
            raise TypeError(f"expected {len(self.kinds)} arguments, got {len(args)}")
        sql, rendered, slots = self._render()
        return sql, [rendered[i] if slot is None else args[slot] for i, slot in enumerate(slots)]

    def rows_affected(self, *args: Argument) -> int:
        """Run an UPDATE or DELETE with ``args``; returns how many rows it changed."""
        changed: int = db.rows_affected(self.execute(*args))
        return changed

    def sql(self) -> tuple[str, Sequence[Any]]:
        """The rendered SQL and its parameters, placeholders included (for tests)."""
        sql, rendered, _ = self._render()
        return sql, rendered

    def _render(self) -> tuple[str, list[Any], list[int | None]]:
        backend = type(db.obj)
        rendered = self._rendered.get(backend)
        if rendered is None:
            placeholders = [_placeholder(kind, i) for i, kind in enumerate(self.kinds)]
            sql, params = self.build(*placeholders).sql()
            slots = [_slot_of(value, placeholders) for value in params]
            if set(slots) - {None} != set(range(len(placeholders))):
                raise ValueError("every argument of a prepared statement must reach its SQL")
            rendered = self._rendered[backend] = (sql, list(params), slots)
        return rendered


def _slot_of(value: Any, placeholders: list[int | float | str | datetime]) -> int | None:
    for index, placeholder in enumerate(placeholders):
        if type(value) is type(placeholder) and value == placeholder:
            return index
    return None
