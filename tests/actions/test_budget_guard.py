"""The budget re-check of kill-switch plans, on a real lake: still over (actual or forecast)
passes; under, no longer configured, or no way to re-read it is drift."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from tests.lake.focus_rows import write_csv
from tests.outlook.test_budgets import FIRST, LAST, _row

from spendpilot.actions.base import ActionContext
from spendpilot.actions.budget_guard import BudgetGuard, budget_differences, budget_preconditions
from spendpilot.adapters.base import Targets
from spendpilot.config import Settings
from spendpilot.lake.ingest import ingest_file
from spendpilot.outlook.budgets import KillSwitchBudgets


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Team ml spends $100 a day, 1 Sep - 20 Nov 2026 (as tests/outlook/test_budgets.py)."""
    root = tmp_path_factory.mktemp("guard")
    rows, day = [], FIRST
    while day <= LAST:
        rows.append(_row(len(rows), day, "ml", "100"))
        day += timedelta(days=1)
    ingest_file(write_csv(root / "focus.csv", rows), Settings(home=root).lake_dir)
    return root


def _ctx(home: Path, amount: str | None) -> ActionContext:
    budgets = [] if amount is None else [{"name": "ml", "amount": amount, "scope": {"team": "ml"}, "kill_switch": True}]
    return ActionContext(targets=Targets([]), budgets=KillSwitchBudgets(Settings(home=home, budgets=budgets)))


PLAN = budget_preconditions(BudgetGuard(budget="ml", on_forecast=True, as_of=date(2026, 11, 20), burn=0.8))


def test_still_over_passes(home: Path) -> None:
    assert budget_differences(_ctx(home, "1500"), PLAN) == {}  # $2,000 month to date: crossed
    assert budget_differences(_ctx(home, "2500"), PLAN) == {}  # forecast crosses 100 % on the 25th


def test_forecast_only_is_drift_when_the_plan_wanted_an_actual_crossing(home: Path) -> None:
    actual_only = budget_preconditions(BudgetGuard(budget="ml", on_forecast=False, burn=0.8))
    [(assumed, now)] = budget_differences(_ctx(home, "2500"), actual_only).values()
    assert now.startswith("under: $2,000.00 of $2,500.00 (80%) as of 2026-11-20")


def test_raised_removed_or_unreadable_is_drift(home: Path) -> None:
    [(_, raised)] = budget_differences(_ctx(home, "100000"), PLAN).values()
    assert raised.startswith("under: ") and "forecast" in raised
    [(_, gone)] = budget_differences(_ctx(home, None), PLAN).values()
    assert gone == "no longer a kill-switch budget with spend data"
    [(_, blind)] = budget_differences(ActionContext(targets=Targets([])), PLAN).values()
    assert blind.startswith("not re-checked")
    assert budget_differences(ActionContext(targets=Targets([])), {}) == {}  # not a kill-switch plan
