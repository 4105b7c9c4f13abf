"""Who did it: one name per person whatever its case or form, reserved names, and audit
events that say whether a person or an operator command acted (and from where)."""

from __future__ import annotations

import getpass
import os
import pwd
from datetime import datetime

import peewee
import pytest
from helpers import PASSWORD, add_user, admin, login
from playhouse.migrations import Runner

from qmfa_tui import storage
from qmfa_tui.errors import AuthenticationFailed, BadInput, Conflict, NotFound, StorageError
from qmfa_tui.services import accounts, audit, identity, policy, recovery
from qmfa_tui.services import login as login_service
from qmfa_tui.services.session import shell_actor

BEFORE = "0004_grace_period_start"  # the schema this migration (0006) starts from


def wide(text: str) -> str:
    """``text`` in full-width letters, as an East Asian input method types them."""
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


def os_account() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


@pytest.fixture(autouse=True)
def no_ssh_or_sudo(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner's own SSH session or sudo must not leak into what the tests expect."""
    monkeypatch.delenv("SSH_CLIENT", raising=False)
    monkeypatch.delenv("SUDO_USER", raising=False)


# --- the key, and the services using it -------------------------------------------------


@pytest.mark.parametrize("spelling", ["admin", "Admin", "ADMIN", wide("admin"), wide("ADMIN")])
def test_every_spelling_of_a_name_has_one_key(spelling):
    assert identity.username_key(spelling) == "admin"


def test_the_key_folds_beyond_ascii():
    assert identity.username_key("Straße") == identity.username_key("STRASSE") == "strasse"
    assert identity.username_key("\u212aelvin") == "kelvin"  # KELVIN SIGN


@pytest.mark.parametrize("taken", ["admin", "Admin", "ADMIN", wide("admin"), " aDmIn "])
def test_a_name_differing_in_case_or_form_is_taken(database, taken):
    boss = admin()
    with pytest.raises(Conflict, match="is taken"):
        accounts.create_user(boss, taken, password=PASSWORD)
    assert list(storage.Account.select(storage.Account.username).tuples()) == [("admin",)]


def test_a_full_width_name_is_stored_as_the_letters_it_shows(database):
    boss = admin()
    info = accounts.create_user(boss, wide("alice"), password=PASSWORD)
    assert info.username == "alice"
    assert storage.Account.get(storage.Account.username == "alice").username_key == "alice"


def test_the_database_refuses_a_second_key_even_past_the_services(database):
    admin()
    with pytest.raises(peewee.IntegrityError):
        storage.Account.create(username="Admin", username_key="admin", created_at=datetime.now())


@pytest.mark.parametrize("typed", ["admin", "Admin", "ADMIN", wide("admin"), " admin "])
def test_logging_in_with_another_spelling_is_the_same_account(database, typed):
    admin()
    actor = login(typed)
    assert (actor.username, actor.user_id) == ("admin", policy.find_account("admin").id)
    events = audit.list_events(shell_actor(), action="login.succeeded")
    assert [(e.actor, e.target) for e in events] == [("admin", "admin")] * 2


def test_a_wrong_password_under_another_spelling_counts_against_the_same_account(database):
    admin()
    with pytest.raises(AuthenticationFailed):
        login_service.with_password("ADMIN", "not the password")
    failed = audit.list_events(shell_actor(), action="login.failed")
    assert [(e.actor, e.target, e.actor_kind) for e in failed] == [("admin", "admin", "person")]


def test_look_ups_by_username_find_any_spelling(database, fixed_clock):
    boss = admin()
    add_user(boss, "alice")
    assert accounts.get_user(boss, "ALICE").username == "alice"
    assert accounts.set_active(boss, wide("Alice"), False).active is False
    assert recovery.remaining_codes(boss, "Alice") is None
    with pytest.raises(NotFound, match="no user 'alicia'"):
        accounts.get_user(boss, "alicia")


# --- reserved names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["shell", "Shell", "SHELL", wide("shell"), "system", "Operator", "qmfa", "QMFA"]
)
def test_reserved_names_are_refused(database, name):
    boss = admin()
    with pytest.raises(BadInput, match="is reserved"):
        accounts.create_user(boss, name, password=PASSWORD)
    with pytest.raises(BadInput, match="is reserved"):
        accounts.create_user(boss, name, auth_source="ldap")


def test_the_first_admin_cannot_take_a_reserved_name(database):
    with pytest.raises(BadInput, match="'Shell' is reserved"):
        accounts.create_first_admin("Shell", PASSWORD)
    assert not accounts.any_users()


@pytest.mark.parametrize("name", ["root", "admin", "shelly", "sys.tem", "operator1"])
def test_names_near_the_reserved_ones_are_allowed(database, name):
    accounts.create_first_admin("boss", PASSWORD)
    accounts.create_user(login("boss"), name, password=PASSWORD)
    assert login(name).username == name


# --- who acted ---------------------------------------------------------------------------


