"""A user's last guarded login (My Account, User Edit) as the audit log grows (ms).

    python bench/audit_last_use.py                          # temp SQLite, 1,000,000 events
    python bench/audit_last_use.py --events 100000 --database postgresql://...

It prints numbers and exits 0; it is not a test. It makes a demo of 1,000 users in an
empty database (a temp SQLite file unless told), writes ``--events`` audit events about
them (a fifth of them ``pam.verified``), then times ``guard.last_verified`` for 200 of
the users with migration 0016's index, and again after dropping it.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from qmfa_tui import storage
from qmfa_tui.services import demo, guard
from qmfa_tui.services.session import shell_actor
from qmfa_tui.storage import Account, AuditEvent

USERS = 1000
TIMED_USERS = 200
BATCH = 1000
INDEX = "audit_event_target_id_action_at_id"
ACTIONS = ["login.succeeded"] * 6 + [guard.VERIFIED] * 2 + ["pam.exempted", "settings.changed"]
ORIGIN = str(guard.Origin.of("web1", "sshd", "10.0.0.5", "ssh", "SHA256:abc"))


def fill(events: int) -> list[str]:
    demo.create_demo(USERS)
    people = list(Account.select(Account.id, Account.username).order_by(Account.id))
    chance = random.Random(2027)
    start = datetime(2026, 1, 1)
    for first in range(0, events, BATCH):
        rows = []
        for number in range(first, min(first + BATCH, events)):
            person = chance.choice(people)
            rows.append(
                {
                    "at": start + timedelta(seconds=number),
                    "actor": person.username,
                    "actor_id": person.id,
                    "target": person.username,
                    "target_id": person.id,
                    "action": chance.choice(ACTIONS),
                    "origin": ORIGIN,
                }
            )
        with storage.db.atomic():
            AuditEvent.insert_many(rows).execute()
    return [person.username for person in people[:TIMED_USERS]]


def timed(usernames: list[str]) -> list[float]:
    operator = shell_actor()
    times = []
    for username in usernames:
        started = time.perf_counter()
        guard.last_verified(operator, username)
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)


def report(label: str, times: list[float]) -> None:
    p95 = times[int(len(times) * 0.95) - 1]
    print(f"{label:<16} median {statistics.median(times):8.3f} ms   p95 {p95:8.3f} ms")


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
            report("with the index", timed(usernames))
            storage.db.execute_sql(f'DROP INDEX "{INDEX}"')
            report("without it", timed(usernames))
        finally:
            storage.close_database()
    return 0


if __name__ == "__main__":
    sys.exit(main())
