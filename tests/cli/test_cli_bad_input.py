"""Every bad input the issue lists ends in one line on stderr and exit 1 or 2, no traceback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cli.test_cli import qmfa
from qmfa_tui import storage
from qmfa_tui.errors import StorageError


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/cli/qmfa.db"


def assert_one_line(result, code: int, *fragments: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr and "Error:" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("qmfa")
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize(
    ("args", "env", "code", "fragment"),
    [
        (
            ["--database", "postgresql://[::1", "users", "list"],
            {},
            1,
            "database URL cannot be read (Invalid IPv6 URL)",
        ),
        (
            ["--database", "postgresql://u:pw@db:99999/x", "users", "list"],
            {},
            1,
            "Port out of range",
        ),
        (["--database", "", "users", "list"], {}, 2, "--database is empty"),
        (["users", "list"], {"QMFA_BUSY_TIMEOUT": "inf"}, 1, "$QMFA_BUSY_TIMEOUT"),
        (["users", "list"], {"QMFA_BUSY_TIMEOUT": "nan"}, 1, "$QMFA_BUSY_TIMEOUT"),
        (["users", "list"], {"QMFA_BUSY_TIMEOUT": "-1"}, 1, "from 0 to 3600"),
        (["audit", "--limit", "99999999999999999999"], {}, 2, "from 1 to 1,000,000"),
        (["demo", "--users", "0", "--no-launch"], {}, 2, "from 1 to 1,000,000"),
        (["users", "frobnicate"], {}, 2, "invalid choice"),
    ],
)
def test_bad_input_is_one_line(url, args, env, code, fragment):
    database = [] if "--database" in args else ["--database", url]
    assert_one_line(qmfa(*database, *args, env=env), code, fragment)


def test_a_url_that_cannot_be_parsed_is_not_echoed(url):
    result = qmfa("--database", "postgresql://qa:s3cret-pw@[::1/qmfa", "users", "list")
    assert_one_line(result, 1, "cannot be read")
    assert "s3cret-pw" not in result.stderr


def test_a_database_from_a_newer_qmfa_is_refused_at_open(tmp_path: Path):
    path = tmp_path / "newer.db"
    storage.open_database(f"sqlite:///{path}")
    storage.close_database()
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO schema_migration (name, applied) "
            "VALUES ('0099_from_the_future', '2030-01-01 00:00:00')"
        )
    with pytest.raises(StorageError) as refused:
        storage.open_database(f"sqlite:///{path}")
    message = refused.value.message
    assert "0099_from_the_future" in message and "newer qmfa" in message
    assert "\n" not in message


def test_the_command_refuses_a_newer_database_in_one_line(url, tmp_path):
    assert qmfa("--database", url, "demo", "--users", "5", "--no-launch").returncode == 0
    with sqlite3.connect(tmp_path / "cli" / "qmfa.db") as connection:
        connection.execute(
            "INSERT INTO schema_migration (name, applied) "
            "VALUES ('0099_from_the_future', '2030-01-01 00:00:00')"
        )
    assert_one_line(
        qmfa("--database", url, "users", "list"), 1, "0099_from_the_future", "newer qmfa"
    )
