"""EBS in the AWS source: its permissions are in `spendpilot policy` (writes scoped to volume and
snapshot ARNs), the printed statements are enough under the emulator's IAM enforcement, and a
denied EBS is a named gap of the AWS source while the rest of the region is still swept."""

from __future__ import annotations

import functools
import json
from datetime import timedelta
from pathlib import Path

import pytest
from tests.actions.test_snapshot_and_delete_volume import _create, _plan
from tests.adapters.ml_replies import NO_ML
from tests.adapters.reply_server import Reply, reply_server
from tests.adapters.test_aws_unreadable import NO_GROUPS, NO_INSTANCES, SSM_JSON
from tests.adapters.test_policy import Session, _through, session_with  # noqa: F401 - the fixture
from tests.conftest import run_cli

from spendpilot.actions import get_action
from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.adapters.base import SourceContext, build_sources
from spendpilot.agent.collect import collect_snapshot
from spendpilot.domain import utcnow
from spendpilot.errors import AdapterError
from spendpilot.savings.pricebook import PriceBook

EBS_READS = {"ec2:DescribeVolumes", "ec2:DescribeVolumesModifications", "ec2:DescribeSnapshots", "cloudwatch:GetMetricData"}


@functools.cache
def _printed() -> dict[str, dict]:
    """What `spendpilot policy` prints (one subprocess for the module)."""
    return {s["Sid"]: s for s in json.loads(run_cli("policy", check=True).stdout)["Statement"]}


def test_policy_prints_the_ebs_reads_and_the_writes_scoped_to_volumes_and_snapshots() -> None:
    statements = _printed()
    assert set(statements["SpendpilotSweepReadOnly"]["Action"]) >= EBS_READS
    delete = statements["SpendpilotActionSnapshotAndDeleteVolume"]
    assert delete["Action"] == ["ec2:CreateSnapshot", "ec2:CreateTags", "ec2:CreateVolume", "ec2:DeleteVolume"]
    assert delete["Resource"] == ["arn:aws:ec2:*:*:volume/*", "arn:aws:ec2:*::snapshot/*"]
    retype = statements["SpendpilotActionModifyVolumeToGp3"]
    assert (retype["Action"], retype["Resource"]) == (["ec2:ModifyVolume"], ["arn:aws:ec2:*:*:volume/*"])


def test_a_denied_ebs_is_a_named_gap_and_the_rest_of_the_region_is_read(tmp_path: Path) -> None:
    denied = Reply(status=403, body=(
        b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>UnauthorizedOperation</Code>'
        b"<Message>You are not authorized to perform this operation.</Message></Error></Errors>"
        b"<RequestID>r</RequestID></Response>"))
    replies = {
        "DescribeInstances": NO_INSTANCES, "DescribeAutoScalingGroups": NO_GROUPS,
        "GetParametersByPath": Reply(body=b'{"Parameters": []}', content_type=SSM_JSON),
        "ListEndpoints": Reply(body=b'{"Endpoints": []}', content_type="application/x-amz-json-1.1"),
        "DescribeVolumes": denied,
        **NO_ML,
    }
    with reply_server(**replies) as server:
        [source] = build_sources([{"kind": "aws", "endpoint_url": server.url, "max_attempts": 1, "gpu_namespaces": []}], tmp_path)
        snap = collect_snapshot([source], SourceContext(now=utcnow(), prices=PriceBook.bundled()))
    [gap] = snap.gaps
    assert (gap.source, gap.part) == (source.name, "EBS")
    assert "DescribeVolumes" in gap.error
    [read] = snap.sources
    assert read.endswith(", 0 SageMaker endpoints, EBS NOT read, 0 training jobs, 0 notebook instances in service, 0 EBS snapshots, 0 S3 replication rules, 0 Bedrock models")


def test_the_read_only_statement_reads_volumes_but_cannot_delete_one(
    aws_endpoint: str, session_with: Session,  # noqa: F811 - the fixture imported above
) -> None:
    vid = _create(aws_endpoint)
    plan = _plan(AwsAdapter(endpoint_url=aws_endpoint), vid, utcnow() - timedelta(hours=1))
    reader = AwsAdapter(endpoint_url=aws_endpoint, session=session_with([_printed()["SpendpilotSweepReadOnly"]]))
    assert [v.ref.id for v in reader.ebs.list_volumes()] == [vid]
    with pytest.raises(AdapterError, match="CreateSnapshot"):
        get_action("snapshot_and_delete_volume").apply(_through(reader), plan)


def test_the_actions_statement_allows_snapshot_delete_and_restore(
    aws_endpoint: str, session_with: Session,  # noqa: F811 - the fixture imported above
) -> None:
    vid = _create(aws_endpoint)
    plan = _plan(AwsAdapter(endpoint_url=aws_endpoint), vid, utcnow() - timedelta(hours=1))
    printed = _printed()
    scoped = printed["SpendpilotActionSnapshotAndDeleteVolume"]
    assert scoped["Resource"] != "*"
    # moto 5.2.5 authorises EC2 calls against the resource "*" (as it does SageMaker's), so a
    # statement scoped to volume and snapshot ARNs is always denied there: the emulator checks the
    # actions are enough, not the scoping. The ARNs follow the Service Authorization Reference for
    # EC2 (volume: arn:aws:ec2:region:account:volume/id; snapshot: arn:aws:ec2:region::snapshot/id).
    widened = {**scoped, "Resource": "*"}
    writer = AwsAdapter(endpoint_url=aws_endpoint, session=session_with([printed["SpendpilotSweepReadOnly"], widened]))
    ctx, action = _through(writer), get_action("snapshot_and_delete_volume")
    action.apply(ctx, plan)
    assert action.is_applied(action.read_state(ctx, plan.target), plan)
    assert plan.rollback is not None
    action.apply(ctx, plan.rollback)
    assert action.is_applied(action.read_state(ctx, plan.target), plan.rollback)
