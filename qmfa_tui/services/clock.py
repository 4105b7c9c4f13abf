"""The one source of "now" for the rules, so tests can fix the time TOTP sees."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_source: Callable[[], float] = time.time


def now() -> float:
    """Seconds since the epoch, from the current clock."""
    return _source()


def utc(timestamp: float) -> datetime:
    """A naive UTC datetime, the form every stored time has (portable across databases)."""
    return datetime.fromtimestamp(timestamp, UTC).replace(tzinfo=None)


@contextmanager
def use_clock(source: Callable[[], float]) -> Iterator[None]:
    """Run the block with ``source`` as the clock."""
    global _source
    previous, _source = _source, source
    try:
        yield
    finally:
        _source = previous
