"""Screens driven through Pilot at 80x24 (on SQLite only: see conftest.py)."""
