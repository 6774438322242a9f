"""`spendpilot allocate --write` on an emulated cluster with its usage in a real Prometheus."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from tests.conftest import run_cli

from spendpilot.lake.spend import build_query, run_spend_query
from spendpilot.savings.pricebook import PriceBook
from spendpilot.scenarios.kube_seed import kubernetes_source_config, scenario_clusters
from spendpilot.scenarios.model import load_scenario, locate_scenario
from spendpilot.scenarios.prometheus_seed import prometheus_binaries, scenario_prometheus


def _toml(sources: list[dict[str, object]]) -> str:
    out = []
    for s in sources:
        out.append("[[sources]]")
        for k, v in s.items():
            out.append(f"{k} = {json.dumps(v)}")
    return "\n".join(out) + "\n"


def test_allocate_writes_namespace_rows_that_sum_to_the_node_costs(tmp_path: Path) -> None:
    found = prometheus_binaries()
    if isinstance(found, str):
        pytest.skip(found)
    spec = load_scenario(locate_scenario("k8s_rightsizing"))
    now = datetime.now(UTC)
    home = tmp_path / "home"
    home.mkdir()
    with scenario_clusters(spec, home, now), scenario_prometheus(spec.path, home, now) as usage:
        config = tmp_path / "spendpilot.toml"
        config.write_text(_toml([*kubernetes_source_config(spec, home), *usage]))
        proc = run_cli("allocate", "--config", str(config), "--home", str(home), "--days", "2", "--write")
    assert proc.returncode == 0, proc.stderr
    assert "shop-eks:" in proc.stdout and "__idle__" in proc.stdout and "= node costs" in proc.stdout
    # Two m5.2xlarge nodes for two whole days, at the price book's on-demand rate.
    rate = PriceBook.bundled().on_demand("m5.2xlarge", "us-east-1").per_hour  # type: ignore[union-attr]
    nodes = rate * 2 * 48
    end = datetime.combine(now.date(), time(0), tzinfo=UTC)
    spend = run_spend_query(home / "lake", build_query(group_by=["tag:kubernetes.namespace"],
                                                       start=(end - timedelta(days=2)).date(),
                                                       end=(end - timedelta(days=1)).date()))
    by_ns = {row.keys["tag:kubernetes.namespace"]: row.amount for row in spend.rows}
    assert set(by_ns) == {"shop", "__idle__"}
    assert sum(by_ns.values(), Decimal(0)).quantize(Decimal("0.01")) == nodes.quantize(Decimal("0.01"))
    assert by_ns["shop"] > 0 and by_ns["__idle__"] > 0
