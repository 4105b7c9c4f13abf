"""Password throttles per account and source: nobody locks anybody out from elsewhere.

- Failures from one address never hold the owner out from another.
- The account-wide ceiling (NIST SP 800-63B: 100 consecutive failures) holds sources
  that have not logged in lately, never one that did in the last 30 days; a name
  that is nobody's answers the same way.
- An admin (or the operator) clears a throttle, audited; nobody below the user's
  standing may.
- Refusals tell the wait rounded up, never to the second.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from cli.test_cli import qmfa
from helpers import PASSWORD, add_user, admin, code_at, register, start_login

from qmfa_tui import served_limits as served
from qmfa_tui import storage
from qmfa_tui.errors import (
    AuthenticationFailed,
    LockedOut,
    NotPermitted,
    QmfaError,
    Throttled,
    rounded_wait,
    wait_message,
)
from qmfa_tui.services import accounts, audit, login, throttle
from qmfa_tui.services.session import Actor, shell_actor

DAY = 24 * 3600


@pytest.fixture
def served_from(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """A session `qmfa serve` started, for a client at the address given (as it sets)."""
    monkeypatch.setenv(served.LOGIN_TIMEOUT_ENV, "120")

    def at(address: str) -> None:
        monkeypatch.setenv("SSH_CLIENT", f"{address} 50022 22")

    at("192.0.2.1")
    return at


@pytest.fixture
def boss(database, fixed_clock, served_from) -> Actor:
    boss = admin()
    accounts.create_user(boss, "bob", password=PASSWORD)
    return boss


def told(username: str, password: str) -> QmfaError | None:
    """What one password attempt is told (None: it passed)."""
    try:
        login.with_password(username, password)
    except QmfaError as error:
        return error
    return None


def bob_id() -> int:
    return storage.Account.get(storage.Account.username == "bob").id


def fail_from_many_sources(served_from, username: str, failures: int, first: int = 10) -> None:
    """``failures`` wrong passwords, the free ones of one new address after another."""
    for number in range(failures):
        served_from(f"198.51.100.{first + number // (throttle.FREE_FAILURES + 1)}")
        assert isinstance(told(username, "not the password"), AuthenticationFailed)


def test_failures_from_one_address_never_hold_the_owner_out_from_another(
    boss, served_from, fixed_clock
):
    served_from("203.0.113.66")  # the attacker, waiting out each delay
    for _ in range(12):
        fixed_clock.advance(throttle.MAX_DELAY_SECONDS)
        assert isinstance(told("bob", "not the password"), AuthenticationFailed)
    assert isinstance(told("bob", PASSWORD), Throttled)  # that address waits 15 minutes
    served_from("192.0.2.50")  # bob, elsewhere: not held at all
    assert login.with_password("bob", PASSWORD).actor is not None
    # Nor are bob's own first mistakes there held by the attacker's.
    served_from("192.0.2.51")
    for _ in range(throttle.FREE_FAILURES + 1):
        assert isinstance(told("bob", "typo"), AuthenticationFailed)


def test_the_ceiling_holds_new_sources_but_not_one_that_logged_in_lately(
    boss, served_from, fixed_clock
):
    served_from("192.0.2.7")
    assert login.with_password("bob", PASSWORD).actor is not None  # bob's own address
    fixed_clock.advance(29 * DAY)
    fail_from_many_sources(served_from, "bob", throttle.ACCOUNT_CEILING)
    served_from("198.51.100.200")  # a new address: held, right password or not, same words
    refused = [told("bob", PASSWORD), told("bob", "not the password")]
    assert all(isinstance(error, LockedOut) for error in refused)
    assert len({error.message for error in refused if error}) == 1
    served_from("192.0.2.7")  # logged in 29 days ago: never held by the ceiling
    assert login.with_password("bob", PASSWORD).actor is not None
    served_from("198.51.100.201")  # and that success started the count again
    assert login.with_password("bob", PASSWORD).actor is not None


def test_a_source_that_logged_in_over_30_days_ago_is_held_like_a_new_one(
    boss, served_from, fixed_clock
):
    served_from("192.0.2.7")
    login.with_password("bob", PASSWORD)
    fixed_clock.advance(throttle.TRUSTED_SOURCE_SECONDS + 1)
    fail_from_many_sources(served_from, "bob", throttle.ACCOUNT_CEILING)
    served_from("192.0.2.7")
    assert isinstance(told("bob", PASSWORD), LockedOut)


def test_the_ceiling_counts_parallel_attempts_before_their_verdict(boss, served_from):
    fail_from_many_sources(served_from, "bob", throttle.ACCOUNT_CEILING - 1)
    served_from("198.51.100.150")
    assert isinstance(told("bob", "not the password"), AuthenticationFailed)  # the 100th
    ceiling = storage.Throttle.get(
        storage.Throttle.account == bob_id(),
        storage.Throttle.kind == "password",
        storage.Throttle.source == throttle.ALL_SOURCES,
    )
    assert ceiling.failures == throttle.ACCOUNT_CEILING
    assert isinstance(told("bob", PASSWORD), LockedOut)  # refused without a verify


def test_a_name_that_is_nobodys_meets_the_same_ceiling(boss, served_from):
    answers = {}
    for name, first in (("bob", 10), ("nobody", 60)):
        fail_from_many_sources(served_from, name, throttle.ACCOUNT_CEILING, first=first)
        served_from("198.51.100.250")
        error = told(name, "not the password")
        answers[name] = (type(error), error.message if error else "")
    assert answers["bob"] == answers["nobody"]
    assert answers["bob"][0] is LockedOut


def test_sources_are_stored_as_keyed_digests_never_as_addresses(boss, served_from):
    served_from("198.51.100.77")
    told("bob", "not the password")
    told("nobody", "not the password")
    stored = [
        row.source for row in storage.Throttle.select().where(storage.Throttle.account == bob_id())
    ] + [row.source for row in storage.NameThrottle.select()]
    sources = [source for source in stored if source]
    assert len(set(sources)) == 1
    # Hex digits only: no dot, so no address (a digest may hold "198" by chance, 1 in ~70).
    assert all(re.fullmatch(r"[0-9a-f]{64}", source) for source in sources), sources
    assert throttle.this_source() in sources


def test_an_ipv6_client_counts_by_its_64(monkeypatch, served_from):
    served_from("2001:db8:1:2::1")
    first = audit.attempt_source()
    served_from("2001:db8:1:2:ffff::9")
    assert audit.attempt_source() == first == "address 2001:db8:1:2::/64"
    served_from("::ffff:198.51.100.9")
    assert audit.attempt_source() == "address 198.51.100.9"


def test_locally_the_source_is_the_os_account_and_terminal(monkeypatch):
    monkeypatch.delenv(served.LOGIN_TIMEOUT_ENV, raising=False)
    monkeypatch.delenv(served.IDLE_TIMEOUT_ENV, raising=False)
    monkeypatch.delenv("SSH_CLIENT", raising=False)
    local = audit.attempt_source()
    assert local.startswith("local ") and " on " in local
    monkeypatch.setenv("SSH_CLIENT", "203.0.113.9 50000 22")  # a shell over plain sshd
    assert audit.attempt_source() == f"{local} from 203.0.113.9"


def test_a_burst_from_many_sources_is_one_event_with_their_count(boss, served_from, fixed_clock):
    addresses = ("198.51.100.1", "198.51.100.2")
    for address in addresses:
        served_from(address)
        for _ in range(throttle.FREE_FAILURES + 1):
            told("bob", "not the password")
    for address in addresses:
        served_from(address)
        for _ in range(3):
            assert isinstance(told("bob", PASSWORD), Throttled)
    assert audit.list_events(boss, action="login.throttled") == []
    served_from("192.0.2.9")
    login.with_password("bob", PASSWORD)
    [event] = audit.list_events(boss, action="login.throttled")
    assert event.detail.startswith("6 password attempts refused while locked, from 2 sources (")


def test_the_code_step_stays_throttled_per_account(database, fixed_clock, served_from):
    device = register(admin(), fixed_clock)
    served_from("198.51.100.1")
    wrong = code_at(device.secret, fixed_clock.t + 3600)
    for _ in range(throttle.FREE_FAILURES + 1):
        with pytest.raises(AuthenticationFailed):
            login.with_security_code(start_login("admin"), wrong)
    served_from("192.0.2.9")  # the password's holder, elsewhere: the codes are theirs
    with pytest.raises(Throttled):
        login.with_security_code(start_login("admin"), code_at(device.secret, fixed_clock.t))


def test_unlock_clears_every_throttle_and_is_audited(boss, served_from, fixed_clock):
    fail_from_many_sources(served_from, "bob", throttle.ACCOUNT_CEILING)
    served_from("198.51.100.10")  # also held by its own delay now
    assert isinstance(told("bob", PASSWORD), LockedOut)
    throttle.unlock(boss, "bob")
    [event] = audit.list_events(boss, action="user.unlocked")
    assert (event.actor, event.target) == ("admin", "bob")
    assert login.with_password("bob", PASSWORD).actor is not None  # that very address
    throttle.unlock(shell_actor(), "bob")  # the operator's break-glass; nothing left
    latest = audit.list_events(boss, action="user.unlocked")[0]
    assert latest.by_operator and latest.detail == "nothing was throttled"


def test_unlock_needs_the_users_module_and_standing(boss, served_from):
    clerk = add_user(boss, "clerk", users_module=True)
    plain = add_user(boss, "plain")
    with pytest.raises(NotPermitted):
        throttle.unlock(plain, "bob")
    with pytest.raises(NotPermitted):
        throttle.unlock(clerk, "admin")  # an admin outranks a Users-module holder
    throttle.unlock(clerk, "bob")
    assert len(audit.list_events(boss, action="user.unlocked")) == 1


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (1, "in about 10 seconds"),
        (11, "in about 20 seconds"),
        (59, "in a minute"),
        (60, "in a minute"),
        (61, "in about 2 minutes"),
        (122, "in about 3 minutes"),
        (900, "in about 15 minutes"),
    ],
)
def test_refusals_tell_the_wait_rounded_up_never_the_second(seconds, words):
    assert wait_message(seconds) == f"Too many failed attempts. Try again {words}."
    error = Throttled(seconds)
    assert error.message == wait_message(seconds) and error.retry_after >= seconds
    assert rounded_wait(error.retry_after) == error.retry_after  # a countdown ends on a bound


def test_the_operator_unlocks_with_one_command(boss, served_from, database):
    fail_from_many_sources(served_from, "bob", throttle.ACCOUNT_CEILING)
    served_from("198.51.100.222")
    assert isinstance(told("bob", PASSWORD), LockedOut)
    done = qmfa("--database", database.url, "users", "unlock", "BOB")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Cleared the login throttles of bob: no place is held now.\n"
    [event] = audit.list_events(boss, action="user.unlocked")
    assert event.by_operator and event.target == "bob"
    assert login.with_password("bob", PASSWORD).actor is not None
    again = qmfa("--database", database.url, "users", "unlock", "bob")
    assert again.stdout == "bob was not throttled; nothing to clear.\n"
    nobody = qmfa("--database", database.url, "users", "unlock", "nobody")
    assert nobody.returncode != 0 and "There is no user 'nobody'." in nobody.stderr


async def test_unlock_in_user_edit_by_keyboard(boss, served_from, database):
    from textual.widgets import Button
    from tui import screen_text, settle, wait_until

    from qmfa_tui.app import QmfaApp
    from qmfa_tui.screens.user_edit import UserEditScreen, open_user_edit

    fail_from_many_sources(served_from, "bob", throttle.ACCOUNT_CEILING)
    app = QmfaApp(database)
    async with app.run_test(size=(80, 24)) as pilot:
        app.log_in(boss)
        await settle(pilot)
        open_user_edit(app, boss, "bob")
        await wait_until(pilot, lambda: isinstance(app.screen, UserEditScreen))
        await wait_until(pilot, lambda: "Failed logins: 100 in a row" in screen_text(app))
        while app.focused is not app.screen.query_one("#unlock", Button):
            await pilot.press("tab")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "Failed logins cleared for bob" in screen_text(app))
        # Read again: nothing is held now, so neither the count nor Unlock is shown.
        await wait_until(pilot, lambda: not app.screen.query("#unlock"))
    [event] = audit.list_events(boss, action="user.unlocked")
    assert (event.actor, event.target) == ("admin", "bob")
    served_from("198.51.100.222")
    assert login.with_password("bob", PASSWORD).actor is not None


async def test_unlock_is_offered_only_with_standing_not_on_oneself_and_when_held(
    boss, served_from, database
):
    from tui import screen_text, settle, wait_until

    from qmfa_tui.app import QmfaApp
    from qmfa_tui.screens.user_edit import UserEditScreen, open_user_edit

    clerk = add_user(boss, "clerk", users_module=True)
    add_user(boss, "carol")
    fail_from_many_sources(served_from, "admin", 3)
    fail_from_many_sources(served_from, "bob", 3)
    app = QmfaApp(database)
    async with app.run_test(size=(80, 24)) as pilot:
        for actor, username in ((clerk, "admin"), (boss, "admin")):
            app.log_in(actor)
            await settle(pilot)
            open_user_edit(app, actor, username)
            await wait_until(pilot, lambda: isinstance(app.screen, UserEditScreen))
            assert not app.screen.query("#unlock")
            app.log_out()
            await settle(pilot)
        # With standing: offered for bob, who is held, not for carol, who is not.
        app.log_in(clerk)
        await settle(pilot)
        for username, held in (("bob", True), ("carol", False)):
            open_user_edit(app, clerk, username)
            await wait_until(pilot, lambda: isinstance(app.screen, UserEditScreen))
            await settle(pilot)
            assert bool(app.screen.query("#unlock")) is held
            assert ("Failed logins: 3 in a row" in screen_text(app)) is held
            app.screen.dismiss()
            await settle(pilot)


def test_migration_0011_keeps_old_password_counts_as_the_ceilings(boss, served_from):
    from playhouse.migrations import Runner

    fail_from_many_sources(served_from, "bob", 2)
    told("nobody", "not the password")
    runner = Runner(storage.db.obj, str(storage.database.MIGRATIONS_DIR))
    runner.down(target="0011_password_throttle_per_source")
    assert "source" not in {c.name for c in storage.db.get_columns("throttle")}
    # As 0010 left them: one row per user and kind, bob locked by his old count.
    storage.db.execute_sql(
        "UPDATE throttle SET failures = 7, locked_until = 1e12 WHERE kind = 'password' "
        "AND account_id = (SELECT id FROM account WHERE username = 'bob')"
    )
    runner.up()
    ceiling = storage.Throttle.get(
        storage.Throttle.account == bob_id(), storage.Throttle.kind == "password"
    )
    assert (ceiling.source, ceiling.failures, ceiling.locked_until) == ("", 7, 0.0)
    assert ceiling.last_attempt > 0  # kept for the forgetting period from the upgrade
    assert login.with_password("bob", PASSWORD).actor is not None  # the old lock ended


def _guess_from(url: str, address: str, barrier, results) -> None:
    import os

    outcomes = []
    try:
        os.environ["SSH_CLIENT"] = f"{address} 50022 22"
        storage.open_database(url)
        barrier.wait(timeout=60)
        for _ in range(5):
            error = told("bob", "not the password")
            outcomes.append(type(error).__name__)
    except BaseException as error:  # the test reports any crash as such
        outcomes.append(f"crash: {error!r}")
    results.put(outcomes)


@pytest.mark.slow
def test_parallel_guesses_from_many_addresses_get_one_past_the_ceiling(
    boss, served_from, database_url
):
    import multiprocessing

    fail_from_many_sources(served_from, "bob", throttle.ACCOUNT_CEILING - 1)
    storage.close_database()
    context = multiprocessing.get_context("fork")
    processes = 8
    barrier = context.Barrier(processes)
    results = context.Queue()
    workers = [
        context.Process(target=_guess_from, args=(database_url, f"203.0.113.{n}", barrier, results))
        for n in range(processes)
    ]
    for worker in workers:
        worker.start()
    outcomes = [outcome for _ in workers for outcome in results.get(timeout=120)]
    for worker in workers:
        worker.join(timeout=30)
    storage.open_database(database_url)
    assert sorted(outcomes) == ["AuthenticationFailed"] + ["LockedOut"] * (processes * 5 - 1)
