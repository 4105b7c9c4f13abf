"""RFC 4226 Appendix D and RFC 6238 Appendix B through the code path that verifies logins."""

from __future__ import annotations

import base64
import dataclasses

import pytest
from helpers import FakeClock, admin, start_login

from qmfa_tui.services import login, twofactor

# The arithmetic of the codes, whatever the database: once is enough.
pytestmark = pytest.mark.sqlite_only

RFC4226_SECRET = b"12345678901234567890"
RFC4226_HOTP = [
    "755224",
    "287082",
    "359152",
    "969429",
    "338314",
    "254676",
    "287922",
    "162583",
    "399871",
    "520489",
]

SEEDS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
RFC6238 = [  # time, {algorithm: 8-digit code}
    (59, {"sha1": "94287082", "sha256": "46119246", "sha512": "90693936"}),
    (1111111109, {"sha1": "07081804", "sha256": "68084774", "sha512": "25091201"}),
    (1111111111, {"sha1": "14050471", "sha256": "67062674", "sha512": "99943326"}),
    (1234567890, {"sha1": "89005924", "sha256": "91819424", "sha512": "93441116"}),
    (2000000000, {"sha1": "69279037", "sha256": "90698825", "sha512": "38618901"}),
    (20000000000, {"sha1": "65353130", "sha256": "77737706", "sha512": "47863826"}),
]


def b32(seed: bytes) -> str:
    return base64.b32encode(seed).decode()


def enroll_with_seed(
    fixed_clock: FakeClock,
    seed: bytes,
    algorithm: str,
    digits: int,
    first_time: float,
    first_code: str,
):
    actor = admin()
    pending = twofactor.begin_registration(actor, algorithm=algorithm, digits=digits)
    pending = dataclasses.replace(pending, secret=b32(seed))
    fixed_clock.t = first_time
    return twofactor.confirm_registration(actor, pending, first_code)


def test_rfc4226_hotp_values_are_the_codes_of_consecutive_steps(database, fixed_clock):
    # A TOTP step is an HOTP counter: at time 30*i the device shows HOTP(i).
    enroll_with_seed(fixed_clock, RFC4226_SECRET, "sha1", 6, 0, RFC4226_HOTP[0])
    for counter, expected in enumerate(RFC4226_HOTP[1:], start=1):
        fixed_clock.t = counter * 30
        actor = login.with_security_code(start_login("admin"), expected)
        assert actor.username == "admin"


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha512"])
def test_rfc6238_vectors_verify_at_their_times(database, fixed_clock, algorithm):
    first_time, first_codes = RFC6238[0]
    enroll_with_seed(
        fixed_clock, SEEDS[algorithm], algorithm, 8, first_time, first_codes[algorithm]
    )
    for when, codes in RFC6238[1:]:
        fixed_clock.t = when
        assert login.with_security_code(start_login("admin"), codes[algorithm]).username == "admin"


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha512"])
def test_rfc6238_codes_match_their_own_step_only(algorithm):
    totp = twofactor.make_totp(b32(SEEDS[algorithm]), algorithm=algorithm, digits=8)
    for when, codes in RFC6238:
        step = twofactor.time_step(totp, when)
        found = twofactor.match_step(totp, codes[algorithm], center=step, window=1, last_used=-1)
        assert found == twofactor.StepMatch(step, already_used=False)
        assert (
            twofactor.match_step(totp, codes[algorithm], center=step + 5, window=1, last_used=-1)
            is None
        )
