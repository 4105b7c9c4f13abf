"""account.codes_left_rank (migration 0015): the codes left, kept beside the account in the
transaction of every change of codes, so the Users screen sorts by Codes from an index."""

from __future__ import annotations

import peewee
import pyotp
import pytest
from helpers import PASSWORD, add_user, admin, register, start_login
from playhouse.migrations import Runner

from qmfa_tui import storage
from qmfa_tui.errors import AuthenticationFailed
from qmfa_tui.services import demo, directory, login, recovery, twofactor
from qmfa_tui.services.session import shell_actor
from qmfa_tui.services.user_filter import UserFilter
from qmfa_tui.storage.models import NO_DEVICE_RANK
from services.test_concurrency import run_race

BEFORE = "0014_users_sort_indexes"  # the schema migration 0015 starts from

# What the rank must be, counted the plainest way: the device's rows, 9 without a device.
REAL_RANKS = (
    "SELECT a.username, a.codes_left_rank, CASE WHEN d.id IS NULL THEN 9 ELSE "
    "(SELECT count(*) FROM recovery_code r WHERE r.device_id = d.id) END "
    "FROM account a LEFT JOIN device d ON d.account_id = a.id ORDER BY a.username"
)


def ranks_and_counts() -> dict[str, tuple[int, int]]:
    """username -> (codes_left_rank, the real count) for every account."""
    return {name: (rank, real) for name, rank, real in storage.db.execute_sql(REAL_RANKS)}


def rank_of(username: str) -> int:
    rank, real = ranks_and_counts()[username]
    assert rank == real
    return rank


def test_the_rank_without_a_device_comes_after_every_count_of_codes():
    assert NO_DEVICE_RANK == recovery.CODE_COUNT + 1 == directory.NO_DEVICE_RANK


def test_the_rank_follows_registration_each_recovery_code_and_removal(database, fixed_clock):
    boss = admin()
    alice = add_user(boss, "alice")
    assert rank_of("alice") == NO_DEVICE_RANK
    device = register(alice, fixed_clock)
    assert rank_of("alice") == 8
    for used, code in enumerate(device.codes, start=1):
        login.with_recovery_code(start_login("alice"), code)
        assert rank_of("alice") == 8 - used
    assert rank_of("admin") == NO_DEVICE_RANK  # nobody else's changed
    twofactor.remove_device(boss, "alice")
    assert rank_of("alice") == NO_DEVICE_RANK
    register(alice, fixed_clock)
    assert rank_of("alice") == 8


def test_a_code_used_twice_or_a_wrong_code_leaves_the_rank_alone(database, fixed_clock):
    boss = admin()
    alice = add_user(boss, "alice")
    device = register(alice, fixed_clock)
    login.with_recovery_code(start_login("alice"), device.codes[0])
    for typed in (device.codes[0], "00000-00000"):
        fixed_clock.advance(3600)  # past the code throttle's wait
        with pytest.raises(AuthenticationFailed):
            login.with_recovery_code(start_login("alice"), typed)
        assert rank_of("alice") == 7


def test_the_demo_sets_each_rank_to_the_codes_it_made(database, fixed_clock):
    demo.create_demo(300)
    found = ranks_and_counts()
    assert all(rank == real for rank, real in found.values()), [
        name for name, (rank, real) in found.items() if rank != real
    ]
    assert {rank for rank, _ in found.values()} == {0, 1, 2, 3, 5, 6, 7, 8, NO_DEVICE_RANK}


def runner(url: str) -> tuple[Runner, peewee.Database]:
    from playhouse.db_url import parse

    database: peewee.Database
    if url.startswith("sqlite:///"):
        database = peewee.SqliteDatabase(url.removeprefix("sqlite:///"))
    else:
        database = storage.database._postgresql_class()(**parse(url))
    return Runner(database, str(storage.database.MIGRATIONS_DIR)), database


