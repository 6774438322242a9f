"""Scoring a scenario when one target gets proposals from several checks."""

from __future__ import annotations

from decimal import Decimal

from spendpilot.domain import ActionPlan, Estimate, Money, Proposal, ResourceRef, Risk
from spendpilot.scenarios.model import Expected, ExpectedProposal, Trap
from spendpilot.scenarios.score import score


def _proposal(target: str, rule: str, saving: str) -> Proposal:
    ref = ResourceRef(provider="openai", kind="llm_feature", id=f"{target}@m", name=target)
    money = Money.of(Decimal(saving), "USD")
    return Proposal(
        id=f"sp-{target}-{rule}", rule=rule, action=rule, target=ref, summary="", risk=Risk.LOW, evidence=[],
        estimate=Estimate(low=money, expected=money, high=money, formula=""),
        plan=ActionPlan(action=rule, target=ref, change={}, expected_pre_state={}, description="",
                        rollback_description=""),
        fingerprint="f", evidence_digest="d",
    )


def test_two_levers_on_one_feature_are_both_found_and_a_rule_scoped_trap_ignores_the_other() -> None:
    expected = Expected(
        must_propose=[ExpectedProposal(rule="enable_prompt_caching", action="enable_prompt_caching", target="a"),
                      ExpectedProposal(rule="trim_system_prompt", action="trim_system_prompt", target="a")],
        must_not_propose=[Trap(target="b", why="cached", rule="enable_prompt_caching"),
                          Trap(target="c", why="any proposal is wrong")],
    )
    proposals = [_proposal("a", "trim_system_prompt", "2"), _proposal("a", "enable_prompt_caching", "5"),
                 _proposal("b", "trim_system_prompt", "1")]
    result = score("s", expected, proposals)
    assert result.passed and result.expected_monthly_total == Decimal("7") and result.unexpected == []
    sprung = score("s", expected, [*proposals, _proposal("b", "enable_prompt_caching", "1"),
                                   _proposal("c", "set_max_tokens", "1")])
    assert not sprung.passed and len(sprung.traps_hit) == 2
