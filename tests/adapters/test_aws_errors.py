"""AWS failures reach the user as one actionable line (AdapterError), never a botocore traceback."""

from __future__ import annotations

import json
import socket
import urllib.request
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from tests.adapters.reply_server import FAST_AWS
from tests.conftest import run_cli
from tests.demo_fixtures import DemoOrg

from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.domain import ProposalStatus, utcnow
from spendpilot.errors import AdapterError, ExitCode
from spendpilot.runtime import build_services


@pytest.fixture
def closed_port() -> str:
    """A loopback URL nobody listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_unreachable_endpoint_names_the_call_endpoint_and_region(closed_port: str) -> None:
    aws = AwsAdapter(region="eu-west-1", endpoint_url=closed_port, config=FAST_AWS)
    with pytest.raises(AdapterError) as raised:
        aws.ec2.describe_instance("i-0123456789abcdef0")
    message = str(raised.value)
    assert message.startswith("ec2:DescribeInstances: cannot reach ")
    assert closed_port in message and "eu-west-1" in message and "\n" not in message
    assert isinstance(raised.value.__cause__, EndpointConnectionError)
    with pytest.raises(AdapterError, match=r"^cloudwatch:GetMetricData: cannot reach"):
        aws.cloudwatch.instance_utilisation(["i-1"], end=utcnow(), days=1)


def test_error_response_escaping_an_adapter_call_names_the_operation(aws_endpoint: str) -> None:
    aws = AwsAdapter(endpoint_url=aws_endpoint)
    # Errors an adapter expects are still its own business: an unknown instance is "gone".
    assert aws.ec2.describe_instance("i-0123456789abcdef0") is None
    with pytest.raises(AdapterError) as raised:
        aws.ec2.stop_instance("i-0123456789abcdef0")
    assert str(raised.value).startswith("ec2:StopInstances in us-east-1 (")
    assert "InvalidInstanceID.NotFound" in str(raised.value)
    assert isinstance(raised.value.__cause__, ClientError)


@pytest.fixture
def restricted_session(aws_endpoint: str) -> Iterator[boto3.session.Session]:
    """Credentials of a user allowed only ec2:DescribeInstances, with the emulator enforcing IAM."""
    iam = boto3.client("iam", endpoint_url=aws_endpoint, region_name="us-east-1")
    iam.create_user(UserName="reader")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ec2:DescribeInstances"], "Resource": "*"}]}
    iam.put_user_policy(UserName="reader", PolicyName="read-only", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="reader")["AccessKey"]

    def enforce_after(requests: str) -> None:  # moto's switch for IAM enforcement
        req = urllib.request.Request(
            f"{aws_endpoint}/moto-api/reset-auth", data=requests.encode(), method="POST",
            headers={"Content-Type": "text/plain"},
        )
        urllib.request.urlopen(req, timeout=10).read()

    enforce_after("0")
    try:
        yield boto3.session.Session(
            aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
            region_name="us-east-1",
        )
    finally:
        enforce_after("inf")


def test_access_denied_names_the_missing_permission(aws_endpoint: str, restricted_session: boto3.session.Session) -> None:
    aws = AwsAdapter(endpoint_url=aws_endpoint, session=restricted_session)
    with pytest.raises(AdapterError) as raised:
        aws.ec2.stop_instance("i-0123456789abcdef0")
    message = str(raised.value)
    assert message.startswith("ec2:StopInstances denied in us-east-1")
    assert "spendpilot policy" in message


def test_approve_and_resume_against_an_unreachable_endpoint_fail_in_one_line(
    swept_org: DemoOrg, closed_port: str
) -> None:
    assert swept_org.sweep is not None
    p = next(x for x in swept_org.sweep["proposals"] if x["target"]["name"] == "train-idle-p4d")
    # AWS_MAX_ATTEMPTS=1: a refused connection is not retried (botocore honours the variable).
    offline = {**swept_org.env(), "SPENDPILOT_AWS__ENDPOINT_URL": closed_port, "AWS_MAX_ATTEMPTS": "1"}

    approved = run_cli("approve", p["id"], "--by", "alice", env=offline)
    assert approved.returncode == ExitCode.UNAVAILABLE, approved.stdout + approved.stderr
    assert "Traceback" not in approved.stderr
    assert f"ec2:DescribeInstances: cannot reach {closed_port}" in approved.stdout + approved.stderr
    assert build_services(swept_org.settings).store.get_proposal(p["id"]).status is ProposalStatus.APPROVED

    resumed = run_cli("resume", env=offline)
    assert resumed.returncode == ExitCode.UNAVAILABLE, resumed.stdout + resumed.stderr
    assert "Traceback" not in resumed.stderr
    assert "ec2:DescribeInstances: cannot reach" in resumed.stdout + resumed.stderr

    # Back online, resume finishes what was approved.
    assert run_cli("resume", env=swept_org.env()).returncode == 0
    assert swept_org.instance_state("train-idle-p4d") in ("stopping", "stopped")
