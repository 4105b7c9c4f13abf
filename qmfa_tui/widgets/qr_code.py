"""A QR code drawn with half blocks, dark on light whatever the theme, so phones can scan it."""

from __future__ import annotations

import segno
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

# Explicit RGB: named ANSI colours follow the terminal's palette, which may invert them.
QR_STYLE = Style(color="rgb(0,0,0)", bgcolor="rgb(255,255,255)")
_CELLS = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}


def half_block_lines(data: str, *, quiet_zone: int = 4) -> list[str]:
    """The QR code of ``data`` as text, two module rows per line, with a quiet zone.

    Error level L (boosted when it costs no size) keeps the symbol small enough
    for an 80x24 terminal; ``quiet_zone`` is in modules (the standard asks for 4).
    """
    code = segno.make(data, error="l", micro=False)
    rows = [
        [bool(module) for module in row] for row in code.matrix_iter(scale=1, border=quiet_zone)
    ]
    if len(rows) % 2:
        rows.append([False] * len(rows[0]))
    return [
        "".join(_CELLS[top, bottom] for top, bottom in zip(upper, lower, strict=True))
        for upper, lower in zip(rows[::2], rows[1::2], strict=True)
    ]


class QRCode(Widget):
    """Shows ``data`` as a scannable QR code."""

    DEFAULT_CSS = """
    QRCode {
        width: auto;
        height: auto;
    }
    """

    def __init__(self, data: str, *, quiet_zone: int = 4, id: str | None = None) -> None:
        super().__init__(id=id)
        self.data = data
        self.lines = half_block_lines(data, quiet_zone=quiet_zone)

    def render(self) -> Text:
        return Text("\n".join(self.lines), style=QR_STYLE, no_wrap=True, end="")

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return len(self.lines[0])

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines)
