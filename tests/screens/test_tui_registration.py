from __future__ import annotations

import re
from pathlib import Path

import pyotp
from helpers import PASSWORD, add_user, admin, register
from tui import SIZE, log_in_password, screen_text, settle, type_into

from qmfa_tui.app import QmfaApp
from qmfa_tui.screens.main import MainScreen
from qmfa_tui.screens.recovery_codes import RecoveryCodesScreen
from qmfa_tui.screens.register_device import RegisterDeviceScreen
from qmfa_tui.screens.save_file import SaveFileScreen
from qmfa_tui.screens.user_edit import UserEditScreen, open_user_edit
from qmfa_tui.services import accounts, policy, recovery
from qmfa_tui.widgets.qr_code import QRCode

CODE = re.compile(r"\b[0-9a-z]{5}-[0-9a-z]{5}\b")


def shown_secret(app: QmfaApp) -> str:
    text = str(app.screen.query_one("#secret").render())
    return "".join(text.removeprefix("Key:").split())


async def open_registration(pilot) -> None:
    await pilot.press("a")  # My Account
    await settle(pilot)
    assert isinstance(pilot.app.screen, UserEditScreen)
    assert "Optional on this instance." in screen_text(pilot.app)
    await pilot.click("#register")
    await settle(pilot)
    assert isinstance(pilot.app.screen, RegisterDeviceScreen)


async def wait_out_press(pilot, button: str) -> None:
    for _ in range(50):  # a Button ignores clicks while its press effect (~0.2 s) lasts
        if not pilot.app.screen.query_one(button).has_class("-active"):
            return
        await pilot.pause(0.05)


async def open_save_dialog(pilot, button: str = "#download") -> SaveFileScreen:
    await wait_out_press(pilot, button)
    await pilot.click(button)
    await settle(pilot)
    assert isinstance(pilot.app.screen, SaveFileScreen)
    return pilot.app.screen


async def download(pilot, expected: Path, button: str = "#download") -> None:
    """Download .txt, Enter on the path offered; wait until ``expected`` is written and
    the status names it."""
    await open_save_dialog(pilot, button)
    await pilot.press("enter")
    await settle(pilot)
    for _ in range(50):
        if expected.exists() and f"Saved to {expected}" in screen_text(pilot.app):
            return
        await pilot.pause(0.05)
    raise AssertionError(screen_text(pilot.app))


async def test_register_from_my_account_then_download_and_copy(
    database, fixed_clock, tmp_path, umask_zero
):
    # Under the most open umask: the downloads are private because qmfa made them so.
    admin()
    app = QmfaApp(database, downloads_dir=tmp_path / "downloads")  # made when first needed
    async with app.run_test(size=SIZE) as pilot:
        await log_in_password(pilot, "admin", PASSWORD)
        await open_registration(pilot)
        qr = app.screen.query_one(QRCode)
        assert "secret=" in qr.data and qr.data.startswith("otpauth://totp/qmfa:admin")
        assert qr.region.bottom <= SIZE[1] - 1 and qr.region.right <= SIZE[0]
        secret = shown_secret(app)
        assert f"secret={secret}" in qr.data
        await type_into(pilot, "#code", pyotp.TOTP(secret).at(fixed_clock.t))
        assert isinstance(app.screen, RecoveryCodesScreen)
        codes = CODE.findall(screen_text(app))
        assert len(codes) == 8 == len(set(codes))
        saved = tmp_path / "downloads" / "qmfa-recovery-codes-admin.txt"
        await download(pilot, saved)
        assert CODE.findall(saved.read_text()) == codes
        assert saved.stat().st_mode & 0o777 == 0o600
        first = saved.read_bytes(), saved.stat().st_ino, saved.stat().st_mtime_ns
        again = saved.with_name("qmfa-recovery-codes-admin (2).txt")
        await download(pilot, again)  # a new file beside the first, which stays as it was
        assert CODE.findall(again.read_text()) == codes
        assert again.stat().st_mode & 0o777 == 0o600
        assert (saved.read_bytes(), saved.stat().st_ino, saved.stat().st_mtime_ns) == first
        assert sorted(p.name for p in saved.parent.iterdir()) == [again.name, saved.name]
        app.deliver_screenshot()  # the palette's Screenshot: refused, the screen shows the codes
        await settle(pilot)
        assert not list(saved.parent.glob("*.svg"))
        await pilot.click("#copy")
        assert CODE.findall(app.clipboard) == codes
        await pilot.click("#done")
        await settle(pilot)
        assert isinstance(app.screen, UserEditScreen)
        assert "Recovery codes: 8 of 8 left" in screen_text(app)
        assert app.session is not None
        assert recovery.reveal_codes(app.session, "admin") == codes


