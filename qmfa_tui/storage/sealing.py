"""Sealing of secrets at rest with an instance key that never sits in the database,
and loading that key (``load_key``).

Secrets are sealed with AES-256-GCM; the associated data names what the value
is and whose it is, so a sealed value copied onto another row does not open.
Recovery codes are also looked up by a keyed digest (HMAC-SHA256), so the
database can find a code without holding it in clear.

cryptography (megabytes once imported) loads when a value is first sealed, opened or
digested, not when the key is loaded: the key check is an HMAC of the standard library,
so the login and Users screens run without it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import stat
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from qmfa_tui.database_url import data_dir, split
from qmfa_tui.errors import StorageError
from qmfa_tui.private_files import create_private_file, ensure_directory_for
from qmfa_tui.storage.models import InstanceSettings, db

KEY_BYTES = 32
SECRET_KEY_ENV = "QMFA_SECRET_KEY"
_FORMAT = "v1."
_NONCE_BYTES = 12
# Not through a link; a FIFO put there does not block the open (it is then refused).
_READ_FLAGS = (
    getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
)


if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def _derive(master_key: bytes, purpose: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master_key)


class Sealer:
    """Seals and opens small text values; computes lookup digests."""

    def __init__(self, master_key: bytes, source: str) -> None:
        if len(master_key) != KEY_BYTES:
            raise StorageError(f"The key from {source} is not {KEY_BYTES} bytes long.")
        self.source = source
        self._master_key = master_key

    @cached_property
    def _aead(self) -> AESGCM:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        return AESGCM(_derive(self._master_key, b"qmfa seal v1"))

    @cached_property
    def _digest_key(self) -> bytes:
        return _derive(self._master_key, b"qmfa lookup v1")

    def key_check(self) -> str:
        """What the database keeps to recognise this key: an HMAC of a fixed text keyed
        with the master key (the subkeys come from it by HKDF, whose HMACs are keyed
        otherwise), which tells nothing of the key and needs no AES to compute."""
        mac = hmac.new(self._master_key, _KEY_CHECK_MESSAGE, hashlib.sha256).hexdigest()
        return _KEY_CHECK_FORMAT + mac

    def opens(self, key_check: str) -> bool:
        """Whether ``key_check`` was made with this key: an HMAC check, or (before 0010)
        the sealed text it was."""
        if key_check.startswith(_KEY_CHECK_FORMAT):
            return hmac.compare_digest(key_check, self.key_check())
        try:
            return self.unseal(key_check, _KEY_CHECK_CONTEXT) == _KEY_CHECK_TEXT
        except StorageError:
            return False

    def seal(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return _FORMAT + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def unseal(self, sealed: str, context: str) -> str:
        """Open a sealed value, or raise StorageError if it is damaged or the key is wrong."""
        aead = self._aead
        from cryptography.exceptions import InvalidTag

        try:
            if not sealed.startswith(_FORMAT):
                raise ValueError("unknown format")
            raw = base64.urlsafe_b64decode(sealed[len(_FORMAT) :])
            nonce, body = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
            return aead.decrypt(nonce, body, context.encode()).decode()
        except (ValueError, InvalidTag, binascii.Error, UnicodeDecodeError) as error:
            raise StorageError(
                f"A sealed value ({context}) does not open with the key from {self.source}: "
                "the row is damaged or the key is not this database's."
            ) from error

    def digest(self, value: str, context: str) -> str:
        message = context.encode() + b"\x00" + value.encode()
        return hmac.new(self._digest_key, message, hashlib.sha256).hexdigest()


def decode_key(text: str, source: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (ValueError, binascii.Error) as error:
        raise StorageError(f"The key in {source} is not valid base64.") from error
    if len(key) != KEY_BYTES:
        raise StorageError(f"The key in {source} is not {KEY_BYTES} bytes long.")
    return key


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii")


def read_key_file(path: Path) -> bytes:
    """The key in ``path``: a regular file of its owner's alone, not a symbolic link.

    A link is refused: the file checked and the file read would be whatever the link
    points at when each happens, and whoever may change the link chooses the key.
    """
    try:
        fd = os.open(path, os.O_RDONLY | _READ_FLAGS)
    except FileNotFoundError:
        raise
    except OSError as error:
        if path.is_symlink():
            raise StorageError(
                f"The key file {path} is a symbolic link; give the path of the key file "
                f"itself (or set ${SECRET_KEY_ENV})."
            ) from None
        raise StorageError(f"Cannot read the key file {path}: {error.strerror}.") from error
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise StorageError(f"The key file {path} is a directory, not a file.")
        if not stat.S_ISREG(mode):
            raise StorageError(f"The key file {path} is not a regular file.")
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise StorageError(
                f"The key file {path} can be read by other users; run: chmod 600 {path}"
            )
        text = os.read(fd, 4096).decode("ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise StorageError(f"Cannot read the key file {path}: {error}") from error
    finally:
        os.close(fd)
    return decode_key(text, str(path))


def create_key_file(path: Path) -> bytes:
    """Write a new random key to ``path`` (0600 from its first byte), refusing to replace
    anything there: an existing key file is read instead (another process made it)."""
    key = os.urandom(KEY_BYTES)
    try:
        create_private_file(path, encode_key(key) + "\n")
    except FileExistsError:
        return read_key_file(path)
    except OSError as error:
        raise StorageError(f"Cannot create the key file {path}: {error.strerror}") from error
    return key


# --- Loading the instance key -------------------------------------------------------------
# Where the key comes from ($QMFA_SECRET_KEY, $QMFA_KEY_FILE, or a file beside the
# database), made on first use by a command that creates, and checked against the
# database's key_check so that a wrong key is refused before anything is sealed with it.

KEY_FILE_ENV = "QMFA_KEY_FILE"
_KEY_CHECK_FORMAT = "h1."
_KEY_CHECK_MESSAGE = b"qmfa key check v2"
# Before migration 0010 the check was this text sealed with AES-GCM; such a check is
# replaced by the HMAC form the first time the right key opens the database.
_KEY_CHECK_TEXT = "qmfa key check"
_KEY_CHECK_CONTEXT = "key-check"


def _default_key_path(url: str, backend: str, sqlite_path: Path | None) -> Path:
    if sqlite_path is not None:
        return sqlite_path.with_suffix(".key")
    parts = split(url)
    name = f"{parts.hostname or 'localhost'}-{parts.path.strip('/') or 'qmfa'}"
    return data_dir() / f"{backend}-{name}.key"


def load_key(
    url: str, backend: str, sqlite_path: Path | None, key_file: str | Path | None, create: bool
) -> tuple[Path | None, Sealer]:
    """The key file used (None for $QMFA_SECRET_KEY) and the sealer of the database just
    opened at ``url``; with ``create`` a missing key file is made. StorageError names the
    file when the key is missing or is not this database's."""
    key_check = InstanceSettings.get_by_id(1).key_check
    env_key = os.environ.get(SECRET_KEY_ENV)
    if env_key and key_file is None:
        path = None
        source = f"${SECRET_KEY_ENV}"
        key = decode_key(env_key, source)
    else:
        path = Path(
            key_file or os.environ.get(KEY_FILE_ENV) or _default_key_path(url, backend, sqlite_path)
        ).expanduser()
        source = str(path)
        try:
            key = read_key_file(path)
        except FileNotFoundError:
            if key_check is not None:
                raise StorageError(
                    f"The key file {path} is missing. This database's secrets were sealed "
                    f"with it: restore it, or set ${SECRET_KEY_ENV} to its key."
                ) from None
            if not create:
                # A database with no key yet; only a command that creates makes one.
                raise StorageError(
                    f"The key file {path} is missing: restore it, or set "
                    f"${SECRET_KEY_ENV} to its key."
                ) from None
            ensure_directory_for(path)
            key = create_key_file(path)
    sealer = Sealer(key, source)
    if key_check is None:
        with db.atomic():
            claimed = (
                InstanceSettings.update(key_check=sealer.key_check())
                .where(InstanceSettings.id == 1, InstanceSettings.key_check.is_null())
                .execute()
            )
        if claimed:
            return path, sealer
        key_check = InstanceSettings.get_by_id(1).key_check
        assert key_check is not None  # the claim lost to another process, which stored one
    if not sealer.opens(key_check):
        raise StorageError(
            f"The key from {source} does not open this database's secrets: "
            "it is not the key this database was created with."
        )
    if not key_check.startswith(_KEY_CHECK_FORMAT):
        with db.atomic():  # conditional: a process that upgraded it first wins alike
            InstanceSettings.update(key_check=sealer.key_check()).where(
                InstanceSettings.id == 1, InstanceSettings.key_check == key_check
            ).execute()
    return path, sealer
