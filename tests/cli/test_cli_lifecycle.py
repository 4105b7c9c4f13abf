"""`qmfa users activate`, `edit` and `set-password` as subprocesses: output, exit codes,
the audit as the operator, and a reset password that must be replaced at the next login."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cli.test_cli import PASSWORD, assert_one_clear_line, qmfa


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/ops/qmfa.db"
    assert qmfa("--database", url, "init", "--password-stdin", stdin=PASSWORD).returncode == 0
    for name, auth in (("bob", "local"), ("lena", "ldap")):
        extra = ("--password-stdin",) if auth == "local" else ()
        added = qmfa(
            "--database", url, "users", "add", name, "--auth", auth, *extra, stdin=PASSWORD
        )
        assert added.returncode == 0, added.stderr
    return url


def audit_rows(tmp_path: Path, action: str) -> list[tuple[str, str, str, str]]:
    with sqlite3.connect(tmp_path / "ops" / "qmfa.db") as db:
        return list(
            db.execute(
                "SELECT actor, actor_kind, target, detail FROM audit_event WHERE action = ? "
                "ORDER BY id",
                (action,),
            )
        )


def account(tmp_path: Path, name: str) -> tuple[object, ...]:
    with sqlite3.connect(tmp_path / "ops" / "qmfa.db") as db:
        row = db.execute(
            "SELECT active, display_name, email, must_change_password, password_hash "
            "FROM account WHERE username = ?",
            (name,),
        ).fetchone()
    return tuple(row)


def test_activate_brings_a_deactivated_user_back(url, tmp_path):
    assert qmfa("--database", url, "users", "deactivate", "bob").returncode == 0
    assert account(tmp_path, "bob")[0] == 0
    done = qmfa("--database", url, "users", "activate", "bob")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "bob is active.\n"
    assert account(tmp_path, "bob")[0] == 1
    assert audit_rows(tmp_path, "user.activated") == [("shell", "operator", "bob", "")]
    assert_one_clear_line(qmfa("--database", url, "users", "activate", "nobody"), "no user")


def test_edit_name_and_email(url, tmp_path):
    done = qmfa(
        "--database", url, "users", "edit", "bob", "--name", "Bob Builder", "--email", "b@x.org"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "bob: name Bob Builder, email b@x.org.\n"
    assert account(tmp_path, "bob")[1:3] == ("Bob Builder", "b@x.org")
    assert qmfa("--database", url, "users", "edit", "bob", "--email", "").returncode == 0
    assert account(tmp_path, "bob")[1:3] == ("Bob Builder", "")
    assert [row[3] for row in audit_rows(tmp_path, "user.profile_edited")] == [
        "name, email",
        "email",
    ]
    assert_one_clear_line(
        qmfa("--database", url, "users", "edit", "lena", "--name", "Lena"),
        "lena signs in through LDAP: their name and email are managed in LDAP.",
    )
    assert_one_clear_line(
        qmfa("--database", url, "users", "edit", "bob", "--name", "Bob\x1b]52;c;x\x07"),
        "control characters",
    )
    no_change = qmfa("--database", url, "users", "edit", "bob")
    assert no_change.returncode == 2
    assert_one_clear_line(no_change, "give --name, --email, or both")


def test_set_password_temporary_is_printed_once_and_must_be_replaced(url, tmp_path):
    done = qmfa("--database", url, "users", "set-password", "bob", "--temporary")
    assert done.returncode == 0, done.stderr
    temporary = done.stdout.strip()
    assert len(temporary) == 23 and done.stdout == temporary + "\n"  # alone on stdout
    assert "must choose a new password at the next login" in done.stderr
    assert account(tmp_path, "bob")[3] == 1
    assert audit_rows(tmp_path, "user.password_reset") == [
        ("shell", "operator", "bob", "temporary password generated")
    ]
    assert temporary not in str(audit_rows(tmp_path, "user.password_reset"))
    # The next login, with the temporary password, asks for a new one before anything else.
    program = (
        "import sys\n"
        "from qmfa_tui import storage\n"
        "from qmfa_tui.services import login\n"
        "storage.open_database(sys.argv[1], create=False)\n"
        "pending = login.with_password('bob', sys.argv[2])\n"
        "print(pending.actor.password_change_due)\n"
        "login.choose_new_password(pending.actor, 'my own passphrase')\n"
        "print(login.with_password('bob', 'my own passphrase').actor.password_change_due)\n"
    )
    from helpers import run_python

    assert run_python(program, url, temporary).split() == ["True", "False"]


def test_set_password_from_stdin(url, tmp_path):
    before = account(tmp_path, "bob")[4]
    done = qmfa(
        "--database",
        url,
        "users",
        "set-password",
        "bob",
        "--password-stdin",
        stdin="temporary words\n",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert account(tmp_path, "bob")[3:] != (0, before)
    assert audit_rows(tmp_path, "user.password_reset")[0][3] == "temporary password set"


def test_set_password_refusals(url, tmp_path):
    both = qmfa(
        "--database", url, "users", "set-password", "bob", "--temporary", "--password-stdin"
    )
    assert both.returncode == 2
    assert "not allowed with argument --temporary" in both.stderr
    # Said before any password is asked for.
    assert_one_clear_line(
        qmfa("--database", url, "users", "set-password", "lena"),
        "lena signs in through LDAP: their password is managed in LDAP.",
    )
    assert_one_clear_line(
        qmfa("--database", url, "users", "set-password", "bob", "--password-stdin", stdin="short"),
        "at least 8",
    )
    assert_one_clear_line(
        qmfa("--database", url, "users", "set-password", "nobody", "--temporary"), "no user"
    )
    assert audit_rows(tmp_path, "user.password_reset") == []
    assert account(tmp_path, "bob")[3] == 0
