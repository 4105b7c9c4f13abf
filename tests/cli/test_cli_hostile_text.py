"""`qmfa users list` and `qmfa audit` with hostile stored text: the table shows it escaped,
one line per row; CSV keeps it exact but never as a formula; JSON keeps it exact."""

from __future__ import annotations

import csv
import io
import json

import pytest
from helpers import admin
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cli.test_cli import qmfa
from qmfa_tui import cli
from qmfa_tui.services import clock, identity
from qmfa_tui.storage import Account, AuditEvent, InstanceSettings
from qmfa_tui.text import forbidden_character, visible

CLIPBOARD = "\x1b]52;c;aGk=\x07"
HOSTILE = {
    "h01": ("=cmd|' /C calc'!A0", "+1-555"),
    "h02": ("-2+3", "@SUM(A1:A9)"),
    "h03": ("\tTabbed", "\rreturn@example.com"),
    "h04": (f"Eve{CLIPBOARD}", "\x1b]2;pwned\x07@x"),
    "h05": ("two\nlines", "a\r\nb@x"),
    "h06": ("\u202eevil", "\x00nul\x9b31m"),
    "h07": ("Smith [contractor]", "[@click=app.quit]x[/]"),
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PIECES = st.sampled_from(
    [
        "=",
        "+",
        "-",
        "@",
        "\t",
        "\r",
        "\n",
        "\r\n",
        CLIPBOARD,
        "\x1b[2J",
        "\u202e",
        "\u2028",
        "\x00",
        "\x85",
        '"',
        ",",
        "'",
        "[/]",
    ]
)
HOSTILE_TEXT = st.lists(st.one_of(PIECES, st.text(max_size=5)), min_size=1, max_size=6).map("".join)


def put_rows(rows: dict[str, tuple[str, str]]) -> None:
    for username, (name, email) in rows.items():
        Account.insert(
            username=username,
            username_key=identity.username_key(username),
            display_name=name,
            email=email,
            auth_source="local",
            role="user",
            created_at=clock.utc(clock.now()),
        ).execute()


def users_list(database_url: str, capsys: pytest.CaptureFixture[str], fmt: str) -> str:
    capsys.readouterr()
    assert cli.main(["--database", database_url, "users", "list", "--format", fmt]) == 0
    return capsys.readouterr().out


def neutralised(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def test_users_list_table_is_one_escaped_line_per_user(database, database_url, capsys):
    admin()
    put_rows(HOSTILE)
    out = users_list(database_url, capsys, "table")
    lines = out.splitlines()
    assert len(lines) == 1 + 1 + len(HOSTILE)  # header, admin, the hostile rows
    assert forbidden_character(out.replace("\n", "")) is None
    for username, (name, _) in HOSTILE.items():
        row = next(line for line in lines if line.startswith(username + " "))
        shown = visible(name)
        assert row[19:35].rstrip() == (shown if len(shown) <= 16 else shown[:15] + "…")
    assert "Eve\\x1b]52;c;a" in out and "two\\nlines" in out and "Smith [contract…" in out


def test_users_list_csv_never_starts_a_formula_and_keeps_the_rest(database, database_url, capsys):
    admin()
    put_rows(HOSTILE)
    rows = {
        row["username"]: row
        for row in csv.DictReader(io.StringIO(users_list(database_url, capsys, "csv"), newline=""))
    }
    for username, (name, email) in HOSTILE.items():
        assert (rows[username]["name"], rows[username]["email"]) == (
            neutralised(name),
            neutralised(email),
        )
    assert rows["h01"]["name"] == "'=cmd|' /C calc'!A0"
    assert rows["h03"]["name"] == "'\tTabbed" and rows["h03"]["email"] == "'\rreturn@example.com"
    assert rows["h05"]["name"] == "two\nlines"  # CSV quoting carries the newline
    assert rows["h04"]["name"] == f"Eve{CLIPBOARD}"


def test_users_list_json_round_trips_the_exact_strings(database, database_url, capsys):
    admin()
    put_rows(HOSTILE)
    out = users_list(database_url, capsys, "json")
    assert out.isascii() and forbidden_character(out.replace("\n", "")) is None
    listed = {row["username"]: (row["name"], row["email"]) for row in json.loads(out)}
    assert {k: v for k, v in listed.items() if k != "admin"} == HOSTILE


def test_any_hostile_row_in_all_three_formats(database, database_url, capsys):
    admin()
    put_rows({"hostile": ("", "")})

    @settings(
        max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(HOSTILE_TEXT, HOSTILE_TEXT)
    @example("=1+2", "\x1b]52;c;aGk=\x07\n")
    def check(name: str, email: str) -> None:
        Account.update(display_name=name, email=email).where(
            Account.username == "hostile"
        ).execute()
        table = users_list(database_url, capsys, "table")
        assert len(table.splitlines()) == 3
        assert forbidden_character(table.replace("\n", "")) is None
        row = {
            r["username"]: r
            for r in csv.DictReader(
                io.StringIO(users_list(database_url, capsys, "csv"), newline="")
            )
        }["hostile"]
        assert (row["name"], row["email"]) == (neutralised(name), neutralised(email))
        listed = {r["username"]: r for r in json.loads(users_list(database_url, capsys, "json"))}
        assert (listed["hostile"]["name"], listed["hostile"]["email"]) == (name, email)

    check()


def test_audit_and_settings_show_escape_in_tables_and_neutralise_csv(
    database, database_url, capsys
):
    admin()
    AuditEvent.insert(
        at=clock.utc(clock.now()),
        actor="=evil",
        target="x\ny",
        action="user.created",
        detail=f"{CLIPBOARD}@once",
    ).execute()
    InstanceSettings.update(instance_name="ACME\x1b[2J").execute()
    capsys.readouterr()
    assert cli.main(["--database", database_url, "audit"]) == 0
    table = capsys.readouterr().out
    assert forbidden_character(table.replace("\n", "")) is None
    assert any(
        line.split()[2:5] == ["=evil", "user.created", "x\\ny"] for line in table.splitlines()
    )
    assert cli.main(["--database", database_url, "audit", "--format", "csv"]) == 0
    event = next(csv.DictReader(io.StringIO(capsys.readouterr().out, newline="")))
    assert (event["actor"], event["target"], event["detail"]) == (
        "'=evil",
        "x\ny",
        f"{CLIPBOARD}@once",
    )
    assert cli.main(["--database", database_url, "settings", "show"]) == 0
    assert "instance:     ACME\\x1b[2J\n" in capsys.readouterr().out


def test_the_installed_command_prints_no_raw_escape(database, database_url):
    admin()
    put_rows(HOSTILE)
    result = qmfa("--database", database_url, "users", "list")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\\x1b]52;c;" in result.stdout
    assert len(result.stdout.splitlines()) == 2 + len(HOSTILE)
