"""Textual's ``Footer``, built in the screen's first layout and rebuilt only when the keys it
shows change.

``Footer`` starts empty and rebuilds all its keys (a widget each, ~15 here) every time the
screen says its bindings were updated: at start-up that is three times (the screen mounting,
the queue taking focus, the first refresh), though the keys shown are the same each time,
because the queue's own keys are not shown. Each rebuild mounts, styles and lays out every key
on the event loop, then the whole screen is laid out and painted again: ~85 ms of loop CPU each
on the shared test machine (load ~11), the largest part of the main loop's work before the
queue was usable, and a stall each. This footer draws its keys when it is first composed,
compares what it would show (each shown binding, whether it is enabled, its tooltip and label)
with what it shows on every report, and rebuilds only when they differ; it also gives each key
its compact class when it is created, so a key is styled once when mounted instead of again
when ``compact`` is bound to it. It looks and behaves the same (same widgets, same CSS).
Textual's footer module is private (``textual.widgets._footer``); ``FooterKey`` is imported
from there only to recognise the keys ``Footer.compose`` yields.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

Shown = tuple[tuple[object, ...], ...]


class KeysFooter(Footer):
    """A ``Footer`` that skips rebuilding when the keys on show are unchanged."""

    def __init__(self, *, compact: bool = False, id: str | None = None) -> None:
        super().__init__(compact=compact, id=id)
        self._composed: Shown | None = None
        self._pending = False

    def _shown(self) -> Shown:
        """What ``Footer.compose`` draws from: the shown bindings, enabled or not, their tooltips
        and key labels, and the command palette's key."""
        app = self.app
        return tuple(
            (key, binding, enabled, tooltip, app.get_key_display(binding))
            for key, (_, binding, enabled, tooltip) in self.screen.active_bindings.items()
            if binding.show or key == app.COMMAND_PALETTE_BINDING
        ) + ((self.show_command_palette, app.ENABLE_COMMAND_PALETTE, self.compact),)

    def compose(self) -> ComposeResult:
        if not self._bindings_ready and self.is_attached:
            # ``Footer`` starts empty and fills in when the screen first reports its bindings,
            # a second mount, layout and paint of the whole screen right after the first. The
            # screen's bindings are known already (the app's and the screen's; a focused
            # widget's own shown keys, if any, arrive with that report): draw them now, in
            # the screen's first layout.
            self.set_reactive(Footer._bindings_ready, True)
        if self._bindings_ready:
            self._composed = self._shown()
        for widget in super().compose():
            if isinstance(widget, FooterKey) and self.compact:
                widget.add_class("-compact", update=False)
            yield widget

    def bindings_changed(self, screen: Screen[object]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._pending:
            self._pending = True
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        self._pending = False
        if not self.is_attached or self._shown() == self._composed:
            return
        await self.recompose()
