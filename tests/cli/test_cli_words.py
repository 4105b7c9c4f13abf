"""One vocabulary (issue 25, item 11): the CLI says what the app says, asks before it
removes, names what it cannot find, and points a typo at the right help."""

from __future__ import annotations

import argparse
import csv
import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from cli.test_cli import PASSWORD, assert_one_clear_line, qmfa
from qmfa_tui import cli, storage
from qmfa_tui.services import directory
from qmfa_tui.services.session import shell_actor
from qmfa_tui.services.user_filter import UserFilter
from qmfa_tui.widgets.user_table import COLUMNS, cells


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/words/qmfa.db"
    created = qmfa("--database", url, "demo", "--users", "12", "--no-launch")
    assert created.returncode == 0, created.stderr
    return url


@pytest.fixture
def db(tmp_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / "words" / "qmfa.db")


def on_a_terminal(*args: str, typed: str) -> subprocess.CompletedProcess[str]:
    """`qmfa ARGS` with a terminal (a pty) as standard input, ``typed`` typed ahead."""
    terminal, stdin = os.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "qmfa_tui", *args],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # no controlling terminal but this one
        )
        os.close(stdin)
        os.write(terminal, typed.encode())
        out, err = process.communicate(timeout=120)
    finally:
        os.close(terminal)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def has_device(db: sqlite3.Connection, username: str) -> bool:
    query = "SELECT two_factor FROM account WHERE username = ?"
    return bool(db.execute(query, (username,)).fetchone()[0])


# 1. The table's words are the app's Users table's words; CSV keeps machine values.


def test_the_users_table_says_enabled_disabled_and_codes_like_the_app(url):
    table = qmfa("--database", url, "users", "list")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    header = lines[0]
    assert "LEFT" not in header and header.split()[-2:] == ["2FA", "CODES"]
    assert max(map(len, lines)) <= 80
    two_factor = slice(header.index("2FA"), header.index("CODES"))
    codes = slice(header.index("CODES"), None)
    printed = {
        line.split()[0]: (line[two_factor].strip(), line[codes].strip()) for line in lines[1:]
    }

    storage.open_database(url)
    try:
        rows = list(directory.all_users(shell_actor(), UserFilter(status="all")))
    finally:
        storage.close_database()
    app_words = {}
    labels = [column.label for column in COLUMNS]
    for row in rows:
        shown = dict(zip(labels, cells(row), strict=True))
        app_words[row.username] = (shown["2FA"], shown["Codes"])
    assert printed == app_words
    assert printed["admin"] == ("Enabled", "8/8") and printed["alice"] == ("Disabled", "-")

    as_csv = qmfa("--database", url, "users", "list", "--format", "csv").stdout
    by_name = {row["username"]: row for row in csv.DictReader(io.StringIO(as_csv))}
    assert (by_name["admin"]["2fa"], by_name["admin"]["codes_left"]) == ("yes", "8")
    assert (by_name["alice"]["2fa"], by_name["alice"]["codes_left"]) == ("no", "")


# 2. remove-2fa confirms as `settings mandatory on` does.


def test_remove_2fa_asks_on_a_terminal_and_nothing_changes_on_no(url, db):
    declined = on_a_terminal("--database", url, "users", "remove-2fa", "bob", typed="n\n")
    assert declined.returncode == 1, declined.stderr
    assert "Remove the device and recovery codes of bob? [y/N]" in declined.stdout
    assert "Nothing changed." in declined.stdout
    assert has_device(db, "bob")

    accepted = on_a_terminal("--database", url, "users", "remove-2fa", "bob", typed="y\n")
    assert accepted.returncode == 0, accepted.stderr
    assert "Removed two-step verification for bob" in accepted.stdout
    assert not has_device(db, "bob")

    # What cannot be removed is said before any question.
    for user, said in (("bob", "bob has no two-step"), ("nobody", "There is no user 'nobody'.")):
        result = on_a_terminal("--database", url, "users", "remove-2fa", user, typed="y\n")
        assert_one_clear_line(result, said)
        assert result.returncode == 1 and "[y/N]" not in result.stdout


def test_remove_2fa_without_a_terminal_needs_yes(url, db):
    refused = qmfa("--database", url, "users", "remove-2fa", "bob", stdin="")
    assert refused.returncode == 2
    assert refused.stderr == "qmfa: Standard input is not a terminal: add --yes to confirm.\n"
    assert has_device(db, "bob")
    assert qmfa("--database", url, "users", "remove-2fa", "bob", "--yes").returncode == 0
    assert not has_device(db, "bob")


# 3. A user that is not there, bad usage exit 2, a name checked before the password.


