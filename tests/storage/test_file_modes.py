"""Files that hold secrets, codes or account data are 0600 from their first byte, never
written through a symbolic link, never over another file (SQLite files only)."""

from __future__ import annotations

import errno
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import admin, register

from qmfa_tui import storage
from qmfa_tui.cli import main
from qmfa_tui.errors import StorageError
from qmfa_tui.private_files import create_private_file, create_private_file_in
from qmfa_tui.services import audit, session
from qmfa_tui.storage import sealing


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def existing(path: Path, text: str, file_mode: int = 0o644) -> Path:
    path.write_text(text)
    path.chmod(file_mode)
    return path


def test_a_private_file_is_0600_before_its_first_byte(tmp_path, monkeypatch, umask_zero):
    target = tmp_path / "codes.txt"
    seen: list[int] = []
    real_write = os.write

    def write_and_look(fd: int, data: bytes) -> int:
        if target.exists():
            seen.append(mode(target))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write_and_look)
    create_private_file(target, "aaaaa-bbbbb\n")
    monkeypatch.undo()
    assert seen == [0o600]
    assert mode(target) == 0o600 and target.read_text() == "aaaaa-bbbbb\n"


def test_even_a_umask_that_takes_owner_bits_gives_0600(tmp_path):
    old = os.umask(0o277)
    try:
        create_private_file(tmp_path / "k", b"x")
    finally:
        os.umask(old)
    assert mode(tmp_path / "k") == 0o600


def test_an_existing_file_is_never_replaced(tmp_path, umask_zero):
    old = existing(tmp_path / "qmfa-recovery-codes-alice.txt", "old codes")
    with pytest.raises(FileExistsError):
        create_private_file(old, "new codes")
    assert old.read_text() == "old codes" and mode(old) == 0o644
    second = create_private_file_in(tmp_path, old.name, "new codes")
    third = create_private_file_in(tmp_path, old.name, "newer codes")
    assert second == tmp_path / "qmfa-recovery-codes-alice (2).txt"
    assert third == tmp_path / "qmfa-recovery-codes-alice (3).txt"
    assert (second.read_text(), third.read_text()) == ("new codes", "newer codes")
    assert mode(second) == mode(third) == 0o600
    assert old.read_text() == "old codes" and mode(old) == 0o644


def test_a_symbolic_link_is_refused_and_its_target_untouched(tmp_path, umask_zero):
    victim = existing(tmp_path / "victim", "precious")
    link = tmp_path / "codes.txt"
    link.symlink_to(victim)
    with pytest.raises(FileExistsError):
        create_private_file(link, "codes")
    dangling = tmp_path / "dangling.txt"
    dangling.symlink_to(tmp_path / "would-be-created")
    with pytest.raises(FileExistsError):
        create_private_file(dangling, "codes")
    assert not (tmp_path / "would-be-created").exists()
    assert create_private_file_in(tmp_path, "codes.txt", "codes") == tmp_path / "codes (2).txt"
    assert victim.read_text() == "precious" and mode(victim) == 0o644
    assert link.is_symlink()


def test_in_an_open_directory_the_file_is_still_0600(tmp_path, umask_zero):
    downloads = tmp_path / "Downloads"
    downloads.mkdir(mode=0o755)
    assert mode(downloads) == 0o755
    path = create_private_file_in(downloads, "qmfa-recovery-codes-bob.txt", "codes")
    assert mode(path) == 0o600
    assert mode(downloads) == 0o755  # the person's folder is theirs to set


def test_a_write_that_fails_leaves_no_file(tmp_path, monkeypatch):
    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OSError, match="No space"):
        create_private_file(tmp_path / "codes.txt", "codes")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_a_name_with_a_folder_in_it_is_refused(tmp_path):
    for bad in ("../x.txt", "a/b.txt", "", ".."):
        with pytest.raises(ValueError):
            create_private_file_in(tmp_path, bad, "codes")


# SQLite and the key file


def sqlite_modes(db_path: Path) -> dict[str, int]:
    return {
        suffix: mode(Path(f"{db_path}{suffix}"))
        for suffix in ("", "-wal", "-shm")
        if Path(f"{db_path}{suffix}").exists()
    }


def test_a_new_database_its_wal_its_shm_and_its_key_are_0600(tmp_path, fixed_clock, umask_zero):
    db_path = tmp_path / "srv" / "qmfa.db"
    opened = storage.open_database(f"sqlite:///{db_path}")
    try:
        admin()  # a write: argon2 hash and audit rows in the WAL
        assert sqlite_modes(db_path) == {"": 0o600, "-wal": 0o600, "-shm": 0o600}
        assert opened.key_file is not None and mode(opened.key_file) == 0o600
        assert mode(db_path.parent) == 0o700
        # Every connection closed: SQLite removes -wal and -shm; the pool's next
        # connection, in another thread, makes them again.
        storage.database._close_all(storage.db.obj)
        assert sqlite_modes(db_path) == {"": 0o600}
        worker = threading.Thread(target=lambda: register(admin_actor(), fixed_clock))
        worker.start()
        worker.join()
        assert sqlite_modes(db_path) == {"": 0o600, "-wal": 0o600, "-shm": 0o600}
    finally:
        storage.close_database()


