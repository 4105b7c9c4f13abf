"""Customization > Users listing: filters agree with a direct query, pages tile the list."""

from __future__ import annotations

import pytest
from helpers import add_user, admin

from qmfa_tui import storage
from qmfa_tui.errors import BadInput, NotPermitted
from qmfa_tui.services import demo, directory, login
from qmfa_tui.services.policy import AFFECTED_BY_MANDATORY
from qmfa_tui.services.session import shell_actor
from qmfa_tui.services.user_filter import UserFilter


@pytest.fixture
def seeded(database, fixed_clock):
    demo.create_demo(400)
    return storage.db


def expected(connection, where: str) -> list[str]:
    """The same question asked in plain SQL, on either database ({p}: a '%sato%' parameter)."""
    sql = (
        "SELECT a.username FROM account a LEFT JOIN device d ON d.account_id = a.id "
        f"WHERE {where.format(p=connection.obj.param, left=LEFT)} ORDER BY a.username"
    )
    params = ("%sato%",) * where.count("{p}")
    return [row[0] for row in connection.execute_sql(sql, params).fetchall()]


def walk(user_filter: UserFilter, size: int = 37) -> list[str]:
    actor, names, after = shell_actor(), [], None
    while True:
        page = directory.page_users(actor, user_filter, after=after, size=size)
        names += [row.username for row in page.rows]
        if not page.has_next:
            return names
        after = page.rows[-1].username


# Unused recovery codes of the user's device, counted the plainest way.
LEFT = "(SELECT count(*) FROM recovery_code r WHERE r.device_id = d.id)"

CASES = [
    (UserFilter(two_factor="enabled", status="all"), "d.id IS NOT NULL"),
    (UserFilter(two_factor="disabled", status="all"), "d.id IS NULL"),
    (UserFilter(status="all"), "1=1"),
    (UserFilter(), "a.active"),
    (UserFilter(status="inactive"), "NOT a.active"),
    (UserFilter(auth_source="ldap", status="all"), "a.auth_source = 'ldap'"),
    (AFFECTED_BY_MANDATORY, "a.active AND a.auth_source = 'local' AND d.id IS NULL"),
    (
        UserFilter(search="SATO", status="all"),
        "(lower(a.username) LIKE {p} OR lower(a.display_name) LIKE {p} OR lower(a.email) LIKE {p})",
    ),
    (UserFilter(codes="none", status="all"), "d.id IS NOT NULL AND {left} = 0"),
    (UserFilter(codes="few", status="all"), "d.id IS NOT NULL AND {left} BETWEEN 1 AND 2"),
    (UserFilter(codes="more", status="all"), "d.id IS NOT NULL AND {left} > 2"),
    (UserFilter(codes="none"), "a.active AND d.id IS NOT NULL AND {left} = 0"),
    (
        UserFilter(codes="more", two_factor="enabled", search="SATO", status="all"),
        "d.id IS NOT NULL AND {left} > 2 AND (lower(a.username) LIKE {p} "
        "OR lower(a.display_name) LIKE {p} OR lower(a.email) LIKE {p})",
    ),
]


@pytest.mark.parametrize(("user_filter", "where"), CASES)
def test_filters_match_a_direct_query_and_pages_tile_it(seeded, user_filter, where):
    wanted = expected(seeded, where)
    assert wanted, "the seed should give every case some users"
    assert directory.count_users(shell_actor(), user_filter) == len(wanted)
    assert walk(user_filter) == wanted


def test_a_codes_filter_leaves_out_users_without_a_device(seeded):
    actor = shell_actor()
    for codes in ("none", "few", "more"):
        assert directory.count_users(actor, UserFilter(codes=codes, two_factor="disabled")) == 0
    split = sum(
        directory.count_users(actor, UserFilter(codes=codes, status="all"))
        for codes in ("none", "few", "more")
    )
    assert split == directory.count_users(actor, UserFilter(two_factor="enabled", status="all"))
    rows = directory.page_users(actor, UserFilter(codes="few", status="all"), size=500).rows
    assert rows and all(row.few_codes_left for row in rows)
    assert all(row.codes_left in (1, 2) for row in rows)
    assert "helpdesk" in [row.username for row in rows]


def test_search_narrows_and_treats_wildcards_as_text(seeded):
    everyone = directory.count_users(shell_actor(), UserFilter(status="all"))
    narrowed = directory.count_users(shell_actor(), UserFilter(status="all", search="alice"))
    assert 0 < narrowed < everyone
    assert directory.count_users(shell_actor(), UserFilter(status="all", search="%")) == 0
    assert directory.count_users(shell_actor(), UserFilter(status="all", search="_")) == 0


def test_paging_backwards_retraces_the_pages(seeded):
    user_filter = UserFilter(status="all")
    first = directory.page_users(shell_actor(), user_filter, size=25)
    second = directory.page_users(
        shell_actor(), user_filter, after=first.rows[-1].username, size=25
    )
    back = directory.page_users(shell_actor(), user_filter, before=second.rows[0].username, size=25)
    assert back.rows == first.rows and not back.has_previous and back.has_next
    assert second.has_previous and not first.has_previous


