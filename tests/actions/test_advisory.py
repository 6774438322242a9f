"""An advisory plan changes nothing, needs no permission and says so."""

from __future__ import annotations

from spendpilot.actions.advisory import AdvisoryAction, is_advisory
from spendpilot.actions.base import ActionContext
from spendpilot.adapters.base import Targets
from spendpilot.domain import Facts, Finding, Resource, ResourceRef, Risk


class _Facts(Facts):
    family: str


class _Advice(AdvisoryAction[_Facts]):
    facts_model = _Facts

    def runbook(self, finding: Finding[_Facts]) -> list[str]:
        return [f"Set EnableManagedSpotTraining=true on {finding.facts.family}"]

    def describe(self, finding: Finding[_Facts]) -> str:
        return f"Run {finding.facts.family} on managed spot"


def _finding() -> Finding[_Facts]:
    ref = ResourceRef(provider="aws", kind="sagemaker_training_family", id="nightly")
    return Finding(resource=Resource(ref=ref), summary="s", facts=_Facts(family="nightly"))


def test_advisory_plan_is_marked_and_carries_the_runbook() -> None:
    plan = _Advice().build_plan(_finding())
    assert is_advisory(plan)
    assert plan.change["runbook"] == ["Set EnableManagedSpotTraining=true on nightly"]
    assert plan.permissions == [] and plan.rollback is None
    assert plan.description.startswith("[advisory]")
    assert _Advice().risk(_finding()) is Risk.LOW


def test_executing_an_advisory_contacts_no_target() -> None:
    # No target provider at all: any lookup would raise AdapterError.
    ctx = ActionContext(targets=Targets([]))
    action = _Advice()
    plan = action.build_plan(_finding())
    assert action.read_state(ctx, plan.target) == {}
    result = action.apply(ctx, plan)
    assert result == {"advisory": True, "handed_over": True, "steps": 1}
    assert action.is_applied(action.read_state(ctx, plan.target), plan)
