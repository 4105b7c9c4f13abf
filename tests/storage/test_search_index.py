"""The Users search on PostgreSQL is served by trigram indexes (migration 0008) and its
counts by an index on the flags (0009); on SQLite those migrations do nothing and the
search is the same substring match."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import pytest
from conftest import POSTGRES_URL
from helpers import add_user, admin

from qmfa_tui import storage
from qmfa_tui.errors import StorageError
from qmfa_tui.services import directory
from qmfa_tui.services.user_filter import UserFilter, conditions
from qmfa_tui.storage import Account

TRIGRAM_INDEXES = {f"account_{c}_trigram" for c in ("username", "display_name", "email")}
COUNT_INDEX = "account_active_two_factor_auth_source"  # 0009, PostgreSQL only


def test_search_is_a_substring_match_on_either_backend(database):
    boss = admin()
    add_user(boss, "zoe", display_name="Zoë Ångström", email="zoe@example.org")
    add_user(boss, "bob", display_name="Bob", email="b@EXAMPLE.net")
    add_user(boss, "al_x", display_name="Al", email="al@x.org")
    for text, expected in {
        "ngstr": ["zoe"],
        "example": ["bob", "zoe"],  # any case
        "ob": ["bob"],
        "_x": ["al_x"],  # no wildcard: the underscore itself
        "%": [],
    }.items():
        found = [row.username for row in directory.page_users(boss, UserFilter(search=text)).rows]
        assert found == expected, text


def test_the_migrations_add_search_and_count_indexes_on_postgresql_only(database, backend):
    applied = {row[0] for row in storage.db.execute_sql("SELECT name FROM schema_migration")}
    assert {"0008_trigram_search", "0009_postgresql_count_index"} <= applied
    if backend == "sqlite":
        names = storage.db.execute_sql(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'account'"
        ).fetchall()
        assert not (TRIGRAM_INDEXES | {COUNT_INDEX}) & {row[0] for row in names}
        return
    names = storage.db.execute_sql(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'account'"
    ).fetchall()
    assert {row[0] for row in names} >= TRIGRAM_INDEXES | {COUNT_INDEX}


def test_the_search_query_can_use_the_trigram_indexes(database, backend):
    if backend != "postgresql":
        pytest.skip("PostgreSQL's planner")
    query = Account.select(Account.id).where(
        *conditions(UserFilter(search="ngstr", status="all"), paging=True)
    )
    sql, params = query.sql()
    with storage.db.atomic():
        # A handful of rows reads fastest in a scan: ask whether the index *can* serve it.
        storage.db.execute_sql("SET LOCAL enable_seqscan = off")
        plan = "\n".join(row[0] for row in storage.db.execute_sql(f"EXPLAIN {sql}", params))
    for index in TRIGRAM_INDEXES:
        assert index in plan, plan


NO_EXTENSION_ROLE = "qmfa_paint_noext"


@pytest.fixture
def role_without_create():
    """A role owning qmfa's tables, without the right to make extensions in the database."""
    if POSTGRES_URL is None:
        pytest.skip("needs QMFA_TEST_POSTGRES_URL")
    from conftest import empty_postgres_schema

    empty_postgres_schema(POSTGRES_URL)
    storage.open_database(POSTGRES_URL, create=True)  # migrations 0001-0008, as the owner
    may = storage.db.execute_sql(
        "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"
    ).fetchone()[0]
    if not may:
        storage.close_database()
        pytest.skip("the test database's user may not create a role")
    storage.db.execute_sql("DROP EXTENSION pg_trgm CASCADE")
    storage.db.execute_sql(
        "DELETE FROM schema_migration WHERE name IN "
        "('0008_trigram_search', '0009_postgresql_count_index')"
    )
    storage.db.execute_sql(f'DROP ROLE IF EXISTS "{NO_EXTENSION_ROLE}"')
    storage.db.execute_sql(f'CREATE ROLE "{NO_EXTENSION_ROLE}" LOGIN')
    storage.db.execute_sql(f'GRANT ALL ON SCHEMA public TO "{NO_EXTENSION_ROLE}"')
    tables = storage.db.execute_sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    for (table,) in tables.fetchall():
        storage.db.execute_sql(f'ALTER TABLE "{table}" OWNER TO "{NO_EXTENSION_ROLE}"')
    storage.close_database()
    parts = urlsplit(POSTGRES_URL)
    host = parts.netloc.rsplit("@", 1)[-1]
    yield urlunsplit(parts._replace(netloc=f"{NO_EXTENSION_ROLE}@{host}"))
    storage.close_database()
    empty_postgres_schema(POSTGRES_URL)
    storage.open_database(POSTGRES_URL, create=True)
    storage.db.execute_sql(f'DROP OWNED BY "{NO_EXTENSION_ROLE}" CASCADE')
    storage.db.execute_sql(f'DROP ROLE IF EXISTS "{NO_EXTENSION_ROLE}"')
    storage.close_database()


def test_without_the_right_to_create_pg_trgm_the_upgrade_is_refused_in_one_line(
    role_without_create, tmp_path
):
    key = tmp_path / "instance.key"
    with pytest.raises(StorageError) as refused:
        storage.open_database(role_without_create, key_file=key, create=False)
    message = refused.value.message
    assert "\n" not in message
    assert "pg_trgm" in message and "CREATE EXTENSION pg_trgm;" in message
    assert "permission denied" in message
