"""Stop a SageMaker training job that has run past its time-to-live.

This change cannot be undone, and the plan says so: SageMaker has no "resume" for a stopped
training job. ``StopTrainingJob`` gives the training code SIGTERM and up to 120 seconds to save
its model artifacts, then the job is ``Stopped`` for good. Getting the work back means a new
``CreateTrainingJob`` (a new name) that starts from the job's last checkpoint, when it wrote one
(``CheckpointConfig.S3Uri``), or from scratch. So the plan carries no rollback plan, names the
checkpoint location (or its absence) in its rollback description, and its risk is high.

Before stopping, the executor compares the job with what the sweep saw: still ``InProgress``,
the same instance type and count, and the same tags (a ``production`` tag added since approval
stops the execution as drift).

The emulator (moto 5.2.5) has no ``StopTrainingJob``: the apply, verify and drift paths are tested
against a local server that speaks SageMaker's documented JSON shape (``docs/aws-ml.md``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import AwareDatetime, Field

from spendpilot.actions.base import Action, ActionContext, register_action
from spendpilot.adapters.aws.sagemaker_training import STOPPED
from spendpilot.domain import ActionPlan, Facts, Finding, ResourceRef, Risk

if TYPE_CHECKING:
    from spendpilot.adapters.aws.client import AwsAdapter


class StopTrainingJobFacts(Facts):
    """What stopping a training job needs to be planned, estimated and re-checked."""

    instance_type: str
    instance_count: int = Field(..., ge=1)
    region: str | None = None
    started_at: AwareDatetime
    running_hours: float = Field(..., ge=0, description="Hours the job had run when the sweep looked.")
    ttl_hours: float = Field(..., gt=0, description="The time-to-live it exceeded.")
    limit_hours: float | None = Field(
        None, gt=0,
        description="When SageMaker would stop it anyway, in hours from its start: MaxRuntimeInSeconds "
        "(on-demand) or MaxWaitTimeInSeconds (managed spot); None when the job states neither.",
    )
    managed_spot: bool = False
    checkpoint_s3_uri: str | None = None
    measured_until: AwareDatetime


@register_action("stop_training_job")
class StopTrainingJob(Action[StopTrainingJobFacts]):
    facts_model = StopTrainingJobFacts
    permissions = (
        "sagemaker:DescribeTrainingJob",
        "sagemaker:ListTags",
        "sagemaker:StopTrainingJob",
    )
    resources = ("arn:aws:sagemaker:*:*:training-job/*",)

    def risk(self, finding: Finding[StopTrainingJobFacts]) -> Risk:
        return Risk.HIGH  # irreversible: a stopped training job cannot be resumed

    def build_plan(self, finding: Finding[StopTrainingJobFacts]) -> ActionPlan:
        res, facts = finding.resource, finding.facts
        name = res.ref.id
        shape = f"{facts.instance_count} x {facts.instance_type}"
        if facts.checkpoint_s3_uri:
            back = (f"re-run it with CreateTrainingJob (a new name) resuming from its checkpoints in "
                    f"{facts.checkpoint_s3_uri}")
        else:
            back = "re-run it with CreateTrainingJob (a new name) from scratch: it writes no checkpoints (no CheckpointConfig)"
        return ActionPlan(
            action=self.kind,
            target=res.ref,
            change={"training_job": "stopped"},
            expected_pre_state={
                "status": "InProgress",
                "instance_type": facts.instance_type,
                "instance_count": facts.instance_count,
                "tags": dict(sorted(res.tags.items())),
            },
            rollback=None,
            rollback_description=(
                f"IRREVERSIBLE: SageMaker cannot resume a stopped training job. To get the work back, {back}. "
                "Stopping gives the training code SIGTERM and up to 120 s to save its model artifacts."
            ),
            description=(
                f"Stop SageMaker training job {name} ({shape}{', managed spot' if facts.managed_spot else ''}), "
                f"running {facts.running_hours:.0f} h against a {facts.ttl_hours:g} h time-to-live. Cannot be undone."
            ),
            permissions=list(self.permissions),
        )

    def read_state(self, ctx: ActionContext, target: ResourceRef) -> dict[str, Any] | None:
        aws: AwsAdapter = ctx.target(target)
        job = aws.sagemaker_training.describe_job(target.id)
        if job is None:
            return None
        return {
            "status": job.attributes["status"],
            "instance_type": job.attributes["instance_type"],
            "instance_count": job.attributes["instance_count"],
            "tags": dict(sorted(job.tags.items())),
        }

    def apply(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, Any]:
        aws: AwsAdapter = ctx.target(plan.target)
        return {"status_after_call": aws.sagemaker_training.stop_job(plan.target.id)}

    def is_applied(self, state: dict[str, Any] | None, plan: ActionPlan) -> bool:
        return state is not None and state.get("status") in STOPPED