async def test_user_edit_download_steps_around_a_file_and_a_link(
    database, fixed_clock, tmp_path, umask_zero
):
    boss = admin()
    device = register(boss, fixed_clock)
    downloads = tmp_path / "Downloads"
    downloads.mkdir(mode=0o755)
    taken = downloads / "qmfa-recovery-codes-admin.txt"
    taken.write_text("an older download")
    taken.chmod(0o644)
    victim = tmp_path / "victim"
    victim.write_text("not to be overwritten")
    (downloads / "qmfa-recovery-codes-admin (2).txt").symlink_to(victim)
    app = QmfaApp(database, downloads_dir=downloads)
    async with app.run_test(size=SIZE) as pilot:
        app.log_in(boss)
        await settle(pilot)
        open_user_edit(app, boss, "admin")
        await settle(pilot)
        assert isinstance(app.screen, UserEditScreen)
        saved = downloads / "qmfa-recovery-codes-admin (3).txt"
        await download(pilot, saved, button="#download-codes")
    assert CODE.findall(saved.read_text()) == device.codes
    assert saved.stat().st_mode & 0o777 == 0o600
    assert taken.read_text() == "an older download" and taken.stat().st_mode & 0o777 == 0o644
    assert victim.read_text() == "not to be overwritten"


async def test_a_wrong_code_keeps_the_screen_and_cancel_stores_nothing(database, fixed_clock):
    boss = admin()
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_password(pilot, "admin", PASSWORD)
        await open_registration(pilot)
        secret = shown_secret(app)
        await type_into(pilot, "#code", pyotp.TOTP(secret).at(fixed_clock.t + 3600))
        assert isinstance(app.screen, RegisterDeviceScreen)
        assert "does not match" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, UserEditScreen)
    assert not accounts.get_user(boss, "admin").two_factor


async def test_mandatory_2fa_forces_registration_after_the_password(database, fixed_clock):
    boss = admin()
    add_user(boss, "alice")
    register(boss, fixed_clock)
    from qmfa_tui.services.session import shell_actor

    policy.set_mandatory(shell_actor(), True)
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await log_in_password(pilot, "alice", PASSWORD)
        assert isinstance(app.screen, RegisterDeviceScreen)
        assert app.session is None
        assert "required on this instance" in screen_text(app)
        # Nothing else is reachable: the palette has no entries, Escape logs out.
        await pilot.press("escape")
        await settle(pilot)
        assert app.session is None
        assert not isinstance(app.screen, MainScreen)
        await log_in_password(pilot, "alice", PASSWORD)
        secret = shown_secret(app)
        await type_into(pilot, "#code", pyotp.TOTP(secret).at(fixed_clock.t))
        assert isinstance(app.screen, RecoveryCodesScreen) and app.session is None
        await pilot.click("#done")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert app.session is not None and app.session.username == "alice"


def test_half_blocks_draw_exactly_the_qr_matrix():
    import segno

    from qmfa_tui.widgets.qr_code import half_block_lines

    uri = "otpauth://totp/qmfa:alice?secret=MZXIM7B6WQRVGTNN7HP5IH6PDSCNFIBO&issuer=qmfa"
    lines = half_block_lines(uri, quiet_zone=4)
    top = {"█": True, "▀": True, "▄": False, " ": False}
    bottom = {"█": True, "▀": False, "▄": True, " ": False}
    drawn = []
    for line in lines:
        drawn.append([top[ch] for ch in line])
        drawn.append([bottom[ch] for ch in line])
    expected = [
        [bool(m) for m in row]
        for row in segno.make(uri, error="l", micro=False).matrix_iter(border=4)
    ]
    assert drawn[: len(expected)] == expected
    assert all(not any(row) for row in drawn[len(expected) :])  # the odd row's light padding
    assert len(lines) <= 22 and len(lines[0]) <= 41  # fits 80x24 beside the form
