"""The `qmfa` command, run as a person runs it: a subprocess, exit codes, stderr lines."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

PASSWORD = "a long passphrase"


def qmfa(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qmfa_tui", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/cli/qmfa.db"


def assert_one_clear_line(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("qmfa: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_init_creates_the_first_admin(url, tmp_path):
    result = qmfa(
        "--database",
        url,
        "init",
        "--username",
        "root",
        "--password-stdin",
        "--saas",
        stdin=PASSWORD + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert "Created root, the first admin" in result.stdout
    assert "cli/qmfa.key" in result.stdout
    database = sqlite3.connect(tmp_path / "cli" / "qmfa.db")
    assert database.execute("SELECT username, role FROM account").fetchall() == [("root", "admin")]
    assert database.execute("SELECT deployment FROM instance_settings").fetchone() == ("saas",)
    again = qmfa("init", "--database", url, "--password-stdin", stdin=PASSWORD + "\n")
    assert_one_clear_line(again, "already has users")


def test_init_without_a_terminal_asks_for_password_stdin(url):
    result = qmfa("--database", url, "init", stdin="")
    assert_one_clear_line(result, "No terminal to ask for the password; use --password-stdin.")
    assert result.returncode == 2  # bad usage: a flag is missing


def test_init_refuses_a_short_password(url):
    result = qmfa("--database", url, "init", "--password-stdin", stdin="short\n")
    assert_one_clear_line(result, "at least 8 characters")


def test_demo_creates_then_reuses_and_prints_codes(url):
    created = qmfa("--database", url, "demo", "--users", "40", "--no-launch")
    assert created.returncode == 0, created.stderr
    assert "Created the demo database" in created.stderr and "40 users" in created.stderr
    reused = qmfa("demo", "--database", url, "--no-launch")
    assert "Reusing the demo database" in reused.stderr and "40 users" in reused.stderr
    code = qmfa("--database", url, "demo", "codes", "admin")
    assert code.returncode == 0, code.stderr
    assert code.stdout.strip().isdigit() and len(code.stdout.strip()) == 6
    assert_one_clear_line(qmfa("--database", url, "demo", "codes", "nobody"), "no user 'nobody'")
    assert_one_clear_line(qmfa("--database", url, "demo", "codes", "alice"), "no two-step")


def test_demo_codes_only_on_demo_databases(url):
    qmfa("--database", url, "init", "--password-stdin", stdin=PASSWORD + "\n")
    assert_one_clear_line(qmfa("--database", url, "demo", "codes", "admin"), "only for demo")
    assert_one_clear_line(qmfa("--database", url, "demo", "--no-launch"), "not a demo")


def test_demo_uses_its_own_database_by_default(tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg")}
    result = qmfa("demo", "--users", "10", "--no-launch", env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "xdg" / "qmfa" / "demo.db").exists()
    assert not (tmp_path / "xdg" / "qmfa" / "qmfa.db").exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--database", "mysql://x/y", "demo", "codes", "a"], "Unsupported database URL"),
        (
            ["--database", "sqlite:////proc/qmfa/x.db", "init", "--password-stdin"],
            "Cannot create the directory /proc/qmfa",
        ),
    ],
)
def test_bad_databases_are_one_line(args, fragment):
    assert_one_clear_line(qmfa(*args, stdin=PASSWORD + "\n"), fragment)


def test_a_missing_key_file_is_one_line(url, tmp_path):
    qmfa("--database", url, "demo", "--users", "8", "--no-launch")
    (tmp_path / "cli" / "qmfa.key").unlink()
    assert_one_clear_line(qmfa("--database", url, "demo", "codes", "admin"), "qmfa.key is missing")


def test_a_locked_database_is_one_line(url, tmp_path):
    qmfa("--database", url, "demo", "--users", "8", "--no-launch")
    holder = sqlite3.connect(tmp_path / "cli" / "qmfa.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        # WAL lets readers through a writer's lock; a command that writes must wait, then say so.
        result = qmfa(
            "--database",
            url,
            "init",
            "--password-stdin",
            stdin=PASSWORD + "\n",
            env={"QMFA_BUSY_TIMEOUT": "0.2"},
        )
    finally:
        holder.execute("ROLLBACK")
    assert_one_clear_line(result, "locked")


def test_usage_errors_exit_2_and_help_has_examples():
    assert qmfa("demo", "--users", "zero").returncode == 2
    assert qmfa("frobnicate").returncode == 2
    for command in ([], ["init"], ["demo"], ["demo", "codes"]):
        helped = qmfa(*command, "--help")
        assert helped.returncode == 0 and "example" in helped.stdout


def test_python_dash_m_and_the_console_script_agree():
    module = qmfa("--version")
    assert module.returncode == 0 and module.stdout.startswith("qmfa ")


def test_the_app_on_an_empty_database_says_what_to_run(url):
    assert_one_clear_line(qmfa("--database", url, stdin=""), "qmfa init", "qmfa demo")


def data_home(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """The environment of a fresh machine: nothing in the user data dir, no database named."""
    env = {
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
        "HOME": str(tmp_path / "home"),
        "QMFA_DATABASE_URL": "",
        "QMFA_SECRET_KEY": "",
        "QMFA_KEY_FILE": "",
    }
    return env, tmp_path / "xdg" / "qmfa"


def test_after_the_demo_the_next_commands_read_the_demo_users(tmp_path):
    env, data = data_home(tmp_path)
    assert qmfa("demo", "--users", "12", "--no-launch", env=env).returncode == 0
    listed = qmfa("users", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.splitlines()
    assert rows[0].startswith("USERNAME") and len(rows) == 1 + 12
    assert any(row.split()[0] == "admin" for row in rows[1:])
    note = listed.stderr.splitlines()
    assert len(note) == 1 and str(data / "demo.db") in note[0] and "qmfa init" in note[0]
    audit = qmfa("audit", env=env)
    assert audit.returncode == 0 and "demo.created" in audit.stdout
    assert "demo:         yes" in qmfa("settings", "show", env=env).stdout
    # A refusal is still one line, and says which database refused.
    assert_one_clear_line(
        qmfa("users", "remove-2fa", "nobody", env=env), "no user 'nobody'", "demo database"
    )
    assert sorted(p.name for p in data.iterdir()) == ["demo.db", "demo.key"]


def test_the_app_opens_the_demo_database_until_qmfa_db_has_users(tmp_path, monkeypatch):
    from qmfa_tui import cli, storage

    env, data = data_home(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", env["XDG_DATA_HOME"])
    assert qmfa("demo", "--users", "8", "--no-launch", env=env).returncode == 0
    app_args = cli.build_parser().parse_args([])
    try:
        assert cli.prepare_app(app_args).database.sqlite_path == data / "demo.db"
    finally:
        storage.close_database()
    # An `init` refused for its password leaves an empty qmfa.db: still the demo's users.
    assert_one_clear_line(
        qmfa("init", "--password-stdin", stdin="short\n", env=env), "at least 8 characters"
    )
    assert (data / "qmfa.db").exists()
    assert "demo.db" in qmfa("users", "list", env=env).stderr
    assert qmfa("init", "--password-stdin", stdin=PASSWORD + "\n", env=env).returncode == 0
    own = qmfa("users", "list", env=env)
    assert own.stderr == "" and own.stdout.splitlines()[1].split()[0] == "admin"
    assert len(own.stdout.splitlines()) == 2
    try:
        assert cli.prepare_app(app_args).database.sqlite_path == data / "qmfa.db"
    finally:
        storage.close_database()


def test_a_named_key_means_no_demo_stand_in(tmp_path):
    env, data = data_home(tmp_path)
    assert qmfa("demo", "--users", "8", "--no-launch", env=env).returncode == 0
    result = qmfa("users", "list", "--key-file", str(tmp_path / "mine.key"), env=env)
    assert_one_clear_line(result, f"There is no database {data / 'qmfa.db'}")
    assert not (tmp_path / "mine.key").exists()


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["users", "list"],
        ["audit"],
        ["settings", "show"],
        ["demo", "codes", "admin"],
        ["users", "add", "zed", "--auth", "ldap"],
        ["settings", "mandatory", "off"],
    ],
)
def test_a_command_that_does_not_create_creates_nothing(tmp_path, command):
    env, data = data_home(tmp_path)
    result = qmfa(*command, stdin="", env=env)
    assert_one_clear_line(result, "There is no database", "qmfa init", "qmfa demo")
    assert not data.exists()
    named = tmp_path / "elsewhere" / "qmfa.db"
    result = qmfa("--database", f"sqlite:///{named}", *command, stdin="", env=env)
    assert_one_clear_line(result, f"There is no database {named}")
    assert not named.parent.exists()


def test_a_database_without_qmfa_in_it_is_refused_and_left_alone(tmp_path):
    env, _ = data_home(tmp_path)
    empty = tmp_path / "empty.db"
    empty.touch()
    result = qmfa("--database", f"sqlite:///{empty}", "audit", env=env)
    assert_one_clear_line(result, "holds no qmfa database yet", "qmfa init")
    assert empty.stat().st_size == 0 and not (tmp_path / "empty.key").exists()


def test_demo_help_names_the_demo_database():
    for command in (["demo"], ["demo", "codes"]):
        helped = " ".join(qmfa(*command, "--help").stdout.split())
        assert "else demo.db in the user data dir" in helped, command
    assert "else qmfa.db in the user data dir;" in " ".join(qmfa("init", "--help").stdout.split())
    assert "or demo.db there until qmfa.db has users" in " ".join(
        qmfa("users", "list", "--help").stdout.split()
    )
