"""Two guarded hosts, one PostgreSQL: two real sshds on loopback, each with the PAM file
of its own `qmfa pam setup --host NAME`, both against the throw-away PostgreSQL of
QMFA_TEST_POSTGRES_URL (.ci/run starts one). A code or a recovery code used through one
is spent for the other; the throttle counts the attempts of both; the audit names each.

Bounded in time: every ssh run ends within pam_host.CLIENT_SECONDS, the helper within the
generated `timeout -s KILL`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
from conftest import POSTGRES_URL, empty_postgres_schema
from pam_host import (
    SSHD,
    Client,
    Host,
    Sshd,
    guarded_host,
    missing_requirements,
    new_client,
    started_sshd,
)

QMFA = [sys.executable, "-m", "qmfa_tui"]
HOST_A = "guarded-test-host"  # guarded_host's own setup
HOST_B = "second-test-host"
REPLAYED = "That code was already used. Wait for the next one."

_missing = missing_requirements(str(SSHD), "/usr/bin/ssh", "/usr/bin/ssh-keygen")
if _missing is None and POSTGRES_URL is None:
    _missing = "QMFA_TEST_POSTGRES_URL is not set (.ci/run starts a throw-away PostgreSQL)"
pytestmark = [
    pytest.mark.skipif(_missing is not None, reason=_missing or ""),
    pytest.mark.long,
]


@dataclass
class TwoHosts:
    host: Host
    a: Sshd
    b: Sshd


@pytest.fixture(scope="module")
def hosts(postgres_url: str) -> Iterator[TwoHosts]:
    empty_postgres_schema(postgres_url)
    with guarded_host(QMFA, postgres_url=postgres_url) as host:
        setup_b = host.root / "setup-b"
        host.setup(QMFA, HOST_B, setup_b)
        with started_sshd(host) as sshd_a, started_sshd(host, setup_b) as sshd_b:
            yield TwoHosts(host, sshd_a, sshd_b)


@pytest.fixture
def clients(hosts: TwoHosts) -> tuple[Client, Client]:
    """One new person's ssh client to host A and to host B, with the same key."""
    on_a = new_client(hosts.a)
    (hosts.b.keys_dir / on_a.person.name).write_text(on_a.key.with_suffix(".pub").read_text())
    return on_a, replace(on_a, sshd=hosts.b)


def _hosts_of(host: Host, username: str) -> list[tuple[str, str]]:
    """(action, host name) of each PAM event about ``username``, in order."""
    return [
        (action, origin.split(", ")[0].removeprefix("host "))
        for action, origin in host.audit(username)
    ]


def test_a_code_accepted_through_one_host_is_refused_through_the_other(hosts, clients):
    on_a, on_b = clients
    on_a.answer(on_a.person.code_now())
    first = on_a.ssh("echo", "in-through-a")
    assert first.returncode == 0, (first.stderr, hosts.a.log_text()[-2000:])
    assert first.stdout.strip() == "in-through-a"
    again = on_b.ssh("echo", "should-not-run")  # the same code, the same 30 s step
    assert again.returncode == 255
    assert "should-not-run" not in again.stdout
    assert REPLAYED in again.stderr
    assert hosts.b.logged(f"Failed keyboard-interactive/pam for {on_a.person.name}")
    assert _hosts_of(hosts.host, on_a.person.name) == [
        ("pam.verified", HOST_A),
        ("pam.refused", HOST_B),
    ]


def test_a_recovery_code_works_once_across_both_hosts(hosts, clients):
    on_a, on_b = clients
    code = on_a.person.recovery_codes[0]
    on_b.answer(code)
    first = on_b.ssh("echo", "in-through-b")
    assert first.returncode == 0, first.stderr
    assert "Recovery code accepted: 7 recovery codes left." in first.stderr
    on_a.answer(code)
    again = on_a.ssh("echo", "should-not-run")
    assert again.returncode == 255 and "should-not-run" not in again.stdout
    assert "not valid or was already used" in again.stderr
    assert _hosts_of(hosts.host, on_a.person.name) == [
        ("pam.verified", HOST_B),
        ("pam.refused", HOST_A),
    ]


def test_the_throttle_counts_the_attempts_of_both_hosts(hosts, clients):
    on_a, on_b = clients
    wrong = on_a.person.wrong_code()
    for client in (on_a, on_b, on_a):
        client.answer(wrong)
        assert client.ssh("true").returncode == 255
    # One row counts every host's failures (the third set a lock of 1 s); held longer,
    # it refuses the right code through host B at once, with its reason.
    person = on_a.person.name
    assert _code_failures(hosts.host, person) == 3
    _hold_code_lock(hosts.host, person, seconds=600)
    on_b.answer(on_a.person.code_now())
    throttled = on_b.ssh("echo", "should-not-run")
    assert throttled.returncode == 255 and "should-not-run" not in throttled.stdout
    assert "Too many failed attempts. Try again in about 10 minutes." in throttled.stderr
    assert _hosts_of(hosts.host, person) == [
        ("pam.refused", HOST_A),
        ("pam.refused", HOST_B),
        ("pam.refused", HOST_A),
    ]  # a refusal while locked is counted, audited with the next success in aggregate


def _on_database(host: Host, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
    from playhouse.db_url import connect

    assert host.postgres_url is not None
    database = connect(host.postgres_url)
    try:
        with database.atomic():
            cursor = database.execute_sql(sql, params)
            return list(cursor.fetchall()) if cursor.description else []
    finally:
        database.close()


_THROTTLE_OF = (
    "FROM throttle WHERE kind = 'code' AND source = '' "
    "AND account_id = (SELECT id FROM account WHERE username = %s)"
)


def _code_failures(host: Host, username: str) -> object:
    [(failures,)] = _on_database(host, f"SELECT failures {_THROTTLE_OF}", (username,))
    return failures


def _hold_code_lock(host: Host, username: str, *, seconds: float) -> None:
    _on_database(
        host,
        f"UPDATE throttle SET locked_until = %s WHERE id IN (SELECT id {_THROTTLE_OF})",
        (time.time() + seconds, username),
    )
