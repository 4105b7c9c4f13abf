"""Tab names over a rule, the active one marked; with a ContentSwitcher it makes tabs.

Textual's TabbedContent builds eleven widgets and an animated underline for two
tabs, a good part of a screen's first paint (docs/performance.md). This is one
widget: click a name, or
focus the strip and press Left/Right.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len
from textual import events
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.style import Style
from textual.widget import Widget


class TabStrip(Widget, can_focus=True):
    DEFAULT_CSS = """
    TabStrip {
        width: 1fr;
        height: 2;
        color: $text-muted;  /* the inactive names: component colours may not be translucent */
        & > .tab-strip--active { color: $foreground; text-style: bold; }
        & > .tab-strip--rule { color: $foreground-darken-3; }
        & > .tab-strip--rule-active { color: $accent; }
        &:focus > .tab-strip--active {
            color: $block-cursor-foreground;
            background: $block-cursor-background;
            text-style: $block-cursor-text-style;
        }
        &:focus > .tab-strip--rule-active { color: $block-cursor-background; }
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "tab-strip--active",
        "tab-strip--rule",
        "tab-strip--rule-active",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "step(-1)", "Previous tab", show=False),
        Binding("right", "step(1)", "Next tab", show=False),
    ]

    active: reactive[str] = reactive("")

    class Changed(Message):
        """Another tab became the active one."""

        def __init__(self, strip: TabStrip, tab_id: str) -> None:
            super().__init__()
            self.strip = strip
            self.tab_id = tab_id

        @property
        def control(self) -> TabStrip:
            return self.strip

    def __init__(
        self, tabs: Sequence[tuple[str, str]], *, active: str, id: str | None = None
    ) -> None:
        """`tabs` are (id, label) pairs, in the order shown."""
        super().__init__(id=id)
        self.tabs = list(tabs)
        self.set_reactive(TabStrip.active, active)

    def render(self) -> Content:
        """The names on one line; under them a rule, drawn heavy under the active one."""
        active = self.get_visual_style("tab-strip--active")
        rule, rule_active = (
            self.get_visual_style("tab-strip--rule"),
            self.get_visual_style("tab-strip--rule-active"),
        )
        names: list[tuple[str, Style]] = []
        underline: list[tuple[str, Style]] = []
        for tab_id, label in self.tabs:
            width = cell_len(label) + 2
            chosen = tab_id == self.active
            names.append((f" {label} ", active if chosen else Style()))
            underline.append(("━" * width, rule_active) if chosen else ("─" * width, rule))
        rest = self.size.width - sum(len(text) for text, _ in underline)
        return Content.assemble(*names, "\n", *underline, ("─" * max(rest, 0), rule))

    def on_click(self, event: events.Click) -> None:
        right = 0
        for tab_id, label in self.tabs:
            right += cell_len(label) + 2
            if event.x < right:
                self.active = tab_id
                return

    def watch_active(self, tab_id: str) -> None:
        self.post_message(self.Changed(self, tab_id))

    def action_step(self, step: int) -> None:
        ids = [tab_id for tab_id, _ in self.tabs]
        self.active = ids[(ids.index(self.active) + step) % len(ids)]
