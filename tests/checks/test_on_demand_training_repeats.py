"""Training job families run on demand again and again: advice to use managed spot training,
with the saving from the jobs' own history; a family already on spot and a family run twice are
not proposed. Jobs are created in the emulator (moto creates them ``Completed``) and their run
times set in-process (``scenarios/emulator_ml.py``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import boto3

from spendpilot.actions.advisory import is_advisory
from spendpilot.checks.on_demand_training_repeats import family_of
from spendpilot.config import Settings
from spendpilot.domain import ProposalStatus, utcnow
from spendpilot.runtime import build_services
from spendpilot.scenarios.emulator_ml import set_training_job_ran

H = timedelta(hours=1)
DAY = timedelta(days=1)


def create_job(endpoint: str, name: str, *, started: datetime, hours: float, itype: str = "ml.g5.2xlarge",
               count: int = 1, spot: bool = False, tags: dict[str, str] | None = None) -> None:
    sm = boto3.client("sagemaker", endpoint_url=endpoint, region_name="us-east-1")
    stopping: dict[str, int] = {"MaxRuntimeInSeconds": 12 * 3600}
    if spot:
        stopping["MaxWaitTimeInSeconds"] = 24 * 3600
    sm.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.3",
                                "TrainingInputMode": "File"},
        RoleArn="arn:aws:iam::123456789012:role/sagemaker-training",
        OutputDataConfig={"S3OutputPath": "s3://ml-artifacts/output"},
        ResourceConfig={"InstanceType": itype, "InstanceCount": count, "VolumeSizeInGB": 100},
        StoppingCondition=stopping, EnableManagedSpotTraining=spot,
        Tags=[{"Key": k, "Value": v} for k, v in (tags or {"team": "ml"}).items()],
    )
    set_training_job_ran(name, started, started + hours * H)


def _org(endpoint: str, now: datetime) -> None:
    for n in range(8):  # planted: nightly, 2 x ml.g5.2xlarge, 5 h, on demand
        at = now - (n + 1) * DAY
        create_job(endpoint, f"nightly-retrain-{at:%Y-%m-%d-%H-%M-%S}-{n:03d}", started=at, hours=5, count=2)
    for n in range(5):  # trap: already on managed spot
        create_job(endpoint, f"hpo-sweep-{n:04d}", started=now - (n + 1) * 2 * DAY, hours=2, spot=True)
    for n in range(2):  # trap: run twice, not a pattern yet
        create_job(endpoint, f"adhoc-experiment-{n}", started=now - (n + 3) * DAY, hours=10)
    for n in range(5):  # trap: runs older than the 30-day window
        create_job(endpoint, f"q3-backfill-{n}", started=now - (40 + n) * DAY, hours=4)


def test_family_names_drop_the_per_run_suffix() -> None:
    assert family_of("nightly-retrain-2026-11-28-03-00-12-123") == "nightly-retrain"
    assert family_of("hpo-sweep-0042") == "hpo-sweep"
    assert family_of("churn-xgb-a1b2c3d4e5") == "churn-xgb"
    assert family_of("eval-1764000000") == "eval"


def test_the_nightly_family_gets_managed_spot_advice_with_its_history_saving(aws_endpoint: str, tmp_path: Path) -> None:
    now = utcnow()
    _org(aws_endpoint, now)
    services = build_services(Settings(home=tmp_path, aws={"endpoint_url": aws_endpoint}))
    services.sweep()
    proposals = [p for p in services.list_proposals([ProposalStatus.PENDING]) if p.rule == "on_demand_training_repeats"]
    assert [p.target.id for p in proposals] == ["nightly-retrain"]
    [p] = proposals
    assert is_advisory(p.plan) and p.plan.permissions == [] and p.risk.value == "low"
    runbook = " ".join(p.plan.change["runbook"])
    for field in ("EnableManagedSpotTraining=true", "MaxWaitTimeInSeconds=43200", "MaxRuntimeInSeconds=43200",
                  "CheckpointConfig.S3Uri=s3://<your-bucket>/checkpoints/nightly-retrain/", "/opt/ml/checkpoints"):
        assert field in runbook, field
    # 8 runs x 5 h x 2 instances = 80 instance-h in 30 days; 80 x 1.515 = 121.20 a month on demand;
    # g5 spot share 0.42 typical (0.30-0.65): 121.20 x 0.58 = 70.30, x 0.35 = 42.42, x 0.70 = 84.84
    assert (str(p.estimate.low.rounded()), str(p.estimate.expected.rounded()), str(p.estimate.high.rounded())) == (
        "$42.42", "$70.30", "$84.84")
    outcome = services.approve(p.id, by="alice")
    assert outcome.status is ProposalStatus.EXECUTED, outcome.message
    assert "Handed over: spendpilot changed nothing" in outcome.message and "verified" not in outcome.message
    sm = boto3.client("sagemaker", endpoint_url=aws_endpoint, region_name="us-east-1")
    jobs = sm.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]
    assert not any(sm.describe_training_job(TrainingJobName=j["TrainingJobName"])["EnableManagedSpotTraining"]
                   for j in jobs if j["TrainingJobName"].startswith("nightly")), "advice changes nothing"
