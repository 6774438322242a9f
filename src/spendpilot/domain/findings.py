"""What checks find and what estimators make of it."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from spendpilot.domain.money import Money
from spendpilot.domain.resources import Resource


class Evidence(BaseModel):
    """One fact behind a finding or an estimate, with where it came from."""

    label: str
    value: str
    source: str


class Facts(BaseModel):
    """The typed contract between a check, its estimator and its action.

    Each check declares a subclass; an estimator or action declares the (base) facts type it
    accepts, and start-up validation refuses a check whose facts its action or estimator cannot
    read. Unknown fields are an error, so a misspelt key fails where it is written.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")


F = TypeVar("F", bound=Facts)


class Finding(BaseModel, Generic[F]):
    """A deterministic check's verdict on one resource.

    ``rule`` and ``action_kind`` are stamped by the check registry; ``facts`` carries the
    numbers the estimator and the action need; ``evidence`` is what a human reads.
    """

    resource: Resource
    summary: str
    facts: F
    evidence: list[Evidence] = Field(default_factory=list)
    rule: str = ""
    action_kind: str = ""


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

    def negated(self) -> Estimate:
        """The same range as a cost: what undoing a change gives back."""
        return self.model_copy(
            update={"low": self.high * -1, "expected": self.expected * -1, "high": self.low * -1}
        )
