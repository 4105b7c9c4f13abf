"""Two reads of a large audit log, with their indexes and without them (ms): a user's
last guarded login (User Edit, My Account) and the guarded logins of one host
(`qmfa audit --host`, the audit tab's Host field).

    python bench/audit_reads.py                          # temp SQLite, 1,000,000 events
    python bench/audit_reads.py --events 100000 --database postgresql://...

It prints numbers and exits 0; it is not a test. It makes a demo of 1,000 users in an
empty database (a temp SQLite file unless told) and writes ``--events`` audit events
about them, three in ten guarded logins (``pam.*``) from 50 hosts and one rare host
(five events). It times ``guard.last_verified`` for 200 users and ``audit.list_events``
for a common and the rare host, then drops migration 0016's and 0017's indexes and
times them again.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from qmfa_tui import storage
from qmfa_tui.services import audit, demo, guard
from qmfa_tui.services.session import shell_actor
from qmfa_tui.storage import Account, AuditEvent

USERS = 1000
TIMED_USERS = 200
BATCH = 1000
LAST_USE_INDEX = "audit_event_target_id_action_at_id"
HOST_INDEX = "audit_event_host_at_id"
OTHER_ACTIONS = ["login.succeeded"] * 6 + ["settings.changed"]
GUARDED_ACTIONS = [guard.VERIFIED] * 2 + [guard.EXEMPTED]
HOSTS = 50
RARE_HOST = "rare1"
RARE_EVENTS = 5


def origin(host: str) -> str:
    return guard.Origin.of(host, "sshd", "10.0.0.5", "ssh", "SHA256:abc").describe()


def fill(events: int) -> list[str]:
    demo.create_demo(USERS)
    people = list(Account.select(Account.id, Account.username).order_by(Account.id))
    chance = random.Random(2027)
    start = datetime(2026, 1, 1)
    rare_every = max(1, events // RARE_EVENTS)
    for first in range(0, events, BATCH):
        rows = []
        for number in range(first, min(first + BATCH, events)):
            person = chance.choice(people)
            guarded = number % rare_every == 7 or chance.random() < 0.3
            host = RARE_HOST if number % rare_every == 7 else f"web{chance.randrange(HOSTS)}"
            rows.append(
                {
                    "at": start + timedelta(seconds=number),
                    "actor": person.username,
                    "actor_id": person.id,
                    "target": person.username,
                    "target_id": person.id,
                    "action": chance.choice(GUARDED_ACTIONS if guarded else OTHER_ACTIONS),
                    "origin": origin(host) if guarded else "",
                    "host": audit.host_key(host) if guarded else None,
                }
            )
        with storage.db.atomic():
            AuditEvent.insert_many(rows).execute()
    return [person.username for person in people[:TIMED_USERS]]


def timed(calls: Sequence[Callable[[], object]]) -> list[float]:
    times = []
    for call in calls:
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)


def time_reads(usernames: list[str], label: str) -> None:
    operator = shell_actor()
    last_uses = [partial(guard.last_verified, operator, name) for name in usernames]
    report(f"last use, {label}", timed(last_uses))
    for host in ("web7", RARE_HOST):
        pages = [partial(audit.list_events, operator, host=host)] * 20
        report(f"host {host}, {label}", timed(pages))


def report(label: str, times: list[float]) -> None:
    p95 = times[int(len(times) * 0.95) - 1]
    print(f"{label:<24} median {statistics.median(times):8.3f} ms   p95 {p95:8.3f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database", help="an empty database's URL (default: a temp SQLite)")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = arguments.database or f"sqlite:///{Path(folder) / 'audit.db'}"
        storage.open_database(url)
        try:
            started = time.perf_counter()
            usernames = fill(arguments.events)
            backend = "SQLite" if storage.is_sqlite() else "PostgreSQL"
            elapsed = time.perf_counter() - started
            print(f"{arguments.events:,} events about {USERS:,} users ({backend}): {elapsed:.1f} s")
            time_reads(usernames, "indexed")
            for index in (LAST_USE_INDEX, HOST_INDEX):
                storage.db.execute_sql(f'DROP INDEX "{index}"')
            time_reads(usernames, "no index")
        finally:
            storage.close_database()
    return 0


if __name__ == "__main__":
    sys.exit(main())
