"""Saving recovery codes: a path field with the downloads folder offered, Enter saves 0600,
an existing path the person typed is refused, Esc writes nothing; Copy in User Edit."""

from __future__ import annotations

import re
from pathlib import Path

from helpers import admin, register
from textual.widgets import Input
from tui import SIZE, screen_text, settle, wait_until

from qmfa_tui.app import QmfaApp
from qmfa_tui.screens.recovery_codes import RecoveryCodesScreen
from qmfa_tui.screens.save_file import SaveFileScreen
from qmfa_tui.screens.user_edit import UserEditScreen, open_user_edit
from qmfa_tui.services import audit, clock
from qmfa_tui.services.session import Actor

CODE = re.compile(r"\b[0-9a-z]{5}-[0-9a-z]{5}\b")


async def show_codes_screen(pilot, actor: Actor, codes: list[str]) -> None:
    pilot.app.log_in(actor)
    await settle(pilot)
    await pilot.app.push_screen(RecoveryCodesScreen(actor.username, codes, "acme-qa"))
    await settle(pilot)


async def open_dialog(pilot, key: str = "d") -> SaveFileScreen:
    await pilot.press(key)
    await settle(pilot)
    assert isinstance(pilot.app.screen, SaveFileScreen)
    return pilot.app.screen


async def save_as(pilot, typed: str | None) -> None:
    """In the dialog: type ``typed`` over the path (None: keep the default), then Enter."""
    field = pilot.app.screen.query_one("#path", Input)
    if typed is not None:
        field.value = typed
    await pilot.press("enter")
    await settle(pilot)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


async def test_the_dialog_offers_the_downloads_path_and_saves_where_edited(
    database, fixed_clock, tmp_path, umask_zero
):
    boss = admin()
    device = register(boss, fixed_clock)
    downloads = tmp_path / "Downloads"  # missing until something is saved there
    app = QmfaApp(database, downloads_dir=downloads)
    async with app.run_test(size=SIZE) as pilot:
        await show_codes_screen(pilot, boss, device.codes)
        dialog = await open_dialog(pilot)
        field = dialog.query_one("#path", Input)
        assert field.value == str(downloads / "qmfa-recovery-codes-admin.txt")
        assert app.focused is field
        assert "Enter saves to this path" in screen_text(app)
        elsewhere = tmp_path / "usb"
        elsewhere.mkdir()
        chosen = elsewhere / "my codes.txt"
        await save_as(pilot, str(chosen))
        await wait_until(pilot, lambda: not isinstance(app.screen, SaveFileScreen))
        assert f"Saved to {chosen}" in screen_text(app)  # the full path
        assert mode(chosen) == 0o600
        text = chosen.read_text()
        assert CODE.findall(text) == device.codes
        saved_at = clock.utc(fixed_clock.t)
        assert f"Saved {saved_at:%Y-%m-%d %H:%M} UTC: 8 unused codes" in text.splitlines()
        assert "Generated" not in text
        assert not downloads.exists()  # nothing was written where it was not asked
        # A bare name goes into the folder offered, made 0700 when first needed.
        await open_dialog(pilot)
        await save_as(pilot, "second.txt")
        await wait_until(pilot, lambda: (downloads / "second.txt").exists())
        assert mode(downloads / "second.txt") == 0o600 and mode(downloads) == 0o700
        await wait_until(pilot, lambda: f"Saved to {downloads / 'second.txt'}" in screen_text(app))


async def test_an_existing_path_typed_is_refused_and_esc_writes_nothing(
    database, fixed_clock, tmp_path
):
    boss = admin()
    device = register(boss, fixed_clock)
    here = tmp_path / "here"
    here.mkdir()
    taken = here / "taken.txt"
    taken.write_text("someone's notes")
    victim = here / "victim"
    victim.write_text("not to be overwritten")
    link = here / "link.txt"
    link.symlink_to(victim)
    downloads = tmp_path / "Downloads"
    app = QmfaApp(database, downloads_dir=downloads)
    async with app.run_test(size=SIZE) as pilot:
        await show_codes_screen(pilot, boss, device.codes)
        dialog = await open_dialog(pilot)
        for path, found in (
            (taken, "already exists"),
            (link, "is a symbolic link"),
            (here, "is a directory"),
        ):
            await save_as(pilot, str(path))
            await wait_until(
                pilot,
                lambda p=path, f=found: f"{p} {f}: give another name." in screen_text(app),  # type: ignore[misc]
            )
            assert app.screen is dialog  # still open, the path there to edit
            assert app.focused is dialog.query_one("#path")
        await save_as(pilot, str(here / "no such folder" / "codes.txt"))
        await wait_until(
            pilot, lambda: f"There is no folder {here / 'no such folder'}." in screen_text(app)
        )
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, RecoveryCodesScreen)
        assert "Nothing was saved." in screen_text(app)
    assert taken.read_text() == "someone's notes"
    assert victim.read_text() == "not to be overwritten"
    assert sorted(p.name for p in here.iterdir()) == ["link.txt", "taken.txt", "victim"]
    assert not downloads.exists()


async def test_user_edit_reads_the_codes_only_when_saving_and_copies_them_shown(
    database, fixed_clock, tmp_path
):
    boss = admin()
    device = register(boss, fixed_clock)
    downloads = tmp_path / "Downloads"
    app = QmfaApp(database, downloads_dir=downloads)
    async with app.run_test(size=SIZE) as pilot:
        app.log_in(boss)
        await settle(pilot)
        open_user_edit(app, boss, "admin")
        await settle(pilot)
        assert isinstance(app.screen, UserEditScreen)
        await pilot.click("#download-codes")
        await settle(pilot)
        assert isinstance(app.screen, SaveFileScreen)
        await pilot.press("escape")  # cancelled: no codes read, none in the audit log
        await settle(pilot)
        assert audit.list_events(boss, action="recovery.revealed") == []
        assert not downloads.exists()
        await pilot.click("#show-codes")
        await settle(pilot)
        assert all(code in screen_text(app) for code in device.codes)
        assert app.clipboard == ""
        await pilot.click("#copy-codes")
        await settle(pilot)
        assert CODE.findall(app.clipboard) == device.codes
        assert "Sent the codes to your terminal's clipboard" in screen_text(app)
