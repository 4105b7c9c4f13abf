"""services.guard: the rules the PAM helper applies, on the app's own code path."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import PASSWORD, add_user, admin, code_at, register, sqlite_plan

from qmfa_tui import storage
from qmfa_tui.errors import (
    AuthenticationFailed,
    BadInput,
    CodeAlreadyUsed,
    NotPermitted,
    StorageError,
    Throttled,
)
from qmfa_tui.services import accounts, clock, guard, login
from qmfa_tui.services.session import shell_actor
from qmfa_tui.storage import Account, AuditEvent, InstanceSettings

ORIGIN = guard.Origin.of("web1", "sshd", "10.0.0.5", "ssh", "SHA256:abc")


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.id))


@pytest.fixture
def alice(database, fixed_clock):
    boss = admin()
    register(boss, fixed_clock)
    return register(add_user(boss, "alice"), fixed_clock)


def test_a_security_code_passes_once_and_its_step_is_refused_after(alice, fixed_clock):
    code = code_at(alice.secret, fixed_clock.t)
    assert guard.verify("alice", code, ORIGIN).notice == ""
    with pytest.raises(CodeAlreadyUsed, match=r"already used\. Wait for the next one"):
        guard.verify("alice", code, ORIGIN)
    verified, refused = events(guard.VERIFIED), events(guard.REFUSED)
    assert [e.detail for e in verified] == ["security code"]
    assert verified[0].origin == "host web1, sshd from 10.0.0.5, tty ssh, key SHA256:abc"
    assert [e.detail for e in refused] == ["replayed security code"]
    assert verified[0].target == "alice" and verified[0].actor == "alice"


def test_a_code_accepted_by_the_app_login_is_refused_by_the_guard(alice, fixed_clock):
    """One replay guard for every door: the app's login and the guard share it."""
    code = code_at(alice.secret, fixed_clock.t)
    pending = login.with_password("alice", PASSWORD)
    login.with_security_code(pending, code)
    with pytest.raises(CodeAlreadyUsed):
        guard.verify("alice", code, ORIGIN)


def test_a_wrong_code_is_refused_and_audited(alice, fixed_clock):
    right = code_at(alice.secret, fixed_clock.t)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    with pytest.raises(AuthenticationFailed, match="not valid"):
        guard.verify("alice", wrong, ORIGIN)
    assert [e.detail for e in events(guard.REFUSED)] == ["wrong security code"]


def test_a_recovery_code_passes_once(alice, fixed_clock):
    code = alice.codes[0]
    assert (
        guard.verify("alice", code, ORIGIN).notice
        == "Recovery code accepted: 7 recovery codes left."
    )
    with pytest.raises(AuthenticationFailed, match="not valid or was already used"):
        guard.verify("alice", code, ORIGIN)
    assert [e.detail for e in events(guard.VERIFIED)] == ["recovery codes left: 7"]


def test_the_throttle_refuses_at_once_with_its_wait_and_is_shared_with_the_app(alice, fixed_clock):
    right = code_at(alice.secret, fixed_clock.t)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(3):  # two free failures, then a wait
        with pytest.raises(AuthenticationFailed):
            guard.verify("alice", wrong, ORIGIN)
    with pytest.raises(
        Throttled, match=r"Too many failed attempts\. Try again in about 10 seconds"
    ):
        guard.verify("alice", right, ORIGIN)
    # the app's login counts on the same row
    pending = login.with_password("alice", PASSWORD)
    with pytest.raises(Throttled):
        login.with_security_code(pending, right)
    fixed_clock.advance(2)
    guard.verify("alice", right, ORIGIN)


def test_junk_that_reaches_the_service_is_bad_input(alice):
    with pytest.raises(BadInput):
        guard.verify("alice", "12345", ORIGIN)
    with pytest.raises(BadInput, match="xxxxx-xxxxx"):
        guard.verify("alice", "not-a-code", ORIGIN)


@pytest.mark.parametrize("name", ["nobody", "", "x" * 151, "ali\x00ce"])
def test_an_unknown_user_is_refused_and_never_exempt(alice, name):
    with pytest.raises(AuthenticationFailed, match="no two-step verification in qmfa"):
        guard.verify(name, "123456", ORIGIN)
    with pytest.raises(AuthenticationFailed):
        guard.exemption(name, ORIGIN)


