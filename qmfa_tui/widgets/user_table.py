"""One page of users, drawn line by line with a row cursor.

A DataTable is slow to refill and redraw with a page of 50 users; these
rows are plain text cells, so drawing them is a few string joins per line.
Segments go to the terminal as they are (no markup is read, and no control
character is stripped either), so a cell's text is escaped (`visible`) first.

The columns fit the widget's width, with no horizontal scrolling: each has a
least and a preferred width; a narrow table first drops the columns that matter
least (Source, Active, Email, Name); a column whose values on the page are short takes
only their width, and the room left goes to the cut columns, Username first, a cut cell
ending in an ellipsis. Username, 2FA and Codes come first and always show.

The header marks the column the list is sorted by (▲ ascending, ▼ descending); a click
on a header asks for a sort by it (``SortClicked``). Down on the last row and Up on the
first ask for the next and the previous page (``PageEdge``): the table holds one page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from qmfa_tui.services.directory import UserRow
from qmfa_tui.text import visible


@dataclass(frozen=True)
class Column:
    label: str
    least: int  # narrower than this, the column goes instead
    preferred: int
    drop_order: int  # 0: never dropped; higher goes first


# In the order shown; Email, the last, takes what is left.
COLUMNS: tuple[Column, ...] = (
    Column("Username", 12, 18, 0),
    Column("2FA", 8, 8, 0),
    Column("Codes", 7, 7, 0),  # room for "Codes ▲"
    Column("Name", 10, 16, 1),
    Column("Source", 6, 6, 4),
    Column("Active", 6, 6, 3),
    Column("Email", 12, 40, 2),
)
CODES = 2  # the column drawn in the warning colour when few codes are left
# Extra room goes to the columns that are cut, in this order, each up to its longest
# value on the page: a username is never cut while Name or Email has room to spare.
GROWTH: tuple[int, ...] = (0, 3, 6)


def cells(row: UserRow) -> tuple[str, ...]:
    codes = "-" if row.codes_left is None else f"{row.codes_left}/8"
    return (
        visible(row.username),
        "Enabled" if row.two_factor else "Disabled",
        codes,
        visible(row.display_name),
        visible(row.auth_source),
        "yes" if row.active else "no",
        visible(row.email),
    )


def fit(text: str, width: int) -> str:
    return text.ljust(width) if len(text) <= width else text[: width - 1] + "…"


def column_widths(width: int, longest: tuple[int, ...] | None = None) -> list[tuple[int, int]]:
    """(column index, width) of the columns shown in ``width`` cells, in order.

    ``longest`` is each column's longest text on the page (its header included); a
    column whose longest text is shorter than its least width gets only that, and the
    room left goes to the cut columns in GROWTH's order. Without it, each column's
    preferred width counts as its longest.

    A line is a leading space, then each cell followed by a space.
    """
    needed = longest or tuple(column.preferred for column in COLUMNS)
    shown = list(range(len(COLUMNS)))
    while sum(COLUMNS[i].least + 1 for i in shown) + 1 > width and any(
        COLUMNS[i].drop_order for i in shown
    ):
        shown.remove(max(shown, key=lambda i: COLUMNS[i].drop_order))
    widths = {i: min(COLUMNS[i].least, needed[i]) for i in shown}
    room = width - 1 - sum(w + 1 for w in widths.values())
    for column in GROWTH:
        if room <= 0:
            break
        if column in widths and widths[column] < needed[column]:
            grow = min(room, needed[column] - widths[column])
            widths[column] += grow
            room -= grow
    return [(i, widths[i]) for i in shown]


class UserTable(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    UserTable {
        height: 1fr;
        background: $surface;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
    }
    UserTable > .user-table--header {
        text-style: bold;
        background: $panel;
    }
    UserTable > .user-table--cursor {
        background: $block-cursor-blurred-background;
    }
    UserTable:focus > .user-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
    }
    UserTable > .user-table--few-codes {
        color: $text-error;
        text-style: bold;
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "user-table--header",
        "user-table--cursor",
        "user-table--few-codes",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "move(-10)", "Page up", show=False),
        Binding("pagedown", "move(10)", "Page down", show=False),
        Binding("home", "move(-1000000)", "First", show=False),
        Binding("end", "move(1000000)", "Last", show=False),
        Binding("enter", "open", "Open user"),
    ]

    cursor_row: reactive[int] = reactive(0)

    @dataclass
    class Selected(Message):
        """Enter, or a click on the row under the cursor."""

        table: UserTable
        username: str

        @property
        def control(self) -> UserTable:
            return self.table

    @dataclass
    class SortClicked(Message):
        """A click on a column's header: ``label`` is the column's."""

        table: UserTable
        label: str

        @property
        def control(self) -> UserTable:
            return self.table

    @dataclass
    class PageEdge(Message):
        """Down on the last row (``step`` 1) or Up on the first (``step`` -1)."""

        table: UserTable
        step: int

        @property
        def control(self) -> UserTable:
            return self.table

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[UserRow] = []
        self._cells: list[tuple[str, ...]] = []
        self._layout_width = -1
        self._layout: list[tuple[int, int]] = []
        self._header = ""
        self._sorted_by: tuple[str, bool] | None = None

    def set_rows(self, rows: list[UserRow], *, cursor: int | None = None) -> None:
        """Show ``rows``; the cursor goes to row ``cursor`` (-1: the last), or stays where
        it was."""
        self.rows = rows
        self._cells = [cells(row) for row in rows]
        self._layout_width = -1  # the columns fit this page's values
        self.virtual_size = Size(0, len(rows) + 1)  # the columns fit: no horizontal scroll
        wanted = self.cursor_row if cursor is None else cursor % max(1, len(rows))
        self.cursor_row = min(wanted, max(0, len(rows) - 1))
        self.refresh()

    def show_sort(self, label: str, descending: bool) -> None:
        """Mark the column ``label`` as the one the rows are sorted by."""
        if self._sorted_by != (label, descending):
            self._sorted_by = (label, descending)
            self._layout_width = -1  # the header is made again
            self.refresh()

    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, len(self.rows) - 1))

    def watch_cursor_row(self, old: int, new: int) -> None:
        # Row n is virtual line n + 1, and the header covers the top line of the view:
        # showing lines n and n + 1 keeps the row below the header.
        self.scroll_to_region(
            Region(0, new, 1, 2), animate=False, spacing=None, top=False, force=True
        )
        self.refresh()

    def action_move(self, delta: int) -> None:
        if delta == 1 and self.rows and self.cursor_row == len(self.rows) - 1:
            self.post_message(self.PageEdge(self, 1))
        elif delta == -1 and self.rows and self.cursor_row == 0:
            self.post_message(self.PageEdge(self, -1))
        else:
            self.cursor_row += delta

    def action_open(self) -> None:
        if self.rows:
            self.post_message(self.Selected(self, self.rows[self.cursor_row].username))

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:  # the header stays on the top line
            self._header_clicked(event.x)
            return
        row = event.y + self.scroll_offset.y - 1
        if 0 <= row < len(self.rows):
            if row == self.cursor_row:
                self.action_open()
            self.cursor_row = row

    def _header_clicked(self, x: int) -> None:
        start = 1  # a line is a leading space, then each cell followed by a space
        for column, width in self.columns():
            if start <= x < start + width + 1:
                self.post_message(self.SortClicked(self, COLUMNS[column].label))
                return
            start += width + 1

    def _header_label(self, label: str) -> str:
        if self._sorted_by is None or self._sorted_by[0] != label:
            return label
        return f"{label} {'▼' if self._sorted_by[1] else '▲'}"

    def columns(self) -> list[tuple[int, int]]:
        """(column index, width) of the columns shown at the current width."""
        width = self.size.width
        if width != self._layout_width:
            labels = [self._header_label(column.label) for column in COLUMNS]
            longest = tuple(
                max([len(label)] + [len(values[i]) for values in self._cells])
                for i, label in enumerate(labels)
            )
            self._layout_width, self._layout = width, column_widths(width, longest)
            self._header = " " + "".join(
                fit(self._header_label(COLUMNS[i].label), w) + " " for i, w in self._layout
            )
        return self._layout

    def width_of(self, label: str) -> int | None:
        """The width of the column ``label`` at the current width; None when not shown."""
        return next((w for i, w in self.columns() if COLUMNS[i].label == label), None)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        layout = self.columns()
        base = self.rich_style
        if y == 0:
            style = base + self.get_component_rich_style("user-table--header")
            return self._clip([Segment(self._header, style)], width, style)
        index = y - 1 + self.scroll_offset.y
        if index >= len(self.rows):
            return Strip.blank(width, base)
        values = self._cells[index]
        style = base + (
            self.get_component_rich_style("user-table--cursor")
            if index == self.cursor_row
            else Style()
        )
        if self.rows[index].few_codes_left:
            few = style + self.get_component_rich_style("user-table--few-codes")
            segments = [Segment(" ", style)]
            for column, column_width in layout:
                segments.append(
                    Segment(
                        fit(values[column], column_width) + " ", few if column == CODES else style
                    )
                )
        else:  # one segment for the line
            segments = [
                Segment(
                    " "
                    + "".join(
                        fit(values[column], column_width) + " " for column, column_width in layout
                    ),
                    style,
                )
            ]
        return self._clip(segments, width, style)

    def _clip(self, segments: list[Segment], width: int, style: Style) -> Strip:
        return Strip(segments).crop(0, width).extend_cell_length(width, style)
