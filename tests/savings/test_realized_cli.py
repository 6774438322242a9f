"""``spendpilot savings`` and ``spendpilot show`` on a real home: an executed proposal (real state
store, audit-dated execution) and a lake holding the bill up to today."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from tests.conftest import run_cli
from tests.savings.test_realized import instance_bill, write_lake
from tests.state.builders import build_home

from spendpilot.domain import ProposalStatus


def test_savings_says_measuring_with_the_ready_date_then_json(tmp_path: Path) -> None:
    home = build_home(tmp_path / "home")
    executed = home.proposals["executed"]
    day = home.store.audit_events(proposal_id=executed.id)[-1].at.date()
    (tmp_path / "bills").mkdir()
    lake = write_lake(tmp_path / "bills", instance_bill(day, after_hourly=Decimal(0), after_days=0))
    lake.rename(home.path / "lake")
    env = home.env()

    table = run_cli("savings", env=env, check=True)
    ready = day + timedelta(days=8)  # the after window is the 7 days after the execution day
    assert executed.id in table.stdout
    assert f"measuring, ready on {ready}" in table.stdout
    assert "$1,200.00 ($960.00–$1,320.00)" in table.stdout

    doc = json.loads(run_cli("savings", "--json", env=env, check=True).stdout)
    assert [r["proposal_id"] for r in doc] == [executed.id]
    assert doc[0]["status"] == "measuring" and doc[0]["realized_monthly"] is None
    assert doc[0]["ready_on"] == ready.isoformat()
    assert doc[0]["estimated_monthly"] == {"low": "960.000", "expected": "1200.00", "high": "1320.000"}

    shorter = json.loads(run_cli("savings", "--json", "--window-days", "3", env=env, check=True).stdout)
    assert shorter[0]["ready_on"] == (day + timedelta(days=4)).isoformat()

    shown = run_cli("show", executed.id, env=env, check=True).stdout
    assert f"Realized: measuring, ready on {ready}" in shown


def test_savings_without_executions_says_so(tmp_path: Path) -> None:
    home = build_home(tmp_path / "home")
    home.store.set_status(home.proposals["executed"].id, ProposalStatus.ROLLED_BACK, actor="test", note="undone")
    out = run_cli("savings", env=home.env(), check=True).stdout
    assert "rolled back" in out
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "No executed proposals yet" in run_cli("savings", env={"SPENDPILOT_HOME": str(empty)}, check=True).stdout