def test_the_username_is_read_by_the_apps_normalisation(alice, fixed_clock):
    code = code_at(alice.secret, fixed_clock.t)
    full_width_alice = "\uff21\uff2c\uff29\uff23\uff25"  # as an input method types it
    guard.verify(full_width_alice, code, ORIGIN)
    assert len(events(guard.VERIFIED)) == 1


def test_an_inactive_user_is_refused_and_never_exempt(database, fixed_clock):
    boss = admin()
    accounts.create_user(boss, "bob", password=PASSWORD, active=False)
    with pytest.raises(AuthenticationFailed, match="inactive"):
        guard.exemption("bob", ORIGIN)
    with pytest.raises(AuthenticationFailed, match="inactive"):
        guard.verify("bob", "123456", ORIGIN)


def test_an_ldap_user_without_a_device_is_never_exempt(database, fixed_clock):
    boss = admin()
    accounts.create_user(boss, "lena", auth_source="ldap")
    with pytest.raises(NotPermitted, match="LDAP"):
        guard.exemption("lena", ORIGIN)
    with pytest.raises(AuthenticationFailed, match="No device"):
        guard.verify("lena", "123456", ORIGIN)
    assert events(guard.EXEMPTED) == []
    assert [e.detail for e in events(guard.REFUSED)] == ["no device"]


def test_not_mandatory_and_no_device_is_exempt_and_audited(database, fixed_clock):
    boss = admin()
    accounts.create_user(boss, "carol", password=PASSWORD)
    assert guard.exemption("carol", ORIGIN) == ""
    [event] = events(guard.EXEMPTED)
    assert event.target == "carol" and event.origin.startswith("host web1, sshd")


def test_a_user_with_a_device_is_not_exempt_and_nothing_is_written(alice):
    before = AuditEvent.select().count()
    with pytest.raises(NotPermitted):
        guard.exemption("alice", ORIGIN)
    assert AuditEvent.select().count() == before


def test_a_host_that_demands_a_code_exempts_nobody(database, fixed_clock):
    boss = admin()
    accounts.create_user(boss, "carol", password=PASSWORD)
    with pytest.raises(NotPermitted, match="every user"):
        guard.exemption("carol", ORIGIN, demand_code=True)


def _mandatory(grace_hours: int) -> None:
    InstanceSettings.update(mandatory=True, grace_period_hours=grace_hours).execute()


def test_mandatory_grace_starts_at_the_first_guarded_login_and_ends(database, fixed_clock):
    boss = admin()
    accounts.create_user(boss, "carol", password=PASSWORD)
    _mandatory(24)
    deadline = clock.utc(fixed_clock.t) + timedelta(hours=24)
    notice = guard.exemption("carol", ORIGIN)
    assert notice == f"Register a device in qmfa before {deadline:%Y-%m-%d %H:%M} UTC."
    assert Account.get(Account.username == "carol").grace_started_at == clock.utc(fixed_clock.t)
    fixed_clock.advance(23 * 3600)
    assert guard.exemption("carol", ORIGIN) == notice  # the same deadline, not a new one
    fixed_clock.advance(3600)
    with pytest.raises(NotPermitted, match="grace period is over"):
        guard.exemption("carol", ORIGIN)
    assert [e.action for e in events("grace.started")] == ["grace.started"]
    assert len(events(guard.EXEMPTED)) == 2


def test_mandatory_without_grace_is_not_exempt(database, fixed_clock):
    boss = admin()
    accounts.create_user(boss, "carol", password=PASSWORD)
    _mandatory(0)
    with pytest.raises(NotPermitted, match="grace period is over"):
        guard.exemption("carol", ORIGIN)
    assert events(guard.EXEMPTED) == []


def test_origin_values_are_one_bounded_line():
    origin = guard.Origin.of("h\nost, evil" + "x" * 1000, "sudo\x1b[31m", "", "pts/1\r", "")
    assert origin.describe().count(",") == 2  # host, service and tty: no comma of theirs
    assert all(c.isprintable() for c in origin.describe())
    assert len(origin.host) == guard.MAX_HOST
    assert guard.Origin.of("", "").describe() == "host unknown host, unknown service"


