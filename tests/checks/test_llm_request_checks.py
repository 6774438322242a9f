"""The per-request token checks on snapshots of generated traffic: planted positives and look-alike traps.

summarize_context (growing vs flat conversations) and rate_limit (a runaway loop vs a busy,
varied feature). The semantic-cache check has its own file (it embeds prompts).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from spendpilot.actions import get_action
from spendpilot.actions.advisory import is_advisory
from spendpilot.checks import all_checks
from spendpilot.domain import Snapshot
from spendpilot.domain.money import DAYS_PER_MONTH
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import estimate
from spendpilot.scenarios.llm_traffic import busy_varied, conversations, runaway_loop

NOW = datetime(2026, 11, 20, tzinfo=UTC)
START = datetime(2026, 11, 13, tzinfo=UTC)
PRICES = PriceBook.bundled()


def _run(rule: str, snapshot: Snapshot) -> list:
    spec = all_checks()[rule]
    return spec.run(snapshot, spec.settings(), PRICES)


def test_growing_conversations_are_found_and_the_saving_matches_a_hand_computation() -> None:
    growing = conversations("support-chat", "gpt-4.1-mini", START, count=40, turns=12, first_input=1_000,
                            growth_per_turn=600, seed=1)
    flat = conversations("doc-agent", "gpt-4.1-mini", START, count=40, turns=12, first_input=9_000,
                         growth_per_turn=0, seed=2)
    findings = _run("growing_conversation_context", Snapshot(taken_at=NOW, llm_requests=growing + flat))
    assert [f.facts.feature for f in findings] == ["support-chat"]  # the long flat agent is left alone
    f = findings[0].facts
    assert f.conversations == 40 and f.turns == 480
    assert 550 <= f.growth_per_turn <= 650
    # By hand: turn t's baseline = first + 800 + growth of the last two turns; the excess is
    # what lies above it. Recompute from the generated rows.
    excess = 0
    by_conv: dict[str, list[int]] = {}
    for r in growing:
        by_conv.setdefault(r.conversation_id or "", []).append(r.input_tokens)
    for inputs in by_conv.values():
        for t in range(1, len(inputs)):
            base = inputs[0] + 800 + max(0, inputs[t] - inputs[max(0, t - 2)])
            excess += max(0, inputs[t] - base)
    assert f.excess_input_tokens == excess
    est = estimate(findings[0], PRICES)
    assert est is not None
    price = PRICES.token_price("gpt-4.1-mini")
    assert price is not None
    removed = Decimal(excess) * price.input_per_token
    summaries = Decimal(f.summaries) * 800 * price.output_per_token
    high = (removed - summaries) * DAYS_PER_MONTH / Decimal(f.days)
    assert abs(est.high.amount - high) < Decimal("0.01")
    assert est.low.amount < est.expected.amount < est.high.amount
    plan = get_action("summarize_context").build_plan(findings[0])
    assert is_advisory(plan) and "summary" in plan.change["runbook"][0]


def test_long_flat_conversations_alone_propose_nothing() -> None:
    flat = conversations("doc-agent", "gpt-4.1-mini", START, count=60, turns=30, first_input=12_000,
                         growth_per_turn=0, seed=3)
    assert _run("growing_conversation_context", Snapshot(taken_at=NOW, llm_requests=flat)) == []


def test_a_runaway_loop_is_limited_and_a_busy_varied_feature_is_not() -> None:
    at = datetime(2026, 11, 18, 3, 0, tzinfo=UTC)
    loop = runaway_loop("travel-agent", "gpt-4.1", at, calls=900, per_minute=120)
    busy = busy_varied("support-bot", "gpt-4.1-mini", at, calls=1_500, per_minute=300, callers=200, seed=4)
    findings = _run("runaway_llm_loop", Snapshot(taken_at=NOW, llm_requests=loop + busy))
    assert [(f.facts.feature, f.facts.caller) for f in findings] == [("travel-agent", "conversation:agent-run-4711")]
    f = findings[0].facts
    assert f.burst_requests == 900 and f.peak_per_minute == 120
    assert f.rpm_limit == 10  # no other caller in the feature: the floor
    assert f.excess_requests == 900 - 10 * 8  # 7.5 minutes of calls: 8 started minutes, 10 allowed in each
    est = estimate(findings[0], PRICES)
    assert est is not None
    price = PRICES.token_price("gpt-4.1")
    assert price is not None
    refused = f.excess_requests * (2_300 * price.input_per_token + 60 * price.output_per_token)
    assert abs(est.low.amount - refused / 12) < Decimal("0.01")


def test_a_busy_feature_with_varied_calls_alone_is_left_alone() -> None:
    at = datetime(2026, 11, 18, 3, 0, tzinfo=UTC)
    busy = busy_varied("support-bot", "gpt-4.1-mini", at, calls=3_000, per_minute=600, callers=20, seed=5)
    assert _run("runaway_llm_loop", Snapshot(taken_at=NOW, llm_requests=busy)) == []
