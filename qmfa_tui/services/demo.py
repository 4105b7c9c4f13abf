"""Demo data: a believable instance of any size, for trying qmfa and for benchmarks.

All demo users share one password (hashed once: 100,000 argon2 hashes would
take an hour), and the database is marked as a demo so that `qmfa demo codes`
may print security codes there and nowhere else.
"""

from __future__ import annotations

import base64
import os
import random
import shlex
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import cast

from qmfa_tui.errors import Conflict
from qmfa_tui.kinds import AuthSource, Role
from qmfa_tui.services import accounts, audit, clock, identity, policy, recovery
from qmfa_tui.services.session import shell_actor
from qmfa_tui.services.twofactor import secret_context
from qmfa_tui.storage import (
    Account,
    Device,
    InstanceSettings,
    RecoveryCode,
    bulk_insert,
    db,
    sealer,
    translate_errors,
)
from qmfa_tui.storage.models import NO_DEVICE_RANK
from qmfa_tui.text import counted

DEMO_PASSWORD = "qmfa-demo"
DEMO_LOGIN = "admin"
BATCH = 500

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class DemoPerson:
    username: str
    display_name: str
    auth_source: AuthSource = AuthSource.LOCAL
    role: str = Role.USER
    users_module: bool = False
    active: bool = True
    two_factor: bool = False
    codes_left: int = 8

    @property
    def email(self) -> str:
        return f"{self.username}@example.com"


NAMED = (
    DemoPerson("admin", "Ada Admin", role=Role.ADMIN, users_module=True, two_factor=True),
    DemoPerson("helpdesk", "Hal Helpdesk", users_module=True, two_factor=True, codes_left=2),
    DemoPerson("alice", "Alice Anders"),
    DemoPerson("bob", "Bob Brown", two_factor=True, codes_left=5),
    DemoPerson("carol", "Carol Clarke", auth_source=AuthSource.LDAP),
    DemoPerson("dave", "Dave Dunn", active=False),
    DemoPerson("erin", "Erin Evans", auth_source=AuthSource.SSO),
)

_FIRST = (
    "Amara",
    "Bao",
    "Chloe",
    "Diego",
    "Elif",
    "Farah",
    "Goran",
    "Hana",
    "Ivo",
    "Jun",
    "Kofi",
    "Lena",
    "Mateo",
    "Nia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Vera",
    "Wei",
    "Ximena",
    "Yusuf",
    "Zoe",
)
_LAST = (
    "Abe",
    "Berg",
    "Costa",
    "Dahl",
    "Eze",
    "Fox",
    "Gupta",
    "Horvat",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lund",
    "Mensah",
    "Novak",
    "Okafor",
    "Petrov",
    "Quist",
    "Reyes",
    "Sato",
    "Tan",
    "Ueda",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zhou",
)


