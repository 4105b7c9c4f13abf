"""The PAM helper as pam_exec runs it: a process with the PAM environment, the code on stdin."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import POSTGRES_URL, empty_postgres_schema
from pam_setup import (
    FINGERPRINT,
    HELPER,
    PUBLIC_KEY,
    Guarded,
    make_database,
    pam_environment,
    run_helper,
)

from qmfa_tui.pam import helper
from qmfa_tui.storage import sealing

NOT_A_CODE = "That is not a security code or a recovery code.\n"
CANNOT_CHECK = "qmfa cannot check codes right now; ask your administrator.\n"


@pytest.fixture
def guarded(tmp_path: Path) -> Guarded:
    return make_database(tmp_path)


def test_a_good_code_passes_once_and_the_replay_is_refused_with_its_reason(guarded):
    code = guarded.code_now().encode()
    first = run_helper("verify", guarded, stdin=code)
    assert (first.returncode, first.stdout) == (0, "")
    again = run_helper("verify", guarded, stdin=code)
    assert (again.returncode, again.stdout) == (
        1,
        "That code was already used. Wait for the next one.\n",
    )
    [verified, refused] = guarded.audit()
    assert verified == (
        "pam.verified",
        "alice",
        "security code",
        f"host web1, sshd from 192.0.2.7, tty ssh, key {FINGERPRINT}",
    )
    assert refused[0] == "pam.refused" and refused[2] == "replayed security code"


def test_a_recovery_code_passes_once(guarded):
    code = guarded.recovery_codes[0].encode()
    first = run_helper("verify", guarded, stdin=code, service="sudo")
    assert (first.returncode, first.stdout) == (
        0,
        "Recovery code accepted: 7 recovery codes left.\n",
    )
    again = run_helper("verify", guarded, stdin=code, service="sudo")
    assert again.returncode == 1 and "not valid or was already used" in again.stdout
    assert guarded.audit()[0][3] == "host web1, sudo from 192.0.2.7, tty /dev/pts/4"


def test_the_throttle_refuses_with_its_wait_without_sleeping(guarded):
    for wrong in (b"000000", b"111111", b"222222"):
        assert run_helper("verify", guarded, stdin=wrong).returncode == 1
    guarded.hold_code_lock(600)
    code = guarded.code_now().encode()
    throttled = run_helper("verify", guarded, stdin=code)
    assert throttled.returncode == 1
    assert throttled.stdout == "Too many failed attempts. Try again in about 10 minutes.\n"


@pytest.mark.parametrize(
    "stdin",
    [
        b"1" * 65,  # one byte over the bound
        b"x" * 10_000,
        b"123\x00456",
        "１２３４５６".encode(),  # noqa: RUF001 - full-width digits, as an input method sends
        b"",
        b"12345\t6",
        b"123456\r\n",
        "abcde-fghjé".encode(),
    ],
    ids=["65-bytes", "10-kB", "NUL", "full-width", "empty", "tab", "CRLF", "non-ASCII"],
)
def test_what_is_no_code_is_refused_before_any_rule(guarded, stdin):
    done = run_helper("verify", guarded, stdin=stdin)
    assert (done.returncode, done.stdout) == (1, NOT_A_CODE)
    assert [row[:3] for row in guarded.audit()] == [("pam.refused", "alice", NOT_A_CODE.strip())]


def test_sixty_four_bytes_are_read_whole(guarded):
    code = guarded.code_now().encode()
    assert run_helper("verify", guarded, stdin=code.ljust(64)).returncode == 0


@pytest.mark.parametrize(
    "auth_info",
    [
        "",
        "keyboard-interactive\n",
        "password\n",
        "publickey ssh-ed25519 not*base64\n",
        f"publickey {PUBLIC_KEY}\n" + "x" * 20_000,
    ],
    ids=["none", "keyboard-interactive", "password", "bad-blob", "too-long"],
)
def test_an_sshd_login_without_a_public_key_before_is_refused(guarded, auth_info):
    environment = pam_environment("alice", auth_info=auth_info)
    code = guarded.code_now().encode()
    done = run_helper("verify", guarded, stdin=code, environment=environment)
    assert (done.returncode, done.stdout) == (1, helper.NO_KEY + "\n")
    carol = pam_environment("carol", auth_info=auth_info)
    exempt = run_helper("exempt", guarded, user="carol", environment=carol)
    assert (exempt.returncode, exempt.stdout) == (1, "")


def test_the_fingerprint_is_the_one_ssh_keygen_shows():
    info = f"publickey {PUBLIC_KEY}\nkeyboard-interactive\n"
    assert helper.key_fingerprint(info) == FINGERPRINT


def test_exempt_passes_only_a_user_policy_asks_no_code_of(guarded):
    assert run_helper("exempt", guarded, user="carol").returncode == 0
    for user in ("alice", "dave", "lena", "nobody", ""):
        done = run_helper("exempt", guarded, user=user)
        assert (done.returncode, done.stdout) == (1, ""), user
    assert [row[:2] for row in guarded.audit()] == [("pam.exempted", "carol")]


def test_the_grace_notice_says_until_when(tmp_path):
    guarded = make_database(tmp_path, mandatory_grace_hours=24)
    done = run_helper("exempt", guarded, user="carol")
    assert done.returncode == 0
    assert done.stdout.startswith("Register a device in qmfa before ")
    assert done.stdout.endswith(" UTC.\n")


@pytest.mark.parametrize("user", ["nobody", "dave", "carol", "x" * 200])
def test_verify_refuses_unknown_inactive_and_deviceless_users(guarded, user):
    done = run_helper("verify", guarded, user=user, stdin=b"123456")
    assert done.returncode == 1 and done.stdout.count("\n") == 1


# Runs the helper's __main__ as `python -I -m` does, then lists what it imported.
_LIST_MODULES = """
import runpy, sys
sys.argv = ["qmfa_tui.pam", *sys.argv[1:]]
try:
    runpy.run_module("qmfa_tui.pam", run_name="__main__", alter_sys=True)