def test_audit_for_a_user_who_does_not_exist_says_so(url):
    result = qmfa("--database", url, "audit", "--user", "nobody")
    assert result.returncode == 1
    assert result.stderr == "qmfa: There is no user 'nobody'.\n" and result.stdout == ""
    for known in ("BOB", "shell"):  # any case; the operator has no account but is known
        quiet = qmfa("--database", url, "audit", "--user", known, "--action", "no.such")
        assert quiet.returncode == 0 and quiet.stderr == "No audit events match.\n", known


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("ALICE", "The username 'ALICE' is taken"),
        ("a b", "A username is 1 to 150 letters"),
        ("Shell", "'Shell' is reserved"),
    ],
)
def test_users_add_checks_the_name_before_asking_for_a_password(url, name, said):
    # No terminal and no --password-stdin: the password could not be read, but the name
    # is what is wrong, and that is said first.
    result = qmfa("--database", url, "users", "add", name, stdin="")
    assert_one_clear_line(result, said)
    assert result.returncode == 1


def test_init_checks_the_name_before_asking_for_a_password(tmp_path):
    fresh = f"sqlite:///{tmp_path}/fresh/qmfa.db"
    result = qmfa("--database", fresh, "init", "--username", "system", stdin="")
    assert_one_clear_line(result, "'system' is reserved")


# 4. A typo in a subcommand's flags points at that subcommand's help.


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["users", "list", "--formt", "csv"],
            "qmfa users list: unrecognized arguments: --formt csv; did you mean --format? "
            "(see qmfa users list --help)",
        ),
        (
            ["audit", "--usr", "bob"],
            "qmfa audit: unrecognized arguments: --usr bob; did you mean --user? "
            "(see qmfa audit --help)",
        ),
        (
            ["settings", "mandatory", "on", "--yse"],
            "qmfa settings mandatory: unrecognized arguments: --yse; did you mean --yes? "
            "(see qmfa settings mandatory --help)",
        ),
        (
            ["users", "remove-2fa", "bob", "extra"],
            "qmfa users remove-2fa: unrecognized arguments: extra "
            "(see qmfa users remove-2fa --help)",
        ),
    ],
)
def test_a_typo_in_a_subcommand_points_at_its_own_help(capsys, args, line):
    with pytest.raises(SystemExit) as exited:
        cli.main(args)
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines() == [line]


# 5. Help lines alike; init says what it will do, the rule, and what comes next.


def subcommand_helps(
    parser: argparse.ArgumentParser, path: str
) -> list[tuple[str, argparse.ArgumentParser, str]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            for name, subparser in action.choices.items():
                found.append((f"{path} {name}", subparser, helps[name]))
                found += subcommand_helps(subparser, f"{path} {name}")
    return found


def test_every_help_line_starts_alike():
    commands = subcommand_helps(cli.build_parser(), "qmfa")
    assert {"qmfa audit", "qmfa users remove-2fa", "qmfa settings grace-period"} <= {
        name for name, _, _ in commands
    }
    for name, subparser, summary in commands:
        assert summary[:1].islower() and not summary.endswith("."), (name, summary)
        for action in subparser._actions:
            text = action.help or ""
            if not text or text == argparse.SUPPRESS:
                continue
            first_word = text.split()[0]
            # lower-case, or an acronym: "ISO date", "MACs offered"
            assert first_word[0].islower() or first_word[:2].isupper(), (name, text)
            assert not text.endswith(".") or text.endswith("..."), (name, text)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_init_says_what_it_creates_and_the_rule_before_asking_then_what_is_next(
    tmp_path, monkeypatch, capsys
):
    url = f"sqlite:///{tmp_path}/first/qmfa.db"
    said_before_each_question: list[str] = []

    def typed_password(prompt: str = "") -> str:
        said_before_each_question.append(capsys.readouterr().err)
        return PASSWORD

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", typed_password)
    try:
        assert cli.main(["--database", url, "init"]) == 0
    finally:
        storage.close_database()
    first = said_before_each_question[0]
    assert f"qmfa init creates the database {url} (if needed) and its first admin, admin." in (
        first
    )
    assert "The password has at least 8 characters." in first
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == (
        f"Next: run `qmfa --database {url}` and log in as admin, then set up two-step "
        "verification in My Account."
    )


def test_init_from_a_script_names_the_next_command(tmp_path):
    result = qmfa("init", "--password-stdin", stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # nothing said before a password that was not asked for
    assert "Next: run `qmfa` and log in as admin" in result.stdout


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["users", "set-role", "bob"], "give a role (--admin or --user)"),
        (["users", "add", "zed"], "No terminal to ask for the password; use --password-stdin."),
        (["users", "set-password", "bob"], "No terminal to ask for the password"),
        (["users", "remove-2fa", "bob"], "add --yes to confirm"),
    ],
)
def test_bad_usage_is_exit_2(url, args, said):
    result = qmfa("--database", url, *args, stdin="")
    assert_one_clear_line(result, said)
    assert result.returncode == 2