def test_rows_carry_what_the_table_shows(seeded):
    rows = {
        row.username: row
        for row in directory.page_users(
            shell_actor(), UserFilter(status="all", search="example.com"), size=10
        ).rows
    }
    for name, left in (("admin", 8), ("bob", 5), ("helpdesk", 2)):
        page = directory.page_users(shell_actor(), UserFilter(status="all", search=name))
        row = next(r for r in page.rows if r.username == name)
        assert row.two_factor and row.codes_left == left
        assert row.few_codes_left == (left <= 2)
    assert rows


def test_only_users_module_holders_list_users(database, fixed_clock):
    boss = admin()
    plain = add_user(boss, "plain")
    with pytest.raises(NotPermitted):
        directory.count_users(plain, UserFilter())
    with pytest.raises(NotPermitted):
        directory.page_users(plain, UserFilter())
    assert directory.count_users(add_user(boss, "hd", users_module=True), UserFilter()) == 3


def test_bad_filter_values_are_refused():
    with pytest.raises(BadInput):
        UserFilter(two_factor="maybe")  # type: ignore[arg-type]
    with pytest.raises(BadInput):
        UserFilter(auth_source="kerberos")
    with pytest.raises(BadInput):
        UserFilter(codes="few-ish")  # type: ignore[arg-type]


def test_filter_descriptions():
    assert AFFECTED_BY_MANDATORY.describe() == "Active local users with 2FA disabled"
    assert UserFilter(status="all", search="ann").describe() == "All users matching 'ann'"
    assert UserFilter(codes="none").describe() == "Active users with no recovery codes left"
    assert (
        UserFilter(codes="few", two_factor="enabled").describe()
        == "Active users with 2FA enabled and 1-2 recovery codes left"
    )
    assert UserFilter(codes="more").describe() == "Active users with 3+ recovery codes left"


def test_the_users_screen_query_walks_the_username_index(seeded, backend):
    if backend != "sqlite":
        pytest.skip("SQLite's query plan; PostgreSQL plans by its own statistics")
    plan = storage.db.execute_sql(
        "EXPLAIN QUERY PLAN SELECT a.id FROM account a LEFT JOIN device d "
        "ON d.account_id = a.id WHERE a.active ORDER BY a.username LIMIT 51"
    ).fetchall()
    text = " ".join(str(step[-1]) for step in plan)
    assert "TEMP B-TREE" not in text  # no sort of the whole table for one page


def test_the_two_factor_flag_always_matches_the_device_rows(seeded, fixed_clock):
    from helpers import register

    def mismatches() -> int:
        return storage.db.execute_sql(
            "SELECT count(*) FROM account a LEFT JOIN device d ON d.account_id = a.id "
            "WHERE a.two_factor <> (d.id IS NOT NULL)"
        ).fetchone()[0]

    assert mismatches() == 0  # after the demo's bulk insert
    from qmfa_tui.services import twofactor

    twofactor.remove_device(shell_actor(), "bob")
    assert mismatches() == 0
    from qmfa_tui.services import accounts

    accounts.create_user(shell_actor(), "newbie", password="a long password")
    register(accounts_login("newbie"), fixed_clock)
    assert mismatches() == 0


def accounts_login(username: str):

    return login.with_password(username, "a long password").actor


def test_the_users_counted_and_exported_are_those_mandatory_2fa_stops_at_login(seeded):
    """The modal's count, the rows its export writes and policy.count_affected (audit,
    CLI) name exactly the users whom a login then sends to registration."""
    from qmfa_tui.errors import AuthenticationFailed
    from qmfa_tui.services import policy
    from qmfa_tui.services.session import NextStep
    from qmfa_tui.storage import Account

    shell = shell_actor()
    counted = directory.count_users(shell, AFFECTED_BY_MANDATORY)
    exported = [row.username for row in directory.users_matching(shell, AFFECTED_BY_MANDATORY)]
    policy.set_mandatory(shell, True)
    stopped = []
    for username in Account.select(Account.username).scalars():
        try:
            pending = login.with_password(username, demo.DEMO_PASSWORD)
        except AuthenticationFailed:
            continue  # inactive, or signs in through LDAP/SSO: never asked for 2FA here
        if pending.next_step is NextStep.REGISTER_DEVICE:
            stopped.append(username)
    assert 0 < counted == len(exported) == policy.count_affected()
    assert sorted(exported) == sorted(stopped)


# Each sort in plain SQL: the column, then the username (unique) for ties.
SORT_SQL = {
    "username": "a.username",
    "two_factor": "a.two_factor",
    "codes": f"CASE WHEN d.id IS NULL THEN {directory.NO_DEVICE_RANK} ELSE {LEFT} END",
    "created": "a.created_at",
}


