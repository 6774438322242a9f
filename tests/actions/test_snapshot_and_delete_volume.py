"""Snapshot-then-delete of an unattached EBS volume against the emulator: apply, verify, roll back
from the snapshot, and refuse on drift.

boto3 talks HTTP to moto (the ``aws_endpoint`` fixture). moto completes snapshots at once, so the
bounded wait returns on its first look; a snapshot still ``pending`` is answered by
``reply_server`` in the documented EC2 Query/XML shape.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from tests.adapters.reply_server import FAST_AWS, Reply, reply_server

from spendpilot.actions import ActionContext, get_action
from spendpilot.actions.base import pre_state_differences
from spendpilot.actions.snapshot_and_delete_volume import ABSENT, DeleteVolumeFacts
from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.adapters.aws.ebs import (
    RESTORED_FROM_TAG,
    SOURCE_SPEC_TAG,
    SOURCE_VOLUME_TAG,
    decode_spec,
)
from spendpilot.adapters.base import SingleTarget, Targets, build_sources
from spendpilot.config import Settings
from spendpilot.domain import ActionPlan, Finding, ProposalStatus, ResourceRef, utcnow
from spendpilot.domain.metrics import EBS_IDLE_TIME
from spendpilot.errors import AdapterError
from spendpilot.runtime import build_services
from spendpilot.scenarios.emulator import backdate_volume

ACTION = get_action("snapshot_and_delete_volume")
TAGS = {"Name": "old-training-scratch", "team": "ml"}


def _ec2(endpoint: str) -> object:
    return boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1")


def _create(endpoint: str, vtype: str = "gp3", size: int = 200, **extra: int) -> str:
    resp = _ec2(endpoint).create_volume(  # type: ignore[attr-defined]
        AvailabilityZone="us-east-1a", Size=size, VolumeType=vtype,
        TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": k, "Value": v} for k, v in TAGS.items()]}],
        **extra,
    )
    return str(resp["VolumeId"])


@pytest.fixture
def volume(aws_endpoint: str) -> str:
    return _create(aws_endpoint, Iops=4000, Throughput=250)


@pytest.fixture
def aws(aws_endpoint: str) -> AwsAdapter:
    return AwsAdapter(endpoint_url=aws_endpoint)


@pytest.fixture
def ctx(aws_endpoint: str, tmp_path: Path) -> ActionContext:
    """Actions write through the configured AWS source, exactly as the executor's context does."""
    return ActionContext(targets=Targets(build_sources([{"kind": "aws", "endpoint_url": aws_endpoint}], tmp_path)))


def _plan(aws: AwsAdapter, volume_id: str, measured_until: datetime) -> ActionPlan:
    res = aws.ebs.describe_volume(volume_id)
    assert res is not None
    a = res.attributes
    facts = DeleteVolumeFacts(
        volume_type=a["volume_type"], size_gb=a["size_gb"], iops=a["iops"], throughput=a["throughput"],
        availability_zone=a["availability_zone"], region="us-east-1", unattached_since=measured_until - timedelta(days=20),
        unattached_basis="test", measured_until=measured_until,
    )
    finding = Finding(rule="unattached_ebs_volume", action_kind="snapshot_and_delete_volume", resource=res,
                      summary="unattached", facts=facts)
    return ACTION.build_plan(finding)


def test_snapshot_delete_then_rollback_recreates_the_same_shape_under_a_new_id(
    aws: AwsAdapter, ctx: ActionContext, volume: str,
) -> None:
    plan = _plan(aws, volume, utcnow() - timedelta(hours=1))
    before = ACTION.read_state(ctx, plan.target)
    assert before == {"state": "available", "attached_to": [], "volume_type": "gp3", "size_gb": 200, "iops": 4000,
                      "throughput": 250, "tags": TAGS}
    assert pre_state_differences(plan.expected_pre_state, before) == {}
    assert ACTION.evidence_differences(ctx, plan) == {}

    result = ACTION.apply(ctx, plan)
    assert result["snapshot_state"] == "completed" and result["deleted_volume"] == volume
    after = ACTION.read_state(ctx, plan.target)
    assert after is not None and after["state"] == ABSENT and after["snapshot_id"] == result["snapshot_id"]
    assert ACTION.is_applied(after, plan)
    [snap] = aws.client("ec2").describe_snapshots(SnapshotIds=[result["snapshot_id"]])["Snapshots"]
    snap_tags = {t["Key"]: t["Value"] for t in snap["Tags"]}
    assert snap_tags[SOURCE_VOLUME_TAG] == volume and snap_tags["team"] == "ml"
    assert decode_spec(snap_tags[SOURCE_SPEC_TAG]) == {
        "volume_type": "gp3", "size_gb": 200, "iops": 4000, "throughput": 250, "availability_zone": "us-east-1a"}

    rollback = plan.rollback
    assert rollback is not None and rollback.action == plan.action
    assert pre_state_differences(rollback.expected_pre_state, after) == {}
    assert not ACTION.is_applied(after, rollback)
    restored = ACTION.apply(ctx, rollback)["restored_volume_id"]
    assert restored != volume
    back = ACTION.read_state(ctx, plan.target)
    assert back is not None and back["restored_as"] == restored and ACTION.is_applied(back, rollback)
    new = aws.ebs.describe_volume(restored)
    assert new is not None
    assert {k: new.attributes[k] for k in ("volume_type", "size_gb", "iops", "throughput", "availability_zone", "snapshot_id")} == {
        "volume_type": "gp3", "size_gb": 200, "iops": 4000, "throughput": 250, "availability_zone": "us-east-1a",
        "snapshot_id": result["snapshot_id"]}
    assert new.tags == {**TAGS, RESTORED_FROM_TAG: volume}
    # A second rollback would find the restored volume: drift, not a second copy.
    assert pre_state_differences(rollback.expected_pre_state, back) == {"restored_as": (None, restored)}


