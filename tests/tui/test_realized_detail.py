"""The detail pane of an executed proposal shows what the bill says it saved, beside the
estimate: the real app on ``LocalServices`` over a real state store and a real FOCUS lake, with
the clock (the services' seam for "now") set after the after window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from tests.savings.test_realized import instance_bill, write_lake
from tests.state.builders import build_home

from spendpilot.clock import FixedClock
from spendpilot.config import Settings
from spendpilot.runtime import LocalServices
from spendpilot.tui.widgets import ProposalDetail, ProposalQueue

from .conftest import APP_SIZE, RecordingApp, settle

pytestmark = pytest.mark.asyncio


def _services(tmp_path: Path, *, after_days: int, days_later: int) -> tuple[LocalServices, str, datetime]:
    home = build_home(tmp_path / "home")
    executed = home.proposals["executed"]
    day = home.store.audit_events(proposal_id=executed.id)[-1].at.date()
    (tmp_path / "bills").mkdir()
    write_lake(tmp_path / "bills", instance_bill(day, after_hourly=Decimal(0), after_days=after_days)).rename(
        home.path / "lake")
    midnight = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    clock = FixedClock(midnight + timedelta(days=days_later))
    return LocalServices(Settings(home=home.path), clock=clock), executed.id, midnight


async def _detail_of(services: LocalServices, proposal_id: str) -> str:
    app = RecordingApp(services, approver="alice")
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        queue = app.query_one(ProposalQueue)
        queue.move_cursor(row=queue.proposal_ids.index(proposal_id), animate=False)
        await settle(pilot)
        return app.query_one(ProposalDetail).plain


async def test_executed_proposal_shows_realized_beside_estimate(tmp_path: Path) -> None:
    services, proposal_id, day = _services(tmp_path, after_days=8, days_later=9)
    text = await _detail_of(services, proposal_id)
    before = f"{(day - timedelta(days=7)).date()}–{(day - timedelta(days=1)).date()}"
    after = f"{(day + timedelta(days=1)).date()}–{(day + timedelta(days=7)).date()}"
    assert "Realized saving (from the bill)" in text
    assert f"realized $734.38/month vs estimated $1,200.00 (measured {before} vs {after})" in text
    # read together: the estimate comes first, then the bill's answer
    assert text.index("Estimated saving per month") < text.index("Realized saving")


async def test_executed_proposal_without_a_full_after_window_says_measuring(tmp_path: Path) -> None:
    services, proposal_id, day = _services(tmp_path, after_days=2, days_later=3)
    text = await _detail_of(services, proposal_id)
    assert f"measuring, ready on {(day + timedelta(days=8)).date()} (estimated $1,200.00/month)" in text
    pending = await _detail_of(services, "sp-pend0001")
    assert "Realized saving" not in pending
