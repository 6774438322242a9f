"""SageMaker in the AWS source: its permissions are in `spendpilot policy`, and a denied
SageMaker is a named gap of the AWS source while the rest of the region is still swept."""

from __future__ import annotations

import json
from pathlib import Path

from tests.adapters.reply_server import Reply, reply_server
from tests.adapters.test_aws_unreadable import NO_GROUPS, NO_INSTANCES, SSM_JSON
from tests.conftest import run_cli

from spendpilot.adapters.base import SourceContext, build_sources
from spendpilot.agent.collect import collect_snapshot
from spendpilot.domain import utcnow
from spendpilot.domain.reports import SweepReport
from spendpilot.savings.pricebook import PriceBook

SM_READS = {"sagemaker:ListEndpoints", "sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig", "sagemaker:ListTags"}


def test_policy_prints_the_sagemaker_reads_and_the_delete_scoped_to_endpoints() -> None:
    statements = {s["Sid"]: s for s in json.loads(run_cli("policy", check=True).stdout)["Statement"]}
    assert set(statements["SpendpilotSweepReadOnly"]["Action"]) >= SM_READS
    delete = statements["SpendpilotActionDeleteSagemakerEndpoint"]
    # Reads are in the read-only statement; this one only adds the writes, on endpoints and configs only.
    assert delete["Action"] == ["sagemaker:AddTags", "sagemaker:CreateEndpoint", "sagemaker:DeleteEndpoint"]
    assert delete["Resource"] == ["arn:aws:sagemaker:*:*:endpoint/*", "arn:aws:sagemaker:*:*:endpoint-config/*"]
    assert all(s["Resource"] == "*" for sid, s in statements.items() if sid != delete["Sid"])


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
    }
    with reply_server(**replies) as server:
        [source] = build_sources([{"kind": "aws", "endpoint_url": server.url, "max_attempts": 1, "gpu_namespaces": []}], tmp_path)
        snap = collect_snapshot([source], SourceContext(now=utcnow(), prices=PriceBook.bundled()))
    assert server.operations[-1] == "ListEndpoints"  # (no GPU namespaces: no CloudWatch call to script)
    [gap] = snap.gaps
    assert (gap.source, gap.part) == (source.name, "SageMaker")
    assert gap.error.startswith("sagemaker:ListEndpoints denied in us-east-1")
    assert gap.label() == f"{source.name} (SageMaker)"
    # The rest of the source was read and said so; one partial gap does not make the sweep blind.
    assert snap.sources == [f"{source.name}: 0 instances, 0 groups, 0 LLM routes, metrics for 0 running "
                            "instances (0 GPU series on 0 of 0 GPU instances), SageMaker NOT read"]
    assert not SweepReport(sweep_id="s", gaps=snap.gaps, sources_configured=1).blind
    assert SweepReport(sweep_id="s", gaps=[gap.model_copy(update={"part": None})], sources_configured=1).blind
