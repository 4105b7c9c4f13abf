"""The running app, typed: screens and widgets reach QmfaApp's own methods through
``qmfa_app(self)`` instead of ``self.app`` (typed as a plain App).

The app module sits above the screens (it imports them), so it is named here for the
type checker only; at run time ``cast`` returns ``node.app`` as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.command import Provider
from textual.dom import DOMNode

if TYPE_CHECKING:
    from qmfa_tui.app import QmfaApp


def qmfa_app(node: DOMNode | Provider) -> QmfaApp:
    """The QmfaApp ``node`` (a widget, a screen, a command provider) is running in."""
    return cast("QmfaApp", node.app)
