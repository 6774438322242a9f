"""Score a sweep against a scenario's ground truth (expected.yaml), per scenario and per check."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from pydantic import BaseModel, Field

from spendpilot.domain import Proposal
from spendpilot.scenarios.model import Expected

TRUTH_CURRENCY = "USD"
"""expected.yaml's ``saving:`` figures are USD, as the bundled price data is."""
REALIZED_TOLERANCE = Decimal("0.01")
"""How far a measured realized saving may land from realized.yaml's truth: one cent (rounding)."""


class SavingComparison(BaseModel):
    """One found proposal's estimate beside the true saving planted in its scenario."""

    scenario: str
    target: str
    estimate: Decimal
    low: Decimal
    high: Decimal
    truth: Decimal

    @property
    def error(self) -> float:
        """Signed relative error: positive when the estimate promises more than the truth."""
        return float((self.estimate - self.truth) / self.truth)

    @property
    def in_range(self) -> bool:
        return self.low <= self.truth <= self.high


class RealizedComparison(BaseModel):
    """One executed proposal of a scenario: its estimate, what the bill showed, and the truth."""

    scenario: str
    rule: str
    target: str
    status: str
    """``savings.realized.RealizedStatus`` value, or ``not_proposed`` / ``not_executed``."""
    estimate: Decimal | None = None
    low: Decimal | None = None
    high: Decimal | None = None
    realized: Decimal | None = None
    truth: Decimal | None = None
    error: float | None = None
    """(estimate - realized) / estimate; None unless measured."""
    windows: str = ""
    note: str = ""

    @property
    def realized_ok(self) -> bool:
        """Measured, and (when a truth is recorded) within a cent of it."""
        if self.status != "measured" or self.realized is None:
            return False
        return self.truth is None or abs(self.realized - self.truth) <= REALIZED_TOLERANCE

    def as_row(self) -> dict[str, object]:
        def text(d: Decimal | None) -> str | None:
            return None if d is None else str(d)

        return {"scenario": self.scenario, "rule": self.rule, "target": self.target, "status": self.status,
                "estimate": text(self.estimate), "low": text(self.low), "high": text(self.high),
                "realized": text(self.realized), "truth": text(self.truth), "error": self.error,
                "realized_ok": self.realized_ok, "windows": self.windows, "note": self.note}


class CheckTally(BaseModel):
    """How one check (rule) did: what was planted for it, what it found, and what it got wrong.

    Precision charges a check for every proposal that was not asked for: a trap it sprang, or a
    proposal on something expected.yaml neither plants nor guards (``unexpected``).
    """

    rule: str
    planted: int = 0
    found: int = 0
    missed: int = 0
    traps_sprung: int = 0
    unexpected: int = 0
    savings: list[SavingComparison] = Field(default_factory=list)
    found_without_truth: int = 0
    """Found proposals whose expected.yaml entry records no true saving (the table's "—")."""
    unexpected_targets: list[str] = Field(default_factory=list)
    """``scenario: target`` of each unexpected proposal, so a reader can judge it."""
    realized: list[RealizedComparison] = Field(default_factory=list)
    """Executed proposals of the rule whose post-execution bill was measured (``realized.yaml``)."""

    @property
    def recall(self) -> float | None:
        return self.found / self.planted if self.planted else None

    @property
    def precision(self) -> float | None:
        proposed = self.found + self.traps_sprung + self.unexpected
        return self.found / proposed if proposed else None

    @property
    def savings_error(self) -> float | None:
        """Mean signed relative error of the estimates against the truths (None: no truth known)."""
        if not self.savings:
            return None
        return sum(s.error for s in self.savings) / len(self.savings)

    @property
    def truths_in_range(self) -> int:
        return sum(s.in_range for s in self.savings)

    @property
    def realized_error(self) -> float | None:
        """Mean (estimate - realized) / estimate over the measured executions (None: none measured)."""
        errors = [r.error for r in self.realized if r.error is not None]
        return sum(errors) / len(errors) if errors else None

    def merged(self, other: CheckTally) -> CheckTally:
        return CheckTally(
            rule=self.rule, planted=self.planted + other.planted, found=self.found + other.found,
            missed=self.missed + other.missed, traps_sprung=self.traps_sprung + other.traps_sprung,
            unexpected=self.unexpected + other.unexpected, savings=[*self.savings, *other.savings],
            found_without_truth=self.found_without_truth + other.found_without_truth,
            unexpected_targets=[*self.unexpected_targets, *other.unexpected_targets],
            realized=[*self.realized, *other.realized],
        )

    def as_row(self) -> dict[str, object]:
        """The JSON shape of one row of the per-check table (money as exact decimal strings)."""
        return {
            "rule": self.rule, "planted": self.planted, "found": self.found, "missed": self.missed,
            "traps_sprung": self.traps_sprung, "unexpected": self.unexpected,
            "recall": self.recall, "precision": self.precision,
            "savings_error": self.savings_error, "truths_compared": len(self.savings),
            "truths_in_range": self.truths_in_range, "found_without_truth": self.found_without_truth,
            "unexpected_targets": self.unexpected_targets,
            "savings": [{"scenario": s.scenario, "target": s.target, "estimate": str(s.estimate), "low": str(s.low),
                         "high": str(s.high), "truth": str(s.truth), "error": s.error, "in_range": s.in_range}
                        for s in self.savings],
            "realized_error": self.realized_error,
            "realized": [r.as_row() for r in self.realized],
        }


