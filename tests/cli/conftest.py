"""The `qmfa` commands run as subprocesses on SQLite only: the services under them run on
both databases in tests/services/."""

from __future__ import annotations

import pytest


def pytest_collectstart(collector: pytest.Collector) -> None:
    if isinstance(collector, pytest.Module):
        collector.add_marker(pytest.mark.sqlite_only)