def test_failures_and_early_refusals_are_audited_for_known_users(alice):
    guard.record_failure("alice", ORIGIN, "StorageError: the database failed")
    guard.record_refusal("alice", ORIGIN, "That is not a security code or a recovery code.")
    guard.record_failure("nobody", ORIGIN, "anything")
    assert [e.detail for e in events(guard.FAILED)] == ["StorageError: the database failed"]
    assert len(events(guard.REFUSED)) == 1


def test_last_verified_names_host_service_and_time(alice, fixed_clock):
    operator = shell_actor()
    assert guard.last_verified(operator, "alice") is None
    guard.verify("alice", code_at(alice.secret, fixed_clock.t), ORIGIN)
    fixed_clock.advance(30)
    sudo = guard.Origin.of("db2", "sudo", tty="/dev/pts/3")
    guard.verify("alice", code_at(alice.secret, fixed_clock.t), sudo)
    last = guard.last_verified(operator, "alice")
    assert last == guard.LastUse(clock.utc(fixed_clock.t), "db2", "sudo")
    assert guard.last_verified(alice.actor, "alice") == last
    accounts.create_user(operator, "bob", password=PASSWORD)
    bob = login.with_password("bob", PASSWORD).actor
    assert bob is not None
    with pytest.raises(NotPermitted):
        guard.last_verified(bob, "alice")


def test_the_database_clock_is_none_on_sqlite_and_the_servers_on_postgresql(alice):
    source = guard.database_clock()
    if storage.is_sqlite():
        assert source is None
    else:
        assert source is not None and abs(source() - __import__("time").time()) < 60


def test_a_host_whose_clock_is_90_s_off_verifies_by_the_database_clock(database, fixed_clock):
    """On PostgreSQL the guard reads the server's time: a host 90 s off still verifies."""
    if storage.is_sqlite():
        pytest.skip("SQLite has no clock of its own: the host's is the database's")
    source = guard.database_clock()
    assert source is not None
    fixed_clock.t = source() - 120
    boss = admin()
    alice = register(add_user(boss, "alice"), fixed_clock)
    fixed_clock.t = source() - 90  # this host's clock, wrong
    code = code_at(alice.secret, source())
    with pytest.raises(AuthenticationFailed, match="not valid"):
        guard.verify("alice", code, ORIGIN)  # by the wrong local clock: refused
    with clock.use_clock(source):
        guard.verify("alice", code, ORIGIN)


def test_the_database_opens_without_migrating_only_at_this_schema(database_url, database):
    storage.close_database()
    storage.open_database(database_url, create=False, migrate=False, statement_timeout=1)
    storage.db.execute_sql("UPDATE schema_migration SET name = '9999_from_the_future' WHERE id = 1")
    storage.close_database()
    with pytest.raises(StorageError, match="older or newer"):
        storage.open_database(database_url, create=False, migrate=False)
    storage.close_database()
    with pytest.raises(StorageError, match="newer qmfa"):  # the migrating open says the same
        storage.open_database(database_url, create=False)


def test_last_verified_seeks_one_accounts_newest_event_whatever_the_logs_size(
    alice, fixed_clock, backend
):
    """Migration 0016: the query walks back from the account's newest ``pam.verified``
    entry of one index, not every user's events read and sorted."""
    if backend != "sqlite":
        pytest.skip("SQLite's query plan; PostgreSQL plans by its own statistics")
    guard.verify("alice", code_at(alice.secret, fixed_clock.t), ORIGIN)
    plan, last = sqlite_plan("audit_event", lambda: guard.last_verified(shell_actor(), "alice"))
    assert last is not None
    assert "audit_event_target_id_action_at_id" in plan and "TEMP B-TREE" not in plan, plan


def test_the_last_use_index_comes_and_goes_with_its_migration(alice, database):
    from services.test_codes_left_rank import runner

    url = database.url
    storage.close_database()
    migrations, raw = runner(url)
    with raw:
        migrations.down(target="0015_codes_left_rank")
        assert "audit_event_target_id_action_at_id" not in {
            index.name for index in raw.get_indexes("audit_event")
        }
    if hasattr(raw, "close_all"):  # PostgreSQL's pool
        raw.close_all()
    storage.open_database(url)  # runs 0016 again
    indexes = {index.name: index.columns for index in storage.db.get_indexes("audit_event")}
    assert indexes["audit_event_target_id_action_at_id"] == ["target_id", "action", "at", "id"]
