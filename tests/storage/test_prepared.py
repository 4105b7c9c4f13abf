"""Prepared statements: peewee's SQL rendered once, run with each call's values."""

from __future__ import annotations

import pytest
from helpers import add_user, admin

from qmfa_tui.storage import Account, AuditEvent, Throttle
from qmfa_tui.storage.prepared import Argument, Prepared


def test_each_call_runs_with_its_own_values(database):
    boss = admin()
    add_user(boss, "alice")
    add_user(boss, "bob")
    builds = []

    def build(username):
        builds.append(username)
        return Account.select(Account.username).where(Account.username == username)

    by_name = Prepared(build, str)
    assert by_name.execute("alice").fetchall() == [("alice",)]
    assert by_name.execute("bob").fetchall() == [("bob",)]
    assert by_name.execute("nobody").fetchall() == []
    assert len(builds) == 1  # rendered once


def test_an_argument_used_twice_fills_both_places(database):
    boss = admin()
    for name in ("alice", "bob", "carol"):
        add_user(boss, name)
    between = Prepared(
        lambda low, high, same: (
            Account.select(Account.username)
            .where(
                Account.username >= low,
                Account.username <= high,
                (Account.username == same) | (Account.username != same),
            )
            .order_by(Account.username)
        ),
        str,
        str,
        str,
    )
    assert [r[0] for r in between.execute("alice", "bob", "x")] == ["alice", "bob"]
    assert between.sql()[1].count("\x00qmfa placeholder 2\x00") == 2


def test_rows_affected_counts_a_conditional_update_once(database):
    boss = admin()
    add_user(boss, "alice", display_name="Alice")
    rename = Prepared(
        lambda name, old, new: Account.update(display_name=new).where(
            Account.username == name, Account.display_name == old
        ),
        str,
        str,
        str,
    )
    assert rename.rows_affected("alice", "Alice", "Alice A.") == 1
    assert rename.rows_affected("alice", "Alice", "Alice B.") == 0
    assert Account.get(Account.username == "alice").display_name == "Alice A."


def test_constants_of_the_query_stay_as_peewee_rendered_them(database):
    boss = admin()
    add_user(boss, "alice")
    active_named = Prepared(
        lambda name: Account.select(Account.id).where(
            Account.username == name, Account.auth_source == "local"
        ),
        str,
    )
    assert len(active_named.execute("alice").fetchall()) == 1
    assert "local" in active_named.sql()[1]


def test_an_argument_the_sql_never_uses_is_refused(database):
    unused = Prepared(lambda account_id: Account.select().where(Account.id == 1), int)
    with pytest.raises(ValueError, match="must reach its SQL"):
        unused.execute(5)


def test_only_ints_floats_text_and_datetimes_are_taken(database):
    from datetime import date

    with pytest.raises(TypeError, match="int, float, str and datetime"):
        Prepared(lambda day: Account.select().where(Account.created_at == day), date).execute(
            date(2027, 1, 1)  # type: ignore[arg-type]  # the wrong type is the point
        )
    by_id = Prepared(lambda account_id: Account.select().where(Account.id == account_id), int)
    with pytest.raises(TypeError, match="expected 1 arguments"):
        by_id.execute()


def test_a_datetime_and_a_null_are_stored_as_peewee_stores_them(database):
    from datetime import datetime

    insert = Prepared(
        lambda at, actor, target, action: AuditEvent.insert(
            at=at, actor=actor, target=target, action=action
        ),
        datetime,
        str,
        str,
        str,
    )
    at = datetime(2027, 3, 4, 5, 6, 7, 890)
    insert.execute(at, "alice", None, "test.prepared")
    AuditEvent.insert(at=at, actor="bob", target=None, action="test.peewee").execute()
    stored = {
        event.actor: (event.at, event.target)
        for event in AuditEvent.select().where(AuditEvent.action.startswith("test."))
    }
    assert stored == {"alice": (at, None), "bob": (at, None)}


def test_a_float_argument_lands_where_its_placeholder_did(database):
    boss = admin()
    Throttle.insert(account=boss.user_id, kind="code", locked_until=100.5).execute()
    locked = Prepared(
        lambda now, kind: Throttle.select(Throttle.kind).where(
            Throttle.locked_until > now, Throttle.kind == kind
        ),
        float,
        str,
    )
    assert locked.execute(100.25, "code").fetchall() == [("code",)]
    assert locked.execute(100.5, "code").fetchall() == []


def _hot_statements() -> dict[str, Prepared]:
    """Every Prepared the services hold: module-level, or an attribute of a module-level
    object (throttle's rows of each kind)."""
    import importlib
    import pkgutil
    import types

    import qmfa_tui.services

    found: dict[str, Prepared] = {}
    for module_info in pkgutil.iter_modules(qmfa_tui.services.__path__):
        module = importlib.import_module(f"qmfa_tui.services.{module_info.name}")
        for name, value in vars(module).items():
            if isinstance(value, Prepared):
                found[f"{module_info.name}.{name}"] = value
            elif hasattr(value, "__dict__") and not isinstance(value, type | types.ModuleType):
                for attribute, inner in vars(value).items():
                    if isinstance(inner, Prepared):
                        found[f"{module_info.name}.{name}.{attribute}"] = inner
    return found


def _sample(kind: type, index: int) -> Argument:
    """An ordinary value of ``kind``, different for each argument."""
    from datetime import datetime

    samples: dict[type, Argument] = {
        int: 41 + index,
        float: 1_800_000_000.5 + index,
        str: f"value {index}",
        datetime: datetime(2027, 5, 6, 7, 8, 9, 10 + index),
    }
    return samples[kind]


def test_every_hot_statement_sends_what_peewee_renders_for_its_arguments(database):
    statements = _hot_statements()
    assert len(statements) >= 29  # login's, throttle's, recovery's and audit's
    for name, statement in statements.items():
        args = [_sample(kind, index) for index, kind in enumerate(statement.kinds)]
        sql, params = statement.build(*args).sql()
        assert statement.sql_with(*args) == (sql, list(params)), name
