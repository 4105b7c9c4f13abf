"""Recovery codes: 8 one-time codes per registration, sealed at rest, consumed exactly once."""

from __future__ import annotations

import base64
import unicodedata
from datetime import datetime

from peewee import fn

from qmfa_tui.errors import (
    BadInput,
    NotFound,
)
from qmfa_tui.services import audit, policy
from qmfa_tui.services.session import Actor
from qmfa_tui.storage import Account, Device, Prepared, RecoveryCode, db, sealer, translate_errors
from qmfa_tui.text import counted

CODE_COUNT = 8
# Crockford's base32 alphabet: no i, l, o or u, so nothing reads as another character.
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
CODE_LENGTH = 10  # 10 symbols of 5 bits: 50 bits each
_READ_AS = str.maketrans({"o": "0", "i": "1", "l": "1"})
NO_CODES_LEFT = (
    f"No recovery codes left (all {CODE_COUNT} used). Use a security code from your "
    "authenticator app; if you lost it, an admin must remove it so you can "
    "register again."
)


_FROM_RFC4648 = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", ALPHABET.encode())


def generate_codes(count: int = CODE_COUNT) -> list[str]:
    """Fresh codes of 50 random bits each, shown as ``xxxxx-xxxxx``."""
    import secrets  # on first use: the PAM helper never makes one

    # base32 of 7 random bytes, cut to its first 10 symbols, is 50 uniform random bits.
    return [
        format_code(
            base64.b32encode(secrets.token_bytes(7))[:CODE_LENGTH]
            .translate(_FROM_RFC4648)
            .decode("ascii")
        )
        for _ in range(count)
    ]


def format_code(normalized: str) -> str:
    return f"{normalized[:5]}-{normalized[5:]}"


def normalize(raw: str) -> str:
    """The canonical form of a typed code: any case, dash and spaces optional.

    Unicode compatibility forms (full-width letters and digits) fold to ASCII,
    and o/i/l read as 0/1 as Crockford's base32 intends.
    """
    text = unicodedata.normalize("NFKC", raw).strip().lower().translate(_READ_AS)
    text = text.replace("-", "").replace(" ", "")
    if len(text) != CODE_LENGTH or any(ch not in ALPHABET for ch in text):
        raise BadInput("A recovery code looks like xxxxx-xxxxx (10 letters and digits).")
    return text


def _context(account_id: int) -> str:
    return f"recovery-code:{account_id}"


def code_rows(device_id: int, account_id: int, codes: list[str]) -> list[tuple[object, ...]]:
    """The sealed rows of ``codes`` for one device, in the order of CODE_FIELDS."""
    keys = sealer()
    context = _context(account_id)
    rows: list[tuple[object, ...]] = []
    for position, code in enumerate(codes, start=1):
        plain = normalize(code)
        rows.append(
            (
                device_id,
                position,
                keys.digest(plain, context),
                keys.seal(format_code(plain), context),
            )
        )
    return rows


CODE_FIELDS = (
    RecoveryCode.device,
    RecoveryCode.position,
    RecoveryCode.digest,
    RecoveryCode.code_sealed,
)


def store_codes(device: Device, account_id: int, codes: list[str]) -> None:
    """Insert ``codes`` for ``device`` (call inside the registration's transaction)."""
    RecoveryCode.insert_many(code_rows(device.id, account_id, codes), CODE_FIELDS).execute()


_REMAINING = Prepared(
    lambda device_id: RecoveryCode.select(fn.COUNT(RecoveryCode.id)).where(
        RecoveryCode.device == device_id
    ),
    int,
)
# Single use: whichever login deletes the row first has used the code.
_USE_CODE = Prepared(
    lambda device_id, digest: RecoveryCode.delete().where(
        RecoveryCode.device == device_id, RecoveryCode.digest == digest
    ),
    int,
    str,
)


# The owner's count of codes left (the Users screen's Codes sort), one lower with the code.
_ONE_CODE_LESS = Prepared(
    lambda device_id: Account.update(codes_left_rank=Account.codes_left_rank - 1).where(
        Account.id == Device.select(Device.account).where(Device.id == device_id)
    ),
    int,
)


def codes_left(device_id: int) -> int:
    left: int = _REMAINING.execute(device_id).fetchone()[0]
    return left


def use_code(device_id: int, digest: str) -> int:
    """Delete the code of ``digest``: 1 if this call used it, 0 if it was not (or no longer)
    there. Call inside the transaction that acts on the verdict."""
    used = _USE_CODE.rows_affected(device_id, digest)
    if used:
        _ONE_CODE_LESS.execute(device_id)
    return used


def digest_of(normalized: str, account_id: int) -> str:
    """The keyed digest a code of ``account_id`` is found by (``normalize`` it first)."""
    return sealer().digest(normalized, _context(account_id))


@translate_errors
def remaining_codes(actor: Actor, username: str) -> int | None:
    """How many codes ``username`` has left, or None without a device.

    The owner and any Users-module holder, whatever the owner's standing: the Users
    table shows every user's count to them anyway, and a count gives no way in.
    """
    target = policy.find_account(username)
    policy.require_self_or_users_module(actor, target)
    device = Device.get_or_none(Device.account == target.id)
    return None if device is None else codes_left(device.id)


@translate_errors
def reveal_codes(actor: Actor, username: str) -> list[str]:
    """The unused codes in clear, for the owner or a Users-module holder of at least the
    owner's standing (policy.refusal_for); always audited. The owner must have given their
    password lately (policy.require_recent_password): their session alone is not enough."""
    target = policy.find_account(username)
    acting = policy.require_standing(actor, target)
    if acting is not None and acting.id == target.id:
        policy.require_recent_password(actor)
    device = Device.get_or_none(Device.account == target.id)
    if device is None:
        raise NotFound(f"{target.username} has no two-step verification device.")
    with db.atomic():
        rows = list(
            RecoveryCode.select()
            .where(RecoveryCode.device == device.id)
            .order_by(RecoveryCode.position)
        )
        audit.record(
            actor,
            "recovery.revealed",
            target=target,
            detail=f"{counted(len(rows), 'code')} shown to {actor.username}",
        )
    keys = sealer()
    return [keys.unseal(row.code_sealed, _context(target.id)) for row in rows]


def codes_text(username: str, instance_name: str, codes: list[str], at: datetime) -> str:
    """The .txt a user saves: whose codes, from where, when saved, and how to use them.

    ``at`` is when the file is written: the codes themselves may be older (made at the
    registration, some used since), so the file says "Saved", not "Generated".
    """
    unit = "code" if len(codes) == 1 else "codes"
    lines = [
        f"qmfa recovery codes for {username} on {instance_name}",
        f"Saved {at:%Y-%m-%d %H:%M} UTC: {len(codes)} unused {unit}",
        "",
        *codes,
        "",
        "Each code works once. At the security code prompt choose",
        "'Login with Recovery Code' and type one of these codes.",
        "Keep this file somewhere safe, away from your phone.",
        "Registering your authenticator again replaces all of these codes.",
    ]
    return "\n".join(lines) + "\n"
