"""Old EBS snapshots against the emulator: found past retention, deleted and verified, never
"rolled back"; snapshots an AMI uses, young ones, kept ones and lifecycle-managed ones are left.

Snapshots' ``StartTime`` is set in the in-process emulator (``scenarios/emulator_ml.py``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import boto3
import pytest

from spendpilot.actions import ActionContext, get_action
from spendpilot.actions.base import pre_state_differences
from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.adapters.base import Targets, build_sources
from spendpilot.checks.registry import all_checks
from spendpilot.config import Settings
from spendpilot.domain import ProposalStatus, Snapshot, utcnow
from spendpilot.errors import InvalidTransition
from spendpilot.runtime import build_services
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import estimate as estimate_of
from spendpilot.scenarios.emulator_ml import backdate_snapshot

ACTION = get_action("delete_ebs_snapshot")
CHECK = all_checks()["old_ebs_snapshot"]
DAY = timedelta(days=1)


def _snap(ec2: object, volume: str, *, age_days: float, now: datetime, tags: dict[str, str] | None = None) -> str:
    kwargs: dict[str, object] = {"VolumeId": volume, "Description": "experiment"}
    if tags:
        kwargs["TagSpecifications"] = [{"ResourceType": "snapshot", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    sid: str = ec2.create_snapshot(**kwargs)["SnapshotId"]  # type: ignore[attr-defined]
    backdate_snapshot(sid, now - age_days * DAY)
    return sid


def _org(endpoint: str, now: datetime) -> dict[str, str]:
    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1")
    gone = ec2.create_volume(AvailabilityZone="us-east-1a", Size=500, VolumeType="gp3")["VolumeId"]
    kept = ec2.create_volume(AvailabilityZone="us-east-1a", Size=200, VolumeType="gp3")["VolumeId"]
    out = {
        "orphan": _snap(ec2, gone, age_days=200, now=now),  # planted: 200 days, its volume deleted since
        "young": _snap(ec2, kept, age_days=30, now=now),  # trap: within retention
        "kept": _snap(ec2, kept, age_days=400, now=now, tags={"keep": "audit 2025"}),  # trap: tagged to keep
        "dlm": _snap(ec2, kept, age_days=400, now=now, tags={"aws:dlm:lifecycle-policy-id": "policy-0abc"}),  # trap
    }
    ec2.delete_volume(VolumeId=gone)
    # trap: an AMI's root snapshot, old
    ami_image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=ami_image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    golden = ec2.create_image(InstanceId=instance, Name="golden-train-ami")["ImageId"]
    [root] = [m["Ebs"]["SnapshotId"] for m in ec2.describe_images(ImageIds=[golden])["Images"][0]["BlockDeviceMappings"]]
    backdate_snapshot(root, now - 300 * DAY)
    out["ami"] = root
    return out


def _findings(endpoint: str, now: datetime) -> list:
    snaps = AwsAdapter(endpoint_url=endpoint).ebs_snapshots.list_snapshots()
    return CHECK.run(Snapshot(taken_at=now, resources=snaps), CHECK.settings(), PriceBook.bundled())


def test_only_the_orphaned_old_snapshot_is_proposed_with_its_full_size_priced(aws_endpoint: str) -> None:
    now = utcnow()
    ids = _org(aws_endpoint, now)
    snaps = AwsAdapter(endpoint_url=aws_endpoint).ebs_snapshots.list_snapshots()
    assert {s.ref.id for s in snaps} >= set(ids.values())
    assert all(s.ref.account == "123456789012" for s in snaps), "other accounts' (public AMI) snapshots are dropped"
    [finding] = CHECK.run(Snapshot(taken_at=now, resources=snaps), CHECK.settings(), PriceBook.bundled())
    assert finding.resource.ref.id == ids["orphan"]
    assert finding.facts.volume_exists is False and finding.facts.snapshots_of_same_volume == 1
    assert ACTION.risk(finding).value == "high"  # the data's last copy
    estimate = estimate_of(finding, PriceBook.bundled())
    assert estimate is not None
    assert str(estimate.expected.rounded()) == "$25.00" == str(estimate.high.rounded())  # 500 GiB x 0.05
    assert str(estimate.low.rounded()) == "$2.50"


def test_shared_blocks_lower_the_expected_saving(aws_endpoint: str) -> None:
    now = utcnow()
    ids = _org(aws_endpoint, now)
    findings = {f.resource.ref.id: f for f in _findings(aws_endpoint, now)}
    assert set(findings) == {ids["orphan"]}
    # With a shorter retention the 30-day snapshot of the kept 200 GiB volume qualifies; three snapshots share its blocks.
    snaps = AwsAdapter(endpoint_url=aws_endpoint).ebs_snapshots.list_snapshots()
    [young] = [f for f in CHECK.run(Snapshot(taken_at=now, resources=snaps), CHECK.settings({"retention_days": 20}),
                                    PriceBook.bundled()) if f.resource.ref.id == ids["young"]]
    assert young.facts.volume_exists and young.facts.snapshots_of_same_volume == 3
    assert ACTION.risk(young).value == "medium"
    estimate = estimate_of(young, PriceBook.bundled())
    assert estimate is not None and str(estimate.expected.rounded()) == "$2.50"  # 200 x 0.05 x 25 %
    assert str(estimate.high.rounded()) == "$10.00"


def test_delete_is_applied_verified_and_refuses_a_rollback(aws_endpoint: str, tmp_path: Path) -> None:
    now = utcnow()
    ids = _org(aws_endpoint, now)
    services = build_services(Settings(home=tmp_path, aws={"endpoint_url": aws_endpoint}))
    services.sweep()
    [proposal] = [p for p in services.list_proposals([ProposalStatus.PENDING]) if p.rule == "old_ebs_snapshot"]
    assert proposal.target.id == ids["orphan"]
    assert proposal.plan.rollback is None and proposal.plan.rollback_description.startswith("IRREVERSIBLE")
    outcome = services.approve(proposal.id, by="alice")
    assert outcome.status is ProposalStatus.EXECUTED and outcome.verified, outcome.message
    left = {s["SnapshotId"] for s in boto3.client("ec2", endpoint_url=aws_endpoint, region_name="us-east-1")
            .describe_snapshots(OwnerIds=["self"])["Snapshots"]}
    assert ids["orphan"] not in left and {ids["young"], ids["kept"], ids["dlm"], ids["ami"]} <= left
    with pytest.raises(InvalidTransition, match="IRREVERSIBLE"):
        services.rollback(proposal.id, by="alice")


def test_a_keep_tag_added_after_the_sweep_is_drift(aws_endpoint: str, tmp_path: Path) -> None:
    now = utcnow()
    ids = _org(aws_endpoint, now)
    [finding] = _findings(aws_endpoint, now)
    plan = ACTION.build_plan(finding)
    ctx = ActionContext(targets=Targets(build_sources([{"kind": "aws", "endpoint_url": aws_endpoint}], tmp_path)))
    assert pre_state_differences(plan.expected_pre_state, ACTION.read_state(ctx, plan.target)) == {}
    boto3.client("ec2", endpoint_url=aws_endpoint, region_name="us-east-1").create_tags(
        Resources=[ids["orphan"]], Tags=[{"Key": "keep", "Value": "legal asked"}])
    assert set(pre_state_differences(plan.expected_pre_state, ACTION.read_state(ctx, plan.target))) == {"tags"}
