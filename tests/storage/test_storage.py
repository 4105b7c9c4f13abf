from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import add_user, admin, code_at, register, start_login

from qmfa_tui import database_url, storage
from qmfa_tui.errors import StorageError
from qmfa_tui.services import login, recovery
from qmfa_tui.storage import sealing

# The SQLite file itself (its modes, its dump): on SQLite only.
pytestmark = pytest.mark.sqlite_only


def test_a_dump_of_the_database_holds_no_secret_and_no_code(database, db_path, fixed_clock):
    boss = admin()
    devices = [register(boss, fixed_clock), register(add_user(boss, "alice"), fixed_clock)]
    storage.close_database()
    dump = "\n".join(sqlite3.connect(db_path).iterdump())
    assert "INSERT INTO" in dump and "v1." in dump
    for device in devices:
        assert device.secret not in dump and device.secret.lower() not in dump
        for code in device.codes:
            assert code not in dump and code.replace("-", "") not in dump
    raw = db_path.read_bytes() + Path(f"{db_path}-wal").read_bytes()
    assert devices[0].secret.encode() not in raw


def test_files_are_private(database, db_path):
    key_file = database.key_file
    assert key_file == db_path.with_suffix(".key")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(db_path.parent.stat().st_mode) == 0o700


def test_default_location_is_the_user_data_dir(tmp_path, fixed_clock):
    opened = storage.open_database()
    try:
        path = opened.sqlite_path
        assert path is not None and path == tmp_path / "xdg-data" / "qmfa" / "qmfa.db"
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    finally:
        storage.close_database()


def test_reopening_keeps_everything(database, db_path, fixed_clock):
    device = register(admin(), fixed_clock)
    storage.close_database()
    storage.open_database(f"sqlite:///{db_path}")
    actor = login.with_security_code(start_login("admin"), code_at(device.secret, fixed_clock.t))
    assert actor.username == "admin"
    applied = [row[0] for row in storage.db.execute_sql("SELECT name FROM schema_migration")]
    scripts = sorted(p.stem for p in storage.database.MIGRATIONS_DIR.glob("[0-9]*.py"))
    assert applied == scripts and scripts[0] == "0001_initial"


def test_a_missing_key_file_is_named(database, db_path):
    storage.close_database()
    db_path.with_suffix(".key").rename(db_path.with_suffix(".bak"))
    with pytest.raises(StorageError, match=r"key file .*qmfa\.key is missing"):
        storage.open_database(f"sqlite:///{db_path}")


def test_a_wrong_key_is_named(database, db_path):
    storage.close_database()
    other = db_path.parent / "other.key"
    sealing.create_key_file(other)
    with pytest.raises(StorageError, match=r"other\.key does not open"):
        storage.open_database(f"sqlite:///{db_path}", key_file=other)


def test_the_key_check_is_an_hmac_that_tells_nothing_of_the_key(database, db_path):
    check = storage.InstanceSettings.get_by_id(1).key_check
    assert check is not None
    key_text = db_path.with_suffix(".key").read_text().strip()
    assert check.startswith("h1.") and len(check) == 3 + 64
    assert key_text not in check and sealing.decode_key(key_text, "test").hex() not in check
    assert database.sealer.opens(check)
    other = sealing.Sealer(os.urandom(32), "other")
    assert not other.opens(check) and not other.opens(check[:-1] + "0")


def test_a_key_check_sealed_before_0010_is_upgraded_by_the_right_key(
    database, db_path, fixed_clock
):
    device = register(admin(), fixed_clock)
    legacy = database.sealer.seal("qmfa key check", "key-check")
    storage.InstanceSettings.update(key_check=legacy).execute()
    storage.close_database()
    other = db_path.parent / "other.key"
    sealing.create_key_file(other)
    with pytest.raises(StorageError, match=r"other\.key does not open"):
        storage.open_database(f"sqlite:///{db_path}", key_file=other)
    assert storage.InstanceSettings.get_by_id(1).key_check == legacy  # a wrong key changes nothing
    storage.close_database()

    reopened = storage.open_database(f"sqlite:///{db_path}")
    assert storage.InstanceSettings.get_by_id(1).key_check == reopened.sealer.key_check()
    actor = login.with_security_code(start_login("admin"), code_at(device.secret, fixed_clock.t))
    assert actor.username == "admin"
    storage.close_database()
    with pytest.raises(StorageError, match=r"other\.key does not open"):
        storage.open_database(f"sqlite:///{db_path}", key_file=other)


def test_a_legacy_check_that_is_not_the_fixed_text_is_refused(database, db_path):
    storage.InstanceSettings.update(key_check=database.sealer.seal("other", "key-check")).execute()
    storage.close_database()
    with pytest.raises(StorageError, match="does not open this database's secrets"):
        storage.open_database(f"sqlite:///{db_path}")


CRYPTOGRAPHY_PROBE = """
import sys
from qmfa_tui import storage
from qmfa_tui.services import directory
from qmfa_tui.services.session import shell_actor
from qmfa_tui.services.user_filter import UserFilter

storage.open_database(sys.argv[1], create=False)
directory.page_users(shell_actor(), UserFilter())
print("cryptography" in sys.modules)
storage.sealer().unseal(storage.sealer().seal("a secret", "test"), "test")
print("cryptography" in sys.modules)
"""