def test_a_volume_attached_since_the_sweep_is_drift_and_is_not_touched(
    aws: AwsAdapter, ctx: ActionContext, volume: str, aws_endpoint: str,
) -> None:
    plan = _plan(aws, volume, utcnow() - timedelta(hours=1))
    ec2 = aws.client("ec2")
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    iid = ec2.run_instances(ImageId=ami, InstanceType="m5.large", MinCount=1, MaxCount=1,
                            Placement={"AvailabilityZone": "us-east-1a"})["Instances"][0]["InstanceId"]
    ec2.attach_volume(VolumeId=volume, InstanceId=iid, Device="/dev/sdf")
    differences = pre_state_differences(plan.expected_pre_state, ACTION.read_state(ctx, plan.target))
    assert differences == {"state": ("available", "in-use"), "attached_to": ([], [iid])}


def test_attached_and_detached_again_since_the_sweep_is_drift_by_its_metrics(
    aws: AwsAdapter, ctx: ActionContext, volume: str,
) -> None:
    swept = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    plan = _plan(aws, volume, swept)
    dims = {"VolumeId": volume}
    aws.cloudwatch.put_utilisation(None, *EBS_IDLE_TIME, [(swept - timedelta(days=9), 3600.0)], dimensions=dims, unit="Seconds")
    assert ACTION.evidence_differences(ctx, plan) == {}, "attached before the sweep: already judged"
    aws.cloudwatch.put_utilisation(None, *EBS_IDLE_TIME, [(swept + timedelta(hours=1), 1200.0)], dimensions=dims, unit="Seconds")
    # The volume is available again, so the pre-state holds; its metrics give it away.
    assert pre_state_differences(plan.expected_pre_state, ACTION.read_state(ctx, plan.target)) == {}
    [(label, (assumed, now))] = ACTION.evidence_differences(ctx, plan).items()
    assert label.startswith("AWS/EBS/VolumeIdleTime since ") and now.startswith("attached at ")


def test_resize_or_retag_since_the_sweep_is_drift(aws: AwsAdapter, ctx: ActionContext, volume: str) -> None:
    plan = _plan(aws, volume, utcnow())
    ec2 = aws.client("ec2")
    ec2.modify_volume(VolumeId=volume, Size=300)
    ec2.create_tags(Resources=[volume], Tags=[{"Key": "keep", "Value": "yes"}])
    differences = pre_state_differences(plan.expected_pre_state, ACTION.read_state(ctx, plan.target))
    assert set(differences) == {"size_gb", "tags"}


def _xml(body: str) -> Reply:
    return Reply(body=f'<?xml version="1.0" encoding="UTF-8"?>{body}'.encode())


NS = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"'


def _snapshots(state: str) -> Reply:
    return _xml(f"<DescribeSnapshotsResponse {NS}><requestId>r</requestId><snapshotSet><item>"
                f"<snapshotId>snap-1</snapshotId><volumeId>vol-1</volumeId><status>{state}</status>"
                "<progress>3%</progress><volumeSize>200</volumeSize></item></snapshotSet></DescribeSnapshotsResponse>")


CREATED = _xml(f"<CreateSnapshotResponse {NS}><requestId>r</requestId><snapshotId>snap-1</snapshotId>"
               "<volumeId>vol-1</volumeId><status>pending</status></CreateSnapshotResponse>")


def test_the_wait_for_a_snapshot_is_bounded() -> None:
    """AWS takes minutes to complete a snapshot; moto completes it at once, so a local server answers
    DescribeSnapshots in the documented EC2 Query/XML shape with ``pending``."""
    with reply_server(DescribeSnapshots=_snapshots("pending")) as server:
        aws = AwsAdapter(endpoint_url=server.url, config=FAST_AWS)
        assert aws.ebs.wait_for_snapshot("snap-1", timeout_s=0.3, poll_s=0.1) == "pending"
    assert server.operations.count("DescribeSnapshots") >= 2


