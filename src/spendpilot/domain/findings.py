"""What checks find and what estimators make of it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from spendpilot.domain.money import Money
from spendpilot.domain.resources import Resource


class Evidence(BaseModel):
    """One fact behind a finding or an estimate, with where it came from."""

    label: str
    value: str
    source: str


class Finding(BaseModel):
    """A deterministic check's verdict on one resource.

    ``facts`` carries the numbers the estimator needs; ``evidence`` is what a human reads.
    """

    rule: str
    resource: Resource
    summary: str
    action_kind: str
    facts: dict[str, Any] = Field(default_factory=dict)
    evidence: list[Evidence] = Field(default_factory=list)


class Estimate(BaseModel):
    """Estimated monthly saving: a range, never a single falsely precise number."""

    low: Money
    expected: Money
    high: Money
    formula: str
    inputs: list[Evidence] = Field(default_factory=list)

    def rounded(self) -> Estimate:
        return self.model_copy(
            update={"low": self.low.rounded(), "expected": self.expected.rounded(), "high": self.high.rounded()}
        )
