"""Budgets on a hand-built lake whose answer is known: month-to-date, the day a threshold was
crossed, the forecast day of the next one; the CLI; and budgets read from AWS Budgets (moto)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
from tests.conftest import run_cli
from tests.lake.focus_rows import write_csv

from spendpilot.config import Settings
from spendpilot.lake.ingest import ingest_file
from spendpilot.outlook.budgets import Crossing, evaluate_budget, evaluate_budgets
from spendpilot.outlook.settings import BudgetSettings

FIRST, LAST = date(2026, 9, 1), date(2026, 11, 20)


def _row(i: int, day: date, team: str, cost: str, currency: str = "USD") -> dict[str, str]:
    month = day.replace(day=1)
    following = (month + timedelta(days=32)).replace(day=1)
    return {
        "BilledCost": cost, "BillingAccountId": "acct-1", "BillingCurrency": currency,
        "BillingPeriodStart": f"{month} 00:00:00", "BillingPeriodEnd": f"{following} 00:00:00",
        "ChargeCategory": "Usage", "ChargePeriodStart": f"{day} 00:00:00",
        "ChargePeriodEnd": f"{day + timedelta(days=1)} 00:00:00", "EffectiveCost": cost, "ListCost": cost,
        "ProviderName": "AWS", "ServiceName": "Amazon EC2", "ResourceId": f"i-{i:05d}",
        "CommitmentDiscountId": "", "Tags": json.dumps({"team": team}),
    }


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Team ml spends $100 a day (and €30 a day), team web $50 a day, 1 Sep - 20 Nov 2026."""
    root = tmp_path_factory.mktemp("budget-lake")
    rows = []
    day = FIRST
    while day <= LAST:
        rows += [_row(len(rows), day, "ml", "100"), _row(len(rows) + 1, day, "web", "50"),
                 _row(len(rows) + 2, day, "ml", "30", "EUR")]
        day += timedelta(days=1)
    ingest_file(write_csv(root / "focus.csv", rows), root / "lake")
    return root / "lake"


def test_crossed_80_percent_on_the_day_and_100_percent_forecast_five_days_later(lake: Path) -> None:
    status = evaluate_budget(lake, BudgetSettings(name="ml", amount=Decimal("2500"), scope={"team": "ml"}))
    assert (status.as_of, status.period_start, status.period_end) == (LAST, date(2026, 11, 1), date(2026, 11, 30))
    assert status.actual == Decimal("2000.00")
    assert status.burn == Decimal("0.8")
    assert [(t.threshold, t.state, t.on) for t in status.thresholds] == [
        (0.8, Crossing.CROSSED, date(2026, 11, 20)), (1.0, Crossing.FORECAST, date(2026, 11, 25))]
    assert status.projected == Decimal("3000.00")
    assert any("EUR" in n for n in status.notes), "the euro spend is named, not added"


def test_scope_and_currency_select_the_spend(lake: Path) -> None:
    web = evaluate_budget(lake, BudgetSettings(name="web", amount=Decimal("5000"), scope={"team": ["web"]}))
    assert web.actual == Decimal("1000.00")
    assert [t.state for t in web.thresholds] == [Crossing.NOT_EXPECTED, Crossing.NOT_EXPECTED]
    euros = evaluate_budget(lake, BudgetSettings(name="ml-eur", amount=Decimal("600"), currency="EUR",
                                                 scope={"team": "ml"}))
    assert euros.actual == Decimal("600.00") and euros.thresholds[-1].state is Crossing.CROSSED
    assert euros.thresholds[-1].on == date(2026, 11, 20)
    everything = evaluate_budget(lake, BudgetSettings(name="all", amount=Decimal("10000")))
    assert everything.actual == Decimal("3000.00")


def test_as_of_an_earlier_day(lake: Path) -> None:
    status = evaluate_budget(lake, BudgetSettings(name="ml", amount=Decimal("2500"), scope={"team": "ml"}),
                             as_of=date(2026, 11, 10))
    assert status.actual == Decimal("1000.00")
    assert [t.on for t in status.thresholds] == [date(2026, 11, 20), date(2026, 11, 25)]
    assert all(t.state is Crossing.FORECAST for t in status.thresholds)


