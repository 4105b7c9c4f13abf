"""The `qmfa` commands, run as subprocesses (on SQLite only: see conftest.py)."""
