"""Score a sweep against a scenario's ground truth (expected.yaml)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field

from spendpilot.domain import Proposal
from spendpilot.scenarios.model import Expected


class ScenarioScore(BaseModel):
    scenario: str
    found: list[str] = Field(default_factory=list)
    missed: list[str] = Field(default_factory=list)
    traps_hit: list[str] = Field(default_factory=list)
    unexpected: list[str] = Field(default_factory=list)
    expected_monthly_total: Decimal = Decimal(0)

    @property
    def passed(self) -> bool:
        return not self.missed and not self.traps_hit

    @property
    def recall(self) -> float:
        total = len(self.found) + len(self.missed)
        return len(self.found) / total if total else 1.0


def score(name: str, expected: Expected, proposals: list[Proposal]) -> ScenarioScore:
    def key(p: Proposal) -> str:
        return p.target.name or p.target.id

    by_target: dict[str, list[Proposal]] = {}
    for p in proposals:  # several checks may propose on one target (two levers of one feature)
        by_target.setdefault(key(p), []).append(p)
    result = ScenarioScore(scenario=name)
    wanted = set()
    for want in expected.must_propose:
        wanted.add(want.target)
        label = f"{want.rule}/{want.action} on {want.target}"
        match = next((p for p in by_target.get(want.target, [])
                      if p.rule == want.rule and p.action == want.action), None)
        if match is not None:
            result.found.append(label)
            result.expected_monthly_total += match.estimate.expected.amount
        else:
            result.missed.append(label)
    for trap in expected.must_not_propose:
        sprung = [p for p in by_target.get(trap.target, []) if trap.rule is None or p.rule == trap.rule]
        if sprung:
            result.traps_hit.append(f"{trap.target}: {trap.why}")
    traps = {t.target for t in expected.must_not_propose}
    result.unexpected = sorted(k for k in by_target if k not in wanted | traps)
    return result
