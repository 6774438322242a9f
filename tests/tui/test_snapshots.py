"""Pin the look of every screen: main, dialogs, filtered queue, dashboard, audit, zoomed chat.

Regenerate after an intended change with ``pytest tests/tui --snapshot-update`` and review
the SVGs in ``tests/tui/__snapshots__``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from spendpilot.state.audit_chain import ChainReport
from spendpilot.tui import SpendpilotApp

from .conftest import APP_SIZE, settle
from .fakes import FakeServices, audit_events, dashboard_budgets, make_proposal


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


def test_queue_searched_with_done_hidden(snap_compare: Any, services: FakeServices) -> None:
    async def search(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("h", "f", *"gpu", "enter")
        await settle(pilot)

    assert snap_compare(SpendpilotApp(services, approver="alice"), terminal_size=APP_SIZE, run_before=search)


def test_dashboard_screen(snap_compare: Any, spend_lake: Path) -> None:
    services = FakeServices([make_proposal("p-big", "2400")], lake_dir=spend_lake)
    services.budget_settings = dashboard_budgets()

    async def open_dashboard(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)

    assert snap_compare(SpendpilotApp(services, approver="alice"), terminal_size=APP_SIZE, run_before=open_dashboard)


def test_audit_screen(snap_compare: Any, services: FakeServices) -> None:
    services.audit = audit_events()
    services.chain = ChainReport(intact=True, events=3, anchor="head anchor matches event 3", anchored=True)

    async def open_audit(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("L")
        await settle(pilot)

    assert snap_compare(SpendpilotApp(services, approver="alice"), terminal_size=APP_SIZE, run_before=open_audit)


def test_chat_zoomed(snap_compare: Any, services: FakeServices) -> None:
    async def zoom(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("z")
        await pilot.pause()

    assert snap_compare(SpendpilotApp(services, approver="alice"), terminal_size=APP_SIZE, run_before=zoom)
