"""Text that looks like someone else: invisible format characters (Unicode category Cf:
zero-width space and joiners, soft hyphen, BOM, word joiner, bidi controls, tags) are
refused in usernames, names and emails, and shown escaped where they are already stored."""

from __future__ import annotations

import json
import sys
import unicodedata

import pytest
from cli.test_cli_hostile_text import put_rows, users_list
from helpers import PASSWORD, admin
from screens.test_tui_hostile_text import assert_nothing_raw, name_width, open_users
from tui import SIZE

from qmfa_tui.app import QmfaApp
from qmfa_tui.errors import AuthenticationFailed, BadInput
from qmfa_tui.services import accounts, login
from qmfa_tui.storage import Account
from qmfa_tui.text import forbidden_character, visible
from qmfa_tui.widgets.user_table import fit

INVISIBLE = {
    "zero-width space": ("\u200b", "\\u200b"),
    "zero-width non-joiner": ("\u200c", "\\u200c"),
    "zero-width joiner": ("\u200d", "\\u200d"),
    "word joiner": ("\u2060", "\\u2060"),
    "soft hyphen": ("\u00ad", "\\xad"),
    "byte order mark": ("\ufeff", "\\ufeff"),
    "invisible separator": ("\u2063", "\\u2063"),
    "Mongolian vowel separator": ("\u180e", "\\u180e"),
    "Arabic letter mark": ("\u061c", "\\u061c"),
    "tag latin small a": ("\U000e0061", "\\U000e0061"),
}


def test_every_format_character_is_shown_escaped():
    """The list in text.py against the running Python's Unicode database (a newer Unicode
    that adds a format character fails here until the list names it)."""
    missed = [
        f"U+{codepoint:04X} {unicodedata.name(chr(codepoint), '?')}"
        for codepoint in range(sys.maxunicode + 1)
        if unicodedata.category(chr(codepoint)) == "Cf"
        and forbidden_character(chr(codepoint)) is None
    ]
    assert missed == []


@pytest.mark.parametrize("kind", INVISIBLE)
def test_visible_escapes_each_invisible_character(kind):
    char, shown = INVISIBLE[kind]
    assert visible(f"ad{char}min") == f"ad{shown}min"
    assert forbidden_character(f"ad{char}min") == shown


def test_ordinary_text_is_left_alone():
    for text in ("admin", "José Ñúñez", "李小龍", "O'Brien", "Smith [contractor]", "👩 💻"):
        assert forbidden_character(text) is None and visible(text) == text


@pytest.mark.parametrize("kind", INVISIBLE)
def test_usernames_refuse_invisible_characters_with_a_clear_message(database, kind):
    boss = admin()
    char, shown = INVISIBLE[kind]
    with pytest.raises(BadInput) as refused:
        accounts.create_user(boss, f"ad{char}min2", password=PASSWORD)
    assert refused.value.message == (
        f"A username cannot hold control or invisible characters (found {shown})."
    )
    assert Account.select().count() == 1


def test_a_control_character_in_a_username_is_named_too(database):
    with pytest.raises(BadInput, match=r"control or invisible characters \(found \\x1b\)"):
        accounts.create_first_admin("ro\x1bot", PASSWORD)
    assert not accounts.any_users()


@pytest.mark.parametrize("field", ["display_name", "email"])
@pytest.mark.parametrize("kind", INVISIBLE)
def test_names_and_emails_refuse_invisible_characters(database, field, kind):
    boss = admin()
    char, shown = INVISIBLE[kind]
    value = f"Ann{char}Smith" if field == "display_name" else f"ann{char}@example.com"
    with pytest.raises(BadInput) as refused:
        accounts.create_user(boss, "ann", password=PASSWORD, **{field: value})  # type: ignore[arg-type]
    what = "name" if field == "display_name" else "email"
    assert refused.value.message == (
        f"The {what} cannot hold control characters, line breaks, bidirectional overrides "
        f"or invisible characters (found {shown})."
    )
    assert not Account.select().where(Account.username == "ann").exists()


def test_a_lookalike_name_logs_in_as_nobody(database):
    admin()
    for lookalike in ("ad\u200bmin", "ad\u00admin", "\ufeffadmin"):
        with pytest.raises(AuthenticationFailed):
            login.with_password(lookalike, PASSWORD)


LOOKALIKES = {"eve": ("ad\u200bmin", "a\u2060b@c\u00adx.io")}


def test_the_cli_shows_stored_invisible_characters_escaped(database, database_url, capsys):
    admin()
    put_rows(LOOKALIKES)
    table = users_list(database_url, capsys, "table")
    [row] = [line for line in table.splitlines() if line.startswith("eve ")]
    assert "ad\\u200bmin" in row and "a\\u2060b@c\\xad" in row  # the email cut with "…"
    assert forbidden_character(table.replace("\n", "")) is None
    exact = json.loads(users_list(database_url, capsys, "json"))  # JSON keeps the exact text
    [eve] = [user for user in exact if user["username"] == "eve"]
    assert (eve["name"], eve["email"]) == LOOKALIKES["eve"]


async def test_the_users_screen_shows_stored_invisible_characters_escaped(database, fixed_clock):
    boss = admin()
    put_rows({"ad\u200bmin": ("Ann\u200dSmith", "ann@example.com")})
    app = QmfaApp(database)
    async with app.run_test(size=SIZE) as pilot:
        await open_users(pilot, boss)
        text = assert_nothing_raw(app)
        [row] = [line for line in text.splitlines() if "ad\\u200bmin " in line]
        assert fit("Ann\\u200dSmith", name_width(app)) in row
