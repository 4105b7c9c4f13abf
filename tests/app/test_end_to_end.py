"""The app and the command on whichever databases the run has (PostgreSQL in CI too)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from helpers import PASSWORD, add_user, admin, code_at, register
from tui import SIZE, log_in_password, settle, table_usernames, type_into

from qmfa_tui import storage
from qmfa_tui.app import QmfaApp
from qmfa_tui.screens.main import MainScreen
from qmfa_tui.screens.users import UsersScreen


async def test_log_in_and_list_users_in_the_app(database, fixed_clock):
    device = register(admin(), fixed_clock)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_password(pilot, "admin", PASSWORD)
        await type_into(pilot, "#code", code_at(device.secret, fixed_clock.t))
        assert isinstance(app.screen, MainScreen)
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, UsersScreen)
        assert table_usernames(app) == ["admin"]


def test_the_command_on_the_same_database(database, database_url, fixed_clock):
    boss = admin()
    register(boss, fixed_clock)
    add_user(boss, "alice")
    storage.close_database()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "qmfa_tui",
            "--database",
            database_url,
            "users",
            "list",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stderr
    assert [(u["username"], u["2fa"]) for u in json.loads(result.stdout)] == [
        ("admin", True),
        ("alice", False),
    ]
