"""The audit log's action filter matches by the start of the action, the same in the
service, the app and `qmfa audit`; the user's % and _ are plain characters."""

from __future__ import annotations

import pytest
from cli.test_cli import qmfa
from helpers import PASSWORD, admin

from qmfa_tui.errors import AuthenticationFailed, BadInput
from qmfa_tui.services import audit, login
from qmfa_tui.services.session import shell_actor
from qmfa_tui.storage import db


def record(*actions: str) -> None:
    with db.atomic():
        for action in actions:
            audit.record(shell_actor(), action)


def actions(found: list[audit.AuditEntry]) -> list[str]:
    return sorted(event.action for event in found)


def test_an_action_filter_finds_every_action_it_starts(database, fixed_clock):
    boss = admin()
    with pytest.raises(AuthenticationFailed):
        login.with_password("admin", "not the password")
    record("login.recovery_code", "loginx.other", "user.created")
    logins = ["login.failed", "login.recovery_code", "login.succeeded"]
    assert actions(audit.list_events(boss, action="login.")) == logins
    assert actions(audit.list_events(boss, action="login")) == [*logins, "loginx.other"]
    assert actions(audit.list_events(boss, action="LOGIN.F")) == ["login.failed"]
    assert actions(audit.list_events(boss, action="login.failed")) == ["login.failed"]
    assert audit.list_events(boss, action="ogin") == []  # the start, not anywhere
    everything = audit.list_events(boss)
    assert audit.list_events(boss, action="") == everything


def test_percent_and_underscore_in_the_filter_are_plain_characters(database, fixed_clock):
    boss = admin()
    record("a%b.x", "axb.x", "a_b.x", "aab.x", "a\\b.x")
    assert actions(audit.list_events(boss, action="a%")) == ["a%b.x"]
    assert actions(audit.list_events(boss, action="a_")) == ["a_b.x"]
    assert actions(audit.list_events(boss, action="a\\")) == ["a\\b.x"]
    assert audit.list_events(boss, action="%") == []
    assert audit.list_events(boss, action="_") == []


def test_an_action_filter_longer_than_any_action_is_refused(database, fixed_clock):
    boss = admin()
    with pytest.raises(BadInput, match="at most 50 characters"):
        audit.list_events(boss, action="x" * 51)


def test_qmfa_audit_action_matches_the_same_and_says_when_nothing_matches(tmp_path):
    url = f"sqlite:///{tmp_path}/qmfa.db"
    made = qmfa("--database", url, "demo", "--users", "2", "--no-launch")
    assert made.returncode == 0, made.stderr
    added = qmfa(
        "--database", url, "users", "add", "dave", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert added.returncode == 0, added.stderr
    found = qmfa("--database", url, "audit", "--action", "user", "--format", "csv")
    assert found.returncode == 0 and found.stderr == ""
    rows = found.stdout.splitlines()[1:]
    assert rows and all(",user.created," in row for row in rows)
    assert any(",dave," in row for row in rows)
    for nothing in ("user_", "%", "no.such.action"):
        empty = qmfa("--database", url, "audit", "--action", nothing)
        assert empty.returncode == 0, empty.stderr
        assert empty.stderr == "No audit events match.\n"
        assert empty.stdout.split() == ["AT", "ACTOR", "ACTION", "TARGET", "DETAIL"]
