"""SageMaker in the AWS source: its permissions are in `spendpilot policy`, and a denied
SageMaker is a named gap of the AWS source while the rest of the region is still swept."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from tests.actions.test_delete_sagemaker_endpoint import NAME, _create, _plan
from tests.adapters.ml_replies import NO_ML
from tests.adapters.reply_server import Reply, reply_server
from tests.adapters.test_aws_unreadable import NO_GROUPS, NO_INSTANCES, SSM_JSON
from tests.adapters.test_policy import Session, _through, session_with  # noqa: F401 - the fixture
from tests.conftest import run_cli

from spendpilot.actions import all_actions, get_action
from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.adapters.base import SourceContext, build_sources
from spendpilot.agent.collect import collect_snapshot
from spendpilot.domain import utcnow
from spendpilot.domain.reports import SweepReport
from spendpilot.errors import AdapterError
from spendpilot.permissions import statement_id
from spendpilot.savings.pricebook import PriceBook

NO_VOLUMES = Reply(body=b'<DescribeVolumesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
                        b"<requestId>r</requestId><volumeSet/></DescribeVolumesResponse>")
SM_READS = {"sagemaker:ListEndpoints", "sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig", "sagemaker:ListTags"}


def test_policy_prints_the_sagemaker_reads_and_the_delete_scoped_to_endpoints() -> None:
    statements = {s["Sid"]: s for s in json.loads(run_cli("policy", check=True).stdout)["Statement"]}
    assert set(statements["SpendpilotSweepReadOnly"]["Action"]) >= SM_READS
    delete = statements["SpendpilotActionDeleteSagemakerEndpoint"]
    # Reads are in the read-only statement; this one only adds the writes, on endpoints and configs only.
    assert delete["Action"] == ["sagemaker:AddTags", "sagemaker:CreateEndpoint", "sagemaker:DeleteEndpoint"]
    assert delete["Resource"] == ["arn:aws:sagemaker:*:*:endpoint/*", "arn:aws:sagemaker:*:*:endpoint-config/*"]
    scoped = {statement_id(kind) for kind, action in all_actions().items() if action.resources}
    # An action declaring whole statements prints them as <its Sid>1, <its Sid>2, ...
    scoped |= {f"{statement_id(kind)}{n}" for kind, action in all_actions().items()
               for n in range(1, len(action.statements) + 1)}
    assert all(s["Resource"] == "*" for sid, s in statements.items() if sid not in scoped)


def test_a_denied_sagemaker_is_a_named_gap_and_the_rest_of_the_region_is_read(tmp_path: Path) -> None:
    denied = Reply(
        status=400, content_type="application/x-amz-json-1.1",
        body=json.dumps({"__type": "AccessDeniedException",
                         "message": "User is not authorized to perform: sagemaker:ListEndpoints"}).encode(),
    )
    replies = {
        "DescribeInstances": NO_INSTANCES, "DescribeAutoScalingGroups": NO_GROUPS,
        "GetParametersByPath": Reply(body=b'{"Parameters": []}', content_type=SSM_JSON),
        "ListEndpoints": denied,
        "DescribeVolumes": NO_VOLUMES,
        **NO_ML,
    }
    with reply_server(**replies) as server:
        [source] = build_sources([{"kind": "aws", "endpoint_url": server.url, "max_attempts": 1, "gpu_namespaces": []}], tmp_path)
        snap = collect_snapshot([source], SourceContext(now=utcnow(), prices=PriceBook.bundled()))
    # (no GPU namespaces: no CloudWatch call to script); training jobs and notebooks are parts of their own
    ops = server.operations
    assert ops[ops.index("ListEndpoints") + 1] == "DescribeVolumes"
    assert ops[ops.index("DescribeVolumes") + 1:ops.index("DescribeVolumes") + 4] == [
        "ListTrainingJobs", "ListTrainingJobs", "ListNotebookInstances"]
    [gap] = snap.gaps
    assert (gap.source, gap.part) == (source.name, "SageMaker")
    assert gap.error.startswith("sagemaker:ListEndpoints denied in us-east-1")
    assert gap.label() == f"{source.name} (SageMaker)"
    # The rest of the source was read and said so; one partial gap does not make the sweep blind.
    assert snap.sources == [f"{source.name}: 0 instances, 0 groups, 0 LLM routes, metrics for 0 running "
                            "instances (0 GPU series on 0 of 0 GPU instances), SageMaker NOT read, 0 EBS volumes, "
                            "0 training jobs, 0 notebook instances in service, 0 EBS snapshots, 0 S3 replication rules, 0 Bedrock models"]
    assert not SweepReport(sweep_id="s", gaps=snap.gaps, sources_configured=1).blind
    assert SweepReport(sweep_id="s", gaps=[gap.model_copy(update={"part": None})], sources_configured=1).blind



def _printed() -> dict[str, dict]:
    return {s["Sid"]: s for s in json.loads(run_cli("policy", check=True).stdout)["Statement"]}


# The emulator enforces IAM once a user exists (``session_with``, one user per test).
def test_the_read_only_statement_reads_endpoints_but_cannot_delete_one(
    aws_endpoint: str, session_with: Session,  # noqa: F811 - the fixture imported above
) -> None:
    _create(aws_endpoint)
    plan = _plan(AwsAdapter(endpoint_url=aws_endpoint), utcnow() - timedelta(hours=1))
    reader = AwsAdapter(endpoint_url=aws_endpoint, session=session_with([_printed()["SpendpilotSweepReadOnly"]]))
    assert [e.ref.id for e in reader.sagemaker.list_endpoints()] == [NAME]
    with pytest.raises(AdapterError, match="sagemaker:DeleteEndpoint denied"):
        get_action("delete_sagemaker_endpoint").apply(_through(reader), plan)


def test_the_actions_statement_allows_the_delete_and_its_rollback(
    aws_endpoint: str, session_with: Session,  # noqa: F811 - the fixture imported above
) -> None:
    _create(aws_endpoint)
    plan = _plan(AwsAdapter(endpoint_url=aws_endpoint), utcnow() - timedelta(hours=1))
    printed = _printed()
    scoped = printed["SpendpilotActionDeleteSagemakerEndpoint"]
    assert scoped["Resource"] != "*"
    # moto 5.2.5 authorises every SageMaker call against the resource "*", so a statement scoped
    # to endpoint ARNs is always denied there: the emulator can check the actions are enough, not
    # the scoping. The ARNs follow the Service Authorization Reference (endpoint, endpoint-config).
    widened = {**scoped, "Resource": "*"}
    writer = AwsAdapter(endpoint_url=aws_endpoint, session=session_with([printed["SpendpilotSweepReadOnly"], widened]))
    ctx, action = _through(writer), get_action("delete_sagemaker_endpoint")
    action.apply(ctx, plan)
    assert action.is_applied(action.read_state(ctx, plan.target), plan)
    assert plan.rollback is not None
    action.apply(ctx, plan.rollback)
    assert action.is_applied(action.read_state(ctx, plan.target), plan.rollback)