def admin_actor() -> session.Actor:
    from helpers import login

    return login("admin")


def test_sqlites_rollback_journal_takes_the_database_files_mode(tmp_path, fixed_clock, umask_zero):
    # What the pre-created 0600 file relies on, checked on this machine's SQLite.
    import sqlite3

    db_path = tmp_path / "qmfa.db"
    storage.open_database(f"sqlite:///{db_path}")
    storage.close_database()
    connection = sqlite3.connect(db_path)
    try:
        connection.execute("PRAGMA journal_mode=persist")
        connection.execute("CREATE TABLE scratch (x)")
        connection.commit()
        assert mode(Path(f"{db_path}-journal")) == 0o600
    finally:
        connection.close()


def test_an_existing_database_file_is_opened_as_it_is(tmp_path, fixed_clock):
    db_path = tmp_path / "qmfa.db"
    storage.open_database(f"sqlite:///{db_path}")
    admin()
    storage.close_database()
    db_path.chmod(0o640)  # an operator's choice, kept
    storage.open_database(f"sqlite:///{db_path}")
    storage.close_database()
    assert mode(db_path) == 0o640


def test_a_database_path_that_links_to_nothing_is_refused(tmp_path, fixed_clock):
    link = tmp_path / "qmfa.db"
    link.symlink_to(tmp_path / "elsewhere.db")
    with pytest.raises(StorageError, match="symbolic link to nothing"):
        storage.open_database(f"sqlite:///{link}")
    assert not (tmp_path / "elsewhere.db").exists()


def test_a_database_path_that_is_a_directory_says_so(tmp_path, fixed_clock):
    (tmp_path / "qmfa.db").mkdir()
    with pytest.raises(StorageError, match=r"qmfa\.db is a directory\.$"):
        storage.open_database(f"sqlite:///{tmp_path / 'qmfa.db'}")


def test_a_key_file_under_umask_zero_is_0600(tmp_path, umask_zero):
    key = sealing.create_key_file(tmp_path / "qmfa.key")
    assert mode(tmp_path / "qmfa.key") == 0o600
    assert sealing.read_key_file(tmp_path / "qmfa.key") == key


def test_a_key_path_that_is_a_directory_says_so(tmp_path, fixed_clock):
    (tmp_path / "keys").mkdir(mode=0o700)
    with pytest.raises(StorageError) as raised:
        storage.open_database(f"sqlite:///{tmp_path / 'qmfa.db'}", key_file=tmp_path / "keys")
    assert raised.value.message == f"The key file {tmp_path / 'keys'} is a directory, not a file."


def test_a_key_file_that_is_a_symbolic_link_is_refused(tmp_path, fixed_clock):
    real = tmp_path / "real.key"
    sealing.create_key_file(real)
    link = tmp_path / "qmfa.key"
    link.symlink_to(real)
    with pytest.raises(StorageError, match=r"qmfa\.key is a symbolic link; give the path"):
        storage.open_database(f"sqlite:///{tmp_path / 'qmfa.db'}", key_file=link)
    dangling = tmp_path / "new.key"
    dangling.symlink_to(tmp_path / "would-be-created.key")
    with pytest.raises(StorageError, match=r"new\.key is a symbolic link"):
        storage.open_database(f"sqlite:///{tmp_path / 'other.db'}", key_file=dangling)
    assert not (tmp_path / "would-be-created.key").exists()
    storage.open_database(f"sqlite:///{tmp_path / 'qmfa.db'}", key_file=real)  # a file: fine
    storage.close_database()


# The CLI's --txt FILE


@pytest.fixture
def cli_url(tmp_path: Path, fixed_clock) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'ops' / 'qmfa.db'}"
    storage.open_database(url)
    register(admin(), fixed_clock)
    storage.close_database()
    yield url
    storage.close_database()


def reveals(url: str) -> int:
    storage.open_database(url)
    try:
        events = audit.list_events(session.shell_actor(), action="recovery.revealed")
        return len(events)
    finally:
        storage.close_database()


def test_cli_txt_writes_a_new_0600_file(cli_url, tmp_path, capsys, umask_zero):
    target = tmp_path / "admin-codes.txt"
    assert (
        main(["--database", cli_url, "users", "recovery-codes", "admin", "--txt", str(target)]) == 0
    )
    assert mode(target) == 0o600 and target.read_text().count("-") >= 8
    assert reveals(cli_url) == 1


@pytest.mark.parametrize("kind", ["file", "link"])
def test_cli_txt_refuses_an_existing_file_or_link(cli_url, tmp_path, capsys, kind):
    victim = existing(tmp_path / "victim.txt", "precious")
    target = victim if kind == "file" else tmp_path / "codes.txt"
    if kind == "link":
        target.symlink_to(victim)
    assert (
        main(["--database", cli_url, "users", "recovery-codes", "admin", "--txt", str(target)]) == 1
    )
    said = "already exists" if kind == "file" else "is a symbolic link"
    assert capsys.readouterr().err == (
        f"qmfa: {target} {said}; --txt writes a new file only: give another name.\n"
    )
    assert victim.read_text() == "precious" and mode(victim) == 0o644
    assert reveals(cli_url) == 0  # refused before anything was revealed
