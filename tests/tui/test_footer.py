"""``KeysFooter`` rebuilds its keys only when the keys on show change, and then does."""

from __future__ import annotations

from typing import ClassVar

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from spendpilot.tui.widgets.footer import KeysFooter

pytestmark = pytest.mark.asyncio


class Keys(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "approve", "Approve"),
        Binding("x", "export", "Export"),
        Binding("j", "down", "Down", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.exporting = True

    def compose(self) -> ComposeResult:
        yield Static("body", id="body")
        yield KeysFooter(compact=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.exporting if action == "export" else True

    def action_approve(self) -> None: ...
    def action_export(self) -> None: ...
    def action_down(self) -> None: ...


def _keys(app: App[None]) -> list[FooterKey]:
    return list(app.query(FooterKey))


async def test_the_footer_keeps_its_keys_until_the_shown_keys_change() -> None:
    app = Keys()
    async with app.run_test(size=(80, 10)) as pilot:
        await pilot.pause()
        keys = _keys(app)
        assert [k.description for k in keys if k.description] == ["Approve", "Export", "palette"]
        assert all(k.has_class("-compact") for k in keys)

        app.refresh_bindings()  # nothing shown changed: the same key widgets stay
        await pilot.pause()
        await pilot.pause()
        assert _keys(app) == keys

        app.exporting = False  # a shown key goes away: rebuilt without it
        app.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        assert [k.description for k in _keys(app) if k.description] == ["Approve", "palette"]