except SystemExit as done:
    print("exit", done.code, file=sys.stderr)
print(" ".join(sorted({name.split(".")[0] for name in sys.modules})), file=sys.stderr)
"""


def test_textual_rich_and_asyncssh_are_never_imported(guarded):
    arguments = ["--service-kind", "sshd", "--database", guarded.url]
    listed = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            _LIST_MODULES,
            "verify",
            *arguments,
            "--key-file",
            str(guarded.key_file),
        ],
        input=guarded.code_now(),
        env={**pam_environment("alice"), "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=30,
    )
    *_, status, modules = listed.stderr.strip().splitlines()
    assert status == "exit 0"  # the code was checked, and passed
    assert {"peewee", "pyotp", "qmfa_tui"} <= set(modules.split())
    assert not {"textual", "rich", "asyncssh"} & set(modules.split())


def test_bad_usage_exits_2(guarded):
    done = run_helper("verify", guarded, options=["--connect-timeout", "0"])
    assert done.returncode == 2 and "seconds" in done.stderr


def _fails_closed(done, reason: str) -> None:
    assert done.returncode == helper.EXIT_FAILED
    assert done.stdout == CANNOT_CHECK
    assert "qmfa-pam: cannot check 'alice'" in done.stderr and reason in done.stderr


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback port that accepts connections and never says a word (a hung database)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server.getsockname()[1]
    server.close()


def test_a_database_that_never_answers_fails_closed_within_the_connect_timeout(
    guarded, silent_server
):
    url = f"postgresql://qmfa@127.0.0.1:{silent_server}/qmfa"
    done = run_helper(
        "verify",
        Guarded(url, guarded.key_file, guarded.secret, []),
        stdin=b"123456",
        options=["--connect-timeout", "1"],
        timeout=20,  # the helper's own bound ends it long before
    )
    _fails_closed(done, "StorageError")


@pytest.mark.parametrize(
    "url",
    ["postgresql://qmfa@127.0.0.1:1/qmfa", "mysql://x/y", "sqlite:////nonexistent/qmfa.db"],
)
def test_a_bad_database_url_fails_closed(guarded, url):
    done = run_helper("verify", Guarded(url, guarded.key_file, guarded.secret, []), stdin=b"1")
    _fails_closed(done, "StorageError")
    exempt = run_helper("exempt", Guarded(url, guarded.key_file, guarded.secret, []), user="carol")
    assert exempt.returncode == helper.EXIT_FAILED


def test_a_missing_key_fails_closed(guarded):
    guarded.key_file.unlink()
    _fails_closed(run_helper("verify", guarded, stdin=b"123456"), "is missing")
    assert run_helper("exempt", guarded, user="carol").returncode == helper.EXIT_FAILED


def test_a_group_readable_key_fails_closed(guarded):
    guarded.key_file.chmod(0o644)
    _fails_closed(run_helper("verify", guarded, stdin=b"123456"), "can be read by other users")


def test_a_wrong_key_fails_closed(guarded):
    guarded.key_file.unlink()
    sealing.create_key_file(guarded.key_file)
    _fails_closed(run_helper("verify", guarded, stdin=b"123456"), "does not open")


def test_a_schema_this_qmfa_does_not_know_fails_closed_and_is_left_alone(guarded):
    with sqlite3.connect(guarded.path) as connection:
        connection.execute("UPDATE schema_migration SET name = '9999_newer' WHERE id = 1")
    connection.close()
    _fails_closed(run_helper("verify", guarded, stdin=b"123456"), "older or newer")
    with sqlite3.connect(guarded.path) as connection:
        names = [n for (n,) in connection.execute("SELECT name FROM schema_migration")]
    connection.close()
    assert "9999_newer" in names


def test_a_locked_database_fails_closed_after_the_statement_timeout(guarded):
    code = guarded.code_now().encode()
    locker = sqlite3.connect(guarded.path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # holds the write lock the throttle needs
    try:
        done = run_helper("verify", guarded, stdin=code, options=["--statement-timeout", "0.5"])
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    _fails_closed(done, "DatabaseBusy")
    assert guarded.audit() == []  # the lock held the audit too: syslog has the line
    again = run_helper("verify", guarded, stdin=code)  # the code was not used up
    assert again.returncode == 0


def test_concurrent_helpers_with_one_code_pass_once(guarded):
    code = guarded.code_now()
    command = [
        *HELPER,
        "verify",
        "--service-kind",
        "sudo",
        "--database",
        guarded.url,
        "--key-file",
        str(guarded.key_file),
    ]
    environment = {**pam_environment("alice", "sudo"), "PATH": os.environ.get("PATH", "")}
    helpers = [
        subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment, text=True
        )
        for _ in range(4)
    ]
    outcomes = sorted(process.communicate(code, timeout=60)[0] for process in helpers)
    assert outcomes == ["", *["That code was already used. Wait for the next one.\n"] * 3]
    assert [row[0] for row in guarded.audit()].count("pam.verified") == 1


@pytest.mark.skipif(POSTGRES_URL is None, reason="QMFA_TEST_POSTGRES_URL is not set")
def test_one_postgresql_for_many_hosts(tmp_path, postgres_url):
    """A code used on host A is refused on host B; the throttle counts both; the audit
    names each host."""
    empty_postgres_schema(postgres_url)
    guarded = make_database(tmp_path, url=postgres_url)
    code = guarded.code_now().encode()
    on_a = run_helper("verify", guarded, stdin=code, options=["--host", "host-a"])
    on_b = run_helper("verify", guarded, stdin=code, options=["--host", "host-b"])
    assert (on_a.returncode, on_b.returncode) == (0, 1)
    assert on_b.stdout == "That code was already used. Wait for the next one.\n"
    for host in ("host-a", "host-b", "host-a"):
        run_helper("verify", guarded, stdin=b"000000", options=["--host", host])
    guarded.hold_code_lock(600)
    throttled = run_helper("verify", guarded, stdin=b"000000", options=["--host", "host-b"])
    assert throttled.stdout.startswith("Too many failed attempts.")
    hosts = [row[3].split(", ")[0] for row in guarded.audit()]
    assert hosts[:2] == ["host host-a", "host host-b"]


def _break_key(guarded: Guarded, fault: str) -> None:
    if fault == "missing":
        guarded.key_file.unlink()
    elif fault == "readable":
        guarded.key_file.chmod(0o644)
    else:
        guarded.key_file.unlink()
        sealing.create_key_file(guarded.key_file)


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("missing", "is missing"),
        ("readable", "can be read by other users"),
        ("wrong", "does not open"),
    ],
)
def test_a_key_fault_is_audited_as_pam_failed_in_each_step(guarded, fault, reason):
    _break_key(guarded, fault)
    _fails_closed(run_helper("verify", guarded, stdin=guarded.code_now().encode()), reason)
    assert run_helper("exempt", guarded, user="carol").returncode == helper.EXIT_FAILED
    [(verify_action, alice, verify_detail, origin), (exempt_action, carol, exempt_detail, _)] = (
        guarded.audit()
    )
    assert (verify_action, alice, exempt_action, carol) == (
        "pam.failed",
        "alice",
        "pam.failed",
        "carol",
    )
    assert verify_detail.startswith("StorageError: ") and reason in verify_detail
    assert reason in exempt_detail
    assert origin == f"host web1, sshd from 192.0.2.7, tty ssh, key {FINGERPRINT}"


def test_the_command_line_reads_as_the_generated_lines_write_it():
    read = helper.parse_arguments(
        ["verify", "--service-kind", "sudo", "--database=sqlite:///x.db", "--demand-code",
         "--host", "web0", "--key-file", "/k", "--statement-timeout", "0.5", "--host=web1"]
    )  # fmt: skip
    assert read == helper.Arguments(
        step="verify",
        service_kind="sudo",
        database="sqlite:///x.db",
        key_file="/k",
        host="web1",
        demand_code=True,
        statement_timeout=0.5,
    )


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["verify", "--database", "d"], "service-kind is required"),
        (["--service-kind", "sshd", "--database", "d"], "step is required"),
        (["login", "--service-kind", "sshd", "--database", "d"], "choose one of exempt, verify"),
        (["verify", "--service-kind", "ftp", "--database", "d"], "choose one of sshd, sudo"),
        (["verify", "--service-kind", "sshd", "--database"], "--database needs a value"),
        (["verify", "--service-kind", "sshd", "--database", "d", "--nullok"], "'--nullok'"),
        (["verify", "exempt", "--service-kind", "sshd", "--database", "d"], "'exempt'"),
        (["verify", "--service-kind", "sshd", "--database", "d", "--connect-timeout=nan"],
         "seconds"),
    ],
)  # fmt: skip
def test_a_bad_command_line_is_refused_with_its_reason(argv, reason):
    with pytest.raises(helper.UsageError, match=reason):
        helper.parse_arguments(argv)


def _modules_of(step: str, guarded: Guarded, user: str, stdin: str = "") -> tuple[str, set[str]]:
    """The exit line and the top-level names of every module the helper imported."""
    listed = subprocess.run(
        [sys.executable, "-I", "-c", _LIST_MODULES_IN_FULL, step, "--service-kind", "sshd",
         "--database", guarded.url, "--key-file", str(guarded.key_file)],
        input=stdin, env={**pam_environment(user), "PATH": os.environ.get("PATH", "")},
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    *_, status, modules = listed.stderr.strip().splitlines()
    return status, set(modules.split())


_LIST_MODULES_IN_FULL = _LIST_MODULES.replace('name.split(".")[0] for name', "name for name")


def test_exempt_refuses_a_user_with_a_device_before_peewee_or_the_services_load(guarded):
    status, modules = _modules_of("exempt", guarded, "Alice")  # by the app's username key
    assert status == "exit 1"
    assert not {"peewee", "qmfa_tui.services.guard", "qmfa_tui.storage"} & modules
    status, modules = _modules_of("exempt", guarded, "carol")  # no device: the full check
    assert status == "exit 0"
    assert {"peewee", "qmfa_tui.services.guard"} <= modules
    assert [row[:2] for row in guarded.audit()] == [("pam.exempted", "carol")]


def test_verify_loads_no_password_hashing_and_exempt_no_totp_or_crypto(guarded):
    status, modules = _modules_of("verify", guarded, "alice", guarded.code_now())
    assert status == "exit 0"
    assert not {"argon2", "argparse"} & modules  # pyotp brings secrets
    status, modules = _modules_of("exempt", guarded, "carol")
    assert status == "exit 0"
    assert not {"argon2", "pyotp", "cryptography", "secrets", "argparse"} & modules


def test_the_quick_device_check_says_yes_only_for_a_device_it_found(guarded, tmp_path):
    from qmfa_tui.pam import quick

    def has_device(url: str, user: str) -> bool:
        return quick.has_device(url, user, connect_timeout=1, statement_timeout=1)

    assert has_device(guarded.url, "alice") and has_device(guarded.url, " ＡＬＩＣＥ ")  # noqa: RUF001
    assert not any(has_device(guarded.url, user) for user in ("carol", "nobody", "a\x00", ""))
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    assert not has_device(missing, "alice")
    assert not (tmp_path / "none.db").exists()  # read-only: nothing created
    assert not has_device("postgresql://qmfa@127.0.0.1:1/qmfa", "alice")
    assert not has_device("mysql://x/y", "alice")
