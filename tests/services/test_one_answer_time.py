"""One answer time for every name, from a process's first attempt on.

The dummy argon2 hash that unknown and LDAP/SSO names are checked against is made
when the database opens (after the first paint), not on first use: every served
session is a fresh process, where making it on first use cost an unknown name's
first attempt one argon2 hash more than a local name's. The work is counted (argon2
hash and verify calls), never timed.
"""

from __future__ import annotations

import textwrap

import pytest
from helpers import PASSWORD, admin, run_python
from tui import wait_until

from qmfa_tui import cli
from qmfa_tui.services import accounts

FIRST_ATTEMPT_PROBE = textwrap.dedent("""
    import sys
    from argon2 import PasswordHasher

    calls = []
    for name in ("hash", "verify"):
        def counting(self, *args, _original=getattr(PasswordHasher, name), _name=name, **kw):
            calls.append(_name)
            return _original(self, *args, **kw)
        setattr(PasswordHasher, name, counting)

    from qmfa_tui import cli
    from qmfa_tui.errors import AuthenticationFailed
    from qmfa_tui.services import login

    cli.prepare_app(cli.parse_arguments(["--database", sys.argv[1]]))  # opens, as qmfa does
    calls.clear()
    try:
        login.with_password(sys.argv[2], "not the password")
    except AuthenticationFailed:
        pass
    print(*calls)
""")


@pytest.fixture
def people_url(database, fixed_clock) -> str:
    boss = admin()
    accounts.create_user(boss, "alice", password=PASSWORD)
    accounts.create_user(boss, "carol", auth_source="ldap")
    accounts.create_user(boss, "erin", auth_source="sso")
    return database.url


def test_a_fresh_process_spends_the_same_argon2_work_on_every_name(people_url):
    work = {
        name: run_python(FIRST_ATTEMPT_PROBE, people_url, name)
        for name in ("alice", "nobody", "carol", "erin")
    }
    assert set(work.values()) == {"verify"}, work


async def test_the_opener_makes_the_dummy_hash_after_the_first_paint(people_url):
    app = cli.prepare_app(cli.parse_arguments(["--database", people_url]), open_after_paint=True)
    assert accounts._dummy_hash is None  # nothing made before the app paints
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.database_is_open)
        assert accounts._dummy_hash is not None


def test_with_the_default_parameters_the_dummy_hash_is_ready_without_hashing(monkeypatch):
    """A session's opener makes no argon2 hash (64 MiB, ~0.1 s) with the default
    parameters: the dummy is one made before, with exactly those parameters."""
    from argon2 import PasswordHasher
    from argon2.exceptions import VerifyMismatchError

    default = PasswordHasher()
    accounts.set_password_hasher(default)  # the cheap_hasher fixture puts its own back
    monkeypatch.setattr(PasswordHasher, "hash", lambda *args, **kwargs: pytest.fail("hashed"))
    dummy = accounts.prepare_dummy_hash()
    monkeypatch.undo()
    assert not default.check_needs_rehash(dummy)  # the same cost as a real check
    with pytest.raises(VerifyMismatchError):
        default.verify(dummy, PASSWORD)
