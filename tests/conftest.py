from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from helpers import FakeClock

from qmfa_tui import storage
from qmfa_tui.services import accounts, clock


@pytest.fixture(autouse=True)
def quiet_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("QMFA_DATABASE_URL", "QMFA_SECRET_KEY", "QMFA_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture(autouse=True)
def cheap_hasher() -> Iterator[None]:
    """argon2id with tiny parameters: the same code path, a fraction of the time."""
    accounts.set_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    yield
    accounts.set_password_hasher(PasswordHasher())


@pytest.fixture
def fixed_clock() -> Iterator[FakeClock]:
    fake = FakeClock()
    with clock.use_clock(fake):
        yield fake


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "qmfa.db"


@pytest.fixture
def database(db_path: Path, fixed_clock: FakeClock) -> Iterator[storage.OpenDatabase]:
    opened = storage.open_database(f"sqlite:///{db_path}")
    yield opened
    storage.close_database()
