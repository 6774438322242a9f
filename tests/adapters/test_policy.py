"""`spendpilot policy` is enough, and its read-only statement is only enough to read.

The emulator enforces IAM here, so the policy is checked against the calls the adapters really
make, not against a list someone keeps by hand.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator

import boto3
import pytest
from tests.conftest import run_cli
from tests.demo_fixtures import DemoOrg

from spendpilot.actions import ActionContext, get_action
from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.adapters.base import SingleTarget, Targets
from spendpilot.domain import ProposalStatus, utcnow
from spendpilot.errors import AdapterError
from spendpilot.runtime import build_services

Session = Callable[[list[dict]], boto3.session.Session]


def _printed_policy() -> dict:
    return json.loads(run_cli("policy", check=True).stdout)


@pytest.fixture
def session_with(aws_endpoint: str) -> Iterator[Session]:
    """Make a user holding exactly the given statements, and turn on IAM enforcement."""
    iam = boto3.client("iam", endpoint_url=aws_endpoint, region_name="us-east-1")
    made: list[str] = []

    def make(statements: list[dict]) -> boto3.session.Session:
        name = f"policy-user-{len(made)}"
        iam.create_user(UserName=name)
        doc = {"Version": "2012-10-17", "Statement": [_moto_aliases(s) for s in statements]}
        iam.put_user_policy(UserName=name, PolicyName="spendpilot", PolicyDocument=json.dumps(doc))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        made.append(name)
        _enforce(aws_endpoint, "0")
        return boto3.session.Session(
            aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
            region_name="us-east-1",
        )

    try:
        yield make
    finally:
        _enforce(aws_endpoint, "inf")


def _moto_aliases(statement: dict) -> dict:
    """The statement as the emulator can judge it.

    moto authorises CloudWatch calls as ``monitoring:*`` (its endpoint prefix); AWS as
    ``cloudwatch:*``. And moto checks EC2 and SageMaker calls against the resource ``"*"``
    (``moto/core/authorization.py`` passes no ARN), so a statement scoped to
    ``arn:aws:ec2:*:*:volume/*`` could never match there although AWS honours it: the emulator's
    copy is widened to ``"*"``. What this file then proves is that the printed *actions* suffice;
    the ARN scoping is checked as policy content (tests/adapters/test_scoped_policy.py).
    """
    actions = statement["Action"]
    extra = [a.replace("cloudwatch:", "monitoring:", 1) for a in actions if a.startswith("cloudwatch:")]
    return {**statement, "Action": actions + extra, "Resource": "*"}


def _through(aws: AwsAdapter) -> ActionContext:
    return ActionContext(targets=Targets([SingleTarget("aws", aws)]))


def _enforce(endpoint: str, after: str) -> None:
    req = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth", data=after.encode(), method="POST", headers={"Content-Type": "text/plain"}
    )
    urllib.request.urlopen(req, timeout=10).read()


MAIN_ACCOUNT = "123456789012"
"""The demo's main account, which the sessions below act in (the ML account is reached by role)."""


def _pending(swept_org: DemoOrg) -> list:
    services = build_services(swept_org.settings)
    pending = [p for p in services.list_proposals([ProposalStatus.PENDING]) if p.target.account == MAIN_ACCOUNT]
    assert {p.action for p in pending} == {
        "stop_instance", "switch_to_spot", "route_to_model",
        "snapshot_and_delete_volume", "delete_ebs_snapshot", "modify_volume_to_gp3",
    }
    return pending


def test_read_only_statement_sweeps_but_cannot_change_anything(
    swept_org: DemoOrg, session_with: Session
) -> None:
    pending = _pending(swept_org)
    read_only = [s for s in _printed_policy()["Statement"] if s["Sid"] == "SpendpilotSweepReadOnly"]
    aws = AwsAdapter(endpoint_url=swept_org.endpoint, session=session_with(read_only))
    instances = aws.ec2.list_instances()
    assert instances and aws.autoscaling.list_groups() and aws.llm_routing.list_routes()
    aws.ec2.latest_spot_prices(["g5.xlarge"])
    gpus = aws.cloudwatch.discover_gpu_series({i.ref.id: i.attributes["private_dns_name"] for i in instances})
    assert gpus.count() > 0  # ListMetrics is granted: the demo's per-GPU series are found
    aws.cloudwatch.instance_utilisation([instances[0].ref.id], end=utcnow(), days=1, gpu=gpus.by_instance)
    for p in pending:
        with pytest.raises(AdapterError, match="denied"):
            get_action(p.action).apply(_through(aws), p.plan)


def test_the_printed_policy_lets_every_action_run(swept_org: DemoOrg, session_with: Session) -> None:
    pending = _pending(swept_org)
    aws = AwsAdapter(endpoint_url=swept_org.endpoint, session=session_with(_printed_policy()["Statement"]))
    ctx = _through(aws)
    for p in pending:
        action = get_action(p.action)
        assert action.read_state(ctx, p.plan.target) is not None
        action.apply(ctx, p.plan)
        assert action.is_applied(action.read_state(ctx, p.plan.target), p.plan), p.action
