"""gp2 -> gp3 against the emulator: apply, verify, roll back, and refuse on drift.

moto 5.2.5 applies ModifyVolume at once (its modifications are always ``completed``) and does not
enforce AWS's six hours between two modifications of a volume; a modification in progress is
answered by ``reply_server`` in the documented EC2 Query/XML shape.
"""

from __future__ import annotations

import boto3
import pytest
from tests.adapters.reply_server import FAST_AWS, Reply, reply_server

from spendpilot.actions import ActionContext, get_action
from spendpilot.actions.base import pre_state_differences
from spendpilot.actions.modify_volume_to_gp3 import (
    ModifyToGp3Facts,
    gp2_baseline_iops,
    gp2_max_throughput,
    gp3_target,
)
from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.adapters.base import SingleTarget, Targets
from spendpilot.domain import ActionPlan, Finding, ResourceRef

ACTION = get_action("modify_volume_to_gp3")


@pytest.fixture
def aws(aws_endpoint: str) -> AwsAdapter:
    return AwsAdapter(endpoint_url=aws_endpoint)


@pytest.fixture
def ctx(aws: AwsAdapter) -> ActionContext:
    return ActionContext(targets=Targets([SingleTarget("aws", aws)]))


def _plan(aws: AwsAdapter, vid: str) -> ActionPlan:
    res = aws.ebs.describe_volume(vid)
    assert res is not None
    size = res.attributes["size_gb"]
    iops, throughput = gp3_target(size)
    facts = ModifyToGp3Facts(size_gb=size, region="us-east-1", gp2_baseline_iops=gp2_baseline_iops(size),
                             gp2_max_throughput=gp2_max_throughput(size), target_iops=iops, target_throughput=throughput)
    return ACTION.build_plan(Finding(rule="gp2_volume", action_kind=ACTION.kind, resource=res, summary="gp2", facts=facts))


def _volume(aws_endpoint: str, size: int = 4000) -> str:
    ec2 = boto3.client("ec2", endpoint_url=aws_endpoint, region_name="us-east-1")
    return str(ec2.create_volume(AvailabilityZone="us-east-1a", Size=size, VolumeType="gp2")["VolumeId"])


def test_modify_to_gp3_then_back_to_gp2(aws: AwsAdapter, ctx: ActionContext, aws_endpoint: str) -> None:
    vid = _volume(aws_endpoint)
    plan = _plan(aws, vid)
    before = ACTION.read_state(ctx, plan.target)
    assert pre_state_differences(plan.expected_pre_state, before) == {}
    ACTION.apply(ctx, plan)
    after = ACTION.read_state(ctx, plan.target)
    assert after == {"volume_type": "gp3", "size_gb": 4000, "iops": 12000, "throughput": 250, "modification_in_progress": False}
    assert ACTION.is_applied(after, plan)

    rollback = plan.rollback
    assert rollback is not None and pre_state_differences(rollback.expected_pre_state, after) == {}
    ACTION.apply(ctx, rollback)
    back = ACTION.read_state(ctx, plan.target)
    assert back is not None and back["volume_type"] == "gp2" and ACTION.is_applied(back, rollback)
    assert pre_state_differences(plan.expected_pre_state, back) == {}


def test_a_volume_resized_or_retyped_since_the_sweep_is_drift(aws: AwsAdapter, ctx: ActionContext, aws_endpoint: str) -> None:
    vid = _volume(aws_endpoint)
    plan = _plan(aws, vid)
    aws.client("ec2").modify_volume(VolumeId=vid, VolumeType="io1", Iops=5000, Size=4500)
    differences = pre_state_differences(plan.expected_pre_state, ACTION.read_state(ctx, plan.target))
    assert differences == {"volume_type": ("gp2", "io1"), "size_gb": (4000, 4500)}


NS = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"'


def _xml(body: str) -> Reply:
    return Reply(body=f'<?xml version="1.0" encoding="UTF-8"?>{body}'.encode())


def test_a_modification_in_progress_is_drift() -> None:
    """AWS shows ``optimizing`` for hours after a ModifyVolume; moto completes at once."""
    volumes = _xml(f"<DescribeVolumesResponse {NS}><requestId>r</requestId><volumeSet><item>"
                   "<volumeId>vol-1</volumeId><size>4000</size><availabilityZone>us-east-1a</availabilityZone>"
                   "<status>in-use</status><createTime>2026-01-01T00:00:00.000Z</createTime><volumeType>gp2</volumeType>"
                   "<iops>12000</iops><attachmentSet/></item></volumeSet></DescribeVolumesResponse>")
    mods = _xml(f"<DescribeVolumesModificationsResponse {NS}><requestId>r</requestId><volumeModificationSet><item>"
                "<volumeId>vol-1</volumeId><modificationState>optimizing</modificationState>"
                "<targetSize>4000</targetSize><originalSize>3500</originalSize><progress>40</progress>"
                "<startTime>2026-11-20T00:00:00.000Z</startTime></item></volumeModificationSet>"
                "</DescribeVolumesModificationsResponse>")
    with reply_server(DescribeVolumes=volumes, DescribeVolumesModifications=mods) as server:
        aws = AwsAdapter(endpoint_url=server.url, config=FAST_AWS)
        ctx = ActionContext(targets=Targets([SingleTarget("aws", aws)]))
        state = ACTION.read_state(ctx, ResourceRef(provider="aws", kind="ebs_volume", id="vol-1", region="us-east-1"))
        [listed] = aws.ebs.list_volumes()
    assert listed.attributes["modification_state"] == "optimizing"
    expected = {"volume_type": "gp2", "size_gb": 4000, "modification_in_progress": False}
    assert pre_state_differences(expected, state) == {"modification_in_progress": (False, True)}
