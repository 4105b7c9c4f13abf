"""Guarded logins (PAM) in the audit log: filtered by their host's whole name, and read
back as host, service and address, in the service and in `qmfa audit`."""

from __future__ import annotations

import json

import pytest
from cli.test_cli import qmfa
from helpers import add_user, admin, code_at, register, sqlite_plan

from qmfa_tui.errors import BadInput
from qmfa_tui.services import audit, guard
from qmfa_tui.services.session import shell_actor
from qmfa_tui.storage import Account, db

WEB1 = guard.Origin.of("web1", "sshd", "10.0.0.5", "ssh", "SHA256:abc")
WEB10 = guard.Origin.of("web10", "sshd", "10.0.0.6")
DB2 = guard.Origin.of("db2", "sudo", tty="/dev/pts/3")


def pam_event(action: str, origin: guard.Origin, detail: str = "") -> None:
    """As the guard writes it: by and about the person logging in."""
    person = Account.select().order_by(Account.id).first()
    with db.atomic():
        audit.record(person, action, target=person, detail=detail, origin=origin.describe())


def hosts(found: list[audit.AuditEntry]) -> list[str]:
    return sorted(e.guarded_login.host for e in found if e.guarded_login is not None)


def test_the_host_filter_matches_the_whole_host_name_in_any_case(database, fixed_clock):
    boss = admin()
    pam_event(guard.VERIFIED, WEB1)
    pam_event(guard.REFUSED, WEB10)
    pam_event(guard.EXEMPTED, DB2)
    pam_event(guard.FAILED, guard.Origin.of("web", "sshd"))
    assert hosts(audit.list_events(boss, host="web1")) == ["web1"]
    assert hosts(audit.list_events(boss, host="WEB10")) == ["web10"]
    assert hosts(audit.list_events(boss, host=" db2 ")) == ["db2"]
    assert hosts(audit.list_events(boss, host="web")) == ["web"]
    assert audit.list_events(boss, host="we") == []
    assert audit.list_events(boss, host="eb1") == []
    assert audit.list_events(boss, host="web_") == []  # LIKE's wildcards are plain
    assert audit.list_events(boss, host="%") == []
    assert len(audit.list_events(boss, host="")) == len(audit.list_events(boss))


def test_the_host_filter_finds_only_guarded_logins(database, fixed_clock):
    """An origin written by anything else never passes for a host's, whatever it says."""
    boss = admin()
    with db.atomic():
        audit.record(shell_actor(), "user.created", origin="host web1, sshd")
    pam_event(guard.VERIFIED, WEB1)
    assert [e.action for e in audit.list_events(boss, host="web1")] == [guard.VERIFIED]


def test_the_host_filter_combines_with_the_action_and_user_filters(database, fixed_clock):
    boss = admin()
    alice = register(add_user(boss, "alice"), fixed_clock)
    guard.verify("alice", code_at(alice.secret, fixed_clock.t), WEB1)
    fixed_clock.advance(30)
    guard.verify("alice", code_at(alice.secret, fixed_clock.t), DB2)
    with pytest.raises(Exception, match="already used"):
        guard.verify("alice", code_at(alice.secret, fixed_clock.t), WEB1)
    found = audit.list_events(boss, host="web1", action="pam", username="alice")
    assert sorted(e.action for e in found) == [guard.REFUSED, guard.VERIFIED]
    assert audit.list_events(boss, host="web1", username="admin") == []
    every_pam = audit.list_events(boss, action="pam")
    assert sorted(e.action for e in every_pam) == [guard.REFUSED, guard.VERIFIED, guard.VERIFIED]


def test_a_host_filter_that_cannot_be_a_host_is_refused(database, fixed_clock):
    boss = admin()
    with pytest.raises(BadInput, match="at most 253 characters"):
        audit.list_events(boss, host="h" * 254)
    with pytest.raises(BadInput, match="no comma"):
        audit.list_events(boss, host="web1, sshd")


def test_the_audit_knows_every_event_the_guard_writes():
    assert set(audit.GUARDED_LOGIN_EVENTS) == {
        guard.VERIFIED,
        guard.REFUSED,
        guard.EXEMPTED,
        guard.FAILED,
    }


def test_whether_any_login_was_guarded_here(database, fixed_clock):
    admin()
    assert not audit.guarded_logins_recorded()
    pam_event(guard.EXEMPTED, DB2)
    assert audit.guarded_logins_recorded()


def test_an_event_reads_back_its_guarded_login_fields():
    entry = audit.AuditEntry(
        fixed_time(), "alice", "alice", guard.VERIFIED, "security code", origin=WEB1.describe()
    )
    assert entry.guarded_login == audit.GuardedLogin(
        "web1", "sshd", "10.0.0.5", "ssh", "SHA256:abc"
    )
    assert entry.where == "web1 (sshd from 10.0.0.5)"
    sudo = audit.AuditEntry(fixed_time(), "bob", "bob", guard.EXEMPTED, "", origin=DB2.describe())
    assert sudo.where == "db2 (sudo)"
    assert sudo.guarded_login is not None and sudo.guarded_login.tty == "/dev/pts/3"
    other = audit.AuditEntry(fixed_time(), "bob", None, "login.succeeded", "", origin="10.0.0.5")
    assert other.guarded_login is None and other.where == ""


def fixed_time():
    from datetime import datetime

    return datetime(2026, 12, 7, 21, 14)


