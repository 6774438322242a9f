"""``CostLake``'s spend questions count an allocated Kubernetes node once.

Four days of a bill: one EKS node (an ARN on one day, a bare id on the others), an instance
that is no node, and an untagged bucket. ``allocate --write`` rows (the real writer) cover the
node on two of the days and split it exactly, to the cent, across two namespaces and the idle
line. Every figure is compared with the bill summed here from the planted rows: on allocated
days the node's cost must appear once (through the Kubernetes rows), on the others once
(through its bill row). Before ``lake.k8s_replaced`` was read by ``CostLake``, the allocated
days came out twice the node's cost too high.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from tests.allocation.lakes import BILL_HEADER, alloc_line, bill_row, write_csv

from spendpilot.allocation.focus_rows import write_allocation
from spendpilot.allocation.kubernetes import IDLE, Allocation
from spendpilot.lake import CostLake, ingest_file
from spendpilot.lake.spend import build_query, run_spend_query

DAYS = [date(2026, 3, 9) + timedelta(days=i) for i in range(4)]
ALLOCATED = DAYS[1:3]
NODE = "i-0node1"
NODE_COST = {DAYS[0]: "48.37", DAYS[1]: "48.37", DAYS[2]: "51.19", DAYS[3]: "48.37"}
UNTIL = datetime.combine(DAYS[-1] + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


def _bill() -> list[dict[str, str]]:
    rows = []
    for day in DAYS:
        node_id = f"arn:aws:ec2:us-east-1:111122223333:instance/{NODE}" if day == ALLOCATED[0] else NODE
        rows += [bill_row(day, NODE_COST[day], NODE_COST[day], resource=node_id),
                 bill_row(day, "10.05", "10.05", resource="i-0web", tags={"team": "web"}),
                 bill_row(day, "3.33", "3.33", service="Amazon S3", resource="bucket-scratch")]
    return rows


def _allocation_lines(day: date) -> list[tuple[str, str, str, dict[str, str]]]:
    """(namespace, workload, cost, labels) adding up to the node's bill cost that day."""
    node = Decimal(NODE_COST[day])
    trainer, frontend = (node * Decimal("0.55")).quantize(Decimal("0.01")), Decimal("9.75")
    return [("ml", "trainer", str(trainer), {"team": "ml"}),
            ("web", "frontend", str(frontend), {}),                     # no team label: untagged
            (IDLE, IDLE, str(node - trainer - frontend), {})]


@pytest.fixture(scope="module")
def lake_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("counts-once")
    lake = root / "lake"
    ingest_file(write_csv(root / "bill.csv", BILL_HEADER, _bill()), lake)
    write_allocation(Allocation(
        cluster="prod-eks", start=datetime.combine(ALLOCATED[0], datetime.min.time(), tzinfo=UTC),
        end=datetime.combine(ALLOCATED[-1] + timedelta(days=1), datetime.min.time(), tzinfo=UTC),
        lines=[alloc_line(day, ns, name, cost, labels)
               for day in ALLOCATED for ns, name, cost, labels in _allocation_lines(day)],
        node_costs={"USD": sum((Decimal(NODE_COST[d]) for d in ALLOCATED), Decimal(0))}, node_instances=[NODE],
    ), lake)
    return lake


def _bill_by_day() -> dict[date, Decimal]:
    by_day: dict[date, Decimal] = defaultdict(Decimal)
    for row in _bill():
        by_day[date.fromisoformat(row["ChargePeriodStart"][:10])] += Decimal(row["EffectiveCost"])
    return dict(by_day)


def test_the_lake_holds_the_node_twice_on_allocated_days(lake_dir: Path) -> None:
    """The trap is planted: summed row by row, the allocated days are too high by the node."""
    import duckdb

    files = str(lake_dir / "focus" / "*" / "*" / "*.parquet")
    raw = dict(duckdb.connect().execute(
        'SELECT CAST("ChargePeriodStart" AS DATE), sum("EffectiveCost") '
        f"FROM read_parquet('{files}', union_by_name=true) GROUP BY 1").fetchall())
    bill = _bill_by_day()
    for day in ALLOCATED:
        assert raw[day] == bill[day] + Decimal(NODE_COST[day])


