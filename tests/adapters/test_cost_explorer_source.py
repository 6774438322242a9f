"""The `cost_explorer` source kind: a sweep stores Cost Explorer's daily costs (moto server over HTTP)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from tests.adapters.reply_server import Reply, reply_server
from tests.lake.test_cost_explorer import PAGES, PAYER, _seed

from spendpilot.adapters.base import SourceContext, build_sources
from spendpilot.agent.collect import collect_snapshot
from spendpilot.lake import CostLake

CTX = SourceContext(now=datetime(2024, 9, 20, tzinfo=UTC), prices=None)


def test_sweep_stores_the_current_months(aws_endpoint: str, tmp_path: Path) -> None:
    _seed(aws_endpoint, PAGES)
    [source] = build_sources([{"kind": "cost_explorer", "months": 1, "billing_account_id": PAYER,
                               "endpoint_url": aws_endpoint}], tmp_path)
    snapshot = collect_snapshot([source], CTX)
    assert snapshot.gaps == []
    assert snapshot.sources == [f"cost explorer: 4 daily Cost Explorer rows stored for payer {PAYER} "
                                "(2024-09-01..2024-09-21)"]
    assert CostLake(tmp_path / "lake").row_count() == 4


def test_access_denied_is_a_named_gap_and_stores_nothing(tmp_path: Path) -> None:
    denied = Reply(status=400, body=json.dumps({"__type": "AccessDeniedException", "message": "no"}).encode(),
                   content_type="application/x-amz-json-1.1")
    with reply_server(denied) as server:
        [source] = build_sources([{"kind": "cost_explorer", "billing_account_id": PAYER,
                                   "endpoint_url": server.url}], tmp_path)
        snapshot = collect_snapshot([source], CTX)
    [gap] = snapshot.gaps
    assert gap.source == "cost explorer" and "ce:GetCostAndUsage denied" in gap.error
    assert not (tmp_path / "lake" / "focus").exists()
