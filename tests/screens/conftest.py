"""Screens run on SQLite only: they call the services that tests/services/ runs on both
databases, and their pictures must not depend on which one is used."""

from __future__ import annotations

import pytest


def pytest_collectstart(collector: pytest.Collector) -> None:
    if isinstance(collector, pytest.Module):
        collector.add_marker(pytest.mark.sqlite_only)
