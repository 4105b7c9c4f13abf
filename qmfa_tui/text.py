"""Text from a person or the database, made safe to show: control characters made visible.

A terminal acts on what it is sent: ESC starts a sequence that can set the
clipboard (OSC 52), retitle the window or wipe the screen; a newline breaks a
table row; a bidi override reorders what follows it; an invisible format
character (a zero-width space or joiner, a soft hyphen) makes ``ad\\u200bmin``
look like ``admin``. So every such character is shown as an escape (``\\x1b``,
``\\n``, ``\\u202e``, ``\\u200b``) instead. The services refuse them in names and
emails (`forbidden_character`); rows stored before, or written by other means,
are still shown escaped.

It lives at the bottom of the package (no Textual import) so the screens and
the command line escape alike; the TUI wraps it in widgets/literal.py. So does
`counted`, which makes a count and its noun agree in number.
"""

from __future__ import annotations

import re

# Characters that make a terminal (or the text around them) do something, or that show
# nothing: C0, DEL and C1 control characters, the line and paragraph separators, and every
# format character (Unicode category Cf: the bidi controls, zero-width space and joiners,
# soft hyphen, word joiner, BOM, invisible operators, tags), listed here rather than found
# by scanning all of Unicode at start-up (tests/services/test_invisible_characters.py
# checks the list against the running Python's Unicode database).
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_SEPARATORS = (0x2028, 0x2029)
_FORMAT_CHARACTERS: tuple[int, ...] = (
    0x00AD,
    *range(0x0600, 0x0606),
    0x061C,
    0x06DD,
    0x070F,
    *range(0x0890, 0x0892),
    0x08E2,
    0x180E,
    *range(0x200B, 0x2010),
    *range(0x202A, 0x202F),
    *range(0x2060, 0x2065),
    *range(0x2066, 0x2070),
    0xFEFF,
    *range(0xFFF9, 0xFFFC),
    0x110BD,
    0x110CD,
    *range(0x13430, 0x13439),
    *range(0x1BCA0, 0x1BCA4),
    *range(0x1D173, 0x1D17B),
    0xE0001,
    *range(0xE0020, 0xE0080),
)


def _escape(codepoint: int) -> str:
    char = chr(codepoint)
    if char in _NAMED:
        return _NAMED[char]
    if codepoint <= 0xFF:
        return f"\\x{codepoint:02x}"
    return f"\\u{codepoint:04x}" if codepoint <= 0xFFFF else f"\\U{codepoint:08x}"


_UNSAFE: tuple[int, ...] = (
    *range(0x00, 0x20),
    *range(0x7F, 0xA0),
    *_SEPARATORS,
    *_FORMAT_CHARACTERS,
)
_ESCAPES: dict[int, str] = {codepoint: _escape(codepoint) for codepoint in _UNSAFE}


def _character_class(codepoints: tuple[int, ...]) -> str:
    """A regular expression class of ``codepoints``, consecutive runs as ranges (quicker to
    compile at import than one entry each)."""
    runs: list[list[int]] = []
    for codepoint in sorted(codepoints):
        if runs and codepoint == runs[-1][1] + 1:
            runs[-1][1] = codepoint
        else:
            runs.append([codepoint, codepoint])
    return "".join(
        f"\\U{first:08x}" if first == last else f"\\U{first:08x}-\\U{last:08x}"
        for first, last in runs
    )


_UNSAFE_CLASS = _character_class(_UNSAFE)
_UNSAFE_SEARCH = re.compile(f"[{_UNSAFE_CLASS}]")
# A regular expression for text free of them (an Input's `restrict`, which draws its value raw).
SAFE_TEXT_PATTERN = f"[^{_UNSAFE_CLASS}]*"


def visible(text: str) -> str:
    """`text` with every control, format (bidi, zero-width…) and line-separator character
    written as an escape.

    The result holds none of them, so it can be written to a terminal or drawn on a screen
    as it is (markup is the screens' business: see widgets/literal.py).
    """
    if text.isprintable():  # the usual case, and quick: every character escaped is unprintable
        return text
    return text.translate(_ESCAPES)


def forbidden_character(text: str) -> str | None:
    """The first character of `text` that `visible` would escape, shown escaped; else None."""
    found = _UNSAFE_SEARCH.search(text)
    return None if found is None else _ESCAPES[ord(found.group())]


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """``number`` and ``noun`` agreeing: "1 user", "2 users", "1,234 users"."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"
