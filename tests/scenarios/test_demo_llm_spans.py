"""The demo organisation's GenAI spans: sent by the real OpenTelemetry SDK exporter to the OTLP/HTTP
receiver, counted once beside the daily usage export, and the token checks they feed.

The AWS side of the demo is swept by the end-to-end tests (tests/e2e, tests/demo_fixtures.py) and
`spendpilot demo` / `eval demo`; here only the LLM side is read (``[[sources]]`` = the lake's LLM
usage), so the test runs in seconds and without the emulator.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from spendpilot.config import OtelSettings, Settings
from spendpilot.demo import write_llm_usage_csv
from spendpilot.domain import ProposalStatus
from spendpilot.errors import ScenarioError
from spendpilot.lake import ingest_llm_usage_file, read_llm_usage
from spendpilot.lake.otlp import read_llm_requests
from spendpilot.runtime import build_services
from spendpilot.savings.pricebook import PriceBook
from spendpilot.scenarios import load_scenario, locate_scenario
from spendpilot.scenarios.otlp_send import (
    scenario_span_documents,
    send_documents,
    send_scenario_spans,
)
from spendpilot.scenarios.score import score
from spendpilot.scenarios.synth import llm_usage_records

NOW = datetime.now(UTC)
TOKEN_RULES = {"enable_prompt_caching", "set_max_tokens", "use_batch_api", "trim_system_prompt",
               "growing_conversation_context", "runaway_llm_loop", "near_duplicate_prompts"}


def _span_features(spec) -> set[str]:  # noqa: ANN001 - LlmRequestsSpec
    return {f.feature for f in spec.features} | {p.feature for p in spec.patterns}


def _write_usage_export(scenario, path: Path) -> Path:  # noqa: ANN001 - Scenario
    """The demo's daily usage export, as prepare_scenario writes it."""
    usage = llm_usage_records(scenario.llm_usage, days=scenario.billing_days, now=NOW,
                              prices=PriceBook.bundled(), seed=scenario.seed)
    return write_llm_usage_csv(usage, path)


def test_the_demo_spans_feed_the_token_checks_and_spare_the_look_alikes(tmp_path: Path) -> None:
    scenario = load_scenario(locate_scenario("demo"))
    spec = scenario.llm_requests
    assert spec is not None and spec.delivery == "otlp_http"
    settings = Settings(home=tmp_path, sources=[{"kind": "llm_usage"}])
    settings.ensure_home()
    ingest_llm_usage_file(_write_usage_export(scenario, tmp_path / "llm_usage.csv"), settings.lake_dir)

    sent = send_scenario_spans(spec, settings.lake_dir, settings.otel, now=NOW, seed=scenario.seed)

    expected_spans = (sum(f.requests_per_day for f in spec.features) * spec.days
                      + sum(p.count * (p.turns if p.kind == "conversations" else 1) for p in spec.patterns))
    assert (sent.sent, sent.read, sent.stored, sent.quarantined) == (expected_spans, expected_spans, expected_spans, 0)
    assert sent.url.startswith("http://127.0.0.1:") and sent.export_requests >= 1
    assert set(sent.features) == _span_features(spec)

    # Counted once: the span-fed features are not in the export, and the export's rows are unchanged.
    exported = {f.feature for f in scenario.llm_usage.features}
    assert not exported & _span_features(spec)
    usage = read_llm_usage(settings.lake_dir)
    requests_by_feature = Counter[str]()
    for u in usage:
        requests_by_feature[u.feature] += u.requests
    assert {f: requests_by_feature[f] for f in _span_features(spec)} == sent.features
    stored = read_llm_requests(settings.lake_dir)
    assert len(stored) == expected_spans and not any(r.system_instructions for r in stored)  # no prompt text kept
    today = NOW.date()
    assert all(r.start_time.date() < today for r in stored), "whole days before today, like the export"

    services = build_services(settings)
    services.sweep()
    proposals = services.list_proposals([ProposalStatus.PENDING])
    by_target = {}
    for p in proposals:
        by_target.setdefault(p.target.name or p.target.id, []).append(p)

    wanted = [w for w in scenario.expected.must_propose if w.target in _span_features(spec)]
    assert {w.rule for w in wanted} >= {"enable_prompt_caching", "set_max_tokens", "use_batch_api",
                                        "trim_system_prompt", "growing_conversation_context", "runaway_llm_loop"}
    expected = scenario.expected.model_copy(update={"must_propose": wanted})
    result = score("demo", expected, proposals)
    assert result.passed and result.recall == 1.0, (result.missed, result.traps_hit)
    # Exactly the planted levers: nothing else on the span-fed features (one lever per proposal).
    span_proposals = sorted((p.rule, p.target.name) for p in proposals if p.target.name in _span_features(spec))
    assert span_proposals == sorted((w.rule, w.target) for w in wanted)
    assert all(p.rule in TOKEN_RULES for p in proposals if p.target.name in _span_features(spec))
    for trap in ("weekly-report-chat", "research-agent"):
        assert trap not in by_target
    assert [p.rule for p in by_target["support-reply-drafter"]] == ["trim_system_prompt"]
    # Each saving is a believable, positive range; their sum is the figure docs/token-checks.md quotes.
    for p in proposals:
        assert Decimal(0) < p.estimate.expected.amount and p.estimate.low.amount <= p.estimate.expected.amount
        assert p.estimate.expected.amount <= p.estimate.high.amount and p.estimate.expected.currency == "USD"
    total = sum((p.estimate.expected.amount for p in proposals if p.rule in TOKEN_RULES), Decimal(0))
    assert total.quantize(Decimal("0.01")) == Decimal("152.56")


def test_a_resent_delivery_restates_and_keeps_the_generated_ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The user's settings for their own applications neither sample nor truncate the scenario's spans.
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    monkeypatch.setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "16")
    scenario = load_scenario(locate_scenario("demo"))
    spec = scenario.llm_requests
    assert spec is not None
    docs = list(scenario_span_documents(spec, now=NOW, seed=scenario.seed))
    first = [d for d in docs if d["resourceSpans"][0]["scopeSpans"][0]["spans"]][:1]  # one feature-day
    spans = first[0]["resourceSpans"][0]["scopeSpans"][0]["spans"]
    lake = tmp_path / "lake"
    once = send_documents(first, lake, OtelSettings())
    again = send_documents(first, lake, OtelSettings())
    assert once.sent == again.sent == len(spans) == once.stored
    stored = read_llm_requests(lake)
    assert len(stored) == len(spans), "the same trace and span ids restate, never duplicate"
    assert {(r.trace_id, r.span_id) for r in stored} == {(s["traceId"], s["spanId"]) for s in spans}
    assert {r.feature for r in stored} == {"contract-analyzer"}
    assert {r.prompt_prefix_chars for r in stored} == {8000}, "the whole system prompt arrived"
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert {r.start_time for r in stored} == {
        epoch + timedelta(microseconds=int(s["startTimeUnixNano"]) // 1000) for s in spans}


def test_an_attribute_the_sdk_cannot_carry_is_named(tmp_path: Path) -> None:
    doc = {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [{
        "traceId": "0" * 31 + "1", "spanId": "0" * 15 + "1", "name": "chat gpt-4.1", "kind": 3,
        "startTimeUnixNano": "1764720000000000000", "endTimeUnixNano": "1764720001000000000",
        "attributes": [{"key": "gen_ai.input.messages", "value": {"kvlistValue": {"values": []}}}],
    }]}]}]}
    with pytest.raises(ScenarioError, match="gen_ai.input.messages"):
        send_documents([doc], tmp_path / "lake", OtelSettings())
