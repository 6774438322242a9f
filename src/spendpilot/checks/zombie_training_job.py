"""A SageMaker training job still running long past the time anyone expected it to take.

Training jobs end when their code exits; one whose code hangs keeps every instance billed until
SageMaker stops it at ``MaxRuntimeInSeconds`` (up to 28 days). The rule: ``InProgress`` for
longer than a time-to-live (default 24 h), unless tagged as production work or to be ignored.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from spendpilot.actions.stop_training_job import StopTrainingJobFacts
from spendpilot.adapters.aws.sagemaker_training import TRAINING_JOB
from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, Snapshot
from spendpilot.savings.pricebook import PriceBook


class ZombieTrainingJobSettings(BaseModel):
    enabled: bool = True
    ttl_hours: float = Field(24.0, gt=0, description="A job InProgress longer than this (from its TrainingStartTime) is a zombie.")
    production_tags: dict[str, list[str]] = Field(
        default_factory=lambda: {"env": ["prod", "production"], "environment": ["prod", "production"]},
        description="Tag key -> values (case-insensitive) that mark production training, never proposed: "
        "a long foundation-model run is expected to take weeks.",
    )
    ignore_tag: str = Field("spendpilot:ignore", description="Jobs with this tag are skipped.")


def _production(tags: dict[str, str], marks: dict[str, list[str]]) -> str | None:
    lowered = {k.lower(): v for k, v in tags.items()}
    for key, values in marks.items():
        value = lowered.get(key.lower())
        if value is not None and value.lower() in {v.lower() for v in values}:
            return f"{key}={value}"
    return None


@register_check(
    "zombie_training_job",
    action_kind="stop_training_job",
    settings=ZombieTrainingJobSettings,
    facts=StopTrainingJobFacts,
    description="SageMaker training jobs InProgress past their time-to-live (default 24 h), unless tagged production.",
)
def find_zombie_training_jobs(
    snapshot: Snapshot, settings: ZombieTrainingJobSettings, prices: PriceBook
) -> list[Finding[StopTrainingJobFacts]]:
    findings: list[Finding[StopTrainingJobFacts]] = []
    for res in snapshot.of_kind(TRAINING_JOB):
        a = res.attributes
        if a.get("status") != "InProgress" or settings.ignore_tag in res.tags:
            continue
        if _production(res.tags, settings.production_tags) is not None:
            continue
        started_raw = a.get("started_at") or a.get("created_at")
        if not started_raw or not a.get("instance_type") or not a.get("instance_count"):
            continue  # still provisioning (no start time) or an unknown shape: nothing to say yet
        started = datetime.fromisoformat(started_raw)
        hours = (snapshot.taken_at - started).total_seconds() / 3600
        if hours <= settings.ttl_hours:
            continue
        spot = bool(a.get("managed_spot"))
        limit_s = a.get("max_wait_seconds") if spot and a.get("max_wait_seconds") else a.get("max_runtime_seconds")
        limit_h = limit_s / 3600 if limit_s else None
        shape = f"{a['instance_count']} x {a['instance_type']}"
        evidence = [
            Evidence(
                label="Running for",
                value=f"{hours:.1f} h since {started:%Y-%m-%d %H:%M} UTC (time-to-live {settings.ttl_hours:g} h); "
                f"status {a['status']}/{a.get('secondary_status') or '?'}",
                source="SageMaker DescribeTrainingJob TrainingJobStatus, SecondaryStatus, TrainingStartTime",
            ),
            Evidence(
                label="Instances billed",
                value=f"{shape}{' (managed spot)' if spot else ' (on demand)'}",
                source="SageMaker DescribeTrainingJob ResourceConfig, EnableManagedSpotTraining",
            ),
            Evidence(
                label="SageMaker stops it anyway at",
                value=(f"{limit_h:.0f} h after its start ({'MaxWaitTimeInSeconds' if spot else 'MaxRuntimeInSeconds'} "
                       f"{limit_s}), {max(0.0, limit_h - hours):.0f} h from now") if limit_h else "no limit stated",
                source="SageMaker DescribeTrainingJob StoppingCondition",
            ),
            Evidence(
                label="Checkpoints",
                value=a.get("checkpoint_s3_uri") or "none configured: stopping loses the run's progress",
                source="SageMaker DescribeTrainingJob CheckpointConfig",
            ),
        ]
        findings.append(Finding(
            resource=res,
            summary=f"SageMaker training job '{res.ref.id}' ({shape}) has run {hours:.0f} h, past its "
                    f"{settings.ttl_hours:g} h time-to-live",
            facts=StopTrainingJobFacts(
                instance_type=a["instance_type"], instance_count=int(a["instance_count"]), region=res.ref.region,
                started_at=started, running_hours=round(hours, 2), ttl_hours=settings.ttl_hours,
                limit_hours=limit_h, managed_spot=spot, checkpoint_s3_uri=a.get("checkpoint_s3_uri"),
                measured_until=snapshot.taken_at,
            ),
            evidence=evidence,
        ))
    return findings
