"""End to end as a user runs it: ingest a span export, sweep with only the lake as a source,
see the batch proposal with its evidence, approve it; an advisory approval changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import run_cli

from spendpilot.scenarios.model import load_scenario, scenarios_root
from spendpilot.scenarios.spans import write_request_spans


def test_spans_to_an_approved_advisory_proposal(tmp_path: Path) -> None:
    scenario = load_scenario(scenarios_root() / "llm_batch_api")
    assert scenario.llm_requests is not None
    spans = tmp_path / "spans.jsonl"
    write_request_spans(scenario.llm_requests, spans, now=datetime.now(UTC), seed=1)
    config = tmp_path / "spendpilot.toml"
    config.write_text('[[sources]]\nkind = "llm_usage"\n', encoding="utf-8")
    home = ["--config", str(config), "--home", str(tmp_path / "home")]
    run_cli("ingest", str(spans), *home, check=True)
    out = json.loads(run_cli("sweep", "--json", *home, check=True).stdout)
    [proposal] = out["proposals"]
    assert (proposal["rule"], proposal["action"], proposal["target"]["name"]) == (
        "use_batch_api", "use_batch_api", "nightly-enrichment")
    labels = [e["label"] for e in proposal["evidence"]]
    assert labels.count("Non-interactive because") == 3
    approved = run_cli("approve", proposal["id"], "--by", "test", *home)
    assert approved.returncode == 0, approved.stderr
    assert "[advisory]" in approved.stdout