@pytest.fixture
def created_apart(seeded, fixed_clock):
    """The demo made everyone at once: a third of the users now come a day earlier and
    another third a day later, so a Created sort has both ties and an order to keep."""
    from datetime import timedelta

    from qmfa_tui.storage import Account

    made = Account.select(Account.created_at).scalar()
    ids = list(Account.select(Account.id).order_by(Account.id).scalars())
    for shift, third in ((-1, ids[0::3]), (1, ids[1::3])):
        moved = made + timedelta(days=shift)
        Account.update(created_at=moved).where(Account.id.in_(third)).execute()
    return seeded


def walk_sorted(user_filter: UserFilter, sort: directory.UserSort, size: int = 37) -> list[str]:
    actor, after = shell_actor(), None
    rows: list[directory.UserRow] = []
    while True:
        page = directory.page_users(actor, user_filter, sort=sort, after=after, size=size)
        rows += page.rows
        if not page.has_next:
            break
        after = page.rows[-1].position(sort)
    # and back again, page by page, from the last page's first row
    back: list[directory.UserRow] = []
    before = rows[-(len(rows) % size or size)].position(sort)
    while True:
        page = directory.page_users(actor, user_filter, sort=sort, before=before, size=size)
        back = page.rows + back
        if not page.has_previous:
            break
        before = page.rows[0].position(sort)
    assert back == rows[: len(back)] and len(back) == len(rows) - (len(rows) % size or size)
    return [row.username for row in rows]


@pytest.mark.parametrize("column", directory.SORT_COLUMNS)
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize(
    ("user_filter", "where"),
    [
        (UserFilter(status="all"), "1=1"),
        (UserFilter(two_factor="enabled"), "a.active AND d.id IS NOT NULL"),
    ],
)
def test_each_sort_pages_through_the_order_a_direct_query_gives(
    created_apart, column, descending, user_filter, where
):
    direction = "DESC" if descending else "ASC"
    order = f"{SORT_SQL[column]} {direction}, a.username {direction}"
    sql = (
        "SELECT a.username FROM account a LEFT JOIN device d ON d.account_id = a.id "
        f"WHERE {where} ORDER BY {order}"
    )
    wanted = [row[0] for row in created_apart.execute_sql(sql).fetchall()]
    assert len(wanted) > 37  # more than a page
    assert walk_sorted(user_filter, directory.UserSort(column, descending)) == wanted


def test_the_codes_sort_puts_users_without_a_device_after_every_count(seeded):
    sort = directory.UserSort("codes")
    rows = directory.page_users(shell_actor(), UserFilter(status="all"), sort=sort, size=1000).rows
    left = [row.codes_left for row in rows]
    first_without = left.index(None)
    counts = [number for number in left[:first_without] if number is not None]
    assert counts == sorted(counts) and len(counts) == first_without  # 0, 0, ..., 8
    assert counts[0] == 0 and set(left[first_without:]) == {None}


def test_a_sort_by_an_unknown_column_is_refused():
    with pytest.raises(BadInput):
        directory.UserSort("email")  # type: ignore[arg-type]


def test_a_page_sorted_by_created_walks_its_index(seeded, backend):
    """Migration 0014: a page in Created order reads one page of an index, not the whole
    table sorted (a seek to the row-value position, then LIMIT)."""
    if backend != "sqlite":
        pytest.skip("SQLite's query plan; PostgreSQL plans by its own statistics")
    plan = storage.db.execute_sql(
        "EXPLAIN QUERY PLAN SELECT a.id FROM account a WHERE a.active AND "
        "(a.created_at, a.username) > (?, ?) ORDER BY a.created_at, a.username LIMIT 51",
        ("2026-01-01", "m"),
    ).fetchall()
    text = " ".join(str(step[-1]) for step in plan)
    assert "TEMP B-TREE" not in text and "account_created_at_username" in text


def test_the_2fa_filter_still_counts_from_the_covering_username_index(seeded, backend):
    """No index led by the 2FA flag on SQLite: its planner took one for every 2FA filter
    and read the table row by row (a count 4x as slow as from the covering index)."""
    if backend != "sqlite":
        pytest.skip("SQLite's query plan; PostgreSQL plans by its own statistics")
    plan = storage.db.execute_sql(
        "EXPLAIN QUERY PLAN SELECT count(*) FROM account WHERE active AND two_factor = 1"
    ).fetchall()
    assert "COVERING INDEX account_username_active" in " ".join(str(step[-1]) for step in plan)


def test_the_sort_indexes_are_made_where_they_help(seeded, backend):
    if backend == "sqlite":
        indexes = {row[1] for row in storage.db.execute_sql("PRAGMA index_list('account')")}
    else:
        query = "SELECT indexname FROM pg_indexes WHERE tablename = 'account'"
        indexes = {row[0] for row in storage.db.execute_sql(query)}
    assert "account_created_at_username" in indexes
    assert ("account_two_factor_username" in indexes) == (backend == "postgresql")