class ScenarioScore(BaseModel):
    scenario: str
    found: list[str] = Field(default_factory=list)
    missed: list[str] = Field(default_factory=list)
    traps_hit: list[str] = Field(default_factory=list)
    unexpected: list[str] = Field(default_factory=list)
    expected_monthly_total: Decimal = Decimal(0)
    checks: dict[str, CheckTally] = Field(default_factory=dict)
    realized: list[RealizedComparison] = Field(default_factory=list)
    """realized.yaml's executions: estimate vs what the post-execution bill showed."""

    @property
    def passed(self) -> bool:
        """No plant missed, no trap sprung, and every realized.yaml execution measured (within a
        cent of its truth where one is recorded)."""
        return not self.missed and not self.traps_hit and all(r.realized_ok for r in self.realized)

    def add_realized(self, rows: list[RealizedComparison]) -> None:
        self.realized.extend(rows)
        for r in rows:
            self.check(r.rule).realized.append(r)

    @property
    def recall(self) -> float:
        total = len(self.found) + len(self.missed)
        return len(self.found) / total if total else 1.0

    def check(self, rule: str) -> CheckTally:
        return self.checks.setdefault(rule, CheckTally(rule=rule))


def score(name: str, expected: Expected, proposals: list[Proposal]) -> ScenarioScore:
    def key(p: Proposal) -> str:
        return p.target.name or p.target.id

    by_target: dict[str, list[Proposal]] = {}
    for p in proposals:  # several checks may propose on one target (two levers of one feature)
        by_target.setdefault(key(p), []).append(p)
    result = ScenarioScore(scenario=name)
    wanted = set()
    accounted: set[int] = set()  # ids of the proposals a must_propose entry or a trap explains
    for want in expected.must_propose:
        wanted.add(want.target)
        label = f"{want.rule}/{want.action} on {want.target}"
        tally = result.check(want.rule)
        tally.planted += 1
        matches = [p for p in by_target.get(want.target, []) if p.rule == want.rule and p.action == want.action]
        accounted.update(id(p) for p in matches)
        if not matches:
            result.missed.append(label)
            tally.missed += 1
            continue
        match = matches[0]
        result.found.append(label)
        result.expected_monthly_total += match.estimate.expected.amount
        tally.found += 1
        if want.saving is None or match.estimate.expected.currency != TRUTH_CURRENCY:
            tally.found_without_truth += 1
        else:
            tally.savings.append(SavingComparison(
                scenario=name, target=want.target, estimate=match.estimate.expected.amount,
                low=match.estimate.low.amount, high=match.estimate.high.amount, truth=want.saving))
    for trap in expected.must_not_propose:
        sprung = [p for p in by_target.get(trap.target, []) if trap.rule is None or p.rule == trap.rule]
        if sprung:
            result.traps_hit.append(f"{trap.target}: {trap.why}")
        for rule in sorted({p.rule for p in sprung if id(p) not in accounted}):
            result.check(rule).traps_sprung += 1
        accounted.update(id(p) for p in sprung)
    traps = {t.target for t in expected.must_not_propose}
    result.unexpected = sorted(k for k in by_target if k not in wanted | traps)
    for p in proposals:  # proposal by proposal: a second check proposing on a planted target was not asked for
        if id(p) not in accounted:
            tally = result.check(p.rule)
            tally.unexpected += 1
            tally.unexpected_targets.append(f"{name}: {key(p)}")
    return result


def tally_checks(scores: Iterable[ScenarioScore]) -> list[CheckTally]:
    """Per-check totals over many scenarios, by rule name."""
    totals: dict[str, CheckTally] = {}
    for s in scores:
        for rule, tally in s.checks.items():
            totals[rule] = totals[rule].merged(tally) if rule in totals else tally
    return [totals[r] for r in sorted(totals)]
