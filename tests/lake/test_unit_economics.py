"""Cost per request and per successful outcome, from spans through the real ingest, by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from tests.conftest import run_cli

from spendpilot.lake.otlp import ingest_otlp_file
from spendpilot.lake.otlp.unit_economics import feature_unit_costs
from spendpilot.savings.pricebook import PriceBook
from spendpilot.scenarios.spans import LlmRequestProfile, LlmRequestsSpec, write_request_spans

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _lake(tmp: Path) -> Path:
    """Two features, fixed sizes (no jitter) so the cost is exact:
    - drafts, claude-sonnet-4-5: 2 days x 50 requests, input 2,000 of which 25% (500) read from
      cache, output 400 of which half reasoning; 80% report success.
    - tags, gpt-4.1-mini: 2 days x 100 requests, input 300, output 10; no outcome reported.
    """
    spec = LlmRequestsSpec(days=2, features=[
        LlmRequestProfile(feature="drafts", provider="anthropic", model="claude-sonnet-4-5", requests_per_day=50,
                          input_tokens=2000, input_jitter=0, cache_read_share=0.25, output_tokens=400,
                          output_jitter=0, reasoning_share=0.5, success_share=0.8),
        LlmRequestProfile(feature="tags", model="gpt-4.1-mini", requests_per_day=100, input_tokens=300,
                          input_jitter=0, output_tokens=10, output_jitter=0),
    ])
    spans = tmp / "spans.jsonl"
    write_request_spans(spec, spans, now=NOW, seed=5)
    ingest_otlp_file(spans, tmp / "home" / "lake")
    return tmp / "home" / "lake"


def test_cost_per_request_and_per_success_by_hand(tmp_path: Path) -> None:
    lake = _lake(tmp_path)
    rows = {r.feature: r for r in feature_unit_costs(lake, PriceBook.bundled())}
    drafts, tags = rows["drafts"], rows["tags"]
    # drafts: per request 1,500 x $3 + 500 x $0.30 + 200 x $15 + 200 x $15 per 1M
    #   = 0.0045 + 0.00015 + 0.003 + 0.003 = $0.01065; 100 requests = $1.065
    assert drafts.requests == 100 and drafts.cost == Decimal("1.065")
    assert drafts.cost_per_request == Decimal("0.01065")
    assert drafts.outcomes_reported == 100 and 0 < drafts.successes < 100
    assert drafts.cost_per_success == Decimal("1.065") / drafts.successes
    # tags: 200 x (300 x $0.40 + 10 x $1.60) per 1M = 200 x 0.000136 = $0.0272
    assert tags.cost == Decimal("0.0272") and tags.cost_per_request == Decimal("0.000136")
    assert tags.outcomes_reported == 0 and tags.cost_per_success is None


def test_unit_costs_cli(tmp_path: Path) -> None:
    _lake(tmp_path)
    home = tmp_path / "home"
    proc = run_cli("unit-costs", "--home", str(home), check=True)
    assert "drafts (anthropic claude-sonnet-4-5): 100 requests, $1.07; per request $0.01065" in proc.stdout
    assert "tags (openai gpt-4.1-mini): 200 requests, $0.03; per request $0.00014; per success no outcome reported" in proc.stdout
    data = json.loads(run_cli("unit-costs", "--json", "--home", str(home), check=True).stdout)
    assert {d["feature"]: Decimal(d["cost_per_request"]) for d in data} == {
        "drafts": Decimal("0.01065"), "tags": Decimal("0.000136")}
    empty = run_cli("unit-costs", "--home", str(tmp_path / "empty"))
    assert empty.returncode == 4 and "ingest" in empty.stderr
