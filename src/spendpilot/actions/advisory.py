"""Advisory actions: a proposal whose change a human makes, following a runbook.

Some levers cannot be pulled safely through an API (switching a training pipeline to managed
spot needs checkpointing in the training code; trimming a system prompt is an editorial
decision), yet they are worth proposing with a saving, evidence and a risk like any other.
An advisory action plans no change to any resource: its plan's ``change`` is the runbook,
marked ``advisory``. Approving it records that a human accepted the runbook; "executing" it
changes nothing anywhere (no target is contacted, no permission is needed) and is reported
as handed over, not as applied. Whether the human then did it is for realized-savings
measurement to show, not for spendpilot to claim.

A check declares ``action_kind`` of an advisory subclass registered like any other action:

    @register_action("managed_spot_training")
    class ManagedSpotTrainingAdvice(AdvisoryAction[ManagedSpotFacts]):
        facts_model = ManagedSpotFacts
        def runbook(self, finding): return ["Set EnableManagedSpotTraining=true ...", ...]
        def describe(self, finding): return "Run training job family X on managed spot"
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar, TypeVar

from spendpilot.actions.base import Action, ActionContext
from spendpilot.domain import ActionPlan, Facts, Finding, ResourceRef, Risk

F = TypeVar("F", bound=Facts)

ADVISORY = "advisory"
"""Key of ``ActionPlan.change`` marking a plan that spendpilot never applies itself."""


def is_advisory(plan: ActionPlan) -> bool:
    return bool(plan.change.get(ADVISORY))


class AdvisoryAction(Action[F]):
    """Base of every advisory action: subclasses say what to do (``runbook``) and why."""

    permissions: ClassVar[tuple[str, ...]] = ()
    risk_level: ClassVar[Risk] = Risk.LOW
    """Risk of *proposing*: nothing changes until a human acts; subclasses raise it when the
    runbook itself is risky (e.g. it asks for an interruption-tolerant restart)."""

    @abstractmethod
    def runbook(self, finding: Finding[F]) -> list[str]:
        """The steps a human takes, concrete enough to follow (exact settings, not themes)."""

    @abstractmethod
    def describe(self, finding: Finding[F]) -> str:
        """One line: what the change is."""

    def risk(self, finding: Finding[F]) -> Risk:
        return self.risk_level

    def build_plan(self, finding: Finding[F]) -> ActionPlan:
        return ActionPlan(
            action=self.kind,
            target=finding.resource.ref,
            change={ADVISORY: True, "runbook": self.runbook(finding)},
            expected_pre_state={},
            rollback=None,
            rollback_description="Advisory: spendpilot changes nothing, so there is nothing to undo; "
            "undo the runbook's steps by hand if they were taken.",
            description=f"[advisory] {self.describe(finding)}",
            permissions=[],
        )

    def read_state(self, ctx: ActionContext, target: ResourceRef) -> dict[str, Any] | None:
        # Nothing is read: an advisory plan expects no pre-state, so there is nothing to drift.
        return {}

    def apply(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, Any]:
        # Deliberately no target lookup: an advisory plan must run with no write access at all.
        return {ADVISORY: True, "handed_over": True, "steps": len(plan.change.get("runbook", []))}

    def is_applied(self, state: dict[str, Any] | None, plan: ActionPlan) -> bool:
        # "Applied" for an advisory means handed over; the executor's verify has nothing to read.
        return True
