"""The `qmfa` command, run as a person runs it: a subprocess, exit codes, stderr lines."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

PASSWORD = "a long passphrase"


def qmfa(*args: str, stdin: str | None = None, env: dict[str, str] | None = None,
         timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qmfa_tui", *args], input=stdin,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


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
    result = qmfa("--database", url, "init", "--username", "root", "--password-stdin",
                  "--saas", stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert "Created root, the first admin" in result.stdout
    assert "cli/qmfa.key" in result.stdout
    database = sqlite3.connect(tmp_path / "cli" / "qmfa.db")
    assert database.execute("SELECT username, role FROM account").fetchall() == [("root", "admin")]
    assert database.execute("SELECT deployment FROM instance_settings").fetchone() == ("saas",)
    again = qmfa("init", "--database", url, "--password-stdin", stdin=PASSWORD + "\n")
    assert_one_clear_line(again, "already has users")


def test_init_without_a_terminal_asks_for_password_stdin(url):
    assert_one_clear_line(qmfa("--database", url, "init", stdin=""), "--password-stdin")


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


@pytest.mark.parametrize(("args", "fragment"), [
    (["--database", "mysql://x/y", "demo", "codes", "a"], "Unsupported database URL"),
    (["--database", "sqlite:////proc/qmfa/x.db", "init", "--password-stdin"],
     "Cannot create the directory /proc/qmfa"),
])
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
        result = qmfa("--database", url, "init", "--password-stdin", stdin=PASSWORD + "\n",
                      env={"QMFA_BUSY_TIMEOUT": "0.2"})
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
