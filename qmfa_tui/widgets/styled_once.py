"""Screens that Textual does not restyle whole as they are first shown.

Textual answers every ScreenResume by restyling the screen and each of its widgets,
the first one too. A screen being pushed has its widgets styled as they mount, a
moment before that first ScreenResume reaches it, so the pass redid all of them
before the first drawing (a fifth of the work of opening User Edit). Only the screen
itself needs it: Textual styles the screen before it reads the screen's own
stylesheet (CSS_PATH) the first time one is pushed. Later resumes (back from a
screen pushed over this one, when the theme may have changed) restyle as before.
"""

from __future__ import annotations

from textual import events
from textual.screen import Screen


class StyledOnMount:
    """Mixed in before Screen. Not for a ModalScreen: it takes in the drawing of the
    screen under it at that first restyle, and without it a modal is drawn alone."""

    _shown_before = False

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        # Textual calls the handler of each class down the MRO: this one before Screen's.
        if not self._shown_before and isinstance(self, Screen):
            self._shown_before = True
            event.refresh_styles = False
            self.app.stylesheet.apply(self, animate=False)

    def preset_breakpoints(self) -> None:
        """Give the screen its breakpoint classes (HORIZONTAL_/VERTICAL_BREAKPOINTS) before
        its children are styled: Textual sets them on the first Resize, and adding a class
        then restyled the screen and every widget on it once more. Later resizes are
        Textual's as before; call at the top of ``compose``."""
        if not isinstance(self, Screen):
            return
        width, height = self.app.size
        for breakpoints, dimension in (
            (self.HORIZONTAL_BREAKPOINTS, width),
            (self.VERTICAL_BREAKPOINTS, height),
        ):
            for least, name in sorted(breakpoints or [], reverse=True):
                if dimension >= least:
                    self.add_class(name, update=False)  # styled as it mounts
                    break
