"""Operator commands as subprocesses: output, exit codes, audit with the actor "shell"."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest

from cli.test_cli import PASSWORD, assert_one_clear_line, qmfa


@pytest.fixture
def url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path}/ops/qmfa.db"
    result = qmfa("--database", url, "demo", "--users", "60", "--no-launch")
    assert result.returncode == 0, result.stderr
    return url


@pytest.fixture
def db(tmp_path) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / "ops" / "qmfa.db")


def no_2fa(db: sqlite3.Connection) -> list[str]:
    return [
        r[0]
        for r in db.execute(
            "SELECT username FROM account WHERE NOT two_factor AND auth_source = 'local' "
            "AND active ORDER BY username"
        )
    ]


def test_who_has_no_2fa_in_one_command_as_csv(url, db):
    result = qmfa(
        "--database",
        url,
        "users",
        "list",
        "--2fa",
        "disabled",
        "--active",
        "--auth",
        "local",
        "--format",
        "csv",
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["username"] for row in rows] == no_2fa(db)
    assert {row["2fa"] for row in rows} == {"no"}


CODES_LEFT = (
    "SELECT a.username FROM account a JOIN device d ON d.account_id = a.id "
    "WHERE (SELECT count(*) FROM recovery_code r WHERE r.device_id = d.id) {} "
    "ORDER BY a.username"
)


@pytest.mark.parametrize(
    ("codes", "condition"), [("none", "= 0"), ("few", "BETWEEN 1 AND 2"), ("more", "> 2")]
)
def test_users_by_recovery_codes_left(url, db, codes, condition):
    from qmfa_tui.services.user_filter import FEW_LEFT

    result = qmfa("--database", url, "users", "list", "--codes", codes, "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    wanted = [r[0] for r in db.execute(CODES_LEFT.format(condition))]
    assert wanted and [row["username"] for row in rows] == wanted
    assert all(row["2fa"] == "yes" for row in rows)
    assert f"few (1-{FEW_LEFT})" in " ".join(qmfa("users", "list", "--help").stdout.split())


def test_list_formats_and_width(url, db):
    table = qmfa("--database", url, "users", "list")
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert lines[0].startswith("USERNAME") and max(len(line) for line in lines) <= 80
    assert len(lines) - 1 == db.execute("SELECT count(*) FROM account").fetchone()[0]
    listed = json.loads(
        qmfa("--database", url, "users", "list", "--search", "admin", "--format", "json").stdout
    )
    assert listed[0]["username"] == "admin" and listed[0]["2fa"] is True
    assert listed[0]["codes_left"] == 8


def test_fix_a_locked_out_admin_with_one_command(url, db):
    result = qmfa("--database", url, "users", "remove-2fa", "admin", "--yes")
    assert result.returncode == 0, result.stderr
    assert "Removed two-step verification for admin" in result.stdout
    assert db.execute("SELECT two_factor FROM account WHERE username = 'admin'").fetchone() == (0,)
    audit = qmfa("--database", url, "audit", "--action", "device.removed", "--format", "json")
    events = json.loads(audit.stdout)
    assert [(e["actor"], e["target"]) for e in events] == [("shell", "admin")]
    assert_one_clear_line(
        qmfa("--database", url, "users", "remove-2fa", "admin", "--yes"),
        "no two-step verification device",
    )


def test_mandatory_from_the_shell(url):
    refused = qmfa("--database", url, "settings", "mandatory", "on", stdin="")
    assert refused.returncode == 2 and "add --yes" in refused.stderr
    assert "active local users without two-step verification will have to register" in (
        refused.stdout
    )
    on = qmfa("--database", url, "settings", "mandatory", "on", "--yes")
    assert on.returncode == 0 and "is on" in on.stdout
    assert "mandatory:    on" in qmfa("--database", url, "settings", "show").stdout
    off = qmfa("--database", url, "settings", "mandatory", "off")
    assert off.returncode == 0 and "is off" in off.stdout
    actions = [
        e["action"]
        for e in json.loads(
            qmfa("--database", url, "audit", "--user", "shell", "--format", "json").stdout
        )
    ]
    assert actions[:2] == ["settings.mandatory_off", "settings.mandatory_on"]


def test_grace_period_from_the_shell(url):
    assert qmfa("--database", url, "settings", "grace-period", "48").returncode == 0
    assert "grace period: 48 hours" in qmfa("--database", url, "settings", "show").stdout
    refused = qmfa("--database", url, "settings", "grace-period", "-3")
    assert refused.returncode == 2  # bad usage, as argparse's own
    assert refused.stderr.splitlines() == [
        "qmfa settings grace-period: argument HOURS: give a number from 0 to 2,160 "
        "(see qmfa settings grace-period --help)"
    ]


def test_add_deactivate_and_reveal(url, tmp_path):
    added = qmfa(
        "--database",
        url,
        "users",
        "add",
        "zed",
        "--name",
        "Zed Z",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    assert_one_clear_line(
        qmfa("--database", url, "users", "add", "zed", "--password-stdin", stdin=PASSWORD + "\n"),
        "taken",
    )
    assert qmfa("--database", url, "users", "add", "lou", "--auth", "ldap").returncode == 0
    assert qmfa("--database", url, "users", "deactivate", "zed").returncode == 0
    inactive = qmfa("--database", url, "users", "list", "--inactive", "--search", "zed")
    assert "zed" in inactive.stdout
    codes = qmfa("--database", url, "users", "recovery-codes", "bob").stdout.split()
    assert len(codes) == 5
    target = tmp_path / "bob.txt"
    assert (
        qmfa("--database", url, "users", "recovery-codes", "bob", "--txt", str(target)).returncode
        == 0
    )
    assert all(code in target.read_text() for code in codes)
    assert target.stat().st_mode & 0o777 == 0o600
    reveals = json.loads(
        qmfa("--database", url, "audit", "--action", "recovery.revealed", "--format", "json").stdout
    )
    assert [(e["actor"], e["target"]) for e in reveals] == [("shell", "bob")] * 2


def test_set_role_from_the_shell(url, db):
    promoted = qmfa("--database", url, "users", "set-role", "bob", "--admin")
    assert promoted.returncode == 0 and promoted.stdout == "bob is an admin.\n"
    demoted = qmfa("--database", url, "users", "set-role", "bob", "--user", "--users-module")
    assert demoted.returncode == 0 and "bob is a user with the Users module." in demoted.stdout
    assert db.execute(
        "SELECT role, users_module FROM account WHERE username = 'bob'"
    ).fetchone() == ("user", 1)
    changes = json.loads(
        qmfa("--database", url, "audit", "--action", "user.role_changed", "--format", "json").stdout
    )
    assert [(e["actor"], e["target"]) for e in changes] == [("shell", "bob")] * 2
    no_role = qmfa("--database", url, "users", "set-role", "bob")
    assert_one_clear_line(no_role, "give a role (--admin or --user)")
    assert no_role.returncode == 2
    assert_one_clear_line(
        qmfa("--database", url, "users", "set-role", "nobody", "--admin"), "no user 'nobody'"
    )


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["users", "remove-2fa", "nobody"], 1, "no user 'nobody'"),
        (["users", "list", "--2fa", "maybe"], 2, "invalid choice"),
        (["audit", "--since", "yesterday"], 2, "not an ISO date"),
        (["users"], 2, "required"),
    ],
)
def test_bad_input_exit_codes(url, args, code, fragment):
    result = qmfa("--database", url, *args)
    assert result.returncode == code
    assert fragment in result.stderr and "Traceback" not in result.stderr


def test_an_unreachable_database_is_one_line():
    result = qmfa("--database", "postgresql://nobody@127.0.0.1:1/none", "users", "list")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_every_command_has_help_with_an_example():
    for command in (
        ["users", "list"],
        ["users", "add"],
        ["users", "deactivate"],
        ["users", "remove-2fa"],
        ["users", "recovery-codes"],
        ["users", "set-role"],
        ["settings", "show"],
        ["settings", "mandatory"],
        ["settings", "grace-period"],
        ["audit"],
    ):
        helped = qmfa(*command, "--help")
        assert helped.returncode == 0 and "example" in helped.stdout, command


def test_the_audit_log_says_whether_a_person_or_an_operator_acted(url):
    import os
    import pwd

    from qmfa_tui import storage
    from qmfa_tui.services import demo, login

    storage.open_database(url)
    try:
        login.with_password("Alice", demo.DEMO_PASSWORD)  # a person, any spelling
    finally:
        storage.close_database()
    ssh = {"SSH_CLIENT": "198.51.100.23 40022 22", "SUDO_USER": ""}
    assert qmfa("--database", url, "users", "remove-2fa", "admin", "--yes", env=ssh).returncode == 0
    origin = f"{pwd.getpwuid(os.geteuid()).pw_name} from 198.51.100.23"

    as_csv = qmfa("--database", url, "audit", "--format", "csv")
    rows = {row["action"]: row for row in csv.DictReader(io.StringIO(as_csv.stdout))}
    assert list(rows["device.removed"].values())[1:4] == ["shell", "operator", origin]
    assert [rows["login.succeeded"][k] for k in ("actor", "actor_kind", "origin")] == [
        "alice",
        "person",
        "",
    ]
    as_json = json.loads(qmfa("--database", url, "audit", "--format", "json").stdout)
    by_action = {e["action"]: e for e in as_json}
    assert (by_action["device.removed"]["actor_kind"], by_action["device.removed"]["origin"]) == (
        "operator",
        origin,
    )
    assert by_action["login.succeeded"]["actor_kind"] == "person"
    table = qmfa("--database", url, "audit").stdout.splitlines()
    assert max(len(line) for line in table) <= 80
    removed = next(line for line in table if "device.removed" in line)
    assert removed.split()[2:5] == ["shell", "(op:", origin.split()[0] + ")"]
    about_alice = json.loads(
        qmfa("--database", url, "audit", "--user", "ALICE", "--format", "json").stdout
    )
    assert {(e["actor"], e["actor_kind"]) for e in about_alice} == {("alice", "person")}


def test_reserved_and_taken_names_are_refused_from_the_shell(url, tmp_path):
    assert_one_clear_line(
        qmfa("--database", url, "users", "add", "Shell", "--auth", "ldap"), "'Shell' is reserved"
    )
    assert_one_clear_line(
        qmfa("--database", url, "users", "add", "ALICE", "--auth", "ldap"), "'ALICE' is taken"
    )
    fresh = f"sqlite:///{tmp_path}/fresh/qmfa.db"
    assert_one_clear_line(
        qmfa(
            "--database",
            fresh,
            "init",
            "--username",
            "system",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        ),
        "is reserved",
    )


def test_the_audit_table_shows_whole_actions_at_80_columns(url):
    assert qmfa("--database", url, "settings", "mandatory", "on", "--yes").returncode == 0
    assert qmfa("--database", url, "settings", "mandatory", "off").returncode == 0
    table = qmfa("--database", url, "audit", env={"COLUMNS": "80"})
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80 and "…" not in table.stdout
    action = slice(lines[0].index("ACTION"), lines[0].index("TARGET"))
    actions = [line[action].strip() for line in lines[1:] if line[action].strip()]
    assert actions[:2] == ["settings.mandatory_off", "settings.mandatory_on"]
    # The detail wraps under its own column: the whole event can be read.
    start = next(i for i, line in enumerate(lines) if "settings.mandatory_on" in line)
    column = lines[0].index("DETAIL")
    detail = [lines[start][column:]]
    detail += [line[column:] for line in lines[start + 1 :] if not line[:column].strip()]
    assert " ".join(part.strip() for part in detail).startswith("affected users: ")
    wide = qmfa("--database", url, "audit", env={"COLUMNS": "120"}).stdout.splitlines()
    on = next(line for line in wide if "settings.mandatory_on" in line)
    assert on[wide[0].index("DETAIL") :].startswith("affected users: ")
