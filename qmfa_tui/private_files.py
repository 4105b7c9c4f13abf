"""Writing a file for the owner's eyes only: 0600 from its first byte, never through a
symbolic link, never over another file.

Opening with the final mode (O_CREAT | O_EXCL | O_NOFOLLOW, 0600) leaves no moment in
which the umask's 0644 lets another local user open the file and keep reading it, and
O_EXCL refuses anything already at the path (a file, a directory, a symbolic link even
if it dangles). The recovery-code downloads of the TUI and the CLI, the key file and a
new SQLite database file are all created here.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from qmfa_tui.errors import StorageError

PRIVATE_MODE = 0o600
MAX_NUMBERED_NAMES = 100
_CREATE = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


def create_private_file(path: Path, data: str | bytes) -> None:
    """Create ``path`` 0600 and write ``data`` (text as UTF-8) to disk.

    Raises FileExistsError when anything is at ``path`` (the existing thing is left
    as it was), other OSErrors as the system gives them. A file that cannot be
    written to the end is removed, so a retry finds the name free.
    """
    content = data.encode("utf-8") if isinstance(data, str) else data
    fd = os.open(path, _CREATE, PRIVATE_MODE)
    try:
        # The umask can only take bits away; a umask such as 0277 would leave 0400.
        if hasattr(os, "fchmod"):
            os.fchmod(fd, PRIVATE_MODE)
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)  # a key file must not be lost once the database was sealed with it
    except BaseException:
        created = os.fstat(fd)
        os.close(fd)
        _remove_if_same(path, created)
        raise
    os.close(fd)


def create_private_file_in(directory: Path, filename: str, data: str | bytes) -> Path:
    """Create ``filename`` in ``directory`` as create_private_file does; when the name is
    taken, use the next free one of ``name (2).txt``, ``name (3).txt``, ... and return
    the path written."""
    if not filename or Path(filename).name != filename or filename in (".", ".."):
        raise ValueError(f"not a plain file name: {filename!r}")
    stem, dot, suffix = filename.rpartition(".")
    if not stem:
        stem, dot, suffix = filename, "", ""
    for number in range(1, MAX_NUMBERED_NAMES + 1):
        name = filename if number == 1 else f"{stem} ({number}){dot}{suffix}"
        path = directory / name
        try:
            create_private_file(path, data)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(
        f"{directory} already holds {MAX_NUMBERED_NAMES} files named like {filename}"
    )


def what_is_at(path: Path) -> str | None:
    """What is at ``path``, said for a message ("is a symbolic link"), or None if nothing."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return None
    except OSError:
        return "cannot be looked at"
    if stat.S_ISLNK(mode):
        return "is a symbolic link"
    if stat.S_ISDIR(mode):
        return "is a directory"
    if not stat.S_ISREG(mode):
        return "is not a regular file"
    return "already exists"


def _remove_if_same(path: Path, created: os.stat_result) -> None:
    try:
        now = path.lstat()
        if (now.st_dev, now.st_ino) == (created.st_dev, created.st_ino):
            path.unlink()
    except OSError:
        pass


def ensure_directory_for(path: Path) -> None:
    """The directory ``path`` goes in: made 0700 if missing, else writable, or StorageError."""
    parent = path.parent
    if parent.exists():
        if not os.access(parent, os.W_OK | os.X_OK):
            raise StorageError(f"Cannot write to the directory {parent}.")
        return
    try:
        parent.mkdir(mode=0o700, parents=True)
    except OSError as error:
        raise StorageError(f"Cannot create the directory {parent}: {error.strerror}.") from error
