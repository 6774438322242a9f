"""The token-lever checks on per-request traffic that went through the real span ingest.

Each eval scenario's ``llm_requests.yaml`` is written as an OTLP JSON Lines export, ingested
into a lake on disk, aggregated by DuckDB (``request_stats``) and swept by every check; the
planted feature must be found by its check and the look-alikes must not. The estimators are
then checked against sums done by hand from the facts and the bundled prices.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from spendpilot.actions.base import get_action
from spendpilot.actions.llm_facts import (
    BatchFacts,
    MaxTokensFacts,
    PromptCachingFacts,
    SystemPromptFacts,
)
from spendpilot.checks.registry import all_checks, run_checks
from spendpilot.domain import Finding, Snapshot
from spendpilot.domain.llm_requests import LlmRequestStats, PrefixStats
from spendpilot.lake.otlp import ingest_otlp_file
from spendpilot.lake.otlp.stats import request_stats
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import estimate
from spendpilot.scenarios.model import load_scenario, scenarios_root
from spendpilot.scenarios.spans import LlmRequestProfile, LlmRequestsSpec, write_request_spans

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
DPM = Decimal("30.4167")
PRICES = PriceBook.bundled()


def _snapshot(spec: LlmRequestsSpec, tmp: Path, seed: int = 1) -> Snapshot:
    spans = tmp / "spans.jsonl"
    write_request_spans(spec, spans, now=NOW, seed=seed)
    report = ingest_otlp_file(spans, tmp / "lake")
    assert report.spans_quarantined == 0
    return Snapshot(taken_at=NOW, llm_request_stats=request_stats(tmp / "lake"))


def _findings(snapshot: Snapshot, rule: str) -> list[Finding[Any]]:
    spec = all_checks()[rule]
    return spec.run(snapshot, spec.settings(), PRICES)


@pytest.fixture(scope="module")
def scenario_snapshots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Snapshot]:
    out = {}
    for name in ("llm_prompt_caching", "llm_max_tokens", "llm_batch_api", "llm_system_prompt"):
        scenario = load_scenario(scenarios_root() / name)
        assert scenario.llm_requests is not None
        out[name] = _snapshot(scenario.llm_requests, tmp_path_factory.mktemp(name), seed=scenario.seed)
    return out


@pytest.mark.parametrize("name", ["llm_prompt_caching", "llm_max_tokens", "llm_batch_api", "llm_system_prompt"])
def test_each_scenario_finds_its_planted_feature_and_springs_no_trap(
    scenario_snapshots: dict[str, Snapshot], name: str
) -> None:
    scenario = load_scenario(scenarios_root() / name)
    findings = run_checks(scenario_snapshots[name], PRICES)
    proposed = {(f.resource.ref.name, f.rule) for f in findings}
    for want in scenario.expected.must_propose:
        assert (want.target, want.rule) in proposed, f"{want.rule} missed {want.target}: {sorted(proposed)}"
    for trap in scenario.expected.must_not_propose:
        sprung = [rule for target, rule in proposed if target == trap.target and trap.rule in (None, rule)]
        assert not sprung, f"{trap.target} ({trap.why}) was proposed by {sprung}"
    for f in findings:  # every finding can be estimated and planned
        assert estimate(f, PRICES) is not None, f.summary
        plan = get_action(f.action_kind).build_plan(f)
        assert plan.change["advisory"] is True and plan.permissions == [] and plan.change["runbook"]


# --------------------------------------------------------------------------- prompt caching


def test_prompt_caching_finding_and_its_saving_by_hand(scenario_snapshots: dict[str, Snapshot]) -> None:
    [finding] = _findings(scenario_snapshots["llm_prompt_caching"], "enable_prompt_caching")
    f: PromptCachingFacts = finding.facts
    assert (f.feature, f.model, f.requests, f.days) == ("contract-review", "claude-sonnet-4-5", 1050, 7)
    assert (f.prefix_tokens, f.min_cacheable_tokens, f.cache_read_tokens) == (4000, 1024, 0)
    assert f.active_hours_per_day == 10
    est = estimate(finding, PRICES)
    assert est is not None
    # By hand, sonnet-4-5 per 1M: input $3, read $0.30, 5-minute write $3.75, 1-hour write $6.
    # 1,050 requests over 7 days x 10 active hours, R = 1050 x 30.4167 / 7 = 4562.505, P = 4000.
    # 5-minute: lambda = 1050 / (7 x 10 x 12) = 1.25, w = e^-1.25 = 0.2865048:
    #   54.75006 - (0.2865048 x 68.437575 + 0.7134952 x 5.475006) = 54.75006 - 23.5141 = 31.24
    # 1-hour: lambda = 15, e^-15 ~ 0, floor one write a day = 7 / 1050 = 0.0066667:
    #   54.75006 - (0.0066667 x 109.50012 + 0.9933333 x 5.475006) = 54.75006 - 6.16851 = 48.58
    # The 1-hour cache saves more and is proposed; low 2w = 47.89, high w/2 = 48.93.
    rp = Decimal(1050) * DPM / 7 * 4000 / 1_000_000
    five_w = Decimal(math.exp(-1.25))
    five = rp * 3 - (five_w * rp * Decimal("3.75") + (1 - five_w) * rp * Decimal("0.3"))
    hour_w = Decimal(7) / Decimal(1050)
    hour = rp * 3 - (hour_w * rp * 6 + (1 - hour_w) * rp * Decimal("0.3"))
    assert five.quantize(Decimal("0.01")) == Decimal("31.24") and hour.quantize(Decimal("0.01")) == Decimal("48.58")
    assert f.ttl == "1h"
    assert (est.low.amount, est.expected.amount, est.high.amount) == (Decimal("47.89"), Decimal("48.58"), Decimal("48.93"))
    assert '"ttl": "1h"' in " ".join(get_action("enable_prompt_caching").build_plan(finding).change["runbook"])
    assert est.low.amount < est.expected.amount < est.high.amount


def test_prompt_caching_is_never_proposed_below_the_models_minimum(tmp_path: Path) -> None:
    """4,000 tokens clears claude-sonnet-4-5's 1,024 but not claude-opus-4-5's 4,096."""
    base = dict(requests_per_day=300, input_tokens=6000, system_prompt_chars=16000, output_tokens=100,
                max_tokens=512, streaming=True, conversations=True)
    spec = LlmRequestsSpec(days=3, features=[
        LlmRequestProfile(feature="on-sonnet", provider="anthropic", model="claude-sonnet-4-5", **base),
        LlmRequestProfile(feature="on-opus", provider="anthropic", model="claude-opus-4-5", **base),
    ])
    found = {f.facts.feature for f in _findings(_snapshot(spec, tmp_path), "enable_prompt_caching")}
    assert found == {"on-sonnet"}


def test_prompt_caching_needs_repeats_within_the_cache_lifetime(tmp_path: Path) -> None:
    """60 requests a day spread over 24 hours: one every 24 minutes, so a 5-minute cache would
    be written and never read. Not proposed."""
    spec = LlmRequestsSpec(days=10, features=[LlmRequestProfile(
        feature="rare", provider="anthropic", model="claude-sonnet-4-5", requests_per_day=60, input_tokens=6000,
        system_prompt_chars=16000, output_tokens=100, max_tokens=512, streaming=True)])
    assert _findings(_snapshot(spec, tmp_path), "enable_prompt_caching") == []


def test_openai_prompt_caching_saving_charges_no_write_premium() -> None:
    """gpt-4.1: input $2, cached $0.50 per 1M; OpenAI writes cost the input price.
    3,000 requests in 30 days x 2 hours x 12 windows: lambda = 4.1667, w = e^-4.1667 = 0.015504
    (more than the one-a-day floor of 30 / 3,000 = 0.01).
    R = 3041.67, P = 2000: saving = R*P*(2 - (w*2 + (1-w)*0.5)) per 1M = 6.0833 x 1.476744 = 8.98."""
    facts = PromptCachingFacts(provider="openai", model="gpt-4.1", feature="x", days=30, requests=3000,
                               prefix_sha256="ab" * 32, prefix_tokens=2000, min_cacheable_tokens=1024,
                               cache_read_tokens=0, input_tokens=9_000_000, active_hours_per_day=2)
    finding = _finding("enable_prompt_caching", facts)
    est = estimate(finding, PRICES)
    assert est is not None and est.expected.amount == Decimal("8.98")


# --------------------------------------------------------------------------- max_tokens


def test_max_tokens_finding_and_saving_by_hand(scenario_snapshots: dict[str, Snapshot]) -> None:
    [finding] = _findings(scenario_snapshots["llm_max_tokens"], "set_max_tokens")
    f: MaxTokensFacts = finding.facts
    assert f.feature == "summarizer" and f.requests_without_max_tokens == f.requests == 2100
    assert f.output_max == 8000 and f.output_p99 < 600
    assert f.proposed_max_tokens == -(-int(f.output_p99 * 1.25) // 64) * 64 or f.proposed_max_tokens % 64 == 0
    est = estimate(finding, PRICES)
    assert est is not None
    # gpt-4.1 output $8/1M; saving = tokens beyond the cap x 8/1M x 30.4167/7
    p99 = Decimal(str(f.output_p99))
    frac = (Decimal(f.proposed_max_tokens) - p99) / p99
    beyond = Decimal(f.excess_over_p99) - (Decimal(f.excess_over_p99) - Decimal(f.excess_over_2x_p99)) * frac
    assert est.expected.amount == (beyond * 8 / 1_000_000 * DPM / 7).quantize(Decimal("0.01"))
    assert est.high.amount == (Decimal(f.excess_over_p99) * 8 / 1_000_000 * DPM / 7).quantize(Decimal("0.01"))


def test_max_tokens_far_above_p99_with_a_tail_is_proposed(tmp_path: Path) -> None:
    spec = LlmRequestsSpec(days=3, features=[LlmRequestProfile(
        feature="extract", model="gpt-4.1", requests_per_day=400, input_tokens=1000, output_tokens=200,
        max_tokens=16000, runaway_share=0.004, runaway_output_tokens=9000, streaming=True)])
    [finding] = _findings(_snapshot(spec, tmp_path), "set_max_tokens")
    assert finding.facts.current_max_tokens == 16000 and finding.facts.proposed_max_tokens < 400


def test_max_tokens_is_not_lowered_where_answers_fill_it(tmp_path: Path) -> None:
    """Far above P99 *and* 3% of answers stop at the cap: those answers need it."""
    spec = LlmRequestsSpec(days=3, features=[LlmRequestProfile(
        feature="legal-drafts", model="gpt-4.1", requests_per_day=400, input_tokens=1000, output_tokens=200,
        max_tokens=900, fills_max_tokens_share=0.03, streaming=True)])
    snapshot = _snapshot(spec, tmp_path)
    [stats] = snapshot.llm_request_stats
    assert stats.finished_at_limit / stats.requests > 0.02
    assert _findings(snapshot, "set_max_tokens") == []


# --------------------------------------------------------------------------- batch


def test_batch_finding_and_saving_by_hand(scenario_snapshots: dict[str, Snapshot]) -> None:
    [finding] = _findings(scenario_snapshots["llm_batch_api"], "use_batch_api")
    f: BatchFacts = finding.facts
    assert f.feature == "nightly-enrichment" and f.requests == 2800
    assert any("3 consecutive hours" in s or "within 6 consecutive hours" in s for s in f.signals)
    est = estimate(finding, PRICES)
    assert est is not None
    # gpt-4.1: input $2 -> $1, output $8 -> $4 per 1M; no cached tokens. No request is in a
    # conversation, so all of it can move: expected = high = full (it was a flat 80 %, 20 % low).
    assert f.requests_in_conversation == 0
    full = (Decimal(f.input_tokens) * 1 + Decimal(f.output_tokens) * 4) / 1_000_000 * DPM / 7
    assert est.expected.amount == full.quantize(Decimal("0.01"))
    assert est.high.amount == full.quantize(Decimal("0.01"))
    assert est.low.amount == (full * Decimal("0.5")).quantize(Decimal("0.01"))


def test_batch_expected_share_is_the_requests_outside_a_conversation() -> None:
    facts = BatchFacts(provider="openai", model="gpt-4.1", feature="nightly-etl", days=7, requests=1000,
                       input_tokens=1_000_000, cached_input_tokens=0, output_tokens=0, signals=["a schedule"],
                       requests_in_conversation=100)
    est = estimate(_finding("use_batch_api", facts), PRICES)
    assert est is not None
    full = Decimal(1_000_000) * 1 / 1_000_000 * DPM / 7  # input $2 -> $1 per 1M
    assert est.expected.amount == (full * Decimal("0.9")).quantize(Decimal("0.01"))
    assert est.high.amount == full.quantize(Decimal("0.01"))


def test_streaming_or_conversational_traffic_is_never_batch(tmp_path: Path) -> None:
    base = dict(model="gpt-4.1", requests_per_day=300, input_tokens=1000, output_tokens=100, max_tokens=256,
                hours=[2, 3])
    spec = LlmRequestsSpec(days=3, features=[
        LlmRequestProfile(feature="nightly-stream", streaming=True, **base),
        LlmRequestProfile(feature="nightly-chat", conversations=True, **base),
        LlmRequestProfile(feature="nightly-unknown", **base),
    ])
    found = {f.facts.feature for f in _findings(_snapshot(spec, tmp_path), "use_batch_api")}
    assert found == {"nightly-unknown"}  # no streaming reported, no conversation, a schedule


# --------------------------------------------------------------------------- system prompt


def test_system_prompt_finding_and_saving_by_hand(scenario_snapshots: dict[str, Snapshot]) -> None:
    [finding] = _findings(scenario_snapshots["llm_system_prompt"], "trim_system_prompt")
    f: SystemPromptFacts = finding.facts
    assert (f.feature, f.prefix_tokens, f.requests, f.cache_read_share) == ("ticket-drafter", 2500, 1400, 0.0)
    est = estimate(finding, PRICES)
    assert est is not None
    # gpt-4.1-mini input $0.40/1M; R = 1400 x 30.4167 / 7; high removes 2,000 tokens, expected 625
    r = Decimal(1400) * DPM / 7
    assert est.high.amount == (r * 2000 * Decimal("0.4") / 1_000_000).quantize(Decimal("0.01"))
    assert est.expected.amount == (r * 625 * Decimal("0.4") / 1_000_000).quantize(Decimal("0.01"))


# --------------------------------------------------------------------------- the aggregates


def test_request_stats_count_what_was_sent(tmp_path: Path) -> None:
    spec = LlmRequestsSpec(days=2, features=[LlmRequestProfile(
        feature="f", model="gpt-4.1", requests_per_day=100, input_tokens=2000, input_jitter=0,
        cache_read_share=0.25, system_prompt_chars=4000, output_tokens=100, output_jitter=0,
        reasoning_share=0.5, max_tokens=300, streaming=False, conversations=True, hours=[5])])
    [s] = _snapshot(spec, tmp_path).llm_request_stats
    assert (s.requests, s.days, s.input_tokens, s.cache_read_input_tokens) == (200, 2, 400_000, 100_000)
    assert (s.output_tokens, s.reasoning_output_tokens, s.output_p99, s.output_max) == (20_000, 10_000, 100.0, 100)
    assert (s.requests_without_max_tokens, s.max_tokens_p50, s.finished_at_limit) == (0, 300, 0)
    assert (s.streaming_known, s.streaming_requests, s.requests_with_conversation) == (200, 0, 200)
    assert s.hour_counts[5] == 200 and sum(s.hour_counts) == 200
    [prefix] = s.prefixes
    assert (prefix.requests, prefix.prefix_chars, prefix.prefix_tokens) == (200, 4000, 1000)


def test_a_prefix_longer_than_a_request_is_capped_by_the_request() -> None:
    prefix = PrefixStats(prompt_prefix_sha256="a" * 64, requests=1, prefix_chars=40_000, min_input_tokens=3000,
                         input_tokens=3000, cache_read_input_tokens=0, cache_creation_input_tokens=0)
    assert prefix.prefix_tokens == 3000


def _finding(rule: str, facts: Any) -> Finding[Any]:
    stats = LlmRequestStats(
        provider=facts.provider, model=facts.model, feature=facts.feature, first_day=NOW.date(), last_day=NOW.date(),
        days=facts.days, requests=facts.requests, input_tokens=0, cache_read_input_tokens=0,
        cache_creation_input_tokens=0, output_tokens=0, reasoning_output_tokens=0, output_p50=0, output_p95=0,
        output_p99=0, output_max=0, requests_without_max_tokens=0)
    from spendpilot.actions.llm_facts import feature_resource

    return Finding(resource=feature_resource(stats), summary="test", facts=facts, rule=rule, action_kind=rule)


def test_scenario_yaml_names_only_known_rules() -> None:
    for name in ("llm_prompt_caching", "llm_max_tokens", "llm_batch_api", "llm_system_prompt"):
        expected = yaml.safe_load((scenarios_root() / name / "expected.yaml").read_text())
        for item in expected["must_propose"]:
            assert item["rule"] in all_checks()


def test_dense_traffic_keeps_the_five_minute_cache_and_sparse_traffic_takes_the_hour() -> None:
    from spendpilot.savings.enable_prompt_caching import best_ttl

    price = PRICES.token_price("claude-sonnet-4-5")
    assert price is not None

    def facts(requests: int) -> PromptCachingFacts:
        return PromptCachingFacts(provider="anthropic", model="claude-sonnet-4-5", feature="x", days=30,
                                  requests=requests, prefix_sha256="ab" * 32, prefix_tokens=3000,
                                  min_cacheable_tokens=1024, cache_read_tokens=0, input_tokens=requests * 4000,
                                  active_hours_per_day=24)

    assert best_ttl(facts(300 * 24 * 30), price) == "5m"   # 25 requests per 5 minutes: never expires
    assert best_ttl(facts(20 * 24 * 30), price) == "1h"    # one per 3 minutes on average: gaps > 5 min are common
    assert best_ttl(facts(20 * 24 * 30).model_copy(update={"model": "gpt-4.1", "provider": "openai"}),
                    PRICES.token_price("gpt-4.1")) == "5m"  # type: ignore[arg-type]
