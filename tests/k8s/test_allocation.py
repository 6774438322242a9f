"""Cost allocation (OpenCost method) on generated clusters, shared GPUs, and the lake rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from tests.k8s.cluster_gen import GIB, hourly, large_cluster, node, pod

from spendpilot.allocation.focus_rows import write_allocation
from spendpilot.allocation.kubernetes import (
    CPU_RATE,
    GPU_RATE,
    IDLE,
    RAM_RATE,
    NodePrice,
    allocate,
    node_prices,
    split_node_price,
)
from spendpilot.domain.kubernetes import ClusterState, GpuSharing
from spendpilot.domain.money import Money
from spendpilot.lake.spend import build_query, run_spend_query
from spendpilot.savings.pricebook import PriceBook

END = datetime(2026, 11, 15, tzinfo=UTC)
CENT = Decimal("0.01")


def _priced(state: ClusterState) -> dict[str, NodePrice]:
    found, missing = node_prices(state, PriceBook.bundled())
    assert missing == []
    return found


def test_namespace_totals_plus_idle_equal_node_costs_to_the_cent() -> None:
    state = large_cluster(pods=120, days=3, end=END)
    prices = _priced(state)
    start = END - timedelta(days=3)
    result = allocate(state, prices, start, END)
    # Node costs computed here from the price book alone: price x 72 h for each node.
    book = PriceBook.bundled()
    expected = sum((book.on_demand(n.instance_type or "", "us-east-1").per_hour * 72 for n in state.nodes), Decimal(0))  # type: ignore[union-attr]
    namespaces = result.by_namespace()
    assert len(namespaces) == 18  # 17 teams + idle
    total = sum(namespaces.values(), Decimal(0))
    assert total.quantize(CENT) == expected.quantize(CENT)
    assert result.node_costs["USD"].quantize(CENT) == expected.quantize(CENT)
    # Per day too: each day's lines sum to the nodes' cost of that day.
    for day in {line.day for line in result.lines}:
        day_total = sum((line.cost for line in result.lines if line.day == day), Decimal(0))
        assert day_total.quantize(CENT) == (expected / 3).quantize(CENT)
    assert namespaces[(IDLE, "USD")] > 0


def test_pods_are_charged_max_of_request_and_usage() -> None:
    end = END
    nodes = [node("n1", "m5.2xlarge", 8, 32)]
    pods = [pod("a", "web-1", "n1", cpu=1.0, mem_gib=2, owner=("Deployment", "web"))]
    usage = [hourly("a", "web-1", "cpu_cores", end, [0.5, 3.0]), hourly("a", "web-1", "memory_bytes", end, [GIB, 4 * GIB])]
    state = ClusterState(cluster="c", read_at=end, nodes=nodes, pods=pods, usage=usage)
    result = allocate(state, _priced(state), end - timedelta(hours=2), end)
    [web] = [line for line in result.lines if line.workload_name == "web"]
    assert web.cpu_core_hours == pytest.approx(1.0 + 3.0)   # request the first hour, usage the second
    assert web.ram_gib_hours == pytest.approx(2.0 + 4.0)
    rates = split_node_price(nodes[0], _priced(state)["n1"])
    assert web.cpu_cost == rates.cpu * Decimal("4.0")
    # The node's price splits in OpenCost's default ratio.
    price = PriceBook.bundled().on_demand("m5.2xlarge", "us-east-1").per_hour  # type: ignore[union-attr]
    assert rates.cpu / rates.ram == CPU_RATE / RAM_RATE
    assert (rates.cpu * 8 + rates.ram * 32).quantize(Decimal("1e-12")) == price.quantize(Decimal("1e-12"))


def test_a_time_sliced_gpu_shared_by_four_pods_charges_each_a_quarter() -> None:
    sliced = node("g1", "g5.xlarge", 4, 16, gpus=1, sharing=GpuSharing(mode="time_slicing", replicas=4))
    pods = [pod("ml", f"infer-{i}", "g1", cpu=0.5, mem_gib=2, owner=("Deployment", f"infer-{i}"),
                extra={"nvidia.com/gpu": 1.0}) for i in range(4)]
    state = ClusterState(cluster="c", read_at=END, nodes=[sliced], pods=pods)
    prices = _priced(state)
    result = allocate(state, prices, END - timedelta(hours=24), END)
    rates = split_node_price(sliced, prices["g1"])
    gpu_day = rates.gpu * 24  # the one physical GPU for the day
    lines = [line for line in result.lines if line.namespace == "ml"]
    assert len(lines) == 4
    for line in lines:
        assert line.gpu_hours == pytest.approx(6.0)  # a quarter of 24 GPU-hours
        assert line.gpu_cost.quantize(CENT) == (gpu_day / 4).quantize(CENT)
    [idle] = [line for line in result.lines if line.namespace == IDLE]
    assert idle.gpu_hours == pytest.approx(0.0)
    assert rates.gpu / rates.cpu == GPU_RATE / CPU_RATE


def test_a_mig_slice_is_charged_its_fraction_of_the_gpu() -> None:
    mig = node("p1", "p4d.24xlarge", 96, 1152, gpus=8,
               sharing=GpuSharing(mode="mig", mig_profiles={"nvidia.com/mig-3g.20gb": 3 / 7}))
    pods = [
        pod("ml", "small", "p1", cpu=1, mem_gib=4, owner=("Job", "small"), extra={"nvidia.com/mig-1g.5gb": 1.0}),
        pod("ml", "mid", "p1", cpu=1, mem_gib=4, owner=("Job", "mid"), extra={"nvidia.com/mig-3g.20gb": 2.0}),
        pod("ml", "whole", "p1", cpu=1, mem_gib=4, owner=("Job", "whole"), extra={"nvidia.com/gpu": 1.0}),
    ]
    state = ClusterState(cluster="c", read_at=END, nodes=[mig], pods=pods)
    result = allocate(state, _priced(state), END - timedelta(hours=7), END)
    gpu = {line.workload_name: line.gpu_hours for line in result.lines}
    assert gpu["small"] == pytest.approx(1.0)        # 1/7 of a GPU for 7 hours (1g profile, not on the node)
    assert gpu["mid"] == pytest.approx(6.0)          # 2 x 3/7 x 7 h (the node's profile)
    assert gpu["whole"] == pytest.approx(7.0)
    assert gpu[IDLE] == pytest.approx(8 * 7 - 14.0)


def test_pods_that_start_mid_period_are_charged_only_while_running() -> None:
    nodes = [node("n1", "m5.xlarge", 4, 16)]
    pods = [pod("a", "late", "n1", cpu=2.0, mem_gib=1, started_at=END - timedelta(minutes=90))]
    state = ClusterState(cluster="c", read_at=END, nodes=nodes, pods=pods)
    result = allocate(state, _priced(state), END - timedelta(hours=4), END)
    [late] = [line for line in result.lines if line.workload_name == "late"]
    assert late.workload_kind == "Pod" and late.cpu_core_hours == pytest.approx(3.0)


def test_billed_node_cost_wins_over_the_list_price() -> None:
    n = node("n1", "m5.xlarge", 4, 16)
    state = ClusterState(cluster="c", read_at=END, nodes=[n, node("n2", "x9.unknown", 4, 16)])
    iid = n.instance_id
    assert iid
    found, missing = node_prices(state, PriceBook.bundled(), {iid: Money.usd("100.80")}, {iid: 720.0})
    assert found["n1"].per_hour == Decimal("0.14") and "FOCUS lake" in found["n1"].source
    assert missing == ["n2: no price for x9.unknown in us-east-1"]


def test_rows_in_the_lake_sum_with_the_rest_and_restate_by_day(tmp_path: Path) -> None:
    state = large_cluster(pods=30, days=2, end=END)
    result = allocate(state, _priced(state), END - timedelta(days=2), END)
    lake_dir = tmp_path / "lake"
    report = write_allocation(result, lake_dir)
    assert report.rows_quarantined == 0
    spend = run_spend_query(lake_dir, build_query(group_by=["tag:kubernetes.namespace"], start=date(2026, 11, 1)))
    by_ns = {row.keys["tag:kubernetes.namespace"]: row.amount for row in spend.rows}
    expected = result.by_namespace()
    for (ns, _), amount in expected.items():
        assert by_ns[ns].quantize(CENT) == amount.quantize(CENT)
    # Allocating the last day again replaces that day's rows instead of adding to them.
    again = allocate(state, _priced(state), END - timedelta(days=1), END)
    replaced = write_allocation(again, lake_dir)
    assert replaced.rows_replaced == len([line for line in result.lines if line.day == END.date() - timedelta(days=1)])
    spend2 = run_spend_query(lake_dir, build_query(group_by=["provider"], start=date(2026, 11, 1)))
    [k8s] = [row for row in spend2.rows if row.keys["provider"] == "Kubernetes"]
    assert k8s.amount.quantize(CENT) == sum(expected.values(), Decimal(0)).quantize(CENT)
