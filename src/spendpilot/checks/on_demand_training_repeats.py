"""SageMaker training jobs of one family that run on demand again and again.

A nightly retrain, a hyperparameter sweep's trials, a scheduled evaluation: launched by a
pipeline with the same name prefix (the SageMaker Python SDK names jobs
``<base>-YYYY-MM-DD-HH-MM-SS-mmm``) or the same family tag. When such a family runs on demand
often enough, managed spot training is the standard lever, and the jobs' own history says how
many instance-hours it would apply to.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime

from pydantic import BaseModel, Field

from spendpilot.actions.managed_spot_training import FAMILY, ManagedSpotFacts
from spendpilot.adapters.aws.sagemaker_training import TRAINING_JOB
from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, Resource, ResourceRef, Snapshot
from spendpilot.savings.pricebook import PriceBook

_RUN_SUFFIX = re.compile(r"(-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}(-\d{3})?|-\d{6,}|-\d{1,5}|-[0-9a-f]{8,})$")
"""What a launcher appends per run: the SDK's timestamp, a date or epoch, a run counter, a hash."""


def family_of(name: str) -> str:
    base = name
    while (stripped := _RUN_SUFFIX.sub("", base)) != base and stripped:
        base = stripped
    return base


class OnDemandRepeatsSettings(BaseModel):
    enabled: bool = True
    min_runs: int = Field(4, ge=2, description="On-demand runs of one family in the window before it is proposed.")
    window_days: int = Field(30, ge=1, description="History considered (the AWS source reads training_history_days).")
    family_tag: str | None = Field(
        None, description="Tag whose value names a job's family (e.g. 'pipeline'); unset or absent: the job name "
        "without its per-run suffix.",
    )
    ignore_tag: str = Field("spendpilot:ignore", description="Jobs with this tag are left out.")


def _run_hours(a: dict) -> float | None:
    if a.get("billable_seconds"):
        return float(a["billable_seconds"]) / 3600
    if a.get("training_seconds"):
        return float(a["training_seconds"]) / 3600
    if a.get("started_at") and a.get("ended_at"):
        return (datetime.fromisoformat(a["ended_at"]) - datetime.fromisoformat(a["started_at"])).total_seconds() / 3600
    return None


@register_check(
    "on_demand_training_repeats",
    action_kind="managed_spot_training",
    settings=OnDemandRepeatsSettings,
    facts=ManagedSpotFacts,
    description="SageMaker training job families run on demand repeatedly (default 4 runs in 30 days): advice to use "
    "managed spot training with checkpoints.",
)
def find_on_demand_training_repeats(
    snapshot: Snapshot, settings: OnDemandRepeatsSettings, prices: PriceBook
) -> list[Finding[ManagedSpotFacts]]:
    since = snapshot.taken_at.timestamp() - settings.window_days * 86400
    families: dict[tuple[str, str, str | None, str, int], list[Resource]] = defaultdict(list)
    spot_families: set[str] = set()
    for res in snapshot.of_kind(TRAINING_JOB):
        a = res.attributes
        if settings.ignore_tag in res.tags or a.get("heterogeneous") or not a.get("instance_type"):
            continue
        created = a.get("created_at") or a.get("started_at")
        if not created or datetime.fromisoformat(created).timestamp() < since:
            continue
        tagged = res.tags.get(settings.family_tag) if settings.family_tag else None
        family = tagged or family_of(res.ref.id)
        grouped_by = f"tag {settings.family_tag}" if tagged else "name prefix"
        if a.get("managed_spot"):
            spot_families.add(family)  # already on spot (at least partly): nothing to advise
            continue
        if a.get("status") not in ("Completed", "Stopped", "Failed") or _run_hours(a) is None:
            continue
        families[(family, grouped_by, res.ref.region, a["instance_type"], int(a["instance_count"]))].append(res)
    findings: list[Finding[ManagedSpotFacts]] = []
    for (family, grouped_by, region, itype, count), runs in sorted(families.items(), key=lambda kv: kv[0][:2]):
        if family in spot_families or len(runs) < settings.min_runs:
            continue
        hours = [_run_hours(r.attributes) or 0.0 for r in runs]
        runs_sorted = sorted(runs, key=lambda r: r.attributes.get("created_at") or "")
        latest = runs_sorted[-1]
        ref = ResourceRef(provider="aws", kind=FAMILY, id=family, name=family, region=region, account=latest.ref.account)
        facts = ManagedSpotFacts(
            family=family, grouped_by=grouped_by, region=region, instance_type=itype, instance_count=count,
            runs=len(runs), window_days=settings.window_days, billable_hours=round(sum(hours) * count, 2),
            longest_run_hours=round(max(hours), 2), max_runtime_seconds=latest.attributes.get("max_runtime_seconds"),
            checkpoint_s3_uri=latest.attributes.get("checkpoint_s3_uri"),
            job_names=tuple(r.ref.id for r in runs_sorted),
        )
        findings.append(Finding(
            resource=Resource(ref=ref, tags=dict(latest.tags), attributes={"latest_job": latest.ref.id}),
            summary=f"SageMaker training family '{family}' ran {len(runs)} times on demand in {settings.window_days} days "
                    f"({facts.billable_hours:.0f} instance-hours of {itype})",
            facts=facts,
            evidence=[
                Evidence(label="On-demand runs", value=f"{len(runs)} in {settings.window_days} days (at least "
                         f"{settings.min_runs}): {', '.join(facts.job_names[-3:])}{' …' if len(runs) > 3 else ''}",
                         source=f"SageMaker ListTrainingJobs + DescribeTrainingJob, grouped by {grouped_by}"),
                Evidence(label="Instance-hours billed", value=f"{facts.billable_hours:.1f} ({count} x {itype}; longest run "
                         f"{facts.longest_run_hours:.1f} h)",
                         source="DescribeTrainingJob BillableTimeInSeconds (else TrainingTimeInSeconds, else end - start)"),
                Evidence(label="Managed spot", value="EnableManagedSpotTraining=false on every run",
                         source="SageMaker DescribeTrainingJob"),
                Evidence(label="Checkpoints", value=facts.checkpoint_s3_uri or "none configured (needed before spot)",
                         source="SageMaker DescribeTrainingJob CheckpointConfig"),
            ],
        ))
    return findings