def test_an_operator_command_is_recorded_with_its_os_account_and_ssh_client(database, monkeypatch):
    admin()
    monkeypatch.setenv("SSH_CLIENT", "203.0.113.7 52144 22")
    policy.set_grace_period(shell_actor(), 24)
    [event] = audit.list_events(shell_actor(), action="settings.grace_period")
    assert (event.actor, event.actor_kind) == ("shell", "operator")
    assert event.origin == f"{os_account()} from 203.0.113.7"
    assert event.actor_label == f"shell (op: {os_account()} from 203.0.113.7)"
    assert event.actor_short == f"shell (op: {os_account()})"


def test_an_operator_command_without_ssh_names_the_os_account(database):
    accounts.create_first_admin("admin", PASSWORD)
    [event] = audit.list_events(shell_actor(), action="instance.initialized")
    assert (event.actor_kind, event.origin) == ("operator", os_account())


def test_sudo_and_odd_environments_are_recorded_safely(database, monkeypatch):
    admin()
    monkeypatch.setenv("SUDO_USER", "ada")
    monkeypatch.setenv("SSH_CLIENT", "fe80::1%eth0 50000 22")
    policy.set_grace_period(shell_actor(), 1)
    monkeypatch.setenv("SSH_CLIENT", "\x1b[31mevil\x07 1 22")

    def no_entry(uid: int) -> None:
        raise KeyError(uid)

    def no_login_name() -> str:
        raise OSError("no login name")

    with monkeypatch.context() as broken:  # a uid with no passwd entry, no login name
        broken.setattr(pwd, "getpwuid", no_entry)
        broken.setattr(getpass, "getuser", no_login_name)
        policy.set_grace_period(shell_actor(), 2)
    newer, older = audit.list_events(shell_actor(), action="settings.grace_period")
    assert older.origin == f"{os_account()} (sudo by ada) from fe80::1%eth0"
    assert newer.origin == f"uid {os.geteuid()} (sudo by ada) from ?[31mevil?"
    assert all(c.isprintable() for c in newer.origin)


def test_a_person_is_recorded_as_a_person(database, monkeypatch):
    monkeypatch.setenv("SSH_CLIENT", "203.0.113.7 52144 22")
    boss = admin()
    add_user(boss, "alice")
    events = audit.list_events(boss, username="alice")
    assert [(e.actor, e.actor_kind, e.origin, e.action) for e in events] == [
        # A person's events carry the SSH client's address (a served session's, or that
        # of the SSH login a local qmfa runs in).
        ("alice", "person", "203.0.113.7", "login.succeeded"),
        ("admin", "person", "203.0.113.7", "user.created"),
    ]
    assert events[0].actor_label == "alice"


def test_a_person_named_shell_from_before_is_told_apart_from_the_operator(database):
    boss = admin()
    # Made before names were reserved (the services refuse it now).
    storage.Account.create(
        username="shell",
        username_key="shell",
        role="admin",
        users_module=True,
        password_hash=accounts.hash_password(PASSWORD),
        created_at=datetime(2026, 1, 1),
    )
    impostor = login("shell")
    accounts.create_user(impostor, "mallory", password=PASSWORD)
    policy.set_grace_period(shell_actor(), 12)
    events = audit.list_events(boss, username="shell")
    assert [(e.actor, e.actor_kind, e.action) for e in events] == [
        ("shell", "operator", "settings.grace_period"),
        ("shell", "person", "user.created"),
        ("shell", "person", "login.succeeded"),
        ("shell", "operator", "instance.initialized"),
    ]
    labels = {e.action: e.actor_label for e in events}
    assert labels["user.created"] == "shell"
    assert labels["settings.grace_period"].startswith("shell (op: ")
    # The person's own events, under any spelling of the name, leave the operator out.
    assert [e.action for e in audit.list_events(boss, username="Mallory")] == ["user.created"]


def test_audit_user_filter_takes_any_spelling(database):
    boss = admin()
    add_user(boss, "alice")
    assert [e.action for e in audit.list_events(boss, username="ALICE")] == [
        "login.succeeded",
        "user.created",
    ]


# --- migration 0006 ----------------------------------------------------------------------


