"""No free oracle at the password step, and a throttle that counts before it answers.

- An unknown user, a wrong password, an LDAP or SSO account and an inactive account
  with a wrong password get the same words after one argon2 verify each.
- The throttle admits at most FREE_FAILURES + 1 guesses while the clock stands still,
  however many processes guess at once (SQLite and PostgreSQL).
- Refused attempts are audited as one event per burst, with their exact count.
"""

from __future__ import annotations

import multiprocessing
from typing import Literal

import pytest
from argon2 import PasswordHasher
from helpers import PASSWORD, START, admin, code_at, register, start_login

from qmfa_tui import storage
from qmfa_tui.errors import AuthenticationFailed, QmfaError, Throttled
from qmfa_tui.services import accounts, audit, login, throttle
from qmfa_tui.services.session import PendingLogin

PROCESSES = 8
TRIES = 10


class CountingHasher(PasswordHasher):
    """The tests' cheap argon2id, counting verifies."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verifies = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verifies += 1
        return super().verify(hash, password)


@pytest.fixture
def people(database, fixed_clock):
    boss = admin()
    accounts.create_user(boss, "alice", password=PASSWORD)
    accounts.create_user(boss, "carol", auth_source="ldap")
    accounts.create_user(boss, "erin", auth_source="sso")
    accounts.create_user(boss, "dave", password=PASSWORD, active=False)
    return boss


REFUSALS = [
    ("nobody", PASSWORD),
    ("alice", "not the password"),
    ("carol", PASSWORD),
    ("erin", PASSWORD),
    ("dave", "not the password"),
]


def refusal(username: str, password: str) -> AuthenticationFailed:
    with pytest.raises(AuthenticationFailed) as caught:
        login.with_password(username, password)
    return caught.value


def test_unknown_wrong_ldap_sso_and_inactive_get_the_same_words(people):
    answers = {
        (type(error), error.message)
        for error in (refusal(name, password) for name, password in REFUSALS)
    }
    assert answers == {(AuthenticationFailed, "Wrong username or password.")}
    # Once the password is right, an inactive account may say so.
    assert "inactive" in refusal("dave", PASSWORD).message


def test_each_refusal_costs_exactly_one_argon2_verify(people):
    hasher = CountingHasher()
    accounts.set_password_hasher(hasher)
    refusal("nobody", PASSWORD)  # the first makes the dummy hash
    for name, password in REFUSALS:
        before = hasher.verifies
        refusal(name, password)
        assert hasher.verifies == before + 1, name


def test_ldap_and_sso_attempts_are_audited_and_throttled_like_wrong_passwords(people, fixed_clock):
    for _ in range(throttle.FREE_FAILURES + 1):
        refusal("carol", PASSWORD)
    with pytest.raises(Throttled):
        login.with_password("carol", PASSWORD)
    events = audit.list_events(people, username="carol", action="login.failed")
    assert [e.detail for e in events] == ["no password here: signs in through LDAP"] * 3
    refusal("erin", "anything at all")
    [event] = audit.list_events(people, username="erin", action="login.failed")
    assert event.detail == "no password here: signs in through SSO"


def test_a_throttled_burst_is_one_audit_event_with_its_count(people, fixed_clock):
    for _ in range(throttle.FREE_FAILURES + 1):
        refusal("alice", "not the password")
    for _ in range(5):
        with pytest.raises(Throttled):
            login.with_password("alice", PASSWORD)
    assert audit.list_events(people, action="login.throttled") == []
    fixed_clock.advance(1)
    refusal("alice", "not the password")  # let through: the burst is over
    [event] = audit.list_events(people, action="login.throttled")
    source = throttle.this_source()[:8]
    assert (event.target, event.detail) == (
        "alice",
        f"5 password attempts refused while locked, from 1 source ({source})",
    )
    # The next burst (2 s now) is its own event, written by the success that ends it.
    with pytest.raises(Throttled) as caught:
        login.with_password("alice", PASSWORD)
    assert caught.value.retry_after == 10  # 2 s, told rounded up
    fixed_clock.advance(2)
    assert login.with_password("alice", PASSWORD).actor is not None
    assert [e.detail for e in audit.list_events(people, action="login.throttled")] == [
        f"1 password attempt refused while locked, from 1 source ({source})",
        f"5 password attempts refused while locked, from 1 source ({source})",
    ]
    rows = storage.Throttle.select().where(storage.Throttle.kind == "password")
    assert {row.throttled for row in rows} == {0}  # the sources' and the ceilings'


def test_code_bursts_are_audited_and_a_success_resets(database, fixed_clock):
    boss = admin()
    device = register(boss, fixed_clock)
    wrong = wrong_code(device.secret, fixed_clock.t)
    for _ in range(throttle.FREE_FAILURES + 1):
        with pytest.raises(AuthenticationFailed):
            login.with_security_code(start_login("admin"), wrong)
    for _ in range(2):
        with pytest.raises(Throttled):
            login.with_recovery_code(start_login("admin"), device.codes[0])
        with pytest.raises(Throttled):
            login.with_security_code(start_login("admin"), code_at(device.secret, fixed_clock.t))
    fixed_clock.advance(1)
    login.with_security_code(start_login("admin"), code_at(device.secret, fixed_clock.t))
    [event] = audit.list_events(boss, action="login.throttled")
    assert event.detail == "4 code attempts refused while locked"
    row = storage.Throttle.get(storage.Throttle.kind == "code")
    assert (row.failures, row.throttled) == (0, 0)


def wrong_code(secret: str, now: float) -> str:
    """A code that no step near ``now`` shows."""
    near = {code_at(secret, now + 30 * offset) for offset in range(-3, 4)}
    return next(code for code in (f"{n:06d}" for n in range(10**6)) if code not in near)


def _guess(url: str, kind: str, pending: PendingLogin, guess: str, barrier, results) -> None:
    outcomes = []
    try:
        storage.open_database(url)
        barrier.wait(timeout=60)
        for _ in range(TRIES):
            try:
                if kind == "code":
                    login.with_security_code(pending, guess)
                else:
                    login.with_password("admin", guess)
            except QmfaError as error:
                outcomes.append(type(error).__name__)
            else:
                outcomes.append("success")
    except BaseException as error:  # the test reports any crash as such
        outcomes.append(f"crash: {error!r}")
    results.put(outcomes)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["code", "password"])
def test_guesses_from_many_processes_get_exactly_the_free_ones_through(
    database, database_url, fixed_clock, kind
):
    device = register(admin(), fixed_clock)
    fixed_clock.t = START + 3600  # frozen, here and in every process (fork copies the clock)
    pendings = [start_login("admin") for _ in range(PROCESSES)]
    guess = wrong_code(device.secret, fixed_clock.t) if kind == "code" else "not the password"
    storage.close_database()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    workers = [
        context.Process(target=_guess, args=(database_url, kind, pending, guess, barrier, results))
        for pending in pendings
    ]
    for worker in workers:
        worker.start()
    outcomes = [outcome for _ in workers for outcome in results.get(timeout=120)]
    for worker in workers:
        worker.join(timeout=30)
    storage.open_database(database_url)
    allowed = throttle.FREE_FAILURES + 1
    assert sorted(outcomes) == (
        ["AuthenticationFailed"] * allowed + ["Throttled"] * (PROCESSES * TRIES - allowed)
    ), outcomes
    row = storage.Throttle.get(storage.Throttle.kind == kind)
    assert (row.failures, row.throttled) == (allowed, PROCESSES * TRIES - allowed)
    failed = storage.AuditEvent.select().where(storage.AuditEvent.action == "login.failed")
    assert failed.count() == allowed
    # The next attempt let through writes the whole burst as one event.
    fixed_clock.advance(throttle.delay_after(allowed))
    if kind == "code":
        login.with_security_code(start_login("admin"), code_at(device.secret, fixed_clock.t))
    else:
        start_login("admin")
    [event] = storage.AuditEvent.select().where(storage.AuditEvent.action == "login.throttled")
    refused = f"{PROCESSES * TRIES - allowed} {kind} attempts refused while locked"
    if kind == "password":
        refused += f", from 1 source ({throttle.this_source()[:8]})"
    assert event.detail == refused


def answers(username: str, password: str, tries: int) -> list[tuple[type, str]]:
    """What ``tries`` password attempts in a row are told, the clock standing still."""
    told = []
    for _ in range(tries):
        with pytest.raises(QmfaError) as caught:
            login.with_password(username, password)
        told.append((type(caught.value), caught.value.message))
    return told


def test_a_name_that_is_nobodys_is_throttled_like_an_account(people):
    tries = throttle.FREE_FAILURES + 3
    told = {
        name: answers(name, password, tries) for name, password in REFUSALS if name != "dave"
    }  # dave is inactive: also refused, same words
    assert len(set(map(tuple, told.values()))) == 1, told
    assert told["nobody"][: throttle.FREE_FAILURES + 1] == [
        (AuthenticationFailed, "Wrong username or password.")
    ] * (throttle.FREE_FAILURES + 1)
    assert told["nobody"][-1][0] is Throttled


def test_unknown_names_are_counted_by_key_and_stored_only_as_a_digest(people):
    answers("Nobody", PASSWORD, throttle.FREE_FAILURES + 1)
    full_width = "".join(chr(ord(letter) + 0xFEE0) for letter in "NOBODY")
    assert answers(full_width, PASSWORD, 1)[0][0] is Throttled  # the same name
    assert answers("somebody-else", PASSWORD, 1)[0][0] is AuthenticationFailed
    stored = {row.name_digest for row in storage.NameThrottle.select()}
    assert len(stored) == 2 and not any("body" in digest.lower() for digest in stored)


def test_unknown_names_are_forgotten_a_while_after_their_last_attempt(people, fixed_clock):
    answers("nobody", PASSWORD, throttle.FREE_FAILURES + 2)
    fixed_clock.advance(throttle.FORGET_UNKNOWN_NAME_SECONDS + 1)
    answers("somebody-else", PASSWORD, 1)  # an attempt on any name sweeps the old ones
    # Left: somebody-else's rows, this source's and the one for every source.
    assert [row.failures for row in storage.NameThrottle.select()] == [1, 1]
