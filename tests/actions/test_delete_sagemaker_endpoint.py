"""Deleting an idle SageMaker endpoint against the emulator: apply, verify, roll back, and refuse on drift.

boto3 talks HTTP to moto (the ``aws_endpoint`` fixture); where moto lacks what AWS does (an endpoint
that is ``Deleting`` for a while), ``reply_server`` answers with the documented SageMaker JSON shape.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import boto3
import pytest
from tests.adapters.reply_server import FAST_AWS, Reply, reply_server

from spendpilot.actions import ActionContext, get_action
from spendpilot.actions.base import pre_state_differences
from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.adapters.aws.sagemaker import ABSENT
from spendpilot.adapters.base import SingleTarget, Targets, build_sources
from spendpilot.checks.idle_sagemaker_endpoint import IdleEndpointFacts
from spendpilot.config import Settings
from spendpilot.domain import ActionPlan, Finding, ProposalStatus, ResourceRef, utcnow
from spendpilot.domain.metrics import SAGEMAKER_ENDPOINT_CPU, SAGEMAKER_INVOCATIONS
from spendpilot.runtime import build_services

NAME = "embeddings-backfill"
CONFIG = f"{NAME}-config"
HOUR = timedelta(hours=1)
ACTION = get_action("delete_sagemaker_endpoint")


def _create(endpoint: str, name: str = NAME, config: str = CONFIG, itype: str = "ml.m5.2xlarge", count: int = 2) -> None:
    sm = boto3.client("sagemaker", endpoint_url=endpoint, region_name="us-east-1")
    model = f"{config}-model"
    sm.create_model(ModelName=model, PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
                    ExecutionRoleArn="arn:aws:iam::123456789012:role/sm")
    sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": model, "InstanceType": itype, "InitialInstanceCount": count},
    ])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=config, Tags=[{"Key": "team", "Value": "search"}])


@pytest.fixture
def aws(aws_endpoint: str) -> AwsAdapter:
    _create(aws_endpoint)
    return AwsAdapter(endpoint_url=aws_endpoint)


@pytest.fixture
def ctx(aws: AwsAdapter, aws_endpoint: str, tmp_path: Path) -> ActionContext:
    """Actions write through the configured AWS source, exactly as the executor's context does."""
    return ActionContext(targets=Targets(build_sources([{"kind": "aws", "endpoint_url": aws_endpoint}], tmp_path)))


def _plan(aws: AwsAdapter, measured_until: datetime) -> ActionPlan:
    """The plan a sweep would make of the endpoint as the adapter reads it."""
    res = aws.sagemaker.describe_endpoint(NAME)
    assert res is not None
    facts = IdleEndpointFacts(
        endpoint_config_name=res.attributes["endpoint_config_name"], variants=tuple(res.attributes["variants"]),
        region="us-east-1", invocations=0, window_hours=192, measured_until=measured_until,
    )
    finding = Finding(rule="idle_sagemaker_endpoint", action_kind="delete_sagemaker_endpoint", resource=res,
                      summary="idle", facts=facts)
    return ACTION.build_plan(finding)


def _invocations(aws: AwsAdapter, points: list[tuple[datetime, float]], name: str = NAME, variant: str = "AllTraffic") -> None:
    aws.cloudwatch.put_utilisation(None, *SAGEMAKER_INVOCATIONS, points,
                                   dimensions={"EndpointName": name, "VariantName": variant}, unit="None")


def test_delete_then_rollback_recreates_it_from_the_kept_config(aws: AwsAdapter, ctx: ActionContext) -> None:
    plan = _plan(aws, utcnow() - 2 * HOUR)
    before = ACTION.read_state(ctx, plan.target)
    assert before == {
        "status": "InService", "endpoint_config_name": CONFIG, "tags": {"team": "search"},
        "variants": [{"variant": "AllTraffic", "instance_type": "ml.m5.2xlarge", "instance_count": 2}],
    }
    assert pre_state_differences(plan.expected_pre_state, before) == {}
    assert ACTION.evidence_differences(ctx, plan) == {}

    result = ACTION.apply(ctx, plan)
    assert result["status_after_call"] == ABSENT and result["kept_endpoint_config"] == CONFIG
    assert result["invocations_since_sweep"] == {"AllTraffic": 0}
    after = ACTION.read_state(ctx, plan.target)
    assert after == {"status": ABSENT} and ACTION.is_applied(after, plan)
    assert aws.sagemaker.endpoint_config(CONFIG) is not None, "the endpoint config is kept"

    rollback = plan.rollback
    assert rollback is not None and rollback.action == plan.action
    assert pre_state_differences(rollback.expected_pre_state, after) == {}
    assert ACTION.evidence_differences(ctx, rollback) == {}
    assert not ACTION.is_applied(after, rollback)
    ACTION.apply(ctx, rollback)
    back = ACTION.read_state(ctx, plan.target)
    assert back == before and ACTION.is_applied(back, rollback)


def test_invocations_since_the_sweep_abort_the_delete_as_drift(aws: AwsAdapter, ctx: ActionContext) -> None:
    swept = utcnow().replace(minute=0, second=0, microsecond=0) - 3 * HOUR
    plan = _plan(aws, swept)
    _invocations(aws, [(swept - 5 * HOUR, 40.0)])  # before the sweep: already judged, not drift
    assert ACTION.evidence_differences(ctx, plan) == {}
    _invocations(aws, [(swept + HOUR, 7.0), (swept + 2 * HOUR, 5.0)])
    [(label, (assumed, now))] = ACTION.evidence_differences(ctx, plan).items()
    assert label.startswith("AWS/SageMaker/Invocations since ")
    assert assumed.startswith("at most 0") and now == "12 (AllTraffic 12)"


