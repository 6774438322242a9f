"""The outlook counts an allocated Kubernetes node once, in the way its question asks.

Eight weeks of a steady bill: two EKS nodes ($30 and $20 a day, untagged) and a bucket ($5).
For the last seven days ``allocate --write`` (the real writer) split the nodes' $50 a day, to
the cent, into team ml ($27.50), team web ($12.50) and idle capacity ($10). That is what the
demo does, and what made the daily billing anomalies report "new service Kubernetes" with an
infinite ratio: the allocation rows re-label node cost, they are not new spend.

* Billing anomalies read the bill as billed: no Kubernetes anomaly, no EC2 dip; a genuinely new
  service is still flagged.
* Budgets and forecasts follow ``lake.spend.outlook_counting``: scoped by a tag, the team's
  allocated share; by a bill dimension (service), the bill, which does not drop on the day
  allocation starts; the whole bill, the explorer's total (here equal to the bill's).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from tests.allocation.lakes import alloc_line
from tests.lake.focus_rows import write_csv
from tests.outlook.test_budgets import _row

from spendpilot.allocation.focus_rows import write_allocation
from spendpilot.allocation.kubernetes import IDLE, Allocation
from spendpilot.lake import ingest_file
from spendpilot.lake.spend import (
    Counting,
    Granularity,
    SpendFilter,
    build_query,
    outlook_counting,
    run_spend_query,
)
from spendpilot.outlook.anomalies import daily_billing_anomalies
from spendpilot.outlook.budgets import evaluate_budget
from spendpilot.outlook.forecast import daily_spend_series
from spendpilot.outlook.settings import AnomalySettings, BudgetSettings

LAST = date(2026, 10, 30)
FIRST = LAST - timedelta(days=55)
ALLOCATED = [LAST - timedelta(days=i) for i in range(6, -1, -1)]
NODES = {"i-0node1": "30.00", "i-0node2": "20.00"}
SHARES = [("ml", "trainer", "27.50", {"team": "ml"}), ("web", "frontend", "12.50", {"team": "web"}),
          (IDLE, IDLE, "10.00", {})]


def _bill(new_service_days: int = 0, nodes_billed: bool = True) -> list[dict[str, str]]:
    rows = []
    day = FIRST
    while day <= LAST:
        for node, cost in NODES.items() if nodes_billed else ():
            rows.append(_row(0, day, "", cost) | {"ResourceId": node, "Tags": ""})
        rows.append(_row(0, day, "", "5.00") | {"ResourceId": "bucket-1", "ServiceName": "Amazon S3", "Tags": ""})
        if (LAST - day).days < new_service_days:
            rows.append(_row(0, day, "ml", "80.00") | {"ResourceId": "agent-1", "ServiceName": "Amazon Bedrock"})
        day += timedelta(days=1)
    return rows


def _write(root: Path, *, new_service_days: int = 0, nodes_billed: bool = True) -> Path:
    lake = root / "lake"
    ingest_file(write_csv(root / "focus.csv", _bill(new_service_days, nodes_billed)), lake)
    write_allocation(Allocation(
        cluster="prod-eks", start=datetime.combine(ALLOCATED[0], datetime.min.time(), tzinfo=UTC),
        end=datetime.combine(LAST + timedelta(days=1), datetime.min.time(), tzinfo=UTC),
        lines=[alloc_line(day, ns, name, cost, labels) for day in ALLOCATED for ns, name, cost, labels in SHARES],
        node_costs={"USD": Decimal("50.00") * len(ALLOCATED)}, node_instances=list(NODES),
    ), lake)
    return lake


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(tmp_path_factory.mktemp("outlook-once"))


def test_the_explorer_shows_kubernetes_as_a_service_with_no_history(lake: Path) -> None:
    """The trap is planted: in the allocated view the node cost moves to a service that did not
    exist before the allocation's first day."""
    result = run_spend_query(lake, build_query(group_by=["service"], last_days=56, granularity=Granularity.DAY))
    kubernetes = {r.bucket: r.amount for r in result.rows if r.keys["service"] == "Kubernetes"}
    assert kubernetes == {day: Decimal("50.00") for day in ALLOCATED}