def generated_people(count: int, seed: int = 2027) -> Iterator[DemoPerson]:
    """``count`` varied users: about 55% with 2FA, 10% inactive, 15% LDAP, 5% SSO."""
    rng = random.Random(seed)
    for number in range(1, count + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        roll = rng.random()
        source = (
            AuthSource.LDAP if roll < 0.15 else AuthSource.SSO if roll < 0.20 else AuthSource.LOCAL
        )
        yield DemoPerson(
            username=f"{first.lower()}.{last.lower()}{number}",
            display_name=f"{first} {last}",
            auth_source=source,
            users_module=rng.random() < 0.02,
            active=rng.random() >= 0.10,
            two_factor=source is AuthSource.LOCAL and rng.random() < 0.65,
            codes_left=rng.choice((8, 8, 8, 7, 6, 5, 3, 2, 1, 0)),
        )


def codes_command(database: str | None = None, key_file: str | None = None) -> str:
    """The `qmfa demo codes` command for the demo login, naming the database (and key)
    when they are not the default demo ones: as the person types it in a shell."""
    words = ["qmfa"]
    if database is not None:
        words += ["--database", database]
    if key_file is not None:
        words += ["--key-file", key_file]
    words += ["demo", "codes", DEMO_LOGIN]
    return shlex.join(words)


def hint(codes_command: str | None) -> str:
    """The line that tells a newcomer how to get in: ``codes_command`` is None where the
    person cannot run it themselves (a served session: the server's paths are not theirs
    to see), and the line then says where it runs."""
    where = (
        codes_command
        if codes_command is not None
        else f"qmfa demo codes {DEMO_LOGIN} (on the server)"
    )
    # "Code", not "security code": the words the code step's own screen says.
    return f"Demo: log in as {DEMO_LOGIN} / {DEMO_PASSWORD}. Code: {where}"


@translate_errors
def is_demo_database() -> bool:
    """Whether the open database was made by `qmfa demo` (and so may print codes)."""
    return policy.instance().demo


@dataclass(frozen=True)
class DemoSummary:
    created: bool
    users: int


@translate_errors
def create_demo(total_users: int, progress: Progress | None = None) -> DemoSummary:
    """Fill an empty database with ``total_users`` demo users, or reuse an existing demo."""
    existing = Account.select().count()
    if existing:
        if not policy.instance().demo:
            raise Conflict(
                "This database holds real users, not a demo; give `qmfa demo` another --database."
            )
        return DemoSummary(created=False, users=existing)
    people = [*NAMED[:total_users], *generated_people(max(0, total_users - len(NAMED)))]
    password_hash = accounts.hash_password(DEMO_PASSWORD)
    created_at = clock.utc(clock.now())
    done = 0
    with db.atomic():
        for batch in _batches(people, BATCH):
            _insert_batch(batch, password_hash, created_at)
            done += len(batch)
            if progress is not None:
                progress(done, len(people))
        InstanceSettings.update(demo=True).where(InstanceSettings.id == 1).execute()
        audit.record(shell_actor(), "demo.created", detail=counted(len(people), "user"))
    return DemoSummary(created=True, users=len(people))


def _batches(items: list[DemoPerson], size: int) -> Iterator[list[DemoPerson]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


_ACCOUNT_FIELDS = (
    Account.username,
    Account.username_key,
    Account.display_name,
    Account.email,
    Account.auth_source,
    Account.role,
    Account.users_module,
    Account.active,
    Account.created_at,
    Account.password_hash,
    Account.two_factor,
    Account.codes_left_rank,
)
_DEVICE_FIELDS = (Device.account, Device.registered_at, Device.secret_sealed)


def _insert_batch(batch: list[DemoPerson], password_hash: str, created_at: datetime) -> None:
    bulk_insert(
        Account,
        _ACCOUNT_FIELDS,
        [
            (
                p.username,
                identity.username_key(p.username),
                p.display_name,
                p.email,
                p.auth_source,
                p.role,
                p.users_module,
                p.active,
                created_at,
                password_hash if p.auth_source is AuthSource.LOCAL else None,
                p.two_factor,
                min(p.codes_left, recovery.CODE_COUNT) if p.two_factor else NO_DEVICE_RANK,
            )
            for p in batch
        ],
    )
    enrolled = {p.username: p for p in batch if p.two_factor}
    if not enrolled:
        return
    # peewee's stubs type .tuples() as yielding models: (username, id) and (id, account id).
    # By username_key, which has its unique index alone: by username, PostgreSQL's plans,
    # made without statistics for the rows this transaction wrote, slowed with each batch.
    ids = dict(
        cast(
            "Iterable[tuple[str, int]]",
            Account.select(Account.username, Account.id)
            .where(Account.username_key.in_([identity.username_key(name) for name in enrolled]))
            .tuples(),
        )
    )
    keys = sealer()
    # A secret as pyotp.random_base32() makes it (160 bits), at a fraction of the cost.
    bulk_insert(
        Device,
        _DEVICE_FIELDS,
        [
            (
                ids[name],
                created_at,
                keys.seal(base64.b32encode(os.urandom(20)).decode(), secret_context(ids[name])),
            )
            for name in enrolled
        ],
    )
    devices = cast(
        "Iterable[tuple[int, int]]",
        Device.select(Device.id, Device.account)
        .where(Device.account.in_(list(ids.values())))
        .tuples(),
    )
    by_account = {account_id: name for name, account_id in ids.items()}
    rows: list[tuple[object, ...]] = []
    for device_id, account_id in devices:
        person = enrolled[by_account[account_id]]
        codes = recovery.generate_codes()[: person.codes_left]
        rows.extend(recovery.code_rows(device_id, account_id, codes))
    bulk_insert(RecoveryCode, recovery.CODE_FIELDS, rows)
