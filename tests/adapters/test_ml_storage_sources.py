"""Training jobs, notebooks, EBS snapshots and Bedrock in the AWS source: their permissions are in
`spendpilot policy` (reads in the read-only statement, writes scoped by ARN), and each that cannot
be read is a named gap of its own while the rest of the region is still swept."""

from __future__ import annotations

import json
from pathlib import Path

from tests.adapters.ml_replies import NO_ML, SM_JSON
from tests.adapters.reply_server import Reply, reply_server
from tests.adapters.test_aws_unreadable import NO_GROUPS, NO_INSTANCES, SSM_JSON
from tests.adapters.test_sagemaker_source import NO_VOLUMES
from tests.conftest import run_cli

from spendpilot.adapters.base import SourceContext, build_sources
from spendpilot.agent.collect import collect_snapshot
from spendpilot.domain import utcnow
from spendpilot.savings.pricebook import PriceBook

READS = {"sagemaker:ListTrainingJobs", "sagemaker:DescribeTrainingJob", "sagemaker:ListNotebookInstances",
         "sagemaker:DescribeNotebookInstance", "logs:DescribeLogStreams", "ec2:DescribeSnapshots",
         "ec2:DescribeImages", "cloudwatch:ListMetrics", "cloudwatch:GetMetricData"}


def test_policy_prints_the_reads_and_each_write_scoped_to_its_resource() -> None:
    statements = {s["Sid"]: s for s in json.loads(run_cli("policy", check=True).stdout)["Statement"]}
    assert set(statements["SpendpilotSweepReadOnly"]["Action"]) >= READS
    stop = statements["SpendpilotActionStopTrainingJob"]
    assert stop["Action"] == ["sagemaker:StopTrainingJob"]
    assert stop["Resource"] == ["arn:aws:sagemaker:*:*:training-job/*"]
    notebook = statements["SpendpilotActionStopNotebookInstance"]
    assert notebook["Action"] == ["sagemaker:StartNotebookInstance", "sagemaker:StopNotebookInstance"]
    assert notebook["Resource"] == ["arn:aws:sagemaker:*:*:notebook-instance/*"]
    snapshot = statements["SpendpilotActionDeleteEbsSnapshot"]
    assert snapshot["Action"] == ["ec2:DeleteSnapshot"] and snapshot["Resource"] == ["arn:aws:ec2:*::snapshot/*"]
    replication = statements["SpendpilotActionDisableReplicationRule"]
    assert replication["Action"] == ["iam:PassRole", "s3:PutReplicationConfiguration"]
    assert "s3:GetReplicationConfiguration" in statements["SpendpilotSweepReadOnly"]["Action"]
    assert "SpendpilotActionManagedSpotTraining" not in statements  # advisory: no permission at all


def test_each_unreadable_part_is_a_named_gap_and_the_rest_is_read(tmp_path: Path) -> None:
    denied_sm = Reply(status=400, content_type=SM_JSON, body=json.dumps({
        "__type": "AccessDeniedException", "message": "User is not authorized to perform: sagemaker:ListTrainingJobs"}).encode())
    denied_ec2 = Reply(status=403, body=(
        b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>UnauthorizedOperation</Code>'
        b"<Message>You are not authorized to perform this operation.</Message></Error></Errors>"
        b"<RequestID>r</RequestID></Response>"))
    denied_cw = Reply(status=403, content_type="text/xml", body=(
        b'<ErrorResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><Error><Type>Sender</Type>'
        b"<Code>AccessDenied</Code><Message>User is not authorized to perform: cloudwatch:ListMetrics</Message>"
        b"</Error><RequestId>r</RequestId></ErrorResponse>"))
    replies = {
        "DescribeInstances": NO_INSTANCES, "DescribeAutoScalingGroups": NO_GROUPS,
        "GetParametersByPath": Reply(body=b'{"Parameters": []}', content_type=SSM_JSON),
        "ListEndpoints": Reply(body=b'{"Endpoints": []}', content_type=SM_JSON),
        "DescribeVolumes": NO_VOLUMES,
        **NO_ML,
        "ListTrainingJobs": denied_sm, "DescribeSnapshots": denied_ec2, "ListMetrics": denied_cw,
    }
    with reply_server(**replies) as server:
        [source] = build_sources([{"kind": "aws", "endpoint_url": server.url, "max_attempts": 1, "gpu_namespaces": []}], tmp_path)
        snap = collect_snapshot([source], SourceContext(now=utcnow(), prices=PriceBook.bundled()))
    assert sorted(g.part or "" for g in snap.gaps) == ["Bedrock", "EBS snapshots", "SageMaker training"]
    assert all(g.source == source.name for g in snap.gaps)
    [read] = snap.sources
    assert read.endswith("0 EBS volumes, SageMaker training NOT read, 0 notebook instances in service, "
                         "EBS snapshots NOT read, 0 S3 replication rules, Bedrock NOT read")
