"""The spend explorer counts a Kubernetes node once, as the chargeback does.

A node is on the bill on two days and allocated (``allocate --write``) on one. The lake is
written by the real writers (``ingest_file``, ``write_allocation``); the explorer's totals are
checked against the chargeback's (lake − replaced), both read through ``lake.k8s_replaced``.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.allocation.lakes import D1, D2, NODE_BILL, write_node_lake

from spendpilot.allocation.chargeback import run_chargeback
from spendpilot.lake.spend import Granularity, build_query, run_spend_query


def _bill_total() -> Decimal:
    return sum((Decimal(effective) for _, _, _, effective, _ in NODE_BILL), Decimal(0))


def _totals(lake: Path) -> dict[str, Decimal]:
    result = run_spend_query(lake, build_query(group_by=[], start=D1, end=D2))
    return {t.currency: t.amount for t in result.totals}


def test_an_allocated_node_is_counted_once_in_the_explorer(tmp_path: Path) -> None:
    lake = write_node_lake(tmp_path, allocated=True)
    charged = run_chargeback(lake, start=D1, end=D2)
    (usd,) = charged.currencies
    assert usd.replaced_effective == Decimal("50")  # D1's node row, an ARN ending in the instance id
    assert _totals(lake) == {"USD": usd.chargeback_effective} == {"USD": usd.lake_effective - usd.replaced_effective}
    assert usd.chargeback_effective == _bill_total() - Decimal("50") + Decimal("54")


def test_grouped_by_service_the_allocated_day_is_kubernetes_and_the_other_ec2(tmp_path: Path) -> None:
    lake = write_node_lake(tmp_path, allocated=True)
    result = run_spend_query(lake, build_query(group_by=["service"], start=D1, end=D2, granularity=Granularity.DAY))
    by_day = {(r.bucket, r.keys["service"]): r.amount for r in result.rows}
    assert by_day == {
        (D1, "Kubernetes"): Decimal("54"),      # the node's allocation replaces its EC2 row
        (D1, "Amazon EC2"): Decimal("10"),      # an instance that is no node is kept
        (D2, "Amazon EC2"): Decimal("50"),      # not allocated that day: the bill row counts
    }


def test_without_allocation_rows_the_totals_are_the_bill(tmp_path: Path) -> None:
    lake = write_node_lake(tmp_path, allocated=False)
    assert _totals(lake) == {"USD": _bill_total()}
    charged = run_chargeback(lake, start=D1, end=D2)
    assert charged.replaced == []
    assert charged.currencies[0].chargeback_effective == _bill_total()
