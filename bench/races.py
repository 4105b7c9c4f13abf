"""Races for single-use things: 8 processes log in at once with one recovery code, or one
TOTP step, round after round. Counts wins per round; any round with more than one win is
a double-spend.

    python bench/races.py                                   # SQLite in a temp dir
    python bench/races.py --postgres postgresql://qmfa@127.0.0.1:5432/qmfa_bench --rounds 1000

The PostgreSQL database given is emptied first. Prints numbers and exits 0; not a test.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from collections import Counter
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier, Lock
from pathlib import Path
from typing import Any, cast

import pyotp
from argon2 import PasswordHasher

from qmfa_tui import storage
from qmfa_tui.errors import QmfaError, Throttled
from qmfa_tui.services import accounts, login, twofactor
from qmfa_tui.services.session import PendingLogin, shell_actor

PROCESSES = 8
PASSWORD = "race password"
USERS = 125  # x 8 recovery codes = 1,000 rounds without re-registering


def worker(
    url: str, tasks: Queue[Any], password_turn: Lock, barrier: Barrier, results: Queue[Any]
) -> None:
    storage.open_database(url)
    while (task := tasks.get()) is not None:
        kind, username, code = task
        try:
            with password_turn:  # the password steps one at a time; the race is the code's
                pending = log_in(username)
            barrier.wait(timeout=60)
            if kind == "recovery":
                login.with_recovery_code(pending, code)
            else:
                login.with_security_code(pending, code)
            results.put("win")
        except QmfaError as error:
            results.put(type(error).__name__)
        except Exception as error:  # a crash is what this benchmark looks for
            results.put(f"crash: {error!r}")


def log_in(username: str) -> PendingLogin:
    """The password step, waiting as told if throttled. Taken in turns: eight at once
    throttle each other (an attempt counts as a failure until it succeeds), and the
    seconds they then wait made a round take 1-1.7 s and could age its code out."""
    while True:
        try:
            return login.with_password(username, PASSWORD)
        except Throttled as error:
            time.sleep(error.retry_after)


def prepare(url: str) -> dict[str, tuple[str, list[str]]]:
    """USERS users with a device each: username -> (secret, recovery codes)."""
    storage.open_database(url)
    accounts.set_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    shell = shell_actor()
    users = {}
    for number in range(USERS):
        name = f"racer{number:03d}"
        accounts.create_user(shell, name, password=PASSWORD)
        actor = login.with_password(name, PASSWORD).actor
        assert actor is not None  # no device yet, so the password is the whole login
        pending = twofactor.begin_registration(actor)
        enrolled = twofactor.confirm_registration(actor, pending, pyotp.TOTP(pending.secret).now())
        users[name] = (pending.secret, enrolled.recovery_codes)
    storage.close_database()
    return users


def race(url: str, kind: str, rounds: int, users: dict[str, tuple[str, list[str]]]) -> Counter:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(PROCESSES)
    password_turn = context.Lock()
    results = context.Queue()
    queues = [context.Queue() for _ in range(PROCESSES)]
    workers = [
        context.Process(target=worker, args=(url, q, password_turn, barrier, results))
        for q in queues
    ]
    for process in workers:
        process.start()
    storage.open_database(url)
    names = sorted(users)
    tally: Counter = Counter()
    for number in range(rounds):
        name = names[number % len(names)]
        secret, codes = users[name]
        if kind == "recovery":
            code = codes[(number // len(names)) % len(codes)]
        else:
            last, drift = cast(  # peewee's stubs type .tuples() as yielding models
                "tuple[int, int]",
                storage.Device.select(storage.Device.last_step, storage.Device.drift)
                .join(storage.Account)
                .where(storage.Account.username == name)
                .tuples()
                .get(),
            )
            # The step the phone shows now. Once this user has used it, wait for the next:
            # a code of a step to come is refused, so it would race for nothing.
            while (step := int(time.time()) // 30 + drift) <= last:
                time.sleep(30 - time.time() % 30 + 0.01)
            code = pyotp.TOTP(secret).generate_otp(step)
        for queue in queues:
            queue.put((kind, name, code))
        outcomes = [results.get(timeout=120) for _ in workers]
        wins = outcomes.count("win")
        tally["rounds"] += 1
        tally["one winner"] += wins == 1
        tally["double-spends"] += wins > 1
        tally["no winner"] += wins == 0
        tally["crashes"] += sum(o.startswith("crash") for o in outcomes)
        storage.Throttle.delete().execute()  # 7 losers a round would throttle the next one
    for queue in queues:
        queue.put(None)
    for process in workers:
        process.join(timeout=30)
    storage.close_database()
    return tally


def run(label: str, url: str, rounds: int) -> None:
    users = prepare(url)
    for kind in ("recovery", "totp"):
        began = time.perf_counter()
        tally = race(url, kind, rounds if kind == "totp" else min(rounds, USERS * 8), users)
        print(
            f"{label:<10} {kind:<9} rounds {tally['rounds']:>5}  one winner "
            f"{tally['one winner']:>5}  double-spends {tally['double-spends']}  "
            f"no winner {tally['no winner']}  crashes {tally['crashes']}  "
            f"({time.perf_counter() - began:.1f} s)"
        )


def empty_postgres(url: str) -> None:
    from playhouse.db_url import parse

    database = storage.database._postgresql_class()(**parse(url))
    with database:
        database.execute_sql("DROP SCHEMA IF EXISTS public CASCADE")
        database.execute_sql("CREATE SCHEMA public")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--postgres", metavar="URL", help="also race on this PostgreSQL")
    args = parser.parse_args()
    print(f"{PROCESSES} processes per round, each logging in with the same code:")
    run("sqlite", f"sqlite:///{Path(tempfile.mkdtemp()) / 'races.db'}", args.rounds)
    if args.postgres:
        empty_postgres(args.postgres)
        run("postgresql", args.postgres, args.rounds)


if __name__ == "__main__":
    main()