def test_the_migration_fills_the_rank_from_the_codes_and_down_drops_it(database, fixed_clock):
    boss = admin()
    for name, used in (("alice", 0), ("bob", 3), ("carol", 8)):
        device = register(add_user(boss, name), fixed_clock)
        for code in device.codes[:used]:
            login.with_recovery_code(start_login(name, PASSWORD), code)
    add_user(boss, "dave")  # no device
    expected = {"admin": 9, "alice": 8, "bob": 5, "carol": 0, "dave": 9}
    url = database.url
    storage.close_database()
    migrations, raw = runner(url)
    with raw:
        migrations.down(target=BEFORE)  # the schema and data as 0014 left them
        columns = {column.name for column in raw.get_columns("account")}
        indexes = {index.name for index in raw.get_indexes("account")}
    if hasattr(raw, "close_all"):  # PostgreSQL's pool
        raw.close_all()
    assert "codes_left_rank" not in columns
    assert "account_codes_left_rank_username" not in indexes
    storage.open_database(url)  # runs 0015 (and any later) again
    assert {name: rank for name, (rank, _) in ranks_and_counts().items()} == expected
    assert all(rank == real for rank, real in ranks_and_counts().values())


def test_a_page_sorted_by_codes_walks_its_index(database, fixed_clock, backend):
    """Migration 0015: a page in Codes order reads one page of an index, not every user's
    codes counted and the whole table sorted."""
    if backend != "sqlite":
        pytest.skip("SQLite's query plan; PostgreSQL plans by its own statistics")
    plan = storage.db.execute_sql(
        "EXPLAIN QUERY PLAN SELECT a.id FROM account a WHERE a.active AND "
        "(a.codes_left_rank, a.username) > (?, ?) "
        "ORDER BY a.codes_left_rank, a.username LIMIT 51",
        (3, "m"),
    ).fetchall()
    text = " ".join(str(step[-1]) for step in plan)
    assert "TEMP B-TREE" not in text and "account_codes_left_rank_username" in text


def test_pages_by_codes_show_the_rank_as_codes_left(database, fixed_clock):
    boss = admin()
    device = register(add_user(boss, "alice"), fixed_clock)
    login.with_recovery_code(start_login("alice"), device.codes[0])
    add_user(boss, "bob")
    for descending in (False, True):
        sort = directory.UserSort("codes", descending)
        rows = directory.page_users(shell_actor(), UserFilter(status="all"), sort=sort).rows
        shown = [(row.username, row.codes_left) for row in rows]
        ascending = [("alice", 7), ("admin", None), ("bob", None)]
        assert shown == (ascending[::-1] if descending else ascending)


@pytest.mark.parametrize("codes", ["none", "few", "more"])
def test_a_page_filtered_by_codes_in_username_order_walks_the_username_index(
    database, fixed_clock, backend, codes
):
    """The rank is checked row by row along the username index: taken as a range of the
    rank's index, the whole range was read and sorted for each page (40 ms at 100,000)."""
    from qmfa_tui.services.user_filter import conditions
    from qmfa_tui.storage import Account

    if backend != "sqlite":
        pytest.skip("SQLite's query plan; PostgreSQL plans by its own statistics")
    demo.create_demo(300)
    storage.db.execute_sql("ANALYZE")
    where = conditions(UserFilter(codes=codes), paging=True)
    query = Account.select(Account.id).where(*where).order_by(Account.username).limit(51)
    sql, params = query.sql()
    plan = storage.db.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
    text = " ".join(str(step[-1]) for step in plan)
    assert "TEMP B-TREE" not in text and "codes_left_rank" not in text, text


@pytest.mark.slow
def test_one_code_raced_by_eight_logins_takes_one_off_the_rank(database_url):
    """Only the login whose DELETE removed the code lowers the rank (same transaction)."""
    storage.open_database(database_url)
    boss = admin()
    pending = twofactor.begin_registration(boss)
    codes = twofactor.confirm_registration(
        boss, pending, pyotp.TOTP(pending.secret).now()
    ).recovery_codes
    storage.close_database()  # each racer opens its own connection
    outcomes = run_race(database_url, "recovery", codes[0])
    assert outcomes.count("success") == 1, outcomes
    storage.open_database(database_url)
    try:
        assert ranks_and_counts()["admin"] == (7, 7)
    finally:
        storage.close_database()
