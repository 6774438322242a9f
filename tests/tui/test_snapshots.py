"""Pin the look of the main screen and the approval dialog (pytest-textual-snapshot).

Regenerate after an intended change with ``pytest tests/tui --snapshot-update`` and review
the SVGs in ``tests/tui/__snapshots__``.
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from spendpilot.tui import SpendpilotApp

from .conftest import APP_SIZE, settle
from .fakes import FakeServices


def test_main_screen(snap_compare: Any, services: FakeServices) -> None:
    assert snap_compare(
        SpendpilotApp(services, approver="alice"), terminal_size=APP_SIZE, run_before=settle
    )


def test_approve_dialog(snap_compare: Any, services: FakeServices) -> None:
    async def open_dialog(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("a")
        await pilot.pause()

    assert snap_compare(
        SpendpilotApp(services, approver="alice"), terminal_size=APP_SIZE, run_before=open_dialog
    )


def test_reject_dialog_refusing_an_empty_reason(snap_compare: Any, services: FakeServices) -> None:
    async def submit_empty(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("r", "enter")
        await pilot.pause()

    assert snap_compare(
        SpendpilotApp(services, approver="alice"), terminal_size=APP_SIZE, run_before=submit_empty
    )