def test_allocation_rows_are_no_billing_anomaly(lake: Path) -> None:
    report = daily_billing_anomalies(lake, AnomalySettings())
    assert report.anomalies == []
    checked = " | ".join(report.checked)
    assert "service Amazon EC2" in checked and "service Kubernetes" not in checked


def test_a_genuinely_new_service_is_still_an_anomaly(tmp_path: Path) -> None:
    lake = _write(tmp_path, new_service_days=3)
    report = daily_billing_anomalies(lake, AnomalySettings())
    assert [(a.value, a.ratio) for a in report.anomalies] == [("Amazon Bedrock", float("inf"))]
    [anomaly] = report.anomalies
    assert anomaly.excess == Decimal("240.00") and anomaly.drivers[0].value == "agent-1"


def test_the_rule_bill_dimensions_read_the_bill_tags_and_the_whole_the_allocation() -> None:
    assert outlook_counting() is Counting.ALLOCATED
    assert outlook_counting(["service"]) is Counting.BILLED
    assert outlook_counting(where=[SpendFilter(key="account", values=("111122223333",))]) is Counting.BILLED
    assert outlook_counting(["team"]) is Counting.ALLOCATED
    assert outlook_counting(where=[SpendFilter(key="tag:kubernetes.namespace", values=("ml",))]) is Counting.ALLOCATED


def _budget(**scope: str) -> BudgetSettings:
    return BudgetSettings(name="b", amount=Decimal("5000"), scope=scope)


def test_a_team_budget_includes_its_allocated_share(lake: Path) -> None:
    assert evaluate_budget(lake, _budget(team="ml"), as_of=LAST).actual == Decimal("27.50") * 7
    namespace = _budget(**{"tag:kubernetes.namespace": "web"})
    assert evaluate_budget(lake, namespace, as_of=LAST).actual == Decimal("12.50") * 7


def test_a_service_budget_and_the_whole_bill_count_the_nodes_once_as_billed(lake: Path) -> None:
    october = LAST.day  # 1-30 October: 30 days, the last 7 allocated
    ec2 = evaluate_budget(lake, _budget(service="Amazon EC2"), as_of=LAST)
    assert ec2.actual == Decimal("50.00") * october  # no drop on the allocated days
    whole = evaluate_budget(lake, _budget(), as_of=LAST)
    assert whole.actual == Decimal("55.00") * october  # the nodes once, not $50 more a day


def test_forecast_history_by_service_has_no_kubernetes_step_and_by_team_has_the_share(lake: Path) -> None:
    start, end, by_service = daily_spend_series(lake, ["service"], history_days=56)
    assert end == LAST and {labels for labels, _ in by_service} == {("Amazon EC2",), ("Amazon S3",)}
    assert set(by_service[(("Amazon EC2",), "USD")]) == {50.0}
    _, _, total = daily_spend_series(lake, history_days=56)
    assert set(total[((), "USD")]) == {55.0}
    _, _, by_team = daily_spend_series(lake, ["team"], history_days=56)
    assert by_team[(("ml",), "USD")][-7:] == [27.5] * 7
    assert sum(v for series in by_team.values() for v in series) == 55.0 * 56


def test_a_cluster_priced_from_the_price_book_is_in_the_total_but_no_billing_anomaly(tmp_path: Path) -> None:
    """The demo's case: the nodes are on no bill in the lake, so the allocation rows are the only
    record of the cluster's cost. The whole bill (explorer, forecast, unscoped budget) counts
    them; the billing anomalies, reading the bill as billed, do not call them a new service."""
    lake = _write(tmp_path, nodes_billed=False)
    assert daily_billing_anomalies(lake, AnomalySettings()).anomalies == []
    whole = evaluate_budget(lake, _budget(), as_of=LAST)
    assert whole.actual == Decimal("5.00") * LAST.day + Decimal("50.00") * len(ALLOCATED)
    assert evaluate_budget(lake, _budget(service="Amazon S3"), as_of=LAST).actual == Decimal("5.00") * LAST.day
