"""The line at the bottom of every screen: its keys, and the command palette's on the
right, drawn as Textual's Footer draws them, as one widget.

Textual's Footer builds a widget per key, each styled twice as it mounts, and builds
them again whenever the screen's keys change (focus moving, a screen closing over
it), ~16 ms each time. Each key is bound to the Footer's `compact` setting, and
that binding stays on the Footer after the key is gone: a screen that stays open
kept every key it ever showed, ten more each time one came back to the main menu,
with the lines they drew. This bar draws the keys as one line when they change.
A click on a key presses it, as on the Footer.
"""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from textual import events
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.style import Style
from textual.widget import Widget

PALETTE_EDGE = "▏"  # the Footer's border before the palette's key


class KeyBar(Widget):
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        width: 1fr;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        & > .key-bar--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .key-bar--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .key-bar--edge { color: $foreground 20%; }  /* blended in render */
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "key-bar--key",
        "key-bar--description",
        "key-bar--edge",
    }

    def __init__(self) -> None:
        super().__init__()
        self._spans: list[tuple[int, int, str, bool]] = []  # start, end, key, enabled

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        self.refresh()

    def shown_keys(self) -> list[tuple[Binding, bool]]:
        """The keys shown, left to right (the palette's last): each binding and whether
        it is enabled. One key per action, as the Footer shows them."""
        shown: dict[str, tuple[Binding, bool]] = {}
        for _, binding, enabled, _ in self.screen.active_bindings.values():
            if binding.show and binding.action not in shown:
                shown[binding.action] = (binding, enabled)
        keys = list(shown.values())
        palette = self._palette_key()
        return [*keys, palette] if palette is not None else keys

    def _palette_key(self) -> tuple[Binding, bool] | None:
        app = self.app
        if not app.ENABLE_COMMAND_PALETTE:
            return None
        active = self.screen.active_bindings.get(app.COMMAND_PALETTE_BINDING)
        return None if active is None else (active.binding, active.enabled)

    def render(self) -> Content:
        app = self.app
        key_style = self.get_visual_style("key-bar--key")
        description_style = self.get_visual_style("key-bar--description")
        dim = Style(dim=True)  # a disabled key, as the Footer's `-disabled` keys
        keys = self.shown_keys()
        palette = self._palette_key()
        if palette is not None:
            keys = keys[:-1]
        spans: list[tuple[int, int, str, bool]] = []
        parts: list[tuple[str, Style]] = []
        x = 0

        def add(binding: Binding, enabled: bool, text_start: str) -> None:
            nonlocal x
            key = app.get_key_display(binding)
            base = Style() if enabled else dim
            width = cell_len(text_start) + cell_len(key) + 1 + cell_len(binding.description) + 1
            parts.extend(
                [
                    (text_start, base),
                    (key, key_style + base),
                    (" ", base),
                    (binding.description, description_style + base),
                    (" ", base),
                ]
            )
            spans.append((x, x + width, binding.key, enabled))
            x += width

        for binding, enabled in keys:
            add(binding, enabled, " ")
        left = Content.assemble(*parts)
        if palette is None:
            self._spans = spans
            return left
        # On the right, after a thin edge: the palette's key, over what does not fit.
        binding, enabled = palette
        width = 1 + cell_len(app.get_key_display(binding)) + 1 + cell_len(binding.description) + 1
        room = max(self.size.width - width, 0)
        parts, x = [], room + 1
        add(binding, enabled, "")
        # Component styles take no translucent colour: blend the edge's over the bar.
        edge = self.background_colors[1] + self.get_component_styles("key-bar--edge").color
        right = Content.assemble((PALETTE_EDGE, Style(foreground=edge)), *parts)
        self._spans = [span for span in spans[:-1] if span[1] <= room] + spans[-1:]
        return Content.assemble(left.truncate(room, pad=True), right)

    def on_click(self, event: events.Click) -> None:
        for start, end, key, enabled in self._spans:
            if start <= event.x < end:
                event.stop()
                if enabled:
                    self.app.simulate_key(key)
                else:
                    self.app.bell()
                return