def test_a_snapshot_that_fails_keeps_the_volume() -> None:
    with reply_server(CreateSnapshot=CREATED, DescribeSnapshots=_snapshots("error")) as server:
        aws = AwsAdapter(endpoint_url=server.url, config=FAST_AWS)
        ctx = ActionContext(targets=Targets([SingleTarget("aws", aws)]))
        forward = ActionPlan(
            action=ACTION.kind, target=ResourceRef(provider="aws", kind="ebs_volume", id="vol-1", region="us-east-1"),
            change={"volume": "snapshot_then_delete", "volume_type": "gp2", "size_gb": 200, "iops": None,
                    "throughput": None, "availability_zone": "us-east-1a", "tags": {}},
            expected_pre_state={}, rollback_description="", description="",
        )
        with pytest.raises(AdapterError, match="volume not deleted"):
            ACTION.apply(ctx, forward)
    assert "CreateSnapshot" in server.operations and "DeleteVolume" not in server.operations


def test_sweep_approve_execute_and_rollback_through_the_services(aws_endpoint: str, tmp_path: Path) -> None:
    """The whole path a user takes, against the emulator: the sweep finds a 500 GiB gp2 volume
    unattached for 60 days, approval snapshots and deletes it, rollback recreates it."""
    vid = _create(aws_endpoint, vtype="gp2", size=500)
    backdate_volume(vid, datetime.now(UTC) - timedelta(days=60))
    services = build_services(Settings(home=tmp_path, aws={"endpoint_url": aws_endpoint}))
    report = services.sweep()
    assert not [g for g in report.gaps if g.part == "EBS"]
    [proposal] = [p for p in services.list_proposals([ProposalStatus.PENDING]) if p.rule == "unattached_ebs_volume"]
    assert proposal.target.id == vid and proposal.action == "snapshot_and_delete_volume"
    assert str(proposal.estimate.expected.rounded()) == "$25.00" and str(proposal.estimate.high.rounded()) == "$50.00"

    outcome = services.approve(proposal.id, by="alice")
    assert outcome.status is ProposalStatus.EXECUTED and outcome.verified, outcome.message
    aws = AwsAdapter(endpoint_url=aws_endpoint)
    assert aws.ebs.describe_volume(vid) is None
    snap = aws.ebs.snapshot_of(vid)
    assert snap is not None and snap["state"] == "completed"

    undone = services.rollback(proposal.id, by="alice")
    assert undone.status is ProposalStatus.EXECUTED, undone.message
    restored = aws.ebs.restored_from(vid)
    assert restored is not None
    back = aws.ebs.describe_volume(restored)
    assert back is not None and (back.attributes["volume_type"], back.attributes["size_gb"]) == ("gp2", 500)
    assert services.get_proposal(proposal.id).status is ProposalStatus.ROLLED_BACK


def test_approving_after_the_volume_was_attached_aborts_as_drift(aws_endpoint: str, tmp_path: Path) -> None:
    """The executor re-reads the volume before deleting: attached since the sweep, nothing is touched."""
    vid = _create(aws_endpoint, vtype="gp2", size=500)
    backdate_volume(vid, datetime.now(UTC) - timedelta(days=60))
    services = build_services(Settings(home=tmp_path, aws={"endpoint_url": aws_endpoint}))
    services.sweep()
    [proposal] = [p for p in services.list_proposals([ProposalStatus.PENDING]) if p.rule == "unattached_ebs_volume"]
    ec2 = boto3.client("ec2", endpoint_url=aws_endpoint, region_name="us-east-1")
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    iid = ec2.run_instances(ImageId=ami, InstanceType="m5.large", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/sdf")

    outcome = services.approve(proposal.id, by="alice")
    assert outcome.status is ProposalStatus.DRIFTED, outcome.message
    aws = AwsAdapter(endpoint_url=aws_endpoint)
    assert aws.ebs.describe_volume(vid) is not None and aws.ebs.snapshot_of(vid) is None


def test_a_resumed_delete_reuses_the_snapshot_an_interrupted_attempt_took(
    aws: AwsAdapter, ctx: ActionContext, volume: str,
) -> None:
    plan = _plan(aws, volume, utcnow() - timedelta(hours=1))
    earlier = aws.ebs.create_snapshot(volume, "interrupted attempt", {SOURCE_VOLUME_TAG: volume})
    result = ACTION.apply(ctx, plan)
    assert result["snapshot_id"] == earlier
    mine = aws.client("ec2").describe_snapshots(Filters=[{"Name": f"tag:{SOURCE_VOLUME_TAG}", "Values": [volume]}])
    assert [s["SnapshotId"] for s in mine["Snapshots"]] == [earlier]
