"""The token scenarios' traffic through the real path: OTLP JSON export -> ingest -> llm_usage source -> checks.

The eval runner (``spendpilot eval llm_*``) does the same inside an emulator-backed sweep; this
test keeps the span path of those scenarios in the default run without the emulator.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from spendpilot.adapters.base import SourceContext
from spendpilot.adapters.lake.source_llm_usage import LlmUsageSettings, LlmUsageSource
from spendpilot.checks import all_checks
from spendpilot.config import OtelSettings
from spendpilot.domain import Snapshot
from spendpilot.lake.otlp import ingest_otlp_file
from spendpilot.savings.pricebook import PriceBook
from spendpilot.scenarios import load_scenario, locate_scenario
from spendpilot.scenarios.llm_traffic import traffic_from_spec
from spendpilot.scenarios.otlp_export import write_otlp_json

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
PRICES = PriceBook.bundled()


def _swept(name: str, tmp_path: Path) -> Snapshot:
    spec = load_scenario(locate_scenario(name)).llm_requests
    sent = traffic_from_spec(spec, NOW)
    spans = write_otlp_json(sent, tmp_path / "spans.json")
    report = ingest_otlp_file(spans, tmp_path / "lake", OtelSettings(store_prompt_text=spec.store_prompt_text))
    assert report.spans_stored == len(sent) and report.spans_quarantined == 0
    source = LlmUsageSource(LlmUsageSettings(), tmp_path / "lake")
    snapshot = Snapshot(taken_at=NOW)
    snapshot.merge(source.name, source.read(SourceContext(now=NOW, prices=PRICES)))
    assert len(snapshot.llm_requests) == len(sent)
    assert all((r.input_messages is not None) == spec.store_prompt_text for r in snapshot.llm_requests)
    return snapshot


def _found(rule: str, snapshot: Snapshot) -> list[str]:
    spec = all_checks()[rule]
    return [f.resource.ref.name or "" for f in spec.run(snapshot, spec.settings(), PRICES)]


def test_runaway_loop_scenario_spans_round_trip_and_only_the_loop_is_found(tmp_path: Path) -> None:
    snapshot = _swept("llm_runaway_loop", tmp_path)
    assert _found("runaway_llm_loop", snapshot) == ["travel-agent"]


def test_growing_conversation_scenario_spans_keep_conversation_ids(tmp_path: Path) -> None:
    snapshot = _swept("llm_growing_conversations", tmp_path)
    assert _found("growing_conversation_context", snapshot) == ["support-chat"]
