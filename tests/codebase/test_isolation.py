"""Each test, and each parallel worker, keeps to its own files and database."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from conftest import worker_database_url


def test_a_worker_s_database_sits_beside_the_one_named():
    url = "postgresql://qa:pw@db:5433/qmfa_test?sslmode=require"
    assert worker_database_url(url, "gw1") == (
        "postgresql://qa:pw@db:5433/qmfa_test_gw1?sslmode=require"
    )


def test_the_user_s_folders_are_the_test_s_own(tmp_path: Path):
    assert platformdirs.user_downloads_path() == tmp_path / "Downloads"
    assert os.environ["XDG_DATA_HOME"] == str(tmp_path / "xdg-data")
