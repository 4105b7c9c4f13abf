"""The server's SSH host key: ed25519, made on first run, 0600 from its first byte."""

from __future__ import annotations

import stat
from pathlib import Path

import asyncssh

from qmfa_tui.errors import BadInput
from qmfa_tui.private_files import create_private_file, what_is_at


def default_path(sqlite_path: Path | None, key_file: Path | None, data_dir: Path) -> Path:
    """Beside the database: ``qmfa.ssh_host_ed25519_key`` next to ``qmfa.db``; for a
    database server, next to the instance key file, else in qmfa's data dir."""
    if sqlite_path is not None:
        return sqlite_path.with_name(f"{sqlite_path.stem}.ssh_host_ed25519_key")
    directory = key_file.parent if key_file is not None else data_dir
    return directory / "ssh_host_ed25519_key"


def load_or_create(path: Path, *, create: bool = True) -> asyncssh.SSHKey:
    """The key at ``path``; when nothing is there and ``create``, a new one written there."""
    found = what_is_at(path)
    if found is None:
        if not create:
            raise BadInput(f"There is no host key at {path} yet: `qmfa serve` makes it.")
        key = asyncssh.generate_private_key("ssh-ed25519")
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            create_private_file(path, key.export_private_key("openssh"))
        except FileExistsError:
            pass  # another server made it first: read that one
        except OSError as error:
            raise BadInput(f"Cannot write the host key {path}: {error.strerror}.") from None
        else:
            return key
    elif found != "already exists":
        raise BadInput(f"The host key {path} {found}.")
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise BadInput(
                f"The host key {path} can be read by others (mode {stat.S_IMODE(mode):o}): "
                f"`chmod 600 {path}`, or remove it for a new one."
            )
        return asyncssh.read_private_key(path)
    except OSError as error:
        raise BadInput(f"Cannot read the host key {path}: {error.strerror}.") from None
    except (asyncssh.KeyImportError, ValueError) as error:
        raise BadInput(f"{path} is not an SSH private key ({error}).") from None


def fingerprint(key: asyncssh.SSHKey) -> str:
    """``SHA256:...`` as `ssh` shows it when it first meets the server."""
    return key.get_fingerprint("sha256")


def public_line(key: asyncssh.SSHKey) -> str:
    """``ssh-ed25519 AAAA...``: what a known_hosts line holds after the host name."""
    return key.export_public_key("openssh").decode("ascii").strip()


def check_authorized_keys(path: Path) -> None:
    """Refuse, in one line, a --authorized-keys file that cannot be read as one."""
    try:
        asyncssh.read_authorized_keys(str(path))
    except OSError as error:
        raise BadInput(f"Cannot read --authorized-keys {path}: {error.strerror}.") from None
    except (ValueError, asyncssh.KeyImportError) as error:
        raise BadInput(
            f"--authorized-keys {path} is not an authorized_keys file: {error}."
        ) from None