def test_a_different_config_or_count_is_drift_before_anything_is_deleted(aws: AwsAdapter, ctx: ActionContext, aws_endpoint: str) -> None:
    plan = _plan(aws, utcnow() - HOUR)
    # moto has no UpdateEndpoint; recreating the endpoint on a new config reads the same in DescribeEndpoint.
    sm = boto3.client("sagemaker", endpoint_url=aws_endpoint, region_name="us-east-1")
    sm.delete_endpoint(EndpointName=NAME)
    _create(aws_endpoint, config="embeddings-v2-config", itype="ml.m5.xlarge", count=1)
    differences = pre_state_differences(plan.expected_pre_state, ACTION.read_state(ctx, plan.target))
    assert set(differences) == {"endpoint_config_name", "variants"}
    assert differences["endpoint_config_name"] == (CONFIG, "embeddings-v2-config")


def test_rollback_refuses_when_the_kept_config_was_deleted_since(aws: AwsAdapter, ctx: ActionContext, aws_endpoint: str) -> None:
    plan = _plan(aws, utcnow() - HOUR)
    ACTION.apply(ctx, plan)
    boto3.client("sagemaker", endpoint_url=aws_endpoint, region_name="us-east-1").delete_endpoint_config(
        EndpointConfigName=CONFIG)
    assert plan.rollback is not None
    assert ACTION.evidence_differences(ctx, plan.rollback) == {
        f"endpoint config {CONFIG}": ("kept, to recreate the endpoint from", "gone (deleted since)")
    }


JSON = "application/x-amz-json-1.1"


def _sm_reply(body: dict) -> Reply:
    return Reply(body=json.dumps(body).encode(), content_type=JSON)


def test_an_endpoint_still_deleting_counts_as_deleted() -> None:
    """AWS answers DescribeEndpoint with ``Deleting`` for a while; moto deletes at once, so a local
    server speaks the documented shape (SageMaker API Reference, DescribeEndpoint)."""
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{NAME}"
    replies = {
        "DescribeEndpoint": _sm_reply({
            "EndpointName": NAME, "EndpointArn": arn, "EndpointConfigName": CONFIG, "EndpointStatus": "Deleting",
            "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentInstanceCount": 2}],
            "CreationTime": 1764000000.0, "LastModifiedTime": 1764000000.0,
        }),
        "DescribeEndpointConfig": _sm_reply({
            "EndpointConfigName": CONFIG, "EndpointConfigArn": arn.replace("endpoint/", "endpoint-config/"),
            "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "m", "InstanceType": "ml.m5.2xlarge",
                                    "InitialInstanceCount": 2}],
            "CreationTime": 1764000000.0,
        }),
        "ListTags": _sm_reply({"Tags": [{"Key": "team", "Value": "search"}]}),
    }
    with reply_server(**replies) as server:
        aws = AwsAdapter(endpoint_url=server.url, config=FAST_AWS)
        ctx = ActionContext(targets=Targets([SingleTarget("aws", aws)]))
        ref = ResourceRef(provider="aws", kind="sagemaker_endpoint", id=NAME, region="us-east-1")
        state = ACTION.read_state(ctx, ref)
    assert state is not None and state["status"] == "Deleting"
    forward = ActionPlan(action=ACTION.kind, target=ref, change={"endpoint": "deleted"}, expected_pre_state={},
                         rollback_description="", description="")
    assert ACTION.is_applied(state, forward)


def test_sweep_approve_execute_and_rollback_through_the_services(aws_endpoint: str, tmp_path: Path) -> None:
    """The whole path a user takes, against the emulator: the sweep finds it, approval deletes it,
    rollback brings it back from its kept config."""
    _create(aws_endpoint)
    aws = AwsAdapter(endpoint_url=aws_endpoint)
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    watched = [(now - h * HOUR, 2.0) for h in range(192, 0, -1)]
    aws.cloudwatch.put_utilisation(None, *SAGEMAKER_ENDPOINT_CPU, watched,
                                   dimensions={"EndpointName": NAME, "VariantName": "AllTraffic"})
    services = build_services(Settings(home=tmp_path, aws={"endpoint_url": aws_endpoint}))
    report = services.sweep()
    [proposal] = [p for p in services.list_proposals([ProposalStatus.PENDING]) if p.rule == "idle_sagemaker_endpoint"]
    assert proposal.target.id == NAME and proposal.action == "delete_sagemaker_endpoint"
    assert str(proposal.estimate.expected.rounded()) == "$673.06"
    assert not [g for g in report.gaps if g.part == "SageMaker"]

    outcome = services.approve(proposal.id, by="alice")
    assert outcome.status is ProposalStatus.EXECUTED and outcome.verified
    assert aws.sagemaker.describe_endpoint(NAME) is None
    assert aws.sagemaker.endpoint_config(CONFIG) is not None

    undone = services.rollback(proposal.id, by="alice")
    assert undone.status is ProposalStatus.EXECUTED, undone.message
    back = aws.sagemaker.describe_endpoint(NAME)
    assert back is not None and back.attributes["endpoint_config_name"] == CONFIG
    assert back.tags == {"team": "search"}
    assert services.get_proposal(proposal.id).status is ProposalStatus.ROLLED_BACK