def test_qmfa_audit_host_prints_that_hosts_events_with_where_they_came_from(tmp_path):
    url = f"sqlite:///{tmp_path}/qmfa.db"
    made = qmfa("--database", url, "demo", "--users", "1", "--no-launch")
    assert made.returncode == 0, made.stderr
    from qmfa_tui import storage

    storage.open_database(url)
    try:
        pam_event(guard.VERIFIED, WEB1, "security code")
        pam_event(guard.REFUSED, WEB10, "wrong security code")
    finally:
        storage.close_database()
    table = qmfa("--database", url, "audit", "--host", "web1")
    assert table.returncode == 0, table.stderr
    heading, *rows = table.stdout.splitlines()
    assert heading.split() == ["AT", "ACTOR", "ACTION", "TARGET", "WHERE", "DETAIL"]
    text = " ".join(" ".join(row.split()) for row in rows)
    assert "pam.verified" in text and "pam.refused" not in text
    assert "web1 (sshd from" in text and "10.0.0.5)" in text
    assert all(len(line) <= 80 for line in table.stdout.splitlines())
    found = qmfa("--database", url, "audit", "--host", "web10", "--format", "json")
    assert found.returncode == 0, found.stderr
    (event,) = json.loads(found.stdout)
    assert event["origin"] == WEB10.describe() and event["action"] == guard.REFUSED
    every_pam = qmfa("--database", url, "audit", "--action", "pam", "--format", "csv")
    assert len(every_pam.stdout.splitlines()) == 3  # the heading and both events
    # Without guarded logins the table keeps its columns.
    plain = qmfa("--database", url, "audit", "--action", "user")
    assert plain.stdout.split()[:5] == ["AT", "ACTOR", "ACTION", "TARGET", "DETAIL"]


def test_qmfa_audit_host_says_what_is_wrong_with_a_bad_host(tmp_path):
    url = f"sqlite:///{tmp_path}/qmfa.db"
    made = qmfa("--database", url, "demo", "--users", "1", "--no-launch")
    assert made.returncode == 0, made.stderr
    bad = qmfa("--database", url, "audit", "--host", "web1,web2")
    assert bad.returncode != 0
    assert bad.stderr.strip().count("\n") == 0 and "no comma" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_host_is_found_in_any_case_beyond_ascii(database, fixed_clock):
    boss = admin()
    pam_event(guard.VERIFIED, guard.Origin.of("WÉB-Ünï", "sshd"))
    assert hosts(audit.list_events(boss, host="wéb-ünï")) == ["WÉB-Ünï"]
    assert hosts(audit.list_events(boss, host="WÉB-ÜNÏ")) == ["WÉB-Ünï"]


def test_a_page_of_one_host_walks_its_index(database, fixed_clock, backend):
    """Migration 0017: the events of one host are read from a partial index on (host, at,
    id), not every guarded login read and sorted."""
    if backend != "sqlite":
        pytest.skip("SQLite's query plan; PostgreSQL plans by its own statistics")
    boss = admin()
    pam_event(guard.VERIFIED, WEB1)
    plan, found = sqlite_plan("audit_event", lambda: audit.list_events(boss, host="Web1"))
    assert isinstance(found, list) and hosts(found) == ["web1"]
    assert "audit_event_host_at_id" in plan and "TEMP B-TREE" not in plan, plan


def test_the_migration_fills_the_host_of_guarded_logins_only(database, fixed_clock):
    from qmfa_tui import storage
    from services.test_codes_left_rank import runner

    url = database.url
    storage.close_database()
    migrations, raw = runner(url)
    written = [
        ("pam.verified", "host WEB1, sshd from 10.0.0.5, tty ssh"),
        ("pam.failed", "host Ünï, sudo"),
        ("pam.refused", "host db2"),  # no other field
        ("user.created", "host web1, sshd"),  # not a guarded login, whatever it says
        ("login.failed", "host from 10.0.0.9"),  # an OS account named "host"
        ("pam.exempted", f"host {'H' * 300}, sshd"),  # longer than any host written since
    ]
    with raw:
        migrations.down(target="0016_audit_last_use_index")
        for action, origin in written:
            raw.execute_sql(
                "INSERT INTO audit_event (at, actor, action, detail, actor_kind, origin) "
                "VALUES ('2026-12-08 00:00:00', 'alice', %s, '', 'person', %s)".replace(
                    "%s", raw.param
                ),
                (action, origin),
            )
    if hasattr(raw, "close_all"):  # PostgreSQL's pool
        raw.close_all()
    storage.open_database(url)  # runs 0017 again
    stored = dict(
        db.execute_sql("SELECT origin, host FROM audit_event WHERE actor = 'alice'").fetchall()
    )
    assert stored == {
        "host WEB1, sshd from 10.0.0.5, tty ssh": "web1",
        "host Ünï, sudo": "ünï",
        "host db2": "db2",
        "host web1, sshd": None,
        "host from 10.0.0.9": None,
        f"host {'H' * 300}, sshd": "h" * 253,
    }
    boss = shell_actor()
    assert [e.origin for e in audit.list_events(boss, host="WEB1")] == [written[0][1]]


def test_an_origin_with_a_longer_host_than_the_column_is_still_recorded(database, fixed_clock):
    """The guard bounds the host (253); an origin written another way is cut to fit, so
    the event and the change it describes are never lost to the column's size."""
    boss = admin()
    person = Account.select().order_by(Account.id).first()
    with db.atomic():
        audit.record(person, guard.REFUSED, target=person, origin=f"host {'İ' * 200}, sudo")
    [stored] = db.execute_sql("SELECT host FROM audit_event WHERE action = 'pam.refused'")
    assert stored[0] == ("İ".lower() * 200)[:253]
    assert len(audit.list_events(boss, host="İ" * 200)) == 1