def test_opening_and_listing_users_load_no_cryptography_until_a_secret_is_opened(
    database, db_path, fixed_clock
):
    register(admin(), fixed_clock)
    storage.close_database()
    shown = subprocess.run(
        [sys.executable, "-c", CRYPTOGRAPHY_PROBE, f"sqlite:///{db_path}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == ["False", "True"]


def test_the_key_can_come_from_the_environment(tmp_path, monkeypatch, fixed_clock):
    key = sealing.encode_key(os.urandom(32))
    monkeypatch.setenv("QMFA_SECRET_KEY", key)
    opened = storage.open_database(f"sqlite:///{tmp_path}/env.db")
    storage.close_database()
    assert opened.key_file is None and not (tmp_path / "env.key").exists()
    monkeypatch.setenv("QMFA_SECRET_KEY", "not base64 at all!")
    with pytest.raises(StorageError, match="QMFA_SECRET_KEY"):
        storage.open_database(f"sqlite:///{tmp_path}/env.db")


def test_a_readable_key_file_is_refused(database, db_path):
    storage.close_database()
    db_path.with_suffix(".key").chmod(0o644)
    with pytest.raises(StorageError, match="chmod 600"):
        storage.open_database(f"sqlite:///{db_path}")


def test_a_corrupt_sealed_row_is_a_clear_error(database, fixed_clock):
    boss = admin()
    register(boss, fixed_clock)
    storage.RecoveryCode.update(code_sealed="v1.garbage").execute()
    with pytest.raises(StorageError, match="damaged"):
        recovery.reveal_codes(boss, "admin")
    storage.Device.update(secret_sealed="junk").execute()
    with pytest.raises(StorageError, match="damaged"):
        login.with_security_code(start_login("admin"), "123456")


def test_a_sealed_value_moved_to_another_user_does_not_open(database, fixed_clock):
    boss = admin()
    alice = add_user(boss, "alice")
    register(boss, fixed_clock)
    register(alice, fixed_clock)
    boss_secret = storage.Device.get(storage.Device.account == boss.user_id).secret_sealed
    storage.Device.update(secret_sealed=boss_secret).where(
        storage.Device.account == alice.user_id
    ).execute()
    with pytest.raises(StorageError):
        login.with_security_code(start_login("alice"), "123456")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://localhost/qmfa", "Unsupported database URL"),
        ("sqlite:///:memory:", "in-memory"),
        ("nonsense", "Unsupported database URL"),
    ],
)
def test_bad_urls(url, message):
    with pytest.raises(StorageError, match=message):
        storage.open_database(url)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_an_unwritable_directory_is_named(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(StorageError, match="locked"):
        storage.open_database(f"sqlite:///{locked}/sub/qmfa.db")


def test_a_directory_that_cannot_be_made_is_named(tmp_path):
    (tmp_path / "plainfile").write_text("")
    with pytest.raises(StorageError, match=r"Cannot create the directory .*plainfile"):
        storage.open_database(f"sqlite:///{tmp_path}/plainfile/sub/qmfa.db")


def test_a_file_that_is_not_a_database(tmp_path):
    bogus = tmp_path / "bogus.db"
    bogus.write_text("this is not sqlite " * 100)
    with pytest.raises(StorageError, match=r"bogus\.db"):
        storage.open_database(f"sqlite:///{bogus}")


def test_the_password_is_hidden_in_messages():
    assert database_url.redact("postgresql://qa:s3cret@db/qmfa") == ("postgresql://qa:***@db/qmfa")


def test_a_database_made_now_upgrades_under_the_next_version(
    database, db_path, tmp_path, fixed_clock
):
    """The next version adds a migration file; opening runs it and keeps the data."""
    from playhouse.migrations import Runner

    device = register(admin(), fixed_clock)
    storage.close_database()
    next_version = tmp_path / "next-migrations"
    next_version.mkdir()
    for script in storage.database.MIGRATIONS_DIR.glob("[0-9]*.py"):
        (next_version / script.name).write_text(script.read_text())
    (next_version / "0099_add_locale.py").write_text(
        "from peewee import CharField\n\n"
        "def up(migrator, db):\n"
        "    migrator.migrate(migrator.add_column('account', 'locale', "
        "CharField(default='en')))\n"
    )
    storage.database.MIGRATIONS_DIR, saved = next_version, storage.database.MIGRATIONS_DIR
    try:
        storage.open_database(f"sqlite:///{db_path}")
        assert [m.name for m in Runner(storage.db.obj, str(next_version)).status() if m.applied][
            -1
        ] == "0099_add_locale"
        assert storage.db.execute_sql("SELECT locale FROM account").fetchall() == [("en",)]
        actor = login.with_security_code(
            start_login("admin"), code_at(device.secret, fixed_clock.t)
        )
        assert actor.username == "admin"
    finally:
        storage.database.MIGRATIONS_DIR = saved
