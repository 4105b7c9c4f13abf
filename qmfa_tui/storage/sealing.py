"""Sealing of secrets at rest with an instance key that never sits in the database.

Secrets are sealed with AES-256-GCM; the associated data names what the value
is and whose it is, so a sealed value copied onto another row does not open.
Recovery codes are also looked up by a keyed digest (HMAC-SHA256), so the
database can find a code without holding it in clear.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from qmfa_tui.errors import StorageError
from qmfa_tui.private_files import create_private_file

KEY_BYTES = 32
SECRET_KEY_ENV = "QMFA_SECRET_KEY"
_FORMAT = "v1."
_NONCE_BYTES = 12
# Not through a link; a FIFO put there does not block the open (it is then refused).
_READ_FLAGS = (
    getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
)


def _derive(master_key: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master_key)


class Sealer:
    """Seals and opens small text values; computes lookup digests."""

    def __init__(self, master_key: bytes, source: str) -> None:
        if len(master_key) != KEY_BYTES:
            raise StorageError(f"The key from {source} is not {KEY_BYTES} bytes long.")
        self.source = source
        self._aead = AESGCM(_derive(master_key, b"qmfa seal v1"))
        self._digest_key = _derive(master_key, b"qmfa lookup v1")

    def seal(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return _FORMAT + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def unseal(self, sealed: str, context: str) -> str:
        """Open a sealed value, or raise StorageError if it is damaged or the key is wrong."""
        try:
            if not sealed.startswith(_FORMAT):
                raise ValueError("unknown format")
            raw = base64.urlsafe_b64decode(sealed[len(_FORMAT) :])
            nonce, body = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
            return self._aead.decrypt(nonce, body, context.encode()).decode()
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