def test_the_budgets_command_prints_and_exports(lake: Path, tmp_path: Path) -> None:
    config = tmp_path / "spendpilot.toml"
    config.write_text('[[budgets]]\nname = "ml"\namount = 2500\nscope = { team = "ml" }\n')
    home = lake.parent
    proc = run_cli("budgets", "--json", "--config", str(config), "--home", str(home), check=True)
    [budget] = json.loads(proc.stdout)["budgets"]
    assert budget["actual"] == "2000.00" and budget["projected"] == "3000.00"
    assert budget["thresholds"][1] == {"threshold": 1.0, "amount": "2500.00", "state": "forecast", "on": "2026-11-25"}
    table = run_cli("budgets", "--config", str(config), "--home", str(home), check=True).stdout
    assert "80% crossed 2026-11-20" in table and "100% forecast 2026-11-25" in table


def test_a_bad_budget_is_a_one_line_config_error(tmp_path: Path) -> None:
    config = tmp_path / "spendpilot.toml"
    config.write_text('[[budgets]]\nname = "ml"\namount = 2500\nperiod = "weekly"\n')
    proc = run_cli("budgets", "--config", str(config), "--home", str(tmp_path / "home"))
    assert proc.returncode == 2
    assert "weekly" in proc.stderr and "Traceback" not in proc.stderr


def test_budgets_are_read_from_aws_budgets(lake: Path, aws_endpoint: str) -> None:
    client = boto3.client("budgets", endpoint_url=aws_endpoint, region_name="us-east-1")
    account = boto3.client("sts", endpoint_url=aws_endpoint, region_name="us-east-1").get_caller_identity()["Account"]
    client.create_budget(AccountId=account, Budget={
        "BudgetName": "ml-monthly", "BudgetLimit": {"Amount": "2500", "Unit": "USD"}, "TimeUnit": "MONTHLY",
        "BudgetType": "COST", "CostFilters": {"TagKeyValue": ["user:team$ml"]}})
    client.create_budget(AccountId=account, Budget={
        "BudgetName": "yearly", "BudgetLimit": {"Amount": "90000", "Unit": "USD"}, "TimeUnit": "ANNUALLY",
        "BudgetType": "COST"})
    settings = Settings(home=lake.parent, aws={"endpoint_url": aws_endpoint}, aws_budgets={"enabled": True})
    statuses, notes = evaluate_budgets(settings)
    [status] = statuses
    assert (status.name, status.origin, status.scope) == ("aws:ml-monthly", "AWS Budgets", {"tag:team": "ml"})
    assert status.actual == Decimal("2000.00") and status.thresholds[0].state is Crossing.CROSSED
    assert status.aws_actual is not None
    assert any("yearly" in n and "ANNUALLY" in n for n in notes)


def test_an_unreachable_aws_budgets_is_a_note_and_the_file_budgets_still_count(lake: Path) -> None:
    settings = Settings(home=lake.parent, aws={"endpoint_url": "http://127.0.0.1:9"},
                        aws_budgets={"enabled": True, "account_id": "123456789012"},
                        budgets=[{"name": "ml", "amount": "2500", "scope": {"team": "ml"}}])
    statuses, notes = evaluate_budgets(settings)
    assert [s.name for s in statuses] == ["ml"]
    assert len(notes) == 1 and notes[0].startswith("AWS Budgets not read:")


def test_the_forecast_command_on_the_same_lake(lake: Path) -> None:
    proc = run_cli("forecast", "--by", "team", "--days", "10", "--json", "--home", str(lake.parent), check=True)
    result = json.loads(proc.stdout)
    assert (result["kind"], result["history_end"], result["horizon_days"]) == ("spend", "2026-11-20", 10)
    totals = {(s["keys"]["team"], s["unit"]): sum(Decimal(p["expected"]) for p in s["points"]) for s in result["series"]}
    assert totals == {("ml", "USD"): Decimal("1000.00"), ("web", "USD"): Decimal("500.00"),
                      ("ml", "EUR"): Decimal("300.00")}
    first = result["series"][0]["points"][0]
    assert first["day"] == "2026-11-21" and Decimal(first["low"]) <= Decimal(first["expected"]) <= Decimal(first["high"])
    table = run_cli("forecast", "--by", "team", "--home", str(lake.parent), check=True).stdout
    assert "weekday profile x linear trend" in table


def test_forecast_on_an_empty_lake_exits_4(tmp_path: Path) -> None:
    proc = run_cli("forecast", "--home", str(tmp_path / "home"))
    assert proc.returncode == 4 and "ingest" in proc.stderr