def raw_database(url: str) -> peewee.Database:
    """The database at ``url`` with no migration run and no key loaded."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        return peewee.SqliteDatabase(path)
    from playhouse.db_url import parse

    return storage.database._postgresql_class()(**parse(url))


def build_at_0004(url: str, usernames: list[str]) -> None:
    """A database as the release before this one left it, holding ``usernames``."""
    database = raw_database(url)
    with database:
        Runner(database, str(storage.database.MIGRATIONS_DIR)).up(target=BEFORE)
        password_hash = accounts.hash_password(PASSWORD)
        for name in usernames:
            database.execute_sql(
                "INSERT INTO account (username, display_name, email, auth_source, role, "
                "users_module, active, password_hash, created_at, two_factor) "
                "VALUES (%s, '', '', 'local', 'admin', %s, %s, %s, %s, %s)".replace(
                    "%s", database.param
                ),
                (name, True, True, password_hash, datetime(2026, 1, 1), False),
            )
        for actor, actor_id in (("shell", None), ("admin", 1)):
            database.execute_sql(
                "INSERT INTO audit_event (at, actor, actor_id, action, detail) "
                "VALUES (%s, %s, %s, 'settings.deployment', '')".replace("%s", database.param),
                (datetime(2026, 1, 1), actor, actor_id),
            )
    if hasattr(database, "close_all"):
        database.close_all()


def columns_and_migrations(url: str) -> tuple[set[str], set[str], list[str]]:
    database = raw_database(url)
    with database:
        account = {c.name for c in database.get_columns("account")}
        events = {c.name for c in database.get_columns("audit_event")}
        applied = [
            row[0]
            for row in database.execute_sql("SELECT name FROM schema_migration ORDER BY name")
        ]
    if hasattr(database, "close_all"):
        database.close_all()
    return account, events, applied


def test_colliding_usernames_stop_the_upgrade_and_are_named(database_url, fixed_clock):
    build_at_0004(database_url, ["admin", "Admin", "bob", wide("bob"), "carol"])
    with pytest.raises(StorageError) as refused:
        storage.open_database(database_url)
    message = refused.value.message
    assert "\n" not in message
    assert "'admin' (id 1) = 'Admin' (id 2)" in message
    assert f"'bob' (id 3) = '{wide('bob')}' (id 4)" in message
    assert "carol" not in message and "will not guess" in message
    account, events, applied = columns_and_migrations(database_url)
    assert "username_key" not in account
    assert not {"actor_kind", "origin"} & events
    assert not any(name.startswith("0006") for name in applied)  # earlier ones may have run


def test_the_refusal_is_one_line_through_qmfa(database_url, fixed_clock, tmp_path):
    from cli.test_cli import assert_one_clear_line, qmfa

    if not database_url.startswith("sqlite"):
        pytest.skip("the command line is exercised on SQLite")
    build_at_0004(database_url, ["admin\nroot", "ADMIN\nroot"])
    result = qmfa("--database", database_url, "users", "list")
    assert_one_clear_line(result, "'admin\\nroot' (id 1) = 'ADMIN\\nroot' (id 2)", "will not guess")


def test_after_renaming_one_of_a_pair_the_upgrade_runs(database_url, fixed_clock):
    build_at_0004(database_url, ["admin", "Admin"])
    with pytest.raises(StorageError):
        storage.open_database(database_url)
    database = raw_database(database_url)
    with database:
        database.execute_sql("UPDATE account SET username = 'admin2' WHERE id = 2")
    if hasattr(database, "close_all"):
        database.close_all()
    storage.open_database(database_url)
    try:
        assert login("Admin2").username == "admin2"
    finally:
        storage.close_database()


def test_an_upgrade_fills_the_keys_and_classifies_past_events(database_url, fixed_clock):
    names = ["admin", "Bob", "JÜRGEN", "Straße", wide("carol"), "shell"]
    build_at_0004(database_url, names)
    storage.open_database(database_url)
    try:
        keys: dict[str, str] = dict(
            storage.Account.select(storage.Account.username, storage.Account.username_key)
            .tuples()
            .iterator()
        )
        assert keys == {
            "admin": "admin",
            "Bob": "bob",
            "JÜRGEN": "jürgen",
            "Straße": "strasse",
            wide("carol"): "carol",
            "shell": "shell",
        }
        # The legacy reserved name is kept (nothing to rename it to) and logs in as a person.
        assert login("SHELL").username == "shell"
        assert login("bob").username == "Bob"
        with pytest.raises(Conflict, match="taken"):
            accounts.create_user(shell_actor(), "BOB", password=PASSWORD)
        kinds = [
            (e.actor, e.actor_kind, e.origin)
            for e in audit.list_events(shell_actor(), action="settings.deployment")
        ]
        assert sorted(kinds) == [("admin", "person", ""), ("shell", "operator", "")]
        account, events, applied = columns_and_migrations(database_url)
        assert "username_key" in account and {"actor_kind", "origin"} <= events
        assert any(name.startswith("0006_") for name in applied)
        index = [i for i in storage.db.get_indexes("account") if i.columns == ["username_key"]]
        assert len(index) == 1 and index[0].unique
    finally:
        storage.close_database()


def test_the_migration_reverts_and_runs_again(database_url, fixed_clock):
    storage.open_database(database_url)
    admin()
    storage.close_database()
    database = raw_database(database_url)
    with database:
        runner = Runner(database, str(storage.database.MIGRATIONS_DIR))
        [this] = [m.name for m in runner.status() if m.name.startswith("0006_")]
        reverted = runner.down(this)
    if hasattr(database, "close_all"):
        database.close_all()
    assert reverted[-1] == this
    account, events, _ = columns_and_migrations(database_url)
    assert "username_key" not in account and not {"actor_kind", "origin"} & events
    storage.open_database(database_url)
    try:
        assert login("ADMIN").username == "admin"
        kinds = {e.action: e.actor_kind for e in audit.list_events(shell_actor())}
        assert kinds["instance.initialized"] == "operator"
        assert kinds["login.succeeded"] == "person"
    finally:
        storage.close_database()
