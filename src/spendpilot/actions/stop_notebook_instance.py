"""Stop an idle SageMaker notebook instance; the rollback starts it again.

Stopping ends the instance-hours and keeps the ML storage volume (and so every file in the
notebook's home); ``StartNotebookInstance`` brings back the same notebook, same type, same files,
minutes later. What is lost: whatever ran only in memory (a live kernel's variables).

Before stopping, the executor compares the notebook with what the sweep saw (InService, the same
instance type and tags), then re-reads its Jupyter log: a line written after the sweep's
measurement means someone is using it now, and nothing is stopped.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import AwareDatetime, Field

from spendpilot.actions.base import Action, ActionContext, register_action
from spendpilot.domain import ActionPlan, Facts, Finding, ResourceRef, Risk

if TYPE_CHECKING:
    from spendpilot.adapters.aws.client import AwsAdapter

NO_ACTIVITY = "no_jupyter_activity"
"""The ``preconditions`` key of the forward plan: no Jupyter log line since the last one the sweep saw."""
_STOPPED = ("Stopping", "Stopped")
_STARTED = ("Pending", "InService")


class StopNotebookFacts(Facts):
    instance_type: str
    region: str | None = None
    last_activity_at: AwareDatetime = Field(..., description="The newest line of the notebook's jupyter.log.")
    idle_hours: float = Field(..., ge=0)
    in_service_since: AwareDatetime | None = None
    """LastModifiedTime: its last start or update (not its last use)."""
    measured_until: AwareDatetime


@register_action("stop_notebook_instance")
class StopNotebookInstance(Action[StopNotebookFacts]):
    facts_model = StopNotebookFacts
    permissions = (
        "sagemaker:DescribeNotebookInstance",
        "sagemaker:ListTags",
        "sagemaker:StopNotebookInstance",
        "sagemaker:StartNotebookInstance",
        "logs:DescribeLogStreams",
    )
    resources = ("arn:aws:sagemaker:*:*:notebook-instance/*",)

    def risk(self, finding: Finding[StopNotebookFacts]) -> Risk:
        return Risk.LOW  # files stay on the volume; a start brings it back

    def build_plan(self, finding: Finding[StopNotebookFacts]) -> ActionPlan:
        res, facts = finding.resource, finding.facts
        name = res.ref.id
        tags = dict(sorted(res.tags.items()))
        rollback = ActionPlan(
            action=self.kind, target=res.ref,
            change={"notebook": "started"},
            expected_pre_state={"status": "Stopped", "instance_type": facts.instance_type, "tags": tags},
            rollback_description=f"Stop notebook instance {name} again.",
            description=f"Start SageMaker notebook instance {name} ({facts.instance_type}) again; its files are on its volume.",
            permissions=list(self.permissions),
        )
        return ActionPlan(
            action=self.kind, target=res.ref,
            change={"notebook": "stopped"},
            expected_pre_state={"status": "InService", "instance_type": facts.instance_type, "tags": tags},
            rollback=rollback,
            rollback_description=(
                f"Start notebook instance {name} again (`spendpilot rollback`): same type, same files on its "
                "ML storage volume, InService minutes later; kernels' in-memory state is not restored."
            ),
            description=(
                f"Stop SageMaker notebook instance {name} ({facts.instance_type}), no Jupyter activity for "
                f"{facts.idle_hours:.0f} h; its ML storage volume and files are kept."
            ),
            permissions=list(self.permissions),
            preconditions={NO_ACTIVITY: {"last_activity_at": facts.last_activity_at.isoformat(),
                                         "measured_until": facts.measured_until.isoformat()}},
        )

    def read_state(self, ctx: ActionContext, target: ResourceRef) -> dict[str, Any] | None:
        aws: AwsAdapter = ctx.target(target)
        nb = aws.sagemaker_notebooks.describe(target.id)
        if nb is None:
            return None
        return {
            "status": nb.attributes["status"],
            "instance_type": nb.attributes["instance_type"],
            "tags": dict(sorted(nb.tags.items())),
        }

    def evidence_differences(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, tuple[Any, Any]]:
        assumed = plan.preconditions.get(NO_ACTIVITY)
        if not assumed:
            return {}
        aws: AwsAdapter = ctx.target(plan.target)
        last = aws.sagemaker_notebooks.last_jupyter_activity(plan.target.id)
        before = datetime.fromisoformat(assumed["last_activity_at"])
        if last is not None and last > before:
            return {"jupyter.log last event": (f"{before:%Y-%m-%d %H:%M} UTC (the sweep's)", f"{last:%Y-%m-%d %H:%M} UTC")}
        return {}

    def apply(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, Any]:
        aws: AwsAdapter = ctx.target(plan.target)
        if plan.change.get("notebook") == "started":
            return {"status_after_call": aws.sagemaker_notebooks.start(plan.target.id)}
        return {"status_after_call": aws.sagemaker_notebooks.stop(plan.target.id)}

    def is_applied(self, state: dict[str, Any] | None, plan: ActionPlan) -> bool:
        if state is None:
            return False
        wanted = _STARTED if plan.change.get("notebook") == "started" else _STOPPED
        return state.get("status") in wanted