def test_daily_spend_is_the_bill_counted_once_on_every_day(lake_dir: Path) -> None:
    daily = CostLake(lake_dir).daily_spend(days=len(DAYS), until=UNTIL)
    assert {d.day: d.cost for d in daily} == _bill_by_day()
    assert all(d.currency == "USD" for d in daily)


def test_top_spend_moves_the_node_to_kubernetes_on_allocated_days_only(lake_dir: Path) -> None:
    lake = CostLake(lake_dir)
    by_service = {line.key: line.cost for line in lake.top_spend("service", days=len(DAYS), until=UNTIL)}
    allocated_node = sum((Decimal(NODE_COST[d]) for d in ALLOCATED), Decimal(0))
    unallocated_node = sum((Decimal(NODE_COST[d]) for d in DAYS if d not in ALLOCATED), Decimal(0))
    assert by_service == {
        "Amazon EC2": unallocated_node + 4 * Decimal("10.05"),
        "Kubernetes": allocated_node,
        "Amazon S3": 4 * Decimal("3.33"),
    }
    assert sum(by_service.values()) == sum(_bill_by_day().values())
    # One allocated day alone: the node is there once, under Kubernetes.
    one_day = {line.key: line.cost for line in lake.top_spend("service", days=1, until=UNTIL - timedelta(days=1))}
    assert one_day == {"Kubernetes": Decimal(NODE_COST[ALLOCATED[1]]), "Amazon EC2": Decimal("10.05"),
                       "Amazon S3": Decimal("3.33")}


def test_top_spend_by_team_gives_the_team_its_allocated_share(lake_dir: Path) -> None:
    by_team = {line.key: line.cost for line in CostLake(lake_dir).top_spend("tag:team", days=len(DAYS), until=UNTIL)}
    ml = sum((Decimal(_allocation_lines(d)[0][2]) for d in ALLOCATED), Decimal(0))
    assert by_team["ml"] == ml
    assert by_team["web"] == 4 * Decimal("10.05")
    assert sum(by_team.values()) == sum(_bill_by_day().values())


def test_untagged_spend_counts_the_node_once(lake_dir: Path) -> None:
    lake = CostLake(lake_dir)
    node_untagged = sum((Decimal(NODE_COST[d]) for d in DAYS if d not in ALLOCATED), Decimal(0))
    allocated_untagged = sum((Decimal(cost) for d in ALLOCATED for ns, _, cost, labels in _allocation_lines(d)
                              if "team" not in labels), Decimal(0))
    expected = node_untagged + allocated_untagged + 4 * Decimal("3.33")
    assert lake.untagged_spend(["team"], days=len(DAYS), until=UNTIL) == expected
    # With no keys: rows without any tags. Kubernetes rows always carry their cluster tags.
    assert lake.untagged_spend([], days=len(DAYS), until=UNTIL) == node_untagged + 4 * Decimal("3.33")


def test_the_lake_questions_agree_with_the_spend_explorer(lake_dir: Path) -> None:
    explorer = run_spend_query(lake_dir, build_query(group_by=["service"], start=DAYS[0], end=DAYS[-1]))
    top = CostLake(lake_dir).top_spend("service", days=len(DAYS), until=UNTIL)
    assert {r.keys["service"]: r.amount for r in explorer.rows} == {line.key: line.cost for line in top}


def test_a_resource_s_own_cost_reads_its_bill_rows(lake_dir: Path) -> None:
    """Estimators read a node's cost by its id: its EC2 rows, every day, not reduced by the
    allocation (which has ids of its own), so a saving on the node is measured on its bill."""
    costs = CostLake(lake_dir).resource_costs(datetime.combine(DAYS[0], datetime.min.time(), tzinfo=UTC), UNTIL)
    node_total = sum((Decimal(c) for c in NODE_COST.values()), Decimal(0))
    arn = f"arn:aws:ec2:us-east-1:111122223333:instance/{NODE}"
    assert costs[NODE]["USD"] + costs[arn]["USD"] == node_total
    assert costs[arn]["USD"] == Decimal(NODE_COST[ALLOCATED[0]])
