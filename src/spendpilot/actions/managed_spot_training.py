"""Advice: run a repeatedly launched on-demand SageMaker training job family on managed spot.

Advisory because the change is in whoever launches the jobs (a pipeline definition, an SDK
``Estimator``), and it is only safe when the training code saves and resumes from checkpoints:
a spot interruption restarts the job, which without checkpoints starts from scratch. The runbook
names the exact request fields (SageMaker API Reference, CreateTrainingJob; Developer Guide,
"Managed Spot Training in Amazon SageMaker AI").
"""

from __future__ import annotations

from pydantic import Field

from spendpilot.actions.advisory import AdvisoryAction
from spendpilot.actions.base import register_action
from spendpilot.domain import Facts, Finding

FAMILY = "sagemaker_training_family"
"""The ``ResourceRef.kind`` of a family of training jobs (one name prefix or family tag); id: the family."""


class ManagedSpotFacts(Facts):
    family: str
    grouped_by: str = Field(..., description="How runs were grouped: 'name prefix' or 'tag <key>'.")
    region: str | None = None
    instance_type: str
    instance_count: int = Field(..., ge=1)
    runs: int = Field(..., ge=1)
    window_days: float = Field(..., gt=0)
    billable_hours: float = Field(..., ge=0, description="Instance-count x hours billed on demand by those runs.")
    longest_run_hours: float = Field(..., ge=0)
    max_runtime_seconds: int | None = None
    checkpoint_s3_uri: str | None = None
    job_names: tuple[str, ...] = ()


@register_action("managed_spot_training")
class ManagedSpotTrainingAdvice(AdvisoryAction[ManagedSpotFacts]):
    facts_model = ManagedSpotFacts

    def runbook(self, finding: Finding[ManagedSpotFacts]) -> list[str]:
        f = finding.facts
        runtime = f.max_runtime_seconds or max(3600, int(f.longest_run_hours * 3600 * 2))
        max_wait = max(runtime, int(f.longest_run_hours * 3600 * 2))
        checkpoint = f.checkpoint_s3_uri or f"s3://<your-bucket>/checkpoints/{f.family}/"
        return [
            f"In whatever launches the '{f.family}' training jobs ({f.runs} on-demand runs of {f.instance_count} x "
            f"{f.instance_type} in {f.window_days:g} days), set EnableManagedSpotTraining=true in CreateTrainingJob "
            "(SageMaker Python SDK Estimator: use_spot_instances=True).",
            f"Set StoppingCondition.MaxWaitTimeInSeconds={max_wait} (SDK: max_wait={max_wait}); it must be >= "
            f"MaxRuntimeInSeconds={runtime} and covers time waiting for spot capacity (twice the longest run, "
            f"{f.longest_run_hours:.1f} h, here).",
            f"Set CheckpointConfig.S3Uri={checkpoint} and CheckpointConfig.LocalPath=/opt/ml/checkpoints "
            f"(SDK: checkpoint_s3_uri='{checkpoint}'), and make the training code save to /opt/ml/checkpoints "
            "periodically and resume from the newest checkpoint there when it starts: an interrupted spot job is "
            "restarted, and without checkpoints it starts over.",
            "After the next run, check DescribeTrainingJob: BillableTimeInSeconds below TrainingTimeInSeconds is "
            "the saving; frequent restarts in SecondaryStatusTransitions mean spot capacity for this type is scarce "
            "(revert, or try another instance type).",
        ]

    def describe(self, finding: Finding[ManagedSpotFacts]) -> str:
        f = finding.facts
        return (f"Run the '{f.family}' SageMaker training jobs ({f.instance_count} x {f.instance_type}) on managed "
                "spot with checkpoints")
